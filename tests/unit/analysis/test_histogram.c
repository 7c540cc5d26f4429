/* test_histogram.c — the log-linear histogram: its bucket layout, the error
 * bound against exact quantiles of seeded random data, merging, edges. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "analysis/histogram.h"

/* splitmix64: a seeded generator, so every run sees the same data. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static double rng_unit(void) /* (0, 1] */
{
	return ((double)(rng_next() >> 11) + 1.0) / 9007199254740992.0;
}

static double rng_normal(void)
{
	return sqrt(-2.0 * log(rng_unit())) * cos(2.0 * M_PI * rng_unit());
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static rg_hist h;

static void setup(void)
{
	rg_hist_init(&h);
}

TestSuite(hist_layout, .init = setup);
TestSuite(hist_quantile, .init = setup);
TestSuite(hist_merge, .init = setup);
TestSuite(hist_edges, .init = setup);

Test(hist_layout, buckets_are_contiguous_and_at_most_a_sixteenth_wide)
{
	/* One value at the lower bound of every bucket: 0..31, then 16 per
	 * further power of two. */
	for (uint64_t v = 0; v < 32; v++)
		rg_hist_record(&h, v);
	for (unsigned e = 5; e < RG_HIST_MAX_BITS; e++)
		for (uint64_t sub = 0; sub < 16; sub++)
			rg_hist_record(&h, (16 + sub) << (e - 4));
	rg_hist_iter it;
	rg_hist_iter_init(&it);
	size_t n = 0;
	uint64_t expect_lower = 0;
	while (rg_hist_next(&h, &it)) {
		cr_assert_eq(it.count, 1, "bucket %zu holds one value", n);
		cr_assert_eq(it.lower, expect_lower, "bucket %zu starts where the last ended", n);
		cr_assert_geq(it.upper, it.lower);
		uint64_t width = it.upper - it.lower + 1;
		cr_assert(width == 1 || width * 16 <= it.lower, "bucket %zu: [%llu, %llu] too wide",
			  n, (unsigned long long)it.lower, (unsigned long long)it.upper);
		cr_assert_eq(it.cumulative, n + 1);
		expect_lower = it.upper + 1;
		n++;
	}
	cr_assert_eq(n, RG_HIST_BUCKETS);
	cr_assert_eq(expect_lower - 1, RG_HIST_MAX, "the top bucket ends at RG_HIST_MAX");
	cr_assert_geq(RG_HIST_MAX, UINT64_C(3600) * 1000000, "covers at least an hour");
}

/* Every value lands in the bucket whose bounds contain it. */
static void check_value_in_its_bucket(uint64_t v)
{
	rg_hist_reset(&h);
	rg_hist_record(&h, v);
	rg_hist_iter it;
	rg_hist_iter_init(&it);
	cr_assert(rg_hist_next(&h, &it));
	cr_assert(it.lower <= v && v <= it.upper, "%llu outside [%llu, %llu]",
		  (unsigned long long)v, (unsigned long long)it.lower,
		  (unsigned long long)it.upper);
	cr_assert_not(rg_hist_next(&h, &it), "exactly one non-empty bucket");
}

Test(hist_layout, every_value_lands_in_the_bucket_that_contains_it)
{
	for (uint64_t v = 0; v < 5000; v++)
		check_value_in_its_bucket(v);
	for (unsigned e = 1; e < RG_HIST_MAX_BITS; e++) {
		check_value_in_its_bucket((UINT64_C(1) << e) - 1);
		check_value_in_its_bucket(UINT64_C(1) << e);
		check_value_in_its_bucket((UINT64_C(1) << e) + 1);
	}
	rng_state = 7;
	for (int i = 0; i < 20000; i++)
		check_value_in_its_bucket(rng_next() & RG_HIST_MAX);
}

/* The documented bound is 1/32 (the midpoint of a bucket at most 1/16
 * wide); checked against exact nearest-rank quantiles. */
static void check_quantiles(uint64_t *values, size_t n, const char *name)
{
	static const double qs[] = { 0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9,
				     0.95, 0.99, 0.999, 0.9999, 1 };
	for (size_t i = 0; i < n; i++)
		rg_hist_record(&h, values[i]);
	qsort(values, n, sizeof *values, cmp_u64);
	cr_assert_eq(rg_hist_count(&h), n);
	for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
		double r = ceil(qs[i] * (double)n);
		size_t rank = r < 1 ? 1 : (size_t)r;
		uint64_t exact = values[rank - 1];
		uint64_t got = rg_hist_quantile(&h, qs[i]);
		uint64_t diff = got > exact ? got - exact : exact - got;
		cr_assert(diff * 32 <= exact, "%s q=%g: got %llu, exact %llu (error %.3f %%)", name,
			  qs[i], (unsigned long long)got, (unsigned long long)exact,
			  100.0 * (double)diff / (double)exact);
	}
}

#define N_RANDOM 200000

Test(hist_quantile, uniform_within_bound)
{
	uint64_t *v = malloc(N_RANDOM * sizeof *v);
	rng_state = 1;
	for (size_t i = 0; i < N_RANDOM; i++)
		v[i] = 1 + rng_next() % 2000000; /* 1 µs .. 2 s */
	check_quantiles(v, N_RANDOM, "uniform");
	free(v);
}

Test(hist_quantile, lognormal_within_bound)
{
	uint64_t *v = malloc(N_RANDOM * sizeof *v);
	rng_state = 2;
	for (size_t i = 0; i < N_RANDOM; i++) /* median 20 ms, long tail */
		v[i] = (uint64_t)(exp(log(20000.0) + 1.2 * rng_normal())) + 1;
	check_quantiles(v, N_RANDOM, "lognormal");
	free(v);
}

Test(hist_quantile, bimodal_within_bound)
{
	uint64_t *v = malloc(N_RANDOM * sizeof *v);
	rng_state = 3;
	for (size_t i = 0; i < N_RANDOM; i++) { /* 90 % cache hits ~2 ms, 10 % ~800 ms */
		double mean = rng_next() % 10 ? 2000.0 : 800000.0;
		double x = mean * (1.0 + 0.2 * rng_normal());
		v[i] = x < 1 ? 1 : (uint64_t)x;
	}
	check_quantiles(v, N_RANDOM, "bimodal");
	free(v);
}

Test(hist_quantile, small_values_are_exact)
{
	for (uint64_t v = 0; v < 32; v++)
		rg_hist_record(&h, v);
	for (uint64_t v = 0; v < 32; v++)
		cr_assert_eq(rg_hist_quantile(&h, (double)(v + 1) / 32.0), v);
}

Test(hist_quantile, q_is_clamped)
{
	rg_hist_record(&h, 100);
	rg_hist_record(&h, 100000);
	cr_assert_eq(rg_hist_quantile(&h, -1), rg_hist_quantile(&h, 0));
	cr_assert_eq(rg_hist_quantile(&h, NAN), rg_hist_quantile(&h, 0));
	cr_assert_eq(rg_hist_quantile(&h, 2), rg_hist_quantile(&h, 1));
	uint64_t low = rg_hist_quantile(&h, 0), top = rg_hist_quantile(&h, 1);
	cr_assert(low * 32 >= 100 * 31 && low * 32 <= 100 * 33, "got %llu", (unsigned long long)low);
	cr_assert(top * 32 >= 100000 * 31 && top * 32 <= 100000 * 33);
}

static void assert_same(const rg_hist *a, const rg_hist *b)
{
	cr_assert_eq(rg_hist_count(a), rg_hist_count(b));
	cr_assert_eq(rg_hist_sum(a), rg_hist_sum(b));
	for (size_t i = 0; i < RG_HIST_BUCKETS; i++)
		cr_assert_eq(atomic_load(&a->buckets[i]), atomic_load(&b->buckets[i]),
			     "bucket %zu", i);
}

Test(hist_merge, merge_equals_recording_into_one)
{
	static rg_hist parts[3], merged, one;
	for (int i = 0; i < 3; i++)
		rg_hist_init(&parts[i]);
	rg_hist_init(&merged);
	rg_hist_init(&one);
	rng_state = 4;
	for (int i = 0; i < 100000; i++) {
		uint64_t v = rng_next() % (i % 2 ? 5000 : 50000000);
		rg_hist_record(&parts[i % 3], v);
		rg_hist_record(&one, v);
	}
	for (int i = 0; i < 3; i++)
		rg_hist_merge(&merged, &parts[i]);
	assert_same(&merged, &one);
	for (double q = 0; q <= 1; q += 0.01)
		cr_assert_eq(rg_hist_quantile(&merged, q), rg_hist_quantile(&one, q));
	rg_hist_merge(&merged, &h); /* merging an empty histogram changes nothing */
	assert_same(&merged, &one);
}

Test(hist_edges, empty)
{
	cr_assert_eq(rg_hist_count(&h), 0);
	cr_assert_eq(rg_hist_sum(&h), 0);
	cr_assert_eq(rg_hist_mean(&h), 0.0);
	cr_assert_eq(rg_hist_quantile(&h, 0.5), 0);
	rg_hist_iter it;
	rg_hist_iter_init(&it);
	cr_assert_not(rg_hist_next(&h, &it));
	cr_assert_not(rg_hist_next(&h, &it), "stays done");
}

Test(hist_edges, zero_and_one)
{
	rg_hist_record(&h, 0);
	cr_assert_eq(rg_hist_quantile(&h, 1), 0);
	rg_hist_record(&h, 1);
	cr_assert_eq(rg_hist_quantile(&h, 0.5), 0);
	cr_assert_eq(rg_hist_quantile(&h, 1), 1);
	cr_assert_eq(rg_hist_count(&h), 2);
	cr_assert_eq(rg_hist_sum(&h), 1);
	rg_hist_iter it;
	rg_hist_iter_init(&it);
	cr_assert(rg_hist_next(&h, &it));
	cr_assert(it.lower == 0 && it.upper == 0 && it.count == 1);
	cr_assert(rg_hist_next(&h, &it));
	cr_assert(it.lower == 1 && it.upper == 1 && it.cumulative == 2);
}

Test(hist_edges, values_above_max_clamp_into_the_top_bucket)
{
	rg_hist_record(&h, RG_HIST_MAX);
	rg_hist_record(&h, RG_HIST_MAX + 1);
	rg_hist_record(&h, UINT64_MAX);
	cr_assert_eq(rg_hist_count(&h), 3);
	cr_assert_eq(rg_hist_sum(&h), 3 * RG_HIST_MAX, "sum of the clamped values: no overflow");
	rg_hist_iter it;
	rg_hist_iter_init(&it);
	cr_assert(rg_hist_next(&h, &it));
	cr_assert_eq(it.upper, RG_HIST_MAX);
	cr_assert_eq(it.count, 3);
	cr_assert_not(rg_hist_next(&h, &it));
	uint64_t q = rg_hist_quantile(&h, 0.5);
	cr_assert(q >= it.lower && q <= RG_HIST_MAX);
}

Test(hist_edges, sum_mean_and_reset)
{
	rg_hist_record(&h, 10);
	rg_hist_record(&h, 20);
	rg_hist_record(&h, 30);
	cr_assert_eq(rg_hist_sum(&h), 60);
	cr_assert_float_eq(rg_hist_mean(&h), 20.0, 1e-9);
	rg_hist_reset(&h);
	cr_assert_eq(rg_hist_count(&h), 0);
	cr_assert_eq(rg_hist_sum(&h), 0);
	cr_assert_eq(rg_hist_quantile(&h, 1), 0);
}
