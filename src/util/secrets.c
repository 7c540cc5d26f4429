/* secrets.c — the registry of secret values and the redaction of text.
 * Values are kept longest first, so that at any position the longest value
 * that matches is the one masked (a token that contains another secret is
 * masked whole). Nothing here may log or return a value. */
#include "util/secrets.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

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
