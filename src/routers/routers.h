/* routers.h — tells an environment's router what to route: the built-in
 * proxy (dataplane.h), HAProxy through its runtime API, or a user command.
 * The engine writes the rg_route_state (store.h) first and then applies it
 * here; applying the same state twice is harmless, so serve simply applies
 * every stored state again at start.
 *
 * All functions run on the control-plane loop and never block it: HAProxy
 * is spoken to over a libuv stream (unix socket or TCP), the command runs
 * as a child process (engine/exec.h). The routers borrow loop, cfg and dp
 * (which may be NULL when no environment has a proxy); all must outlive
 * them. */
#ifndef RG_ROUTERS_H
#define RG_ROUTERS_H

#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "dataplane/dataplane.h"
#include "store/store.h"
#include "util/err.h"

typedef struct rg_routers rg_routers;
typedef struct rg_route_op rg_route_op;

/* The outcome of one apply. rc RG_OK, or the failure with a message naming
 * the router and what it said ("haproxy 127.0.0.1:9999: No such server.").
 * apply_us: from rg_routers_apply to the router confirming the change. */
typedef void (*rg_route_done_fn)(void *ctx, rg_err rc, const char *message, int64_t apply_us);

rg_err rg_routers_new(uv_loop_t *loop, const rg_config *cfg, rg_dataplane *dp,
		      rg_routers **out, rg_error *err);
/* Cancels every operation in flight (their done never fires) and frees
 * everything once its handles are closed; run the loop afterwards. */
void rg_routers_free(rg_routers *r);

/* "proxy", "haproxy", "command", or NULL when env routes nothing. */
const char *rg_routers_kind(const rg_routers *r, const char *env);

/* Applies st to the router of st->env. The built-in proxy applies at once
 * and calls done before returning (*op is then NULL); the others call done
 * later on the loop, and *op (may be NULL if the caller never cancels) lets
 * the caller cancel — then done never fires. The message passed to done is
 * valid during the call only. RG_ENOTFOUND when env has no router; errors
 * returned here mean done will not be called. Operations on one
 * environment run one at a time, in the order they were asked for.
 * In detail: the proxy's outcome (a bad backend is RG_EINVAL) goes to done
 * and apply returns RG_OK; without a dataplane it returns RG_EUNAVAILABLE.
 * HAProxy states naming more than one backend on a side, or a backend that
 * is not HOST:PORT (util/hostport.h), are refused here with RG_EINVAL. */
rg_err rg_routers_apply(rg_routers *r, const rg_route_state *st, rg_route_done_fn done,
			void *ctx, rg_route_op **op, rg_error *err);
/* NULL is fine. Once done has returned the op is gone and must not be
 * cancelled; cancelling it from inside its own done is harmless. */
void rg_route_op_cancel(rg_route_op *op);

#endif
