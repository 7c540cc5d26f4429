/* retention.c — the selection and deletion of what server.retention lets
 * go (store.h). A pass is one short transaction over a bounded window of old
 * runs, so the loop calling it is never held long; the chosen run ids sit in
 * a temporary table for the pass, and every delete names them from there.
 * It must never delete a run something live still names, nor leave a row
 * pointing at a run that is gone. */
#include "store/sqlite_internal.h"

/* A pass looks at the next max_runs finished runs that ended before the cut,
 * in (ended, id) order from where the previous pass stopped (runs_ended
 * walks them in that order, no sort), and takes those of them nothing
 * protects. Looking at a fixed number of runs, rather than searching for a
 * fixed number of prunable ones, is what bounds a pass: the runs every pass
 * must keep (the newest of a quiet environment, an old known-good release's
 * run) may be thousands, and are looked at once per sweep, not once per
 * pass. WINDOW_SQL is the window; ?1 the cut, (?2, ?3) the last run of the
 * previous window, ?4 its size. */
#define WINDOW_SQL                                                                        \
	" FROM runs WHERE ended > 0 AND ended < ?1 AND (ended, id) > (?2, ?3)"            \
	" ORDER BY ended, id"

/* The window's last run: where the next pass resumes. No row: the window is
 * not full, the sweep is over. */
#define CURSOR_SQL "SELECT ended, id" WINDOW_SQL " LIMIT 1 OFFSET ?4 - 1"

/* Of the window: the finished runs that are not among the ?5 newest of their
 * environment (the ?5-th newest id by runs_env, one short index walk) and not
 * needed by anything still live (see store.h). */
#define SELECT_SQL                                                                        \
	"INSERT INTO temp.retention_batch(id) SELECT r.id FROM (SELECT id, env, state"     \
	WINDOW_SQL " LIMIT ?4) r"                                                          \
	" WHERE r.state IN " RG_SQ_TERMINAL                                               \
	" AND (?5 <= 0 OR r.id < coalesce((SELECT n.id FROM runs n WHERE n.env = r.env"   \
	"  ORDER BY n.id DESC LIMIT 1 OFFSET ?5 - 1), 0))"                                \
	" AND NOT EXISTS (SELECT 1 FROM releases l WHERE l.run_id = r.id"                 \
	"  AND (l.state IN ('live','known_good') OR l.version IN (SELECT v.version"       \
	"  FROM releases v WHERE v.env = l.env AND v.verified_at > 0"                     \
	"  ORDER BY v.verified_at DESC LIMIT 2)))"                                        \
	" AND NOT EXISTS (SELECT 1 FROM backups b WHERE b.run_id = r.id"                  \
	"  AND b.state = 'kept')"                                                         \
	" AND NOT EXISTS (SELECT 1 FROM incident_runs ir JOIN incidents i"                \
	"  ON i.id = ir.incident_id WHERE ir.run_id = r.id AND i.state != 'resolved')"    \
	" AND NOT EXISTS (SELECT 1 FROM notifications o WHERE o.run_id = r.id"            \
	"  AND o.state = 'pending')"                                                      \
	" AND NOT EXISTS (SELECT 1 FROM routes t WHERE t.run_id = r.id)"

#define IN_BATCH " IN (SELECT id FROM temp.retention_batch)"

/* The rows of a chosen run, children before the run (foreign keys are on;
 * every child table has an index on its run_id, so each check is a seek). */
static const struct {
	enum rg_sq_stmt id;
	const char *sql;
} cascade[] = {
	{ RG_SQ_RET_EVENTS, "DELETE FROM events WHERE run_id" IN_BATCH },
	{ RG_SQ_RET_STEPS, "DELETE FROM step_runs WHERE run_id" IN_BATCH },
	{ RG_SQ_RET_DECISIONS, "DELETE FROM decisions WHERE run_id" IN_BATCH },
	{ RG_SQ_RET_FIGURES, "DELETE FROM run_figures WHERE run_id" IN_BATCH },
	{ RG_SQ_RET_APPROVALS, "DELETE FROM approvals WHERE run_id" IN_BATCH },
	{ RG_SQ_RET_BACKUPS, "DELETE FROM backups WHERE run_id" IN_BATCH },
	{ RG_SQ_RET_INC_RUNS, "DELETE FROM incident_runs WHERE run_id" IN_BATCH },
	{ RG_SQ_RET_NOTIFICATIONS, "DELETE FROM notifications WHERE run_id" IN_BATCH },
	{ RG_SQ_RET_FLAGS, "UPDATE flag_overrides SET run_id = NULL WHERE run_id" IN_BATCH },
	{ RG_SQ_RET_RELEASES, "UPDATE releases SET run_id = NULL WHERE run_id" IN_BATCH },
	{ RG_SQ_RET_RUNS, "DELETE FROM runs WHERE id" IN_BATCH },
};
#define N_CASCADE (sizeof cascade / sizeof cascade[0])

static rg_err run_stmt(rg_store *s, enum rg_sq_stmt id, const char *sql, const char *what,
		       rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, id, sql, &st, err);
	return e ? e : rg_sq_exec(s, st, SQLITE_OK, what, err);
}

static void bind_window(sqlite3_stmt *st, const rg_retention_pass *p, int *rc)
{
	rg_sq_bind_int(st, 1, p->runs_before, rc);
	rg_sq_bind_int(st, 2, p->after_ended, rc);
	rg_sq_bind_int(st, 3, p->after_id, rc);
	rg_sq_bind_int(st, 4, p->max_runs, rc);
}

/* Where the window ends: *full and its last run, or not full. */
static rg_err window_end(rg_store *s, const rg_retention_pass *p, bool *full, int64_t *ended,
			 int64_t *id, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_RET_CURSOR, CURSOR_SQL, &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	bind_window(st, p, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	*full = rc == SQLITE_ROW;
	if (*full) {
		*ended = sqlite3_column_int64(st, 0);
		*id = sqlite3_column_int64(st, 1);
	} else if (rc != SQLITE_DONE) {
		e = rg_sq_fail(s, rc, "retention: window", err);
	}
	rg_sq_done(st);
	return e;
}

static rg_err state_row(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	(void)err;
	rg_retention_result *out = ctx;
	rg_run_state state;
	if (rg_run_state_parse((const char *)sqlite3_column_text(st, 0), &state))
		out->by_state[state] += sqlite3_column_int(st, 1);
	return RG_OK;
}

/* The chosen runs by state, before they go (the /metrics gauge follows). */
static rg_err count_states(rg_store *s, rg_retention_result *out, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_RET_STATES,
			      "SELECT r.state, count(*) FROM temp.retention_batch b"
			      " JOIN runs r ON r.id = b.id GROUP BY r.state",
			      &st, err);
	return e ? e : rg_sq_each_row(s, st, SQLITE_OK, state_row, out, "retention: states", err);
}

/* next: where the following pass resumes, {0, 0} once the sweep is over. */
static rg_err prune_runs(rg_store *s, const rg_retention_pass *p, rg_retention_result *out,
			 int64_t next[2], rg_error *err)
{
	sqlite3_stmt *st = NULL;
	bool full = false;
	int64_t next_ended = 0, next_id = 0;
	rg_err e = run_stmt(s, RG_SQ_RET_CLEAR, "DELETE FROM temp.retention_batch",
			    "retention: clear batch", err);
	if (!e)
		e = window_end(s, p, &full, &next_ended, &next_id, err);
	if (!e)
		e = rg_sq_stmt(s, RG_SQ_RET_SELECT, SELECT_SQL, &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	bind_window(st, p, &rc);
	rg_sq_bind_int(st, 5, p->keep_last, &rc);
	e = rg_sq_exec(s, st, rc, "retention: choose runs", err);
	if (!e && sqlite3_changes(s->db) > 0) {
		e = count_states(s, out, err);
		for (size_t i = 0; !e && i < N_CASCADE; i++)
			e = run_stmt(s, cascade[i].id, cascade[i].sql, "retention: prune runs", err);
		if (!e)
			out->runs = sqlite3_changes(s->db);   /* of the last one: the runs */
	}
	if (!e) {
		out->more |= full;
		next[0] = full ? next_ended : 0;
		next[1] = full ? next_id : 0;
	}
	return e;
}

static rg_err clear_logs(rg_store *s, const rg_retention_pass *p, rg_retention_result *out,
			 rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_RET_LOGS,
			      "UPDATE step_runs SET log = NULL WHERE rowid IN (SELECT rowid"
			      " FROM step_runs WHERE log IS NOT NULL AND ended > 0 AND ended < ?1"
			      " LIMIT ?2)",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, p->logs_before, &rc);
	rg_sq_bind_int(st, 2, p->max_logs, &rc);
	e = rg_sq_exec(s, st, rc, "retention: clear step logs", err);
	if (!e) {
		out->logs = sqlite3_changes(s->db);
		out->more |= out->logs == p->max_logs;
	}
	return e;
}

rg_err rg_store_retention_prune(rg_store *s, rg_retention_pass *p, rg_retention_result *out,
				rg_error *err)
{
	*out = (rg_retention_result){ 0 };
	if (p->runs_before <= 0 && p->logs_before <= 0)
		return RG_OK;
	/* Connection-local and empty between passes; created before the
	 * statements naming it are prepared. */
	int rc = sqlite3_exec(s->db, "CREATE TEMP TABLE IF NOT EXISTS retention_batch"
				     "(id INTEGER PRIMARY KEY)", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return rg_sq_fail(s, rc, "retention: batch table", err);
	bool runs = p->runs_before > 0 && p->max_runs > 0;
	int64_t next[2] = { 0, 0 };
	rg_err e = rg_store_begin(s, err);
	if (!e && runs)
		e = prune_runs(s, p, out, next, err);
	if (!e && p->logs_before > 0 && p->max_logs > 0)
		e = clear_logs(s, p, out, err);
	if (!e)
		e = rg_store_commit(s, err);
	if (e) {
		rg_store_abandon(s);
		*out = (rg_retention_result){ 0 };
		return e;
	}
	if (runs) {   /* only once committed: an abandoned pass is looked at again */
		p->after_ended = next[0];
		p->after_id = next[1];
	}
	return RG_OK;
}
