/* dataplane_internal.h — what dataplane.c (start, stop, apply), pick.c (the
 * request path) and report.c (figures, JSON, Prometheus) share. Not an
 * interface for anything outside src/dataplane/. */
#ifndef RG_DATAPLANE_INTERNAL_H
#define RG_DATAPLANE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "dataplane/dataplane.h"
#include "proxy/proxy.h"
#include "proxy/routing.h"
#include "dataplane/shm.h"

/* A backend whose connect failed is skipped for this long. */
#define DP_DOWN_MS 1000

/* The three releases a route state names, in the order reports list them. */
enum { DP_STABLE, DP_CANARY, DP_STANDBY, DP_ROLES };

#define DP_TUNNEL_DRAIN_MS 10000  /* proxy.drain's default */

typedef struct dp_slab dp_slab;

/* One environment's proxy. Everything but `routable`, the router and the
 * slabs is the control plane's, under rg_dataplane.lock. In a controller
 * (a remote dataplane) router and proxy are NULL and st, slots and
 * routable are a copy of the proxy process's view, refreshed by dp_sync. */
typedef struct dp_proxy {
	const rg_env *env;
	rg_dataplane *dp;
	int idx;                      /* its index in dp->shm, -1 while not mapped */
	dp_shm_view *view;            /* scratch (owned): what is published, or read */
	rg_router *router;
	rg_proxy *proxy;
	/* false until a state with backends was applied, and again after a
	 * state without any: pick fails, the client gets a 503. */
	_Atomic bool routable;
	rg_route_state st;            /* the last state applied (zero before) */
	bool applied;                 /* st holds one */
	dp_slot slots[RG_PROXY_SLOTS];
	/* slots whose release is stable or canary in st: their tunnels live;
	 * when one stops being so its tunnels are retired (proxy.drain) */
	bool routed[RG_PROXY_SLOTS];
	/* The pick records' slabs (pick.c); the lock is taken only when a
	 * worker's free list runs dry. */
	dp_slab *slabs;
	pthread_mutex_t slabs_lock;
	/* remote only: the last state sent to the proxy process */
	bool sent;
	rg_route_state sent_st;
} dp_proxy;

struct rg_dataplane {
	const rg_config *cfg;
	pthread_mutex_t lock;         /* control-plane callers; never the request path */
	dp_proxy *proxies;
	size_t n;
	dp_shm *shm;                  /* owned; NULL in a controller not attached yet */
	/* A controller's: apply validates here, then hands the state to send
	 * (the link to the proxy process, link.h). */
	bool remote;
	rg_dataplane_send_fn send;
	void *send_ctx;
};

/* dataplane.c */
/* The dataplane and its proxies' fixed fields: no region, no thread. */
rg_err dp_new(const rg_config *cfg, rg_dataplane **out, rg_error *err);
dp_proxy *dp_find(rg_dataplane *dp, const char *env);
/* Splits a comma-separated backend list (copied into buf) into items, blanks
 * trimmed. Returns the count, or -1 for an empty item or more than max. */
int dp_split(const char *list, char *buf, size_t bufsize, const char **items, size_t max);
/* The version each role of st names, or NULL (a role is named by a version,
 * or by backends under an empty version). */
void dp_role_names(const rg_route_state *st, const char *names[DP_ROLES]);
const char *dp_role_backends(const rg_route_state *st, int role);

/* The plan of an apply: split, slots and table (dataplane.c). Used by the
 * remote apply to check a state exactly as the proxy will. */
rg_err dp_check_state(dp_proxy *x, const rg_route_state *st, rg_error *err);

/* remote.c: refreshes x's copy of the proxy process's view (a controller);
 * a no-op in the proxy's own process. Under dp->lock. */
void dp_sync(dp_proxy *x);
rg_err dp_remote_apply(dp_proxy *x, const rg_route_state *st, rg_error *err);
/* Whether a controller sent a state naming version that the proxy has not
 * shown yet (its figures are zero until then). */
bool dp_remote_pending(const dp_proxy *x, const char *version);

/* pick.c: the proxy's callbacks (ctx is the dp_proxy) */
int dp_pick(void *ctx, const rg_proxy_request *req, rg_proxy_target *out);
void dp_done(void *ctx, void *token, int status);
void dp_failed(void *ctx, void *token, rg_upstream_error kind);
/* Frees the records once the proxy's workers are joined. */
void dp_recs_free(dp_proxy *x);

/* report.c */
/* A slot's figures since its release was named: window_s 0 for all of
 * them, else the last window_s seconds (1..RG_STATS_WINDOW_SLOTS), clamped
 * to the seconds since the slot was assigned. */
rg_err dp_slot_figures(dp_proxy *x, int slot, int window_s, rg_stats_summary *out, rg_error *err);
/* What a slot holds right now, to be subtracted later (its baseline). */
void dp_slot_baseline(dp_proxy *x, int slot, int64_t *since_s, rg_stats_summary *total,
		      rg_stats_summary *second);

#endif
