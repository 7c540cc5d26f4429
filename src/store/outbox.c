/* outbox.c — the rows of notifications (see store.h): a message per
 * channel, written with the change it tells of, and what became of its
 * delivery. The sender (notify/sender.c) reads and updates them; it must
 * never keep a secret in a row (a routing key is added when sending). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "util/alloc.h"
#include "util/jsontext.h"

#define OUTBOX_COLUMNS \
	"id, created, channel, event, env, run_id, incident_id, payload, idem_key, attempts," \
	" next_attempt_at, last_error, delivered_at, state"

void rg_outbox_rows_free(rg_outbox_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		free(rows[i].payload);
	free(rows);
}

rg_err rg_store_outbox_add(rg_store *s, rg_outbox_row *r, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	char *payload = NULL;
	rg_err e = rg_secrets_redact_dup(s->secrets, r->payload, strlen(r->payload), &payload, NULL,
					 err);
	if (!e)
		e = rg_sq_stmt(s, RG_SQ_OUTBOX_ADD,
			       "INSERT INTO notifications(created, channel, event, env, run_id, incident_id,"
			       " payload, idem_key, next_attempt_at, state)"
			       " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?1,'pending')", &st, err);
	if (e) {
		free(payload);
		return e;
	}
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, r->created, &rc);
	rg_sq_bind_buf(st, 2, r->channel, sizeof r->channel, &rc);
	rg_sq_bind_buf(st, 3, r->event, sizeof r->event, &rc);
	rg_sq_bind_buf(st, 4, r->env, sizeof r->env, &rc);
	rg_sq_bind_int(st, 5, r->run_id, &rc);
	rg_sq_bind_int(st, 6, r->incident_id, &rc);
	rg_sq_bind_str(st, 7, payload, &rc);
	rg_sq_bind_buf(st, 8, r->key, sizeof r->key, &rc);
	e = rg_sq_exec(s, st, rc, "add notification", err);
	free(payload);
	if (!e)
		r->id = sqlite3_last_insert_rowid(s->db);
	return e;
}

static rg_err row_read(sqlite3_stmt *st, rg_outbox_row *r, rg_error *err)
{
	memset(r, 0, sizeof *r);
	r->id = sqlite3_column_int64(st, 0);
	r->created = sqlite3_column_int64(st, 1);
	rg_sq_text(st, 2, r->channel, sizeof r->channel);
	rg_sq_text(st, 3, r->event, sizeof r->event);
	rg_sq_text(st, 4, r->env, sizeof r->env);
	r->run_id = sqlite3_column_int64(st, 5);
	r->incident_id = sqlite3_column_int64(st, 6);
	const unsigned char *p = sqlite3_column_text(st, 7);
	rg_sq_text(st, 8, r->key, sizeof r->key);
	r->attempts = (int)sqlite3_column_int64(st, 9);
	r->next_attempt_at = sqlite3_column_int64(st, 10);
	rg_sq_text(st, 11, r->last_error, sizeof r->last_error);
	r->delivered_at = sqlite3_column_int64(st, 12);
	rg_sq_text(st, 13, r->state, sizeof r->state);
	if (!(r->payload = strdup(p ? (const char *)p : "")))
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory reading a notification");
	return RG_OK;
}

typedef struct rows_out {
	rg_outbox_row *rows;
	size_t n, cap;
} rows_out;

static rg_err row_append(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	rows_out *o = ctx;
	if (RG_ALLOC_GROW(o->rows, o->n + 1, o->cap))
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	rg_err e = row_read(st, &o->rows[o->n], err);
	if (!e)
		o->n++;
	return e;
}

rg_err rg_store_outbox_due(rg_store *s, int64_t now, int limit, rg_outbox_row **out, size_t *n,
			   rg_error *err)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_OUTBOX_DUE,
			      "SELECT " OUTBOX_COLUMNS " FROM notifications WHERE state='pending'"
			      " AND next_attempt_at<=?1 ORDER BY next_attempt_at, id LIMIT ?2",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, now, &rc);
	rg_sq_bind_int(st, 2, limit, &rc);
	rows_out o = { 0 };
	e = rg_sq_each_row(s, st, rc, row_append, &o, "notifications due", err);
	if (e) {
		rg_outbox_rows_free(o.rows, o.n);
		return e;
	}
	*out = o.rows;
	*n = o.n;
	return RG_OK;
}

static rg_err one_int(rg_store *s, sqlite3_stmt *st, int rc, int64_t *v, bool *any,
		      const char *what, rg_error *err)
{
	*any = false;
	*v = 0;
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	rg_err e = RG_OK;
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*any = true;
		*v = sqlite3_column_int64(st, 0);
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		e = rg_sq_fail(s, rc, what, err);
	}
	rg_sq_done(st);
	return e;
}

rg_err rg_store_outbox_next(rg_store *s, int64_t *at, bool *any, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_OUTBOX_NEXT,
			      "SELECT MIN(next_attempt_at) FROM notifications WHERE state='pending'",
			      &st, err);
	return e ? e : one_int(s, st, SQLITE_OK, at, any, "next notification", err);
}

rg_err rg_store_run_decided_at(rg_store *s, int64_t run_id, int64_t *at, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	bool any;
	rg_err e = rg_sq_stmt(s, RG_SQ_DECIDED_AT,
			      "SELECT at FROM decisions WHERE run_id=?1 ORDER BY id DESC LIMIT 1",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, run_id, &rc);
	return one_int(s, st, rc, at, &any, "decision time", err);
}

rg_err rg_store_outbox_result(rg_store *s, const rg_outbox_row *r, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_OUTBOX_RESULT,
			      "UPDATE notifications SET state=?2, attempts=?3, next_attempt_at=?4,"
			      " delivered_at=?5, last_error=?6 WHERE id=?1", &st, err);
	if (e)
		return e;
	char *error = NULL;
	e = rg_secrets_redact_dup(s->secrets, r->last_error, strlen(r->last_error), &error, NULL, err);
	if (e) {
		rg_sq_done(st);
		return e;
	}
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, r->id, &rc);
	rg_sq_bind_buf(st, 2, r->state, sizeof r->state, &rc);
	rg_sq_bind_int(st, 3, r->attempts, &rc);
	rg_sq_bind_int(st, 4, r->next_attempt_at, &rc);
	rg_sq_bind_int(st, 5, r->delivered_at, &rc);
	rg_sq_bind_str(st, 6, error, &rc);
	e = rg_sq_exec(s, st, rc, "record a notification attempt", err);
	free(error);
	return e;
}

static rg_err notification_json_row(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	rg_outbox_row r;
	rg_err e = row_read(st, &r, err);
	free(r.payload);
	if (e)
		return e;
	json_t *o = json_pack("{s:I, s:o, s:s, s:s, s:s?, s:I, s:I, s:s, s:i, s:o, s:s?, s:o, s:s}",
			      "id", (json_int_t)r.id, "created", rg_json_time_or_null(r.created),
			      "channel", r.channel, "event", r.event, "env", r.env[0] ? r.env : NULL,
			      "run_id", (json_int_t)r.run_id, "incident_id", (json_int_t)r.incident_id,
			      "idempotency_key", r.key, "attempts", r.attempts,
			      "next_attempt_at", rg_json_time_or_null(strcmp(r.state, "pending") ? 0 : r.next_attempt_at),
			      "last_error", r.last_error[0] ? r.last_error : NULL,
			      "delivered_at", rg_json_time_or_null(r.delivered_at), "state", r.state);
	if (!o || json_array_append_new(ctx, o) != 0)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory listing notifications");
	return RG_OK;
}

static rg_err notifications_json(rg_store *s, const char *env, bool failed_only,
				 int64_t before, int limit, json_t **out, rg_error *err)
{
	*out = NULL;
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_Q_NOTIFICATIONS,
			      "SELECT " OUTBOX_COLUMNS " FROM notifications WHERE id<?3"
			      " AND (?1 IS NULL OR env=?1)"
			      " AND (?4=0 OR state='failed' OR (state='pending' AND last_error<>''))"
			      " ORDER BY id DESC LIMIT ?2", &st, err);
	if (e)
		return e;
	json_t *arr = json_array();
	int rc = arr ? SQLITE_OK : SQLITE_NOMEM;
	rg_sq_bind_str(st, 1, env, &rc);
	rg_sq_bind_int(st, 2, limit > 0 ? limit : 100, &rc);
	rg_sq_bind_int(st, 3, before > 0 ? before : INT64_MAX, &rc);
	rg_sq_bind_int(st, 4, failed_only, &rc);
	e = rg_sq_each_row(s, st, rc, notification_json_row, arr, "list notifications", err);
	if (e) {
		json_decref(arr);
		return e;
	}
	*out = arr;
	return RG_OK;
}

rg_err rg_store_notifications_json(rg_store *s, const char *env, int64_t before, int limit,
				   json_t **out, rg_error *err)
{
	return notifications_json(s, env, false, before, limit, out, err);
}

rg_err rg_store_notifications_failed_json(rg_store *s, const char *env, int64_t before,
					  int limit, json_t **out, rg_error *err)
{
	return notifications_json(s, env, true, before, limit, out, err);
}
