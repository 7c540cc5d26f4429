/* server.h — the JSON API (DESIGN §7) on the control-plane loop.
 * libmicrohttpd runs without threads of its own: its epoll fd is watched by
 * uv_poll, so every handler runs on the loop and may call the engine. */
#ifndef RG_API_SERVER_H
#define RG_API_SERVER_H

#include <netinet/in.h>
#include <uv.h>

#include "config/config.h"
#include "dataplane/dataplane.h"
#include "auth/tokens.h"
#include "engine/engine.h"
#include "store/store.h"
#include "util/err.h"

typedef struct rg_api rg_api;

/* Listens on listen ("host:port"). Borrows loop, cfg, engine, store, dp
 * (the built-in proxies; NULL when none) and token_key (what bearer
 * tokens are checked with; NULL: every request but /health is refused);
 * reads the /metrics totals once (api/counters.h) and subscribes to the
 * engine's news (rg_engine_subscribe) for the event streams and to keep
 * those totals current. A port in use is RG_EIO "cannot listen on 127.0.0.1:7070:
 * address in use". */
rg_err rg_api_start(uv_loop_t *loop, const char *listen, const rg_config *cfg,
		    rg_engine *engine, rg_store *store, rg_dataplane *dp,
		    const rg_token_key *token_key, rg_api **out, rg_error *err);
/* Closes the listener and every connection, event streams included, and
 * unsubscribes from the engine. Call on the loop thread, not from
 * inside a request. api is freed by the close callbacks of its loop
 * handles: run the loop (uv_run) afterwards. */
void rg_api_stop(rg_api *api);
/* The incidents people answer through the API (borrowed; NULL: none). */
struct rg_incidents;
void rg_api_set_incidents(rg_api *api, struct rg_incidents *in);
/* An rg_retention_pruned_fn (engine/retention.h), ctx the rg_api: runs a
 * retention pass deleted leave the /metrics run gauge. */
void rg_api_runs_pruned(void *ctx, const rg_retention_result *res);
/* The port listened on (the one the kernel chose for port 0). */
int rg_api_port(const rg_api *api);

#endif
