/* access.c — the rows of people: tokens and the audit log (see store.h).
 * Only rows live here; hashing and the audit chain are auth/'s business. */
#include <stdio.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "util/timeutil.h"

#define TOKEN_COLUMNS "name, id, hash, roles, envs, created, expires, last_used, created_by"
#define AUDIT_COLUMNS \
	"seq, at, actor, address, \"action\", env, target, result, status, detail, prev_hash, hash"

/* ---- tokens ------------------------------------------------------------------ */

rg_err rg_store_token_insert(rg_store *s, const rg_token_row *t, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_TOKEN_INSERT,
			      "INSERT INTO tokens(" TOKEN_COLUMNS ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_buf(st, 1, t->name, sizeof t->name, &rc);
	rg_sq_bind_buf(st, 2, t->id, sizeof t->id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 3, t->hash, sizeof t->hash, SQLITE_TRANSIENT);
	rg_sq_bind_buf(st, 4, t->roles, sizeof t->roles, &rc);
	rg_sq_bind_buf(st, 5, t->envs, sizeof t->envs, &rc);
	rg_sq_bind_int(st, 6, t->created, &rc);
	rg_sq_bind_int(st, 7, t->expires, &rc);
	rg_sq_bind_int(st, 8, t->last_used, &rc);
	rg_sq_bind_buf(st, 9, t->created_by, sizeof t->created_by, &rc);
	e = rg_sq_exec(s, st, rc, "create token", err);
	if (e == RG_ECONFLICT)
		return rg_fail(err, RG_ECONFLICT, "name", "a token named '%s' exists already "
			       "(revoke it first)", t->name);
	return e;
}

static void token_read(sqlite3_stmt *st, rg_token_row *t)
{
	memset(t, 0, sizeof *t);
	rg_sq_text(st, 0, t->name, sizeof t->name);
	rg_sq_text(st, 1, t->id, sizeof t->id);
	const void *h = sqlite3_column_blob(st, 2);
	if (h && sqlite3_column_bytes(st, 2) == (int)sizeof t->hash)
		memcpy(t->hash, h, sizeof t->hash);
	rg_sq_text(st, 3, t->roles, sizeof t->roles);
	rg_sq_text(st, 4, t->envs, sizeof t->envs);
	t->created = sqlite3_column_int64(st, 5);
	t->expires = sqlite3_column_int64(st, 6);
	t->last_used = sqlite3_column_int64(st, 7);
	rg_sq_text(st, 8, t->created_by, sizeof t->created_by);
}

static rg_err token_found(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	token_read(st, ctx);
	return RG_OK;
}

rg_err rg_store_token_find(rg_store *s, const char *id, rg_token_row *out, bool *found,
			   rg_error *err)
{
	sqlite3_stmt *st = NULL;
	memset(out, 0, sizeof *out);
	rg_err e = rg_sq_stmt(s, RG_SQ_TOKEN_FIND,
			      "SELECT " TOKEN_COLUMNS " FROM tokens WHERE id=?1", &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_str(st, 1, id, &rc);
	e = rg_sq_each_row(s, st, rc, token_found, out, "find token", err);
	*found = !e && out->name[0];
	return e;
}

rg_err rg_store_token_delete(rg_store *s, const char *name, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_TOKEN_DELETE, "DELETE FROM tokens WHERE name=?1", &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_str(st, 1, name, &rc);
	e = rg_sq_exec(s, st, rc, "revoke token", err);
	if (!e && sqlite3_changes(s->db) == 0)
		return rg_fail(err, RG_ENOTFOUND, "name", "no token named '%s'", name);
	return e;
}

rg_err rg_store_token_touch(rg_store *s, const char *name, int64_t at, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_TOKEN_TOUCH, "UPDATE tokens SET last_used=?2 WHERE name=?1",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_str(st, 1, name, &rc);
	rg_sq_bind_int(st, 2, at, &rc);
	return rg_sq_exec(s, st, rc, "note token use", err);
}

static rg_err count_row(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	*(int64_t *)ctx = sqlite3_column_int64(st, 0);
	return RG_OK;
}

rg_err rg_store_token_count(rg_store *s, int64_t *n, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	*n = 0;
	rg_err e = rg_sq_stmt(s, RG_SQ_TOKEN_COUNT, "SELECT count(*) FROM tokens", &st, err);
	return e ? e : rg_sq_each_row(s, st, SQLITE_OK, count_row, n, "count tokens", err);
}

/* "a,b" → ["a","b"]; "" → []. */
static json_t *list_json(const char *text)
{
	json_t *a = json_array();
	for (const char *p = text; a && *p; ) {
		size_t n = strcspn(p, ",");
		json_array_append_new(a, json_stringn(p, n));
		p += n + (p[n] == ',');
	}
	return a;
}

static json_t *time_json(int64_t ms)
{
	char buf[40];
	if (!ms)
		return json_null();
	rg_time_format_iso(ms, buf, sizeof buf);
	return json_string(buf);
}

static rg_err token_json_row(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	rg_token_row t;
	token_read(st, &t);
	json_t *o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:s}", "name", t.name,
			      "roles", list_json(t.roles), "envs", list_json(t.envs),
			      "created", time_json(t.created), "expires", time_json(t.expires),
			      "last_used", time_json(t.last_used), "created_by", t.created_by);
	if (!o || json_array_append_new(ctx, o) != 0)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	return RG_OK;
}

rg_err rg_store_tokens_json(rg_store *s, json_t **out, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	*out = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_TOKENS, "SELECT " TOKEN_COLUMNS " FROM tokens ORDER BY name",
			      &st, err);
	json_t *a = e ? NULL : json_array();
	if (e)
		return e;
	if (!a) {
		rg_sq_done(st);
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	}
	e = rg_sq_each_row(s, st, SQLITE_OK, token_json_row, a, "list tokens", err);
	if (e) {
		json_decref(a);
		return e;
	}
	*out = a;
	return RG_OK;
}

/* ---- the audit log ------------------------------------------------------------- */

struct last {
	int64_t *seq;
	char *hash;
};

static rg_err last_row(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	struct last *l = ctx;
	*l->seq = sqlite3_column_int64(st, 0);
	rg_sq_text(st, 1, l->hash, 65);
	return RG_OK;
}

rg_err rg_store_audit_last(rg_store *s, int64_t *seq, char hash[65], rg_error *err)
{
	sqlite3_stmt *st = NULL;
	struct last l = { seq, hash };
	*seq = 0;
	hash[0] = '\0';
	rg_err e = rg_sq_stmt(s, RG_SQ_AUDIT_LAST,
			      "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &st, err);
	return e ? e : rg_sq_each_row(s, st, SQLITE_OK, last_row, &l, "read the audit log", err);
}

rg_err rg_store_audit_insert(rg_store *s, const rg_audit_row *r, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_AUDIT_INSERT,
			      "INSERT INTO audit(" AUDIT_COLUMNS ")"
			      " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)", &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, r->seq, &rc);
	rg_sq_bind_int(st, 2, r->at, &rc);
	rg_sq_bind_buf(st, 3, r->actor, sizeof r->actor, &rc);
	rg_sq_bind_buf(st, 4, r->address, sizeof r->address, &rc);
	rg_sq_bind_buf(st, 5, r->action, sizeof r->action, &rc);
	rg_sq_bind_buf(st, 6, r->env, sizeof r->env, &rc);
	rg_sq_bind_buf(st, 7, r->target, sizeof r->target, &rc);
	rg_sq_bind_buf(st, 8, r->result, sizeof r->result, &rc);
	rg_sq_bind_int(st, 9, r->status, &rc);
	rg_sq_bind_buf(st, 10, r->detail, sizeof r->detail, &rc);
	rg_sq_bind_buf(st, 11, r->prev_hash, sizeof r->prev_hash, &rc);
	rg_sq_bind_buf(st, 12, r->hash, sizeof r->hash, &rc);
	return rg_sq_exec(s, st, rc, "append to the audit log", err);
}

struct each {
	rg_audit_row_fn fn;
	void *ctx;
};

static rg_err audit_row(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	struct each *each = ctx;
	rg_audit_row r;
	memset(&r, 0, sizeof r);
	r.seq = sqlite3_column_int64(st, 0);
	r.at = sqlite3_column_int64(st, 1);
	rg_sq_text(st, 2, r.actor, sizeof r.actor);
	rg_sq_text(st, 3, r.address, sizeof r.address);
	rg_sq_text(st, 4, r.action, sizeof r.action);
	rg_sq_text(st, 5, r.env, sizeof r.env);
	rg_sq_text(st, 6, r.target, sizeof r.target);
	rg_sq_text(st, 7, r.result, sizeof r.result);
	r.status = sqlite3_column_int(st, 8);
	rg_sq_text(st, 9, r.detail, sizeof r.detail);
	rg_sq_text(st, 10, r.prev_hash, sizeof r.prev_hash);
	rg_sq_text(st, 11, r.hash, sizeof r.hash);
	return each->fn(&r, each->ctx, err);
}

rg_err rg_store_audit_each(rg_store *s, const char *env, int limit, rg_audit_row_fn fn,
			   void *ctx, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	struct each each = { fn, ctx };
	rg_err e;
	if (limit <= 0)
		e = rg_sq_stmt(s, RG_SQ_AUDIT_ALL,
			       "SELECT " AUDIT_COLUMNS " FROM audit ORDER BY seq", &st, err);
	else if (!env)
		e = rg_sq_stmt(s, RG_SQ_AUDIT_RECENT,
			       "SELECT " AUDIT_COLUMNS " FROM audit ORDER BY seq DESC LIMIT ?1",
			       &st, err);
	else
		e = rg_sq_stmt(s, RG_SQ_AUDIT_RECENT_ENV,
			       "SELECT " AUDIT_COLUMNS " FROM audit WHERE env=?2"
			       " ORDER BY seq DESC LIMIT ?1", &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	if (limit > 0)
		rg_sq_bind_int(st, 1, limit, &rc);
	if (limit > 0 && env)
		rg_sq_bind_str(st, 2, env, &rc);
	return rg_sq_each_row(s, st, rc, audit_row, &each, "read the audit log", err);
}
