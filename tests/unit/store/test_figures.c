/* test_figures.c — a run's figures over time in the store (store.h):
 * batches written in one transaction, their JSON for the charts (order,
 * fields, the first decision's time), a run gone meanwhile left out, what
 * the count says, durability across a reopen, and the time one batch of
 * 200 environments' samples takes. */
#include <criterion/criterion.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "util/timeutil.h"

#include "../support/store_dir.h"

static store_dir tmp;
static rg_store *s;
static rg_error err;

static void setup(void)
{
	store_dir_make(&tmp);
	cr_assert_eq(rg_store_open(tmp.path, &s, &err), RG_OK, "%s", err.message);
}

static void teardown(void)
{
	rg_store_free(s);
	s = NULL;
	store_dir_remove(&tmp);
}

TestSuite(store_figures, .init = setup, .fini = teardown);

static int64_t new_run(const char *env, const char *version)
{
	rg_run r;
	memset(&r, 0, sizeof r);
	snprintf(r.env, sizeof r.env, "%s", env);
	r.kind = RG_KIND_DEPLOY;
	snprintf(r.version, sizeof r.version, "%s", version);
	r.state = RG_RUN_RUNNING;
	r.phase = RG_PHASE_FORWARD;
	cr_assert_eq(rg_store_run_insert(s, &r, &err), RG_OK, "%s", err.message);
	return r.id;
}

static rg_figure sample(int64_t run_id, int64_t at, rg_figure_side side, const char *version,
			double error_rate)
{
	rg_figure f;
	memset(&f, 0, sizeof f);
	f.run_id = run_id;
	f.at = at;
	f.side = side;
	snprintf(f.version, sizeof f.version, "%s", version);
	f.requests = at / 10;
	f.rps = 40.5;
	f.error_rate = error_rate;
	f.p50_ms = 1.5;
	f.p95_ms = 4.25;
	f.p99_ms = 9.0;
	return f;
}

static json_t *figures_of(int64_t run_id)
{
	json_t *doc = NULL;
	cr_assert_eq(rg_store_figures_json(s, run_id, 0, &doc, &err), RG_OK, "%s", err.message);
	return doc;
}

static json_t *samples_of(json_t *doc)
{
	json_t *a = json_object_get(doc, "samples");
	cr_assert(json_is_array(a));
	return a;
}

Test(store_figures, batch_is_read_back_by_time_canary_first)
{
	int64_t id = new_run("prod", "v2");
	/* written out of order: the JSON orders by time, canary before baseline */
	rg_figure rows[] = {
		sample(id, 1700000002000, RG_FIGURE_BASELINE, "v1", 0.0),
		sample(id, 1700000002000, RG_FIGURE_CANARY, "v2", 0.3),
		sample(id, 1700000001000, RG_FIGURE_BASELINE, "v1", 0.0),
		sample(id, 1700000001000, RG_FIGURE_CANARY, "v2", 0.25),
	};
	cr_assert_eq(rg_store_figures_add(s, rows, 4, &err), RG_OK, "%s", err.message);
	int64_t n = 0;
	cr_assert_eq(rg_store_figures_count(s, id, &n, &err), RG_OK, "%s", err.message);
	cr_assert_eq(n, 4);
	json_t *doc = figures_of(id);
	cr_assert_eq(json_integer_value(json_object_get(doc, "run")), id);
	cr_assert_eq(json_integer_value(json_object_get(doc, "interval_ms")), RG_FIGURES_INTERVAL_MS);
	cr_assert(json_is_null(json_object_get(doc, "decision_at_ms")), "no decision yet");
	json_t *a = samples_of(doc);
	cr_assert_eq(json_array_size(a), 4);
	const char *sides[] = { "canary", "baseline", "canary", "baseline" };
	for (size_t i = 0; i < 4; i++) {
		json_t *o = json_array_get(a, i);
		cr_assert_str_eq(json_string_value(json_object_get(o, "side")), sides[i]);
		cr_assert_eq(json_integer_value(json_object_get(o, "at_ms")),
			     i < 2 ? 1700000001000 : 1700000002000);
	}
	json_t *o = json_array_get(a, 0);
	cr_assert_str_eq(json_string_value(json_object_get(o, "at")), "2023-11-14T22:13:21.000Z");
	cr_assert_str_eq(json_string_value(json_object_get(o, "version")), "v2");
	cr_assert_eq(json_integer_value(json_object_get(o, "requests")), 170000000100);
	cr_assert_float_eq(json_real_value(json_object_get(o, "rps")), 40.5, 1e-9);
	cr_assert_float_eq(json_real_value(json_object_get(o, "error_rate")), 0.25, 1e-9);
	cr_assert_float_eq(json_real_value(json_object_get(o, "p50_ms")), 1.5, 1e-9);
	cr_assert_float_eq(json_real_value(json_object_get(o, "p95_ms")), 4.25, 1e-9);
	cr_assert_float_eq(json_real_value(json_object_get(o, "p99_ms")), 9.0, 1e-9);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 1), "version")), "v1");
	json_decref(doc);
	/* what is new since the first tick */
	cr_assert_eq(rg_store_figures_json(s, id, 1700000001000, &doc, &err), RG_OK, "%s",
		     err.message);
	a = samples_of(doc);
	cr_assert_eq(json_array_size(a), 2);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(a, 0), "at_ms")),
		     1700000002000);
	json_decref(doc);
}

Test(store_figures, decision_at_is_the_first_decision)
{
	int64_t id = new_run("prod", "v2");
	rg_decision d;
	memset(&d, 0, sizeof d);
	snprintf(d.trigger, sizeof d.trigger, "errors");
	snprintf(d.action, sizeof d.action, "notify");
	int64_t before = rg_now_ms();
	cr_assert_eq(rg_store_decision_put(s, id, &d, &err), RG_OK, "%s", err.message);
	int64_t after = rg_now_ms();
	snprintf(d.action, sizeof d.action, "rollback");
	cr_assert_eq(rg_store_decision_put(s, id, &d, &err), RG_OK, "%s", err.message);
	json_t *doc = figures_of(id);
	json_t *at = json_object_get(doc, "decision_at_ms");
	cr_assert(json_is_integer(at));
	cr_assert_geq(json_integer_value(at), before);
	cr_assert_leq(json_integer_value(at), after, "the first one, not the rollback after it");
	json_decref(doc);
}

Test(store_figures, unknown_run_and_run_without_samples)
{
	json_t *doc = NULL;
	cr_assert_eq(rg_store_figures_json(s, 4242, 0, &doc, &err), RG_ENOTFOUND);
	cr_assert_null(doc);
	int64_t id = new_run("prod", "v1");
	doc = figures_of(id);
	cr_assert_eq(json_array_size(samples_of(doc)), 0, "a run never routed has none");
	json_decref(doc);
	cr_assert_eq(rg_store_figures_add(s, NULL, 0, &err), RG_OK, "an empty batch");
}

Test(store_figures, a_run_gone_is_left_out_not_the_batch)
{
	int64_t id = new_run("prod", "v2");
	rg_figure rows[] = {
		sample(id, 1000, RG_FIGURE_CANARY, "v2", 0.1),
		sample(id + 100, 1000, RG_FIGURE_CANARY, "v9", 0.1),   /* pruned meanwhile */
		sample(id, 2000, RG_FIGURE_CANARY, "v2", 0.1),
	};
	cr_assert_eq(rg_store_figures_add(s, rows, 3, &err), RG_OK, "%s", err.message);
	int64_t n = 0;
	cr_assert_eq(rg_store_figures_count(s, id, &n, &err), RG_OK, "%s", err.message);
	cr_assert_eq(n, 2);
	cr_assert_eq(rg_store_figures_count(s, id + 100, &n, &err), RG_OK, "%s", err.message);
	cr_assert_eq(n, 0);
}

Test(store_figures, not_a_number_is_stored_as_zero)
{
	int64_t id = new_run("prod", "v2");
	rg_figure f = sample(id, 1000, RG_FIGURE_CANARY, "v2", NAN);
	f.rps = INFINITY;
	cr_assert_eq(rg_store_figures_add(s, &f, 1, &err), RG_OK, "%s", err.message);
	json_t *doc = figures_of(id);
	json_t *o = json_array_get(samples_of(doc), 0);
	cr_assert_float_eq(json_real_value(json_object_get(o, "error_rate")), 0.0, 1e-12);
	cr_assert_float_eq(json_real_value(json_object_get(o, "rps")), 0.0, 1e-12);
	json_decref(doc);
}

Test(store_figures, samples_survive_a_reopen)
{
	int64_t id = new_run("prod", "v2");
	rg_figure f = sample(id, 1000, RG_FIGURE_CANARY, "v2", 0.3);
	cr_assert_eq(rg_store_figures_add(s, &f, 1, &err), RG_OK, "%s", err.message);
	rg_store_free(s);
	s = NULL;
	cr_assert_eq(rg_store_open(tmp.path, &s, &err), RG_OK, "%s", err.message);
	json_t *doc = figures_of(id);
	cr_assert_eq(json_array_size(samples_of(doc)), 1);
	json_decref(doc);
}

/* 200 environments with a canary each, both sides, five ticks: one batch
 * of 2000 rows in one transaction (one fsync). */
Test(store_figures, one_batch_for_200_environments)
{
	enum { ENVS = 200, TICKS = 5 };
	static rg_figure rows[ENVS * 2 * TICKS];
	int64_t ids[ENVS];
	for (int e = 0; e < ENVS; e++) {
		char env[32];
		snprintf(env, sizeof env, "env%d", e);
		ids[e] = new_run(env, "v2");
	}
	size_t n = 0;
	for (int t = 0; t < TICKS; t++)
		for (int e = 0; e < ENVS; e++) {
			rows[n++] = sample(ids[e], 1000 + t * 1000, RG_FIGURE_CANARY, "v2", 0.1);
			rows[n++] = sample(ids[e], 1000 + t * 1000, RG_FIGURE_BASELINE, "v1", 0.0);
		}
	int64_t t0 = rg_mono_us();
	cr_assert_eq(rg_store_figures_add(s, rows, n, &err), RG_OK, "%s", err.message);
	int64_t us = rg_mono_us() - t0;
	cr_log_info("figures: %zu samples of %d runs in one transaction: %.1f ms", n, ENVS,
		    (double)us / 1000.0);
	int64_t c = 0;
	cr_assert_eq(rg_store_figures_count(s, ids[ENVS - 1], &c, &err), RG_OK, "%s", err.message);
	cr_assert_eq(c, 2 * TICKS);
}
