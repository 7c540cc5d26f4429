/* deploy.c — `rollguard deploy VERSION --env E [--wait] [--json]`.
 * Checks the names locally, asks the server to start a deploy run and, with
 * --wait, follows it. It must never report success for a run that did not
 * end in state succeeded. */
#include "cmd/cmd.h"

#include "cmd/client.h"
#include "cmd/output.h"

static int deploy_start(rg_client *c, const rg_cli_args *a, const char *version)
{
	rg_error e;
	json_t *answer = NULL;
	rg_error_clear(&e);
	json_t *body = json_pack("{s:s, s:s}", "env", a->env, "version", version);
	if (body && a->emergency)
		json_object_set_new(body, "emergency", json_true());
	if (body && a->skip_monitor)
		json_object_set_new(body, "skip_monitor", json_true());
	if (body && a->reason)
		json_object_set_new(body, "reason", json_string(a->reason));
	if (!body) {
		rg_fail(&e, RG_ENOMEM, NULL, "out of memory");
		return rg_out_error(&e);
	}
	rg_err rc = rg_client_call(c, "POST", "/deploys", body, &answer, &e);
	json_decref(body);
	if (rc)
		return rg_out_error(&e);
	json_t *run = json_object_get(answer, "run");
	int code = RG_EXIT_OK;
	if (a->json && !a->wait) {
		code = rg_out_json(answer);
	} else if (!a->json) {
		char env[96], ver[96];
		rg_out_clean(env, sizeof env, rg_out_str_or(run, "env", a->env));
		rg_out_clean(ver, sizeof ver, rg_out_str_or(run, "version", version));
		long long id = (long long)rg_out_int(run, "id", 0);
		printf("run %lld: %sdeploying %s to %s\n", id,
		       json_is_true(json_object_get(run, "emergency")) ? "EMERGENCY: " : "", ver, env);
		rg_out_approval(stdout, "", json_object_get(run, "approval"));
		fflush(stdout);
	}
	if (a->wait && code == RG_EXIT_OK)
		code = rg_out_follow(c, run, a->json);
	json_decref(answer);
	return code;
}

int cmd_deploy(int argc, char **argv)
{
	rg_cli_args a;
	rg_client c;
	rg_error e;
	int code;
	if (!rg_cli_args_get("deploy", argc, argv, &a, &code))
		return code;
	const char *version = a.operands[0];
	rg_error_clear(&e);
	if (a.emergency && !a.reason)
		rg_fail(&e, RG_EINVAL, "reason", "--emergency needs --reason TEXT");
	else if (a.skip_monitor && !a.emergency)
		rg_fail(&e, RG_EINVAL, "skip-monitor", "--skip-monitor is only for an --emergency deploy");
	else if (a.reason && !a.emergency)
		rg_fail(&e, RG_EINVAL, "reason", "--reason goes with --emergency");
	if (e.code || rg_cli_check_name("version", version, &e) ||
	    rg_cli_check_name("environment", a.env, &e) ||
	    (a.reason && rg_cli_check_text("reason", a.reason, 500, &e)))
		return rg_out_error(&e);
	if (rg_client_init(&c, a.config, &e)) {
		rg_client_release(&c);
		return rg_out_error(&e);
	}
	code = deploy_start(&c, &a, version);
	rg_client_release(&c);
	return code;
}
