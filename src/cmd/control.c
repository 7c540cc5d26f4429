/* control.c — `rollguard abort|promote|pause|resume|approve|reject RUN
 * [--json]`: one POST each to /runs/{id}/{action}. The server decides
 * whether the run's state allows it (409 otherwise) and whether the person
 * may (403), both exit 4; this file must never guess. */
#include "cmd/cmd.h"

#include <string.h>

#include "cmd/client.h"
#include "cmd/output.h"

/* The body of approve (comment) and reject (reason); NULL for the others. */
static json_t *control_body(const char *action, const rg_cli_args *a)
{
	if (!strcmp(action, "approve"))
		return a->comment ? json_pack("{s:s}", "comment", a->comment) : json_object();
	if (!strcmp(action, "reject"))
		return json_pack("{s:s}", "reason", a->reason ? a->reason : "");
	return NULL;
}

static int control(const char *action, const char *done, int argc, char **argv)
{
	rg_cli_args a;
	rg_client c;
	rg_error e;
	int64_t id;
	int code;
	char path[96], state[32];
	json_t *answer = NULL;
	if (!rg_cli_args_get(action, argc, argv, &a, &code))
		return code;
	rg_error_clear(&e);
	if (rg_cli_parse_run_id(a.operands[0], &id, &e))
		return rg_out_error(&e);
	snprintf(path, sizeof path, "/runs/%lld/%s", (long long)id, action);
	json_t *body = control_body(action, &a);
	if (rg_client_init(&c, a.config, &e) || rg_client_call(&c, "POST", path, body, &answer, &e)) {
		json_decref(body);
		rg_client_release(&c);
		return rg_out_error(&e);
	}
	json_decref(body);
	rg_client_release(&c);
	if (a.json) {
		code = rg_out_json(answer);
	} else {
		json_t *run = json_object_get(answer, "run");
		rg_out_clean(state, sizeof state, rg_out_str_or(run, "state", "?"));
		printf("run %lld: %s (now %s)\n", (long long)id, done, state);
		rg_out_approval(stdout, "", json_object_get(run, "approval"));
		code = RG_EXIT_OK;
	}
	json_decref(answer);
	return code;
}

int cmd_abort(int argc, char **argv)
{
	return control("abort", "abort requested", argc, argv);
}

int cmd_promote(int argc, char **argv)
{
	return control("promote", "promoted", argc, argv);
}

int cmd_pause(int argc, char **argv)
{
	return control("pause", "pause requested", argc, argv);
}

int cmd_resume(int argc, char **argv)
{
	return control("resume", "resumed", argc, argv);
}

int cmd_approve(int argc, char **argv)
{
	return control("approve", "approved", argc, argv);
}

int cmd_reject(int argc, char **argv)
{
	return control("reject", "rejected", argc, argv);
}
