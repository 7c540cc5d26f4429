/* test_store.c — the SQLite store against a fresh database in a temp dir:
 * migrations, the one-unfinished-run rule, compare-and-set, releases,
 * outputs, steps, events, the JSON shapes, transactions and durability. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"

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

static rg_run make_run(const char *env, const char *kind, const char *version,
		       const char *state)
{
	rg_run r;
	memset(&r, 0, sizeof r);
	snprintf(r.env, sizeof r.env, "%s", env);
	cr_assert(rg_run_kind_parse(kind, &r.kind), "%s", kind);
	snprintf(r.version, sizeof r.version, "%s", version);
	cr_assert(rg_run_state_parse(state, &r.state), "%s", state);
	r.phase = RG_PHASE_FORWARD;
	snprintf(r.actor, sizeof r.actor, "alice");
	return r;
}

static int64_t insert_run(const char *env, const char *version, const char *state)
{
	rg_run r = make_run(env, "deploy", version, state);
	cr_assert_eq(rg_store_run_insert(s, &r, &err), RG_OK, "%s", err.message);
	cr_assert_gt(r.id, 0);
	return r.id;
}

static void put_step(int64_t run_id, const char *phase, int idx, const char *name,
		     const char *state, int64_t started, int64_t ended)
{
	rg_step_run sr;
	memset(&sr, 0, sizeof sr);
	sr.run_id = run_id;
	snprintf(sr.phase, sizeof sr.phase, "%s", phase);
	sr.idx = idx;
	snprintf(sr.name, sizeof sr.name, "%s", name);
	snprintf(sr.action, sizeof sr.action, "%s", strcmp(phase, "forward") ? "undo" : "run");
	snprintf(sr.state, sizeof sr.state, "%s", state);
	sr.attempts = 1;
	sr.exit_code = strcmp(state, "failed") ? 0 : 3;
	sr.started = started;
	sr.ended = ended;
	cr_assert_eq(rg_store_step_put(s, &sr, &err), RG_OK, "%s", err.message);
}

static int user_version_of(const char *p)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	int v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static const char *jget_str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	cr_assert(json_is_string(v), "field '%s' is not a string", key);
	return json_string_value(v);
}

static json_int_t jget_int(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	cr_assert(json_is_integer(v), "field '%s' is not an integer", key);
	return json_integer_value(v);
}

static void assert_null(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	cr_assert(v && json_is_null(v), "field '%s' is not null", key);
}

/* ---- open and migrations ------------------------------------------------------ */

TestSuite(store_open, .init = setup, .fini = teardown);

Test(store_open, reopen_keeps_data_and_version)
{
	int64_t id = insert_run("staging", "v1.0.0", "running");
	rg_store_free(s);
	s = NULL;
	cr_assert_eq(user_version_of(tmp.path), 16);
	cr_assert_eq(rg_store_open(tmp.path, &s, &err), RG_OK, "%s", err.message);
	cr_assert_eq(user_version_of(tmp.path), 16);
	rg_run r;
	cr_assert_eq(rg_store_run_get(s, id, &r, &err), RG_OK, "%s", err.message);
	cr_assert_str_eq(r.version, "v1.0.0");
	cr_assert_str_eq(rg_run_state_name(r.state), "running");
	cr_assert_gt(r.created, 0);
	rg_run_release(&r);
}

Test(store_open, newer_schema_is_refused)
{
	rg_store_free(s);
	s = NULL;
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(tmp.path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	cr_assert_eq(rg_store_open(tmp.path, &s, &err), RG_ESTORE);
	cr_assert_null(s);
	cr_assert(strstr(err.message, "newer"), "%s", err.message);
}

Test(store_open, wal_mode_is_on)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_open_v2(tmp.path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

Test(store_open, unopenable_path_fails)
{
	rg_store *other = NULL;
	cr_assert_eq(rg_store_open("/nonexistent-dir/x/state.db", &other, &err), RG_ESTORE);
	cr_assert_null(other);
}

/* ---- runs -------------------------------------------------------------------------- */

TestSuite(store_runs, .init = setup, .fini = teardown);

Test(store_runs, terminal_states)
{
	const char *terminal[] = { "succeeded", "failed", "rolled_back", "rollback_failed",
				   "aborted" };
	const char *live[] = { "queued", "awaiting_approval", "running", "paused", "verifying",
			       "monitoring", "rolling_back" };
	rg_run_state st;
	for (size_t i = 0; i < 5; i++) {
		cr_assert(rg_run_state_parse(terminal[i], &st), "%s", terminal[i]);
		cr_assert(rg_run_state_terminal(st), "%s", terminal[i]);
	}
	for (size_t i = 0; i < 7; i++) {
		cr_assert(rg_run_state_parse(live[i], &st), "%s", live[i]);
		cr_assert_not(rg_run_state_terminal(st), "%s", live[i]);
	}
	cr_assert_not(rg_run_state_parse(NULL, &st));
	cr_assert_not(rg_run_state_parse("runn", &st), "whole names only");
}

Test(store_runs, second_unfinished_run_conflicts)
{
	int64_t id = insert_run("production", "v1.2.0", "running");
	rg_run r = make_run("production", "deploy", "v1.3.0", "queued");
	cr_assert_eq(rg_store_run_insert(s, &r, &err), RG_ECONFLICT);
	char want[128];
	snprintf(want, sizeof want,
		 "environment 'production' has run %lld (deploy v1.2.0) in state running",
		 (long long)id);
	cr_assert_str_eq(err.message, want);
	/* Another environment is independent. */
	insert_run("staging", "v1.3.0", "queued");
}

Test(store_runs, finished_run_frees_the_environment)
{
	int64_t id = insert_run("production", "v1.2.0", "running");
	rg_run r;
	cr_assert_eq(rg_store_run_get(s, id, &r, &err), RG_OK);
	r.state = RG_RUN_SUCCEEDED;
	cr_assert_eq(rg_store_run_update(s, &r, RG_RUN_RUNNING, &err), RG_OK, "%s", err.message);
	rg_run_release(&r);
	insert_run("production", "v1.3.0", "queued");
}

Test(store_runs, compare_and_set)
{
	int64_t id = insert_run("production", "v1.2.0", "running");
	rg_run r;
	cr_assert_eq(rg_store_run_get(s, id, &r, &err), RG_OK);
	r.state = RG_RUN_MONITORING;
	snprintf(r.step, sizeof r.step, "smoke");
	r.cursor = 4;
	r.total = 5;
	r.window_until = 123456;
	r.paused = true;
	r.plan = strdup("{\"entries\":[]}");
	cr_assert_eq(rg_store_run_update(s, &r, RG_RUN_RUNNING, &err), RG_OK, "%s", err.message);

	/* A second writer that still believes the run is running loses. */
	r.state = RG_RUN_ABORTED;
	cr_assert_eq(rg_store_run_update(s, &r, RG_RUN_RUNNING, &err), RG_ECONFLICT);
	char want[96];
	snprintf(want, sizeof want, "run %lld is no longer in state 'running'", (long long)id);
	cr_assert_str_eq(err.message, want);
	rg_run_release(&r);

	rg_run got;
	cr_assert_eq(rg_store_run_get(s, id, &got, &err), RG_OK);
	cr_assert_str_eq(rg_run_state_name(got.state), "monitoring");
	cr_assert_str_eq(got.step, "smoke");
	cr_assert_eq(got.cursor, 4);
	cr_assert_eq(got.total, 5);
	cr_assert_eq(got.window_until, 123456);
	cr_assert(got.paused);
	cr_assert_str_eq(got.plan, "{\"entries\":[]}");
	rg_run_release(&got);
}

Test(store_runs, unknown_run)
{
	rg_run r = make_run("production", "deploy", "v1", "running");
	r.id = 99;
	cr_assert_eq(rg_store_run_update(s, &r, RG_RUN_RUNNING, &err), RG_ENOTFOUND);
	cr_assert_eq(rg_store_run_get(s, 99, &r, &err), RG_ENOTFOUND);
	cr_assert_str_eq(err.message, "no run 99");
}

Test(store_runs, invalid_state_is_rejected)
{
	/* The types hold no such names; a value outside them (a bug, a
	 * corruption) is still refused by the table's CHECK constraints. */
	rg_run_state st;
	rg_run_kind kind;
	cr_assert_not(rg_run_state_parse("exploded", &st));
	cr_assert_not(rg_run_kind_parse("upgrade", &kind));
	rg_run r = make_run("production", "deploy", "v1", "running");
	r.state = (rg_run_state)99;
	cr_assert_eq(rg_store_run_insert(s, &r, &err), RG_EINVAL);
	r = make_run("production", "deploy", "v1", "running");
	r.kind = (rg_run_kind)99;
	cr_assert_eq(rg_store_run_insert(s, &r, &err), RG_EINVAL);
}

Test(store_runs, unfinished_ids_oldest_first)
{
	int64_t a = insert_run("a", "v1", "running");
	int64_t done = insert_run("b", "v1", "running");
	int64_t c = insert_run("c", "v1", "paused");
	rg_run r;
	cr_assert_eq(rg_store_run_get(s, done, &r, &err), RG_OK);
	r.state = RG_RUN_FAILED;
	cr_assert_eq(rg_store_run_update(s, &r, RG_RUN_RUNNING, &err), RG_OK);
	rg_run_release(&r);
	int64_t *ids;
	size_t n;
	cr_assert_eq(rg_store_runs_unfinished(s, &ids, &n, &err), RG_OK);
	cr_assert_eq(n, 2);
	cr_assert_eq(ids[0], a);
	cr_assert_eq(ids[1], c);
	free(ids);
}

/* ---- releases and outputs ----------------------------------------------------------- */

TestSuite(store_releases, .init = setup, .fini = teardown);

static void put_release(const char *env, const char *version, const char *state,
			int64_t verified_at)
{
	rg_release rel;
	memset(&rel, 0, sizeof rel);
	snprintf(rel.env, sizeof rel.env, "%s", env);
	snprintf(rel.version, sizeof rel.version, "%s", version);
	cr_assert(rg_release_state_parse(state, &rel.state), "%s", state);
	rel.verified_at = verified_at;
	cr_assert_eq(rg_store_release_put(s, &rel, &err), RG_OK, "%s", err.message);
}

Test(store_releases, current_and_last_known_good)
{
	rg_release rel;
	cr_assert_eq(rg_store_release_current(s, "production", &rel, &err), RG_ENOTFOUND);
	cr_assert_eq(rg_store_release_last_known_good(s, "production", NULL, &rel, &err),
		     RG_ENOTFOUND);
	put_release("production", "v1", "superseded", 1000);
	put_release("production", "v2", "superseded", 3000);
	put_release("production", "v3", "known_good", 2000);
	put_release("production", "v4", "failed", 0);
	put_release("staging", "v9", "live", 9000);

	cr_assert_eq(rg_store_release_current(s, "production", &rel, &err), RG_OK);
	cr_assert_str_eq(rel.version, "v3");
	cr_assert_eq(rg_store_release_last_known_good(s, "production", NULL, &rel, &err), RG_OK);
	cr_assert_str_eq(rel.version, "v2");
	cr_assert_eq(rg_store_release_last_known_good(s, "production", "v2", &rel, &err), RG_OK);
	cr_assert_str_eq(rel.version, "v3");
	cr_assert_eq(rg_store_release_get(s, "production", "v4", &rel, &err), RG_OK);
	cr_assert_str_eq(rg_release_state_name(rel.state), "failed");
	cr_assert_eq(rg_store_release_get(s, "production", "v5", &rel, &err), RG_ENOTFOUND);
}

Test(store_releases, put_updates_and_keeps_created)
{
	rg_release rel;
	memset(&rel, 0, sizeof rel);
	snprintf(rel.env, sizeof rel.env, "production");
	snprintf(rel.version, sizeof rel.version, "v1");
	rel.state = RG_REL_PENDING;
	rel.created = 111;
	int64_t run = insert_run("production", "v1", "running");
	rel.run_id = run;
	cr_assert_eq(rg_store_release_put(s, &rel, &err), RG_OK, "%s", err.message);
	rel.created = 0;
	rel.state = RG_REL_LIVE;
	cr_assert_eq(rg_store_release_put(s, &rel, &err), RG_OK, "%s", err.message);
	rg_release got;
	cr_assert_eq(rg_store_release_get(s, "production", "v1", &got, &err), RG_OK);
	cr_assert_eq(got.created, 111);
	cr_assert_str_eq(rg_release_state_name(got.state), "live");
	cr_assert_eq(got.run_id, run);
	cr_assert_gt(got.updated, 0);
}

Test(store_releases, one_current_release_per_env)
{
	put_release("production", "v1", "live", 0);
	rg_release rel;
	memset(&rel, 0, sizeof rel);
	snprintf(rel.env, sizeof rel.env, "production");
	snprintf(rel.version, sizeof rel.version, "v2");
	rel.state = RG_REL_LIVE;
	cr_assert_eq(rg_store_release_put(s, &rel, &err), RG_ECONFLICT);
	cr_assert(strstr(err.message, "'v1'"), "%s", err.message);
	put_release("production", "v1", "superseded", 0);
	cr_assert_eq(rg_store_release_put(s, &rel, &err), RG_OK, "%s", err.message);
}

Test(store_releases, outputs_put_get_clear)
{
	rg_output *o;
	size_t n;
	cr_assert_eq(rg_store_outputs_get(s, "production", "v1", &o, &n, &err), RG_OK);
	cr_assert_eq(n, 0);
	rg_outputs_free(o, n);
	cr_assert_eq(rg_store_output_put(s, "production", "v1", "app", "backend",
					 "127.0.0.1:9001", &err), RG_OK, "%s", err.message);
	cr_assert_eq(rg_store_output_put(s, "production", "v1", "infra", "stack", "s-1", &err),
		     RG_OK);
	cr_assert_eq(rg_store_output_put(s, "production", "v1", "app", "backend",
					 "127.0.0.1:9002", &err), RG_OK);
	cr_assert_eq(rg_store_output_put(s, "production", "v2", "app", "backend", "x", &err),
		     RG_OK);
	cr_assert_eq(rg_store_outputs_get(s, "production", "v1", &o, &n, &err), RG_OK);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(o[0].step, "app");
	cr_assert_str_eq(o[0].key, "backend");
	cr_assert_str_eq(o[0].value, "127.0.0.1:9002");
	cr_assert_str_eq(o[1].step, "infra");
	cr_assert_str_eq(o[1].value, "s-1");
	rg_outputs_free(o, n);
	cr_assert_eq(rg_store_outputs_clear(s, "production", "v1", &err), RG_OK);
	cr_assert_eq(rg_store_outputs_get(s, "production", "v1", &o, &n, &err), RG_OK);
	cr_assert_eq(n, 0);
	rg_outputs_free(o, n);
	cr_assert_eq(rg_store_outputs_get(s, "production", "v2", &o, &n, &err), RG_OK);
	cr_assert_eq(n, 1);
	rg_outputs_free(o, n);
}

/* ---- steps and events ---------------------------------------------------------------- */

TestSuite(store_steps, .init = setup, .fini = teardown);

Test(store_steps, put_get_and_log)
{
	int64_t id = insert_run("production", "v1", "running");
	put_step(id, "forward", 0, "infra", "running", 1000, 0);
	rg_step_run sr;
	cr_assert_eq(rg_store_step_get(s, id, "forward", 0, &sr, &err), RG_OK, "%s", err.message);
	cr_assert_str_eq(sr.name, "infra");
	cr_assert_str_eq(sr.state, "running");
	cr_assert_str_eq(sr.action, "run");
	cr_assert_eq(sr.started, 1000);
	cr_assert_eq(rg_store_step_get(s, id, "forward", 1, &sr, &err), RG_ENOTFOUND);

	char *log;
	cr_assert_eq(rg_store_step_log(s, id, "infra", &log, &err), RG_OK);
	cr_assert_str_eq(log, "");
	free(log);
	const char text[] = "deploying\nok\n";
	cr_assert_eq(rg_store_step_set_log(s, id, "forward", 0, text, strlen(text), &err), RG_OK);
	/* Finishing the step must not erase its log. */
	put_step(id, "forward", 0, "infra", "succeeded", 1000, 2500);
	cr_assert_eq(rg_store_step_log(s, id, "infra", &log, &err), RG_OK);
	cr_assert_str_eq(log, text);
	free(log);

	/* The undo of the same step is newer: its log is the one shown. */
	put_step(id, "reverse", 0, "infra", "succeeded", 5000, 6000);
	cr_assert_eq(rg_store_step_set_log(s, id, "reverse", 0, "undone", 6, &err), RG_OK);
	cr_assert_eq(rg_store_step_log(s, id, "infra", &log, &err), RG_OK);
	cr_assert_str_eq(log, "undone");
	free(log);

	cr_assert_eq(rg_store_step_log(s, id, "smoke", &log, &err), RG_ENOTFOUND);
	cr_assert_null(log);
	cr_assert_eq(rg_store_step_set_log(s, id, "forward", 7, "x", 1, &err), RG_ENOTFOUND);
}

/* The process group is recorded with its leader's identity, and a later
 * write of the row (its end) replaces all three together. */
Test(store_steps, process_group_identity_round_trips)
{
	int64_t id = insert_run("production", "v1", "running");
	put_step(id, "forward", 0, "infra", "running", 1000, 0);
	rg_step_run sr;
	cr_assert_eq(rg_store_step_get(s, id, "forward", 0, &sr, &err), RG_OK);
	cr_assert_eq(sr.pgid, 0);
	cr_assert_eq(sr.pgid_start, 0);
	cr_assert_str_eq(sr.pgid_boot, "");
	sr.pgid = 4242;
	sr.pgid_start = 987654321;
	snprintf(sr.pgid_boot, sizeof sr.pgid_boot, "0b5c7a4e-1f2d-4c3b-9a8e-7d6f5e4c3b2a");
	cr_assert_eq(rg_store_step_put(s, &sr, &err), RG_OK, "%s", err.message);
	rg_step_run got;
	cr_assert_eq(rg_store_step_get(s, id, "forward", 0, &got, &err), RG_OK);
	cr_assert_eq(got.pgid, 4242);
	cr_assert_eq(got.pgid_start, 987654321);
	cr_assert_str_eq(got.pgid_boot, "0b5c7a4e-1f2d-4c3b-9a8e-7d6f5e4c3b2a");
	got.pgid = 0;
	got.pgid_start = 0;
	got.pgid_boot[0] = '\0';
	cr_assert_eq(rg_store_step_put(s, &got, &err), RG_OK);
	cr_assert_eq(rg_store_step_get(s, id, "forward", 0, &sr, &err), RG_OK);
	cr_assert_eq(sr.pgid_start, 0);
	cr_assert_str_eq(sr.pgid_boot, "");
}

/* Only ended rows that still name a group are a stop cut short. */
Test(store_steps, stopping_lists_ended_rows_with_a_group)
{
	int64_t id = insert_run("production", "v1", "running");
	put_step(id, "forward", 0, "a", "succeeded", 1000, 2000);
	put_step(id, "forward", 1, "b", "failed", 3000, 4000);
	put_step(id, "forward", 2, "c", "running", 5000, 0);
	rg_step_run sr;
	for (int i = 1; i <= 2; i++) {
		cr_assert_eq(rg_store_step_get(s, id, "forward", i, &sr, &err), RG_OK);
		sr.pgid = 100 + i;
		sr.pgid_start = 7;
		cr_assert_eq(rg_store_step_put(s, &sr, &err), RG_OK, "%s", err.message);
	}
	rg_step_run *rows;
	size_t n;
	cr_assert_eq(rg_store_steps_stopping(s, &rows, &n, &err), RG_OK, "%s", err.message);
	cr_assert_eq(n, 1, "a running row is an interrupted step, not a stop");
	cr_assert_str_eq(rows[0].name, "b");
	cr_assert_eq(rows[0].pgid, 101);
	cr_assert_eq(rows[0].pgid_start, 7);
	free(rows);
}

Test(store_steps, step_of_unknown_run_is_refused)
{
	rg_step_run sr;
	memset(&sr, 0, sizeof sr);
	sr.run_id = 42;
	snprintf(sr.phase, sizeof sr.phase, "forward");
	snprintf(sr.name, sizeof sr.name, "infra");
	snprintf(sr.state, sizeof sr.state, "running");
	cr_assert_eq(rg_store_step_put(s, &sr, &err), RG_ENOTFOUND);
}

Test(store_steps, events_order_and_after_id)
{
	int64_t id = insert_run("production", "v1", "running");
	int64_t other = insert_run("staging", "v1", "running");
	cr_assert_eq(rg_store_event_add(s, id, "run_started", NULL, "deploy v1", &err), RG_OK);
	cr_assert_eq(rg_store_event_add(s, other, "run_started", NULL, "other", &err), RG_OK);
	cr_assert_eq(rg_store_event_add(s, id, "step_started", "infra", "infra 1/2", &err), RG_OK);
	cr_assert_eq(rg_store_event_add(s, id, "step_succeeded", "infra", "ok", &err), RG_OK);

	json_t *ev;
	cr_assert_eq(rg_store_events_json(s, id, 0, &ev, &err), RG_OK, "%s", err.message);
	cr_assert_eq(json_array_size(ev), 3);
	json_t *e0 = json_array_get(ev, 0), *e1 = json_array_get(ev, 1);
	cr_assert_str_eq(jget_str(e0, "type"), "run_started");
	assert_null(e0, "step");
	cr_assert_str_eq(jget_str(e1, "step"), "infra");
	cr_assert_gt(jget_int(e1, "at_ms"), 0);
	jget_str(e1, "at");
	json_int_t after = jget_int(e1, "id");
	cr_assert_gt(after, jget_int(e0, "id"));
	json_decref(ev);

	cr_assert_eq(rg_store_events_json(s, id, after, &ev, &err), RG_OK);
	cr_assert_eq(json_array_size(ev), 1);
	cr_assert_str_eq(jget_str(json_array_get(ev, 0), "type"), "step_succeeded");
	json_decref(ev);

	cr_assert_eq(rg_store_events_json(s, id, 1000000, &ev, &err), RG_OK);
	cr_assert_eq(json_array_size(ev), 0);
	json_decref(ev);
	cr_assert_eq(rg_store_events_json(s, 99, 0, &ev, &err), RG_ENOTFOUND);
	cr_assert_null(ev);
}

/* ---- JSON read side -------------------------------------------------------------------- */

TestSuite(store_json, .init = setup, .fini = teardown);

Test(store_json, run_with_steps_and_events)
{
	rg_run r = make_run("production", "deploy", "v2", "running");
	snprintf(r.from_version, sizeof r.from_version, "v1");
	r.started = 1700000000000;
	cr_assert_eq(rg_store_run_insert(s, &r, &err), RG_OK);
	put_step(r.id, "reverse", 0, "infra", "succeeded", 1700000009000, 1700000010000);
	put_step(r.id, "forward", 1, "smoke", "failed", 1700000005000, 1700000007500);
	put_step(r.id, "forward", 0, "infra", "succeeded", 1700000001000, 1700000004000);
	cr_assert_eq(rg_store_event_add(s, r.id, "run_started", NULL, "go", &err), RG_OK);

	json_t *o;
	cr_assert_eq(rg_store_run_json(s, r.id, &o, &err), RG_OK, "%s", err.message);
	cr_assert_eq(jget_int(o, "id"), r.id);
	cr_assert_str_eq(jget_str(o, "env"), "production");
	cr_assert_str_eq(jget_str(o, "kind"), "deploy");
	cr_assert_str_eq(jget_str(o, "from_version"), "v1");
	cr_assert_str_eq(jget_str(o, "started"), "2023-11-14T22:13:20.000Z");
	cr_assert_eq(jget_int(o, "started_ms"), 1700000000000);
	assert_null(o, "ended");
	cr_assert_eq(jget_int(o, "ended_ms"), 0);
	assert_null(o, "reason");
	assert_null(o, "error");
	assert_null(o, "warning");
	assert_null(o, "step");
	assert_null(o, "decision");
	cr_assert(json_is_false(json_object_get(o, "force")));
	cr_assert(json_is_false(json_object_get(o, "paused")));

	json_t *steps = json_object_get(o, "steps");
	cr_assert_eq(json_array_size(steps), 3);
	json_t *s0 = json_array_get(steps, 0), *s1 = json_array_get(steps, 1),
	       *s2 = json_array_get(steps, 2);
	cr_assert_str_eq(jget_str(s0, "name"), "infra");
	cr_assert_str_eq(jget_str(s0, "phase"), "forward");
	cr_assert_str_eq(jget_str(s1, "name"), "smoke");
	cr_assert_str_eq(jget_str(s1, "state"), "failed");
	cr_assert_eq(jget_int(s1, "exit_code"), 3);
	cr_assert_eq(jget_int(s1, "attempts"), 1);
	cr_assert_eq(jget_int(s1, "duration_ms"), 2500);
	cr_assert_str_eq(jget_str(s1, "action"), "run");
	assert_null(s1, "error");
	cr_assert_str_eq(jget_str(s2, "phase"), "reverse");
	cr_assert_str_eq(jget_str(s2, "action"), "undo");
	cr_assert_eq(json_array_size(json_object_get(o, "events")), 1);
	json_decref(o);
}

Test(store_json, run_decision)
{
	int64_t id = insert_run("production", "v2", "rolling_back");
	rg_decision d;
	memset(&d, 0, sizeof d);
	snprintf(d.trigger, sizeof d.trigger, "step_failed:smoke");
	snprintf(d.severity, sizeof d.severity, "P1");
	snprintf(d.action, sizeof d.action, "rollback");
	snprintf(d.reason, sizeof d.reason, "smoke failed");
	cr_assert_eq(rg_store_decision_put(s, id, &d, &err), RG_OK, "%s", err.message);
	json_t *o;
	cr_assert_eq(rg_store_run_json(s, id, &o, &err), RG_OK);
	json_t *dj = json_object_get(o, "decision");
	cr_assert_str_eq(jget_str(dj, "trigger"), "step_failed:smoke");
	cr_assert_str_eq(jget_str(dj, "severity"), "P1");
	cr_assert_str_eq(jget_str(dj, "action"), "rollback");
	cr_assert_str_eq(jget_str(dj, "reason"), "smoke failed");
	assert_null(dj, "observed");
	assert_null(dj, "evidence");
	cr_assert_gt(jget_int(dj, "at_ms"), 0);
	json_decref(o);

	/* a notify after it does not replace the decision that acted; both are listed */
	rg_decision n;
	memset(&n, 0, sizeof n);
	snprintf(n.trigger, sizeof n.trigger, "canary");
	snprintf(n.action, sizeof n.action, "notify");
	snprintf(n.window, sizeof n.window, "traffic 10%%");
	snprintf(n.evidence, sizeof n.evidence, "{\"llr\":4.7,\"alpha\":0.01}");
	cr_assert_eq(rg_store_decision_put(s, id, &n, &err), RG_OK, "%s", err.message);
	cr_assert_eq(rg_store_run_json(s, id, &o, &err), RG_OK);
	cr_assert_str_eq(jget_str(json_object_get(o, "decision"), "action"), "rollback");
	json_t *all = json_object_get(o, "decisions");
	cr_assert_eq(json_array_size(all), 2);
	json_t *second = json_array_get(all, 1);
	cr_assert_str_eq(jget_str(second, "window"), "traffic 10%");
	cr_assert_float_eq(json_real_value(json_object_get(json_object_get(second, "evidence"), "llr")), 4.7, 1e-9);
	json_decref(o);

	cr_assert_eq(rg_store_run_json(s, 99, &o, &err), RG_ENOTFOUND);
	cr_assert_str_eq(err.message, "no run 99");
}

Test(store_json, invalid_utf8_is_kept_readable)
{
	int64_t id = insert_run("production", "v1", "running");
	cr_assert_eq(rg_store_event_add(s, id, "step_failed", NULL, "bad \xff byte", &err), RG_OK);
	json_t *ev;
	cr_assert_eq(rg_store_events_json(s, id, 0, &ev, &err), RG_OK);
	cr_assert_str_eq(jget_str(json_array_get(ev, 0), "message"), "bad ? byte");
	json_decref(ev);
}

static void finish_run(int64_t id, const char *state)
{
	rg_run r;
	cr_assert_eq(rg_store_run_get(s, id, &r, &err), RG_OK);
	rg_run_state from = r.state;
	cr_assert(rg_run_state_parse(state, &r.state), "%s", state);
	r.ended = rg_run_state_terminal(r.state) ? 1700000100000 : 0;
	cr_assert_eq(rg_store_run_update(s, &r, from, &err), RG_OK, "%s", err.message);
	rg_run_release(&r);
}

Test(store_json, runs_newest_first_with_limit)
{
	int64_t a = insert_run("production", "v1", "running");
	finish_run(a, "succeeded");
	int64_t b = insert_run("staging", "v1", "running");
	finish_run(b, "failed");
	int64_t c = insert_run("production", "v2", "running");

	json_t *arr;
	cr_assert_eq(rg_store_runs_json(s, NULL, 0, 0, &arr, &err), RG_OK, "%s", err.message);
	cr_assert_eq(json_array_size(arr), 3);
	cr_assert_eq(jget_int(json_array_get(arr, 0), "id"), c);
	cr_assert_eq(jget_int(json_array_get(arr, 2), "id"), a);
	cr_assert_null(json_object_get(json_array_get(arr, 0), "steps"));
	json_decref(arr);

	cr_assert_eq(rg_store_runs_json(s, "production", 0, 0, &arr, &err), RG_OK);
	cr_assert_eq(json_array_size(arr), 2);
	json_t *old = json_array_get(arr, 1);
	cr_assert_str_eq(jget_str(old, "state"), "succeeded");
	cr_assert_str_eq(jget_str(old, "ended"), "2023-11-14T22:15:00.000Z");
	json_decref(arr);

	cr_assert_eq(rg_store_runs_json(s, "production", 0, 1, &arr, &err), RG_OK);
	cr_assert_eq(json_array_size(arr), 1);
	json_decref(arr);
	cr_assert_eq(rg_store_runs_json(s, "nowhere", 0, 5000, &arr, &err), RG_OK);
	cr_assert_eq(json_array_size(arr), 0);
	json_decref(arr);
	/* pages: older than a run, per environment or all */
	cr_assert_eq(rg_store_runs_json(s, NULL, c, 1, &arr, &err), RG_OK);
	cr_assert_eq(json_array_size(arr), 1);
	cr_assert_eq(jget_int(json_array_get(arr, 0), "id"), b);
	json_decref(arr);
	cr_assert_eq(rg_store_runs_json(s, "production", c, 10, &arr, &err), RG_OK);
	cr_assert_eq(json_array_size(arr), 1);
	cr_assert_eq(jget_int(json_array_get(arr, 0), "id"), a);
	json_decref(arr);
	cr_assert_eq(rg_store_runs_json(s, NULL, a, 10, &arr, &err), RG_OK);
	cr_assert_eq(json_array_size(arr), 0, "nothing before the first run");
	json_decref(arr);
}

Test(store_json, status)
{
	json_t *o;
	cr_assert_eq(rg_store_status_json(s, "production", &o, &err), RG_OK, "%s", err.message);
	cr_assert_str_eq(jget_str(o, "env"), "production");
	assert_null(o, "live");
	assert_null(o, "run");
	assert_null(o, "last_run");
	json_decref(o);

	put_release("production", "v1", "known_good", 1700000000000);
	int64_t id = insert_run("production", "v2", "running");
	cr_assert_eq(rg_store_status_json(s, "production", &o, &err), RG_OK);
	json_t *live = json_object_get(o, "live");
	cr_assert_str_eq(jget_str(live, "version"), "v1");
	cr_assert_str_eq(jget_str(live, "state"), "known_good");
	cr_assert_str_eq(jget_str(live, "verified_at"), "2023-11-14T22:13:20.000Z");
	json_t *run = json_object_get(o, "run");
	cr_assert_eq(jget_int(run, "id"), id);
	cr_assert_str_eq(jget_str(run, "kind"), "deploy");
	cr_assert_str_eq(jget_str(run, "version"), "v2");
	cr_assert_str_eq(jget_str(run, "state"), "running");
	assert_null(run, "step");
	jget_int(run, "cursor");
	jget_int(run, "total");
	cr_assert_eq(jget_int(json_object_get(o, "last_run"), "id"), id);
	json_decref(o);

	finish_run(id, "rolled_back");
	cr_assert_eq(rg_store_status_json(s, "production", &o, &err), RG_OK);
	assert_null(o, "run");
	cr_assert_str_eq(jget_str(json_object_get(o, "last_run"), "state"), "rolled_back");
	json_decref(o);

	cr_assert_eq(rg_store_status_json(s, NULL, &o, &err), RG_EINVAL);
}

Test(store_json, metrics)
{
	int64_t a = insert_run("production", "v1", "running");
	put_step(a, "forward", 0, "infra", "succeeded", 1000, 3500);
	put_step(a, "forward", 1, "smoke", "running", 4000, 0);
	finish_run(a, "rolled_back");
	rg_run r = make_run("production", "rollback", "v0", "running");
	cr_assert_eq(rg_store_run_insert(s, &r, &err), RG_OK);
	insert_run("staging", "v1", "running");

	json_t *o;
	cr_assert_eq(rg_store_metrics_json(s, &o, &err), RG_OK, "%s", err.message);
	json_t *by = json_object_get(o, "runs_by_state");
	cr_assert_eq(json_object_size(by), 12);
	cr_assert_eq(jget_int(by, "running"), 2);
	cr_assert_eq(jget_int(by, "rolled_back"), 1);
	cr_assert_eq(jget_int(by, "queued"), 0);
	cr_assert_eq(jget_int(o, "rollbacks_total"), 2);
	json_t *d = json_object_get(o, "step_durations");
	cr_assert_eq(json_array_size(d), 1);
	json_t *d0 = json_array_get(d, 0);
	cr_assert_eq(jget_int(d0, "count"), 1);
	cr_assert_float_eq(json_real_value(json_object_get(d0, "seconds")), 2.5, 1e-9);
	json_decref(o);
}

/* ---- transactions and durability ------------------------------------------------------- */

TestSuite(store_tx, .init = setup, .fini = teardown);

Test(store_tx, abandoned_transaction_leaves_nothing)
{
	cr_assert_eq(rg_store_begin(s, &err), RG_OK, "%s", err.message);
	int64_t id = insert_run("production", "v1", "running");
	cr_assert_eq(rg_store_event_add(s, id, "run_started", NULL, "go", &err), RG_OK);
	put_release("production", "v1", "pending", 0);
	rg_store_abandon(s);
	rg_store_abandon(s);   /* safe with none open */

	rg_run r;
	cr_assert_eq(rg_store_run_get(s, id, &r, &err), RG_ENOTFOUND);
	rg_release rel;
	cr_assert_eq(rg_store_release_get(s, "production", "v1", &rel, &err), RG_ENOTFOUND);
	json_t *arr;
	cr_assert_eq(rg_store_runs_json(s, NULL, 0, 0, &arr, &err), RG_OK);
	cr_assert_eq(json_array_size(arr), 0);
	json_decref(arr);
}

Test(store_tx, committed_transaction_and_misuse)
{
	cr_assert_eq(rg_store_begin(s, &err), RG_OK);
	cr_assert_eq(rg_store_begin(s, &err), RG_EINTERNAL);
	int64_t id = insert_run("production", "v1", "running");
	/* A conflict inside a transaction fails that statement only. */
	rg_run dup = make_run("production", "deploy", "v2", "queued");
	cr_assert_eq(rg_store_run_insert(s, &dup, &err), RG_ECONFLICT);
	cr_assert_eq(rg_store_event_add(s, id, "run_started", NULL, "go", &err), RG_OK);
	cr_assert_eq(rg_store_commit(s, &err), RG_OK, "%s", err.message);
	cr_assert_eq(rg_store_commit(s, &err), RG_EINTERNAL);
	rg_run r;
	cr_assert_eq(rg_store_run_get(s, id, &r, &err), RG_OK);
	rg_run_release(&r);
}

/* The child commits and dies without closing anything (as under SIGKILL);
 * the committed run must be there, the uncommitted one must not. */
Test(store_tx, committed_data_survives_abrupt_exit)
{
	rg_store_free(s);
	s = NULL;
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		rg_store *c;
		rg_error e;
		if (rg_store_open(tmp.path, &c, &e) || rg_store_begin(c, &e))
			_exit(10);
		rg_run r = make_run("production", "deploy", "v7", "running");
		if (rg_store_run_insert(c, &r, &e) ||
		    rg_store_event_add(c, r.id, "run_started", NULL, "go", &e) ||
		    rg_store_commit(c, &e) || rg_store_begin(c, &e))
			_exit(11);
		rg_run lost = make_run("staging", "deploy", "v8", "running");
		if (rg_store_run_insert(c, &lost, &e))
			_exit(12);
		_exit(0);   /* open transaction, open database, no checkpoint */
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);

	cr_assert_eq(rg_store_open(tmp.path, &s, &err), RG_OK, "%s", err.message);
	json_t *arr;
	cr_assert_eq(rg_store_runs_json(s, NULL, 0, 0, &arr, &err), RG_OK);
	cr_assert_eq(json_array_size(arr), 1);
	json_t *run = json_array_get(arr, 0);
	cr_assert_str_eq(jget_str(run, "version"), "v7");
	json_t *ev;
	cr_assert_eq(rg_store_events_json(s, jget_int(run, "id"), 0, &ev, &err), RG_OK);
	cr_assert_eq(json_array_size(ev), 1);
	json_decref(ev);
	json_decref(arr);
}

TestSuite(store_routes, .init = setup, .fini = teardown);

Test(store_routes, put_get_replace_and_absent)
{
	rg_route_state r, got;
	cr_assert_eq(rg_store_route_get(s, "prod", &got, &err), RG_ENOTFOUND);
	cr_assert_str_eq(got.env, "prod");
	cr_assert_str_eq(got.stable, "");
	memset(&r, 0, sizeof r);
	snprintf(r.env, sizeof r.env, "prod");
	snprintf(r.stable_version, sizeof r.stable_version, "v1");
	snprintf(r.stable, sizeof r.stable, "127.0.0.1:9001");
	snprintf(r.canary_version, sizeof r.canary_version, "v2");
	snprintf(r.canary, sizeof r.canary, "127.0.0.1:9002,127.0.0.1:9003");
	r.canary_weight = 10;
	r.seed = -42;
	r.run_id = 7;
	cr_assert_eq(rg_store_route_put(s, &r, &err), RG_OK, "%s", err.message);
	cr_assert_eq(rg_store_route_get(s, "prod", &got, &err), RG_OK, "%s", err.message);
	cr_assert_str_eq(got.canary, "127.0.0.1:9002,127.0.0.1:9003");
	cr_assert_eq(got.canary_weight, 10);
	cr_assert_eq(got.seed, -42);
	cr_assert_eq(got.run_id, 7);
	cr_assert_gt(got.updated, 0);
	r.canary_weight = 50;
	snprintf(r.standby_version, sizeof r.standby_version, "v0");
	cr_assert_eq(rg_store_route_put(s, &r, &err), RG_OK);
	cr_assert_eq(rg_store_route_get(s, "prod", &got, &err), RG_OK);
	cr_assert_eq(got.canary_weight, 50);
	cr_assert_str_eq(got.standby_version, "v0");
	r.canary_weight = 101;
	cr_assert_neq(rg_store_route_put(s, &r, &err), RG_OK, "a weight above 100 is refused");
}

Test(store_routes, traffic_stage_is_kept_with_the_run)
{
	int64_t id = insert_run("prod", "v1", "running");
	rg_run r;
	cr_assert_eq(rg_store_run_get(s, id, &r, &err), RG_OK);
	cr_assert_eq(r.traffic_stage, 0);
	r.traffic_stage = 3;
	cr_assert_eq(rg_store_run_update(s, &r, RG_RUN_RUNNING, &err), RG_OK, "%s", err.message);
	rg_run_release(&r);
	cr_assert_eq(rg_store_run_get(s, id, &r, &err), RG_OK);
	cr_assert_eq(r.traffic_stage, 3);
	rg_run_release(&r);
}

/* A database written by the first schema gains the traffic columns and
 * the decision list, and keeps its runs and decisions. */
Test(store_routes, version_1_database_is_migrated)
{
	rg_store_free(s);
	s = NULL;
	store_dir_remove(&tmp);
	store_dir_make(&tmp);
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(tmp.path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db,
		"CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, env TEXT NOT NULL, kind TEXT NOT NULL,"
		" version TEXT NOT NULL, from_version TEXT NOT NULL DEFAULT '', state TEXT NOT NULL,"
		" phase TEXT NOT NULL DEFAULT 'forward', cursor INTEGER NOT NULL DEFAULT 0,"
		" total INTEGER NOT NULL DEFAULT 0, step TEXT NOT NULL DEFAULT '', \"plan\" TEXT,"
		" created INTEGER NOT NULL, started INTEGER NOT NULL DEFAULT 0, ended INTEGER NOT NULL DEFAULT 0,"
		" deadline INTEGER NOT NULL DEFAULT 0, window_until INTEGER NOT NULL DEFAULT 0,"
		" actor TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '', error TEXT NOT NULL DEFAULT '',"
		" warning TEXT NOT NULL DEFAULT '', force INTEGER NOT NULL DEFAULT 0, paused INTEGER NOT NULL DEFAULT 0) STRICT;"
		"CREATE TABLE decisions (run_id INTEGER PRIMARY KEY REFERENCES runs(id), \"trigger\" TEXT NOT NULL,"
		" severity TEXT NOT NULL DEFAULT '', \"action\" TEXT NOT NULL, observed TEXT NOT NULL DEFAULT '',"
		" threshold TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '', at INTEGER NOT NULL) STRICT;"
		"CREATE TABLE step_runs (run_id INTEGER NOT NULL REFERENCES runs(id), phase TEXT NOT NULL,"
		" idx INTEGER NOT NULL, name TEXT NOT NULL, \"action\" TEXT NOT NULL DEFAULT '',"
		" state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
		" exit_code INTEGER NOT NULL DEFAULT -1, pgid INTEGER NOT NULL DEFAULT 0,"
		" started INTEGER NOT NULL DEFAULT 0, ended INTEGER NOT NULL DEFAULT 0,"
		" error TEXT NOT NULL DEFAULT '', log TEXT, PRIMARY KEY (run_id, phase, idx)) STRICT;"
		"CREATE TABLE releases (env TEXT NOT NULL, version TEXT NOT NULL, state TEXT NOT NULL,"
		" created INTEGER NOT NULL, updated INTEGER NOT NULL, verified_at INTEGER NOT NULL DEFAULT 0,"
		" run_id INTEGER REFERENCES runs(id), PRIMARY KEY (env, version)) STRICT;"
		"INSERT INTO runs(env, kind, version, state, created) VALUES ('prod','deploy','v1','succeeded',1);"
		"INSERT INTO step_runs(run_id, phase, idx, name, state, pgid) VALUES (1,'forward',0,'app','running',77);"
		"INSERT INTO decisions VALUES (1, 'health', 'P0', 'rollback', 'x', 'y', 'because', 5);"
		"PRAGMA user_version=1;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	cr_assert_eq(rg_store_open(tmp.path, &s, &err), RG_OK, "%s", err.message);
	rg_run r;
	cr_assert_eq(rg_store_run_get(s, 1, &r, &err), RG_OK, "%s", err.message);
	cr_assert_str_eq(r.version, "v1");
	cr_assert_eq(r.traffic_stage, 0);
	rg_run_release(&r);
	/* v4: a group recorded before identities were kept has none. */
	rg_step_run sr;
	cr_assert_eq(rg_store_step_get(s, 1, "forward", 0, &sr, &err), RG_OK, "%s", err.message);
	cr_assert_eq(sr.pgid, 77);
	cr_assert_eq(sr.pgid_start, 0);
	cr_assert_str_eq(sr.pgid_boot, "");
	rg_route_state got;
	cr_assert_eq(rg_store_route_get(s, "prod", &got, &err), RG_ENOTFOUND);
	rg_decision d = { .trigger = "canary", .action = "notify" };
	cr_assert_eq(rg_store_decision_put(s, 1, &d, &err), RG_OK, "a second decision: %s", err.message);
	rg_store_free(s);
	s = NULL;
	cr_assert_eq(sqlite3_open(tmp.path, &db), SQLITE_OK);
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT group_concat(reason || '/' || \"window\", ',')"
					" FROM decisions WHERE run_id=1 ORDER BY id", -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "because/,/");
	sqlite3_finalize(st);
	sqlite3_close(db);
	cr_assert_eq(rg_store_open(tmp.path, &s, &err), RG_OK);
}

/* GET /status's snapshot: begun once, nested in a transaction it did not
 * begin without ending that one. */
Test(store_runs, a_read_snapshot_ends_only_what_it_began)
{
	bool began = false, inner = true;
	json_t *st = NULL;
	cr_assert_eq(rg_store_read_begin(s, &began, &err), RG_OK, "%s", err.message);
	cr_assert(began);
	cr_assert_eq(rg_store_read_begin(s, &inner, &err), RG_OK, "%s", err.message);
	cr_assert_not(inner, "already inside one: not begun again");
	cr_assert_eq(rg_store_status_json(s, "staging", &st, &err), RG_OK, "%s", err.message);
	json_decref(st);
	rg_store_read_end(s, inner);
	rg_store_read_end(s, began);
	/* ended: a write transaction can begin */
	cr_assert_eq(rg_store_begin(s, &err), RG_OK, "%s", err.message);
	cr_assert_eq(rg_store_read_begin(s, &inner, &err), RG_OK, "%s", err.message);
	cr_assert_not(inner);
	rg_store_read_end(s, inner);
	cr_assert_eq(rg_store_commit(s, &err), RG_OK, "%s", err.message);
}
