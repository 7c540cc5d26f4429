/* retention.h — the pruner: applies server.retention on the loop, a small
 * batch per timer tick (store.h rg_store_retention_prune), so the loop is
 * never held for more than a few milliseconds. Serve wires it; it needs
 * nothing from the engine. */
#ifndef RG_ENGINE_RETENTION_H
#define RG_ENGINE_RETENTION_H

#include <uv.h>

#include "config/config.h"
#include "store/store.h"
#include "util/err.h"

typedef struct rg_retention rg_retention;

/* Called on the loop after each committed pass that pruned runs (the
 * /metrics run gauge follows the store with it); res is valid during the
 * call only. */
typedef void (*rg_retention_pruned_fn)(void *ctx, const rg_retention_result *res);

/* *out is NULL (nothing to do) when cfg keeps everything. loop, cfg, store
 * and ctx are borrowed and must outlive the pruner; on_pruned may be NULL.
 * *out is freed by rg_retention_stop. */
rg_err rg_retention_start(uv_loop_t *loop, const rg_retention_cfg *cfg, rg_store *store,
			  rg_retention_pruned_fn on_pruned, void *ctx, rg_retention **out,
			  rg_error *err);
/* Stops the timer; the pruner is freed once the loop closes its handle.
 * NULL is fine. */
void rg_retention_stop(rg_retention *r);

#endif
