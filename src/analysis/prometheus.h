/* prometheus.h — one number from a Prometheus server: an instant PromQL
 * query through its HTTP API (GET /api/v1/query), on the loop. A query that
 * errors, times out, answers something other than one sample, or a sample
 * that is NaN, is *no data* — never a healthy value. */
#ifndef RG_ANALYSIS_PROMETHEUS_H
#define RG_ANALYSIS_PROMETHEUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/client.h"
#include "util/err.h"

typedef struct rg_prom_query rg_prom_query;

/* has_value false = no data, with why ("query failed: HTTP 400: parse
 * error …", "no sample", "3 series (the query must give one)", "timed
 * out after 5s"); borrowed for the call only. */
typedef void (*rg_prom_done_fn)(void *ctx, bool has_value, double value, const char *why);

/* server: "http://127.0.0.1:9090" (config metrics.prometheus); query is
 * URL-encoded here. done fires exactly once unless cancelled. */
rg_err rg_prom_query_start(rg_http *h, const char *server, const char *query, int64_t timeout_ms,
			   rg_prom_done_fn done, void *ctx, rg_prom_query **out, rg_error *err);
void rg_prom_query_cancel(rg_prom_query *q);

/* Pure: the answer body of /api/v1/query → one value, or no data with why
 * (size bytes of why). Exposed for tests. Accepts resultType "vector" with
 * exactly one sample and "scalar". */
bool rg_prom_parse(const char *body, size_t len, double *value, char *why, size_t size);

#endif
