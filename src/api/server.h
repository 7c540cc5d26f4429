/* server.h — the JSON API (DESIGN §7) on the control-plane loop.
 * libmicrohttpd runs without threads of its own: its epoll fd is watched by
 * uv_poll, so every handler runs on the loop and may call the engine. */
#ifndef RG_API_SERVER_H
#define RG_API_SERVER_H

#include <uv.h>

#include "config/config.h"
#include "engine/engine.h"
#include "store/store.h"
#include "util/err.h"

typedef struct rg_api rg_api;

/* Listens on listen ("host:port"). Borrows loop, cfg, engine and store. */
rg_err rg_api_start(uv_loop_t *loop, const char *listen, const rg_config *cfg,
		    rg_engine *engine, rg_store *store, rg_api **out, rg_error *err);
/* Closes the listener and every connection; frees api. */
void rg_api_stop(rg_api *api);

#endif
