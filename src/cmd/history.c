/* history.c — `rollguard history [--env E] [--limit N] [--json]`: past runs,
 * newest first, as a table or (--json) as a JSON array of runs. It only
 * reads, and keeps the server's order (newest first). */
#include "cmd/cmd.h"

#include "cmd/client.h"
#include "cmd/output.h"
#include "util/timeutil.h"

#define HISTORY_DEFAULT_LIMIT 20

static rg_err history_row(rg_out_table *t, const json_t *run, rg_error *err)
{
	char id[24], started[32], took[32];
	int64_t start = rg_out_ms(run, "started"), end = rg_out_ms(run, "ended");
	snprintf(id, sizeof id, "%lld", (long long)rg_out_int(run, "id", 0));
	rg_out_time(started, sizeof started, start >= 0 ? start : rg_out_ms(run, "created"));
	if (start >= 0 && end < 0) {   /* still going: how long so far */
		char so_far[24];
		int64_t now = rg_now_ms();
		rg_out_duration(so_far, sizeof so_far, now > start ? now - start : 0);
		snprintf(took, sizeof took, "%s so far", so_far);
	} else {
		rg_out_duration(took, sizeof took, start >= 0 ? end - start : -1);
	}
	char why[600];
	snprintf(why, sizeof why, "%s%s", json_is_true(json_object_get(run, "emergency")) ? "EMERGENCY: " : "",
		 rg_out_str_or(run, "reason", rg_out_str_or(run, "error", "")));
	const char *cells[] = {
		id, rg_out_str(run, "kind"), rg_out_str(run, "version"),
		rg_out_str_or(run, "from_version", "-"), rg_out_str(run, "state"), started, took, why,
	};
	return rg_out_table_add(t, cells, err);
}

static int history_print(const json_t *runs)
{
	static const char *const headers[] = {
		"ID", "KIND", "VERSION", "FROM", "STATE", "STARTED", "DURATION", "REASON",
	};
	rg_out_table t;
	rg_error e;
	json_t *run;
	size_t i;
	rg_error_clear(&e);
	if (!json_array_size(runs)) {
		printf("no runs yet\n");
		return RG_EXIT_OK;
	}
	rg_out_table_init(&t, sizeof headers / sizeof *headers, headers);
	json_array_foreach(runs, i, run) {
		if (history_row(&t, run, &e)) {
			rg_out_table_release(&t);
			return rg_out_error(&e);
		}
	}
	rg_out_table_print(&t, stdout);
	rg_out_table_release(&t);
	return RG_EXIT_OK;
}

static int history_get(rg_client *c, const rg_cli_args *a, int limit)
{
	char path[256] = "/runs", n[16];
	rg_error e;
	json_t *answer = NULL;
	rg_error_clear(&e);
	snprintf(n, sizeof n, "%d", limit);
	if ((a->env && rg_client_query_add(path, sizeof path, "env", a->env, &e)) ||
	    rg_client_query_add(path, sizeof path, "limit", n, &e) ||
	    (a->before && rg_client_query_add(path, sizeof path, "before", a->before, &e)) ||
	    rg_client_call(c, "GET", path, NULL, &answer, &e))
		return rg_out_error(&e);
	json_t *runs = json_object_get(answer, "runs");
	int code;
	if (!json_is_array(runs)) {
		rg_fail(&e, RG_EIO, NULL, "answer of GET /runs has no \"runs\" array");
		code = rg_out_error(&e);
	} else {
		code = a->json ? rg_out_json(runs) : history_print(runs);
		json_int_t next = json_integer_value(json_object_get(answer, "next_before"));
		if (!a->json && !code && next)
			printf("more: rollguard history%s%s --before %lld\n", a->env ? " --env " : "",
			       a->env ? a->env : "", (long long)next);
	}
	json_decref(answer);
	return code;
}

int cmd_history(int argc, char **argv)
{
	rg_cli_args a;
	rg_client c;
	rg_error e;
	int code, limit = HISTORY_DEFAULT_LIMIT;
	if (!rg_cli_args_get("history", argc, argv, &a, &code))
		return code;
	rg_error_clear(&e);
	if ((a.env && rg_cli_check_name("environment", a.env, &e)) ||
	    (a.limit && rg_cli_parse_limit(a.limit, &limit, &e)))
		return rg_out_error(&e);
	if (rg_client_init(&c, a.config, &e)) {
		rg_client_release(&c);
		return rg_out_error(&e);
	}
	code = history_get(&c, &a, limit);
	rg_client_release(&c);
	return code;
}
