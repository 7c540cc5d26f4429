/* secrets.c — the registry of secret values and the redaction of text.
 * Values are kept longest first, so that at any position the longest value
 * that matches is the one masked (a token that contains another secret is
 * masked whole). Nothing here may log or return a value. */
#include "util/secrets.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

typedef struct secret {
	char *value;   /* owned, wiped before free */
	size_t len;
} secret;

struct rg_secrets {
	secret *items;  /* longest first */
	size_t n, cap;
};

rg_err rg_secrets_new(rg_secrets **out, rg_error *err)
{
	*out = calloc(1, sizeof **out);
	return *out ? RG_OK : rg_fail(err, RG_ENOMEM, NULL, "out of memory");
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
	free(s);
}

static bool known(const rg_secrets *s, const char *value, size_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->items[i].len == len && !memcmp(s->items[i].value, value, len))
			return true;
	return false;
}

rg_err rg_secrets_add(rg_secrets *s, const char *value, size_t len, bool *added,
		      rg_error *err)
{
	if (added)
		*added = false;
	if (!value || len < RG_SECRET_MIN_LEN || known(s, value, len))
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
	if (added)
		*added = true;
	return RG_OK;
}

size_t rg_secrets_count(const rg_secrets *s)
{
	return s ? s->n : 0;
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

size_t rg_secrets_redact(const rg_secrets *s, char *buf, size_t *len)
{
	if (!buf)
		return 0;
	size_t r = 0, w = 0, n = *len, count = 0;
	if (!s || s->n == 0)
		r = w = n;
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

rg_err rg_secrets_redact_dup(const rg_secrets *s, const char *text, size_t len, char **out,
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
