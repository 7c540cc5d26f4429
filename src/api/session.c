/* session.c — sign-in and sign-out of the dashboard (see session.h). */
#include "api/session.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/access.h"
#include "api/request.h"
#include "util/timeutil.h"

static json_t *roles_json(unsigned roles)
{
	char text[128];
	json_t *list = json_array();
	rg_roles_text(roles, text, sizeof text);
	for (const char *r = text; list && *r; ) {
		size_t n = strcspn(r, ",");
		json_array_append_new(list, json_stringn(r, n));
		r += n + (r[n] == ',');
	}
	return list;
}

static json_t *envs_json(const rg_principal *who)
{
	if (!who->n_envs)
		return json_null();
	json_t *list = json_array();
	for (size_t i = 0; list && i < who->n_envs; i++)
		json_array_append_new(list, json_string(who->envs[i]));
	return list;
}

/* session NULL: a bearer token, which has no CSRF token and no expiry here. */
static json_t *session_json(const rg_principal *who, const rg_session *session)
{
	char when[40];
	if (session)
		rg_time_format_iso(session->expires, when, sizeof when);
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "name", who->name,
			 "roles", roles_json(who->roles), "envs", envs_json(who),
			 "csrf", session ? json_string(session->csrf) : json_null(),
			 "expires_at", session ? json_string(when) : json_null(),
			 "expires_at_ms", session ? json_integer(session->expires) : json_null());
}

static void set_cookie(const rg_api_ctx *ctx, rg_reply *reply, const char *value,
		       int64_t max_age_s)
{
	snprintf(reply->set_cookie, sizeof reply->set_cookie,
		 RG_SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s", value,
		 (long long)max_age_s, ctx->tls ? "; Secure" : "");
}

rg_err rg_api_session_open(rg_api_ctx *ctx, const rg_request *req, rg_reply *reply,
			   rg_error *err)
{
	static const rg_json_field fields[] = {
		{ "token", RG_JSON_STRING, true, RG_TOKEN_TEXT_MAX },
	};
	json_t *in = NULL;
	rg_session session;
	snprintf(reply->audit_target, sizeof reply->audit_target, "session");
	rg_err rc = rg_access_browser(req, err);
	if (!rc)
		rc = rg_json_parse_checked(req->body, req->body_len, fields, 1, &in, err);
	if (!rc && !ctx->token_key)
		rc = rg_fail(err, RG_EUNAUTH, "token", "tokens are not available");
	int64_t now = rg_now_ms();
	if (!rc)
		rc = rg_session_open(ctx->store, ctx->token_key, rg_json_get_str(in, "token"), now,
				     &session, err);
	json_decref(in);   /* jansson does not wipe; the token never left this request */
	if (rc) {
		if (rc == RG_EUNAUTH)
			snprintf(err->field, sizeof err->field, "token");
		return rc;
	}
	snprintf(reply->audit_actor, sizeof reply->audit_actor, "%s", session.who.name);
	set_cookie(ctx, reply, session.cookie, (session.expires - now + 999) / 1000);
	rc = rg_reply_json(reply, 201, session_json(&session.who, &session), err);
	sodium_memzero(&session, sizeof session);
	return rc;
}

rg_err rg_api_session_show(rg_api_ctx *ctx, const rg_request *req, rg_reply *reply,
			   rg_error *err)
{
	return rg_reply_json(reply, 200, session_json(req->who, req->session), err);
}

rg_err rg_api_session_end(rg_api_ctx *ctx, const rg_request *req, rg_reply *reply,
			  rg_error *err)
{
	const char *cookie =
		MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, RG_SESSION_COOKIE);
	snprintf(reply->audit_target, sizeof reply->audit_target, "session");
	if (!req->session)
		return rg_fail(err, RG_EINVAL, NULL, "signing out needs a session (this request "
			       "came with a token)");
	rg_err rc = rg_session_end(ctx->store, ctx->token_key, cookie, err);
	if (rc)
		return rc;
	set_cookie(ctx, reply, "", 0);
	return rg_reply_json(reply, 200, json_pack("{s:b}", "ended", 1), err);
}
