/* flags.c — the rows of flag overrides (see store.h): what a person or a
 * trigger set for a flag in an environment. How a flag evaluates with them
 * is flags/flags.c's business. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "util/alloc.h"

rg_err rg_store_flag_put(rg_store *s, const rg_flag_override *o, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_FLAG_PUT,
			      "INSERT OR REPLACE INTO flag_overrides(env, \"key\", enabled, rollout,"
			      " actor, reason, run_id, at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_buf(st, 1, o->env, sizeof o->env, &rc);
	rg_sq_bind_buf(st, 2, o->key, sizeof o->key, &rc);
	rg_sq_bind_int(st, 3, o->enabled ? 1 : 0, &rc);
	rg_sq_bind_int(st, 4, o->rollout, &rc);
	rg_sq_bind_buf(st, 5, o->actor, sizeof o->actor, &rc);
	rg_sq_bind_buf(st, 6, o->reason, sizeof o->reason, &rc);
	if (rc == SQLITE_OK)
		rc = o->run_id > 0 ? sqlite3_bind_int64(st, 7, o->run_id) : sqlite3_bind_null(st, 7);
	rg_sq_bind_int(st, 8, o->at, &rc);
	return rg_sq_exec(s, st, rc, "store flag override", err);
}

typedef struct overrides_out {
	rg_flag_override *items;
	size_t n, cap;
} overrides_out;

static rg_err override_row(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	overrides_out *o = ctx;
	if (RG_ALLOC_GROW(o->items, o->n + 1, o->cap))
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory reading flag overrides");
	rg_flag_override *f = &o->items[o->n++];
	memset(f, 0, sizeof *f);
	rg_sq_text(st, 0, f->env, sizeof f->env);
	rg_sq_text(st, 1, f->key, sizeof f->key);
	f->enabled = sqlite3_column_int(st, 2) != 0;
	f->rollout = sqlite3_column_int(st, 3);
	rg_sq_text(st, 4, f->actor, sizeof f->actor);
	rg_sq_text(st, 5, f->reason, sizeof f->reason);
	f->run_id = sqlite3_column_int64(st, 6);
	f->at = sqlite3_column_int64(st, 7);
	return RG_OK;
}

rg_err rg_store_flags_get(rg_store *s, const char *env, rg_flag_override **out, size_t *n,
			  rg_error *err)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_FLAGS_ENV,
			      "SELECT env, \"key\", enabled, rollout, actor, reason, coalesce(run_id, 0), at"
			      " FROM flag_overrides WHERE env=?1 ORDER BY \"key\"",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_str(st, 1, env, &rc);
	overrides_out o = { 0 };
	e = rg_sq_each_row(s, st, rc, override_row, &o, "flag overrides", err);
	if (e) {
		free(o.items);
		return e;
	}
	*out = o.items;
	*n = o.n;
	return RG_OK;
}
