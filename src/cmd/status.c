/* status.c — `rollguard status [--env E] [--watch] [--json]`: the live
 * release and the run in progress of each environment; --watch follows that
 * run to its end. It only reads: it must never change a run. */
#include "cmd/cmd.h"

#include <string.h>

#include "cmd/client.h"
#include "cmd/output.h"
#include "util/timeutil.h"

static void live_line(const json_t *live)
{
	char version[96], state[32], when[32] = "";
	if (!json_is_object(live)) {
		printf("  live      none\n");
		return;
	}
	rg_out_clean(version, sizeof version, rg_out_str_or(live, "version", "?"));
	rg_out_clean(state, sizeof state, rg_out_str_or(live, "state", "?"));
	int64_t verified = rg_out_ms(live, "verified_at");
	if (verified >= 0)
		rg_out_time(when, sizeof when, verified);
	char schema[96] = "";
	if (json_is_string(json_object_get(live, "schema")))
		rg_out_clean(schema, sizeof schema, rg_out_str_or(live, "schema", ""));
	printf("  live      %s (%s%s%s%s%s)\n", version, state, when[0] ? ", verified " : "", when,
	       schema[0] ? ", schema " : "", schema);
}

/* Only for an environment with a router ("traffic" is null otherwise). */
static void traffic_line(const json_t *traffic)
{
	char split[256];
	rg_out_traffic_line(split, sizeof split, traffic);
	if (split[0])
		printf("  traffic   %s\n", split);
}

static void run_line(const json_t *run)
{
	char kind[16], version[96], progress[512];
	if (!json_is_object(run)) {
		printf("  run       none in progress\n");
		return;
	}
	rg_out_clean(kind, sizeof kind, rg_out_str_or(run, "kind", "run"));
	rg_out_clean(version, sizeof version, rg_out_str_or(run, "version", "?"));
	rg_out_status_line(progress, sizeof progress, run, rg_now_ms());
	printf("  run       %lld %s %s  %s\n", (long long)rg_out_int(run, "id", 0), kind, version,
	       progress);
}

static void last_run_line(const json_t *run)
{
	char kind[16], version[96], state[32], why[600], ended[32];
	if (!json_is_object(run)) {
		printf("  last run  none\n");
		return;
	}
	rg_out_clean(kind, sizeof kind, rg_out_str_or(run, "kind", "run"));
	rg_out_clean(version, sizeof version, rg_out_str_or(run, "version", "?"));
	rg_out_clean(state, sizeof state, rg_out_str_or(run, "state", "?"));
	rg_out_clean(why, sizeof why, rg_out_str_or(run, "error", rg_out_str(run, "reason")));
	rg_out_time(ended, sizeof ended, rg_out_ms(run, "ended"));
	printf("  last run  %lld %s %s  %s  ended %s\n", (long long)rg_out_int(run, "id", 0), kind,
	       version, state, ended);
	if (why[0])
		printf("            %s\n", why);
}

static void env_print(const json_t *st)
{
	char env[96];
	rg_out_clean(env, sizeof env, rg_out_str_or(st, "env", "?"));
	printf("%s\n", env);
	live_line(json_object_get(st, "live"));
	traffic_line(json_object_get(st, "traffic"));
	json_t *run = json_object_get(st, "run"), *last = json_object_get(st, "last_run");
	run_line(run);
	if (json_is_object(run))
		rg_out_approval(stdout, "  ", json_object_get(run, "approval"));
	if (!json_is_object(run) || rg_out_int(run, "id", 0) != rg_out_int(last, "id", 0))
		last_run_line(last);   /* the run in progress is already shown */
}

static void status_print(const json_t *st)
{
	json_t *envs = json_object_get(st, "environments"), *one;
	size_t i;
	if (!json_is_array(envs)) {
		env_print(st);
		return;
	}
	json_array_foreach(envs, i, one) {
		if (i)
			putchar('\n');
		env_print(one);
	}
}

/* The run --watch follows: the one in progress; several → ask for --env.
 * *env_st is the status of its environment. */
static rg_err watched_run(const json_t *st, const json_t **run, const json_t **env_st,
			  rg_error *err)
{
	json_t *envs = json_object_get(st, "environments"), *one;
	size_t i;
	*run = NULL;
	*env_st = st;
	if (!json_is_array(envs)) {
		json_t *r = json_object_get(st, "run");
		*run = json_is_object(r) ? r : NULL;
		return RG_OK;
	}
	json_array_foreach(envs, i, one) {
		json_t *r = json_object_get(one, "run");
		if (!json_is_object(r))
			continue;
		if (*run)
			return rg_fail(err, RG_EINVAL, "env", "several environments have a run in "
				       "progress; pick one with --env");
		*run = r;
		*env_st = one;
	}
	return RG_OK;
}

/* --watch shows the traffic split moving (10 → 50 → 100): after each event
 * the environment's status is asked again and its split printed when it
 * changed. The route is stored before the run's event is committed, so the
 * split read after a "traffic" event is already the new one. */
typedef struct traffic_watch {
	rg_client *c;
	char path[256];      /* GET /status?env=E of the watched run */
	char shown[256];     /* the split last printed */
} traffic_watch;

static void traffic_note(void *ctx, const json_t *event, char *note, size_t size)
{
	traffic_watch *t = ctx;
	char split[sizeof t->shown];
	rg_error ignored;
	json_t *st = NULL;
	/* A server that went away is the follow's to report, not the note's. */
	if (rg_client_call(t->c, "GET", t->path, NULL, &st, &ignored))
		return;
	rg_out_traffic_line(split, sizeof split, json_object_get(st, "traffic"));
	json_decref(st);
	if (!split[0] || !strcmp(split, t->shown))
		return;
	memcpy(t->shown, split, sizeof split);
	snprintf(note, size, "  traffic   %s", split);
}

static int follow_with_traffic(rg_client *c, const json_t *run, const json_t *env_st)
{
	traffic_watch t = { .c = c, .path = "/status" };
	rg_error e;
	rg_error_clear(&e);
	const char *env = rg_out_str(env_st, "env");
	if (!json_is_object(json_object_get(env_st, "traffic")) || !env ||
	    rg_client_query_add(t.path, sizeof t.path, "env", env, &e))
		return rg_out_follow(c, run, false);   /* no router: nothing to show */
	rg_out_traffic_line(t.shown, sizeof t.shown, json_object_get(env_st, "traffic"));
	return rg_out_follow_noted(c, run, false, traffic_note, &t);
}

static int status_watch(rg_client *c, const char *path, json_t *st, bool json)
{
	rg_error e;
	const json_t *run = NULL, *env_st = NULL;
	rg_error_clear(&e);
	if (watched_run(st, &run, &env_st, &e))
		return rg_out_error(&e);
	if (!run) {
		if (json)
			return rg_out_json(st);
		printf("\nno run in progress\n");
		return RG_EXIT_OK;
	}
	if (!json) {
		putchar('\n');
		return follow_with_traffic(c, run, env_st);
	}
	/* --json: follow quietly, then print the status as it is afterwards. */
	static const rg_follow_ops quiet = { 0 };
	json_t *final = NULL, *after = NULL;
	if (rg_client_follow(c, rg_out_int(run, "id", 0), &quiet, NULL, &final, &e) ||
	    rg_client_call(c, "GET", path, NULL, &after, &e)) {
		json_decref(final);
		return rg_out_error(&e);
	}
	int code = rg_out_json(after);
	if (!code && strcmp(rg_out_str_or(final, "state", ""), "succeeded"))
		code = RG_EXIT_RUN_FAILED;
	json_decref(final);
	json_decref(after);
	return code;
}

static int status_get(rg_client *c, const rg_cli_args *a)
{
	char path[256] = "/status";
	rg_error e;
	json_t *st = NULL;
	rg_error_clear(&e);
	if ((a->env && rg_client_query_add(path, sizeof path, "env", a->env, &e)) ||
	    rg_client_call(c, "GET", path, NULL, &st, &e))
		return rg_out_error(&e);
	int code;
	if (a->watch) {
		if (!a->json)
			status_print(st);
		code = status_watch(c, path, st, a->json);
	} else if (a->json) {
		code = rg_out_json(st);
	} else {
		status_print(st);
		code = RG_EXIT_OK;
	}
	json_decref(st);
	return code;
}

int cmd_status(int argc, char **argv)
{
	rg_cli_args a;
	rg_client c;
	rg_error e;
	int code;
	if (!rg_cli_args_get("status", argc, argv, &a, &code))
		return code;
	rg_error_clear(&e);
	if (a.env && rg_cli_check_name("environment", a.env, &e))
		return rg_out_error(&e);
	if (rg_client_init(&c, a.config, &e)) {
		rg_client_release(&c);
		return rg_out_error(&e);
	}
	code = status_get(&c, &a);
	rg_client_release(&c);
	return code;
}
