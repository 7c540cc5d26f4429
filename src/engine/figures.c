/* figures.c — the sampler of a run's figures over time (figures.h). One
 * timer for every run, so 200 environments cost one tick and, every few
 * seconds, one store transaction, never one per run; a run's news (its
 * canary routed, its decision) samples that run at once as well. It only reads the
 * proxy's shared figures and the stored route; it must never fail, hold or
 * change a run: a sample that cannot be taken or kept is skipped. */
#include "engine/figures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dataplane.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/timeutil.h"

/* Samples are not a state the engine acts on, so they are buffered and
 * written in one transaction every FLUSH_EVERY_MS, just after a decision
 * (the moment the charts mark) and as soon as a sampled run ends, and when
 * serve stops. A SIGKILL loses the batch not yet written: at
 * most FLUSH_EVERY_MS of samples, which a chart shows as a gap. */
#define FLUSH_EVERY_MS 5000
/* A reading closer than this to the last one of its side adds no sample
 * (its rate would be noise); the next one covers the span. */
#define MIN_SPAN_MS 100

/* One release of a run: its last whole-life reading, so that the next
 * sample is what happened in between. */
typedef struct side_track {
	bool have;
	char version[RG_VNAME_LEN];
	rg_stats_summary prev;
	int64_t prev_mono;
} side_track;

/* A run being sampled. Its count of stored samples is read from the store
 * once, when the sampler first sees the run (after a restart, too), so the
 * bound holds across restarts. */
typedef struct track {
	int64_t run_id;
	int64_t stored;           /* samples stored or buffered */
	bool capped;              /* the bound was reached and said so */
	bool seen;                /* still in progress at this tick */
	side_track side[RG_FIGURE_SIDE_COUNT];
} track;

/* A run with news, to sample just after it. At its decision the canary is
 * read at once: by the time the loop comes back the swap may have taken
 * the release out of the proxy, and with it the figures the decision was
 * made on. */
typedef struct pending_run {
	int64_t run_id;
	bool has_canary;
	rg_stats_summary canary;  /* the canary's reading at the decision */
} pending_run;

struct rg_figures {
	uv_timer_t timer;
	rg_engine *engine;
	rg_store *store;
	rg_dataplane *dp;
	track *tracks;
	size_t n_tracks, cap_tracks;
	rg_figure *buf;           /* taken, not yet written */
	size_t n_buf, cap_buf;
	int64_t flushed_mono;
	bool flush_soon;          /* a decision was stored: write at the next tick */
	uv_timer_t soon;          /* samples the runs in pending, just after their news */
	pending_run *pending;     /* runs with news since the last tick or soon */
	size_t n_pending, cap_pending;
	int open_handles;
	bool write_failing;       /* the last write failed and was logged */
	int64_t now_wall, now_mono;   /* of the tick in progress */
};

/* ---- the arithmetic (pure) --------------------------------------------------------- */

void rg_figures_between(const rg_stats_summary *prev, const rg_stats_summary *cur, int64_t dt_ms,
			rg_figure *out)
{
	rg_stats_summary d;
	memcpy(&d, cur, sizeof d);
	rg_stats_summary_sub(&d, prev);
	out->requests = (int64_t)cur->requests;
	out->rps = dt_ms > 0 ? (double)d.requests * 1000.0 / (double)dt_ms : 0.0;
	out->error_rate = rg_stats_error_rate(&d);
	out->p50_ms = (double)rg_hist_quantile(&d.latency, 0.50) / 1000.0;
	out->p95_ms = (double)rg_hist_quantile(&d.latency, 0.95) / 1000.0;
	out->p99_ms = (double)rg_hist_quantile(&d.latency, 0.99) / 1000.0;
}

/* ---- writing ----------------------------------------------------------------------- */

static void flush(rg_figures *f)
{
	f->flushed_mono = rg_mono_ms();
	f->flush_soon = false;
	if (f->n_buf == 0)
		return;
	rg_error err = { 0 };
	int64_t t0 = rg_mono_us();
	if (rg_store_figures_add(f->store, f->buf, f->n_buf, &err) != RG_OK) {
		/* one line per failing spell, not one per batch */
		if (!f->write_failing)
			rg_warn("figures: %zu samples not stored: %s (runs go on; further failures "
				"are not logged until a write succeeds)", f->n_buf, err.message);
		f->write_failing = true;
	} else {
		if (f->write_failing)
			rg_info("figures: samples are stored again");
		f->write_failing = false;
		rg_debug("figures: stored %zu samples in %.2f ms", f->n_buf,
			 (double)(rg_mono_us() - t0) / 1000.0);
	}
	f->n_buf = 0;
}

/* ---- sampling ---------------------------------------------------------------------- */

/* The release a run's canary is compared with: the stable one while the
 * canary takes a share (or after it was swapped out), the one standing by
 * once the canary became stable; NULL when there is none. */
static const char *baseline_of(const rg_route_state *st, const char *canary)
{
	const char *b = strcmp(st->stable_version, canary) == 0 ? st->standby_version
								 : st->stable_version;
	return b[0] && strcmp(b, canary) != 0 ? b : NULL;
}

static track *find_track(rg_figures *f, int64_t run_id)
{
	for (size_t i = 0; i < f->n_tracks; i++)
		if (f->tracks[i].run_id == run_id)
			return &f->tracks[i];
	return NULL;
}

static track *add_track(rg_figures *f, int64_t run_id)
{
	rg_error err = { 0 };
	int64_t stored = 0;
	if (rg_store_figures_count(f->store, run_id, &stored, &err) != RG_OK) {
		rg_debug("figures: run %lld: %s (tried again next tick)", (long long)run_id,
			 err.message);
		return NULL;
	}
	if (RG_ALLOC_GROW(f->tracks, f->n_tracks + 1, f->cap_tracks) != RG_OK)
		return NULL;
	track *k = &f->tracks[f->n_tracks++];
	memset(k, 0, sizeof *k);
	k->run_id = run_id;
	k->stored = stored;
	return k;
}

/* One side's sample: what happened since its last reading. The first
 * reading of a release (the run's first tick, after a restart, or when the
 * baseline changed) only starts the count — unless routed_at says when the
 * proxy began counting it from zero (a canary routed just now); so does a
 * reading lower than the last one (the proxy counts the release afresh). */
static void take(rg_figures *f, track *k, rg_figure_side side, const char *version,
		 const rg_stats_summary *cur, int64_t routed_at)
{
	side_track *s = &k->side[side];
	if (!s->have && routed_at > 0 && routed_at < f->now_wall) {
		memset(&s->prev, 0, sizeof s->prev);
		s->have = true;
		snprintf(s->version, sizeof s->version, "%s", version);
		s->prev_mono = f->now_mono - (f->now_wall - routed_at);
	}
	bool follows = s->have && strcmp(s->version, version) == 0 &&
		       cur->requests >= s->prev.requests;
	if (follows && f->now_mono - s->prev_mono < MIN_SPAN_MS)
		return;
	if (follows && k->stored >= RG_FIGURES_MAX_PER_RUN && !k->capped) {
		rg_info("figures: run %lld has %d samples, the most kept; no more are taken",
			(long long)k->run_id, RG_FIGURES_MAX_PER_RUN);
		k->capped = true;
	}
	if (follows && !k->capped && RG_ALLOC_GROW(f->buf, f->n_buf + 1, f->cap_buf) == RG_OK) {
		rg_figure *fig = &f->buf[f->n_buf++];
		memset(fig, 0, sizeof *fig);
		fig->run_id = k->run_id;
		fig->at = f->now_wall;
		fig->side = side;
		snprintf(fig->version, sizeof fig->version, "%s", version);
		rg_figures_between(&s->prev, cur, f->now_mono - s->prev_mono, fig);
		k->stored++;
	}
	s->have = true;
	snprintf(s->version, sizeof s->version, "%s", version);
	memcpy(&s->prev, cur, sizeof s->prev);
	s->prev_mono = f->now_mono;
}

/* Reads one release's whole-life figures; false when the proxy does not
 * route it (not yet, or no more). */
static bool reading(rg_figures *f, const char *env, const char *version, rg_stats_summary *out)
{
	rg_error err;
	return rg_dataplane_release_stats(f->dp, env, version, 0, out, &err) == RG_OK;
}

/* When the proxy began counting the run's canary from zero, if that was
 * just now: the stored route that names it was written by this run within
 * the last two intervals (its first traffic step; the proxy gives a newly
 * named release a fresh slot). 0 otherwise — the first reading then only
 * starts the count. A sequential test may decide within a second of the
 * canary taking traffic, before any tick: this keeps those figures. */
static int64_t canary_routed_at(const rg_run *run, const rg_route_state *st, int64_t now)
{
	bool named = strcmp(st->canary_version, run->version) == 0 ||
		     strcmp(st->stable_version, run->version) == 0;
	if (st->run_id != run->id || !named || st->updated <= 0 ||
	    now - st->updated > 2 * RG_FIGURES_INTERVAL_MS)
		return 0;
	return st->updated;
}

/* A deploy run is sampled from the moment the proxy routes its release
 * until it ends; a rollback-kind run has no canary to chart. */
static void sample_run_with(rg_figures *f, const rg_run *run, const pending_run *p)
{
	if (run->kind != RG_KIND_DEPLOY || !rg_dataplane_serves(f->dp, run->env))
		return;
	rg_route_state st;
	rg_error err;
	if (rg_store_route_get(f->store, run->env, &st, &err) != RG_OK)
		return;
	rg_stats_summary cur;
	track *k = find_track(f, run->id);
	bool routed = reading(f, run->env, run->version, &cur);
	if (!routed && p && p->has_canary) {
		memcpy(&cur, &p->canary, sizeof cur);
		routed = true;
	}
	if (!k && routed)
		k = add_track(f, run->id);
	if (!k)
		return;
	k->seen = true;
	if (routed)
		take(f, k, RG_FIGURE_CANARY, run->version, &cur, canary_routed_at(run, &st, f->now_wall));
	else
		k->side[RG_FIGURE_CANARY].have = false;
	const char *base = baseline_of(&st, run->version);
	if (base && reading(f, run->env, base, &cur))
		take(f, k, RG_FIGURE_BASELINE, base, &cur, 0);
	else
		k->side[RG_FIGURE_BASELINE].have = false;
}

static void sample_run(void *ctx, const rg_run *run)
{
	sample_run_with(ctx, run, NULL);
}

/* A run with news (its canary routed, a check failed, its decision) is
 * sampled at once rather than at the next tick: a sequential test may
 * decide within a second of the canary taking traffic, and its chart
 * should still show the figures that led to the decision. */
static void sample_pending(void *ctx, const rg_run *run)
{
	rg_figures *f = ctx;
	for (size_t i = 0; i < f->n_pending; i++)
		if (f->pending[i].run_id == run->id) {
			sample_run_with(f, run, &f->pending[i]);
			return;
		}
}

static void on_soon(uv_timer_t *t)
{
	rg_figures *f = t->data;
	f->now_wall = rg_now_ms();
	f->now_mono = rg_mono_ms();
	rg_engine_each_run(f->engine, sample_pending, f);
	f->n_pending = 0;
	if (f->flush_soon)
		flush(f);
}

static void on_tick(uv_timer_t *t)
{
	rg_figures *f = t->data;
	f->now_wall = rg_now_ms();
	f->now_mono = rg_mono_ms();
	f->n_pending = 0;
	for (size_t i = 0; i < f->n_tracks; i++)
		f->tracks[i].seen = false;
	rg_engine_each_run(f->engine, sample_run, f);
	/* A run that is no longer in progress ended: its samples are written
	 * now, so its chart is whole as soon as it is over. */
	bool ended = false;
	for (size_t i = 0; i < f->n_tracks;) {
		if (f->tracks[i].seen) {
			i++;
			continue;
		}
		memmove(&f->tracks[i], &f->tracks[i + 1], (f->n_tracks - i - 1) * sizeof *f->tracks);
		f->n_tracks--;
		ended = true;
	}
	if (ended || f->flush_soon || f->now_mono - f->flushed_mono >= FLUSH_EVERY_MS)
		flush(f);
}

/* A run the sampler follows reached its end: nothing more is sampled for
 * it, so what it has buffered can be written. */
static bool ended_sampled_run(rg_figures *f, const rg_news *n)
{
	rg_run_state to;
	return n->to && rg_run_state_parse(n->to, &to) && rg_run_state_terminal(to) &&
	       find_track(f, n->run_id) != NULL;
}

/* Someone looking at a run's charts when its decision comes wants the
 * figures that led to it without waiting for the batch. */
static void on_news(void *ctx, const rg_news *n)
{
	rg_figures *f = ctx;
	if (n->kind == RG_NEWS_DECISION)
		f->flush_soon = true;
	if (n->kind == RG_NEWS_RUN_STATE && ended_sampled_run(f, n)) {
		/* its chart is whole as soon as it is over, not a tick later */
		f->flush_soon = true;
		uv_timer_start(&f->soon, on_soon, 0, 0);
		return;
	}
	if (n->kind != RG_NEWS_TIMELINE && n->kind != RG_NEWS_DECISION)
		return;
	pending_run *p = NULL;
	for (size_t i = 0; i < f->n_pending && !p; i++)
		if (f->pending[i].run_id == n->run_id)
			p = &f->pending[i];
	if (!p && RG_ALLOC_GROW(f->pending, f->n_pending + 1, f->cap_pending) != RG_OK)
		return;   /* the next tick samples it */
	if (!p) {
		p = &f->pending[f->n_pending++];
		p->run_id = n->run_id;
		p->has_canary = false;
	}
	/* one read of the shared figures (a few µs) before the swap is applied */
	if (n->kind == RG_NEWS_DECISION && n->env && n->version &&
	    rg_dataplane_serves(f->dp, n->env))
		p->has_canary = reading(f, n->env, n->version, &p->canary);
	/* not from inside the engine's news: just after it, from the loop */
	uv_timer_start(&f->soon, on_soon, 0, 0);
}

rg_err rg_figures_start(uv_loop_t *loop, rg_engine *engine, rg_store *store, rg_dataplane *dp,
			rg_figures **out, rg_error *err)
{
	*out = NULL;
	rg_figures *f = calloc(1, sizeof *f);
	if (!f)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory for the figures sampler");
	f->engine = engine;
	f->store = store;
	f->dp = dp;
	f->flushed_mono = rg_mono_ms();
	rg_err rc = dp ? rg_engine_subscribe(engine, on_news, f, err) : RG_OK;
	if (rc) {
		free(f);
		return rc;
	}
	uv_timer_init(loop, &f->timer);
	f->timer.data = f;
	uv_timer_init(loop, &f->soon);
	f->soon.data = f;
	f->open_handles = 2;
	if (dp)
		uv_timer_start(&f->timer, on_tick, RG_FIGURES_INTERVAL_MS, RG_FIGURES_INTERVAL_MS);
	*out = f;
	return RG_OK;
}

static void on_closed(uv_handle_t *h)
{
	rg_figures *f = h->data;
	if (--f->open_handles > 0)
		return;
	free(f->pending);
	free(f->tracks);
	free(f->buf);
	free(f);
}

void rg_figures_stop(rg_figures *f)
{
	if (!f)
		return;
	if (f->dp)
		rg_engine_unsubscribe(f->engine, on_news, f);
	uv_timer_stop(&f->timer);
	uv_timer_stop(&f->soon);
	flush(f);
	uv_close((uv_handle_t *)&f->timer, on_closed);
	uv_close((uv_handle_t *)&f->soon, on_closed);
}
