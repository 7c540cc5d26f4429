/* approvals.c — the rows of approval gates: each person's answer, in the
 * round of the gate it was given at (see store.h). Which answers count and
 * what follows is the engine's business (engine/gates.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "util/alloc.h"

rg_err rg_store_approval_add(rg_store *s, const rg_approval *a, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_APPROVAL_ADD,
			      "INSERT INTO approvals(run_id, round, gate, who, verdict, comment, at)"
			      " VALUES (?1,?2,?3,?4,?5,?6,?7)",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, a->run_id, &rc);
	rg_sq_bind_int(st, 2, a->round, &rc);
	rg_sq_bind_buf(st, 3, a->gate, sizeof a->gate, &rc);
	rg_sq_bind_buf(st, 4, a->who, sizeof a->who, &rc);
	rg_sq_bind_str(st, 5, a->approve ? "approve" : "reject", &rc);
	rg_sq_bind_buf(st, 6, a->comment, sizeof a->comment, &rc);
	rg_sq_bind_int(st, 7, a->at, &rc);
	e = rg_sq_exec(s, st, rc, "add approval", err);
	if (e == RG_ECONFLICT)
		return rg_fail(err, RG_ECONFLICT, NULL, "%s has already answered for run %lld",
			       a->who, (long long)a->run_id);
	return e;
}

typedef struct approvals_out {
	rg_approval *items;
	size_t n, cap;
} approvals_out;

static rg_err approval_row(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	approvals_out *o = ctx;
	if (RG_ALLOC_GROW(o->items, o->n + 1, o->cap))
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory reading approvals");
	rg_approval *a = &o->items[o->n++];
	memset(a, 0, sizeof *a);
	a->run_id = sqlite3_column_int64(st, 0);
	a->round = sqlite3_column_int(st, 1);
	rg_sq_text(st, 2, a->gate, sizeof a->gate);
	rg_sq_text(st, 3, a->who, sizeof a->who);
	const unsigned char *verdict = sqlite3_column_text(st, 4);
	a->approve = verdict && strcmp((const char *)verdict, "approve") == 0;
	rg_sq_text(st, 5, a->comment, sizeof a->comment);
	a->at = sqlite3_column_int64(st, 6);
	return RG_OK;
}

rg_err rg_store_approvals_get(rg_store *s, int64_t run_id, int round, rg_approval **out,
			      size_t *n, rg_error *err)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_APPROVALS,
			      "SELECT run_id, round, gate, who, verdict, comment, at FROM approvals"
			      " WHERE run_id=?1 AND round=?2 ORDER BY id",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, run_id, &rc);
	rg_sq_bind_int(st, 2, round, &rc);
	approvals_out o = { 0 };
	e = rg_sq_each_row(s, st, rc, approval_row, &o, "approvals", err);
	if (e) {
		free(o.items);
		return e;
	}
	*out = o.items;
	*n = o.n;
	return RG_OK;
}
