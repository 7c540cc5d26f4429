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

/* A backend whose connect failed is skipped for this long. */
#define DP_DOWN_MS 1000

/* The three releases a route state names, in the order reports list them. */
enum { DP_STABLE, DP_CANARY, DP_STANDBY, DP_ROLES };

/* One statistics slot of a proxy and the release it counts for. A slot is
 * reused by later releases, so what it held before is remembered at the
 * moment it is assigned and subtracted from what it shows (report.c). */
typedef struct dp_slot {
	bool named;                   /* a release owns it */
	char version[RG_VNAME_LEN];
	int64_t freed_ms;             /* last given up (rg_mono_ms); INT64_MIN: never used */
	int64_t since_s;              /* the monotonic second it was assigned */
	rg_stats_summary base_total;  /* whole-life figures at that moment */
	rg_stats_summary base_second; /* figures of second since_s at that moment */
} dp_slot;

typedef struct dp_slab dp_slab;

/* One environment's proxy. Everything but `routable`, the router and the
 * slabs is the control plane's, under rg_dataplane.lock. */
typedef struct dp_proxy {
	const rg_env *env;
	rg_router *router;
	rg_proxy *proxy;
	/* false until a state with backends was applied, and again after a
	 * state without any: pick fails, the client gets a 503. */
	_Atomic bool routable;
	rg_route_state st;            /* the last state applied (zero before) */
	dp_slot slots[RG_PROXY_SLOTS];
	/* The pick records' slabs (pick.c); the lock is taken only when a
	 * worker's free list runs dry. */
	dp_slab *slabs;
	pthread_mutex_t slabs_lock;
} dp_proxy;

struct rg_dataplane {
	const rg_config *cfg;
	pthread_mutex_t lock;         /* control-plane callers; never the request path */
	dp_proxy *proxies;
	size_t n;
};

/* dataplane.c */
dp_proxy *dp_find(rg_dataplane *dp, const char *env);
/* Splits a comma-separated backend list (copied into buf) into items, blanks
 * trimmed. Returns the count, or -1 for an empty item or more than max. */
int dp_split(const char *list, char *buf, size_t bufsize, const char **items, size_t max);
/* The version each role of st names, or NULL (a role is named by a version,
 * or by backends under an empty version). */
void dp_role_names(const rg_route_state *st, const char *names[DP_ROLES]);
const char *dp_role_backends(const rg_route_state *st, int role);

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
