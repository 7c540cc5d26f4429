/* sessions.c — the rows of dashboard sessions (see store.h). */
#include <string.h>

#include "store/sqlite_internal.h"

#define SESSION_COLUMNS "hash, token_id, csrf, created, expires"

static void bind_hash(sqlite3_stmt *st, int i, const unsigned char *hash, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_blob(st, i, hash, RG_TOKEN_HASH_LEN, SQLITE_TRANSIENT);
}

static rg_err prune(rg_store *s, int64_t now, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_SESSION_PRUNE, "DELETE FROM sessions WHERE expires <= ?1",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, now, &rc);
	return rg_sq_exec(s, st, rc, "drop expired sessions", err);
}

rg_err rg_store_session_insert(rg_store *s, const rg_session_row *row, int64_t now,
			       rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = prune(s, now, err);
	if (!e)
		e = rg_sq_stmt(s, RG_SQ_SESSION_INSERT,
			       "INSERT INTO sessions(" SESSION_COLUMNS ") VALUES (?1,?2,?3,?4,?5)", &st,
			       err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	bind_hash(st, 1, row->hash, &rc);
	rg_sq_bind_buf(st, 2, row->token_id, sizeof row->token_id, &rc);
	rg_sq_bind_buf(st, 3, row->csrf, sizeof row->csrf, &rc);
	rg_sq_bind_int(st, 4, row->created, &rc);
	rg_sq_bind_int(st, 5, row->expires, &rc);
	return rg_sq_exec(s, st, rc, "open session", err);
}

static rg_err session_found(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	rg_session_row *row = ctx;
	const void *h = sqlite3_column_blob(st, 0);
	if (h && sqlite3_column_bytes(st, 0) == (int)sizeof row->hash)
		memcpy(row->hash, h, sizeof row->hash);
	rg_sq_text(st, 1, row->token_id, sizeof row->token_id);
	rg_sq_text(st, 2, row->csrf, sizeof row->csrf);
	row->created = sqlite3_column_int64(st, 3);
	row->expires = sqlite3_column_int64(st, 4);
	return RG_OK;
}

rg_err rg_store_session_find(rg_store *s, const unsigned char hash[RG_TOKEN_HASH_LEN],
			     rg_session_row *out, bool *found, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	memset(out, 0, sizeof *out);
	*found = false;
	rg_err e = rg_sq_stmt(s, RG_SQ_SESSION_FIND,
			      "SELECT " SESSION_COLUMNS " FROM sessions WHERE hash=?1", &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	bind_hash(st, 1, hash, &rc);
	e = rg_sq_each_row(s, st, rc, session_found, out, "find session", err);
	*found = !e && out->token_id[0];
	return e;
}

rg_err rg_store_session_delete(rg_store *s, const unsigned char hash[RG_TOKEN_HASH_LEN],
			       rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_SESSION_DELETE, "DELETE FROM sessions WHERE hash=?1", &st,
			      err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	bind_hash(st, 1, hash, &rc);
	return rg_sq_exec(s, st, rc, "end session", err);
}
