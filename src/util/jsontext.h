/* jsontext.h — strings from outside (step outputs, names, logs) as JSON
 * values. jansson refuses bytes that are not UTF-8; such a string is shown
 * with those bytes as '?' rather than dropped or failing the whole answer. */
#ifndef RG_UTIL_JSONTEXT_H
#define RG_UTIL_JSONTEXT_H

#include <jansson.h>
#include <stdint.h>

/* A new reference; json_null() for NULL; NULL only when out of memory. */
json_t *rg_json_text(const char *s);
/* The same, and json_null() for "". */
json_t *rg_json_text_or_null(const char *s);
/* ISO-8601 UTC of ms since the epoch, or null for 0 ("never"). */
json_t *rg_json_time_or_null(int64_t ms);

/* before, v as compact JSON (an object or array), then after, in one new
 * string the caller frees; *len (if not NULL) gets its length. NULL when out
 * of memory or v cannot be encoded. For bodies and frames: "...\n",
 * "data: ...\n\n". */
char *rg_json_frame(const json_t *v, const char *before, const char *after, size_t *len);

#endif
