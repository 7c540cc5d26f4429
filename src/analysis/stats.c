/* stats.c — per-release request statistics: single-writer shards of relaxed
 * atomics, merged by readers without locks; a ring of one-second slots for
 * the sliding window. Must never block, allocate or use a locked
 * instruction on the recording path. */
#include "analysis/stats.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>

#define RELAXED memory_order_relaxed

/* One set of figures. Only the shard's owner writes it, so every counter is
 * bumped with a load and a store: exact, and as cheap as a plain add. */
typedef struct cell {
	_Atomic uint64_t requests;
	_Atomic uint64_t responses[RG_STATS_CLASSES];
	_Atomic uint64_t upstream_errors[RG_UPSTREAM_KINDS];
	rg_hist latency;
} cell;

/* A slot's stamp is the second it holds, or one of two negative markers
 * that no window ever includes (windows start at second 0 or later). */
#define SLOT_EMPTY INT64_MIN
#define SLOT_RESETTING (INT64_MIN + 1)

typedef struct slot {
	_Atomic int64_t second;
	cell figures;
} slot;

struct rg_stats_shard {
	_Alignas(64) cell total;
	slot window[RG_STATS_WINDOW_SLOTS];
};

static void bump(_Atomic uint64_t *p)
{
	atomic_store_explicit(p, atomic_load_explicit(p, RELAXED) + 1, RELAXED);
}

static void cell_init(cell *c)
{
	atomic_init(&c->requests, 0);
	for (int i = 0; i < RG_STATS_CLASSES; i++)
		atomic_init(&c->responses[i], 0);
	for (int i = 0; i < RG_UPSTREAM_KINDS; i++)
		atomic_init(&c->upstream_errors[i], 0);
	rg_hist_init(&c->latency);
}

static void cell_zero(cell *c)
{
	atomic_store_explicit(&c->requests, 0, RELAXED);
	for (int i = 0; i < RG_STATS_CLASSES; i++)
		atomic_store_explicit(&c->responses[i], 0, RELAXED);
	for (int i = 0; i < RG_UPSTREAM_KINDS; i++)
		atomic_store_explicit(&c->upstream_errors[i], 0, RELAXED);
	rg_hist_reset(&c->latency);
}

/* requests is stored last with release, and read first with acquire (see
 * cell_add_into), so a reader never counts a request whose class and
 * latency it cannot see. On x86-64 both are plain moves. */
static void cell_record(cell *c, int status, uint64_t latency_us)
{
	rg_hist_record(&c->latency, latency_us);
	if (status >= 100 && status <= 599)
		bump(&c->responses[status / 100 - 1]);
	atomic_store_explicit(&c->requests, atomic_load_explicit(&c->requests, RELAXED) + 1,
			      memory_order_release);
}

static void cell_add_into(const cell *c, rg_stats_summary *into)
{
	into->requests += atomic_load_explicit(&c->requests, memory_order_acquire);
	for (int i = 0; i < RG_STATS_CLASSES; i++)
		into->responses[i] += atomic_load_explicit(&c->responses[i], RELAXED);
	for (int i = 0; i < RG_UPSTREAM_KINDS; i++)
		into->upstream_errors[i] += atomic_load_explicit(&c->upstream_errors[i], RELAXED);
	rg_hist_merge(&into->latency, &c->latency);
}

static void summary_clear(rg_stats_summary *s)
{
	s->requests = 0;
	for (int i = 0; i < RG_STATS_CLASSES; i++)
		s->responses[i] = 0;
	for (int i = 0; i < RG_UPSTREAM_KINDS; i++)
		s->upstream_errors[i] = 0;
	rg_hist_init(&s->latency);
}

static void summary_add(rg_stats_summary *into, const rg_stats_summary *s)
{
	into->requests += s->requests;
	for (int i = 0; i < RG_STATS_CLASSES; i++)
		into->responses[i] += s->responses[i];
	for (int i = 0; i < RG_UPSTREAM_KINDS; i++)
		into->upstream_errors[i] += s->upstream_errors[i];
	rg_hist_merge(&into->latency, &s->latency);
}

/* ---- arithmetic on summaries ----------------------------------------------

   A later reading minus an earlier one of the same shards is what happened
   between the two. Readers see the workers' counters a few records apart,
   so each difference saturates at zero rather than wrapping. */

static uint64_t minus(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

static void hist_sub(rg_hist *h, const rg_hist *base)
{
	uint64_t count = 0;
	for (size_t i = 0; i < RG_HIST_BUCKETS; i++) {
		uint64_t v = minus(atomic_load_explicit(&h->buckets[i], RELAXED),
				   atomic_load_explicit(&base->buckets[i], RELAXED));
		atomic_store_explicit(&h->buckets[i], v, RELAXED);
		count += v;
	}
	/* The count follows the buckets, which is what the quantiles use. */
	atomic_store_explicit(&h->count, count, RELAXED);
	uint64_t sum = minus(rg_hist_sum(h), rg_hist_sum(base));
	atomic_store_explicit(&h->sum, count ? sum : 0, RELAXED);
}

void rg_stats_summary_sub(rg_stats_summary *s, const rg_stats_summary *base)
{
	s->requests = minus(s->requests, base->requests);
	for (int i = 0; i < RG_STATS_CLASSES; i++)
		s->responses[i] = minus(s->responses[i], base->responses[i]);
	for (int i = 0; i < RG_UPSTREAM_KINDS; i++)
		s->upstream_errors[i] = minus(s->upstream_errors[i], base->upstream_errors[i]);
	hist_sub(&s->latency, &base->latency);
}

double rg_stats_error_rate(const rg_stats_summary *s)
{
	uint64_t bad = s->responses[4];
	for (int i = 0; i < RG_UPSTREAM_KINDS; i++)
		bad += s->upstream_errors[i];
	return s->requests ? (double)bad / (double)s->requests : 0.0;
}

rg_stats_shard *rg_stats_shard_init(void *mem)
{
	rg_stats_shard *s = mem;
	cell_init(&s->total);
	for (int i = 0; i < RG_STATS_WINDOW_SLOTS; i++) {
		atomic_init(&s->window[i].second, SLOT_EMPTY);
		cell_init(&s->window[i].figures);
	}
	return s;
}

rg_err rg_stats_shard_new(rg_stats_shard **out, rg_error *err)
{
	void *mem = aligned_alloc(_Alignof(rg_stats_shard), sizeof(rg_stats_shard));
	if (!mem)
		return rg_fail(err, RG_ENOMEM, NULL, "cannot allocate %zu bytes of statistics",
			       sizeof(rg_stats_shard));
	*out = rg_stats_shard_init(mem);
	return RG_OK;
}

void rg_stats_shard_free(rg_stats_shard *s)
{
	free(s);
}

size_t rg_stats_shard_size(void)
{
	return sizeof(rg_stats_shard);
}

/* The window's slot for now_s, made current first if it still holds an
 * older second. The reset is a seqlock write: the stamp becomes
 * SLOT_RESETTING, then (after a release fence) the figures are zeroed, then
 * the new second is stamped with release. A reader that saw the old stamp
 * and then reads any value written after the fence is guaranteed (fence to
 * fence) to see a different stamp when it checks again — see slot_add_into.
 * NULL when now_s is negative or older than the slot: time went backwards,
 * and the newer second it holds must not be wiped. */
static cell *current_slot(rg_stats_shard *s, int64_t now_s)
{
	if (now_s < 0)
		return NULL;
	slot *sl = &s->window[now_s % RG_STATS_WINDOW_SLOTS];
	int64_t stamp = atomic_load_explicit(&sl->second, RELAXED);
	if (stamp == now_s)
		return &sl->figures;
	if (stamp > now_s)
		return NULL;
	atomic_store_explicit(&sl->second, SLOT_RESETTING, RELAXED);
	atomic_thread_fence(memory_order_release);
	cell_zero(&sl->figures);
	atomic_store_explicit(&sl->second, now_s, memory_order_release);
	return &sl->figures;
}

void rg_stats_record(rg_stats_shard *s, int64_t now_s, int status, uint64_t latency_us)
{
	cell_record(&s->total, status, latency_us);
	cell *c = current_slot(s, now_s);
	if (c)
		cell_record(c, status, latency_us);
}

void rg_stats_upstream_error(rg_stats_shard *s, int64_t now_s, rg_upstream_error kind)
{
	assert((unsigned)kind < RG_UPSTREAM_KINDS);
	bump(&s->total.upstream_errors[kind]);
	cell *c = current_slot(s, now_s);
	if (c)
		bump(&c->upstream_errors[kind]);
}

void rg_stats_snapshot(rg_stats_shard *const shards[], size_t n, rg_stats_summary *out)
{
	summary_clear(out);
	for (size_t i = 0; i < n; i++)
		cell_add_into(&shards[i]->total, out);
}

/* The seqlock read. The figures are copied into tmp between two reads of
 * the stamp; if the stamp changed, a writer reset the slot meanwhile and tmp
 * may mix the old second with the new one, so it is thrown away and the
 * slot read again under its new stamp (which a window may or may not
 * include). With time moving forwards a writer resets a given slot once
 * every RG_STATS_WINDOW_SLOTS seconds, so a second failure means this
 * reader stalled for about a minute between two loads; the slot then counts
 * as empty. That is the one approximation, and it can only undercount. */
static void slot_add_into(const slot *sl, int64_t first, int64_t last, rg_stats_summary *tmp,
			  rg_stats_summary *into)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		int64_t stamp = atomic_load_explicit(&sl->second, memory_order_acquire);
		if (stamp < first || stamp > last)
			return;
		summary_clear(tmp);
		cell_add_into(&sl->figures, tmp);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&sl->second, RELAXED) == stamp) {
			summary_add(into, tmp);
			return;
		}
	}
}

rg_err rg_stats_window(rg_stats_shard *const shards[], size_t n, int64_t now_s, int window_s,
		       rg_stats_summary *out, rg_error *err)
{
	if (window_s < 1 || window_s > RG_STATS_WINDOW_SLOTS)
		return rg_fail(err, RG_EINVAL, "window", "window of %d s is outside 1..%d s",
			       window_s, RG_STATS_WINDOW_SLOTS);
	if (now_s < 0)
		return rg_fail(err, RG_EINVAL, "now", "negative time %lld s", (long long)now_s);
	summary_clear(out);
	rg_stats_summary tmp;
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < RG_STATS_WINDOW_SLOTS; j++)
			slot_add_into(&shards[i]->window[j], now_s - window_s + 1, now_s, &tmp, out);
	return RG_OK;
}
