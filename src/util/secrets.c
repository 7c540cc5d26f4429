/* secrets.c — the registry of secret values and the redaction of text.
 * Values are kept longest first, so that at any position the longest value
 * that matches is the one masked (a token that contains another secret is
 * masked whole). Nothing here may log or return a value. */
#include "util/secrets.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/strbuf.h"

typedef struct secret {
	char *value;   /* owned, wiped before free */
	size_t len;
} secret;

/* The lock lets log lines of any thread be masked while the control loop
 * adds a value; nothing is held across a call. */
struct rg_secrets {
	pthread_mutex_t lock;
	secret *items;  /* longest first */
	size_t n, cap;
};

rg_err rg_secrets_new(rg_secrets **out, rg_error *err)
{
	*out = calloc(1, sizeof **out);
	if (!*out)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	pthread_mutex_init(&(*out)->lock, NULL);
	return RG_OK;
}

void rg_secrets_free(rg_secrets *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		explicit_bzero(s->items[i].value, s->items[i].len);
		free(s->items[i].value);
	}
	free(s->items);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static bool known(const rg_secrets *s, const char *value, size_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->items[i].len == len && !memcmp(s->items[i].value, value, len))
			return true;
	return false;
}

/* Called with s->lock held. */
static rg_err add_locked(rg_secrets *s, const char *value, size_t len, bool *added,
			 rg_error *err)
{
	if (known(s, value, len))
		return RG_OK;
	char *copy = malloc(len);
	if (!copy || RG_ALLOC_GROW(s->items, s->n + 1, s->cap)) {
		free(copy);
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory registering a secret");
	}
	memcpy(copy, value, len);
	size_t at = 0;
	while (at < s->n && s->items[at].len >= len)
		at++;
	memmove(&s->items[at + 1], &s->items[at], (s->n - at) * sizeof *s->items);
	s->items[at] = (secret){ .value = copy, .len = len };
	s->n++;
	*added = true;
	return RG_OK;
}

rg_err rg_secrets_add(rg_secrets *s, const char *value, size_t len, bool *added,
		      rg_error *err)
{
	bool ignored;
	added = added ? added : &ignored;
	*added = false;
	if (!value || len < RG_SECRET_MIN_LEN)
		return RG_OK;
	pthread_mutex_lock(&s->lock);
	rg_err rc = add_locked(s, value, len, added, err);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

size_t rg_secrets_count(rg_secrets *s)
{
	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	size_t n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* The length of the longest value that starts at p (n bytes left), or 0. */
static size_t match_at(const rg_secrets *s, const char *p, size_t n)
{
	for (size_t i = 0; i < s->n; i++) {
		const secret *v = &s->items[i];
		if (v->len <= n && v->value[0] == p[0] && !memcmp(v->value, p, v->len))
			return v->len;
	}
	return 0;
}

/* Called with s->lock held. */
static size_t redact_locked(const rg_secrets *s, char *buf, size_t *len)
{
	size_t r = 0, w = 0, n = *len, count = 0;
	const size_t mask = sizeof RG_SECRET_MASK - 1;
	while (r < n) {
		size_t m = match_at(s, buf + r, n - r);
		if (m) {
			/* w + mask <= r + m: every value is longer than the mask */
			memcpy(buf + w, RG_SECRET_MASK, mask);
			w += mask;
			r += m;
			count++;
		} else {
			buf[w++] = buf[r++];
		}
	}
	buf[w] = '\0';
	*len = w;
	return count;
}

size_t rg_secrets_redact(rg_secrets *s, char *buf, size_t *len)
{
	if (!buf)
		return 0;
	if (!s) {
		buf[*len] = '\0';
		return 0;
	}
	pthread_mutex_lock(&s->lock);
	size_t count = redact_locked(s, buf, len);
	pthread_mutex_unlock(&s->lock);
	return count;
}

rg_err rg_secrets_redact_dup(rg_secrets *s, const char *text, size_t len, char **out,
			     size_t *out_len, rg_error *err)
{
	*out = malloc(len + 1);
	if (!*out)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	memcpy(*out, text, len);
	(*out)[len] = '\0';
	rg_secrets_redact(s, *out, &len);
	if (out_len)
		*out_len = len;
	return RG_OK;
}

/* ---- streams ------------------------------------------------------------------ */

struct rg_secrets_stream {
	rg_secrets *s;
	rg_secrets_emit_fn emit;
	void *ctx;
	rg_strbuf in;    /* held-back bytes, then the chunk being scanned */
	rg_strbuf out;   /* what the scan lets go, emitted after the lock */
};

rg_err rg_secrets_stream_new(rg_secrets *s, rg_secrets_emit_fn emit, void *ctx,
			     rg_secrets_stream **out, rg_error *err)
{
	*out = calloc(1, sizeof **out);
	if (!*out)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	**out = (rg_secrets_stream){ .s = s, .emit = emit, .ctx = ctx };
	rg_strbuf_init(&(*out)->in);
	rg_strbuf_init(&(*out)->out);
	return RG_OK;
}

/* Whether p[0, n) is the beginning of a longer value: it must wait. */
static bool may_start(const rg_secrets *s, const char *p, size_t n)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->items[i].len > n && !memcmp(s->items[i].value, p, n))
			return true;
	return false;
}

/* Scans st->in into st->out, keeping in st->in only a tail that may start
 * a value (all of it when final is false and it might). Lock held. */
static rg_err scan_locked(rg_secrets_stream *st, bool final)
{
	const char *p = st->in.buf;
	size_t n = st->in.len, i = 0, from = 0;
	const size_t mask = sizeof RG_SECRET_MASK - 1;
	rg_err rc = RG_OK;
	while (i < n && !rc) {
		size_t m = match_at(st->s, p + i, n - i);
		if (m) {
			rc = rg_strbuf_add(&st->out, p + from, i - from);
			if (!rc)
				rc = rg_strbuf_add(&st->out, RG_SECRET_MASK, mask);
			i = from = i + m;
		} else if (!final && may_start(st->s, p + i, n - i)) {
			break;
		} else {
			i++;
		}
	}
	if (!rc)
		rc = rg_strbuf_add(&st->out, p + from, i - from);
	if (!rc) {
		memmove(st->in.buf, p + i, n - i);
		explicit_bzero(st->in.buf + (n - i), i);
		rg_strbuf_setlen(&st->in, n - i);
	}
	return rc;
}

static void emit_out(rg_secrets_stream *st)
{
	if (st->out.len)
		st->emit(st->ctx, st->out.buf, st->out.len);
	rg_strbuf_reset(&st->out);
}

/* After a failure nothing of in or out may be emitted: both are wiped. */
static void drop_all(rg_secrets_stream *st)
{
	if (st->in.alloc)
		explicit_bzero(st->in.buf, st->in.alloc);
	if (st->out.alloc)
		explicit_bzero(st->out.buf, st->out.alloc);
	rg_strbuf_reset(&st->in);
	rg_strbuf_reset(&st->out);
}

static rg_err stream_scan(rg_secrets_stream *st, bool final, rg_error *err)
{
	pthread_mutex_lock(&st->s->lock);
	rg_err rc = scan_locked(st, final);
	pthread_mutex_unlock(&st->s->lock);
	if (rc) {
		drop_all(st);
		return rg_fail(err, rc, NULL, "out of memory masking output");
	}
	emit_out(st);
	return RG_OK;
}

rg_err rg_secrets_stream_feed(rg_secrets_stream *st, const char *p, size_t n, rg_error *err)
{
	if (rg_strbuf_add(&st->in, p, n)) {
		drop_all(st);
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory masking output");
	}
	return stream_scan(st, false, err);
}

void rg_secrets_stream_flush(rg_secrets_stream *st)
{
	rg_error ignored;
	stream_scan(st, true, &ignored);
}

void rg_secrets_stream_free(rg_secrets_stream *st)
{
	if (!st)
		return;
	drop_all(st);
	rg_strbuf_release(&st->in);
	rg_strbuf_release(&st->out);
	free(st);
}
