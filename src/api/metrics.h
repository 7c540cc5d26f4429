/* metrics.h — GET /metrics: the controller's figures in Prometheus text
 * format. A pure rendering step; the figures themselves are kept in memory
 * by api/counters.h. The route handler appends the built-in proxies'
 * series (rg_dataplane_metrics) after these. */
#ifndef RG_API_METRICS_H
#define RG_API_METRICS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define RG_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* rollguard_step_duration_seconds: counts per bucket (le is inclusive; the
 * last one is +Inf alone), not cumulative. Zeroed is empty. */
#define RG_METRICS_STEP_BUCKETS 11
typedef struct rg_step_histogram {
	uint64_t counts[RG_METRICS_STEP_BUCKETS + 1];
	double sum;
	uint64_t count;
} rg_step_histogram;

/* Counts `times` step runs of `seconds` (negative: 0; NaN: ignored). */
void rg_step_histogram_add(rg_step_histogram *h, double seconds, uint64_t times);
/* Adds a "step_durations" array ([{"seconds","count"}], count 1 if
 * missing) as rg_store_metrics_json gives it; NULL is empty. RG_EINTERNAL
 * if it has the wrong shape (h may then hold part of it). */
rg_err rg_step_histogram_add_json(rg_step_histogram *h, const json_t *durations, rg_error *err);

/* Renders m ({"runs_by_state":{state:n},"rollbacks_total":n,
 * "step_durations":[{"step","phase","seconds"}],"decisions":{env:{action:n}}};
 * missing members count as empty) as exposition format 0.0.4:
 * rollguard_runs{state=…} (gauge, every run state),
 * rollguard_rollbacks_total (counter), the rollguard_step_duration_seconds
 * histogram and rollguard_decisions_total. *out (NUL-terminated, *len
 * bytes) is owned by the caller. RG_EINTERNAL if m has the wrong shape. */
rg_err rg_metrics_render(const json_t *m, char **out, size_t *len, rg_error *err);
/* The same with the histogram given (m's "step_durations" is ignored). */
rg_err rg_metrics_render_with(const json_t *m, const rg_step_histogram *steps, char **out,
			      size_t *len, rg_error *err);

#endif
