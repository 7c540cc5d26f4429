/* schemas.c — the schema version each release's migrate step left
 * (store.h). The engine writes it with the step's success and reads it
 * when it plans a rollback; the API shows it with releases and runs. */
#include <string.h>

#include "store/sqlite_internal.h"

rg_err rg_store_schema_put(rg_store *s, const char *env, const char *version, const char *step,
			   const char *schema, int64_t at, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_SCHEMA_PUT,
			      "INSERT INTO release_schema(env, version, schema, step, at)"
			      " VALUES (?1,?2,?3,?4,?5) ON CONFLICT(env, version) DO UPDATE SET"
			      " schema=excluded.schema, step=excluded.step, at=excluded.at",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_str(st, 1, env, &rc);
	rg_sq_bind_str(st, 2, version, &rc);
	rg_sq_bind_str(st, 3, schema, &rc);
	rg_sq_bind_str(st, 4, step, &rc);
	rg_sq_bind_int(st, 5, at, &rc);
	return rg_sq_exec(s, st, rc, "record schema version", err);
}

struct text_out {
	char *buf;
	size_t size;
};

static rg_err schema_row(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	struct text_out *to = ctx;
	rg_sq_text(st, 0, to->buf, to->size);
	return RG_OK;
}

rg_err rg_store_schema_get(rg_store *s, const char *env, const char *version, char *out,
			   size_t size, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	out[0] = '\0';
	rg_err e = rg_sq_stmt(s, RG_SQ_SCHEMA_GET,
			      "SELECT schema FROM release_schema WHERE env=?1 AND version=?2", &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_str(st, 1, env, &rc);
	rg_sq_bind_str(st, 2, version ? version : "", &rc);
	struct text_out to = { out, size };
	return rg_sq_first_row(s, st, rc, schema_row, &to, NULL, "read schema version", err);
}
