/* link.h — the controller's end of STATE/proxy.sock: finds the proxy
 * process (`rollguard proxy`) or starts it, checks it serves this config,
 * hands it an upgrade when the controller's binary is newer, maps its
 * statistics read-only, sends it routing tables, and when it goes away
 * starts another at once and sends them again. Owns the remote dataplane
 * (dataplane.h) the engine, the routers and the API use.
 *
 * On the loop: nothing here waits for the proxy, except rg_link_start
 * (before the loop runs) and rg_link_stop (after it stopped). */
#ifndef RG_DATAPLANE_LINK_H
#define RG_DATAPLANE_LINK_H

#include <stdbool.h>
#include <uv.h>

#include "config/config.h"
#include "dataplane/dataplane.h"
#include "util/err.h"

typedef struct rg_link rg_link;

/* Attaches to the proxy process of cfg's state directory, starting one
 * (`EXE proxy -c config_path`, own session) if none answers, replacing one
 * started with another proxy config, and handing over to a new one
 * (`--takeover`) if it runs another binary than this process. *dp is the
 * link's (freed by rg_link_stop). Borrows loop, cfg, config_path and
 * log_format (NULL, "text" or "json": the proxy process logs alike). */
rg_err rg_link_start(uv_loop_t *loop, const rg_config *cfg, const char *config_path,
		     const char *log_format, rg_link **out, rg_dataplane **dp, rg_error *err);
/* Detaches; with stop_proxy, tells the proxy to exit and waits (bounded)
 * until it has. Closes the handles (run the loop once more) and frees the
 * link and its dataplane. NULL ok. */
void rg_link_stop(rg_link *l, bool stop_proxy);

/* Whether this link started the proxy process it is attached to. */
bool rg_link_started_proxy(const rg_link *l);
/* The proxy process's pid, 0 when not attached. */
int rg_link_proxy_pid(const rg_link *l);

#endif
