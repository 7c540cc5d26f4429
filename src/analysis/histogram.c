/* histogram.c — log-linear latency histogram: bucket index arithmetic,
 * recording, merging and nearest-rank quantiles. Must never allocate or take
 * a lock: rg_hist_record runs on every proxied request. */
#include "analysis/histogram.h"

#include <math.h>

/* 64-bit atomics must be plain loads and stores, or "lock-free reads of a
 * counter another thread writes" would quietly become a hidden mutex. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
_Static_assert(sizeof(unsigned long long) == sizeof(uint64_t), "uint64_t is long long sized");

#define RELAXED memory_order_relaxed

/* Index of the bucket holding v (v <= RG_HIST_MAX). With e = floor(log2 v)
 * and shift s = max(0, e - 4), v >> s lies in [16, 32) once v >= 16, so
 * index = 16·s + (v >> s): 0..31 map to themselves, and each further power
 * of two adds 16 buckets of width 2^s. */
static size_t bucket_of(uint64_t v)
{
	if (v < 2 * RG_HIST_SUB_BUCKETS)
		return (size_t)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v);
	unsigned s = e - 4;
	return (size_t)(RG_HIST_SUB_BUCKETS * s + (v >> s));
}

/* Inverse of bucket_of: the bucket's lowest value and its width. */
static uint64_t bucket_lower(size_t i, uint64_t *width)
{
	unsigned s = i < RG_HIST_SUB_BUCKETS ? 0 : (unsigned)(i / RG_HIST_SUB_BUCKETS) - 1;
	*width = UINT64_C(1) << s;
	return (uint64_t)(i - RG_HIST_SUB_BUCKETS * s) << s;
}

static uint64_t load(const _Atomic uint64_t *p)
{
	return atomic_load_explicit(p, RELAXED);
}

/* Only the single writer calls this, so load + store is an exact increment
 * without a locked read-modify-write. */
static void add(_Atomic uint64_t *p, uint64_t n)
{
	atomic_store_explicit(p, atomic_load_explicit(p, RELAXED) + n, RELAXED);
}

void rg_hist_init(rg_hist *h)
{
	atomic_init(&h->count, 0);
	atomic_init(&h->sum, 0);
	for (size_t i = 0; i < RG_HIST_BUCKETS; i++)
		atomic_init(&h->buckets[i], 0);
}

void rg_hist_reset(rg_hist *h)
{
	atomic_store_explicit(&h->count, 0, RELAXED);
	atomic_store_explicit(&h->sum, 0, RELAXED);
	for (size_t i = 0; i < RG_HIST_BUCKETS; i++)
		atomic_store_explicit(&h->buckets[i], 0, RELAXED);
}

void rg_hist_record(rg_hist *h, uint64_t value_us)
{
	uint64_t v = value_us > RG_HIST_MAX ? RG_HIST_MAX : value_us;
	add(&h->buckets[bucket_of(v)], 1);
	add(&h->sum, v);
	add(&h->count, 1);
}

void rg_hist_merge(rg_hist *dst, const rg_hist *src)
{
	for (size_t i = 0; i < RG_HIST_BUCKETS; i++) {
		uint64_t n = load(&src->buckets[i]);
		if (n)
			add(&dst->buckets[i], n);
	}
	add(&dst->sum, load(&src->sum));
	add(&dst->count, load(&src->count));
}

uint64_t rg_hist_count(const rg_hist *h)
{
	return load(&h->count);
}

uint64_t rg_hist_sum(const rg_hist *h)
{
	return load(&h->sum);
}

double rg_hist_mean(const rg_hist *h)
{
	uint64_t n = load(&h->count);
	return n ? (double)load(&h->sum) / (double)n : 0.0;
}

/* The midpoint keeps the error symmetric: a value v in [lower, lower+w)
 * is at most w/2 from lower + w/2, and v >= lower >= 16·w once w > 1, so the
 * relative error is at most 1/32. (The upper bound would be at most 1/16
 * and always high.) */
static uint64_t representative(size_t i)
{
	uint64_t w;
	uint64_t lo = bucket_lower(i, &w);
	return lo + w / 2;
}

uint64_t rg_hist_quantile(const rg_hist *h, double q)
{
	/* Total from the buckets themselves, not h->count, so a concurrent
	 * writer cannot make the rank point past the data we walk. */
	uint64_t total = 0;
	for (size_t i = 0; i < RG_HIST_BUCKETS; i++)
		total += load(&h->buckets[i]);
	if (total == 0)
		return 0;
	if (!(q > 0))
		q = 0;
	if (q > 1)
		q = 1;
	double r = ceil(q * (double)total);
	uint64_t rank = r < 1 ? 1 : r >= (double)total ? total : (uint64_t)r;
	uint64_t seen = 0;
	size_t last = 0;
	for (size_t i = 0; i < RG_HIST_BUCKETS; i++) {
		uint64_t n = load(&h->buckets[i]);
		if (!n)
			continue;
		last = i;
		seen += n;
		if (seen >= rank)
			return representative(i);
	}
	return representative(last); /* only if a writer reset h meanwhile */
}

void rg_hist_iter_init(rg_hist_iter *it)
{
	*it = (rg_hist_iter){ 0 };
}

bool rg_hist_next(const rg_hist *h, rg_hist_iter *it)
{
	for (size_t i = it->next; i < RG_HIST_BUCKETS; i++) {
		uint64_t n = load(&h->buckets[i]);
		if (!n)
			continue;
		uint64_t w;
		it->next = i + 1;
		it->lower = bucket_lower(i, &w);
		it->upper = it->lower + (w - 1);
		it->count = n;
		it->cumulative += n;
		return true;
	}
	it->next = RG_HIST_BUCKETS;
	return false;
}
