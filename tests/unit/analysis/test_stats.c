/* test_stats.c — per-release statistics: classification, merging shards,
 * the sliding window under an injected clock, and recording on several
 * threads while another one reads. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "analysis/stats.h"

static rg_stats_shard *shard[4];
static rg_stats_summary sum;

static void setup(void)
{
	for (int i = 0; i < 4; i++)
		cr_assert_eq(rg_stats_shard_new(&shard[i], NULL), RG_OK);
}

static void teardown(void)
{
	for (int i = 0; i < 4; i++)
		rg_stats_shard_free(shard[i]);
}

TestSuite(stats_record, .init = setup, .fini = teardown);
TestSuite(stats_window, .init = setup, .fini = teardown);
TestSuite(stats_threads, .init = setup, .fini = teardown);

static uint64_t window_requests(size_t n, int64_t now_s, int window_s)
{
	cr_assert_eq(rg_stats_window(shard, n, now_s, window_s, &sum, NULL), RG_OK);
	return sum.requests;
}

Test(stats_record, statuses_by_class)
{
	const int statuses[] = { 100, 200, 204, 301, 404, 499, 500, 503, 599, 600, 99, 0 };
	for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++)
		rg_stats_record(shard[0], 5, statuses[i], 1000);
	rg_stats_snapshot(shard, 1, &sum);
	cr_assert_eq(sum.requests, 12, "every finished request, valid status or not");
	const uint64_t expect[RG_STATS_CLASSES] = { 1, 2, 1, 2, 3 };
	for (int c = 0; c < RG_STATS_CLASSES; c++)
		cr_assert_eq(sum.responses[c], expect[c], "%dxx", c + 1);
	cr_assert_eq(rg_hist_count(&sum.latency), 12);
	cr_assert_eq(rg_hist_sum(&sum.latency), 12000);
}

Test(stats_record, upstream_errors_by_kind)
{
	rg_stats_upstream_error(shard[0], 5, RG_UPSTREAM_CONNECT);
	rg_stats_upstream_error(shard[0], 5, RG_UPSTREAM_CONNECT);
	rg_stats_upstream_error(shard[1], 6, RG_UPSTREAM_TIMEOUT);
	rg_stats_upstream_error(shard[1], 6, RG_UPSTREAM_PROTOCOL);
	rg_stats_snapshot(shard, 2, &sum);
	cr_assert_eq(sum.upstream_errors[RG_UPSTREAM_CONNECT], 2);
	cr_assert_eq(sum.upstream_errors[RG_UPSTREAM_TIMEOUT], 1);
	cr_assert_eq(sum.upstream_errors[RG_UPSTREAM_PROTOCOL], 1);
	cr_assert_eq(sum.requests, 0, "a failed attempt is not a finished request");
	cr_assert_eq(rg_stats_window(shard, 2, 6, 1, &sum, NULL), RG_OK);
	cr_assert_eq(sum.upstream_errors[RG_UPSTREAM_CONNECT], 0, "second 5 is outside");
	cr_assert_eq(sum.upstream_errors[RG_UPSTREAM_TIMEOUT], 1);
}

Test(stats_record, snapshot_sums_shards_and_overwrites_out)
{
	for (int i = 0; i < 4; i++)
		for (int j = 0; j <= i; j++)
			rg_stats_record(shard[i], 1, 200 + 300 * (j % 2), 100 * (uint64_t)(i + 1));
	rg_stats_snapshot(shard, 4, &sum);
	rg_stats_snapshot(shard, 4, &sum);
	cr_assert_eq(sum.requests, 1 + 2 + 3 + 4);
	cr_assert_eq(sum.responses[1], 1 + 1 + 2 + 2);
	cr_assert_eq(sum.responses[4], 0 + 1 + 1 + 2);
	cr_assert_eq(rg_hist_sum(&sum.latency), 100 * 1 + 200 * 2 + 300 * 3 + 400 * 4);
	uint64_t p50 = rg_hist_quantile(&sum.latency, 0.5);
	cr_assert(p50 * 32 >= 300 * 31 && p50 * 32 <= 300 * 33, "p50 %llu", (unsigned long long)p50);
	rg_stats_snapshot(shard, 0, &sum);
	cr_assert_eq(sum.requests, 0);
	cr_assert_eq(rg_hist_count(&sum.latency), 0);
}

Test(stats_record, memory_is_bounded_and_aligned)
{
	size_t bytes = rg_stats_shard_size();
	cr_assert_leq(bytes, 240 * 1024, "%zu bytes per shard", bytes);
	cr_assert_geq(bytes, (RG_STATS_WINDOW_SLOTS + 1) * sizeof(rg_hist));
	cr_assert_eq((uintptr_t)shard[0] % 64, 0, "shards never share a cache line");
}

Test(stats_window, expiry_with_an_injected_clock)
{
	for (int i = 0; i < 3; i++)
		rg_stats_record(shard[0], 100, 200, 1000);
	for (int i = 0; i < 2; i++)
		rg_stats_record(shard[0], 101, 500, 1000);
	rg_stats_record(shard[0], 130, 200, 50000);

	cr_assert_eq(window_requests(1, 130, 60), 6);
	cr_assert_eq(window_requests(1, 130, 30), 3, "seconds 101..130");
	cr_assert_eq(window_requests(1, 130, 1), 1);
	cr_assert_eq(window_requests(1, 100, 1), 3);
	cr_assert_eq(window_requests(1, 99, 60), 0, "the future is not in the window");
	cr_assert_eq(window_requests(1, 159, 60), 6, "seconds 100..159");
	cr_assert_eq(window_requests(1, 160, 60), 3, "second 100 has expired");
	cr_assert_eq(window_requests(1, 161, 60), 1);
	cr_assert_eq(window_requests(1, 190, 60), 0);
	cr_assert_eq(window_requests(1, 1000000, 60), 0, "stale slots expire without writers");

	rg_stats_snapshot(shard, 1, &sum);
	cr_assert_eq(sum.requests, 6, "the whole-life figures keep everything");
}

Test(stats_window, a_slot_reused_for_a_new_second_starts_empty)
{
	rg_stats_record(shard[0], 100, 200, 1000);
	rg_stats_record(shard[0], 100, 200, 1000);
	rg_stats_record(shard[0], 130, 200, 1000);
	rg_stats_record(shard[0], 160, 503, 80000); /* the slot second 100 used */
	cr_assert_eq(window_requests(1, 160, 60), 2);
	cr_assert_eq(sum.responses[4], 1);
	cr_assert_eq(sum.responses[1], 1);
	cr_assert_eq(window_requests(1, 160, 1), 1);
	cr_assert_eq(window_requests(1, 100, 1), 0, "second 100 is gone, not mixed in");
}

Test(stats_window, windowed_quantiles_see_only_the_window)
{
	for (int i = 0; i < 100; i++)
		rg_stats_record(shard[i % 2], 10, 200, 1000);      /* fast, then */
	for (int i = 0; i < 100; i++)
		rg_stats_record(shard[i % 2], 40, 200, 400000);    /* slow */
	cr_assert_eq(rg_stats_window(shard, 2, 45, 60, &sum, NULL), RG_OK);
	uint64_t p50 = rg_hist_quantile(&sum.latency, 0.5);
	cr_assert(p50 * 32 >= 1000 * 31 && p50 * 32 <= 1000 * 33, "both seconds: p50 %llu",
		  (unsigned long long)p50);
	cr_assert_eq(rg_stats_window(shard, 2, 45, 30, &sum, NULL), RG_OK);
	p50 = rg_hist_quantile(&sum.latency, 0.5);
	cr_assert(p50 * 32 >= 400000 * 31 && p50 * 32 <= 400000 * 33, "slow second only: %llu",
		  (unsigned long long)p50);
	cr_assert_eq(rg_hist_count(&sum.latency), 100);
}

Test(stats_window, time_going_backwards_never_wipes_a_newer_second)
{
	rg_stats_record(shard[0], 200, 200, 1000);
	rg_stats_record(shard[0], 140, 200, 1000); /* same slot, older second */
	rg_stats_record(shard[0], -1, 200, 1000);  /* no usable clock */
	rg_stats_upstream_error(shard[0], 140, RG_UPSTREAM_CONNECT);
	cr_assert_eq(window_requests(1, 200, 60), 1);
	cr_assert_eq(sum.upstream_errors[RG_UPSTREAM_CONNECT], 0);
	rg_stats_snapshot(shard, 1, &sum);
	cr_assert_eq(sum.requests, 3);
	cr_assert_eq(sum.upstream_errors[RG_UPSTREAM_CONNECT], 1);
}

Test(stats_window, bad_arguments_are_errors)
{
	rg_error err = { 0 };
	cr_assert_eq(rg_stats_window(shard, 1, 10, 0, &sum, &err), RG_EINVAL);
	cr_assert_str_eq(err.field, "window");
	cr_assert_eq(rg_stats_window(shard, 1, 10, RG_STATS_WINDOW_SLOTS + 1, &sum, NULL), RG_EINVAL);
	cr_assert_eq(rg_stats_window(shard, 1, -1, 10, &sum, NULL), RG_EINVAL);
	cr_assert_eq(rg_stats_window(shard, 1, 0, RG_STATS_WINDOW_SLOTS, &sum, NULL), RG_OK);
}

/* Four writers record 1e6 requests each into their own shard, 10 000 per
 * (injected) second, so every writer wraps the ring and resets slots while
 * the reader takes snapshots and windows. */
#define WRITERS 4
#define PER_WRITER 1000000
#define PER_SECOND 10000

static _Atomic int64_t writer_second[WRITERS];
static atomic_int writers_done;

static void *writer(void *arg)
{
	int w = (int)(intptr_t)arg;
	for (int i = 0; i < PER_WRITER; i++) {
		int64_t now = i / PER_SECOND;
		if (i % PER_SECOND == 0)
			atomic_store_explicit(&writer_second[w], now, memory_order_relaxed);
		rg_stats_record(shard[w], now, i % 10 ? 200 : 503, (uint64_t)(i % 1000) * 10 + 1);
		if (i % 100 == 0)
			rg_stats_upstream_error(shard[w], now, RG_UPSTREAM_TIMEOUT);
	}
	atomic_fetch_add(&writers_done, 1);
	return NULL;
}

static void check_monotonic(const rg_stats_summary *prev, const rg_stats_summary *now)
{
	cr_assert_geq(now->requests, prev->requests);
	for (int c = 0; c < RG_STATS_CLASSES; c++)
		cr_assert_geq(now->responses[c], prev->responses[c]);
	cr_assert_geq(now->upstream_errors[RG_UPSTREAM_TIMEOUT],
		      prev->upstream_errors[RG_UPSTREAM_TIMEOUT]);
	cr_assert_geq(rg_hist_count(&now->latency), rg_hist_count(&prev->latency));
	cr_assert_geq(rg_hist_sum(&now->latency), rg_hist_sum(&prev->latency));
}

/* What any consistent read of one second of one writer must satisfy: at
 * most PER_SECOND requests, none counted before its class and latency. */
static void check_one_second(const rg_stats_summary *s)
{
	cr_assert_leq(s->requests, PER_SECOND, "a window never mixes two seconds");
	cr_assert_leq(s->requests, s->responses[1] + s->responses[4]);
	cr_assert_leq(s->requests, rg_hist_count(&s->latency));
	cr_assert_leq(s->upstream_errors[RG_UPSTREAM_TIMEOUT], PER_SECOND / 100);
}

Test(stats_threads, four_writers_and_a_reader)
{
	pthread_t t[WRITERS];
	for (int w = 0; w < WRITERS; w++)
		cr_assert_eq(pthread_create(&t[w], NULL, writer, (void *)(intptr_t)w), 0);

	static rg_stats_summary prev, now, win;
	rg_stats_snapshot(shard, WRITERS, &prev);
	long reads = 0;
	while (atomic_load(&writers_done) < WRITERS) {
		rg_stats_snapshot(shard, WRITERS, &now);
		check_monotonic(&prev, &now);
		prev = now;
		/* The slot a writer resets next holds its oldest second. */
		int w = (int)(reads % WRITERS);
		int64_t oldest = atomic_load(&writer_second[w]) - (RG_STATS_WINDOW_SLOTS - 1);
		if (oldest >= 0) {
			cr_assert_eq(rg_stats_window(&shard[w], 1, oldest, 1, &win, NULL), RG_OK);
			check_one_second(&win);
		}
		reads++;
	}
	for (int w = 0; w < WRITERS; w++)
		pthread_join(t[w], NULL);
	cr_log_info("%ld reads while writing", reads);

	rg_stats_snapshot(shard, WRITERS, &now);
	check_monotonic(&prev, &now);
	cr_assert_eq(now.requests, (uint64_t)WRITERS * PER_WRITER);
	cr_assert_eq(now.responses[4], (uint64_t)WRITERS * PER_WRITER / 10);
	cr_assert_eq(now.responses[1], (uint64_t)WRITERS * PER_WRITER / 10 * 9);
	cr_assert_eq(now.upstream_errors[RG_UPSTREAM_TIMEOUT], (uint64_t)WRITERS * PER_WRITER / 100);
	cr_assert_eq(rg_hist_count(&now.latency), (uint64_t)WRITERS * PER_WRITER);
	/* latencies cycle through 1, 11, …, 9991: mean 4996 per 1000 records */
	cr_assert_eq(rg_hist_sum(&now.latency), (uint64_t)WRITERS * (PER_WRITER / 1000) * 4996000);

	int64_t last = (PER_WRITER - 1) / PER_SECOND;
	cr_assert_eq(window_requests(WRITERS, last, RG_STATS_WINDOW_SLOTS),
		     (uint64_t)WRITERS * PER_SECOND * RG_STATS_WINDOW_SLOTS);
	cr_assert_eq(sum.responses[4], (uint64_t)WRITERS * PER_SECOND * RG_STATS_WINDOW_SLOTS / 10);
	cr_assert_eq(window_requests(WRITERS, last, 1), (uint64_t)WRITERS * PER_SECOND);
}
