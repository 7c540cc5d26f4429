/* access.c — authentication, authorisation and the audit of API writes
 * (see access.h). */
#include "api/access.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/alerts.h"
#include "api/request.h"
#include "auth/audit.h"
#include "auth/sessions.h"
#include "auth/tokens.h"
#include "util/log.h"
#include "util/names.h"
#include "util/timeutil.h"

static const char *header(const rg_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

static bool is_write(const rg_request *req)
{
	return strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0;
}

/* A browser names the page's origin on every cross-origin request (and on
 * every POST); a page of another site must not drive the API even when
 * the browser holds a way in. Scripts and the CLI send no Origin. */
static rg_err check_origin(const rg_request *req, rg_error *err)
{
	const char *origin = header(req, "Origin"), *host = header(req, "Host");
	if (!origin)
		return RG_OK;
	const char *rest = !strncmp(origin, "http://", 7) ? origin + 7
			 : !strncmp(origin, "https://", 8) ? origin + 8 : NULL;
	if (rest && host && strcasecmp(rest, host) == 0)
		return RG_OK;
	return rg_fail(err, RG_EFORBIDDEN, "Origin",
		       "requests from another origin are refused (Origin is not this server)");
}

/* A form or a "simple" fetch cannot send application/json without the
 * browser asking first, so this closes the API to cross-site forms. */
static rg_err check_content_type(const rg_request *req, rg_error *err)
{
	const char *ct = header(req, "Content-Type");
	size_t n = strlen("application/json");
	if (ct && strncasecmp(ct, "application/json", n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '))
		return RG_OK;
	return rg_fail(err, RG_EMEDIA, "Content-Type",
		       "a write must be sent as Content-Type: application/json");
}

static const char *bearer(const rg_request *req)
{
	const char *h = header(req, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	for (h += 7; *h == ' '; h++)
		;
	return h;
}

bool rg_access_by_signature(const rg_request *req)
{
	return req->who && strcmp(req->who->name, "alerts-signature") == 0 &&
	       !header(req, "Authorization");
}

static rg_err authenticate(const rg_api_ctx *ctx, const rg_request *req, rg_permission perm,
			   rg_principal *who, rg_error *err)
{
	const char *token = bearer(req);
	if (!token && perm == RG_PERM_ALERT && !header(req, "Authorization") &&
	    header(req, RG_ALERTS_SIGNATURE_HEADER)) {
		memset(who, 0, sizeof *who);
		snprintf(who->name, sizeof who->name, "alerts-signature");
		who->roles = RG_ROLE_ALERTS;
		return RG_OK;
	}
	if (!token)
		return rg_fail(err, RG_EUNAUTH, "Authorization",
			       header(req, "Authorization")
				       ? "the Authorization header must be 'Bearer TOKEN'"
				       : "this endpoint needs a token (Authorization: Bearer TOKEN)");
	if (!ctx->token_key)
		return rg_fail(err, RG_EUNAUTH, "Authorization", "tokens are not available");
	return rg_token_authenticate(ctx->store, ctx->token_key, token, rg_now_ms(), who, err);
}

/* The dashboard's way in: no Authorization header, a session cookie. */
static const char *session_cookie(const rg_request *req)
{
	if (header(req, "Authorization"))
		return NULL;
	return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, RG_SESSION_COOKIE);
}

static rg_err by_session(const rg_api_ctx *ctx, const rg_request *req, const char *cookie,
			 rg_session *session, rg_error *err)
{
	if (!ctx->token_key)
		return rg_fail(err, RG_EUNAUTH, RG_SESSION_COOKIE, "sessions are not available");
	rg_err rc = rg_session_check(ctx->store, ctx->token_key, cookie, rg_now_ms(), session, err);
	if (rc == RG_EUNAUTH)
		err->field[0] = '\0';
	return rc;
}

/* A page of another site can make the browser send the cookie (older
 * browsers, or SameSite lifted) but cannot read the CSRF token the
 * dashboard got when it signed in. */
static rg_err check_csrf(const rg_request *req, const rg_session *session, rg_error *err)
{
	if (rg_session_csrf_ok(session, header(req, RG_CSRF_HEADER)))
		return RG_OK;
	return rg_fail(err, RG_EFORBIDDEN, RG_CSRF_HEADER,
		       "a write made with a session must carry its CSRF token in " RG_CSRF_HEADER);
}

rg_err rg_access_admit(const rg_api_ctx *ctx, const rg_request *req, rg_permission perm,
		       rg_principal *who, rg_session *session, rg_error *err)
{
	memset(who, 0, sizeof *who);
	memset(session, 0, sizeof *session);
	const char *cookie = session_cookie(req);
	rg_err rc;
	if (cookie) {
		rc = by_session(ctx, req, cookie, session, err);
		if (!rc)
			*who = session->who;
	} else {
		rc = authenticate(ctx, req, perm, who, err);
	}
	if (rc) {
		memset(who, 0, sizeof *who);
		memset(session, 0, sizeof *session);
	}
	if (!rc)
		rc = rg_access_browser(req, err);
	if (!rc && cookie && is_write(req))
		rc = check_csrf(req, session, err);
	if (!rc && !rg_principal_may(who, perm, NULL)) {
		char roles[128];
		rg_roles_text(who->roles, roles, sizeof roles);
		rc = rg_fail(err, RG_EFORBIDDEN, NULL, "token '%s' (%s) may not %s", who->name,
			     roles[0] ? roles : "no role", rg_permission_name(perm));
	}
	return rc;
}

rg_err rg_access_browser(const rg_request *req, rg_error *err)
{
	rg_err rc = check_origin(req, err);
	if (!rc && is_write(req))
		rc = check_content_type(req, err);
	return rc;
}

rg_err rg_access_env(const rg_request *req, rg_permission perm, const char *env,
		     rg_error *err)
{
	if (!req->who || rg_principal_may(req->who, perm, env))
		return RG_OK;
	return rg_fail(err, RG_EFORBIDDEN, "env", "token '%s' may not %s in environment '%s'",
		       req->who->name, rg_permission_name(perm), env);
}

/* ---- audit --------------------------------------------------------------------- */

/* "deploys" → "deploy", "run_abort" → "abort": the verb a person reads. */
static const char *action_of(const char *route)
{
	static const struct { const char *route, *action; } names[] = {
		{ "deploys", "deploy" }, { "rollbacks", "rollback" }, { "alerts", "alert" },
		{ "run_abort", "abort" }, { "run_promote", "promote" }, { "run_pause", "pause" },
		{ "run_resume", "resume" },
	};
	for (size_t i = 0; route && i < sizeof names / sizeof *names; i++)
		if (!strcmp(route, names[i].route))
			return names[i].action;
	if (route && !strncmp(route, "run_", 4))
		return route + 4;
	return route ? route : "unknown";
}

static void client_address(const rg_request *req, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	snprintf(out, size, "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)size);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  (socklen_t)size);
}

/* The environment a write refused before its handler ran named in its
 * body, when that is a valid name: the audit should say where. */
static void body_env(const rg_request *req, char *out, size_t size)
{
	json_t *in = NULL;
	rg_error ignored;
	out[0] = '\0';
	if (req->body_len && !rg_json_parse_object(req->body, req->body_len, &in, &ignored)) {
		const char *env = json_string_value(json_object_get(in, "env"));
		if (env && rg_name_valid(env))
			snprintf(out, size, "%s", env);
	}
	json_decref(in);
}

void rg_access_audit(const rg_api_ctx *ctx, const rg_request *req, const char *route,
		     const rg_reply *reply, const rg_error *err)
{
	char address[64], target[160], env[RG_NAME_MAX + 8];
	rg_error e;
	if (!is_write(req) || !ctx->store)
		return;
	client_address(req, address, sizeof address);
	if (reply->audit_env[0])
		snprintf(env, sizeof env, "%s", reply->audit_env);
	else
		body_env(req, env, sizeof env);
	if (reply->audit_target[0])
		snprintf(target, sizeof target, "%s", reply->audit_target);
	else
		rg_request_log_text(target, sizeof target, req->path);
	bool refused = reply->status >= 400 && reply->status < 500;
	rg_audit_entry entry = {
		.actor = req->who ? req->who->name : reply->audit_actor[0] ? reply->audit_actor : "-",
		.address = address,
		.action = action_of(route),
		.env = env,
		.target = target,
		.result = reply->status < 400 ? "accepted" : refused ? "refused" : "failed",
		.status = (int)reply->status,
		.detail = err && err->code ? err->message : reply->audit_detail,
	};
	if (rg_audit_append(ctx->store, &entry, &e))
		rg_error_log("api: cannot record %s by %s in the audit log: %s", entry.action,
			     entry.actor, e.message);
}
