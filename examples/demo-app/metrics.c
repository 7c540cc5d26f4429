/* metrics.c — the demo service's Prometheus counters and latency histogram.
 * Recording is lock-free (relaxed atomics) so it never slows the request
 * path; a scrape may see counters a few requests apart, never torn values. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "demo-app.h"

static const int codes[] = { 200, 400, 404, 405, 413, 500, 501, 503, 505 };
#define N_CODES (sizeof codes / sizeof codes[0])

/* Upper bounds in seconds; the last bucket is +Inf. */
static const double bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
				 0.25, 0.5, 1, 2.5, 5, 10 };
#define N_BOUNDS (sizeof bounds / sizeof bounds[0])

static atomic_uint_fast64_t by_code[N_CODES + 1];   /* last: any other code */
static atomic_uint_fast64_t buckets[N_BOUNDS + 1];  /* not cumulative */
static atomic_uint_fast64_t sum_ns;

void metrics_record(int status, int64_t duration_ns)
{
	size_t i = 0;
	while (i < N_CODES && codes[i] != status)
		i++;
	atomic_fetch_add_explicit(&by_code[i], 1, memory_order_relaxed);
	if (duration_ns < 0)
		duration_ns = 0;
	double s = (double)duration_ns / 1e9;
	size_t b = 0;
	while (b < N_BOUNDS && s > bounds[b])
		b++;
	atomic_fetch_add_explicit(&buckets[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&sum_ns, (uint64_t)duration_ns, memory_order_relaxed);
}

static uint64_t load(atomic_uint_fast64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static void render_requests(FILE *f)
{
	fputs("# HELP demo_requests_total Requests answered, by status code.\n"
	      "# TYPE demo_requests_total counter\n", f);
	for (size_t i = 0; i < N_CODES; i++) {
		uint64_t n = load(&by_code[i]);
		/* 200 and 500 always appear so error-rate queries have both series. */
		if (n || codes[i] == 200 || codes[i] == 500)
			fprintf(f, "demo_requests_total{code=\"%d\"} %llu\n", codes[i],
				(unsigned long long)n);
	}
	if (load(&by_code[N_CODES]))
		fprintf(f, "demo_requests_total{code=\"other\"} %llu\n",
			(unsigned long long)load(&by_code[N_CODES]));
}

static void render_histogram(FILE *f)
{
	fputs("# HELP demo_request_duration_seconds Time from request to response.\n"
	      "# TYPE demo_request_duration_seconds histogram\n", f);
	uint64_t cum = 0;
	for (size_t b = 0; b <= N_BOUNDS; b++) {
		cum += load(&buckets[b]);
		if (b < N_BOUNDS)
			fprintf(f, "demo_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
				bounds[b], (unsigned long long)cum);
		else
			fprintf(f, "demo_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
				(unsigned long long)cum);
	}
	fprintf(f, "demo_request_duration_seconds_sum %.9f\n", (double)load(&sum_ns) / 1e9);
	fprintf(f, "demo_request_duration_seconds_count %llu\n", (unsigned long long)cum);
}

char *metrics_render(const char *version, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (!f)
		return NULL;
	fprintf(f, "# HELP demo_app_info The running demo-app release.\n"
		   "# TYPE demo_app_info gauge\ndemo_app_info{version=\"%s\"} 1\n", version);
	render_requests(f);
	render_histogram(f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
