/* request.h — what the API accepts as input: bodies and strict JSON.
 * Pure functions without I/O. A body is kept up to a limit; JSON must be one
 * object whose fields all appear in the handler's field table, with the right
 * types. Nothing here may accept input it does not understand. */
#ifndef RG_API_REQUEST_H
#define RG_API_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/strbuf.h"

#define RG_BODY_MAX (64 * 1024)

/* A request body being received. */
typedef struct rg_body {
	rg_strbuf text;   /* owned; what arrived, "" until something did */
	size_t limit;     /* most bytes kept */
	bool too_large;   /* more than limit arrived: data is incomplete, reject */
} rg_body;

void rg_body_init(rg_body *b, size_t limit);
/* Appends len bytes. Past the limit the body is marked too_large, nothing
 * more is kept and RG_ETOOLARGE is returned (also for every later call). */
rg_err rg_body_append(rg_body *b, const char *data, size_t len, rg_error *err);
void rg_body_release(rg_body *b);
/* RG_ETOOLARGE ("request body is larger than 65536 bytes") for a declared
 * Content-Length (may be NULL) above limit, RG_EINVAL for a malformed one. */
rg_err rg_body_check_length(const char *content_length, size_t limit, rg_error *err);

typedef enum { RG_JSON_STRING = 0, RG_JSON_BOOL, RG_JSON_INT } rg_json_kind;

/* One accepted field of a JSON object. */
typedef struct rg_json_field {
	const char *name;
	rg_json_kind kind;
	bool required;
	size_t max_chars;   /* strings: most UTF-8 characters; 0 = no limit */
} rg_json_field;

/* Parses len bytes as one JSON object, rejecting duplicate keys; an empty
 * (or all-whitespace) body is {}. Malformed JSON is RG_EINVAL naming
 * line and column. *out is owned by the caller. */
rg_err rg_json_parse_object(const char *body, size_t len, json_t **out, rg_error *err);
/* Checks obj against fields: the first unknown field, field of the wrong
 * type, missing required field or too long string is RG_EINVAL with
 * err->field set to its name. null counts as absent for optional fields. */
rg_err rg_json_check(const json_t *obj, const rg_json_field *fields, size_t n, rg_error *err);
/* rg_json_parse_object then rg_json_check; *out is NULL on failure. */
rg_err rg_json_parse_checked(const char *body, size_t len, const rg_json_field *fields,
			     size_t n, json_t **out, rg_error *err);

/* Accessors for fields that passed rg_json_check: absent or null give
 * NULL / false / 0. */
const char *rg_json_get_str(const json_t *obj, const char *name);
bool rg_json_get_bool(const json_t *obj, const char *name);
int64_t rg_json_get_int(const json_t *obj, const char *name);

/* Parses a plain decimal integer in [min, max]: digits only, no sign, space
 * or leading zero. RG_EINVAL naming field otherwise. */
rg_err rg_parse_int(const char *s, int64_t min, int64_t max, const char *field, int64_t *out,
		    rg_error *err);
/* Characters of a UTF-8 string (continuation bytes are not counted). */
size_t rg_utf8_chars(const char *s);

#endif
