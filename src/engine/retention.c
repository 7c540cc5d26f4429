/* retention.c — the pruner's timer (retention.h). Each tick is one store
 * pass over the next BATCH_RUNS old runs and at most BATCH_LOGS step logs;
 * a full window means more is due, so the next tick comes soon, otherwise
 * after the idle wait. A failed pass is logged and retried at the idle
 * wait: pruning is housekeeping and never stops serve. */
#include "engine/retention.h"

#include <stdlib.h>
#include <time.h>

#include "util/log.h"
#include "util/timeutil.h"

/* Measured with bench/retention.sh on a shared 2-core machine: a pass of
 * 20 runs and 100 logs holds the loop about 1-3 ms, mostly the commit's
 * fsync; 50 runs took 20-35 ms when the window was a search (see
 * store/retention.c). At one pass every 100 ms while there is a backlog,
 * 100 000 old runs go in under ten minutes and the loop stays >95 % free. */
#define BATCH_RUNS 20
#define BATCH_LOGS 100
#define BUSY_WAIT_MS 100
#define IDLE_WAIT_MS (10 * 60 * 1000)

struct rg_retention {
	uv_timer_t timer;
	const rg_retention_cfg *cfg;
	rg_store *store;
	uint64_t idle_ms;
	int64_t after_ended, after_id;   /* where the sweep of old runs stands */
	rg_retention_pruned_fn on_pruned;
	void *ctx;
};

/* This thread's CPU time, µs: on a busy machine the wall time of a pass
 * includes waiting for a core, which the pass does not cause. */
static int64_t cpu_us(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A short retention (as in tests) is honoured within about its length. */
static uint64_t idle_wait(const rg_retention_cfg *cfg)
{
	int64_t w = IDLE_WAIT_MS;
	if (cfg->runs_ms > 0 && cfg->runs_ms < w)
		w = cfg->runs_ms;
	if (cfg->step_logs_ms > 0 && cfg->step_logs_ms < w)
		w = cfg->step_logs_ms;
	return (uint64_t)(w < BUSY_WAIT_MS ? BUSY_WAIT_MS : w);
}

static void on_tick(uv_timer_t *t)
{
	rg_retention *r = t->data;
	int64_t now = rg_now_ms();
	rg_retention_pass p = {
		.runs_before = r->cfg->runs_ms > 0 ? now - r->cfg->runs_ms : 0,
		.logs_before = r->cfg->step_logs_ms > 0 ? now - r->cfg->step_logs_ms : 0,
		.keep_last = r->cfg->keep_last,
		.max_runs = BATCH_RUNS,
		.max_logs = BATCH_LOGS,
		.after_ended = r->after_ended,
		.after_id = r->after_id,
	};
	rg_error err = { 0 };
	rg_retention_result res;
	int64_t t0 = rg_mono_us(), c0 = cpu_us();
	if (rg_store_retention_prune(r->store, &p, &res, &err) != RG_OK) {
		rg_warn("retention: %s (retrying later)", err.message);
		uv_timer_start(&r->timer, on_tick, r->idle_ms, 0);
		return;
	}
	r->after_ended = p.after_ended;
	r->after_id = p.after_id;
	if (res.runs || res.logs)
		rg_info("retention: pruned %d finished run%s, cleared %d step log%s (%.1f ms, "
			"%.1f ms on cpu)",
			res.runs, res.runs == 1 ? "" : "s", res.logs, res.logs == 1 ? "" : "s",
			(double)(rg_mono_us() - t0) / 1000.0, (double)(cpu_us() - c0) / 1000.0);
	if (res.runs && r->on_pruned)
		r->on_pruned(r->ctx, &res);
	uv_timer_start(&r->timer, on_tick, res.more ? BUSY_WAIT_MS : r->idle_ms, 0);
}

rg_err rg_retention_start(uv_loop_t *loop, const rg_retention_cfg *cfg, rg_store *store,
			  rg_retention_pruned_fn on_pruned, void *ctx, rg_retention **out,
			  rg_error *err)
{
	*out = NULL;
	if (cfg->runs_ms <= 0 && cfg->step_logs_ms <= 0)
		return RG_OK;
	rg_retention *r = calloc(1, sizeof *r);
	if (!r)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory for the pruner");
	r->cfg = cfg;
	r->store = store;
	r->on_pruned = on_pruned;
	r->ctx = ctx;
	r->idle_ms = idle_wait(cfg);
	uv_timer_init(loop, &r->timer);
	r->timer.data = r;
	/* The first pass soon after start: a store that grew while serve was
	 * down is brought back within its limits without waiting. */
	uv_timer_start(&r->timer, on_tick, BUSY_WAIT_MS, 0);
	*out = r;
	return RG_OK;
}

static void on_closed(uv_handle_t *h)
{
	free(h->data);
}

void rg_retention_stop(rg_retention *r)
{
	if (!r)
		return;
	uv_timer_stop(&r->timer);
	uv_close((uv_handle_t *)&r->timer, on_closed);
}
