/* configdiff.c — `rollguard config diff --env E [FROM] [TO]`: the server's
 * diff of two releases' config snapshots (GET /api/v1/config/diff), secret
 * values already masked there. */
#include "cmd/cmd.h"

#include <stdio.h>
#include <string.h>

#include "cmd/client.h"
#include "cmd/output.h"

/* Each line cleaned of control characters (a file may hold escapes). */
static void print_clean_lines(const char *text)
{
	char in[4096], out[4096];
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		size_t k = n < sizeof in - 1 ? n : sizeof in - 1;
		memcpy(in, p, k);
		in[k] = '\0';
		rg_out_clean(out, sizeof out, in);
		puts(out);
		p += n + (nl ? 1 : 0);
	}
}

/* `config restore`: POST /config/restore; a dry run prints the diff. */
static int config_restore(const rg_cli_args *a)
{
	rg_client c;
	rg_error e;
	json_t *answer = NULL, *body = NULL;
	rg_error_clear(&e);
	if (!a->to)
		rg_fail(&e, RG_EINVAL, "to", "config restore needs --to VERSION");
	if (e.code || rg_cli_check_name("environment", a->env, &e) ||
	    rg_cli_check_name("version", a->to, &e))
		return rg_out_error(&e);
	body = json_pack("{s:s, s:s, s:b, s:b}", "env", a->env, "to", a->to, "dry_run", a->dry_run,
			 "emergency", a->emergency);
	if (body && a->reason)
		json_object_set_new(body, "reason", json_string(a->reason));
	if (!body) {
		rg_fail(&e, RG_ENOMEM, NULL, "out of memory");
		return rg_out_error(&e);
	}
	if (rg_client_init(&c, a->config, &e) ||
	    rg_client_call(&c, "POST", "/config/restore", body, &answer, &e)) {
		json_decref(body);
		rg_client_release(&c);
		return rg_out_error(&e);
	}
	json_decref(body);
	rg_client_release(&c);
	int code = RG_EXIT_OK;
	if (a->json) {
		code = rg_out_json(answer);
	} else if (a->dry_run) {
		const char *diff = rg_out_str_or(answer, "diff", "");
		if (*diff)
			print_clean_lines(diff);
		else
			printf("no change: the config files of %s are those of the live release\n", a->to);
		printf("nothing was changed (dry run)\n");
	} else {
		printf("run %lld: restoring the config files of %s as kept with %s\n",
		       (long long)rg_out_int(json_object_get(answer, "run"), "id", 0), a->env, a->to);
	}
	json_decref(answer);
	return code;
}

int cmd_config(int argc, char **argv)
{
	rg_cli_args a;
	rg_client c;
	rg_error e;
	int code;
	char path[400];
	json_t *answer = NULL;
	if (!rg_cli_args_get("config", argc, argv, &a, &code))
		return code;
	rg_error_clear(&e);
	const char *from = a.noperands > 1 ? a.operands[1] : NULL;
	const char *to = a.noperands > 2 ? a.operands[2] : NULL;
	if (strcmp(a.operands[0], "restore") == 0)
		return config_restore(&a);
	if (strcmp(a.operands[0], "diff") != 0)
		rg_fail(&e, RG_EINVAL, NULL, "unknown 'config %s' (did you mean 'config diff' or 'config restore'?)",
			a.operands[0]);
	if (e.code || rg_cli_check_name("environment", a.env, &e) ||
	    (from && rg_cli_check_name("version", from, &e)) || (to && rg_cli_check_name("version", to, &e)))
		return rg_out_error(&e);
	snprintf(path, sizeof path, "/config/diff?env=%s%s%s%s%s", a.env, from ? "&from=" : "",
		 from ? from : "", to ? "&to=" : "", to ? to : "");
	if (rg_client_init(&c, a.config, &e) || rg_client_call(&c, "GET", path, NULL, &answer, &e)) {
		rg_client_release(&c);
		return rg_out_error(&e);
	}
	rg_client_release(&c);
	if (a.json) {
		code = rg_out_json(answer);
	} else {
		const char *diff = rg_out_str_or(answer, "diff", "");
		if (*diff)
			print_clean_lines(diff);
		else
			printf("no change in the config files between %s and %s\n",
			       rg_out_str_or(answer, "from", "?"), rg_out_str_or(answer, "to", "?"));
		code = RG_EXIT_OK;
	}
	json_decref(answer);
	return code;
}
