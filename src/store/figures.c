/* figures.c — a run's figures over time (store.h): the samples of both
 * sides of a canary that engine/figures.c takes, written a batch at a time,
 * and their JSON for the dashboard's charts. Samples are a record, never a
 * state: nothing here may refuse or delay a run's own writes. */
#include <math.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "util/jsontext.h"
#include "util/timeutil.h"

static const char *const side_names[RG_FIGURE_SIDE_COUNT] = { "canary", "baseline" };

const char *rg_figure_side_name(rg_figure_side s)
{
	return (unsigned)s < RG_FIGURE_SIDE_COUNT ? side_names[s] : "canary";
}

/* ---- writes ------------------------------------------------------------------------ */

/* The run may have been pruned since the sample was taken (a batch is
 * written seconds later): such a row is left out by the EXISTS rather than
 * failing the foreign key, and with it the whole batch. */
static rg_err add_one(rg_store *s, const rg_figure *f, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_FIGURE_ADD,
			      "INSERT INTO run_figures(run_id, at, side, version, requests, rps,"
			      " error_rate, p50_ms, p95_ms, p99_ms)"
			      " SELECT ?1,?2,?3,?4,?5,?6,?7,?8,?9,?10"
			      " WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?1)",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, f->run_id, &rc);
	rg_sq_bind_int(st, 2, f->at, &rc);
	rg_sq_bind_str(st, 3, rg_figure_side_name(f->side), &rc);
	rg_sq_bind_buf(st, 4, f->version, sizeof f->version, &rc);
	rg_sq_bind_int(st, 5, f->requests, &rc);
	const double reals[] = { f->rps, f->error_rate, f->p50_ms, f->p95_ms, f->p99_ms };
	for (int i = 0; i < 5 && rc == SQLITE_OK; i++)
		rc = sqlite3_bind_double(st, 6 + i, isfinite(reals[i]) ? reals[i] : 0.0);
	return rg_sq_exec(s, st, rc, "record figures", err);
}

rg_err rg_store_figures_add(rg_store *s, const rg_figure *rows, size_t n, rg_error *err)
{
	if (n == 0)
		return RG_OK;
	rg_err e = rg_store_begin(s, err);
	for (size_t i = 0; !e && i < n; i++)
		e = add_one(s, &rows[i], err);
	if (!e)
		e = rg_store_commit(s, err);
	if (e)
		rg_store_abandon(s);
	return e;
}

/* The one value sql (bound to run_id as ?1) answers: *found false when it
 * has no row, *v 0 when the value is NULL. */
static rg_err one_value(rg_store *s, enum rg_sq_stmt id, const char *sql, int64_t run_id,
			const char *what, bool *found, int64_t *v, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	*found = false;
	*v = 0;
	rg_err e = rg_sq_stmt(s, id, sql, &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, run_id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*found = true;
		*v = sqlite3_column_int64(st, 0);   /* NULL reads as 0 */
	} else if (rc != SQLITE_DONE) {
		e = rg_sq_fail(s, rc, what, err);
	}
	rg_sq_done(st);
	return e;
}

rg_err rg_store_figures_count(rg_store *s, int64_t run_id, int64_t *n, rg_error *err)
{
	bool found;
	return one_value(s, RG_SQ_FIGURES_COUNT, "SELECT count(*) FROM run_figures WHERE run_id = ?1",
			 run_id, "count figures", &found, n, err);
}

/* ---- the API's JSON ---------------------------------------------------------------- */

/* When run_id's first decision was stored: *at 0 when it has none, *found
 * false for an unknown run. */
static rg_err first_decision(rg_store *s, int64_t run_id, bool *found, int64_t *at, rg_error *err)
{
	return one_value(s, RG_SQ_Q_FIRST_DECISION,
			 "SELECT (SELECT d.at FROM decisions d WHERE d.run_id = r.id"
			 " ORDER BY d.id LIMIT 1) FROM runs r WHERE r.id = ?1",
			 run_id, "read the first decision", found, at, err);
}

static rg_err sample_row(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	json_t *samples = ctx;
	char iso[40], version[RG_VNAME_LEN], side[16];
	int64_t at = sqlite3_column_int64(st, 0);
	rg_time_format_iso(at, iso, sizeof iso);
	rg_sq_text(st, 1, side, sizeof side);
	rg_sq_text(st, 2, version, sizeof version);
	json_t *o = json_pack("{s:s,s:I,s:s,s:o,s:I,s:f,s:f,s:f,s:f,s:f}", "at", iso,
			      "at_ms", (json_int_t)at, "side", side, "version",
			      rg_json_text(version), "requests",
			      (json_int_t)sqlite3_column_int64(st, 3), "rps",
			      sqlite3_column_double(st, 4), "error_rate", sqlite3_column_double(st, 5),
			      "p50_ms", sqlite3_column_double(st, 6), "p95_ms",
			      sqlite3_column_double(st, 7), "p99_ms", sqlite3_column_double(st, 8));
	if (!o || json_array_append_new(samples, o) != 0)
		return rg_fail(err, RG_ENOMEM, NULL, "figures: out of memory");
	return RG_OK;
}

rg_err rg_store_figures_json(rg_store *s, int64_t run_id, int64_t after_ms, json_t **out,
			     rg_error *err)
{
	*out = NULL;
	bool found = false;
	int64_t decided = 0;
	rg_err e = first_decision(s, run_id, &found, &decided, err);
	if (!e && !found)
		e = rg_fail(err, RG_ENOTFOUND, NULL, "no run %lld", (long long)run_id);
	sqlite3_stmt *st = NULL;
	if (!e)
		e = rg_sq_stmt(s, RG_SQ_Q_FIGURES,
			       "SELECT at, side, version, requests, rps, error_rate, p50_ms, p95_ms,"
			       " p99_ms FROM run_figures WHERE run_id = ?1 AND at > ?2"
			       " ORDER BY at, side = 'baseline', rowid",
			       &st, err);
	if (e)
		return e;
	json_t *samples = json_array();
	if (!samples) {
		rg_sq_done(st);
		return rg_fail(err, RG_ENOMEM, NULL, "figures: out of memory");
	}
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, run_id, &rc);
	rg_sq_bind_int(st, 2, after_ms, &rc);
	e = rg_sq_each_row(s, st, rc, sample_row, samples, "read figures", err);
	json_t *doc = e ? NULL
			: json_pack("{s:I,s:I,s:o,s:o}", "run", (json_int_t)run_id, "interval_ms",
				    (json_int_t)RG_FIGURES_INTERVAL_MS, "decision_at_ms",
				    decided ? json_integer(decided) : json_null(), "samples", samples);
	if (e) {
		json_decref(samples);
		return e;
	}
	if (!doc)
		return rg_fail(err, RG_ENOMEM, NULL, "figures: out of memory");
	*out = doc;
	return RG_OK;
}
