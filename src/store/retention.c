/* retention.c — the selection and deletion of what server.retention lets
 * go (store.h). A pass is one short transaction over a bounded batch, so
 * the loop calling it is never held long; the chosen run ids sit in a
 * temporary table for the pass, and every delete names them from there.
 * It must never delete a run something live still names, nor leave a row
 * pointing at a run that is gone. */
#include "store/sqlite_internal.h"

/* The candidates: finished, ended before ?1 (the runs_ended index keeps the
 * scan to old runs), not among the ?2 newest of their environment, and not
 * needed by anything that is still live (see store.h). Oldest first. */
#define SELECT_SQL                                                                        \
	"INSERT INTO temp.retention_batch(id) SELECT r.id FROM runs r"                    \
	" WHERE r.ended > 0 AND r.ended < ?1 AND r.state IN " RG_SQ_TERMINAL               \
	" AND r.id NOT IN (SELECT n.id FROM runs n WHERE n.env = r.env"                   \
	"  ORDER BY n.id DESC LIMIT ?2)"                                                  \
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
	" AND NOT EXISTS (SELECT 1 FROM routes t WHERE t.run_id = r.id)"                  \
	" ORDER BY r.id LIMIT ?3"

#define IN_BATCH " IN (SELECT id FROM temp.retention_batch)"

/* The rows of a chosen run, children before the run (foreign keys are on). */
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

static rg_err prune_runs(rg_store *s, const rg_retention_pass *p, int *runs, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = run_stmt(s, RG_SQ_RET_CLEAR, "DELETE FROM temp.retention_batch",
			    "retention: clear batch", err);
	if (!e)
		e = rg_sq_stmt(s, RG_SQ_RET_SELECT, SELECT_SQL, &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, p->runs_before, &rc);
	rg_sq_bind_int(st, 2, p->keep_last, &rc);
	rg_sq_bind_int(st, 3, p->max_runs, &rc);
	e = rg_sq_exec(s, st, rc, "retention: choose runs", err);
	if (e || sqlite3_changes(s->db) == 0)
		return e;
	for (size_t i = 0; !e && i < N_CASCADE; i++)
		e = run_stmt(s, cascade[i].id, cascade[i].sql, "retention: prune runs", err);
	if (!e)
		*runs = sqlite3_changes(s->db);   /* of the last one: the runs themselves */
	return e;
}

static rg_err clear_logs(rg_store *s, const rg_retention_pass *p, int *logs, rg_error *err)
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
	if (!e)
		*logs = sqlite3_changes(s->db);
	return e;
}

rg_err rg_store_retention_prune(rg_store *s, const rg_retention_pass *p, int *runs, int *logs,
				rg_error *err)
{
	*runs = *logs = 0;
	if (p->runs_before <= 0 && p->logs_before <= 0)
		return RG_OK;
	/* Connection-local and empty between passes; created before the
	 * statements naming it are prepared. */
	int rc = sqlite3_exec(s->db, "CREATE TEMP TABLE IF NOT EXISTS retention_batch"
				     "(id INTEGER PRIMARY KEY)", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return rg_sq_fail(s, rc, "retention: batch table", err);
	rg_err e = rg_store_begin(s, err);
	if (!e && p->runs_before > 0 && p->max_runs > 0)
		e = prune_runs(s, p, runs, err);
	if (!e && p->logs_before > 0 && p->max_logs > 0)
		e = clear_logs(s, p, logs, err);
	if (!e)
		e = rg_store_commit(s, err);
	if (e) {
		rg_store_abandon(s);
		*runs = *logs = 0;
	}
	return e;
}
