/* token.c — `rollguard token create|list|revoke`: API tokens, on the state
 * directory directly. The new token is printed once, alone on the last
 * line of stdout, so a script can take it with `tail -n1`; only its hash is
 * kept. Every change is audited with the local account as its actor. */
#include "cmd/cmd.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/audit.h"
#include "auth/tokens.h"
#include "cmd/output.h"
#include "cmd/state.h"
#include "util/duration.h"
#include "util/timeutil.h"

typedef struct token_cmd {
	rg_cli_args a;
	rg_config cfg;
	rg_store *store;
	char actor[96];
} token_cmd;

static void audit(token_cmd *t, const char *action, const char *name, const char *detail,
		  rg_err rc, const rg_error *e)
{
	rg_error ignored;
	rg_audit_entry entry = {
		.actor = t->actor, .address = "local", .action = action, .target = name,
		.result = rc ? "refused" : "accepted", .detail = rc ? e->message : detail,
	};
	if (rg_audit_append(t->store, &entry, &ignored))
		fprintf(stderr, "warning: cannot record %s in the audit log: %s\n", action,
			ignored.message);
}

static rg_err spec_from_args(const rg_cli_args *a, rg_token_spec *spec, rg_error *err)
{
	int64_t ms = 0;
	rg_err rc = rg_roles_parse(a->role, &spec->roles, err);
	if (!a->role)
		return rg_fail(err, RG_EINVAL, "role", "missing --role ROLE[,ROLE]");
	if (rc)
		return rc;
	if (a->n_envs > RG_CLI_MAX_ENVS)
		return rg_fail(err, RG_EINVAL, "env", "at most %d --env per token", RG_CLI_MAX_ENVS);
	for (int i = 0; i < a->n_envs; i++)
		if ((rc = rg_cli_check_name("environment", a->envs[i], err)))
			return rc;
	if (a->expires && (rg_duration_parse(a->expires, &ms) || ms <= 0))
		return rg_fail(err, RG_EINVAL, "expires",
			       "invalid --expires '%s' (a duration such as 90d or 12h)", a->expires);
	spec->envs = a->envs;
	spec->n_envs = (size_t)a->n_envs;
	spec->expires = ms ? rg_now_ms() + ms : 0;
	return RG_OK;
}

/* Environments named must exist in the config: a token for a typo would
 * silently allow nothing. */
static rg_err envs_known(const token_cmd *t, rg_error *err)
{
	for (int i = 0; i < t->a.n_envs; i++)
		if (!rg_config_env(&t->cfg, t->a.envs[i]))
			return rg_fail(err, RG_EINVAL, "env", "unknown environment '%s' in %s",
				       t->a.envs[i], rg_cli_config_path(&t->a));
	return RG_OK;
}

static int token_create(token_cmd *t, const char *name)
{
	rg_token_spec spec = { .name = name, .created_by = t->actor };
	rg_token_key key;
	char token[RG_TOKEN_TEXT_MAX], detail[256];
	rg_error e = { 0 };
	rg_err rc = spec_from_args(&t->a, &spec, &e);
	if (!rc)
		rc = envs_known(t, &e);
	if (!rc)
		rc = rg_token_key_open(t->cfg.state_dir, &key, &e);
	if (!rc) {
		rc = rg_token_create(t->store, &key, &spec, token, sizeof token, &e);
		rg_token_key_wipe(&key);
	}
	snprintf(detail, sizeof detail, "roles %s%s%s", t->a.role ? t->a.role : "",
		 t->a.n_envs ? ", envs limited" : "", t->a.expires ? ", expires" : "");
	audit(t, "token_create", name, detail, rc, &e);
	if (rc)
		return rg_out_error(&e);
	printf("token '%s' created (%s). It is shown once; keep it secret:\n%s\n", name,
	       t->a.role, token);
	sodium_memzero(token, sizeof token);
	return RG_EXIT_OK;
}

static int token_list(token_cmd *t)
{
	static const char *const headers[] = {
		"NAME", "ROLES", "ENVS", "CREATED", "LAST USED", "EXPIRES",
	};
	json_t *list = NULL, *row;
	rg_error e = { 0 };
	size_t i;
	if (rg_store_tokens_json(t->store, &list, &e))
		return rg_out_error(&e);
	if (t->a.json) {
		int code = rg_out_json(list);
		json_decref(list);
		return code;
	}
	rg_out_table tab;
	rg_out_table_init(&tab, sizeof headers / sizeof *headers, headers);
	json_array_foreach(list, i, row) {
		char roles[256] = "", envs[1200] = "";
		json_t *v;
		size_t k;
		json_array_foreach(json_object_get(row, "roles"), k, v)
			snprintf(roles + strlen(roles), sizeof roles - strlen(roles), "%s%s",
				 k ? "," : "", json_string_value(v));
		json_array_foreach(json_object_get(row, "envs"), k, v)
			snprintf(envs + strlen(envs), sizeof envs - strlen(envs), "%s%s",
				 k ? "," : "", json_string_value(v));
		const char *cells[] = {
			rg_out_str(row, "name"), roles, envs[0] ? envs : "all",
			rg_out_str(row, "created"), rg_out_str_or(row, "last_used", "never"),
			rg_out_str_or(row, "expires", "never"),
		};
		if (rg_out_table_add(&tab, cells, &e))
			break;
	}
	if (!e.code)
		rg_out_table_print(&tab, stdout);
	rg_out_table_release(&tab);
	json_decref(list);
	return e.code ? rg_out_error(&e) : RG_EXIT_OK;
}

static int token_revoke(token_cmd *t, const char *name)
{
	rg_error e = { 0 };
	rg_err rc = rg_store_token_delete(t->store, name, &e);
	audit(t, "token_revoke", name, "", rc, &e);
	if (rc)
		return rg_out_error(&e);
	printf("token '%s' revoked\n", name);
	return RG_EXIT_OK;
}

static int token_dispatch(token_cmd *t)
{
	const char *sub = t->a.operands[0], *name = t->a.operands[1];
	rg_error e = { 0 };
	bool named = !strcmp(sub, "create") || !strcmp(sub, "revoke");
	bool create_only = t->a.role || t->a.n_envs || t->a.expires;
	if (named && !name)
		rg_fail(&e, RG_EINVAL, NULL, "missing NAME: rollguard token %s NAME", sub);
	else if (!named && strcmp(sub, "list"))
		rg_fail(&e, RG_EINVAL, NULL, "unknown 'token %s' (create, list or revoke)", sub);
	else if (!named && name)
		rg_fail(&e, RG_EINVAL, NULL, "unexpected argument '%s'", name);
	else if (create_only && strcmp(sub, "create"))
		rg_fail(&e, RG_EINVAL, NULL, "--role, --env and --expires belong to 'token create'");
	else if (name)
		rg_cli_check_name("token name", name, &e);
	if (e.code) {
		rg_help_usage("token", stderr);
		return rg_out_error(&e);
	}
	if (!strcmp(sub, "create"))
		return token_create(t, name);
	return !strcmp(sub, "list") ? token_list(t) : token_revoke(t, name);
}

int cmd_token(int argc, char **argv)
{
	token_cmd t = { 0 };
	int code;
	rg_error e = { 0 };
	if (!rg_cli_args_get("token", argc, argv, &t.a, &code))
		return code;
	if ((code = rg_cmd_load_config(rg_cli_config_path(&t.a), &t.cfg)))
		return code;
	rg_cmd_local_actor(t.actor, sizeof t.actor);
	if (rg_cmd_open_store(&t.cfg, &t.store, &e))
		code = rg_out_error(&e);
	else
		code = token_dispatch(&t);
	rg_store_free(t.store);
	rg_config_release(&t.cfg);
	return code;
}
