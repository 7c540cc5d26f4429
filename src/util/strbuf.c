/* strbuf.c — the growable byte buffer of strbuf.h.
 * The shared "" lets an empty buffer be read as a string without
 * allocating; so nothing here may write to it (alloc == 0 guards every
 * write), or two threads' empty buffers would race on one byte. */
#include "util/strbuf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

char rg_strbuf_slopbuf[1];

void rg_strbuf_init(rg_strbuf *sb)
{
	sb->buf = rg_strbuf_slopbuf;
	sb->len = sb->alloc = 0;
}

void rg_strbuf_release(rg_strbuf *sb)
{
	if (sb->alloc)
		free(sb->buf);
	rg_strbuf_init(sb);
}

rg_err rg_strbuf_grow(rg_strbuf *sb, size_t extra)
{
	if (extra > SIZE_MAX - 1 - sb->len)
		return RG_ENOMEM;
	bool fresh = sb->alloc == 0;
	char *keep = fresh ? NULL : sb->buf;
	rg_err rc = rg_grow(&keep, &sb->alloc, sb->len + extra + 1, 1);
	if (rc)
		return rc;
	sb->buf = keep;
	if (fresh)
		sb->buf[0] = '\0';   /* len is 0: nothing allocated held nothing */
	return RG_OK;
}

void rg_strbuf_setlen(rg_strbuf *sb, size_t n)
{
	if (!sb->alloc) {
		rg_strbuf_init(sb);
		return;
	}
	sb->len = n < sb->alloc ? n : sb->alloc - 1;
	sb->buf[sb->len] = '\0';
}

rg_err rg_strbuf_add(rg_strbuf *sb, const void *data, size_t len)
{
	rg_err rc = rg_strbuf_grow(sb, len);
	if (rc)
		return rc;
	memcpy(sb->buf + sb->len, data, len);
	rg_strbuf_setlen(sb, sb->len + len);
	return RG_OK;
}

rg_err rg_strbuf_addstr(rg_strbuf *sb, const char *s)
{
	return rg_strbuf_add(sb, s, strlen(s));
}

rg_err rg_strbuf_vaddf(rg_strbuf *sb, const char *fmt, va_list ap)
{
	va_list again;
	va_copy(again, ap);
	char *at = sb->alloc ? sb->buf + sb->len : NULL;
	int n = vsnprintf(at, sb->alloc ? sb->alloc - sb->len : 0, fmt, ap);
	rg_err rc = n < 0 ? RG_EINTERNAL : RG_OK;
	if (!rc && (size_t)n >= (sb->alloc ? sb->alloc - sb->len : 0)) {
		/* It did not fit: grow to the size vsnprintf reported and print again. */
		rc = rg_strbuf_grow(sb, (size_t)n);
		if (!rc)
			vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, again);
	}
	va_end(again);
	if (rc) {
		rg_strbuf_setlen(sb, sb->len);   /* a partial print must not stay */
		return rc;
	}
	rg_strbuf_setlen(sb, sb->len + (size_t)n);
	return RG_OK;
}

rg_err rg_strbuf_addf(rg_strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rg_err rc = rg_strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
	return rc;
}

void rg_strbuf_reset(rg_strbuf *sb)
{
	rg_strbuf_setlen(sb, 0);
}

char *rg_strbuf_detach(rg_strbuf *sb, size_t *len)
{
	if (!sb->alloc && rg_strbuf_grow(sb, 0))
		return NULL;
	char *s = sb->buf;
	if (len)
		*len = sb->len;
	rg_strbuf_init(sb);
	return s;
}
