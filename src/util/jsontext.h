/* jsontext.h — strings from outside (step outputs, names, logs) as JSON
 * values. jansson refuses bytes that are not UTF-8; such a string is shown
 * with those bytes as '?' rather than dropped or failing the whole answer. */
#ifndef RG_UTIL_JSONTEXT_H
#define RG_UTIL_JSONTEXT_H

#include <jansson.h>

/* A new reference; json_null() for NULL; NULL only when out of memory. */
json_t *rg_json_text(const char *s);
/* The same, and json_null() for "". */
json_t *rg_json_text_or_null(const char *s);

#endif
