/* histogram.h — log-linear latency histogram (HdrHistogram-style), values in µs.
 * 16 sub-buckets per power of two: 464 fixed counters, no allocation, and a
 * quantile within 1/32 (never worse than 1/16) of the exact one. Must never
 * allocate or lock: it sits on the proxy's request path. */
#ifndef RG_ANALYSIS_HISTOGRAM_H
#define RG_ANALYSIS_HISTOGRAM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Layout (see docs/analysis.md): values 0..31 get a bucket each; above that
 * each power of two [2^e, 2^(e+1)) is cut into 16 equal buckets of width
 * 2^(e-4). Values above RG_HIST_MAX (2^32-1 µs, 71.6 minutes) are counted in
 * the top bucket, as if they were RG_HIST_MAX. */
#define RG_HIST_SUB_BUCKETS 16
#define RG_HIST_MAX_BITS 32
#define RG_HIST_MAX ((UINT64_C(1) << RG_HIST_MAX_BITS) - 1)
#define RG_HIST_BUCKETS ((RG_HIST_MAX_BITS - 3) * RG_HIST_SUB_BUCKETS) /* 464 */

/* Concurrency: a histogram has one writer at a time (record, merge into,
 * reset) and any number of concurrent readers on other threads. Every field
 * is a relaxed atomic, so a reader never sees a torn 64-bit value, and the
 * single writer updates with a plain load + store (no locked instruction).
 * A concurrent reader may see count, sum and the buckets a few records
 * apart; quantiles use the buckets only, so they are self-consistent.
 * The struct is plain data: embed it or put it on the stack (3.7 KiB). */
typedef struct rg_hist {
	_Atomic uint64_t count;
	_Atomic uint64_t sum;          /* of recorded values after clamping */
	_Atomic uint64_t buckets[RG_HIST_BUCKETS];
} rg_hist;

void rg_hist_init(rg_hist *h);                 /* all zero; no allocation */
void rg_hist_reset(rg_hist *h);                /* same, for a used histogram */
void rg_hist_record(rg_hist *h, uint64_t value_us);
/* dst += src. dst is written (its single writer's call); src is only read
 * and may be recorded into concurrently by its own writer. */
void rg_hist_merge(rg_hist *dst, const rg_hist *src);

uint64_t rg_hist_count(const rg_hist *h);
uint64_t rg_hist_sum(const rg_hist *h);        /* µs */
double rg_hist_mean(const rg_hist *h);         /* µs; 0 when empty */

/* The value at quantile q (0..1, clamped; NaN is 0) by nearest rank: the
 * bucket holding the ceil(q·n)-th smallest value (at least the 1st), and
 * from it its midpoint lower + width/2. For values up to RG_HIST_MAX the
 * result is within 1/32 (3.125 %) of the exact nearest-rank quantile, and
 * exact below 32 µs. 0 when the histogram is empty. */
uint64_t rg_hist_quantile(const rg_hist *h, double q);

/* Iteration over the non-empty buckets in increasing order, for Prometheus
 * exposition: `rg_hist_iter it; rg_hist_iter_init(&it);
 * while (rg_hist_next(h, &it)) … it.upper, it.cumulative …`. upper is the
 * bucket's inclusive upper bound (every value counted in it is <= upper;
 * the top bucket's upper is RG_HIST_MAX, clamped values included). */
typedef struct rg_hist_iter {
	size_t next;          /* private: the bucket index to look at next */
	uint64_t lower;       /* inclusive lower bound, µs */
	uint64_t upper;       /* inclusive upper bound, µs */
	uint64_t count;       /* values in this bucket */
	uint64_t cumulative;  /* values in this and every lower bucket */
} rg_hist_iter;

void rg_hist_iter_init(rg_hist_iter *it);
bool rg_hist_next(const rg_hist *h, rg_hist_iter *it);

#endif
