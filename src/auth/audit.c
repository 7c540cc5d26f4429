/* audit.c — the audit log's hash chain (see audit.h). */
#include "auth/audit.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/timeutil.h"

#define HASH_LEN 32
/* The hash the first entry is chained to. */
#define GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

static void copy(char *out, size_t size, const char *s)
{
	snprintf(out, size, "%s", s ? s : "");
}

/* What is hashed of r: every field but the hashes, as canonical JSON. */
static char *canonical(const rg_audit_row *r)
{
	json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s}",
			      "seq", (json_int_t)r->seq, "at", (json_int_t)r->at,
			      "actor", r->actor, "address", r->address, "action", r->action,
			      "env", r->env, "target", r->target, "result", r->result,
			      "status", r->status, "detail", r->detail);
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII) : NULL;
	json_decref(o);
	return text;
}

/* hash = BLAKE2b-256(prev_hash hex || canonical JSON), in hex. */
static rg_err chain_hash(const rg_audit_row *r, char out[65], rg_error *err)
{
	char *text = canonical(r);
	unsigned char h[HASH_LEN];
	crypto_generichash_state st;
	if (!text)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	crypto_generichash_init(&st, NULL, 0, sizeof h);
	crypto_generichash_update(&st, (const unsigned char *)r->prev_hash, strlen(r->prev_hash));
	crypto_generichash_update(&st, (const unsigned char *)text, strlen(text));
	crypto_generichash_final(&st, h, sizeof h);
	free(text);
	sodium_bin2hex(out, 65, h, sizeof h);
	return RG_OK;
}

static void row_fill(rg_audit_row *r, const rg_audit_entry *e)
{
	memset(r, 0, sizeof *r);
	r->at = rg_now_ms();
	copy(r->actor, sizeof r->actor, e->actor && *e->actor ? e->actor : "-");
	copy(r->address, sizeof r->address, e->address);
	copy(r->action, sizeof r->action, e->action);
	copy(r->env, sizeof r->env, e->env);
	copy(r->target, sizeof r->target, e->target);
	copy(r->result, sizeof r->result, e->result);
	r->status = e->status;
	copy(r->detail, sizeof r->detail, e->detail);
}

rg_err rg_audit_append(rg_store *s, const rg_audit_entry *e, rg_error *err)
{
	rg_audit_row r;
	row_fill(&r, e);
	rg_err rc = rg_store_begin(s, err);
	if (rc)
		return rc;
	rc = rg_store_audit_last(s, &r.seq, r.prev_hash, err);
	if (!rc) {
		r.seq++;
		if (!r.prev_hash[0])
			copy(r.prev_hash, sizeof r.prev_hash, GENESIS);
		rc = chain_hash(&r, r.hash, err);
	}
	if (!rc)
		rc = rg_store_audit_insert(s, &r, err);
	if (!rc)
		rc = rg_store_commit(s, err);
	if (rc)
		rg_store_abandon(s);
	return rc;
}

/* ---- verify ---------------------------------------------------------------------- */

struct walk {
	rg_audit_report *rep;
	int64_t seq;            /* the previous entry's */
	char hash[65];
};

static void broken(struct walk *w, int64_t seq, const char *fmt, int64_t n)
{
	w->rep->intact = false;
	w->rep->bad_seq = seq;
	snprintf(w->rep->why, sizeof w->rep->why, fmt, (long long)n);
}

static rg_err verify_row(const rg_audit_row *r, void *ctx, rg_error *err)
{
	struct walk *w = ctx;
	char expect[65];
	if (!w->rep->intact)
		return RG_OK;
	w->rep->entries++;
	if (r->seq != w->seq + 1)
		broken(w, r->seq, w->seq + 1 < r->seq ? "entry %lld is missing (removed)"
						      : "entry %lld is out of order", w->seq + 1);
	else if (strcmp(r->prev_hash, w->hash) != 0)
		broken(w, r->seq, "entry %lld does not follow the one before it (an entry "
				  "before it was changed, removed or reordered)", r->seq);
	else {
		rg_err rc = chain_hash(r, expect, err);
		if (rc)
			return rc;
		if (strcmp(expect, r->hash) != 0)
			broken(w, r->seq, "entry %lld was changed", r->seq);
	}
	w->seq = r->seq;
	copy(w->hash, sizeof w->hash, r->hash);
	return RG_OK;
}

rg_err rg_audit_verify(rg_store *s, rg_audit_report *report, rg_error *err)
{
	struct walk w = { .rep = report };
	memset(report, 0, sizeof *report);
	report->intact = true;
	copy(w.hash, sizeof w.hash, GENESIS);
	return rg_store_audit_each(s, NULL, 0, verify_row, &w, err);
}

/* ---- reading ------------------------------------------------------------------------ */

static rg_err json_row(const rg_audit_row *r, void *ctx, rg_error *err)
{
	char at[40];
	rg_time_format_iso(r->at, at, sizeof at);
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s}",
			      "seq", (json_int_t)r->seq, "at", at, "actor", r->actor,
			      "address", r->address, "action", r->action, "env", r->env,
			      "target", r->target, "result", r->result, "status", r->status,
			      "detail", r->detail, "hash", r->hash);
	if (!o || json_array_append_new(ctx, o) != 0)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	return RG_OK;
}

rg_err rg_audit_json(rg_store *s, const char *env, int limit, json_t **out, rg_error *err)
{
	json_t *a = json_array();
	*out = NULL;
	if (!a)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	rg_err rc = rg_store_audit_each(s, env, limit > 0 ? limit : 1, json_row, a, err);
	if (rc) {
		json_decref(a);
		return rc;
	}
	*out = a;
	return RG_OK;
}
