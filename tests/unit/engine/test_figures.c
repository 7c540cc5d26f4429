/* test_figures.c — the sampler's arithmetic (engine/figures.h): a sample is
 * what happened between two whole-life readings of a release — its rate,
 * its error rate (5xx and upstream errors) and its latency quantiles of
 * those requests only — and a reading lower than the last never wraps. */
#include <criterion/criterion.h>
#include <string.h>

#include "analysis/stats.h"
#include "engine/figures.h"

static rg_stats_shard *shard;
static rg_stats_summary before, after;

static void setup(void)
{
	cr_assert_eq(rg_stats_shard_new(&shard, NULL), RG_OK);
}

static void teardown(void)
{
	rg_stats_shard_free(shard);
}

TestSuite(engine_figures, .init = setup, .fini = teardown);

static void read_into(rg_stats_summary *out)
{
	rg_stats_shard *const shards[] = { shard };
	rg_stats_snapshot(shards, 1, out);
}

Test(engine_figures, the_interval_between_two_readings)
{
	/* before: 100 fast requests, all fine */
	for (int i = 0; i < 100; i++)
		rg_stats_record(shard, 1, 200, 1000);
	read_into(&before);
	/* then, in 2 s: 40 slow requests, 10 of them 500s, and 2 upstream errors */
	for (int i = 0; i < 40; i++)
		rg_stats_record(shard, 2, i < 10 ? 500 : 200, 50000);
	rg_stats_upstream_error(shard, 2, RG_UPSTREAM_CONNECT);
	rg_stats_upstream_error(shard, 2, RG_UPSTREAM_TIMEOUT);
	read_into(&after);
	rg_figure f;
	memset(&f, 0, sizeof f);
	rg_figures_between(&before, &after, 2000, &f);
	cr_assert_eq(f.requests, 140, "requests count the release's whole life");
	cr_assert_float_eq(f.rps, 20.0, 1e-9);
	cr_assert_float_eq(f.error_rate, 12.0 / 40.0, 1e-9, "5xx and upstream errors of the 40");
	/* only the slow requests are in the interval: every quantile is ~50 ms */
	cr_assert_float_eq(f.p50_ms, 50.0, 50.0 / 32);
	cr_assert_float_eq(f.p99_ms, 50.0, 50.0 / 32);
}

Test(engine_figures, an_idle_interval_is_all_zero)
{
	for (int i = 0; i < 10; i++)
		rg_stats_record(shard, 1, 500, 1000);
	read_into(&before);
	read_into(&after);
	rg_figure f;
	memset(&f, 0, sizeof f);
	rg_figures_between(&before, &after, 1000, &f);
	cr_assert_eq(f.requests, 10);
	cr_assert_float_eq(f.rps, 0.0, 1e-12);
	cr_assert_float_eq(f.error_rate, 0.0, 1e-12, "no requests, no error rate");
	cr_assert_float_eq(f.p95_ms, 0.0, 1e-12);
	rg_figures_between(&before, &after, 0, &f);
	cr_assert_float_eq(f.rps, 0.0, 1e-12, "no time, no rate (never a division by zero)");
}

Test(engine_figures, a_lower_reading_saturates_at_zero)
{
	read_into(&before);
	for (int i = 0; i < 10; i++)
		rg_stats_record(shard, 1, 200, 1000);
	read_into(&after);
	rg_stats_summary d;
	memcpy(&d, &before, sizeof d);
	rg_stats_summary_sub(&d, &after);   /* earlier minus later */
	cr_assert_eq(d.requests, 0);
	cr_assert_eq(rg_hist_count(&d.latency), 0);
	cr_assert_float_eq(rg_stats_error_rate(&d), 0.0, 1e-12);
}
