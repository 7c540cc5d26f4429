/* configsnap.c — the rows of configuration snapshots (see store.h): each
 * content once, by its SHA-256, and which contents a release's files had.
 * Reading files and putting them back is the engine's (engine/configsnap.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "util/alloc.h"

void rg_config_files_free(rg_config_file *f, size_t n)
{
	for (size_t i = 0; f && i < n; i++)
		free(f[i].content);
	free(f);
}

static rg_err blob_put(rg_store *s, const rg_config_file *f, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_BLOB_PUT,
			      "INSERT INTO config_blobs(hash, content) VALUES (?1, ?2)"
			      " ON CONFLICT(hash) DO NOTHING", &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_str(st, 1, f->hash, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob64(st, 2, f->content ? (const void *)f->content : "", f->len,
					 SQLITE_TRANSIENT);
	return rg_sq_exec(s, st, rc, "keep config content", err);
}

rg_err rg_store_release_config_put(rg_store *s, const char *env, const char *version,
				   const rg_config_file *files, size_t n, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_RELCONFIG_CLEAR,
			      "DELETE FROM release_config WHERE env=?1 AND version=?2", &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_str(st, 1, env, &rc);
	rg_sq_bind_str(st, 2, version, &rc);
	if ((e = rg_sq_exec(s, st, rc, "clear config snapshot", err)))
		return e;
	for (size_t i = 0; i < n && !e; i++) {
		if ((e = blob_put(s, &files[i], err)))
			break;
		e = rg_sq_stmt(s, RG_SQ_RELCONFIG_PUT,
			       "INSERT INTO release_config(env, version, path, hash) VALUES (?1,?2,?3,?4)",
			       &st, err);
		if (e)
			break;
		rc = SQLITE_OK;
		rg_sq_bind_str(st, 1, env, &rc);
		rg_sq_bind_str(st, 2, version, &rc);
		rg_sq_bind_buf(st, 3, files[i].path, sizeof files[i].path, &rc);
		rg_sq_bind_buf(st, 4, files[i].hash, sizeof files[i].hash, &rc);
		e = rg_sq_exec(s, st, rc, "keep config snapshot", err);
	}
	return e;
}

typedef struct files_out {
	rg_config_file *items;
	size_t n, cap;
} files_out;

static rg_err file_row(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	files_out *o = ctx;
	if (RG_ALLOC_GROW(o->items, o->n + 1, o->cap))
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory reading a config snapshot");
	rg_config_file *f = &o->items[o->n];
	memset(f, 0, sizeof *f);
	rg_sq_text(st, 0, f->path, sizeof f->path);
	rg_sq_text(st, 1, f->hash, sizeof f->hash);
	f->len = (size_t)sqlite3_column_bytes(st, 2);
	const void *blob = sqlite3_column_blob(st, 2);
	if (!(f->content = malloc(f->len + 1)))
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory reading a config snapshot");
	if (f->len)
		memcpy(f->content, blob, f->len);
	f->content[f->len] = '\0';   /* text for diffs; the length is what counts */
	o->n++;
	return RG_OK;
}

rg_err rg_store_release_config_get(rg_store *s, const char *env, const char *version,
				   rg_config_file **out, size_t *n, rg_error *err)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_RELCONFIG_GET,
			      "SELECT r.path, r.hash, b.content FROM release_config r"
			      " JOIN config_blobs b ON b.hash = r.hash"
			      " WHERE r.env=?1 AND r.version=?2 ORDER BY r.path",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_str(st, 1, env, &rc);
	rg_sq_bind_str(st, 2, version, &rc);
	files_out o = { 0 };
	e = rg_sq_each_row(s, st, rc, file_row, &o, "config snapshot", err);
	if (e) {
		rg_config_files_free(o.items, o.n);
		return e;
	}
	*out = o.items;
	*n = o.n;
	return RG_OK;
}
