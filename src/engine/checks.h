/* checks.h — named health checks (config `checks:`) run on the loop.
 * HTTP checks are GETs of an rg_http (http/client.h: libcurl driven by the
 * same libuv loop, never blocking it); command checks are child processes
 * (exec.h). */
#ifndef RG_CHECKS_H
#define RG_CHECKS_H

#include <stdbool.h>
#include <uv.h>

#include "config/config.h"
#include "http/client.h"
#include "util/err.h"

typedef struct rg_checker rg_checker;   /* one per engine: owns an rg_http */
typedef struct rg_check_run rg_check_run;

typedef struct rg_check_result {
	bool ok;
	bool timed_out;        /* the check's own timeout passed */
	char detail[512];      /* "HTTP 503 from http://…", "exit 1", "timed out after 2s" */
	int64_t duration_ms;
} rg_check_result;

typedef void (*rg_check_done_fn)(const rg_check *check, const rg_check_result *res, void *ctx);

rg_err rg_checker_new(uv_loop_t *loop, rg_checker **out, rg_error *err);
/* Closes everything; checks still in flight are cancelled without callback.
 * done(ctx) runs once the handles are closed (may be NULL). */
void rg_checker_free(rg_checker *c, void (*done)(void *ctx), void *ctx);
/* The checker's HTTP client, for the engine's other callouts on the same
 * loop (Prometheus queries); freed by rg_checker_free, which drops the
 * requests still in flight (rg_http_opts.dropped). */
rg_http *rg_checker_http(rg_checker *c);

/* Starts one check. Command checks run with cwd and env (NULL-terminated "K=V").
 * done fires exactly once on the loop unless cancelled. *out (may be NULL)
 * lets the caller cancel; it is invalid once done has fired. */
rg_err rg_check_start(rg_checker *c, const rg_check *check, const char *cwd, char **env,
		      rg_check_done_fn done, void *ctx, rg_check_run **out, rg_error *err);
void rg_check_cancel(rg_check_run *r);

#endif
