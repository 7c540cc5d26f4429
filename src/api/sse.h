/* sse.h — GET /api/v1/runs/{id}/events as Server-Sent Events.
 * A stream sends the run's events as they are committed and ends after the
 * run is terminal. While it waits its connection is suspended; the hub
 * resumes it when the engine reports new events or a keep-alive is due.
 * Everything runs on the loop thread. */
#ifndef RG_API_SSE_H
#define RG_API_SSE_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

#define RG_SSE_KEEPALIVE_MS 15000
#define RG_SSE_RETRY_MS 2000

typedef struct rg_sse_hub rg_sse_hub;

/* Called after streams were resumed: the caller must make MHD run soon
 * (not from inside the call, which may come from within MHD_run). */
typedef void (*rg_sse_kick_fn)(void *ctx);

/* Borrows store; both must outlive the hub. */
rg_err rg_sse_hub_new(rg_store *store, rg_sse_kick_fn kick, void *kick_ctx, rg_sse_hub **out,
		      rg_error *err);
/* Streams of run_id have new events to send. */
void rg_sse_notify(rg_sse_hub *hub, int64_t run_id);
/* Every stream sends ": keep-alive" unless it sent something else first. */
void rg_sse_keepalive(rg_sse_hub *hub);
/* Ends every stream once its pending bytes are out; resumes them all (MHD
 * must not be stopped with suspended connections). Call, then MHD_run,
 * then MHD_stop_daemon. */
void rg_sse_hub_shutdown(rg_sse_hub *hub);
/* After MHD_stop_daemon (which frees every stream). */
void rg_sse_hub_free(rg_sse_hub *hub);
size_t rg_sse_hub_streams(const rg_sse_hub *hub);

/* Builds the streaming response for run_id on conn, sending events with
 * id > after_id. Queue it with status 200 and MHD_destroy_response(). */
rg_err rg_sse_open(rg_sse_hub *hub, struct MHD_Connection *conn, int64_t run_id,
		   int64_t after_id, struct MHD_Response **out, rg_error *err);

/* Pure: one event {"id","type",…} as "id: N\nevent: TYPE\ndata: JSON\n\n".
 * *out owned by the caller. */
rg_err rg_sse_format_event(const json_t *event, char **out, size_t *len, rg_error *err);

#endif
