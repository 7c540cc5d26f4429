/* audit.c — `rollguard audit [--env E] [--limit N] [--json]` and
 * `rollguard audit verify`: the audit log, read from the state directory
 * directly so it can be checked with serve stopped (or distrusted). */
#include "cmd/cmd.h"

#include <stdio.h>
#include <string.h>

#include "auth/audit.h"
#include "cmd/output.h"
#include "cmd/state.h"

#define AUDIT_DEFAULT_LIMIT 50

static rg_err audit_row(rg_out_table *t, const json_t *row, rg_error *err)
{
	char seq[24], result[32];
	snprintf(seq, sizeof seq, "%lld", (long long)rg_out_int(row, "seq", 0));
	snprintf(result, sizeof result, "%s %lld", rg_out_str(row, "result"),
		 (long long)rg_out_int(row, "status", 0));
	const char *cells[] = {
		seq, rg_out_str(row, "at"), rg_out_str(row, "actor"), rg_out_str(row, "address"),
		rg_out_str(row, "action"), rg_out_str_or(row, "env", "-"), rg_out_str(row, "target"),
		rg_out_int(row, "status", 0) ? result : rg_out_str(row, "result"),
		rg_out_str(row, "detail"),
	};
	return rg_out_table_add(t, cells, err);
}

static int audit_print(const json_t *entries)
{
	static const char *const headers[] = {
		"SEQ", "AT", "ACTOR", "FROM", "ACTION", "ENV", "TARGET", "RESULT", "DETAIL",
	};
	return rg_out_list_table(entries, "the audit log is empty", headers,
				 sizeof headers / sizeof *headers, audit_row);
}

static int audit_list(rg_store *s, const rg_cli_args *a)
{
	int limit = AUDIT_DEFAULT_LIMIT;
	json_t *entries = NULL;
	rg_error e = { 0 };
	if ((a->limit && rg_cli_parse_limit(a->limit, &limit, &e)) ||
	    (a->env && rg_cli_check_name("environment", a->env, &e)) ||
	    rg_audit_json(s, a->env, limit, &entries, &e))
		return rg_out_error(&e);
	int code = a->json ? rg_out_json(entries) : audit_print(entries);
	json_decref(entries);
	return code;
}

static int audit_verify(rg_store *s)
{
	rg_audit_report r;
	rg_error e = { 0 };
	if (rg_audit_verify(s, &r, &e))
		return rg_out_error(&e);
	if (!r.intact) {
		printf("audit log BROKEN at entry %lld: %s\n", (long long)r.bad_seq, r.why);
		return RG_EXIT_RUN_FAILED;
	}
	printf("audit log intact: %lld entries, each chained to the one before\n",
	       (long long)r.entries);
	return RG_EXIT_OK;
}

int cmd_audit(int argc, char **argv)
{
	rg_cli_args a;
	rg_config cfg;
	rg_store *s = NULL;
	rg_error e = { 0 };
	int code;
	if (!rg_cli_args_get("audit", argc, argv, &a, &code))
		return code;
	bool verify = a.noperands && !strcmp(a.operands[0], "verify");
	if (a.noperands && !verify) {
		rg_fail(&e, RG_EINVAL, NULL, "unknown 'audit %s' (did you mean 'audit verify'?)",
			a.operands[0]);
		rg_help_usage("audit", stderr);
		return rg_out_error(&e);
	}
	if ((code = rg_cmd_load_config(rg_cli_config_path(&a), &cfg)))
		return code;
	if (rg_cmd_open_store(&cfg, &s, &e))
		code = rg_out_error(&e);
	else
		code = verify ? audit_verify(s) : audit_list(s, &a);
	rg_store_free(s);
	rg_config_release(&cfg);
	return code;
}
