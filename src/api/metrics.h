/* metrics.h — GET /metrics: the store's figures in Prometheus text format.
 * A pure rendering step; the figures themselves come from
 * rg_store_metrics_json(). The route handler appends the built-in proxies'
 * series (rg_dataplane_metrics) after these. */
#ifndef RG_API_METRICS_H
#define RG_API_METRICS_H

#include <jansson.h>
#include <stddef.h>

#include "util/err.h"

#define RG_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Renders m ({"runs_by_state":{state:n},"rollbacks_total":n,
 * "step_durations":[{"step","phase","seconds"}]}; missing members count as
 * empty) as exposition format 0.0.4: rollguard_runs{state=…} (gauge, every
 * run state), rollguard_rollbacks_total (counter) and the
 * rollguard_step_duration_seconds histogram. *out (NUL-terminated, *len
 * bytes) is owned by the caller. RG_EINTERNAL if m has the wrong shape. */
rg_err rg_metrics_render(const json_t *m, char **out, size_t *len, rg_error *err);

#endif
