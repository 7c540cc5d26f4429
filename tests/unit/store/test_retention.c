/* test_retention.c — what a retention pass chooses (store.h): old finished
 * runs go with every row that names them (their figures too); the newest
 * keep_last of an environment, unfinished runs, a known-good release's run,
 * a run whose backup is still on disk and one of an unresolved incident
 * stay; step logs of old steps are cleared, newer ones kept; a pass looks at
 * a window of max_runs old runs and says where the next one resumes. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "store/store.h"

#include "../support/sql_fixture.h"
#include "../support/store_dir.h"

static store_dir tmp;
static rg_store *s;
static sqlite3 *db;   /* a second connection: fixtures and checks in plain SQL */
static rg_error err;

static void setup(void)
{
	store_dir_make(&tmp);
	cr_assert_eq(rg_store_open(tmp.path, &s, &err), RG_OK, "%s", err.message);
	cr_assert_eq(sqlite3_open(tmp.path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL), SQLITE_OK);
}

static void teardown(void)
{
	sqlite3_close(db);
	rg_store_free(s);
	s = NULL;
	store_dir_remove(&tmp);
}

TestSuite(store_retention, .init = setup, .fini = teardown);

#define sql(...) sql_fixture(db, __VA_ARGS__)

static long long count(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(db, buf, -1, &st, NULL), SQLITE_OK, "%s", buf);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	long long n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* A run of env that ended at `ended` (0: unfinished), with an event, a step
 * (its log set), a decision and an approval. */
static void run(int id, const char *env, const char *state, long long ended)
{
	sql("INSERT INTO runs(id, env, kind, version, state, created, ended)"
	    " VALUES (%d, '%s', 'deploy', 'v%d', '%s', %lld, %lld)", id, env, id, state,
	    ended ? ended - 10 : 1, ended);
	sql("INSERT INTO events(run_id, at, type) VALUES (%d, 1, 'created')", id);
	sql("INSERT INTO step_runs(run_id, phase, idx, name, state, ended, log)"
	    " VALUES (%d, 'forward', 0, 'build', 'succeeded', %lld, 'log of %d')", id, ended, id);
	sql("INSERT INTO decisions(run_id, \"trigger\", \"action\", at) VALUES (%d, 't', 'notify', 1)",
	    id);
	sql("INSERT INTO approvals(run_id, round, gate, who, verdict, at)"
	    " VALUES (%d, 1, 'g', 'alice', 'approve', 1)", id);
	sql("INSERT INTO run_figures(run_id, at, side, version, requests, rps, error_rate,"
	    " p50_ms, p95_ms, p99_ms) VALUES (%d, 1, 'canary', 'v%d', 10, 1.0, 0.0, 1.0, 2.0, 3.0)",
	    id, id);
}

static rg_retention_result last;   /* of the newest prune() */

/* One pass from the oldest run, as the pruner's first of a sweep. */
static void prune(long long runs_before, long long logs_before, int keep_last, int max_runs,
		  int *runs, int *logs)
{
	rg_retention_pass p = { .runs_before = runs_before, .logs_before = logs_before,
				.keep_last = keep_last, .max_runs = max_runs, .max_logs = 100 };
	cr_assert_eq(rg_store_retention_prune(s, &p, &last, &err), RG_OK, "%s", err.message);
	*runs = last.runs;
	*logs = last.logs;
}

static bool exists(int id)
{
	return count("SELECT COUNT(*) FROM runs WHERE id=%d", id) == 1;
}

Test(store_retention, old_finished_pruned_with_their_rows)
{
	run(1, "production", "succeeded", 100);
	run(2, "production", "rolled_back", 200);
	run(3, "production", "succeeded", 5000);   /* newer than the cut */
	sql("INSERT INTO backups(env, version, run_id, step, dir, files, bytes, created, state)"
	    " VALUES ('production', 'v1', 1, 'b', '/x', '[]', 0, 1, 'pruned')");
	sql("INSERT INTO notifications(created, channel, event, run_id, payload, idem_key,"
	    " next_attempt_at, state) VALUES (1, 'c', 'e', 2, '{}', 'k2', 1, 'delivered')");
	sql("INSERT INTO flag_overrides(env, \"key\", enabled, rollout, actor, run_id, at)"
	    " VALUES ('production', 'f', 0, 0, 'trigger', 1, 1)");
	sql("INSERT INTO releases(env, version, state, created, updated, run_id)"
	    " VALUES ('production', 'v2', 'rolled_back', 1, 1, 2)");
	int runs, logs;
	prune(1000, 0, 0, 200, &runs, &logs);
	cr_assert_eq(runs, 2);
	cr_assert_eq(logs, 0);
	cr_assert_not(exists(1));
	cr_assert_not(exists(2));
	cr_assert(exists(3));
	cr_assert_eq(count("SELECT COUNT(*) FROM events WHERE run_id IN (1,2)"), 0);
	cr_assert_eq(count("SELECT COUNT(*) FROM step_runs WHERE run_id IN (1,2)"), 0);
	cr_assert_eq(count("SELECT COUNT(*) FROM decisions WHERE run_id IN (1,2)"), 0);
	cr_assert_eq(count("SELECT COUNT(*) FROM approvals WHERE run_id IN (1,2)"), 0);
	cr_assert_eq(count("SELECT COUNT(*) FROM run_figures WHERE run_id IN (1,2)"), 0);
	cr_assert_eq(count("SELECT COUNT(*) FROM run_figures WHERE run_id=3"), 1);
	cr_assert_eq(count("SELECT COUNT(*) FROM backups"), 0);
	cr_assert_eq(count("SELECT COUNT(*) FROM notifications"), 0);
	cr_assert_eq(count("SELECT COUNT(*) FROM flag_overrides WHERE run_id IS NULL"), 1,
		     "the override stays, forgetting the run");
	cr_assert_eq(count("SELECT COUNT(*) FROM releases WHERE run_id IS NULL"), 1);
	cr_assert_eq(count("SELECT COUNT(*) FROM events WHERE run_id=3"), 1);
	prune(1000, 0, 0, 200, &runs, &logs);
	cr_assert_eq(runs, 0, "nothing left to prune");
}

Test(store_retention, keep_last_per_environment)
{
	for (int i = 1; i <= 5; i++)
		run(i, "production", "succeeded", 100 + i);
	run(6, "staging", "failed", 100);
	int runs, logs;
	prune(1000, 0, 2, 200, &runs, &logs);
	cr_assert_eq(runs, 3);
	cr_assert(exists(4));
	cr_assert(exists(5));
	cr_assert(exists(6), "the newest of its own environment");
	cr_assert_not(exists(3));
}

Test(store_retention, unfinished_known_good_backup_incident_kept)
{
	run(1, "production", "succeeded", 100);    /* known good */
	run(2, "production", "succeeded", 110);    /* its backup is on disk */
	run(3, "production", "rolled_back", 120);  /* of an unresolved incident */
	run(4, "production", "rolled_back", 130);  /* of a resolved incident: goes */
	run(5, "production", "failed", 140);       /* pruned: nothing needs it */
	run(6, "production", "running", 0);        /* unfinished */
	sql("INSERT INTO releases(env, version, state, created, updated, verified_at, run_id)"
	    " VALUES ('production', 'v1', 'known_good', 1, 1, 100, 1)");
	sql("INSERT INTO backups(env, version, run_id, step, dir, files, bytes, created, state)"
	    " VALUES ('production', 'v2', 2, 'b', '/x', '[]', 0, 1, 'kept')");
	sql("INSERT INTO incidents(id, env, severity, kind, state, opened)"
	    " VALUES (1, 'production', 'P1', 'rollback', 'open', 1),"
	    " (2, 'production', 'P1', 'rollback', 'resolved', 1)");
	sql("INSERT INTO incident_runs(incident_id, run_id) VALUES (1, 3), (2, 4)");
	int runs, logs;
	prune(1000, 0, 0, 200, &runs, &logs);
	cr_assert_eq(runs, 2);
	cr_assert(exists(1), "a known-good release's run");
	cr_assert(exists(2), "a backup still on disk");
	cr_assert(exists(3), "an unresolved incident's run");
	cr_assert_not(exists(4));
	cr_assert_not(exists(5));
	cr_assert(exists(6), "unfinished");
	cr_assert_eq(count("SELECT COUNT(*) FROM incidents"), 2, "incidents themselves stay");
}

Test(store_retention, previous_verified_release_kept)
{
	run(1, "production", "succeeded", 100);
	run(2, "production", "succeeded", 200);
	run(3, "production", "succeeded", 300);
	sql("INSERT INTO releases(env, version, state, created, updated, verified_at, run_id)"
	    " VALUES ('production', 'v1', 'superseded', 1, 1, 100, 1),"
	    " ('production', 'v2', 'superseded', 1, 1, 200, 2),"
	    " ('production', 'v3', 'known_good', 1, 1, 300, 3)");
	int runs, logs;
	prune(1000, 0, 0, 200, &runs, &logs);
	cr_assert_eq(runs, 1);
	cr_assert_not(exists(1));
	cr_assert(exists(2), "the target of a rollback from the current release");
	cr_assert(exists(3));
}

Test(store_retention, step_logs_cleared_and_batches)
{
	run(1, "production", "succeeded", 100);
	run(2, "production", "succeeded", 200);
	run(3, "production", "succeeded", 5000);
	int runs, logs;
	prune(0, 1000, 0, 200, &runs, &logs);
	cr_assert_eq(runs, 0, "runs are kept when only logs expire");
	cr_assert_eq(logs, 2);
	cr_assert_eq(count("SELECT COUNT(*) FROM step_runs WHERE log IS NULL"), 2);
	cr_assert_eq(count("SELECT COUNT(*) FROM step_runs WHERE run_id=3 AND log IS NOT NULL"), 1);
	prune(1000, 0, 0, 1, &runs, &logs);
	cr_assert_eq(runs, 1, "a batch is at most max_runs");
	cr_assert_not(exists(1));
	cr_assert(exists(2));
	prune(1000, 0, 0, 1, &runs, &logs);
	cr_assert_eq(runs, 1);
	cr_assert_not(exists(2));
}

Test(store_retention, nothing_configured_is_nothing_done)
{
	run(1, "production", "succeeded", 100);
	int runs = -1, logs = -1;
	prune(0, 0, 0, 200, &runs, &logs);
	cr_assert_eq(runs, 0);
	cr_assert_eq(logs, 0);
	cr_assert(exists(1));
}

Test(store_retention, pruned_counted_by_state)
{
	run(1, "production", "succeeded", 100);
	run(2, "production", "rolled_back", 110);
	run(3, "production", "succeeded", 120);
	int runs, logs;
	prune(1000, 0, 0, 200, &runs, &logs);
	cr_assert_eq(runs, 3);
	cr_assert_eq(last.by_state[RG_RUN_SUCCEEDED], 2);
	cr_assert_eq(last.by_state[RG_RUN_ROLLED_BACK], 1);
	cr_assert_eq(last.by_state[RG_RUN_FAILED], 0);
	cr_assert_not(last.more, "the window was not full");
}

/* Runs every pass must keep (here a quiet environment's newest) are looked
 * at once per sweep: the window moves past them, so a pass never grows with
 * how many there are. */
Test(store_retention, window_moves_past_what_is_kept)
{
	for (int i = 1; i <= 4; i++)
		run(i, "quiet", "succeeded", 100 + i);       /* all kept: keep_last 4 */
	for (int i = 5; i <= 10; i++)
		run(i, "busy", "succeeded", 200 + i);
	rg_retention_pass p = { .runs_before = 1000, .keep_last = 4, .max_runs = 3 };
	rg_retention_result r;
	int pruned = 0, passes = 0;
	do {
		cr_assert_eq(rg_store_retention_prune(s, &p, &r, &err), RG_OK, "%s", err.message);
		cr_assert_leq(r.runs, 3);
		pruned += r.runs;
		passes++;
	} while (r.more && passes < 10);
	cr_assert_eq(pruned, 2, "busy keeps its newest 4 of 6");
	cr_assert_eq(passes, 4, "10 runs in windows of 3: the sweep ends at the 4th");
	cr_assert_eq(p.after_ended, 0, "a finished sweep starts again from the oldest");
	cr_assert_eq(p.after_id, 0);
	cr_assert(exists(1) && exists(4) && exists(7) && exists(10));
	cr_assert_not(exists(5));
	cr_assert_not(exists(6));
	cr_assert_eq(rg_store_retention_prune(s, &p, &r, &err), RG_OK, "%s", err.message);
	cr_assert_eq(r.runs, 0, "nothing more is due");
}

Test(store_retention, window_resumes_after_its_last_run)
{
	for (int i = 1; i <= 5; i++)
		run(i, "production", "succeeded", 100);     /* the same ended: id breaks the tie */
	rg_retention_pass p = { .runs_before = 1000, .max_runs = 2 };
	rg_retention_result r;
	cr_assert_eq(rg_store_retention_prune(s, &p, &r, &err), RG_OK, "%s", err.message);
	cr_assert_eq(r.runs, 2);
	cr_assert(r.more);
	cr_assert_eq(p.after_ended, 100);
	cr_assert_eq(p.after_id, 2);
	cr_assert_eq(rg_store_retention_prune(s, &p, &r, &err), RG_OK, "%s", err.message);
	cr_assert_eq(r.runs, 2);
	cr_assert(exists(5));
	cr_assert_not(exists(3));
	cr_assert_not(exists(4));
}
