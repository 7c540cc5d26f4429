/* stats.h — per-release request statistics of the data plane.
 * Each proxy worker thread records into its own shard without locks or
 * locked instructions; the control plane merges shards into summaries
 * (whole life, or a sliding window of the last seconds). Must never block
 * or allocate on the recording path. */
#ifndef RG_ANALYSIS_STATS_H
#define RG_ANALYSIS_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/histogram.h"
#include "util/err.h"

/* The window is a ring of this many one-second slots: windowed figures
 * cover at most the last RG_STATS_WINDOW_SLOTS seconds. */
#define RG_STATS_WINDOW_SLOTS 60

/* Response classes 1xx..5xx: responses[status / 100 - 1]. */
#define RG_STATS_CLASSES 5

/* Why a request to an upstream failed (each attempt counts once, so a
 * request retried on another backend may add several). */
typedef enum rg_upstream_error {
	RG_UPSTREAM_CONNECT,  /* refused, unreachable, connect timeout */
	RG_UPSTREAM_TIMEOUT,  /* response header or idle timeout */
	RG_UPSTREAM_PROTOCOL, /* reset, early close, invalid response */
	RG_UPSTREAM_KINDS
} rg_upstream_error;

/* One worker thread's figures for one release side. Opaque; about 227 KiB
 * (rg_stats_shard_size()): the whole-life cell plus 60 window slots, each a
 * histogram (3.7 KiB) and 9 counters. Cache-line aligned, so shards of
 * different threads never share a line. */
typedef struct rg_stats_shard rg_stats_shard;

/* A merged view: plain data owned by the caller (3.8 KiB; the stack is
 * fine). requests counts finished requests whatever their outcome. */
typedef struct rg_stats_summary {
	uint64_t requests;
	uint64_t responses[RG_STATS_CLASSES];
	uint64_t upstream_errors[RG_UPSTREAM_KINDS];
	rg_hist latency;  /* µs, one value per recorded request */
} rg_stats_summary;

/* *out is owned by the caller and freed with rg_stats_shard_free (which
 * takes NULL). RG_ENOMEM if it cannot be allocated. Create shards before
 * the workers start; free them after the last reader and writer are done. */
rg_err rg_stats_shard_new(rg_stats_shard **out, rg_error *err);
void rg_stats_shard_free(rg_stats_shard *s);
size_t rg_stats_shard_size(void);
/* Makes rg_stats_shard_size() bytes at mem (64-byte aligned, the caller's,
 * e.g. memory shared with another process) an empty shard, and returns it.
 * A shard holds no pointer, so another process may map and read it. */
rg_stats_shard *rg_stats_shard_init(void *mem);

/* Recording: only the shard's owner thread may call these. now_s is the
 * caller's clock in whole seconds (CLOCK_MONOTONIC; >= 0 and not going
 * backwards per shard) — passed in so tests can drive time. A record whose
 * now_s is negative or older than its slot counts in the whole-life figures
 * only.
 * rg_stats_record: one finished request, with the status the client got
 * (including the proxy's own 502/504; a status outside 100..599 counts in
 * requests only) and its latency in µs. */
void rg_stats_record(rg_stats_shard *s, int64_t now_s, int status, uint64_t latency_us);
void rg_stats_upstream_error(rg_stats_shard *s, int64_t now_s, rg_upstream_error kind);

/* Reading: any thread, any time, concurrently with the writers. The shards
 * are only read. *out is overwritten.
 * rg_stats_snapshot: the whole-life figures of n shards summed. Each
 * counter read from the same shards never decreases from one snapshot to
 * the next; within one snapshot a counter may run a few records ahead of
 * another, but a request is never seen before its response class and
 * latency are.
 * rg_stats_window: the same for the seconds [now_s - window_s + 1, now_s]
 * (the current second is partial). RG_EINVAL unless
 * 1 <= window_s <= RG_STATS_WINDOW_SLOTS and now_s >= 0. A slot a writer is
 * resetting for a new second at the moment it is read is detected and read
 * again, so a window never mixes two seconds' figures; see stats.c. */
void rg_stats_snapshot(rg_stats_shard *const shards[], size_t n, rg_stats_summary *out);
rg_err rg_stats_window(rg_stats_shard *const shards[], size_t n, int64_t now_s, int window_s,
		       rg_stats_summary *out, rg_error *err);

/* s -= base, each counter and histogram bucket saturating at zero: the
 * figures between an earlier reading (base) and a later one (s) of the same
 * shards. */
void rg_stats_summary_sub(rg_stats_summary *s, const rg_stats_summary *base);
/* (5xx answers + upstream errors) / requests; 0 when there are none. */
double rg_stats_error_rate(const rg_stats_summary *s);

#endif
