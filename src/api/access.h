/* access.h — who a request comes from and whether they may ask it: the
 * API's side of auth/. Every route but GET /health passes through
 * rg_access_admit before its handler; handlers that learn the environment
 * a request acts on (a body's env, a run's env) ask rg_access_env; every
 * write is recorded by rg_access_audit once answered, accepted or not. */
#ifndef RG_API_ACCESS_H
#define RG_API_ACCESS_H

#include <stdbool.h>

#include "api/routes.h"
#include "auth/principal.h"
#include "auth/sessions.h"
#include "util/err.h"

/* A route's gate: the permission it needs, or none (GET /health). */
#define RG_ACCESS_PUBLIC RG_PERM_COUNT
/* The header a write made with a dashboard session carries its CSRF token in. */
#define RG_CSRF_HEADER "X-Rollguard-CSRF"

/* In order: no or a bad bearer token (401) — or, for a request without an
 * Authorization header but with the dashboard's session cookie, no valid
 * session (401) —, a browser request from another origin (403), a write
 * whose body is not declared JSON (415), a write by session without its
 * CSRF token (403), a role that does not allow perm (403). *who is the
 * token's principal once the token (or session) is valid, even when a later
 * check refuses (the audit names them), and all zero (name "") before;
 * *session is the session when the request came with one (who.name "" else);
 * for POST /alerts without an Authorization header but with the alerts
 * signature header, *who is the system principal "alerts-signature" and
 * the handler checks the signature. */
rg_err rg_access_admit(const rg_api_ctx *ctx, const rg_request *req, rg_permission perm,
		       rg_principal *who, rg_session *session, rg_error *err);
/* The checks of a browser's request that need no token: its origin, and a
 * write's JSON Content-Type (for POST /api/v1/session, which takes one). */
rg_err rg_access_browser(const rg_request *req, rg_error *err);
/* 403 naming the token and the environment unless req->who may do perm
 * in env. */
rg_err rg_access_env(const rg_request *req, rg_permission perm, const char *env,
		     rg_error *err);
/* Whether the request came in with the alerts signature instead of a token. */
bool rg_access_by_signature(const rg_request *req);

/* Records a write in the audit log: route is the route's name (NULL when
 * none matched), err the error it was refused with (code 0 if accepted).
 * A failure to record is logged, never answered: the change is made. */
void rg_access_audit(const rg_api_ctx *ctx, const rg_request *req, const char *route,
		     const rg_reply *reply, const rg_error *err);

#endif
