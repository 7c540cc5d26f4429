/* query.c — the store's read side: runs, steps, events, status and metrics as
 * the JSON shapes of the API (DESIGN §7). It only reads: it must never write,
 * nor hand out a partial object when building one failed half-way. */
#include "store/sqlite_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/jsontext.h"
#include "util/timeutil.h"

/* Every run state, so that metrics list a 0 for states with no runs (a
 * Prometheus series that disappears is harder to alert on than a zero). */
static const char *const run_states[] = {
	"queued", "awaiting_approval", "running", "paused", "verifying", "monitoring",
	"rolling_back", "succeeded", "failed", "rolled_back", "rollback_failed", "aborted",
};

/* ---- JSON building -----------------------------------------------------------
 *
 * Builders record a failed allocation in *bad instead of returning at each
 * field; the caller checks once and drops the whole object. */

static void put(json_t *o, const char *key, json_t *v, bool *bad)
{
	if (!v || json_object_set_new(o, key, v) != 0)  /* set_new drops v on failure */
		*bad = true;
}

/* "name": ISO-8601 UTC or null when 0, and "name_ms": the raw milliseconds. */
static void put_time(json_t *o, const char *name, int64_t ms, bool *bad)
{
	char key[48], iso[40];
	if (ms) {
		rg_time_format_iso(ms, iso, sizeof iso);
		put(o, name, json_string(iso), bad);
	} else {
		put(o, name, json_null(), bad);
	}
	snprintf(key, sizeof key, "%s_ms", name);
	put(o, key, json_integer(ms), bad);
}

static json_t *finish(json_t *o, bool bad)
{
	if (!bad)
		return o;
	json_decref(o);
	return NULL;
}

static json_t *run_object(const rg_run *r)
{
	json_t *o = json_object();
	bool bad = !o;
	if (bad)
		return NULL;
	put(o, "id", json_integer(r->id), &bad);
	put(o, "env", rg_json_text(r->env), &bad);
	put(o, "kind", rg_json_text(rg_run_kind_name(r->kind)), &bad);
	put(o, "version", rg_json_text(r->version), &bad);
	put(o, "from_version", rg_json_text_or_null(r->from_version), &bad);
	put(o, "state", rg_json_text(rg_run_state_name(r->state)), &bad);
	put(o, "phase", rg_json_text(rg_run_phase_name(r->phase)), &bad);
	put(o, "step", rg_json_text_or_null(r->step), &bad);
	put(o, "cursor", json_integer(r->cursor), &bad);
	put(o, "total", json_integer(r->total), &bad);
	put(o, "actor", rg_json_text(r->actor), &bad);
	put(o, "reason", rg_json_text_or_null(r->reason), &bad);
	put(o, "error", rg_json_text_or_null(r->error), &bad);
	put(o, "warning", rg_json_text_or_null(r->warning), &bad);
	put_time(o, "created", r->created, &bad);
	put_time(o, "started", r->started, &bad);
	put_time(o, "ended", r->ended, &bad);
	put_time(o, "deadline", r->deadline, &bad);
	put_time(o, "window_until", r->window_until, &bad);
	put(o, "force", json_boolean(r->force), &bad);
	put(o, "paused", json_boolean(r->paused), &bad);
	put(o, "gate", rg_json_text_or_null(r->gate), &bad);
	put(o, "emergency", json_boolean(r->emergency), &bad);
	put(o, "skip_monitor", json_boolean(r->skip_monitor), &bad);
	return finish(o, bad);
}

/* ---- rows to arrays ------------------------------------------------------------ */

typedef json_t *(*row_fn)(sqlite3_stmt *st);

typedef struct rows_to_json {
	row_fn fn;
	json_t *arr;
	size_t n;
	const char *what;
} rows_to_json;

static rg_err row_to_json(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	rows_to_json *r = ctx;
	r->n++;
	if (json_array_append_new(r->arr, r->fn(st)) != 0)
		return rg_fail(err, RG_ENOMEM, NULL, "%s: out of memory", r->what);
	return RG_OK;
}

/* Steps st (already bound; rc is the result of binding) and appends fn(row)
 * to arr for each row, then releases st. *rows counts the rows if not NULL. */
static rg_err rows_json(rg_store *s, sqlite3_stmt *st, int rc, row_fn fn, json_t *arr,
			size_t *rows, const char *what, rg_error *err)
{
	rows_to_json r = { fn, arr, 0, what };
	rg_err e = rg_sq_each_row(s, st, rc, row_to_json, &r, what, err);
	if (rows)
		*rows = r.n;
	return e;
}

static json_t *run_row(sqlite3_stmt *st)
{
	rg_run r;
	json_t *o = NULL;
	if (rg_sq_run_read(st, &r, NULL) == RG_OK)
		o = run_object(&r);
	rg_run_release(&r);
	return o;
}

/* SELECT phase, idx, name, action, state, attempts, exit_code, started, ended, error */
static json_t *step_row(sqlite3_stmt *st)
{
	json_t *o = json_object();
	bool bad = !o;
	if (bad)
		return NULL;
	int64_t started = sqlite3_column_int64(st, 7), ended = sqlite3_column_int64(st, 8);
	put(o, "name", rg_json_text((const char *)sqlite3_column_text(st, 2)), &bad);
	put(o, "phase", rg_json_text((const char *)sqlite3_column_text(st, 0)), &bad);
	put(o, "idx", json_integer(sqlite3_column_int(st, 1)), &bad);
	put(o, "action", rg_json_text((const char *)sqlite3_column_text(st, 3)), &bad);
	put(o, "state", rg_json_text((const char *)sqlite3_column_text(st, 4)), &bad);
	put(o, "attempts", json_integer(sqlite3_column_int(st, 5)), &bad);
	put(o, "exit_code", json_integer(sqlite3_column_int(st, 6)), &bad);
	put_time(o, "started", started, &bad);
	put_time(o, "ended", ended, &bad);
	put(o, "duration_ms", started && ended >= started ? json_integer(ended - started)
							  : json_null(), &bad);
	put(o, "error", rg_json_text_or_null((const char *)sqlite3_column_text(st, 9)), &bad);
	return finish(o, bad);
}

/* SELECT id, at, type, step, message */
static json_t *event_row(sqlite3_stmt *st)
{
	json_t *o = json_object();
	bool bad = !o;
	if (bad)
		return NULL;
	put(o, "id", json_integer(sqlite3_column_int64(st, 0)), &bad);
	put_time(o, "at", sqlite3_column_int64(st, 1), &bad);
	put(o, "type", rg_json_text((const char *)sqlite3_column_text(st, 2)), &bad);
	put(o, "step", rg_json_text_or_null((const char *)sqlite3_column_text(st, 3)), &bad);
	put(o, "message", rg_json_text((const char *)sqlite3_column_text(st, 4)), &bad);
	return finish(o, bad);
}

/* The stored evidence text as JSON (an object), null when there is none. */
static json_t *evidence_json(const char *text)
{
	if (!text || !*text)
		return json_null();
	json_t *v = json_loads(text, 0, NULL);
	return v ? v : rg_json_text(text);
}

/* SELECT trigger, severity, action, observed, threshold, window, evidence, reason, at */
static json_t *decision_row(sqlite3_stmt *st)
{
	json_t *o = json_object();
	bool bad = !o;
	if (bad)
		return NULL;
	put(o, "trigger", rg_json_text((const char *)sqlite3_column_text(st, 0)), &bad);
	put(o, "severity", rg_json_text_or_null((const char *)sqlite3_column_text(st, 1)), &bad);
	put(o, "action", rg_json_text((const char *)sqlite3_column_text(st, 2)), &bad);
	put(o, "observed", rg_json_text_or_null((const char *)sqlite3_column_text(st, 3)), &bad);
	put(o, "threshold", rg_json_text_or_null((const char *)sqlite3_column_text(st, 4)), &bad);
	put(o, "window", rg_json_text_or_null((const char *)sqlite3_column_text(st, 5)), &bad);
	put(o, "evidence", evidence_json((const char *)sqlite3_column_text(st, 6)), &bad);
	put(o, "reason", rg_json_text_or_null((const char *)sqlite3_column_text(st, 7)), &bad);
	put_time(o, "at", sqlite3_column_int64(st, 8), &bad);
	return finish(o, bad);
}

/* SELECT name, phase, state, ended - started */
static json_t *duration_row(sqlite3_stmt *st)
{
	json_t *o = json_object();
	bool bad = !o;
	if (bad)
		return NULL;
	put(o, "seconds", json_real((double)sqlite3_column_int64(st, 0) / 1000.0), &bad);
	put(o, "count", json_integer(sqlite3_column_int64(st, 1)), &bad);
	return finish(o, bad);
}

/* Creates an empty array under key in o, so that o owns it from the start and
 * one json_decref(o) cleans up whatever happens while it is filled. */
static rg_err attach_array(json_t *o, const char *key, json_t **arr, rg_error *err)
{
	*arr = json_array();
	if (!*arr || json_object_set_new(o, key, *arr) != 0)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	return RG_OK;
}

/* ---- one run ------------------------------------------------------------------------ */

/* Forward phase first, then reverse (undo, verify), each in plan order:
 * 'forward' < 'reverse', so ORDER BY phase, idx walks the primary key. */
static rg_err add_steps(rg_store *s, json_t *o, int64_t id, rg_error *err)
{
	json_t *arr;
	sqlite3_stmt *st = NULL;
	rg_err e = attach_array(o, "steps", &arr, err);
	if (!e)
		e = rg_sq_stmt(s, RG_SQ_Q_STEPS,
			       "SELECT phase, idx, name, \"action\", state, attempts, exit_code,"
			       " started, ended, error FROM step_runs WHERE run_id=?1"
			       " ORDER BY phase, idx",
			       &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, id, &rc);
	return rows_json(s, st, rc, step_row, arr, NULL, "run steps", err);
}

static rg_err add_events(rg_store *s, json_t *arr, int64_t id, int64_t after_id, size_t *n,
			 rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_Q_EVENTS,
			      "SELECT id, at, type, step, message FROM events"
			      " WHERE run_id=?1 AND id>?2 ORDER BY id",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, id, &rc);
	rg_sq_bind_int(st, 2, after_id, &rc);
	return rows_json(s, st, rc, event_row, arr, n, "run events", err);
}

/* Steps a statement expected to give at most one row: *out is that row as
 * JSON, or JSON null when there is none. The statement is reset either way. */
static rg_err optional_row(rg_store *s, sqlite3_stmt *st, int rc, json_t *(*row)(sqlite3_stmt *),
			   const char *what, json_t **out, rg_error *err)
{
	rg_err e = RG_OK;
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = row(st);
	else if (rc == SQLITE_DONE)
		*out = json_null();
	else
		e = rg_sq_fail(s, rc, what, err);
	rg_sq_done(st);
	return e;
}

#define DECISION_COLUMNS \
	"\"trigger\", severity, \"action\", observed, threshold, \"window\", evidence, reason, at"

/* "decision": the newest that acted (anything but notify), else the
 * newest; "decisions": all, oldest first. */
static rg_err add_decision(rg_store *s, json_t *o, int64_t id, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_Q_DECISION,
			      "SELECT " DECISION_COLUMNS " FROM decisions WHERE run_id=?1"
			      " ORDER BY (\"action\" = 'notify'), id DESC LIMIT 1",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, id, &rc);
	json_t *d = NULL;
	e = optional_row(s, st, rc, decision_row, "run decision", &d, err);
	if (!e && (!d || json_object_set_new(o, "decision", d) != 0))
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	if (e)
		return e;
	e = rg_sq_stmt(s, RG_SQ_Q_DECISIONS,
		       "SELECT " DECISION_COLUMNS " FROM decisions WHERE run_id=?1 ORDER BY id", &st, err);
	if (e)
		return e;
	json_t *all = json_array();
	rc = all ? SQLITE_OK : SQLITE_NOMEM;   /* no array: nothing is bound or stepped */
	rg_sq_bind_int(st, 1, id, &rc);
	e = rows_json(s, st, rc, decision_row, all, NULL, "run decisions", err);
	if (!e) {
		if (json_object_set_new(o, "decisions", all) != 0) /* takes all either way */
			e = rg_fail(err, RG_ENOMEM, NULL, "out of memory");
		all = NULL;
	}
	json_decref(all);
	return e;
}

/* The schema versions of the run's release and of the one it replaces. */
static rg_err schemas_of(rg_store *s, const rg_run *r, char *schema, char *from, size_t size,
			 rg_error *err)
{
	rg_err e = rg_store_schema_get(s, r->env, r->version, schema, size, err);
	if (!e && r->from_version[0])
		e = rg_store_schema_get(s, r->env, r->from_version, from, size, err);
	return e;
}

rg_err rg_store_run_json(rg_store *s, int64_t id, json_t **out, rg_error *err)
{
	*out = NULL;
	rg_run r;
	rg_err e = rg_store_run_get(s, id, &r, err);
	json_t *o = e ? NULL : run_object(&r);
	char schema[RG_VNAME_LEN] = "", from_schema[RG_VNAME_LEN] = "";
	if (!e && o)
		e = schemas_of(s, &r, schema, from_schema, sizeof schema, err);
	rg_run_release(&r);
	if (e) {
		json_decref(o);
		return e;
	}
	if (!o)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	bool bad = false;
	put(o, "schema", schema[0] ? rg_json_text(schema) : json_null(), &bad);
	put(o, "from_schema", from_schema[0] ? rg_json_text(from_schema) : json_null(), &bad);
	if (bad) {
		json_decref(o);
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	}
	json_t *events;
	e = add_steps(s, o, id, err);
	if (!e)
		e = attach_array(o, "events", &events, err);
	if (!e)
		e = add_events(s, events, id, 0, NULL, err);
	if (!e)
		e = add_decision(s, o, id, err);
	if (e) {
		json_decref(o);
		return e;
	}
	*out = o;
	return RG_OK;
}

/* ---- lists ------------------------------------------------------------------------------ */

rg_err rg_store_runs_json(rg_store *s, const char *env, int64_t before, int limit, json_t **out,
			  rg_error *err)
{
	*out = NULL;
	if (limit <= 0)
		limit = 20;
	if (limit > 1000)
		limit = 1000;
	/* Two statements rather than "?1 IS NULL OR env=?1", which would keep
	 * the planner from using runs_env for one environment's history. */
	sqlite3_stmt *st = NULL;
	rg_err e = env ? rg_sq_stmt(s, RG_SQ_Q_RUNS_ENV,
				    "SELECT " RG_SQ_RUN_COLUMNS " FROM runs WHERE env=?1 AND id<?3"
				    " ORDER BY id DESC LIMIT ?2",
				    &st, err)
		       : rg_sq_stmt(s, RG_SQ_Q_RUNS,
				    "SELECT " RG_SQ_RUN_COLUMNS " FROM runs WHERE id<?3"
				    " ORDER BY id DESC LIMIT ?2",
				    &st, err);
	if (e)
		return e;
	json_t *arr = json_array();
	int rc = arr ? SQLITE_OK : SQLITE_NOMEM;
	if (env)
		rg_sq_bind_str(st, 1, env, &rc);
	rg_sq_bind_int(st, 2, limit, &rc);
	/* a page walks the primary key, so a deep page costs what the first does */
	rg_sq_bind_int(st, 3, before > 0 ? before : INT64_MAX, &rc);
	e = rows_json(s, st, rc, run_row, arr, NULL, "runs", err);
	if (e) {
		json_decref(arr);
		return e;
	}
	*out = arr;
	return RG_OK;
}

static rg_err run_exists(rg_store *s, int64_t id, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_Q_RUN_EXISTS, "SELECT 1 FROM runs WHERE id=?1", &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		e = rg_fail(err, RG_ENOTFOUND, "run", "no run %lld", (long long)id);
	else if (rc != SQLITE_ROW)
		e = rg_sq_fail(s, rc, "run exists", err);
	rg_sq_done(st);
	return e;
}

/* Polled by every SSE client, so the existence check of the run is only paid
 * when there is nothing new to send. */
rg_err rg_store_events_json(rg_store *s, int64_t run_id, int64_t after_id, json_t **out,
			    rg_error *err)
{
	*out = NULL;
	json_t *arr = json_array();
	if (!arr)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	size_t n = 0;
	rg_err e = add_events(s, arr, run_id, after_id, &n, err);
	if (!e && n == 0)
		e = run_exists(s, run_id, err);
	if (e) {
		json_decref(arr);
		return e;
	}
	*out = arr;
	return RG_OK;
}

/* ---- status ---------------------------------------------------------------------------- */

static rg_err status_live(rg_store *s, const char *env, json_t *o, rg_error *err)
{
	rg_release rel;
	rg_err e = rg_store_release_current(s, env, &rel, err);
	if (e == RG_ENOTFOUND) {
		rg_error_clear(err);
		return json_object_set_new(o, "live", json_null()) == 0
			       ? RG_OK : rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	}
	if (e)
		return e;
	json_t *live = json_object();
	bool bad = !live;
	if (live) {
		put(live, "version", rg_json_text(rel.version), &bad);
		put(live, "state", rg_json_text(rg_release_state_name(rel.state)), &bad);
		put_time(live, "verified_at", rel.verified_at, &bad);
		char schema[RG_VNAME_LEN];
		if (!bad && (e = rg_store_schema_get(s, env, rel.version, schema, sizeof schema, err))) {
			json_decref(live);
			return e;
		}
		if (!bad)
			put(live, "schema", schema[0] ? rg_json_text(schema) : json_null(), &bad);
	}
	put(o, "live", finish(live, bad), &bad);
	return bad ? rg_fail(err, RG_ENOMEM, NULL, "out of memory") : RG_OK;
}

/* The short form of the run in progress, for `rollguard status`. */
static json_t *run_brief(const rg_run *r)
{
	json_t *o = json_object();
	bool bad = !o;
	if (bad)
		return NULL;
	put(o, "id", json_integer(r->id), &bad);
	put(o, "kind", rg_json_text(rg_run_kind_name(r->kind)), &bad);
	put(o, "version", rg_json_text(r->version), &bad);
	put(o, "state", rg_json_text(rg_run_state_name(r->state)), &bad);
	put(o, "step", rg_json_text_or_null(r->step), &bad);
	put(o, "cursor", json_integer(r->cursor), &bad);
	put(o, "total", json_integer(r->total), &bad);
	put_time(o, "started", r->started, &bad);
	return finish(o, bad);
}

static rg_err status_run(rg_store *s, const char *env, json_t *o, rg_error *err)
{
	rg_run r;
	bool found;
	rg_err e = rg_sq_run_unfinished(s, env, &r, &found, err);
	json_t *v = e ? NULL : found ? run_brief(&r) : json_null();
	rg_run_release(&r);
	if (e)
		return e;
	bool bad = false;
	put(o, "run", v, &bad);
	return bad ? rg_fail(err, RG_ENOMEM, NULL, "out of memory") : RG_OK;
}

static rg_err status_last_run(rg_store *s, const char *env, json_t *o, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_Q_LAST_RUN,
			      "SELECT " RG_SQ_RUN_COLUMNS " FROM runs WHERE env=?1"
			      " ORDER BY id DESC LIMIT 1",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_str(st, 1, env, &rc);
	json_t *v = NULL;
	e = optional_row(s, st, rc, run_row, "last run", &v, err);
	bool bad = false;
	if (!e)
		put(o, "last_run", v, &bad);
	return bad ? rg_fail(err, RG_ENOMEM, NULL, "out of memory") : e;
}

rg_err rg_store_read_begin(rg_store *s, bool *began, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	*began = false;
	if (!sqlite3_get_autocommit(s->db))
		return RG_OK;   /* inside a transaction already: its snapshot */
	rg_err e = rg_sq_stmt(s, RG_SQ_Q_READ_BEGIN, "BEGIN", &st, err);
	if (!e)
		e = rg_sq_exec(s, st, SQLITE_OK, "begin reading", err);
	*began = !e;
	return e;
}

void rg_store_read_end(rg_store *s, bool began)
{
	sqlite3_stmt *st = NULL;
	rg_error ignored;
	if (!began || sqlite3_get_autocommit(s->db))
		return;
	if (rg_sq_stmt(s, RG_SQ_Q_READ_END, "COMMIT", &st, &ignored) == RG_OK)
		rg_sq_exec(s, st, SQLITE_OK, "end reading", &ignored);
}

rg_err rg_store_status_json(rg_store *s, const char *env, json_t **out, rg_error *err)
{
	*out = NULL;
	if (!env)
		return rg_fail(err, RG_EINVAL, "env", "status needs an environment");
	json_t *o = json_object();
	if (!o || json_object_set_new(o, "env", rg_json_text(env)) != 0) {
		json_decref(o);
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	}
	/* One read transaction for its five or six statements: one snapshot,
	 * and the WAL read lock taken once instead of per statement (a tenth
	 * of GET /status's CPU at 200 environments). */
	bool began = false;
	rg_err e = rg_store_read_begin(s, &began, err);
	if (!e)
		e = status_live(s, env, o, err);
	if (!e)
		e = status_run(s, env, o, err);
	if (!e)
		e = status_last_run(s, env, o, err);
	rg_store_read_end(s, began);
	if (e) {
		json_decref(o);
		return e;
	}
	*out = o;
	return RG_OK;
}

/* ---- metrics ----------------------------------------------------------------------------- */

static rg_err state_count_row(sqlite3_stmt *st, void *by, rg_error *err)
{
	bool bad = false;
	put(by, (const char *)sqlite3_column_text(st, 0), json_integer(sqlite3_column_int64(st, 1)),
	    &bad);
	return bad ? rg_fail(err, RG_ENOMEM, NULL, "out of memory") : RG_OK;
}

static rg_err metrics_by_state(rg_store *s, json_t *o, rg_error *err)
{
	json_t *by = json_object();
	bool bad = !by;
	for (size_t i = 0; by && i < sizeof run_states / sizeof run_states[0]; i++)
		put(by, run_states[i], json_integer(0), &bad);
	put(o, "runs_by_state", by, &bad);
	if (bad)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_Q_RUNS_BY_STATE,
			      "SELECT state, count(*) FROM runs GROUP BY state", &st, err);
	if (e)
		return e;
	return rg_sq_each_row(s, st, SQLITE_OK, state_count_row, by, "runs by state", err);
}

/* A rollback happened when a deploy ended rolled back (or tried to and
 * failed) and whenever someone ran a manual rollback. */
static rg_err metrics_rollbacks(rg_store *s, json_t *o, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_Q_ROLLBACKS,
			      "SELECT count(*) FROM runs WHERE kind='rollback'"
			      " OR state IN ('rolled_back','rollback_failed')",
			      &st, err);
	if (e)
		return e;
	int rc = sqlite3_step(st);
	bool bad = false;
	if (rc == SQLITE_ROW)
		put(o, "rollbacks_total", json_integer(sqlite3_column_int64(st, 0)), &bad);
	else
		e = rg_sq_fail(s, rc, "rollbacks", err);
	rg_sq_done(st);
	return bad ? rg_fail(err, RG_ENOMEM, NULL, "out of memory") : e;
}

/* Rounded up to 10 ms so the rows stay few. */
#define DURATION_SQL                                                                   \
	"SELECT ((s.ended - s.started + 9) / 10) * 10 AS d, count(*) FROM step_runs s"   \
	" WHERE s.started > 0 AND s.ended >= s.started AND s.state IN ('succeeded','failed')"

static rg_err metrics_durations(rg_store *s, json_t *o, rg_error *err)
{
	json_t *arr;
	sqlite3_stmt *st = NULL;
	rg_err e = attach_array(o, "step_durations", &arr, err);
	if (!e)
		e = rg_sq_stmt(s, RG_SQ_Q_STEP_DURATIONS,
			       /* The steps of finished runs: those of a run still
				* going are counted when it finishes (api/counters.h). */
			       DURATION_SQL " AND s.run_id IN (SELECT id FROM runs WHERE state IN "
			       RG_SQ_TERMINAL ") GROUP BY d ORDER BY d",
			       &st, err);
	if (e)
		return e;
	return rows_json(s, st, SQLITE_OK, duration_row, arr, NULL, "step durations", err);
}

rg_err rg_store_run_step_durations_json(rg_store *s, int64_t run_id, json_t **out, rg_error *err)
{
	*out = NULL;
	json_t *arr = json_array();
	sqlite3_stmt *st = NULL;
	rg_err e = arr ? rg_sq_stmt(s, RG_SQ_Q_RUN_STEP_DURATIONS,
				    DURATION_SQL " AND s.run_id = ?1 GROUP BY d ORDER BY d", &st, err)
		       : rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	int rc = SQLITE_OK;
	if (!e) {
		rg_sq_bind_int(st, 1, run_id, &rc);
		e = rows_json(s, st, rc, duration_row, arr, NULL, "step durations", err);
	}
	if (e) {
		json_decref(arr);
		return e;
	}
	*out = arr;
	return RG_OK;
}

rg_err rg_store_metrics_json(rg_store *s, json_t **out, rg_error *err)
{
	*out = NULL;
	json_t *o = json_object();
	if (!o)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	rg_err e = metrics_by_state(s, o, err);
	if (!e)
		e = metrics_rollbacks(s, o, err);
	if (!e)
		e = metrics_durations(s, o, err);
	if (e) {
		json_decref(o);
		return e;
	}
	*out = o;
	return RG_OK;
}
