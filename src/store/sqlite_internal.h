/* sqlite_internal.h — what sqlite.c and query.c share: the store struct, its
 * cache of prepared statements, the binders, row readers and error mapping.
 * sqlite.c opens and migrates the store and holds every write plus the typed
 * reads the engine works from (a run, a step, a release, outputs, a route);
 * query.c only reads, building the API's JSON views. Private to src/store/;
 * nothing outside the store includes it. */
#ifndef RG_STORE_SQLITE_INTERNAL_H
#define RG_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/secrets.h"
#include "util/err.h"

/* Terminal run states as an SQL list. The text must stay identical to the
 * WHERE clause of the runs_one_unfinished index (migration 1) so that the
 * planner can use that index for "WHERE state NOT IN" lookups. */
#define RG_SQ_TERMINAL "('succeeded','failed','rolled_back','rollback_failed','aborted')"

/* Columns read by rg_sq_run_read, in its order. */
#define RG_SQ_RUN_COLUMNS                                                         \
	"id, env, kind, version, from_version, state, phase, cursor, total, step, " \
	"\"plan\", created, started, ended, deadline, window_until, actor, reason, " \
	"error, warning, force, paused, traffic_stage, gate, gate_round, gate_passed, " \
	"emergency, skip_monitor"

/* One slot per SQL statement of the store; each is prepared on first use and
 * kept until rg_store_free, so the hot paths never re-parse SQL. */
enum rg_sq_stmt {
	RG_SQ_BEGIN, RG_SQ_COMMIT, RG_SQ_ROLLBACK,
	RG_SQ_RUN_INSERT, RG_SQ_RUN_GET, RG_SQ_RUN_UPDATE, RG_SQ_RUN_STATE,
	RG_SQ_RUN_UNFINISHED_ENV, RG_SQ_RUNS_UNFINISHED,
	RG_SQ_STEP_PUT, RG_SQ_STEP_GET, RG_SQ_STEP_SET_LOG, RG_SQ_STEP_LOG,
	RG_SQ_EVENT_ADD, RG_SQ_DECISION_PUT,
	RG_SQ_RELEASE_PUT, RG_SQ_RELEASE_GET, RG_SQ_RELEASE_CURRENT, RG_SQ_RELEASE_LKG,
	RG_SQ_OUTPUTS_CLEAR, RG_SQ_OUTPUT_PUT, RG_SQ_OUTPUTS_GET,
	/* read side (query.c) */
	RG_SQ_Q_STEPS, RG_SQ_Q_EVENTS, RG_SQ_Q_DECISION, RG_SQ_Q_RUNS, RG_SQ_Q_RUNS_ENV,
	RG_SQ_Q_LAST_RUN,
	RG_SQ_Q_RUN_EXISTS, RG_SQ_Q_RUNS_BY_STATE, RG_SQ_Q_ROLLBACKS, RG_SQ_Q_STEP_DURATIONS, RG_SQ_Q_RUN_STEP_DURATIONS, RG_SQ_Q_READ_BEGIN, RG_SQ_Q_READ_END,
	RG_SQ_ROUTE_PUT, RG_SQ_ROUTE_GET, RG_SQ_Q_DECISIONS,
	RG_SQ_STEPS_STOPPING,
	/* people (access.c) */
	RG_SQ_TOKEN_INSERT, RG_SQ_TOKEN_FIND, RG_SQ_TOKEN_DELETE, RG_SQ_TOKEN_TOUCH,
	RG_SQ_TOKEN_COUNT, RG_SQ_TOKENS, RG_SQ_AUDIT_LAST, RG_SQ_AUDIT_INSERT,
	RG_SQ_AUDIT_ALL, RG_SQ_AUDIT_RECENT, RG_SQ_AUDIT_RECENT_ENV,
	/* approval gates (approvals.c) */
	RG_SQ_APPROVAL_ADD, RG_SQ_APPROVALS,
	/* backups (backups.c) */
	RG_SQ_BACKUP_ADD, RG_SQ_BACKUP_GET, RG_SQ_BACKUPS_KEPT, RG_SQ_BACKUP_PRUNE,
	RG_SQ_BACKUP_VERIFIED, RG_SQ_Q_BACKUPS, RG_SQ_Q_BACKUPS_ENV, RG_SQ_BACKUP_LATEST,
	/* configuration snapshots (configsnap.c) */
	RG_SQ_BLOB_PUT, RG_SQ_RELCONFIG_CLEAR, RG_SQ_RELCONFIG_PUT, RG_SQ_RELCONFIG_GET,
	/* feature flags (flags.c) */
	RG_SQ_FLAG_PUT, RG_SQ_FLAGS_ENV,
	/* the notification outbox (outbox.c) */
	RG_SQ_OUTBOX_ADD, RG_SQ_OUTBOX_DUE, RG_SQ_OUTBOX_NEXT, RG_SQ_OUTBOX_RESULT,
	RG_SQ_Q_NOTIFICATIONS, RG_SQ_DECIDED_AT,
	/* incidents (incidents.c) */
	RG_SQ_INC_ADD, RG_SQ_INC_UPDATE, RG_SQ_INC_GET, RG_SQ_INC_OPEN_OF, RG_SQ_INC_RUN_ADD,
	RG_SQ_INC_ENTRY_ADD, RG_SQ_INC_NEXT_DUE, RG_SQ_INC_DUE, RG_SQ_INC_ITEM_ADD, RG_SQ_INC_TICK,
	RG_SQ_INC_TICKED, RG_SQ_Q_INCIDENTS, RG_SQ_Q_INC_RUNS, RG_SQ_Q_INC_TIMELINE,
	RG_SQ_Q_INC_CHECKLIST, RG_SQ_INC_AUTO_ROLLBACKS,
	/* schema versions (schemas.c) and the backup a restore would use */
	RG_SQ_SCHEMA_PUT, RG_SQ_SCHEMA_GET, RG_SQ_BACKUP_BEFORE,
	/* retention (retention.c) */
	RG_SQ_RET_CLEAR, RG_SQ_RET_CURSOR, RG_SQ_RET_SELECT, RG_SQ_RET_STATES, RG_SQ_RET_EVENTS, RG_SQ_RET_STEPS, RG_SQ_RET_DECISIONS,
	RG_SQ_RET_APPROVALS, RG_SQ_RET_BACKUPS, RG_SQ_RET_INC_RUNS, RG_SQ_RET_NOTIFICATIONS,
	RG_SQ_RET_FLAGS, RG_SQ_RET_RELEASES, RG_SQ_RET_RUNS, RG_SQ_RET_LOGS, RG_SQ_RET_FIGURES,
	/* dashboard sign-in sessions (sessions.c) */
	RG_SQ_SESSION_INSERT, RG_SQ_SESSION_FIND, RG_SQ_SESSION_DELETE, RG_SQ_SESSION_PRUNE,
	/* a run's figures over time (figures.c) */
	RG_SQ_FIGURE_ADD, RG_SQ_FIGURES_COUNT, RG_SQ_Q_FIGURES, RG_SQ_Q_FIRST_DECISION,
	RG_SQ_STMT_COUNT
};

/* One connection, used from the control-plane loop thread only: the cached
 * statements are not shareable between threads. */
struct rg_store {
	sqlite3 *db;
	sqlite3_stmt *stmt[RG_SQ_STMT_COUNT];
	rg_secrets *secrets;        /* borrowed (rg_store_set_secrets); NULL = none */
};

/* Hands out the cached statement for id (preparing sql on first use), reset
 * and with no bindings. Every user ends with rg_sq_done, on every path, so no
 * statement holds a read snapshot open between calls. */
rg_err rg_sq_stmt(rg_store *s, enum rg_sq_stmt id, const char *sql, sqlite3_stmt **out,
		  rg_error *err);
void rg_sq_done(sqlite3_stmt *st);

/* Maps an SQLite result code to an rg_err with "what: sqlite's message".
 * Call it before rg_sq_done, while the connection's message is current. */
rg_err rg_sq_fail(rg_store *s, int rc, const char *what, rg_error *err);

/* Steps st (already bound; rc is the result of binding) once, for a
 * statement that returns no row; what names it in the error. Ends with
 * rg_sq_done. */
rg_err rg_sq_exec(rg_store *s, sqlite3_stmt *st, int rc, const char *what, rg_error *err);

/* Steps st (already bound; rc is the result of binding) to its last row,
 * handing each row to row, and stops at the first error row returns. A
 * failed step is rg_sq_fail(what). Ends with rg_sq_done, on every path. */
typedef rg_err (*rg_sq_row_fn)(sqlite3_stmt *st, void *ctx, rg_error *err);
rg_err rg_sq_each_row(rg_store *s, sqlite3_stmt *st, int rc, rg_sq_row_fn row, void *ctx,
		      const char *what, rg_error *err);

/* Steps st (already bound; rc is the result of binding) once, for a
 * statement that returns at most one row: a row goes to row and sets
 * *found (may be NULL); none leaves *found false and is no error. A failed
 * step is rg_sq_fail(what). Ends with rg_sq_done, on every path. */
rg_err rg_sq_first_row(rg_store *s, sqlite3_stmt *st, int rc, rg_sq_row_fn row, void *ctx,
		       bool *found, const char *what, rg_error *err);

/* Binders that do nothing once *rc holds an error, so a run of binds is
 * checked once. Text comes from fixed buffers and is bounded by size. */
void rg_sq_bind_buf(sqlite3_stmt *st, int i, const char *buf, size_t size, int *rc);
void rg_sq_bind_str(sqlite3_stmt *st, int i, const char *str, int *rc);  /* NULL → NULL */
void rg_sq_bind_int(sqlite3_stmt *st, int i, int64_t v, int *rc);

/* Copies column col as text into buf (truncated, always terminated). */
void rg_sq_text(sqlite3_stmt *st, int col, char *buf, size_t size);

/* Reads RG_SQ_RUN_COLUMNS starting at column 0 into *r (overwritten, not
 * released first); RG_ENOMEM if the plan cannot be copied. */
rg_err rg_sq_run_read(sqlite3_stmt *st, rg_run *r, rg_error *err);

/* The unfinished run of env into *r; *found false if there is none. */
rg_err rg_sq_run_unfinished(rg_store *s, const char *env, rg_run *r, bool *found,
			    rg_error *err);

#endif
