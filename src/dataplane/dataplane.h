/* dataplane.h — the built-in proxies of every environment that has
 * `proxy: {listen: …}`: one rg_proxy (worker threads) and one rg_router
 * (routing table) per environment, started by serve beside the control
 * loop. The control plane tells it what to route (rg_route_state, the
 * persisted row of store.h); the data plane builds the immutable table and
 * publishes it with one atomic swap, and keeps per-release statistics.
 *
 * Statistics follow releases, not sides: each release named by the route
 * state (stable, canary, standby) owns one of the proxy's statistics slots
 * for as long as it is named, so a canary promoted to stable keeps its
 * figures, and a request is counted for the release whose table picked it.
 *
 * Threads: every function here is for the control-plane thread (the loop),
 * except that the proxies' workers call into it on the request path, where
 * it never locks or blocks. The dataplane borrows cfg, which must outlive it. */
#ifndef RG_DATAPLANE_H
#define RG_DATAPLANE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analysis/stats.h"
#include "config/config.h"
#include "store/store.h"
#include "util/err.h"

typedef struct rg_dataplane rg_dataplane;

/* A controller's dataplane hands each checked state to this (link.h: the
 * routing-table message to the proxy process). */
typedef rg_err (*rg_dataplane_send_fn)(void *ctx, const rg_route_state *st, rg_error *err);

/* How the proxy process starts its dataplane (rg_dataplane_start: both
 * NULL). shm_path: the statistics region (shm.h), NULL for anonymous
 * memory. listen_fds: NULL, or one listening socket per environment with a
 * proxy, in config order, inherited from the process that served before
 * (-1: bind). A region kept from an earlier proxy also gives back each
 * environment's last state, applied at once: traffic routes as before. */
typedef struct rg_dataplane_opts {
	const char *shm_path;
	const int *listen_fds;
} rg_dataplane_opts;

/* Starts a proxy for every environment of cfg with proxy_listen (threads,
 * timeouts, sticky source and balancing from its rg_env). Until the first
 * rg_dataplane_apply a proxy answers 503 with a JSON body. On failure
 * nothing is left running; the message names the environment and the
 * address ("environment 'prod': cannot listen on 127.0.0.1:8080: address in
 * use"). A config without proxies gives an empty dataplane (not NULL). */
rg_err rg_dataplane_start(const rg_config *cfg, rg_dataplane **out, rg_error *err);
rg_err rg_dataplane_start_with(const rg_config *cfg, const rg_dataplane_opts *o,
				rg_dataplane **out, rg_error *err);
/* Stops every proxy (in-flight requests end) and frees everything. NULL ok. */
void rg_dataplane_stop(rg_dataplane *dp);

/* The proxy process's: republishes every proxy's view (backends' in-flight
 * counts and down marks) for the controller to read. */
void rg_dataplane_publish(rg_dataplane *dp);
/* How many proxies, and proxy i's listening socket (a hand-over). */
size_t rg_dataplane_count(const rg_dataplane *dp);
int rg_dataplane_listen_fd(const rg_dataplane *dp, size_t i);
/* Every proxy drains (rg_proxy_drain): a successor accepts from now on. */
void rg_dataplane_drain(rg_dataplane *dp);
/* Client connections open on every proxy. */
long rg_dataplane_connections(const rg_dataplane *dp);
/* What the proxies of cfg are started with, hashed: a controller attaches
 * only to a proxy process started with the same. */
uint64_t rg_dataplane_fingerprint(const rg_config *cfg);

/* A controller's view of the proxy process: the same interface as a
 * dataplane, figures read from the region the proxy shares (read-only),
 * states checked here and handed to send. Until rg_dataplane_remote_map,
 * every release's figures are zero and the port is -1. */
rg_err rg_dataplane_remote(const rg_config *cfg, rg_dataplane_send_fn send, void *ctx,
			   rg_dataplane **out, rg_error *err);
/* (Re-)maps the region at path, e.g. after the proxy process restarted. */
rg_err rg_dataplane_remote_map(rg_dataplane *dp, const char *path, rg_error *err);
/* The last state sent for each environment, to send again to a new proxy
 * process: calls fn for each. */
void rg_dataplane_remote_each_sent(rg_dataplane *dp,
				   void (*fn)(void *ctx, const rg_route_state *st), void *ctx);

/* Whether env has a built-in proxy. */
bool rg_dataplane_serves(const rg_dataplane *dp, const char *env);
/* The port env's proxy listens on, or -1. */
int rg_dataplane_port(const rg_dataplane *dp, const char *env);

/* Builds the table of st (st->env names the proxy) and publishes it.
 * Backends of a side are balanced per the env's config; the sticky seed is
 * st->seed. Releases that st no longer names give up their statistics slot.
 * *swap_us (may be NULL) is the time the build and the atomic publish took.
 * RG_ENOTFOUND if env has no proxy; RG_EINVAL naming the bad backend
 * ("canary backend 'x:1' is not HOST:PORT (e.g. …)") — the old table stays. A
 * state with no backend at all is valid: the proxy answers 503 again. */
rg_err rg_dataplane_apply(rg_dataplane *dp, const rg_route_state *st, int64_t *swap_us,
			  rg_error *err);

/* One release's figures on env's proxy: window_s = 0 for everything since
 * it was last named by a route state, else the last window_s seconds
 * (1..RG_STATS_WINDOW_SLOTS). RG_ENOTFOUND if the release has no slot. */
rg_err rg_dataplane_release_stats(rg_dataplane *dp, const char *env, const char *version,
				  int window_s, rg_stats_summary *out, rg_error *err);

/* GET /api/v1/traffic?env= for an env with a proxy (*out owned by caller):
 * {"env","router":"proxy","listen","canary_weight","window_seconds",
 *  "releases":[{"version","side":"stable|canary|standby","share",
 *     "backends":[{"address","inflight","down"}],
 *     "total":SUMMARY,"window":SUMMARY}]}
 * SUMMARY = {"requests","responses":{"1xx".."5xx"},"upstream_errors":
 * {"connect","timeout","protocol"},"error_rate","latency_ms":{"p50","p95",
 * "p99","mean"}}. error_rate = (5xx + upstream errors) / requests, 0 when
 * there are none. RG_ENOTFOUND if env has no proxy. */
rg_err rg_dataplane_traffic_json(rg_dataplane *dp, const char *env, int window_s,
				 json_t **out, rg_error *err);

/* Appends the Prometheus exposition (format 0.0.4) of every proxy to the
 * malloc'd text *buf (*len bytes, NUL-terminated; *buf may be NULL):
 * rollguard_proxy_requests_total{env,release},
 * rollguard_proxy_responses_total{env,release,class},
 * rollguard_proxy_upstream_errors_total{env,release,kind},
 * rollguard_proxy_canary_weight{env} (gauge) and the histogram
 * rollguard_proxy_request_duration_seconds{env,release,le}. */
rg_err rg_dataplane_metrics(rg_dataplane *dp, char **buf, size_t *len, rg_error *err);

#endif
