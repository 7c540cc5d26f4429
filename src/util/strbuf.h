/* strbuf.h — the one growable byte buffer (git's strbuf).
 * Invariant: once initialised, buf is a NUL-terminated string of len bytes
 * (it may hold NULs of its own) in an allocation of alloc bytes; alloc == 0
 * means nothing is allocated and buf points at a shared read-only "" that
 * must never be written or freed. A zeroed rg_strbuf (buf NULL) is also
 * accepted by every function, so a struct from calloc needs no init; only
 * its buf cannot be read until something was added.
 * Allocation failure is an error value (RG_ENOMEM), never an abort: on
 * failure the buffer is left exactly as it was. */
#ifndef RG_STRBUF_H
#define RG_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

#include "util/err.h"

typedef struct rg_strbuf {
	char *buf;      /* owned when alloc > 0 */
	size_t len;     /* bytes before the terminating NUL */
	size_t alloc;   /* bytes allocated, 0 while buf is the shared "" */
} rg_strbuf;

extern char rg_strbuf_slopbuf[];
#define RG_STRBUF_INIT { rg_strbuf_slopbuf, 0, 0 }

/* Empty, nothing allocated. */
void rg_strbuf_init(rg_strbuf *sb);
/* Frees the contents and leaves sb as after rg_strbuf_init. */
void rg_strbuf_release(rg_strbuf *sb);
/* Makes room for extra more bytes (and the NUL) without moving again. */
rg_err rg_strbuf_grow(rg_strbuf *sb, size_t extra);
/* Sets len to n (n <= alloc - 1, e.g. after writing into the room grow made)
 * and writes the terminating NUL. */
void rg_strbuf_setlen(rg_strbuf *sb, size_t n);
rg_err rg_strbuf_add(rg_strbuf *sb, const void *data, size_t len);
rg_err rg_strbuf_addstr(rg_strbuf *sb, const char *s);
rg_err rg_strbuf_addf(rg_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
rg_err rg_strbuf_vaddf(rg_strbuf *sb, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Empties sb and keeps its allocation for reuse. */
void rg_strbuf_reset(rg_strbuf *sb);
/* Hands the string to the caller, who frees it; sb is left as after
 * rg_strbuf_init. *len (if not NULL) gets its length. NULL only when
 * nothing was allocated and allocating the empty string failed. */
char *rg_strbuf_detach(rg_strbuf *sb, size_t *len);

#endif
