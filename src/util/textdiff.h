/* textdiff.h — a unified diff of two texts (`config diff`), and the masking
 * of values whose keys look secret, line by line, before anything is shown.
 * Pure: no I/O. */
#ifndef RG_TEXTDIFF_H
#define RG_TEXTDIFF_H

#include <stddef.h>

#include "util/err.h"
#include "util/strbuf.h"

#define RG_DIFF_MAX_LINES 20000

/* Appends to out the unified diff (3 lines of context) from a to b, with
 * "--- from" / "+++ to" headers; nothing when they are equal. NULL texts
 * are empty. RG_ETOOLARGE beyond RG_DIFF_MAX_LINES lines. */
rg_err rg_text_diff(const char *a, const char *b, const char *from, const char *to,
		    rg_strbuf *out, rg_error *err);

/* A copy of text (caller frees) where, in each `KEY=value`, `export
 * KEY=value` or `key: value` line, the value is *** when the key looks
 * secret (password, secret, token, key, credential, private…) or is one
 * of extra[0..n) (case-insensitive). NULL when out of memory. */
char *rg_mask_secret_values(const char *text, const char *const *extra, size_t n);

#endif
