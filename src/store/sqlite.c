/* sqlite.c — the SQLite store: open, schema migrations, transactions and
 * every write. It must never format a value into SQL text (everything is
 * bound) and never report RG_OK for a write that SQLite did not accept. */
#include "store/sqlite_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/alloc.h"
#include "util/log.h"
#include "util/timeutil.h"

/* ---- schema --------------------------------------------------------------
 *
 * Migration N (1-based) brings the database from user_version N-1 to N. Steps
 * are only ever appended: a released step is never edited, because databases
 * in the field already ran it. All pending steps run in one transaction
 * together with the user_version bump, so a crash mid-migration leaves the
 * old schema intact.
 *
 * Strings are NOT NULL DEFAULT '' (the structs use "" for "none"); the
 * exceptions are runs.plan and step_runs.log (NULL until written) and
 * releases.run_id (NULL for "no run", so the foreign key holds).
 * "plan", "trigger", "action" and "key" are quoted because they are SQL
 * keywords. */
static const char *const migrations[] = {
	/* 1: releases, runs, step runs, events, decisions */
	"CREATE TABLE runs ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" env TEXT NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN ('deploy','rollback')),"
	" version TEXT NOT NULL,"
	" from_version TEXT NOT NULL DEFAULT '',"
	" state TEXT NOT NULL CHECK (state IN ('queued','awaiting_approval','running',"
	"  'paused','verifying','monitoring','rolling_back','succeeded','failed',"
	"  'rolled_back','rollback_failed','aborted')),"
	" phase TEXT NOT NULL DEFAULT 'forward' CHECK (phase IN ('forward','reverse')),"
	" cursor INTEGER NOT NULL DEFAULT 0,"
	" total INTEGER NOT NULL DEFAULT 0,"
	" step TEXT NOT NULL DEFAULT '',"
	" \"plan\" TEXT,"
	" created INTEGER NOT NULL,"
	" started INTEGER NOT NULL DEFAULT 0,"
	" ended INTEGER NOT NULL DEFAULT 0,"
	" deadline INTEGER NOT NULL DEFAULT 0,"
	" window_until INTEGER NOT NULL DEFAULT 0,"
	" actor TEXT NOT NULL DEFAULT '',"
	" reason TEXT NOT NULL DEFAULT '',"
	" error TEXT NOT NULL DEFAULT '',"
	" warning TEXT NOT NULL DEFAULT '',"
	" force INTEGER NOT NULL DEFAULT 0 CHECK (force IN (0,1)),"
	" paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0,1))"
	") STRICT;"
	/* The database itself refuses a second unfinished run in an environment,
	 * so two racing deploys cannot both start whatever the callers do. */
	"CREATE UNIQUE INDEX runs_one_unfinished ON runs(env)"
	" WHERE state NOT IN " RG_SQ_TERMINAL ";"
	"CREATE INDEX runs_env ON runs(env, id);"
	"CREATE TABLE releases ("
	" env TEXT NOT NULL,"
	" version TEXT NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('pending','live','known_good','failed',"
	"  'rolled_back','superseded')),"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL,"
	" verified_at INTEGER NOT NULL DEFAULT 0,"
	" run_id INTEGER REFERENCES runs(id),"
	" PRIMARY KEY (env, version)"
	") STRICT;"
	/* At most one current release per environment (store.h): a writer must
	 * demote the old one before promoting the new one. */
	"CREATE UNIQUE INDEX releases_one_current ON releases(env)"
	" WHERE state IN ('live','known_good');"
	"CREATE INDEX releases_verified ON releases(env, verified_at);"
	"CREATE TABLE release_outputs ("
	" env TEXT NOT NULL,"
	" version TEXT NOT NULL,"
	" step TEXT NOT NULL,"
	" \"key\" TEXT NOT NULL,"
	" value TEXT NOT NULL,"
	" PRIMARY KEY (env, version, step, \"key\")"
	") STRICT;"
	"CREATE TABLE step_runs ("
	" run_id INTEGER NOT NULL REFERENCES runs(id),"
	" phase TEXT NOT NULL CHECK (phase IN ('forward','reverse')),"
	" idx INTEGER NOT NULL CHECK (idx >= 0),"
	" name TEXT NOT NULL,"
	" \"action\" TEXT NOT NULL DEFAULT '',"
	" state TEXT NOT NULL CHECK (state IN ('running','succeeded','failed','skipped')),"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" exit_code INTEGER NOT NULL DEFAULT -1,"
	" pgid INTEGER NOT NULL DEFAULT 0,"
	" started INTEGER NOT NULL DEFAULT 0,"
	" ended INTEGER NOT NULL DEFAULT 0,"
	" error TEXT NOT NULL DEFAULT '',"
	" log TEXT,"
	" PRIMARY KEY (run_id, phase, idx)"
	") STRICT;"
	"CREATE INDEX step_runs_ended ON step_runs(ended);"
	/* AUTOINCREMENT: event ids are the cursor of SSE clients (after_id) and
	 * must never be handed out twice, even if rows are pruned one day. */
	"CREATE TABLE events ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" run_id INTEGER NOT NULL REFERENCES runs(id),"
	" at INTEGER NOT NULL,"
	" type TEXT NOT NULL,"
	" step TEXT NOT NULL DEFAULT '',"
	" message TEXT NOT NULL DEFAULT ''"
	") STRICT;"
	"CREATE INDEX events_run ON events(run_id, id);"
	"CREATE TABLE decisions ("
	" run_id INTEGER PRIMARY KEY REFERENCES runs(id),"
	" \"trigger\" TEXT NOT NULL,"
	" severity TEXT NOT NULL DEFAULT '',"
	" \"action\" TEXT NOT NULL,"
	" observed TEXT NOT NULL DEFAULT '',"
	" threshold TEXT NOT NULL DEFAULT '',"
	" reason TEXT NOT NULL DEFAULT '',"
	" at INTEGER NOT NULL"
	") STRICT;",
	/* 2: traffic. runs.traffic_stage is how far a traffic step got (see
	 * store.h); routes holds what each environment's router must send where,
	 * written before the router is told, so a restart re-applies it. */
	"ALTER TABLE runs ADD COLUMN traffic_stage INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE routes ("
	" env TEXT PRIMARY KEY,"
	" stable_version TEXT NOT NULL DEFAULT '',"
	" stable TEXT NOT NULL DEFAULT '',"
	" canary_version TEXT NOT NULL DEFAULT '',"
	" canary TEXT NOT NULL DEFAULT '',"
	" canary_weight INTEGER NOT NULL DEFAULT 0 CHECK (canary_weight BETWEEN 0 AND 100),"
	" standby_version TEXT NOT NULL DEFAULT '',"
	" standby TEXT NOT NULL DEFAULT '',"
	" seed INTEGER NOT NULL DEFAULT 0,"
	" run_id INTEGER NOT NULL DEFAULT 0,"
	" updated INTEGER NOT NULL"
	") STRICT;",
	/* 3: a run keeps every decision (a notify, then a rollback …), each
	 * with the window it was taken in and its evidence (JSON: counts, the
	 * log-likelihood ratio, thresholds, α and β of a sequential test). */
	"CREATE TABLE decisions_v3 ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" run_id INTEGER NOT NULL REFERENCES runs(id),"
	" \"trigger\" TEXT NOT NULL,"
	" severity TEXT NOT NULL DEFAULT '',"
	" \"action\" TEXT NOT NULL,"
	" observed TEXT NOT NULL DEFAULT '',"
	" threshold TEXT NOT NULL DEFAULT '',"
	" \"window\" TEXT NOT NULL DEFAULT '',"
	" evidence TEXT NOT NULL DEFAULT '',"
	" reason TEXT NOT NULL DEFAULT '',"
	" at INTEGER NOT NULL"
	") STRICT;"
	"INSERT INTO decisions_v3(run_id, \"trigger\", severity, \"action\", observed, threshold,"
	" reason, at) SELECT run_id, \"trigger\", severity, \"action\", observed, threshold,"
	" reason, at FROM decisions;"
	"DROP TABLE decisions;"
	"ALTER TABLE decisions_v3 RENAME TO decisions;"
	"CREATE INDEX decisions_run ON decisions(run_id, id);",
	/* 4: a step's process group is told apart from a later one with the
	 * same id by its leader's start time and the boot it started in. */
	"ALTER TABLE step_runs ADD COLUMN pgid_start INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE step_runs ADD COLUMN pgid_boot TEXT NOT NULL DEFAULT '';"
	"CREATE INDEX step_runs_group ON step_runs(pgid) WHERE pgid != 0;",
	/* 5: people. A token is kept only as its keyed hash (auth/tokens.c);
	 * the audit log is append-only, each entry chained to the one before
	 * by its hash (auth/audit.c). */
	"CREATE TABLE tokens ("
	" name TEXT PRIMARY KEY,"
	" id TEXT NOT NULL UNIQUE,"
	" hash BLOB NOT NULL,"
	" roles TEXT NOT NULL,"
	" envs TEXT NOT NULL DEFAULT '',"
	" created INTEGER NOT NULL,"
	" expires INTEGER NOT NULL DEFAULT 0,"
	" last_used INTEGER NOT NULL DEFAULT 0,"
	" created_by TEXT NOT NULL DEFAULT ''"
	") STRICT;"
	"CREATE TABLE audit ("
	" seq INTEGER PRIMARY KEY,"
	" at INTEGER NOT NULL,"
	" actor TEXT NOT NULL,"
	" address TEXT NOT NULL DEFAULT '',"
	" \"action\" TEXT NOT NULL,"
	" env TEXT NOT NULL DEFAULT '',"
	" target TEXT NOT NULL DEFAULT '',"
	" result TEXT NOT NULL,"
	" status INTEGER NOT NULL DEFAULT 0,"
	" detail TEXT NOT NULL DEFAULT '',"
	" prev_hash TEXT NOT NULL,"
	" hash TEXT NOT NULL"
	") STRICT;"
	"CREATE INDEX audit_env ON audit(env, seq);",
	/* 6: approval gates. A run waiting at a gate names it (gate) and the
	 * round (each time a gate opens); an answer counts in its round only,
	 * and one person answers once per round. emergency: a run that skipped
	 * the gates on purpose (the reason is the run's reason). */
	"ALTER TABLE runs ADD COLUMN gate TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE runs ADD COLUMN gate_round INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE runs ADD COLUMN gate_passed INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE runs ADD COLUMN emergency INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE runs ADD COLUMN skip_monitor INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE approvals ("
	" id INTEGER PRIMARY KEY,"
	" run_id INTEGER NOT NULL REFERENCES runs(id),"
	" round INTEGER NOT NULL,"
	" gate TEXT NOT NULL,"
	" who TEXT NOT NULL,"
	" verdict TEXT NOT NULL CHECK (verdict IN ('approve','reject')),"
	" comment TEXT NOT NULL DEFAULT '',"
	" at INTEGER NOT NULL,"
	" UNIQUE (run_id, round, who)"
	") STRICT;",
	/* 7: backups. A backup step's artifacts, each file's size and SHA-256,
	 * the release and run it was taken for; pruned ones stay recorded. */
	"CREATE TABLE backups ("
	" id INTEGER PRIMARY KEY,"
	" env TEXT NOT NULL,"
	" version TEXT NOT NULL,"
	" run_id INTEGER NOT NULL REFERENCES runs(id),"
	" step TEXT NOT NULL,"
	" dir TEXT NOT NULL,"
	" files TEXT NOT NULL,"
	" bytes INTEGER NOT NULL,"
	" created INTEGER NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('kept','pruned')),"
	" pruned INTEGER NOT NULL DEFAULT 0,"
	" verified INTEGER NOT NULL DEFAULT 0,"
	" verify_result TEXT NOT NULL DEFAULT ''"
	") STRICT;"
	"CREATE INDEX backups_env ON backups(env, id);",
	/* 8: configuration snapshots. A file's content is kept once, by its
	 * SHA-256; a release names the contents of its config files. */
	"CREATE TABLE config_blobs ("
	" hash TEXT PRIMARY KEY,"
	" content BLOB NOT NULL"
	") STRICT;"
	"CREATE TABLE release_config ("
	" env TEXT NOT NULL,"
	" version TEXT NOT NULL,"
	" path TEXT NOT NULL,"
	" hash TEXT NOT NULL REFERENCES config_blobs(hash),"
	" PRIMARY KEY (env, version, path)"
	") STRICT;",
	/* 9: feature flags. A row replaces, for one flag in one environment,
	 * what rollguard.yaml says (enabled, rollout): written by `rollguard
	 * flag set` or by a trigger's disable_flag, before anyone is told. */
	"CREATE TABLE flag_overrides ("
	" env TEXT NOT NULL,"
	" \"key\" TEXT NOT NULL,"
	" enabled INTEGER NOT NULL CHECK (enabled IN (0,1)),"
	" rollout INTEGER NOT NULL CHECK (rollout BETWEEN 0 AND 100),"
	" actor TEXT NOT NULL,"
	" reason TEXT NOT NULL DEFAULT '',"
	" run_id INTEGER REFERENCES runs(id),"
	" at INTEGER NOT NULL,"
	" PRIMARY KEY (env, \"key\")"
	") STRICT;",
	/* 10: the notification outbox. A row per (notice, channel), written in
	 * the transaction of the change it tells of; the sender delivers it
	 * after the commit, retrying until delivered or given up (failed). */
	"CREATE TABLE notifications ("
	" id INTEGER PRIMARY KEY,"
	" created INTEGER NOT NULL,"
	" channel TEXT NOT NULL,"
	" event TEXT NOT NULL,"
	" env TEXT NOT NULL DEFAULT '',"
	" run_id INTEGER NOT NULL DEFAULT 0,"
	" incident_id INTEGER NOT NULL DEFAULT 0,"
	" payload TEXT NOT NULL,"
	" idem_key TEXT NOT NULL UNIQUE,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" next_attempt_at INTEGER NOT NULL,"
	" last_error TEXT NOT NULL DEFAULT '',"
	" delivered_at INTEGER NOT NULL DEFAULT 0,"
	" state TEXT NOT NULL CHECK (state IN ('pending','delivered','failed'))"
	") STRICT;"
	"CREATE INDEX notifications_pending ON notifications(state, next_attempt_at);",
	/* 11: incidents. One per failing release of an environment while it is
	 * unresolved (the partial index finds it to join), the runs it covers
	 * (their events are its timeline too), its own timeline entries and
	 * its checklist, copied from the config when it opened. */
	"CREATE TABLE incidents ("
	" id INTEGER PRIMARY KEY,"
	" env TEXT NOT NULL,"
	" severity TEXT NOT NULL,"
	" kind TEXT NOT NULL,"
	" failed_version TEXT NOT NULL DEFAULT '',"
	" restored_version TEXT NOT NULL DEFAULT '',"
	" \"trigger\" TEXT NOT NULL DEFAULT '',"
	" decision TEXT NOT NULL DEFAULT '',"
	" state TEXT NOT NULL CHECK (state IN ('open','acknowledged','resolved')),"
	" escalating INTEGER NOT NULL DEFAULT 0 CHECK (escalating IN (0,1)),"
	" level INTEGER NOT NULL DEFAULT 0,"
	" ladder_start INTEGER NOT NULL DEFAULT 0,"
	" next_escalation_at INTEGER NOT NULL DEFAULT 0,"
	" opened INTEGER NOT NULL,"
	" opened_by TEXT NOT NULL DEFAULT '',"
	" acked INTEGER NOT NULL DEFAULT 0,"
	" acked_by TEXT NOT NULL DEFAULT '',"
	" resolved INTEGER NOT NULL DEFAULT 0,"
	" resolved_by TEXT NOT NULL DEFAULT ''"
	") STRICT;"
	"CREATE INDEX incidents_unresolved ON incidents(env, failed_version) WHERE state != 'resolved';"
	"CREATE INDEX incidents_due ON incidents(next_escalation_at) WHERE next_escalation_at != 0;"
	"CREATE TABLE incident_runs ("
	" incident_id INTEGER NOT NULL REFERENCES incidents(id),"
	" run_id INTEGER NOT NULL REFERENCES runs(id),"
	" PRIMARY KEY (incident_id, run_id)"
	") STRICT;"
	"CREATE TABLE incident_entries ("
	" id INTEGER PRIMARY KEY,"
	" incident_id INTEGER NOT NULL REFERENCES incidents(id),"
	" at INTEGER NOT NULL,"
	" type TEXT NOT NULL,"
	" actor TEXT NOT NULL DEFAULT '',"
	" message TEXT NOT NULL DEFAULT ''"
	") STRICT;"
	"CREATE INDEX incident_entries_of ON incident_entries(incident_id, id);"
	"CREATE TABLE incident_checklist ("
	" incident_id INTEGER NOT NULL REFERENCES incidents(id),"
	" item INTEGER NOT NULL,"
	" text TEXT NOT NULL,"
	" ticked INTEGER NOT NULL DEFAULT 0,"
	" ticked_by TEXT NOT NULL DEFAULT '',"
	" PRIMARY KEY (incident_id, item)"
	") STRICT;",
	/* 12: schema versions. The schema a release's migrate step left
	 * (`schema=` or its `current` command), written with the step's
	 * success; a rollback compares the target's with the current one. */
	"CREATE TABLE release_schema ("
	" env TEXT NOT NULL,"
	" version TEXT NOT NULL,"
	" schema TEXT NOT NULL,"
	" step TEXT NOT NULL,"
	" at INTEGER NOT NULL,"
	" PRIMARY KEY (env, version)"
	") STRICT;",
	/* 13: retention (retention.c). The pruner finds old finished runs by
	 * when they ended, and the rows that name a run by its id. */
	"CREATE INDEX runs_ended ON runs(ended) WHERE ended > 0;"
	"CREATE INDEX backups_run ON backups(run_id);"
	"CREATE INDEX incident_runs_run ON incident_runs(run_id);"
	"CREATE INDEX notifications_run ON notifications(run_id) WHERE run_id != 0;"
	"CREATE INDEX flag_overrides_run ON flag_overrides(run_id) WHERE run_id IS NOT NULL;"
	"CREATE INDEX step_runs_log_ended ON step_runs(ended) WHERE log IS NOT NULL;",
	/* 14: dashboard sessions (sessions.c). A session is kept as the keyed
	 * hash of its cookie and names the token it was opened with by the
	 * token's public id, so revoking the token ends it. */
	"CREATE TABLE sessions ("
	" hash BLOB PRIMARY KEY,"
	" token_id TEXT NOT NULL,"
	" csrf TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" expires INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX sessions_expires ON sessions(expires);",
	/* 15: a run's figures over time (figures.c): both sides of a canary,
	 * sampled by engine/figures.c while the built-in proxy routes them.
	 * Not a state anything acts on; bounded per run, pruned with it. */
	"CREATE TABLE run_figures ("
	" run_id INTEGER NOT NULL REFERENCES runs(id),"
	" at INTEGER NOT NULL,"
	" side TEXT NOT NULL CHECK (side IN ('canary','baseline')),"
	" version TEXT NOT NULL,"
	" requests INTEGER NOT NULL,"
	" rps REAL NOT NULL,"
	" error_rate REAL NOT NULL,"
	" p50_ms REAL NOT NULL,"
	" p95_ms REAL NOT NULL,"
	" p99_ms REAL NOT NULL"
	") STRICT;"
	"CREATE INDEX run_figures_of ON run_figures(run_id, at);",
	/* 16: the runs a release names. Without it, deleting a run made the
	 * foreign key check scan every release, and the pruner asked the same
	 * of each candidate (a 10-run pass took 50 ms with 100 000 releases). */
	"CREATE INDEX releases_run ON releases(run_id) WHERE run_id IS NOT NULL;",
};

#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- helpers shared with query.c ------------------------------------------ */

rg_err rg_sq_fail(rg_store *s, int rc, const char *what, rg_error *err)
{
	const char *msg = s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
	switch (rc) {
	case SQLITE_NOMEM:
		return rg_fail(err, RG_ENOMEM, NULL, "%s: out of memory", what);
	case SQLITE_CONSTRAINT_CHECK:
	case SQLITE_CONSTRAINT_NOTNULL:
	case SQLITE_CONSTRAINT_DATATYPE:
		return rg_fail(err, RG_EINVAL, NULL, "%s: invalid value (%s)", what, msg);
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return rg_fail(err, RG_ENOTFOUND, NULL, "%s: the run it refers to does not exist",
			       what);
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return rg_fail(err, RG_ECONFLICT, NULL, "%s: %s", what, msg);
	default:
		return rg_fail(err, RG_ESTORE, NULL, "%s: %s", what, msg);
	}
}

#ifdef RG_TEST_HOOKS
/* Torture (the test build only, `make torture`): ROLLGUARD_TORTURE_WRITE=N
 * refuses the Nth write of this process — a statement that changes the
 * database, or a COMMIT — once, as a full disk would. With the variable
 * set, the number of writes is logged when the store closes, so a sweep
 * knows how far to go. */
static long torture_count, torture_at = -1;

static void torture_init(void)
{
	const char *v = getenv("ROLLGUARD_TORTURE_WRITE");
	torture_at = v && *v ? strtol(v, NULL, 10) : 0;
}

static rg_err torture_write(rg_error *err)
{
	if (torture_at < 0)
		torture_init();
	if (torture_at == 0)
		return RG_OK;
	if (++torture_count != torture_at)
		return RG_OK;
	rg_warn("torture: write %ld refused", torture_count);
	return rg_fail(err, RG_ESTORE, NULL, "torture: write %ld refused (database or disk is full)",
		       torture_count);
}

static void torture_report(void)
{
	if (torture_at > 0 || getenv("ROLLGUARD_TORTURE_WRITE"))
		rg_info("torture: %ld writes", torture_count);
}
#else
static rg_err torture_write(rg_error *err)
{
	(void)err;
	return RG_OK;
}

static void torture_report(void)
{
}
#endif

rg_err rg_sq_stmt(rg_store *s, enum rg_sq_stmt id, const char *sql, sqlite3_stmt **out,
		  rg_error *err)
{
	if (!s->stmt[id]) {
		int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
					    &s->stmt[id], NULL);
		if (rc != SQLITE_OK) {
			sqlite3_finalize(s->stmt[id]);
			s->stmt[id] = NULL;
			return rg_sq_fail(s, rc, "prepare", err);
		}
	}
	/* Users reset it when done (rg_sq_done); resetting again is a cheap
	 * guard. Its return code repeats the previous run's result, which was
	 * reported to that caller, so it is not ours to report. */
	sqlite3_reset(s->stmt[id]);
	sqlite3_clear_bindings(s->stmt[id]);
	if (!sqlite3_stmt_readonly(s->stmt[id])) {
		rg_err e = torture_write(err);
		if (e)
			return e;
	}
	*out = s->stmt[id];
	return RG_OK;
}

void rg_sq_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

void rg_sq_bind_buf(sqlite3_stmt *st, int i, const char *buf, size_t size, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_text(st, i, buf, (int)strnlen(buf, size), SQLITE_TRANSIENT);
}

void rg_sq_bind_str(sqlite3_stmt *st, int i, const char *str, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	*rc = str ? sqlite3_bind_text(st, i, str, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

void rg_sq_bind_int(sqlite3_stmt *st, int i, int64_t v, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_int64(st, i, v);
}

/* Text that may carry a command's output is bound with every known secret
 * masked; the masked copy is SQLite's to free. */
static void bind_redacted(rg_store *s, sqlite3_stmt *st, int i, const char *text, size_t len,
			  int *rc)
{
	char *copy = NULL;
	rg_error ignored;
	if (*rc != SQLITE_OK)
		return;
	if (!text)
		text = "", len = 0;
	if (rg_secrets_count(s->secrets) == 0) {
		*rc = sqlite3_bind_text64(st, i, text, len, SQLITE_TRANSIENT, SQLITE_UTF8);
		return;
	}
	if (rg_secrets_redact_dup(s->secrets, text, len, &copy, &len, &ignored)) {
		*rc = SQLITE_NOMEM;
		return;
	}
	*rc = sqlite3_bind_text64(st, i, copy, len, free, SQLITE_UTF8);
}

static void bind_redacted_buf(rg_store *s, sqlite3_stmt *st, int i, const char *buf,
			      size_t size, int *rc)
{
	bind_redacted(s, st, i, buf, strnlen(buf, size), rc);
}

void rg_store_set_secrets(rg_store *s, rg_secrets *secrets)
{
	s->secrets = secrets;
}

rg_secrets *rg_store_secrets(const rg_store *s)
{
	return s ? s->secrets : NULL;
}

void rg_sq_text(sqlite3_stmt *st, int col, char *buf, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	size_t n = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
	if (n >= size)
		n = size - 1;
	if (n)
		memcpy(buf, t, n);
	buf[n] = '\0';
}

/* Runs a statement that returns no rows, unless binding it failed (rc), then
 * releases it. */
rg_err rg_sq_exec(rg_store *s, sqlite3_stmt *st, int rc, const char *what, rg_error *err)
{
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	rg_err e = rc == SQLITE_DONE ? RG_OK : rg_sq_fail(s, rc, what, err);
	rg_sq_done(st);
	return e;
}

rg_err rg_sq_first_row(rg_store *s, sqlite3_stmt *st, int rc, rg_sq_row_fn row, void *ctx,
		       bool *found, const char *what, rg_error *err)
{
	rg_err e = RG_OK;
	bool any = false;
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		any = true;
		e = row(st, ctx, err);
	} else if (rc != SQLITE_DONE) {
		e = rg_sq_fail(s, rc, what, err);
	}
	rg_sq_done(st);
	if (found)
		*found = any;
	return e;
}

rg_err rg_sq_each_row(rg_store *s, sqlite3_stmt *st, int rc, rg_sq_row_fn row, void *ctx,
		      const char *what, rg_error *err)
{
	rg_err e = RG_OK;
	while (!e && rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		e = row(st, ctx, err);
		rc = SQLITE_OK;
	}
	if (!e && rc != SQLITE_DONE)
		e = rg_sq_fail(s, rc, what, err);
	rg_sq_done(st);
	return e;
}

/* ---- open and migrate ------------------------------------------------------- */

/* Runs a PRAGMA and copies the first column of its first row into buf. */
static rg_err pragma_text(rg_store *s, const char *sql, char *buf, size_t size, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rg_sq_fail(s, rc, sql, err);
	buf[0] = '\0';
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rg_sq_text(st, 0, buf, size);
	rg_err e = rc == SQLITE_ROW || rc == SQLITE_DONE ? RG_OK : rg_sq_fail(s, rc, sql, err);
	sqlite3_finalize(st);
	return e;
}

static rg_err user_version(rg_store *s, int *v, rg_error *err)
{
	char buf[32];
	rg_err e = pragma_text(s, "PRAGMA user_version", buf, sizeof buf, err);
	*v = atoi(buf);
	return e;
}

/* serve is the only writer but for short CLI writes; a lock held longer than
 * this is reported at once (the engine retries with backoff, recover.c)
 * rather than stalling the control loop for seconds. */
#define BUSY_TIMEOUT_MS 250

/* WAL lets readers run beside the one writer; synchronous=FULL fsyncs the WAL
 * at every commit, which is what makes a committed rollback decision survive
 * power loss (NORMAL would only survive a process crash). */
static rg_err configure(rg_store *s, const char *path, rg_error *err)
{
	char mode[16], fk[8];
	int rc = sqlite3_extended_result_codes(s->db, 1);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	if (rc != SQLITE_OK)
		return rg_sq_fail(s, rc, "configure", err);
	rg_err e = pragma_text(s, "PRAGMA journal_mode=WAL", mode, sizeof mode, err);
	if (!e && strcmp(mode, "wal") != 0 && strcmp(path, ":memory:") != 0)
		return rg_fail(err, RG_ESTORE, NULL, "%s: cannot use WAL mode (journal mode is %s)",
			       path, mode);
	if (!e)
		e = pragma_text(s, "PRAGMA synchronous=FULL", mode, sizeof mode, err);
	if (!e)
		e = pragma_text(s, "PRAGMA foreign_keys=ON", mode, sizeof mode, err);
	if (!e)
		e = pragma_text(s, "PRAGMA foreign_keys", fk, sizeof fk, err);
	if (!e && strcmp(fk, "1") != 0)
		return rg_fail(err, RG_ESTORE, NULL, "this SQLite has no foreign key support");
	return e;
}

static rg_err exec_sql(rg_store *s, const char *sql, const char *what, rg_error *err)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? RG_OK : rg_sq_fail(s, rc, what, err);
}

/* Applies the pending migration steps in one IMMEDIATE transaction; the
 * version is read again under the write lock so that two processes opening a
 * fresh database at once do not both run step 1. */
static rg_err migrate(rg_store *s, const char *path, rg_error *err)
{
	int v = 0;
	rg_err e = user_version(s, &v, err);
	if (!e && v > SCHEMA_VERSION)
		return rg_fail(err, RG_ESTORE, NULL,
			       "%s: schema version %d is newer than this rollguard's (%d)", path,
			       v, SCHEMA_VERSION);
	if (e || v == SCHEMA_VERSION)
		return e;
	e = exec_sql(s, "BEGIN IMMEDIATE", "migrate", err);
	if (e)
		return e;
	e = user_version(s, &v, err);
	for (; !e && v < SCHEMA_VERSION; v++)
		e = exec_sql(s, migrations[v], "migrate", err);
	if (!e) {
		/* PRAGMA takes no bound parameters; v is our own constant. */
		char sql[48];
		snprintf(sql, sizeof sql, "PRAGMA user_version=%d", SCHEMA_VERSION);
		e = exec_sql(s, sql, "migrate", err);
	}
	if (!e)
		e = exec_sql(s, "COMMIT", "migrate", err);
	if (e)
		rg_store_abandon(s);
	return e;
}

/* The database holds what commands printed and published: owner only.
 * SQLite creates -wal and -shm with the mode of the database, so a private
 * database file is enough for new stores; files of an older store that
 * others could read are made private. */
static void make_private(const char *path)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
		char file[4096];
		struct stat st;
		snprintf(file, sizeof file, "%s%s", path, suffixes[i]);
		if (stat(file, &st) == 0 && (st.st_mode & 077) && chmod(file, st.st_mode & 0700))
			rg_warn("store: cannot make '%s' private: %s", file, strerror(errno));
	}
}

static int open_private(const char *path, sqlite3 **db)
{
	/* umask is the process's; the store is opened before any thread runs */
	mode_t old = umask(077);
	int rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	umask(old);
	if (rc == SQLITE_OK && strcmp(path, ":memory:") != 0)
		make_private(path);
	return rc;
}

rg_err rg_store_open(const char *path, rg_store **out, rg_error *err)
{
	*out = NULL;
	rg_store *s = calloc(1, sizeof *s);
	if (!s)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	int rc = open_private(path, &s->db);
	rg_err e = RG_OK;
	if (rc != SQLITE_OK) {
		e = rg_fail(err, RG_ESTORE, NULL, "%s: %s", path,
			    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
	}
	if (!e)
		e = configure(s, path, err);
	if (!e)
		e = migrate(s, path, err);
	if (e) {
		rg_store_free(s);
		return e;
	}
	*out = s;
	return RG_OK;
}

void rg_store_free(rg_store *s)
{
	if (!s)
		return;
	torture_report();
	for (int i = 0; i < RG_SQ_STMT_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	/* Closing rolls back a transaction still open: an abandoned change. */
	int rc = sqlite3_close(s->db);
	if (rc != SQLITE_OK)
		rg_warn("store: close: %s", sqlite3_errstr(rc));
	free(s);
}

/* ---- transactions ------------------------------------------------------------ */

rg_err rg_store_begin(rg_store *s, rg_error *err)
{
	if (!sqlite3_get_autocommit(s->db))
		return rg_fail(err, RG_EINTERNAL, NULL, "store: a transaction is already open");
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_BEGIN, "BEGIN IMMEDIATE", &st, err);
	return e ? e : rg_sq_exec(s, st, SQLITE_OK, "begin", err);
}

/* A failed COMMIT may leave the transaction open (SQLITE_BUSY) or not (I/O
 * error); either way the caller's change did not happen, so we end it here and
 * the store is ready for the next transaction. */
rg_err rg_store_commit(rg_store *s, rg_error *err)
{
	if (sqlite3_get_autocommit(s->db))
		return rg_fail(err, RG_EINTERNAL, NULL, "store: commit without a transaction");
	sqlite3_stmt *st = NULL;
	rg_err e = torture_write(err);
	if (!e)
		e = rg_sq_stmt(s, RG_SQ_COMMIT, "COMMIT", &st, err);
	if (!e)
		e = rg_sq_exec(s, st, SQLITE_OK, "commit", err);
	if (e)
		rg_store_abandon(s);
	return e;
}

void rg_store_abandon(rg_store *s)
{
	if (!s || sqlite3_get_autocommit(s->db))
		return;
	sqlite3_stmt *st = NULL;
	rg_error ignored;
	if (rg_sq_stmt(s, RG_SQ_ROLLBACK, "ROLLBACK", &st, &ignored) == RG_OK &&
	    rg_sq_exec(s, st, SQLITE_OK, "rollback", &ignored) == RG_OK)
		return;
	rg_warn("store: rollback failed: %s", ignored.message);
}

/* ---- runs ----------------------------------------------------------------------- */

void rg_run_release(rg_run *r)
{
	if (!r)
		return;
	free(r->plan);
	r->plan = NULL;
}

#define RUN_SET_COLUMNS                                                              \
	"env, kind, version, from_version, state, phase, cursor, total, step, \"plan\", " \
	"created, started, ended, deadline, window_until, actor, reason, error, warning, " \
	"force, paused, traffic_stage, gate, gate_round, gate_passed, emergency, skip_monitor"

/* Binds every column but id as ?1..?27, in RUN_SET_COLUMNS order. A run
 * written before its phase was chosen is in the forward phase. */
static void bind_run(rg_store *s, sqlite3_stmt *st, const rg_run *r, int *rc)
{
	rg_sq_bind_buf(st, 1, r->env, sizeof r->env, rc);
	rg_sq_bind_str(st, 2, rg_run_kind_name(r->kind), rc);
	rg_sq_bind_buf(st, 3, r->version, sizeof r->version, rc);
	rg_sq_bind_buf(st, 4, r->from_version, sizeof r->from_version, rc);
	rg_sq_bind_str(st, 5, rg_run_state_name(r->state), rc);
	rg_sq_bind_str(st, 6, rg_run_phase_name(r->phase), rc);
	rg_sq_bind_int(st, 7, r->cursor, rc);
	rg_sq_bind_int(st, 8, r->total, rc);
	rg_sq_bind_buf(st, 9, r->step, sizeof r->step, rc);
	rg_sq_bind_str(st, 10, r->plan, rc);
	rg_sq_bind_int(st, 11, r->created, rc);
	rg_sq_bind_int(st, 12, r->started, rc);
	rg_sq_bind_int(st, 13, r->ended, rc);
	rg_sq_bind_int(st, 14, r->deadline, rc);
	rg_sq_bind_int(st, 15, r->window_until, rc);
	rg_sq_bind_buf(st, 16, r->actor, sizeof r->actor, rc);
	bind_redacted_buf(s, st, 17, r->reason, sizeof r->reason, rc);
	bind_redacted_buf(s, st, 18, r->error, sizeof r->error, rc);
	rg_sq_bind_buf(st, 19, r->warning, sizeof r->warning, rc);
	rg_sq_bind_int(st, 20, r->force ? 1 : 0, rc);
	rg_sq_bind_int(st, 21, r->paused ? 1 : 0, rc);
	rg_sq_bind_int(st, 22, r->traffic_stage, rc);
	rg_sq_bind_buf(st, 23, r->gate, sizeof r->gate, rc);
	rg_sq_bind_int(st, 24, r->gate_round, rc);
	rg_sq_bind_int(st, 25, r->gate_passed, rc);
	rg_sq_bind_int(st, 26, r->emergency ? 1 : 0, rc);
	rg_sq_bind_int(st, 27, r->skip_monitor ? 1 : 0, rc);
}

rg_err rg_sq_run_read(sqlite3_stmt *st, rg_run *r, rg_error *err)
{
	memset(r, 0, sizeof *r);
	r->id = sqlite3_column_int64(st, 0);
	rg_sq_text(st, 1, r->env, sizeof r->env);
	char kind[16], state[RG_STATE_LEN], phase[16];
	rg_sq_text(st, 2, kind, sizeof kind);
	rg_sq_text(st, 3, r->version, sizeof r->version);
	rg_sq_text(st, 4, r->from_version, sizeof r->from_version);
	rg_sq_text(st, 5, state, sizeof state);
	rg_sq_text(st, 6, phase, sizeof phase);
	if (!rg_run_kind_parse(kind, &r->kind) || !rg_run_state_parse(state, &r->state) ||
	    !rg_run_phase_parse(phase, &r->phase))
		return rg_fail(err, RG_ESTORE, NULL, "run %lld in the store has kind '%s', state '%s', phase '%s': "
			       "not all of them are known", (long long)r->id, kind, state, phase);
	r->cursor = sqlite3_column_int(st, 7);
	r->total = sqlite3_column_int(st, 8);
	rg_sq_text(st, 9, r->step, sizeof r->step);
	r->created = sqlite3_column_int64(st, 11);
	r->started = sqlite3_column_int64(st, 12);
	r->ended = sqlite3_column_int64(st, 13);
	r->deadline = sqlite3_column_int64(st, 14);
	r->window_until = sqlite3_column_int64(st, 15);
	rg_sq_text(st, 16, r->actor, sizeof r->actor);
	rg_sq_text(st, 17, r->reason, sizeof r->reason);
	rg_sq_text(st, 18, r->error, sizeof r->error);
	rg_sq_text(st, 19, r->warning, sizeof r->warning);
	r->force = sqlite3_column_int(st, 20) != 0;
	r->paused = sqlite3_column_int(st, 21) != 0;
	r->traffic_stage = sqlite3_column_int(st, 22);
	rg_sq_text(st, 23, r->gate, sizeof r->gate);
	r->gate_round = sqlite3_column_int(st, 24);
	r->gate_passed = sqlite3_column_int64(st, 25);
	r->emergency = sqlite3_column_int(st, 26) != 0;
	r->skip_monitor = sqlite3_column_int(st, 27) != 0;
	const unsigned char *plan = sqlite3_column_text(st, 10);
	if (plan && !(r->plan = strdup((const char *)plan)))
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	return RG_OK;
}

static rg_err run_row(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	return rg_sq_run_read(st, ctx, err);
}

rg_err rg_sq_run_unfinished(rg_store *s, const char *env, rg_run *r, bool *found,
			    rg_error *err)
{
	sqlite3_stmt *st = NULL;
	*found = false;
	memset(r, 0, sizeof *r);
	rg_err e = rg_sq_stmt(s, RG_SQ_RUN_UNFINISHED_ENV,
			      "SELECT " RG_SQ_RUN_COLUMNS " FROM runs WHERE env=?1"
			      " AND state NOT IN " RG_SQ_TERMINAL,
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_str(st, 1, env, &rc);
	return rg_sq_first_row(s, st, rc, run_row, r, found, "unfinished run", err);
}

/* Turns a violation of runs_one_unfinished into a message naming the run in
 * the way, which is what the person who asked for the deploy needs to know. */
static rg_err run_conflict(rg_store *s, const char *env, rg_error *err)
{
	rg_run other;
	bool found;
	rg_err e = rg_sq_run_unfinished(s, env, &other, &found, err);
	if (e)
		return e;
	rg_run_release(&other);
	if (!found)
		return rg_fail(err, RG_ECONFLICT, "env", "environment '%s' has an unfinished run",
			       env);
	return rg_fail(err, RG_ECONFLICT, "env",
		       "environment '%s' has run %lld (%s %s) in state %s", env,
		       (long long)other.id, rg_run_kind_name(other.kind), other.version,
		       rg_run_state_name(other.state));
}

rg_err rg_store_run_insert(rg_store *s, rg_run *r, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_RUN_INSERT,
			      "INSERT INTO runs(" RUN_SET_COLUMNS ") VALUES (?1,?2,?3,?4,?5,?6,"
			      "?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26,?27)",
			      &st, err);
	if (e)
		return e;
	if (!r->created)
		r->created = rg_now_ms();
	int rc = SQLITE_OK;
	bind_run(s, st, r, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		r->id = sqlite3_last_insert_rowid(s->db);
	else
		e = rg_sq_fail(s, rc, "insert run", err);
	rg_sq_done(st);
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		return run_conflict(s, r->env, err);
	return e;
}

rg_err rg_store_run_get(rg_store *s, int64_t id, rg_run *out, rg_error *err)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_RUN_GET,
			      "SELECT " RG_SQ_RUN_COLUMNS " FROM runs WHERE id=?1", &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		e = rg_sq_run_read(st, out, err);
	else if (rc == SQLITE_DONE)
		e = rg_fail(err, RG_ENOTFOUND, "run", "no run %lld", (long long)id);
	else
		e = rg_sq_fail(s, rc, "get run", err);
	rg_sq_done(st);
	return e;
}

/* Tells apart why a compare-and-set changed nothing: no such run, or its
 * state moved on (another writer got there first). */
static rg_err run_cas_missed(rg_store *s, int64_t id, rg_run_state expect_state, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_RUN_STATE, "SELECT state FROM runs WHERE id=?1", &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		e = rg_fail(err, RG_ECONFLICT, "state", "run %lld is no longer in state '%s'",
			    (long long)id, rg_run_state_name(expect_state));
	else if (rc == SQLITE_DONE)
		e = rg_fail(err, RG_ENOTFOUND, "run", "no run %lld", (long long)id);
	else
		e = rg_sq_fail(s, rc, "get run state", err);
	rg_sq_done(st);
	return e;
}

rg_err rg_store_run_update(rg_store *s, const rg_run *r, rg_run_state expect_state,
			   rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_RUN_UPDATE,
			      "UPDATE runs SET (" RUN_SET_COLUMNS ") = (?1,?2,?3,?4,?5,?6,?7,?8,"
			      "?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26,?27)"
			      " WHERE id=?28 AND state=?29",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	bind_run(s, st, r, &rc);
	rg_sq_bind_int(st, 28, r->id, &rc);
	rg_sq_bind_str(st, 29, rg_run_state_name(expect_state), &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		e = rg_sq_fail(s, rc, "update run", err);
	int changed = sqlite3_changes(s->db);
	rg_sq_done(st);
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		return run_conflict(s, r->env, err);
	if (!e && changed == 0)
		return run_cas_missed(s, r->id, expect_state, err);
	return e;
}

typedef struct id_list {
	int64_t **ids;
	size_t *n, cap;
} id_list;

static rg_err id_append(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	id_list *l = ctx;
	if (RG_ALLOC_GROW(*l->ids, *l->n + 1, l->cap))
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	(*l->ids)[(*l->n)++] = sqlite3_column_int64(st, 0);
	return RG_OK;
}

rg_err rg_store_runs_unfinished(rg_store *s, int64_t **ids, size_t *n, rg_error *err)
{
	*ids = NULL;
	*n = 0;
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_RUNS_UNFINISHED,
			      "SELECT id FROM runs WHERE state NOT IN " RG_SQ_TERMINAL
			      " ORDER BY id",
			      &st, err);
	if (e)
		return e;
	id_list list = { ids, n, 0 };
	e = rg_sq_each_row(s, st, SQLITE_OK, id_append, &list, "unfinished runs", err);
	if (e) {
		free(*ids);
		*ids = NULL;
		*n = 0;
	}
	return e;
}

/* ---- step runs ------------------------------------------------------------------ */

#define STEP_COLUMNS                                                                   \
	"run_id, phase, idx, name, \"action\", state, attempts, exit_code, pgid, started, " \
	"ended, error, pgid_start, pgid_boot"

/* The upsert leaves log alone: the log is written separately, after the row,
 * and a later state change of the step must not erase it. */
rg_err rg_store_step_put(rg_store *s, const rg_step_run *sr, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_STEP_PUT,
			      "INSERT INTO step_runs(" STEP_COLUMNS ") VALUES (?1,?2,?3,?4,?5,?6,"
			      "?7,?8,?9,?10,?11,?12,?13,?14) ON CONFLICT(run_id, phase, idx) DO UPDATE SET"
			      " name=excluded.name, \"action\"=excluded.\"action\","
			      " state=excluded.state, attempts=excluded.attempts,"
			      " exit_code=excluded.exit_code, pgid=excluded.pgid,"
			      " started=excluded.started, ended=excluded.ended, error=excluded.error,"
			      " pgid_start=excluded.pgid_start, pgid_boot=excluded.pgid_boot",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, sr->run_id, &rc);
	rg_sq_bind_buf(st, 2, sr->phase, sizeof sr->phase, &rc);
	rg_sq_bind_int(st, 3, sr->idx, &rc);
	rg_sq_bind_buf(st, 4, sr->name, sizeof sr->name, &rc);
	rg_sq_bind_buf(st, 5, sr->action, sizeof sr->action, &rc);
	rg_sq_bind_buf(st, 6, sr->state, sizeof sr->state, &rc);
	rg_sq_bind_int(st, 7, sr->attempts, &rc);
	rg_sq_bind_int(st, 8, sr->exit_code, &rc);
	rg_sq_bind_int(st, 9, sr->pgid, &rc);
	rg_sq_bind_int(st, 10, sr->started, &rc);
	rg_sq_bind_int(st, 11, sr->ended, &rc);
	bind_redacted_buf(s, st, 12, sr->error, sizeof sr->error, &rc);
	rg_sq_bind_int(st, 13, sr->pgid_start, &rc);
	rg_sq_bind_buf(st, 14, sr->pgid_boot, sizeof sr->pgid_boot, &rc);
	return rg_sq_exec(s, st, rc, "put step", err);
}

static void step_read(sqlite3_stmt *st, rg_step_run *out)
{
	memset(out, 0, sizeof *out);
	out->run_id = sqlite3_column_int64(st, 0);
	rg_sq_text(st, 1, out->phase, sizeof out->phase);
	out->idx = sqlite3_column_int(st, 2);
	rg_sq_text(st, 3, out->name, sizeof out->name);
	rg_sq_text(st, 4, out->action, sizeof out->action);
	rg_sq_text(st, 5, out->state, sizeof out->state);
	out->attempts = sqlite3_column_int(st, 6);
	out->exit_code = sqlite3_column_int(st, 7);
	out->pgid = sqlite3_column_int64(st, 8);
	out->started = sqlite3_column_int64(st, 9);
	out->ended = sqlite3_column_int64(st, 10);
	rg_sq_text(st, 11, out->error, sizeof out->error);
	out->pgid_start = sqlite3_column_int64(st, 12);
	rg_sq_text(st, 13, out->pgid_boot, sizeof out->pgid_boot);
}

rg_err rg_store_steps_stopping(rg_store *s, rg_step_run **out, size_t *n, rg_error *err)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_STEPS_STOPPING,
			      "SELECT " STEP_COLUMNS " FROM step_runs"
			      " WHERE pgid != 0 AND state != 'running' ORDER BY run_id, phase, idx",
			      &st, err);
	if (e)
		return e;
	size_t cap = 0;
	int rc = SQLITE_DONE;
	while (!e && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			rg_step_run *grown = realloc(*out, cap * sizeof **out);
			if (!grown) {
				e = rg_fail(err, RG_ENOMEM, NULL, "out of memory");
				break;
			}
			*out = grown;
		}
		step_read(st, &(*out)[(*n)++]);
	}
	if (!e && rc != SQLITE_DONE)
		e = rg_sq_fail(s, rc, "stopping steps", err);
	rg_sq_done(st);
	if (e) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return e;
}

rg_err rg_store_step_get(rg_store *s, int64_t run_id, const char *phase, int idx,
			 rg_step_run *out, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_STEP_GET,
			      "SELECT " STEP_COLUMNS " FROM step_runs"
			      " WHERE run_id=?1 AND phase=?2 AND idx=?3",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, run_id, &rc);
	rg_sq_bind_str(st, 2, phase, &rc);
	rg_sq_bind_int(st, 3, idx, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		step_read(st, out);
	else if (rc == SQLITE_DONE)
		e = rg_fail(err, RG_ENOTFOUND, "step", "run %lld has no %s step %d",
			    (long long)run_id, phase ? phase : "", idx);
	else
		e = rg_sq_fail(s, rc, "get step", err);
	rg_sq_done(st);
	return e;
}

rg_err rg_store_step_set_log(rg_store *s, int64_t run_id, const char *phase, int idx,
			     const char *log, size_t len, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_STEP_SET_LOG,
			      "UPDATE step_runs SET log=?4 WHERE run_id=?1 AND phase=?2 AND idx=?3",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, run_id, &rc);
	rg_sq_bind_str(st, 2, phase, &rc);
	rg_sq_bind_int(st, 3, idx, &rc);
	bind_redacted(s, st, 4, log, log ? len : 0, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		e = rg_sq_fail(s, rc, "set step log", err);
	else if (sqlite3_changes(s->db) == 0)
		e = rg_fail(err, RG_ENOTFOUND, "step", "run %lld has no %s step %d",
			    (long long)run_id, phase ? phase : "", idx);
	rg_sq_done(st);
	return e;
}

static rg_err copy_column(sqlite3_stmt *st, int col, char **out, rg_error *err)
{
	const char *t = (const char *)sqlite3_column_text(st, col);
	size_t n = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
	if (!(*out = malloc(n + 1)))
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	if (n)
		memcpy(*out, t, n);
	(*out)[n] = '\0';
	return RG_OK;
}

/* A step can run twice in one run (forward, then undone in reverse): the
 * newest attempt is the one a person asking for "the log of smoke" means. */
rg_err rg_store_step_log(rg_store *s, int64_t run_id, const char *name, char **log,
			 rg_error *err)
{
	*log = NULL;
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_STEP_LOG,
			      "SELECT log FROM step_runs WHERE run_id=?1 AND name=?2"
			      " ORDER BY started DESC, phase='reverse' DESC, idx DESC LIMIT 1",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, run_id, &rc);
	rg_sq_bind_str(st, 2, name, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		e = copy_column(st, 0, log, err);
	else if (rc == SQLITE_DONE)
		e = rg_fail(err, RG_ENOTFOUND, "step", "run %lld has no step '%s'",
			    (long long)run_id, name ? name : "");
	else
		e = rg_sq_fail(s, rc, "get step log", err);
	rg_sq_done(st);
	return e;
}

/* ---- events and decisions ----------------------------------------------------------- */

rg_err rg_store_event_add(rg_store *s, int64_t run_id, const char *type, const char *step,
			  const char *message, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_EVENT_ADD,
			      "INSERT INTO events(run_id, at, type, step, message)"
			      " VALUES (?1,?2,?3,?4,?5)",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, run_id, &rc);
	rg_sq_bind_int(st, 2, rg_now_ms(), &rc);
	rg_sq_bind_str(st, 3, type, &rc);
	rg_sq_bind_str(st, 4, step ? step : "", &rc);
	bind_redacted(s, st, 5, message, message ? strlen(message) : 0, &rc);
	return rg_sq_exec(s, st, rc, "add event", err);
}

rg_err rg_store_decision_put(rg_store *s, int64_t run_id, const rg_decision *d, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_DECISION_PUT,
			      "INSERT INTO decisions(run_id, \"trigger\", severity, \"action\","
			      " observed, threshold, \"window\", evidence, reason, at)"
			      " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, run_id, &rc);
	rg_sq_bind_buf(st, 2, d->trigger, sizeof d->trigger, &rc);
	rg_sq_bind_buf(st, 3, d->severity, sizeof d->severity, &rc);
	rg_sq_bind_buf(st, 4, d->action, sizeof d->action, &rc);
	bind_redacted_buf(s, st, 5, d->observed, sizeof d->observed, &rc);
	rg_sq_bind_buf(st, 6, d->threshold, sizeof d->threshold, &rc);
	rg_sq_bind_buf(st, 7, d->window, sizeof d->window, &rc);
	bind_redacted_buf(s, st, 8, d->evidence, sizeof d->evidence, &rc);
	bind_redacted_buf(s, st, 9, d->reason, sizeof d->reason, &rc);
	rg_sq_bind_int(st, 10, rg_now_ms(), &rc);
	return rg_sq_exec(s, st, rc, "put decision", err);
}

/* ---- releases -------------------------------------------------------------------------- */

#define RELEASE_COLUMNS "env, version, state, created, updated, verified_at, run_id"

static void release_read(sqlite3_stmt *st, rg_release *out)
{
	memset(out, 0, sizeof *out);
	rg_sq_text(st, 0, out->env, sizeof out->env);
	rg_sq_text(st, 1, out->version, sizeof out->version);
	char state[RG_STATE_LEN];
	rg_sq_text(st, 2, state, sizeof state);
	if (!rg_release_state_parse(state, &out->state))
		out->state = RG_REL_NONE;   /* the table's CHECK keeps out anything else */
	out->created = sqlite3_column_int64(st, 3);
	out->updated = sqlite3_column_int64(st, 4);
	out->verified_at = sqlite3_column_int64(st, 5);
	out->run_id = sqlite3_column_int64(st, 6);  /* NULL reads as 0: no run */
}

static rg_err release_row(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	release_read(st, ctx);
	return RG_OK;
}

/* Runs one of the single-release lookups: ?1 = env, ?2 = arg (version or
 * the version to exclude, may be NULL). */
static rg_err release_query(rg_store *s, enum rg_sq_stmt id, const char *sql, const char *env,
			    const char *arg, rg_release *out, bool *found, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	*found = false;
	rg_err e = rg_sq_stmt(s, id, sql, &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_str(st, 1, env, &rc);
	if (sqlite3_bind_parameter_count(st) >= 2)
		rg_sq_bind_str(st, 2, arg, &rc);
	return rg_sq_first_row(s, st, rc, release_row, out, found, "get release", err);
}

rg_err rg_store_release_current(rg_store *s, const char *env, rg_release *out, rg_error *err)
{
	bool found;
	rg_err e = release_query(s, RG_SQ_RELEASE_CURRENT,
				 "SELECT " RELEASE_COLUMNS " FROM releases"
				 " WHERE env=?1 AND state IN ('live','known_good')",
				 env, NULL, out, &found, err);
	if (!e && !found)
		e = rg_fail(err, RG_ENOTFOUND, "env", "environment '%s' has no live release",
			    env ? env : "");
	return e;
}

/* The current release blocks promoting another one; name it. */
static rg_err release_conflict(rg_store *s, const rg_release *r, rg_error *err)
{
	rg_release cur;
	rg_err e = rg_store_release_current(s, r->env, &cur, err);
	if (e == RG_ENOTFOUND)
		return rg_fail(err, RG_ECONFLICT, "version", "release '%s' conflicts in '%s'",
			       r->version, r->env);
	if (e)
		return e;
	return rg_fail(err, RG_ECONFLICT, "version",
		       "environment '%s' already has current release '%s' (%s); demote it first",
		       r->env, cur.version, rg_release_state_name(cur.state));
}

/* created is kept from the stored row when the caller passes 0, so a
 * read-modify-write by a caller who never read created does not reset it. */
rg_err rg_store_release_put(rg_store *s, const rg_release *r, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_RELEASE_PUT,
			      "INSERT INTO releases(" RELEASE_COLUMNS ") VALUES (?1,?2,?3,?4,?5,?6,?7)"
			      " ON CONFLICT(env, version) DO UPDATE SET state=excluded.state,"
			      " created=CASE WHEN ?8 THEN excluded.created ELSE releases.created END,"
			      " updated=excluded.updated, verified_at=excluded.verified_at,"
			      " run_id=excluded.run_id",
			      &st, err);
	if (e)
		return e;
	int64_t now = rg_now_ms();
	int rc = SQLITE_OK;
	rg_sq_bind_buf(st, 1, r->env, sizeof r->env, &rc);
	rg_sq_bind_buf(st, 2, r->version, sizeof r->version, &rc);
	rg_sq_bind_str(st, 3, rg_release_state_name(r->state), &rc);
	rg_sq_bind_int(st, 4, r->created ? r->created : now, &rc);
	rg_sq_bind_int(st, 5, r->updated ? r->updated : now, &rc);
	rg_sq_bind_int(st, 6, r->verified_at, &rc);
	if (r->run_id)
		rg_sq_bind_int(st, 7, r->run_id, &rc);
	rg_sq_bind_int(st, 8, r->created != 0, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	e = rc == SQLITE_DONE ? RG_OK : rg_sq_fail(s, rc, "put release", err);
	rg_sq_done(st);
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		return release_conflict(s, r, err);
	return e;
}

rg_err rg_store_release_get(rg_store *s, const char *env, const char *version,
			    rg_release *out, rg_error *err)
{
	bool found;
	rg_err e = release_query(s, RG_SQ_RELEASE_GET,
				 "SELECT " RELEASE_COLUMNS " FROM releases WHERE env=?1 AND version=?2",
				 env, version, out, &found, err);
	if (!e && !found)
		e = rg_fail(err, RG_ENOTFOUND, "version", "no release '%s' in environment '%s'",
			    version ? version : "", env ? env : "");
	return e;
}

rg_err rg_store_release_last_known_good(rg_store *s, const char *env, const char *exclude,
					rg_release *out, rg_error *err)
{
	bool found;
	rg_err e = release_query(s, RG_SQ_RELEASE_LKG,
				 "SELECT " RELEASE_COLUMNS " FROM releases WHERE env=?1"
				 " AND verified_at > 0 AND (?2 IS NULL OR version != ?2)"
				 " ORDER BY verified_at DESC LIMIT 1",
				 env, exclude, out, &found, err);
	if (!e && !found)
		e = rg_fail(err, RG_ENOTFOUND, "env",
			    "environment '%s' has no other release that became known good",
			    env ? env : "");
	return e;
}

/* ---- release outputs -------------------------------------------------------------------- */

rg_err rg_store_outputs_clear(rg_store *s, const char *env, const char *version, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_OUTPUTS_CLEAR,
			      "DELETE FROM release_outputs WHERE env=?1 AND version=?2", &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_str(st, 1, env, &rc);
	rg_sq_bind_str(st, 2, version, &rc);
	return rg_sq_exec(s, st, rc, "clear outputs", err);
}

rg_err rg_store_output_put(rg_store *s, const char *env, const char *version, const char *step,
			   const char *key, const char *value, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_OUTPUT_PUT,
			      "INSERT INTO release_outputs(env, version, step, \"key\", value)"
			      " VALUES (?1,?2,?3,?4,?5) ON CONFLICT(env, version, step, \"key\")"
			      " DO UPDATE SET value=excluded.value",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_str(st, 1, env, &rc);
	rg_sq_bind_str(st, 2, version, &rc);
	rg_sq_bind_str(st, 3, step, &rc);
	rg_sq_bind_str(st, 4, key, &rc);
	rg_sq_bind_str(st, 5, value ? value : "", &rc);
	return rg_sq_exec(s, st, rc, "put output", err);
}

void rg_outputs_free(rg_output *o, size_t n)
{
	for (size_t i = 0; o && i < n; i++)
		free(o[i].value);
	free(o);
}

typedef struct output_list {
	rg_output **out;
	size_t *n, cap;
} output_list;

/* Appends the current row to the list. */
static rg_err output_append(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	output_list *l = ctx;
	if (RG_ALLOC_GROW(*l->out, *l->n + 1, l->cap))
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	rg_output *o = &(*l->out)[*l->n];
	rg_sq_text(st, 0, o->step, sizeof o->step);
	rg_sq_text(st, 1, o->key, sizeof o->key);
	rg_err e = copy_column(st, 2, &o->value, err);
	if (!e)
		(*l->n)++;
	return e;
}

/* Rows come in the order they were first written (rowid), which is the
 * order of the steps that published them. */
rg_err rg_store_outputs_get(rg_store *s, const char *env, const char *version,
			    rg_output **out, size_t *n, rg_error *err)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_OUTPUTS_GET,
			      "SELECT step, \"key\", value FROM release_outputs"
			      " WHERE env=?1 AND version=?2 ORDER BY rowid",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_str(st, 1, env, &rc);
	rg_sq_bind_str(st, 2, version, &rc);
	output_list list = { out, n, 0 };
	e = rg_sq_each_row(s, st, rc, output_append, &list, "get outputs", err);
	if (e) {
		rg_outputs_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return e;
}

/* ---- routes --------------------------------------------------------------------------- */

#define ROUTE_COLUMNS                                                                  \
	"env, stable_version, stable, canary_version, canary, canary_weight, "             \
	"standby_version, standby, seed, run_id, updated"

rg_err rg_store_route_put(rg_store *s, const rg_route_state *r, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_ROUTE_PUT,
			      "INSERT OR REPLACE INTO routes(" ROUTE_COLUMNS ")"
			      " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_buf(st, 1, r->env, sizeof r->env, &rc);
	rg_sq_bind_buf(st, 2, r->stable_version, sizeof r->stable_version, &rc);
	rg_sq_bind_buf(st, 3, r->stable, sizeof r->stable, &rc);
	rg_sq_bind_buf(st, 4, r->canary_version, sizeof r->canary_version, &rc);
	rg_sq_bind_buf(st, 5, r->canary, sizeof r->canary, &rc);
	rg_sq_bind_int(st, 6, r->canary_weight, &rc);
	rg_sq_bind_buf(st, 7, r->standby_version, sizeof r->standby_version, &rc);
	rg_sq_bind_buf(st, 8, r->standby, sizeof r->standby, &rc);
	rg_sq_bind_int(st, 9, r->seed, &rc);
	rg_sq_bind_int(st, 10, r->run_id, &rc);
	rg_sq_bind_int(st, 11, rg_now_ms(), &rc);
	return rg_sq_exec(s, st, rc, "put route", err);
}

rg_err rg_store_route_get(rg_store *s, const char *env, rg_route_state *out, rg_error *err)
{
	memset(out, 0, sizeof *out);
	snprintf(out->env, sizeof out->env, "%s", env ? env : "");
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_ROUTE_GET,
			      "SELECT " ROUTE_COLUMNS " FROM routes WHERE env=?1", &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_str(st, 1, env, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		rg_sq_text(st, 1, out->stable_version, sizeof out->stable_version);
		rg_sq_text(st, 2, out->stable, sizeof out->stable);
		rg_sq_text(st, 3, out->canary_version, sizeof out->canary_version);
		rg_sq_text(st, 4, out->canary, sizeof out->canary);
		out->canary_weight = sqlite3_column_int(st, 5);
		rg_sq_text(st, 6, out->standby_version, sizeof out->standby_version);
		rg_sq_text(st, 7, out->standby, sizeof out->standby);
		out->seed = sqlite3_column_int64(st, 8);
		out->run_id = sqlite3_column_int64(st, 9);
		out->updated = sqlite3_column_int64(st, 10);
		e = RG_OK;
	} else if (rc == SQLITE_DONE) {
		e = rg_fail(err, RG_ENOTFOUND, "env", "environment '%s' has no routes yet",
			    env ? env : "");
	} else {
		e = rg_sq_fail(s, rc, "get route", err);
	}
	rg_sq_done(st);
	return e;
}
