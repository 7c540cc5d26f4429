/* shm.h — the data plane's shared memory: one region per dataplane with,
 * per environment, the routing state it applied, its statistics slots and
 * backends' state (a seqlocked block), and the workers' statistics shards.
 * The proxy process owns the region (a file STATE/proxy.shm, so a
 * controller that restarts maps the same figures again); the controller
 * maps it read-only and never writes it. Within a process (unit tests) the
 * region is anonymous memory.
 *
 * Shards come in two generations: a proxy process takes the one no live
 * process writes, so a successor (upgrade, restart after a crash) counts
 * on while its predecessor finishes its last requests, and readers sum
 * both. Counters never go backwards across a hand-over. */
#ifndef RG_DATAPLANE_SHM_H
#define RG_DATAPLANE_SHM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "analysis/stats.h"
#include "proxy/proxy.h"
#include "proxy/routing.h"
#include "store/store.h"
#include "util/err.h"

#define DP_SHM_VERSION 2   /* 2: backend lists of RG_BACKENDS_LEN 4096 */
#define DP_SHM_GENS 2
#define DP_SHM_MAX_BACKENDS (3 * RG_ROUTES_MAX_BACKENDS)
#define DP_SHM_ADDR_LEN 64

/* One statistics slot of a proxy and the release it counts for. A slot is
 * reused by later releases, so what it held before is remembered at the
 * moment it is assigned and subtracted from what it shows (report.c).
 * Plain data: it lives in the shared block. */
typedef struct dp_slot {
	bool named;                   /* a release owns it */
	char version[RG_VNAME_LEN];
	int64_t freed_ms;             /* last given up (rg_mono_ms); INT64_MIN: never used */
	int64_t since_s;              /* the monotonic second it was assigned */
	rg_stats_summary base_total;  /* whole-life figures at that moment */
	rg_stats_summary base_second; /* figures of second since_s at that moment */
} dp_slot;

typedef struct dp_shm_backend {
	char addr[DP_SHM_ADDR_LEN];
	int64_t inflight;
	bool down;
} dp_shm_backend;

/* What one environment's proxy shows, copied in and out whole. */
typedef struct dp_shm_view {
	bool applied;                 /* st holds a state (else the proxy never had one) */
	bool routable;
	int32_t port;
	rg_route_state st;
	dp_slot slots[RG_PROXY_SLOTS];
	uint32_t n_backends;
	dp_shm_backend backends[DP_SHM_MAX_BACKENDS];
} dp_shm_view;

typedef struct dp_shm dp_shm;

/* The proxy process: opens path (creating or re-initialising it when its
 * layout does not match n_envs environments of workers[i] threads each),
 * or anonymous memory when path is NULL. *fresh says whether the views
 * start empty (a file kept from an earlier proxy keeps its views). Takes
 * the shard generation no live process writes (gen_owner names it). */
rg_err dp_shm_create(const char *path, const char *const *envs, const unsigned *workers,
		     size_t n_envs, dp_shm **out, bool *fresh, rg_error *err);
/* The controller: maps path read-only. */
rg_err dp_shm_open(const char *path, dp_shm **out, rg_error *err);
/* Unmaps. NULL ok. */
void dp_shm_close(dp_shm *m);

size_t dp_shm_envs(const dp_shm *m);
/* Index of env, or -1. */
int dp_shm_find(const dp_shm *m, const char *env);
unsigned dp_shm_workers(const dp_shm *m, size_t i);
/* The shards the process that created m writes for env i: RG_PROXY_SLOTS *
 * workers, slot-major (rg_proxy_opts.shards). */
rg_stats_shard *const *dp_shm_own_shards(const dp_shm *m, size_t i);
/* Every shard of env i's slot (both generations): *n of them, for
 * rg_stats_snapshot and rg_stats_window. */
rg_stats_shard *const *dp_shm_slot_shards(const dp_shm *m, size_t i, int slot, size_t *n);

/* Seqlocked copies of env i's view: write is the proxy's (one thread),
 * read anyone's; a read retries while a write is under way. */
void dp_shm_write(dp_shm *m, size_t i, const dp_shm_view *v);
void dp_shm_read(const dp_shm *m, size_t i, dp_shm_view *out);

#endif
