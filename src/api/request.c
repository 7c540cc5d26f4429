/* request.c — request bodies with a size limit and strict JSON input.
 * Pure functions: no I/O, no logging. Must never let an unknown field, a
 * value of the wrong type or an oversized body through to a handler. */
#include "api/request.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---- bodies ------------------------------------------------------------------ */

void rg_body_init(rg_body *b, size_t limit)
{
	memset(b, 0, sizeof *b);
	rg_strbuf_init(&b->text);
	b->limit = limit;
}

void rg_body_release(rg_body *b)
{
	rg_strbuf_release(&b->text);
}

static rg_err body_too_large(rg_body *b, rg_error *err)
{
	if (!b->too_large) {
		/* The body is rejected whole, so what arrived so far is useless. */
		rg_body_release(b);
		b->too_large = true;
	}
	return rg_fail(err, RG_ETOOLARGE, NULL, "request body is larger than %zu bytes", b->limit);
}

rg_err rg_body_append(rg_body *b, const char *data, size_t len, rg_error *err)
{
	if (b->too_large || len > b->limit - b->text.len)
		return body_too_large(b, err);
	if (rg_strbuf_add(&b->text, data, len))
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory for the request body");
	return RG_OK;
}

rg_err rg_body_check_length(const char *content_length, size_t limit, rg_error *err)
{
	if (!content_length)
		return RG_OK;
	size_t n = strlen(content_length);
	if (n == 0 || strspn(content_length, "0123456789") != n)
		return rg_fail(err, RG_EINVAL, "Content-Length", "malformed Content-Length");
	/* Compared as text first so a 40-digit length cannot overflow. */
	const char *digits = content_length + strspn(content_length, "0");
	if (strlen(digits) > 18 || (uint64_t)strtoll(digits, NULL, 10) > limit)
		return rg_fail(err, RG_ETOOLARGE, NULL, "request body is larger than %zu bytes",
			       limit);
	return RG_OK;
}

/* ---- integers and text ------------------------------------------------------- */

rg_err rg_parse_int(const char *s, int64_t min, int64_t max, const char *field, int64_t *out,
		    rg_error *err)
{
	size_t n = s ? strlen(s) : 0;
	bool ok = n > 0 && n <= 18 && strspn(s, "0123456789") == n && (s[0] != '0' || n == 1);
	int64_t v = ok ? strtoll(s, NULL, 10) : 0;
	if (!ok || v < min || v > max)
		return rg_fail(err, RG_EINVAL, field, "'%s' must be an integer from %lld to %lld",
			       field, (long long)min, (long long)max);
	*out = v;
	return RG_OK;
}

size_t rg_utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* ---- JSON -------------------------------------------------------------------- */

rg_err rg_json_parse_object(const char *body, size_t len, json_t **out, rg_error *err)
{
	size_t i = 0;
	while (i < len && isspace((unsigned char)body[i]))
		i++;
	if (i == len) {
		*out = json_object();
		return *out ? RG_OK : rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	}
	json_error_t je;
	json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!v)
		return rg_fail(err, RG_EINVAL, NULL, "invalid JSON at line %d, column %d: %s",
			       je.line, je.column, je.text);
	if (!json_is_object(v)) {
		json_decref(v);
		return rg_fail(err, RG_EINVAL, NULL, "request body must be a JSON object");
	}
	*out = v;
	return RG_OK;
}

static const rg_json_field *field_find(const rg_json_field *fields, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(fields[i].name, name) == 0)
			return &fields[i];
	return NULL;
}

static const char *kind_name(rg_json_kind k)
{
	switch (k) {
	case RG_JSON_STRING: return "a string";
	case RG_JSON_BOOL: return "true or false";
	case RG_JSON_INT: return "an integer";
	}
	return "?";
}

static bool kind_matches(rg_json_kind k, const json_t *v)
{
	switch (k) {
	case RG_JSON_STRING: return json_is_string(v);
	case RG_JSON_BOOL: return json_is_boolean(v);
	case RG_JSON_INT: return json_is_integer(v);
	}
	return false;
}

/* One present field: type, then length. */
static rg_err check_value(const rg_json_field *f, const json_t *v, rg_error *err)
{
	if (json_is_null(v) && !f->required)
		return RG_OK;
	if (!kind_matches(f->kind, v))
		return rg_fail(err, RG_EINVAL, f->name, "field '%s' must be %s", f->name,
			       kind_name(f->kind));
	if (f->kind == RG_JSON_STRING && f->max_chars &&
	    rg_utf8_chars(json_string_value(v)) > f->max_chars)
		return rg_fail(err, RG_EINVAL, f->name, "field '%s' is longer than %zu characters",
			       f->name, f->max_chars);
	return RG_OK;
}

rg_err rg_json_check(const json_t *obj, const rg_json_field *fields, size_t n, rg_error *err)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		const rg_json_field *f = field_find(fields, n, key);
		if (!f)
			return rg_fail(err, RG_EINVAL, key, "unknown field '%.64s'", key);
		rg_err rc = check_value(f, v, err);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < n; i++)
		if (fields[i].required && !json_object_get(obj, fields[i].name))
			return rg_fail(err, RG_EINVAL, fields[i].name, "missing field '%s'",
				       fields[i].name);
	return RG_OK;
}

rg_err rg_json_parse_checked(const char *body, size_t len, const rg_json_field *fields,
			     size_t n, json_t **out, rg_error *err)
{
	json_t *obj = NULL;
	*out = NULL;
	rg_err rc = rg_json_parse_object(body, len, &obj, err);
	if (rc)
		return rc;
	rc = rg_json_check(obj, fields, n, err);
	if (rc) {
		json_decref(obj);
		return rc;
	}
	*out = obj;
	return RG_OK;
}

const char *rg_json_get_str(const json_t *obj, const char *name)
{
	return json_string_value(json_object_get(obj, name));
}

bool rg_json_get_bool(const json_t *obj, const char *name)
{
	return json_is_true(json_object_get(obj, name));
}

int64_t rg_json_get_int(const json_t *obj, const char *name)
{
	return (int64_t)json_integer_value(json_object_get(obj, name));
}
