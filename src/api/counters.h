/* counters.h — the figures of GET /metrics, kept in memory so that a scrape
 * never reads the store. They are read from the store once, when serve
 * starts, then follow the engine's news (a run's state changes, its
 * decisions) and the pruner's passes. All calls on the loop thread. */
#ifndef RG_API_COUNTERS_H
#define RG_API_COUNTERS_H

#include <jansson.h>

#include "api/metrics.h"
#include "engine/engine.h"
#include "store/store.h"
#include "util/err.h"

typedef struct rg_counters rg_counters;

/* Reads the totals (rg_store_metrics_json: one set of queries). store is
 * borrowed, must outlive *out, and is read again only when a run finishes
 * (its step durations, one indexed query). *out is freed by
 * rg_counters_free. */
rg_err rg_counters_load(rg_store *store, rg_counters **out, rg_error *err);
void rg_counters_free(rg_counters *c);   /* NULL is fine */

/* Follows one piece of the engine's news (an rg_news_fn's body):
 *  - rollguard_runs{state}: a new run counts in its state, a state change
 *    moves it, a pruned run leaves (rg_counters_pruned): the gauge is what
 *    the store holds;
 *  - rollguard_rollbacks_total: a rollback run is created, or a deploy
 *    ends rolled_back or rollback_failed; never lowered by pruning;
 *  - rollguard_step_duration_seconds: a run's finished steps, when the run
 *    finishes (its step rows are final then: a retried step counts once);
 *  - rollguard_decisions_total{env,action}: each decision stored.
 * Out of memory or a failed read loses that one update, with a warning. */
void rg_counters_news(rg_counters *c, const rg_news *n);
/* Runs a retention pass deleted leave the gauge. */
void rg_counters_pruned(rg_counters *c, const rg_retention_result *res);

/* The figures as rg_metrics_render_with takes them: *figures (owned by the
 * caller) and *steps (borrowed from c, valid until its next update). */
rg_err rg_counters_figures(const rg_counters *c, json_t **figures,
			   const rg_step_histogram **steps, rg_error *err);

#endif
