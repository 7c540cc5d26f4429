/* backups.c — the rows of backups (see store.h): what a backup step wrote,
 * checksummed, and what became of it. The files themselves are the
 * engine's (engine/backup.c) and the CLI's (`backup verify`) business. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "util/alloc.h"
#include "util/jsontext.h"
#include "util/timeutil.h"

#define BACKUP_COLUMNS \
	"id, env, version, run_id, step, dir, files, bytes, created, state, pruned, verified, verify_result"

void rg_backup_release(rg_backup *b)
{
	if (!b)
		return;
	free(b->files);
	b->files = NULL;
}

rg_err rg_store_backup_add(rg_store *s, rg_backup *b, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_BACKUP_ADD,
			      "INSERT INTO backups(env, version, run_id, step, dir, files, bytes, created, state)"
			      " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,'kept')",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_buf(st, 1, b->env, sizeof b->env, &rc);
	rg_sq_bind_buf(st, 2, b->version, sizeof b->version, &rc);
	rg_sq_bind_int(st, 3, b->run_id, &rc);
	rg_sq_bind_buf(st, 4, b->step, sizeof b->step, &rc);
	rg_sq_bind_buf(st, 5, b->dir, sizeof b->dir, &rc);
	rg_sq_bind_str(st, 6, b->files ? b->files : "[]", &rc);
	rg_sq_bind_int(st, 7, b->bytes, &rc);
	rg_sq_bind_int(st, 8, b->created, &rc);
	e = rg_sq_exec(s, st, rc, "add backup", err);
	if (!e)
		b->id = sqlite3_last_insert_rowid(s->db);
	return e;
}

static rg_err backup_read(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	rg_backup *b = ctx;
	memset(b, 0, sizeof *b);
	b->id = sqlite3_column_int64(st, 0);
	rg_sq_text(st, 1, b->env, sizeof b->env);
	rg_sq_text(st, 2, b->version, sizeof b->version);
	b->run_id = sqlite3_column_int64(st, 3);
	rg_sq_text(st, 4, b->step, sizeof b->step);
	rg_sq_text(st, 5, b->dir, sizeof b->dir);
	const unsigned char *files = sqlite3_column_text(st, 6);
	b->bytes = sqlite3_column_int64(st, 7);
	b->created = sqlite3_column_int64(st, 8);
	const unsigned char *state = sqlite3_column_text(st, 9);
	b->pruned = state && strcmp((const char *)state, "pruned") == 0;
	b->pruned_at = sqlite3_column_int64(st, 10);
	b->verified = sqlite3_column_int64(st, 11);
	rg_sq_text(st, 12, b->verify_result, sizeof b->verify_result);
	if (!(b->files = strdup(files ? (const char *)files : "[]")))
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory reading a backup");
	return RG_OK;
}

rg_err rg_store_backup_get(rg_store *s, int64_t id, rg_backup *out, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	memset(out, 0, sizeof *out);
	rg_err e = rg_sq_stmt(s, RG_SQ_BACKUP_GET, "SELECT " BACKUP_COLUMNS " FROM backups WHERE id=?1",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	bool found;
	rg_sq_bind_int(st, 1, id, &rc);
	e = rg_sq_first_row(s, st, rc, backup_read, out, &found, "get backup", err);
	if (!e && !found)
		return rg_fail(err, RG_ENOTFOUND, "id", "no backup %lld", (long long)id);
	return e;
}

rg_err rg_store_backup_of_run(rg_store *s, const char *env, int64_t run_id, rg_backup *out,
			      bool *found, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	memset(out, 0, sizeof *out);
	rg_err e = rg_sq_stmt(s, RG_SQ_BACKUP_LATEST,
			      "SELECT " BACKUP_COLUMNS " FROM backups WHERE env=?1 AND run_id=?2"
			      " ORDER BY id DESC LIMIT 1",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_str(st, 1, env, &rc);
	rg_sq_bind_int(st, 2, run_id, &rc);
	return rg_sq_first_row(s, st, rc, backup_read, out, found, "backup of run", err);
}

rg_err rg_store_backup_before(rg_store *s, const char *env, const char *version, int64_t run_id,
			      rg_backup *out, bool *found, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	memset(out, 0, sizeof *out);
	rg_err e = rg_sq_stmt(s, RG_SQ_BACKUP_BEFORE,
			      "SELECT " BACKUP_COLUMNS " FROM backups WHERE env=?1 AND state='kept'"
			      " AND (version=?2 OR run_id<=?3) ORDER BY version=?2 DESC, id DESC LIMIT 1",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_str(st, 1, env, &rc);
	rg_sq_bind_str(st, 2, version, &rc);
	rg_sq_bind_int(st, 3, run_id, &rc);
	return rg_sq_first_row(s, st, rc, backup_read, out, found, "backup before release", err);
}

typedef struct ids_out {
	int64_t *ids;
	size_t n, cap;
} ids_out;

static rg_err id_row(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	ids_out *o = ctx;
	if (RG_ALLOC_GROW(o->ids, o->n + 1, o->cap))
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	o->ids[o->n++] = sqlite3_column_int64(st, 0);
	return RG_OK;
}

rg_err rg_store_backups_beyond(rg_store *s, const char *env, int keep, int64_t **ids, size_t *n,
			       rg_error *err)
{
	*ids = NULL;
	*n = 0;
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_BACKUPS_KEPT,
			      "SELECT id FROM backups WHERE env=?1 AND state='kept'"
			      " ORDER BY id DESC LIMIT -1 OFFSET ?2",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_str(st, 1, env, &rc);
	rg_sq_bind_int(st, 2, keep, &rc);
	ids_out o = { 0 };
	e = rg_sq_each_row(s, st, rc, id_row, &o, "backups beyond keep", err);
	if (e) {
		free(o.ids);
		return e;
	}
	*ids = o.ids;
	*n = o.n;
	return RG_OK;
}

rg_err rg_store_backup_prune(rg_store *s, int64_t id, int64_t at, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_BACKUP_PRUNE,
			      "UPDATE backups SET state='pruned', pruned=?2 WHERE id=?1", &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, id, &rc);
	rg_sq_bind_int(st, 2, at, &rc);
	return rg_sq_exec(s, st, rc, "prune backup", err);
}

rg_err rg_store_backup_verified(rg_store *s, int64_t id, int64_t at, const char *result,
				rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_BACKUP_VERIFIED,
			      "UPDATE backups SET verified=?2, verify_result=?3 WHERE id=?1", &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, id, &rc);
	rg_sq_bind_int(st, 2, at, &rc);
	rg_sq_bind_str(st, 3, result, &rc);
	return rg_sq_exec(s, st, rc, "record backup verification", err);
}

static rg_err backup_json_row(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	rg_backup b;
	rg_err e = backup_read(st, &b, err);
	json_t *files = e ? NULL : json_loads(b.files, 0, NULL);
	json_t *o = e ? NULL
		      : json_pack("{s:I, s:s, s:s, s:I, s:s, s:s, s:o, s:I, s:o, s:s, s:o, s:o, s:s?}",
				  "id", (json_int_t)b.id, "env", b.env, "version", b.version,
				  "run_id", (json_int_t)b.run_id, "step", b.step, "dir", b.dir,
				  "files", files ? files : json_array(), "bytes", (json_int_t)b.bytes,
				  "created", rg_json_time_or_null(b.created), "state", b.pruned ? "pruned" : "kept",
				  "pruned", rg_json_time_or_null(b.pruned_at), "verified", rg_json_time_or_null(b.verified),
				  "verify_result", b.verify_result[0] ? b.verify_result : NULL);
	rg_backup_release(&b);
	if (e)
		return e;
	if (!o || json_array_append_new(ctx, o) != 0)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory listing backups");
	return RG_OK;
}

rg_err rg_store_backups_json(rg_store *s, const char *env, int64_t before, int limit, json_t **out,
			     rg_error *err)
{
	*out = NULL;
	sqlite3_stmt *st = NULL;
	rg_err e = env ? rg_sq_stmt(s, RG_SQ_Q_BACKUPS_ENV,
				    "SELECT " BACKUP_COLUMNS " FROM backups WHERE env=?1 AND id<?3"
				    " ORDER BY id DESC LIMIT ?2", &st, err)
		       : rg_sq_stmt(s, RG_SQ_Q_BACKUPS,
				    "SELECT " BACKUP_COLUMNS " FROM backups WHERE id<?3 ORDER BY id DESC LIMIT ?2",
				    &st, err);
	if (e)
		return e;
	json_t *arr = json_array();
	int rc = arr ? SQLITE_OK : SQLITE_NOMEM;
	if (env)
		rg_sq_bind_str(st, 1, env, &rc);
	rg_sq_bind_int(st, 2, limit > 0 ? limit : 100, &rc);
	rg_sq_bind_int(st, 3, before > 0 ? before : INT64_MAX, &rc);
	e = rg_sq_each_row(s, st, rc, backup_json_row, arr, "list backups", err);
	if (e) {
		json_decref(arr);
		return e;
	}
	*out = arr;
	return RG_OK;
}
