/* secrets.h — the values rollguard knows to be secret, and their removal
 * from text before it is stored (step logs, event messages, errors).
 * A registry owns copies of the values, wiped when it is freed. Any thread
 * may use it (a lock guards it: log lines are masked too). A value shorter than
 * RG_SECRET_MIN_LEN is not registered: replacing every "abc" or "1234" of a
 * log would wreck the log and tell a reader which short string the secret
 * is, and a secret that short is guessable anyway. */
#ifndef RG_SECRETS_H
#define RG_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define RG_SECRET_MIN_LEN 6
#define RG_SECRET_MASK "***"

typedef struct rg_secrets rg_secrets;

/* *out is the caller's; free it with rg_secrets_free. */
rg_err rg_secrets_new(rg_secrets **out, rg_error *err);
/* Wipes every value, then frees. NULL is fine. */
void rg_secrets_free(rg_secrets *s);

/* Registers a copy of value[0, len) (the caller keeps and may wipe its own).
 * A value already known, or shorter than RG_SECRET_MIN_LEN, is ignored
 * (RG_OK, *added false). added may be NULL. Messages never hold the value. */
rg_err rg_secrets_add(rg_secrets *s, const char *value, size_t len, bool *added,
		      rg_error *err);
size_t rg_secrets_count(rg_secrets *s);

/* Replaces every occurrence of a registered value in buf[0, *len) with
 * RG_SECRET_MASK, in place: the text only shrinks, since every value is
 * longer than the mask. Where values overlap, the longest one starting
 * first wins. buf has room for *len + 1 bytes (a string, or room for its
 * NUL): buf[*len] is NUL afterwards. Returns how many were replaced; s NULL
 * replaces nothing. */
size_t rg_secrets_redact(rg_secrets *s, char *buf, size_t *len);

/* A redacted, NUL-terminated copy of text[0, len) into *out (the caller's,
 * free()), its length in *out_len (may be NULL). */
rg_err rg_secrets_redact_dup(rg_secrets *s, const char *text, size_t len, char **out,
			     size_t *out_len, rg_error *err);

/* Masking output as it streams in (a command's log read in chunks): a
 * value split between two chunks is still masked, because bytes that may
 * be the start of a value are held back until the next chunk decides.
 * Pieces ready to keep go to emit(ctx, p, n), never with the lock held. */
typedef void (*rg_secrets_emit_fn)(void *ctx, const char *p, size_t n);
typedef struct rg_secrets_stream rg_secrets_stream;

/* s is borrowed and must outlive the stream; *out is the caller's. */
rg_err rg_secrets_stream_new(rg_secrets *s, rg_secrets_emit_fn emit, void *ctx,
			     rg_secrets_stream **out, rg_error *err);
/* RG_ENOMEM drops the chunk (nothing of it is emitted: better a gap in a
 * log than a secret in it). */
rg_err rg_secrets_stream_feed(rg_secrets_stream *st, const char *p, size_t n, rg_error *err);
/* The end of the output: emits what was held back. */
void rg_secrets_stream_flush(rg_secrets_stream *st);
/* Wipes what is held back, then frees. NULL is fine. */
void rg_secrets_stream_free(rg_secrets_stream *st);

#endif
