/* bench/figures.c — what the figures sampler (src/engine/figures.c) costs
 * serve's loop at scale, without serve: one tick's work for N deploy runs
 * (each: its stored route read, its release and baseline read from a real
 * built-in proxy's statistics, two differences), and the store's batch
 * write of their samples (every 5 s, so 5 ticks of both sides). The
 * readings all come from one proxy's slots: a reading's cost depends on the
 * proxy's thread count, not on how many environments there are.
 *
 *   figures-bench CONFIG STATE_DB RUNS ROUNDS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "dataplane/dataplane.h"
#include "engine/figures.h"
#include "store/store.h"
#include "util/timeutil.h"

static int die(const char *what, const rg_error *err)
{
	fprintf(stderr, "figures-bench: %s: %s\n", what, err->message);
	return 1;
}

static rg_route_state canary_route(void)
{
	rg_route_state st;
	memset(&st, 0, sizeof st);
	snprintf(st.env, sizeof st.env, "prod");
	snprintf(st.stable_version, sizeof st.stable_version, "v1");
	snprintf(st.stable, sizeof st.stable, "127.0.0.1:1");
	snprintf(st.canary_version, sizeof st.canary_version, "v2");
	snprintf(st.canary, sizeof st.canary, "127.0.0.1:2");
	st.canary_weight = 10;
	st.seed = 1;
	return st;
}

/* One tick: what sample_run does for each of n runs. */
static int tick(rg_store *s, rg_dataplane *dp, int n, rg_stats_summary prev[2], double *ms)
{
	rg_error err;
	int64_t t0 = rg_mono_us();
	for (int i = 0; i < n; i++) {
		rg_route_state r;
		rg_stats_summary cur;
		rg_figure f;
		if (rg_store_route_get(s, "prod", &r, &err))
			return die("route", &err);
		for (int k = 0; k < 2; k++) {
			if (rg_dataplane_release_stats(dp, "prod", k ? r.stable_version : r.canary_version,
						       0, &cur, &err))
				return die("reading", &err);
			rg_figures_between(&prev[k], &cur, 1000, &f);
			memcpy(&prev[k], &cur, sizeof cur);
		}
	}
	*ms = (double)(rg_mono_us() - t0) / 1000.0;
	return 0;
}

/* One batch: 5 ticks of both sides of n runs, in one transaction. */
static int batch(rg_store *s, const int64_t *ids, int n, rg_figure *rows, double *ms)
{
	rg_error err;
	size_t k = 0;
	int64_t now = rg_now_ms();
	for (int t = 0; t < 5; t++)
		for (int i = 0; i < n; i++)
			for (int side = 0; side < 2; side++) {
				rg_figure *f = &rows[k++];
				memset(f, 0, sizeof *f);
				f->run_id = ids[i];
				f->at = now + t * 1000;
				f->side = side ? RG_FIGURE_BASELINE : RG_FIGURE_CANARY;
				snprintf(f->version, sizeof f->version, side ? "v1" : "v2");
				f->requests = 1000;
				f->rps = 40;
				f->error_rate = 0.01;
			}
	int64_t t0 = rg_mono_us();
	if (rg_store_figures_add(s, rows, k, &err))
		return die("batch", &err);
	*ms = (double)(rg_mono_us() - t0) / 1000.0;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: figures-bench CONFIG STATE_DB RUNS ROUNDS\n");
		return 2;
	}
	int n = atoi(argv[3]), rounds = atoi(argv[4]);
	rg_config cfg;
	rg_diags diags = { 0 };
	rg_error err;
	memset(&cfg, 0, sizeof cfg);
	if (rg_config_load(argv[1], &cfg, &diags, &err))
		return die("config", &err);
	rg_dataplane *dp = NULL;
	rg_store *s = NULL;
	if (rg_dataplane_start(&cfg, &dp, &err))
		return die("proxy", &err);
	rg_route_state st = canary_route();
	if (rg_dataplane_apply(dp, &st, NULL, &err) || rg_store_open(argv[2], &s, &err) ||
	    rg_store_route_put(s, &st, &err))
		return die("set-up", &err);
	int64_t *ids = calloc((size_t)n, sizeof *ids);
	rg_figure *rows = calloc((size_t)n * 10, sizeof *rows);
	static rg_stats_summary prev[2];
	for (int i = 0; i < n; i++) {
		rg_run r;
		memset(&r, 0, sizeof r);
		snprintf(r.env, sizeof r.env, "env%d", i);
		snprintf(r.version, sizeof r.version, "v2");
		r.kind = RG_KIND_DEPLOY;
		r.state = RG_RUN_RUNNING;
		if (rg_store_run_insert(s, &r, &err))
			return die("run", &err);
		ids[i] = r.id;
	}
	int rc = 0;
	for (int i = 0; i < rounds && !rc; i++) {
		double tick_ms = 0, batch_ms = 0;
		rc = tick(s, dp, n, prev, &tick_ms) || batch(s, ids, n, rows, &batch_ms);
		if (!rc)
			printf("runs %d: tick %.2f ms, batch of %d samples %.2f ms\n", n, tick_ms,
			       n * 10, batch_ms);
	}
	free(rows);
	free(ids);
	rg_store_free(s);
	rg_dataplane_stop(dp);
	rg_config_release(&cfg);
	rg_diags_release(&diags);
	return rc;
}
