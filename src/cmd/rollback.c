/* rollback.c — `rollguard rollback --env E [--to V] [--reason TEXT]
 * [--dry-run] [--force] [--wait] [--json]`. Asks the server to roll back (or
 * only to plan it) and shows the plan. With --dry-run it must never send
 * anything that changes state: the request carries "dry_run": true. */
#include "cmd/cmd.h"

#include <stdlib.h>

#include "cmd/client.h"
#include "cmd/output.h"

#define REASON_MAX 500

static rg_err rollback_body(const rg_cli_args *a, json_t **out, rg_error *err)
{
	json_t *b = json_pack("{s:s}", "env", a->env);
	json_t *reason = a->reason ? json_string(a->reason) : NULL;
	int bad = !b;
	if (a->reason && !reason) {
		json_decref(b);
		return rg_fail(err, RG_EINVAL, "reason", "reason is not valid UTF-8");
	}
	if (!bad && a->to)
		bad = json_object_set_new(b, "to", json_string(a->to));
	if (!bad && reason)
		bad = json_object_set(b, "reason", reason);
	if (!bad && a->dry_run)
		bad = json_object_set_new(b, "dry_run", json_true());
	if (!bad && a->force)
		bad = json_object_set_new(b, "force", json_true());
	if (!bad && a->emergency)
		bad = json_object_set_new(b, "emergency", json_true());
	json_decref(reason);
	if (bad) {
		json_decref(b);
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	}
	*out = b;
	return RG_OK;
}

/* A check or a risk: a string as is, anything else as compact JSON. */
static void item_text(const json_t *item, char *buf, size_t size)
{
	char *dump = json_is_string(item) ? NULL : json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY);
	rg_out_clean(buf, size, json_is_string(item) ? json_string_value(item) : dump);
	free(dump);
}

static void plan_print_step(size_t n, const json_t *step)
{
	char name[96], action[32], command[1024], key[128], value[1024];
	const char *k;
	json_t *v;
	rg_out_clean(name, sizeof name, rg_out_str_or(step, "name", "?"));
	rg_out_clean(action, sizeof action, rg_out_str_or(step, "action", "run"));
	rg_out_clean(command, sizeof command, rg_out_str(step, "command"));
	printf("  %zu. %s (%s)\n", n, name, action);
	if (command[0])
		printf("     command: %s\n", command);
	json_t *env = json_object_get(step, "env");
	if (json_object_size(env))
		printf("     told:\n");
	json_object_foreach(env, k, v) {
		rg_out_clean(key, sizeof key, k);
		item_text(v, value, sizeof value);
		printf("       %s=%s\n", key, value);
	}
}

static void plan_print_list(const char *title, const json_t *list, const char *none)
{
	char text[1024];
	size_t i;
	json_t *item;
	if (!json_array_size(list)) {
		printf("\n%s: %s\n", title, none);
		return;
	}
	printf("\n%s:\n", title);
	json_array_foreach(list, i, item) {
		item_text(item, text, sizeof text);
		printf("  - %s\n", text);
	}
}

static void plan_print(const json_t *plan)
{
	char env[96], from[96], to[96];
	json_t *steps = json_object_get(plan, "steps"), *step;
	size_t i;
	rg_out_clean(env, sizeof env, rg_out_str_or(plan, "env", "?"));
	rg_out_clean(from, sizeof from, rg_out_str_or(plan, "from", "(nothing live)"));
	rg_out_clean(to, sizeof to, rg_out_str_or(plan, "to", "?"));
	printf("rollback plan for %s: %s -> %s\n\n", env, from, to);
	printf(json_array_size(steps) ? "steps, in order:\n" : "steps: none\n");
	json_array_foreach(steps, i, step)
		plan_print_step(i + 1, step);
	plan_print_list("checks afterwards", json_object_get(plan, "checks"), "none");
	plan_print_list("risks", json_object_get(plan, "risks"), "none known");
	printf("\nnothing was changed (dry run)\n");
}

/* "run 13: rolling back production from v1.2.0 to v1.1.0" and the steps. */
static void started_print(const json_t *run, const json_t *plan)
{
	char env[96], from[96], to[96], name[96], action[32];
	json_t *step;
	size_t i;
	rg_out_clean(env, sizeof env, rg_out_str_or(run, "env", rg_out_str(plan, "env")));
	if (json_is_true(json_object_get(plan, "waiting"))) {
		printf("run %lld: your approval of its rollback is recorded; more are needed\n",
		       (long long)rg_out_int(run, "id", 0));
		rg_out_approval(stdout, "", json_object_get(run, "approval"));
		fflush(stdout);
		return;
	}
	if (json_object_get(plan, "approves_run")) {
		/* The deploy that waited for approval rolls back itself. */
		rg_out_clean(from, sizeof from, rg_out_str_or(plan, "removed", "?"));
		rg_out_clean(to, sizeof to, rg_out_str_or(plan, "target", "?"));
		printf("run %lld: rollback approved: %s goes back from %s to %s\n",
		       (long long)rg_out_int(run, "id", 0), env, from, to);
		fflush(stdout);
		return;
	}
	rg_out_clean(from, sizeof from,
		     rg_out_str_or(run, "from_version", rg_out_str_or(plan, "from", "?")));
	rg_out_clean(to, sizeof to, rg_out_str_or(run, "version", rg_out_str_or(plan, "to", "?")));
	printf("run %lld: rolling back %s from %s to %s\n", (long long)rg_out_int(run, "id", 0),
	       env, from, to);
	json_array_foreach(json_object_get(plan, "steps"), i, step) {
		rg_out_clean(name, sizeof name, rg_out_str_or(step, "name", "?"));
		rg_out_clean(action, sizeof action, rg_out_str_or(step, "action", "run"));
		printf("%s%s (%s)", i ? ", " : "plan: ", name, action);
	}
	if (json_array_size(json_object_get(plan, "steps")))
		putchar('\n');
	rg_out_approval(stdout, "", json_object_get(run, "approval"));
	fflush(stdout);
}

static int rollback_request(rg_client *c, const rg_cli_args *a)
{
	rg_error e;
	json_t *body = NULL, *answer = NULL;
	rg_error_clear(&e);
	if (rollback_body(a, &body, &e))
		return rg_out_error(&e);
	rg_err rc = rg_client_call(c, "POST", "/rollbacks", body, &answer, &e);
	json_decref(body);
	if (rc)
		return rg_out_error(&e);
	json_t *run = json_object_get(answer, "run"), *plan = json_object_get(answer, "plan");
	int code = RG_EXIT_OK;
	if (a->json && !a->wait)
		code = rg_out_json(answer);
	else if (a->dry_run)
		plan_print(plan);
	else if (!a->json)
		started_print(run, plan);
	if (a->wait && code == RG_EXIT_OK)
		code = rg_out_follow(c, run, a->json);
	json_decref(answer);
	return code;
}

int cmd_rollback(int argc, char **argv)
{
	rg_cli_args a;
	rg_client c;
	rg_error e;
	int code;
	if (!rg_cli_args_get("rollback", argc, argv, &a, &code))
		return code;
	rg_error_clear(&e);
	if (a.dry_run && a.wait)
		rg_fail(&e, RG_EINVAL, NULL, "--dry-run and --wait cannot be combined (a dry run "
			"starts nothing)");
	if (!e.code && a.emergency && !a.reason)
		rg_fail(&e, RG_EINVAL, "reason", "--emergency needs --reason TEXT");
	if (e.code || rg_cli_check_name("environment", a.env, &e) ||
	    (a.to && rg_cli_check_name("version", a.to, &e)) ||
	    (a.reason && rg_cli_check_text("reason", a.reason, REASON_MAX, &e)))
		return rg_out_error(&e);
	if (rg_client_init(&c, a.config, &e)) {
		rg_client_release(&c);
		return rg_out_error(&e);
	}
	code = rollback_request(&c, &a);
	rg_client_release(&c);
	return code;
}
