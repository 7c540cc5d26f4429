/* flags.c — feature flags over HTTP (see flags.h). Every input is checked
 * before it reaches the store: flag and environment names against the
 * config, the context's fields by type. An evaluation writes nothing. */
#include "api/flags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/access.h"
#include "api/request.h"
#include "flags/flags.h"
#include "util/jsontext.h"
#include "util/timeutil.h"

#define FLAG_REASON_MAX_CHARS 500

/* ---- OFREP ------------------------------------------------------------------ */

/* An OFREP failure: {"key"?,"errorCode","errorDetails"} with status. */
static rg_err ofrep_fail(rg_reply *reply, unsigned status, const char *key, const char *code,
			 const char *details, rg_error *err)
{
	json_t *v = json_pack("{s:s, s:s}", "errorCode", code, "errorDetails", details);
	/* A key that is no valid name may not even be UTF-8: it is not echoed. */
	if (v && key && rg_name_valid(key) && json_object_set_new(v, "key", json_string(key)) != 0) {
		json_decref(v);
		v = NULL;
	}
	return rg_reply_json(reply, status, v, err);
}

/* What an evaluation request says: its context's targeting key and env. */
typedef struct ofrep_in {
	json_t *body;                /* owned */
	const char *targeting_key;   /* borrowed from body; NULL = none */
	const char *env;             /* where it evaluates */
	const char *code;            /* set on failure: PARSE_ERROR, INVALID_CONTEXT */
	unsigned status;             /* set on failure: 400 or 403 */
	char details[256];
} ofrep_in;

static bool in_fail(ofrep_in *in, unsigned status, const char *code, const char *details)
{
	in->status = status;
	in->code = code;
	snprintf(in->details, sizeof in->details, "%s", details);
	return false;
}

/* The environment: the context's "env", else the token's only one, else
 * the service's only one. */
static bool pick_env(const rg_api_ctx *ctx, const rg_request *req, const json_t *context,
		     ofrep_in *in)
{
	const json_t *e = json_object_get(context, "env");
	char msg[200];
	if (e && !json_is_string(e))
		return in_fail(in, 400, "INVALID_CONTEXT", "context attribute 'env' must be a string");
	if (e) {
		in->env = json_string_value(e);
		if (!rg_name_valid(in->env) || !rg_config_env(ctx->cfg, in->env)) {
			snprintf(msg, sizeof msg, "unknown environment '%.64s' in context attribute 'env'",
				 in->env);
			return in_fail(in, 400, "INVALID_CONTEXT", msg);
		}
	} else if (req->who && req->who->n_envs == 1) {
		in->env = req->who->envs[0];
	} else if (ctx->cfg->n_envs == 1) {
		in->env = ctx->cfg->envs[0].name;
	} else {
		return in_fail(in, 400, "INVALID_CONTEXT",
			       "which environment? set context attribute 'env', or use a token "
			       "limited to one environment");
	}
	if (req->who && !rg_principal_env_allowed(req->who, in->env)) {
		snprintf(msg, sizeof msg, "token '%s' may not read flags in environment '%s'",
			 req->who->name, in->env);
		return in_fail(in, 403, "GENERAL", msg);
	}
	return true;
}

/* {"context": {...}}; the context's other attributes are the application's
 * and are not looked at. */
static bool ofrep_parse(const rg_api_ctx *ctx, const rg_request *req, ofrep_in *in)
{
	rg_error e;
	memset(in, 0, sizeof *in);
	if (rg_json_parse_object(req->body, req->body_len, &in->body, &e))
		return in_fail(in, 400, "PARSE_ERROR", e.message);
	const char *k;
	json_t *v;
	json_object_foreach(in->body, k, v) {
		if (strcmp(k, "context") != 0) {
			char msg[160];
			snprintf(msg, sizeof msg, "unknown field '%.64s' (an evaluation request has 'context')",
				 k);
			return in_fail(in, 400, "PARSE_ERROR", msg);
		}
	}
	const json_t *context = json_object_get(in->body, "context");
	if (context && !json_is_object(context) && !json_is_null(context))
		return in_fail(in, 400, "INVALID_CONTEXT", "'context' must be an object");
	const json_t *tk = json_object_get(context, "targetingKey");
	if (tk && !json_is_string(tk) && !json_is_null(tk))
		return in_fail(in, 400, "INVALID_CONTEXT", "'targetingKey' must be a string");
	in->targeting_key = json_string_value(tk);
	return pick_env(ctx, req, context, in);
}

rg_err rg_api_ofrep_one(rg_api_ctx *ctx, const rg_request *req, const char *key,
			rg_reply *reply, rg_error *err)
{
	ofrep_in in;
	bool ok = ofrep_parse(ctx, req, &in);
	const rg_flag *f = rg_name_valid(key) ? rg_config_flag(ctx->cfg, key) : NULL;
	rg_err rc;
	if (!ok) {
		rc = ofrep_fail(reply, in.status, key, in.code, in.details, err);
	} else if (!f) {
		char msg[160];
		if (rg_name_valid(key))
			snprintf(msg, sizeof msg, "no flag '%s'", key);
		else
			snprintf(msg, sizeof msg, "no flag of that name (flag names are %s)",
				 "letters, digits and . _ + -, at most 64");
		rc = ofrep_fail(reply, 404, key, "FLAG_NOT_FOUND", msg, err);
	} else {
		rg_flag_override *ov = NULL;
		size_t n = 0;
		rc = rg_store_flags_get(ctx->store, in.env, &ov, &n, err);
		if (!rc) {
			rg_flag_result r;
			rg_flag_eval(f, in.env, rg_flag_override_find(ov, n, key), in.targeting_key, &r);
			rc = rg_reply_json(reply, r.error ? 400 : 200, rg_flag_result_json(f, &r), err);
		}
		free(ov);
	}
	json_decref(in.body);
	return rc;
}

static json_t *bulk_json(const rg_api_ctx *ctx, const ofrep_in *in, const rg_flag_override *ov,
			 size_t n)
{
	json_t *list = json_array();
	for (size_t i = 0; list && i < ctx->cfg->n_flags; i++) {
		const rg_flag *f = &ctx->cfg->flags[i];
		rg_flag_result r;
		rg_flag_eval(f, in->env, rg_flag_override_find(ov, n, f->name), in->targeting_key, &r);
		if (json_array_append_new(list, rg_flag_result_json(f, &r)) != 0) {
			json_decref(list);
			return NULL;
		}
	}
	return list ? json_pack("{s:o}", "flags", list) : NULL;
}

/* The ETag is the body's hash: it changes exactly when what this context
 * would be told changes (a flag set, a trigger, a new config). */
rg_err rg_api_ofrep_bulk(rg_api_ctx *ctx, const rg_request *req, rg_reply *reply,
			 rg_error *err)
{
	ofrep_in in;
	rg_err rc;
	if (!ofrep_parse(ctx, req, &in)) {
		rc = ofrep_fail(reply, in.status, NULL, in.code, in.details, err);
		json_decref(in.body);
		return rc;
	}
	rg_flag_override *ov = NULL;
	size_t n = 0;
	rc = rg_store_flags_get(ctx->store, in.env, &ov, &n, err);
	if (!rc)
		rc = rg_reply_json(reply, 200, bulk_json(ctx, &in, ov, n), err);
	free(ov);
	json_decref(in.body);
	if (rc)
		return rc;
	rg_flag_etag(reply->body, reply->body_len, reply->etag);
	const char *inm = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "If-None-Match");
	if (inm && rg_flag_etag_matches(inm, reply->etag)) {
		free(reply->body);
		reply->body = NULL;
		reply->body_len = 0;
		reply->status = 304;
	}
	return RG_OK;
}

/* ---- rollguard's own view ------------------------------------------------------ */

static rg_err env_flags(rg_api_ctx *ctx, const char *env, json_t *list, rg_error *err)
{
	rg_flag_override *ov = NULL;
	size_t n = 0;
	rg_err rc = rg_store_flags_get(ctx->store, env, &ov, &n, err);
	for (size_t i = 0; !rc && i < ctx->cfg->n_flags; i++) {
		const rg_flag *f = &ctx->cfg->flags[i];
		if (json_array_append_new(list, rg_flag_state_json(f, env, rg_flag_override_find(ov, n, f->name))))
			rc = rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	}
	free(ov);
	return rc;
}

rg_err rg_api_flags_list(rg_api_ctx *ctx, const rg_request *req, const char *env,
			 rg_reply *reply, rg_error *err)
{
	if (env && (!rg_name_valid(env) || !rg_config_env(ctx->cfg, env)))
		return rg_fail(err, RG_ENOTFOUND, "env", "unknown environment '%.64s'", env);
	if (env) {
		rg_err rc = rg_access_env(req, RG_PERM_FLAGS, env, err);
		if (rc)
			return rc;
	}
	json_t *list = json_array();
	if (!list)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < ctx->cfg->n_envs; i++) {
		const char *name = ctx->cfg->envs[i].name;
		if ((env && strcmp(env, name) != 0) ||
		    (req->who && !rg_principal_env_allowed(req->who, name)))
			continue;
		rg_err rc = env_flags(ctx, name, list, err);
		if (rc) {
			json_decref(list);
			return rc;
		}
	}
	return rg_reply_json(reply, 200, json_pack("{s:o}", "flags", list), err);
}

rg_err rg_flag_state_parse(const char *s, bool *enabled, int *rollout, rg_error *err)
{
	int64_t pct = 0;
	char digits[8];
	size_t n = s ? strlen(s) : 0;
	rg_error ignored;
	if (n && !strcmp(s, "on")) {
		*enabled = true, *rollout = 100;
		return RG_OK;
	}
	if (n && !strcmp(s, "off")) {
		*enabled = false, *rollout = -1;   /* -1: keep the rollout as it stands */
		return RG_OK;
	}
	if (n && s[n - 1] == '%')
		n--;
	if (n > 0 && n < sizeof digits) {
		memcpy(digits, s, n);
		digits[n] = '\0';
		if (!strcmp(digits, "0") || !rg_parse_int(digits, 0, 100, "state", &pct, &ignored)) {
			*enabled = true, *rollout = (int)pct;
			return RG_OK;
		}
	}
	return rg_fail(err, RG_EINVAL, "state",
		       "invalid flag state '%.32s' (use on, off or a percentage like 20%%)", s ? s : "");
}

static const rg_json_field set_fields[] = {
	{ "env", RG_JSON_STRING, true, 0 },
	{ "state", RG_JSON_STRING, true, 0 },
	{ "reason", RG_JSON_STRING, true, FLAG_REASON_MAX_CHARS },
};

static rg_err check_line(const char *text, rg_error *err)
{
	for (const char *p = text; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return rg_fail(err, RG_EINVAL, "reason",
				       "field 'reason' must not contain control characters");
	if (!text || !*text)
		return rg_fail(err, RG_EINVAL, "reason", "field 'reason' must not be empty");
	return RG_OK;
}

/* The override in o from the request, the rollout kept when turned off. */
static void override_fill(const rg_flag *f, const char *env, const rg_flag_override *old,
			  bool enabled, int rollout, rg_flag_override *o)
{
	rg_flag_setting s;
	rg_flag_setting_of(f, env, old, &s);
	o->enabled = enabled;
	o->rollout = rollout >= 0 ? rollout : s.rollout;
	o->at = rg_now_ms();
}

rg_err rg_api_flag_set(rg_api_ctx *ctx, const rg_request *req, const char *key,
		       rg_reply *reply, rg_error *err)
{
	json_t *in = NULL;
	rg_err rc = rg_json_parse_checked(req->body, req->body_len, set_fields, 3, &in, err);
	if (rc)
		return rc;
	const char *env = rg_json_get_str(in, "env"), *reason = rg_json_get_str(in, "reason");
	const rg_flag *f = rg_name_valid(key) ? rg_config_flag(ctx->cfg, key) : NULL;
	bool enabled = false;
	int rollout = 0;
	snprintf(reply->audit_target, sizeof reply->audit_target, "flag %s",
		 rg_name_valid(key) ? key : "?");
	snprintf(reply->audit_detail, sizeof reply->audit_detail, "%s: %s",
		 rg_json_get_str(in, "state"), reason);
	if (!rg_name_valid(env) || !rg_config_env(ctx->cfg, env))
		rc = rg_fail(err, RG_EINVAL, "env", "unknown environment '%.64s'", env);
	if (!rc)
		snprintf(reply->audit_env, sizeof reply->audit_env, "%s", env);
	if (!rc && !f)   /* a name that is not valid may not be UTF-8: not echoed */
		rc = rg_fail(err, RG_ENOTFOUND, NULL, "no flag '%s'", rg_name_valid(key) ? key : "?");
	if (!rc)
		rc = rg_flag_state_parse(rg_json_get_str(in, "state"), &enabled, &rollout, err);
	if (!rc)
		rc = check_line(reason, err);
	if (!rc)
		rc = rg_access_env(req, RG_PERM_FLAG_SET, env, err);
	rg_flag_override *ov = NULL;
	size_t n = 0;
	if (!rc)
		rc = rg_store_flags_get(ctx->store, env, &ov, &n, err);
	rg_flag_override o;
	memset(&o, 0, sizeof o);
	if (!rc) {
		snprintf(o.env, sizeof o.env, "%s", env);
		snprintf(o.key, sizeof o.key, "%s", key);
		snprintf(o.actor, sizeof o.actor, "%s", req->actor ? req->actor : "-");
		snprintf(o.reason, sizeof o.reason, "%s", reason);
		override_fill(f, env, rg_flag_override_find(ov, n, key), enabled, rollout, &o);
		rc = rg_store_flag_put(ctx->store, &o, err);
	}
	free(ov);
	json_decref(in);   /* env and reason are gone with it: o holds copies */
	if (rc)
		return rc;
	return rg_reply_json(reply, 200, json_pack("{s:o}", "flag", rg_flag_state_json(f, o.env, &o)),
			     err);
}
