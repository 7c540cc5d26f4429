/* session.h — the dashboard's sign-in over the API (auth/sessions.h):
 * POST /api/v1/session {"token"} opens a session and sets its cookie,
 * GET /api/v1/session says who the session (or token) is and hands the page
 * its CSRF token, POST /api/v1/session/end signs out. */
#ifndef RG_API_SESSION_H
#define RG_API_SESSION_H

#include "api/routes.h"
#include "util/err.h"

/* 201 {"name","roles","envs","csrf","expires_at","expires_at_ms"} and the
 * cookie (HttpOnly, SameSite=Strict, Max-Age; Secure under TLS). A public
 * route: it checks the origin and JSON body itself, and the token it is
 * given as a bearer token would be (401 for a bad one). */
rg_err rg_api_session_open(rg_api_ctx *ctx, const rg_request *req, rg_reply *reply,
			   rg_error *err);
/* 200, the same body; "csrf" and the expiry are null for a bearer token. */
rg_err rg_api_session_show(rg_api_ctx *ctx, const rg_request *req, rg_reply *reply,
			   rg_error *err);
/* 200 {"ended":true} and a cookie that expires at once. */
rg_err rg_api_session_end(rg_api_ctx *ctx, const rg_request *req, rg_reply *reply,
			  rg_error *err);

#endif
