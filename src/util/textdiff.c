/* textdiff.c — a longest-common-subsequence diff of lines, printed as
 * unified hunks, and the masking of secret-looking values. Config files
 * are small, so the O(n·m) table is fine and the bound keeps it so. */
#include "util/textdiff.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONTEXT 3

typedef struct lines {
	const char **at;   /* line starts */
	size_t *len;       /* without the newline */
	size_t n;
} lines;

static rg_err split(const char *t, lines *l, rg_error *err)
{
	size_t n = 0;
	for (const char *p = t; *p; p++)
		n += *p == '\n';
	n += t[0] && t[strlen(t) - 1] != '\n';
	if (n > RG_DIFF_MAX_LINES)
		return rg_fail(err, RG_ETOOLARGE, NULL, "more than %d lines: too large to diff",
			       RG_DIFF_MAX_LINES);
	l->at = calloc(n + 1, sizeof *l->at);
	l->len = calloc(n + 1, sizeof *l->len);
	if (!l->at || !l->len)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	l->n = 0;
	for (const char *p = t; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		l->at[l->n] = p;
		l->len[l->n++] = len;
		p += len + (nl ? 1 : 0);
	}
	return RG_OK;
}

static bool same(const lines *a, size_t i, const lines *b, size_t j)
{
	return a->len[i] == b->len[j] && memcmp(a->at[i], b->at[j], a->len[i]) == 0;
}

/* One edit script entry: ' ' kept, '-' only in a, '+' only in b. */
typedef struct op {
	char kind;
	size_t ai, bi;
} op;

static rg_err script(const lines *a, const lines *b, op **out, size_t *n_out, rg_error *err)
{
	size_t w = b->n + 1;
	uint32_t *t = calloc((a->n + 1) * w, sizeof *t);
	op *ops = calloc(a->n + b->n + 1, sizeof *ops);
	if (!t || !ops) {
		free(t);
		free(ops);
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory diffing");
	}
	for (size_t i = a->n; i-- > 0;)
		for (size_t j = b->n; j-- > 0;)
			t[i * w + j] = same(a, i, b, j) ? t[(i + 1) * w + j + 1] + 1
			: t[(i + 1) * w + j] > t[i * w + j + 1] ? t[(i + 1) * w + j] : t[i * w + j + 1];
	size_t i = 0, j = 0, n = 0;
	while (i < a->n || j < b->n) {
		if (i < a->n && j < b->n && same(a, i, b, j))
			ops[n++] = (op){ ' ', i++, j++ };
		else if (i < a->n && (j == b->n || t[(i + 1) * w + j] >= t[i * w + j + 1]))
			ops[n++] = (op){ '-', i++, j };   /* removals before additions */
		else
			ops[n++] = (op){ '+', i, j++ };
	}
	free(t);
	*out = ops;
	*n_out = n;
	return RG_OK;
}

static rg_err hunk(const lines *a, const lines *b, const op *ops, size_t from, size_t to,
		   rg_strbuf *out)
{
	size_t a_start = ops[from].ai, b_start = ops[from].bi, a_n = 0, b_n = 0;
	for (size_t k = from; k < to; k++) {
		a_n += ops[k].kind != '+';
		b_n += ops[k].kind != '-';
	}
	rg_err rc = rg_strbuf_addf(out, "@@ -%zu,%zu +%zu,%zu @@\n", a_n ? a_start + 1 : a_start, a_n,
				   b_n ? b_start + 1 : b_start, b_n);
	for (size_t k = from; !rc && k < to; k++) {
		const lines *l = ops[k].kind == '+' ? b : a;
		size_t idx = ops[k].kind == '+' ? ops[k].bi : ops[k].ai;
		rc = rg_strbuf_addf(out, "%c%.*s\n", ops[k].kind, (int)l->len[idx], l->at[idx]);
	}
	return rc;
}

static rg_err hunks(const lines *a, const lines *b, const op *ops, size_t n, rg_strbuf *out)
{
	rg_err rc = RG_OK;
	for (size_t k = 0; k < n && !rc;) {
		if (ops[k].kind == ' ') {
			k++;
			continue;
		}
		size_t start = k > CONTEXT ? k - CONTEXT : 0, end = k;
		/* extend while the next change is within 2*CONTEXT kept lines */
		for (;;) {
			while (end < n && ops[end].kind != ' ')
				end++;
			size_t kept = 0;
			while (end + kept < n && ops[end + kept].kind == ' ' && kept <= 2 * CONTEXT)
				kept++;
			if (end + kept < n && kept <= 2 * CONTEXT) {
				end += kept;
				continue;
			}
			end += kept < CONTEXT ? kept : CONTEXT;
			break;
		}
		rc = hunk(a, b, ops, start, end, out);
		k = end;
	}
	return rc;
}

rg_err rg_text_diff(const char *a, const char *b, const char *from, const char *to,
		    rg_strbuf *out, rg_error *err)
{
	lines la = { 0 }, lb = { 0 };
	op *ops = NULL;
	size_t n = 0;
	rg_err rc = split(a ? a : "", &la, err);
	if (!rc)
		rc = split(b ? b : "", &lb, err);
	if (!rc)
		rc = script(&la, &lb, &ops, &n, err);
	bool changed = false;
	for (size_t k = 0; !rc && k < n; k++)
		changed |= ops[k].kind != ' ';
	if (!rc && changed && (rg_strbuf_addf(out, "--- %s\n+++ %s\n", from, to) ||
			       hunks(&la, &lb, ops, n, out)))
		rc = rg_fail(err, RG_ENOMEM, NULL, "out of memory diffing");
	free(la.at);
	free(la.len);
	free(lb.at);
	free(lb.len);
	free(ops);
	return rc;
}

static bool looks_secret(const char *key, size_t len, const char *const *extra, size_t n)
{
	static const char *const words[] = { "password", "passwd", "secret", "token", "apikey",
					     "api_key", "private", "credential", "_key", "auth" };
	char k[128];
	if (len >= sizeof k)
		len = sizeof k - 1;
	for (size_t i = 0; i < len; i++)
		k[i] = (char)tolower((unsigned char)key[i]);
	k[len] = '\0';
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(extra[i], k) == 0)
			return true;
	for (size_t i = 0; i < sizeof words / sizeof *words; i++)
		if (strstr(k, words[i]))
			return true;
	return strcmp(k, "key") == 0;
}

/* In line [p, end): where a secret value starts, or NULL. */
static const char *secret_value(const char *p, const char *end, const char *const *extra, size_t n)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if ((size_t)(end - p) > 7 && !strncmp(p, "export ", 7))
		p += 7;
	const char *key = p;
	while (p < end && (isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.'))
		p++;
	size_t klen = (size_t)(p - key);
	while (p < end && *p == ' ')
		p++;
	if (!klen || p >= end || (*p != '=' && *p != ':'))
		return NULL;
	p++;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p < end && looks_secret(key, klen, extra, n) ? p : NULL;
}

char *rg_mask_secret_values(const char *text, const char *const *extra, size_t n)
{
	rg_strbuf out;
	rg_strbuf_init(&out);
	for (const char *p = text ? text : ""; *p;) {
		const char *nl = strchr(p, '\n');
		const char *end = nl ? nl : p + strlen(p);
		const char *v = secret_value(p, end, extra, n);
		rg_err rc = v ? rg_strbuf_add(&out, p, (size_t)(v - p)) || rg_strbuf_addstr(&out, "***")
			      : rg_strbuf_add(&out, p, (size_t)(end - p));
		if (!rc && nl)
			rc = rg_strbuf_add(&out, "\n", 1);
		if (rc) {
			rg_strbuf_release(&out);
			return NULL;
		}
		p = nl ? nl + 1 : end;
	}
	if (rg_strbuf_addstr(&out, ""))
		return NULL;
	return rg_strbuf_detach(&out, NULL);
}
