/* client.h — outbound HTTP on the control-plane loop: libcurl's
 * multi-socket interface driven by libuv (uv_poll + uv_timer), so a request
 * never blocks the loop. Used by HTTP checks and by Prometheus queries (and
 * by anything else of the control plane that calls out). 127.0.0.1 or any
 * host the URL names; no proxy from the environment is used. */
#ifndef RG_HTTP_CLIENT_H
#define RG_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "util/err.h"

typedef struct rg_http rg_http;           /* one per loop user: owns the curl multi */
typedef struct rg_http_req rg_http_req;

/* util/err.h has no timeout code: a request that ran out of time ends with
 * this one (HTTP 503 "unavailable"). Compare with RG_HTTP_ETIMEOUT, never
 * with RG_EUNAVAILABLE, so a dedicated code can replace it in one place. */
#define RG_HTTP_ETIMEOUT RG_EUNAVAILABLE

/* The outcome of one request. rc: RG_OK when an HTTP answer arrived (any
 * status), RG_HTTP_ETIMEOUT, or RG_EIO (connection refused, DNS, TLS, …;
 * message says which). body is the first body_limit bytes (NUL-terminated),
 * borrowed for the call only; truncated says more was sent, and reading
 * stopped there. message never holds the URL (it may carry credentials):
 * "HTTP 200", "timed out after 2s", "connection refused", curl's words. */
typedef struct rg_http_result {
	rg_err rc;
	long status;
	const char *body;
	size_t body_len;
	bool truncated;
	int64_t duration_ms;
	char message[256];
	int64_t retry_after_ms;   /* the answer's Retry-After (seconds), 0 = none */
} rg_http_result;

typedef void (*rg_http_done_fn)(const rg_http_result *res, void *ctx);

typedef struct rg_http_opts {
	const char *url;          /* http:// or https:// */
	int64_t timeout_ms;       /* whole request; 0 = 10 s */
	size_t body_limit;        /* bytes of body kept; 0 = 64 KiB */
	/* NULL-terminated "Name: value" list, may be NULL; "User-Agent: …"
	 * replaces the default "rollguard". */
	const char *const *headers;
	/* Called instead of done when rg_http_free discards the request in
	 * flight, so ctx can be released (may be NULL). Not called on
	 * rg_http_cancel. It runs inside rg_http_free: release ctx, nothing more. */
	void (*dropped)(void *ctx);
	/* rg_http_send: with body (may hold NULs; copied) a POST of it; with
	 * an smtp:// or smtps:// url, mail_from and mail_rcpt (NULL-terminated)
	 * the body is sent as one message (status is the SMTP reply code). */
	const char *body;
	size_t body_len;
	const char *mail_from;
	const char *const *mail_rcpt;
	const char *username, *password;   /* SMTP AUTH; may be NULL */
} rg_http_opts;

rg_err rg_http_new(uv_loop_t *loop, rg_http **out, rg_error *err);
/* Cancels requests in flight (no done callbacks; their dropped hooks run)
 * and frees everything once its loop handles are closed; done(ctx) then
 * (may be NULL). Run the loop. Safe from inside a done callback. */
void rg_http_free(rg_http *h, void (*done)(void *ctx), void *ctx);

/* A GET. done fires exactly once on the loop unless cancelled; *out (may
 * be NULL) lets the caller cancel and is invalid once done has fired. */
rg_err rg_http_get(rg_http *h, const rg_http_opts *o, rg_http_done_fn done, void *ctx,
		   rg_http_req **out, rg_error *err);
/* A GET, a POST of o->body, or an SMTP message (see rg_http_opts). */
rg_err rg_http_send(rg_http *h, const rg_http_opts *o, rg_http_done_fn done, void *ctx,
		    rg_http_req **out, rg_error *err);
void rg_http_cancel(rg_http_req *r);

#endif
