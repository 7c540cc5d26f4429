/* flags.c — `rollguard flags [--env E]` (how each feature flag stands) and
 * `rollguard flag set KEY --env E on|off|PERCENT --reason TEXT`. Both are
 * clients of /api/v1/flags; what a flag evaluates to is the server's. */
#include "cmd/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/client.h"
#include "cmd/output.h"

/* "on", "off", "20%" — what an operator would type back. */
static void state_text(const json_t *f, char *out, size_t size)
{
	if (!json_is_true(json_object_get(f, "enabled")))
		snprintf(out, size, json_is_true(json_object_get(f, "listed")) ? "off" : "default");
	else if (rg_out_int(f, "rollout", 100) >= 100)
		snprintf(out, size, "on");
	else
		snprintf(out, size, "%lld%%", (long long)rg_out_int(f, "rollout", 0));
}

static void value_text(const json_t *f, const char *key, char *out, size_t size)
{
	char *s = json_dumps(json_object_get(f, key), JSON_ENCODE_ANY | JSON_COMPACT);
	snprintf(out, size, "%s", s ? s : "?");
	free(s);
}

static rg_err flag_row(rg_out_table *t, const json_t *f, rg_error *err)
{
	char state[16], value[80], def[80], source[400];
	state_text(f, state, sizeof state);
	value_text(f, "value", value, sizeof value);
	value_text(f, "default", def, sizeof def);
	if (!strcmp(rg_out_str(f, "source"), "override")) {
		char when[32];
		rg_out_time(when, sizeof when, rg_out_ms(f, "at"));
		snprintf(source, sizeof source, "%s at %s: %s", rg_out_str(f, "actor"), when,
			 rg_out_str(f, "reason"));
	} else {
		snprintf(source, sizeof source, "rollguard.yaml");
	}
	const char *cells[] = { rg_out_str(f, "key"), rg_out_str(f, "env"), state, value, def, source };
	return rg_out_table_add(t, cells, err);
}

static int flags_print(const json_t *flags)
{
	static const char *const headers[] = { "FLAG", "ENV", "STATE", "VALUE", "DEFAULT", "SET BY" };
	rg_out_table t;
	rg_error e;
	json_t *f;
	size_t i;
	rg_error_clear(&e);
	if (!json_array_size(flags)) {
		printf("no flags (add them under 'flags:' in rollguard.yaml)\n");
		return RG_EXIT_OK;
	}
	rg_out_table_init(&t, sizeof headers / sizeof *headers, headers);
	json_array_foreach(flags, i, f) {
		if (flag_row(&t, f, &e)) {
			rg_out_table_release(&t);
			return rg_out_error(&e);
		}
	}
	rg_out_table_print(&t, stdout);
	rg_out_table_release(&t);
	return RG_EXIT_OK;
}

/* One call and what to do with its answer's "key" member. */
static int flags_call(const rg_cli_args *a, const char *method, const char *path,
		      const json_t *body, const char *key)
{
	rg_client c;
	rg_error e;
	json_t *answer = NULL;
	rg_error_clear(&e);
	if (rg_client_init(&c, a->config, &e) || rg_client_call(&c, method, path, body, &answer, &e)) {
		rg_client_release(&c);
		return rg_out_error(&e);
	}
	rg_client_release(&c);
	json_t *v = json_object_get(answer, key);
	int code;
	if (!v) {
		rg_fail(&e, RG_EIO, NULL, "answer of %s %s has no \"%s\"", method, path, key);
		code = rg_out_error(&e);
	} else if (a->json) {
		code = rg_out_json(v);
	} else if (json_is_array(v)) {
		code = flags_print(v);
	} else {
		json_t *one = json_pack("[O]", v);
		code = one ? flags_print(one) : RG_EXIT_RUN_FAILED;
		json_decref(one);
	}
	json_decref(answer);
	return code;
}

int cmd_flags(int argc, char **argv)
{
	rg_cli_args a;
	rg_error e;
	int code;
	char path[256] = "/flags";
	if (!rg_cli_args_get("flags", argc, argv, &a, &code))
		return code;
	rg_error_clear(&e);
	if (a.env && (rg_cli_check_name("environment", a.env, &e) ||
		      rg_client_query_add(path, sizeof path, "env", a.env, &e)))
		return rg_out_error(&e);
	return flags_call(&a, "GET", path, NULL, "flags");
}

int cmd_flag(int argc, char **argv)
{
	rg_cli_args a;
	rg_error e;
	int code;
	char path[256];
	if (!rg_cli_args_get("flag", argc, argv, &a, &code))
		return code;
	rg_error_clear(&e);
	const char *key = a.operands[1], *state = a.operands[2];
	if (strcmp(a.operands[0], "set") != 0)
		rg_fail(&e, RG_EINVAL, NULL, "unknown subcommand '%s' (use: flag set KEY ...)",
			a.operands[0]);
	else if (!rg_cli_check_name("environment", a.env, &e) && !rg_cli_check_name("flag", key, &e))
		rg_cli_check_text("reason", a.reason, 500, &e);
	if (e.code) {
		rg_help_usage("flag", stderr);
		return rg_out_error(&e);
	}
	snprintf(path, sizeof path, "/flags/%s", key);
	json_t *body = json_pack("{s:s, s:s, s:s}", "env", a.env, "state", state, "reason", a.reason);
	code = body ? flags_call(&a, "POST", path, body, "flag") : RG_EXIT_RUN_FAILED;
	json_decref(body);
	return code;
}
