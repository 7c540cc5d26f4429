/* figures.h — the sampler of a run's figures over time: every
 * RG_FIGURES_INTERVAL_MS it reads both sides of each deploy run's canary
 * from the built-in proxy (the run's release and its baseline) and keeps
 * them in the store (store.h: run_figures) for the dashboard's charts;
 * a run's timeline news and its decision sample it at once as well.
 * Serve wires it; it reads the engine's runs and their news, and
 * never acts on a run. */
#ifndef RG_ENGINE_FIGURES_H
#define RG_ENGINE_FIGURES_H

#include <stdint.h>
#include <uv.h>

#include "analysis/stats.h"
#include "engine/engine.h"
#include "store/store.h"
#include "util/err.h"

typedef struct rg_figures rg_figures;

/* loop, engine, store and dp are borrowed and must outlive the sampler
 * (dp may be NULL: nothing is ever sampled). It subscribes to the engine
 * (RG_ECONFLICT when the engine's table is full). *out is freed by
 * rg_figures_stop, which must come before the engine is freed. */
rg_err rg_figures_start(uv_loop_t *loop, rg_engine *engine, rg_store *store, rg_dataplane *dp,
			rg_figures **out, rg_error *err);
/* Writes the samples still buffered and stops the timer; the sampler is
 * freed once the loop closes its handle. NULL is fine. */
void rg_figures_stop(rg_figures *f);

/* What happened between two whole-life readings of one release (prev
 * earlier, cur later, dt_ms apart): out's requests (cur's), rps,
 * error_rate and latency quantiles. Other fields of out are left alone.
 * Pure. */
void rg_figures_between(const rg_stats_summary *prev, const rg_stats_summary *cur, int64_t dt_ms,
			rg_figure *out);

#endif
