/* prometheus.c — one number from a Prometheus server: an instant query
 * (GET /api/v1/query) through the loop's rg_http, and the strict reading of
 * its answer. It must never turn an error, an empty or ambiguous answer, or
 * NaN into a value: all of those are no data, with the reason. */
#include "analysis/prometheus.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUERY_PATH   "/api/v1/query?query="
#define ANSWER_LIMIT (256 * 1024)   /* one sample is ~200 bytes; past this it is not one */
#define QUOTE_MAX    300            /* bytes of Prometheus' own words kept in a why */

struct rg_prom_query {
	rg_http_req *req;
	rg_prom_done_fn done;
	void *ctx;
};

/* ---- the answer ----------------------------------------------------------- */

/* Prometheus' words as they may appear in a why: control characters
 * replaced, cut on a UTF-8 boundary. */
static void quote(const char *s, char *out, size_t size)
{
	size_t n = strlen(s);
	bool cut = n > QUOTE_MAX;
	if (cut) {
		n = QUOTE_MAX;
		while (n && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	size_t room = size > 4 ? size - 4 : 0;   /* "…" and the NUL */
	if (n > room)
		n = room;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		out[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	snprintf(out + n, size - n, "%s", cut ? "…" : "");
}

/* A sample is [ <unix time>, "<value>" ]; the value is Go's formatting of a
 * float64: "1.5", "1e+06", "+Inf", "-Inf", "NaN", all of which strtod reads.
 * ±Inf is a value (a ratio over zero requests, say); NaN is no data. */
static bool read_sample(json_t *pair, double *value, char *why, size_t size)
{
	const char *s = json_string_value(json_array_get(pair, 1));
	if (!json_is_array(pair) || json_array_size(pair) != 2 || !s) {
		snprintf(why, size, "malformed sample in the answer");
		return false;
	}
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end || (errno == ERANGE && !isinf(v))) {
		char q[64];
		quote(s, q, sizeof q);
		snprintf(why, size, "sample value '%s' is not a number", q);
		return false;
	}
	if (isnan(v)) {
		snprintf(why, size, "sample is NaN");
		return false;
	}
	*value = v;
	return true;
}

static bool read_vector(json_t *result, double *value, char *why, size_t size)
{
	if (!json_is_array(result)) {
		snprintf(why, size, "malformed vector in the answer");
		return false;
	}
	size_t n = json_array_size(result);
	if (n == 0) {
		snprintf(why, size, "no sample");
		return false;
	}
	if (n > 1) {
		snprintf(why, size, "%zu series (the query must give one)", n);
		return false;
	}
	json_t *sample = json_array_get(result, 0);
	json_t *pair = json_object_get(sample, "value");
	if (!pair && json_object_get(sample, "histogram")) {
		snprintf(why, size, "sample is a native histogram (the query must give a number)");
		return false;
	}
	return read_sample(pair, value, why, size);
}

static bool read_error(json_t *root, char *why, size_t size)
{
	const char *type = json_string_value(json_object_get(root, "errorType"));
	const char *error = json_string_value(json_object_get(root, "error"));
	char qt[64], qe[QUOTE_MAX + 8];
	quote(type ? type : "", qt, sizeof qt);
	quote(error ? error : "no reason given", qe, sizeof qe);
	if (type && type[0])
		snprintf(why, size, "query failed: %s: %s", qt, qe);
	else
		snprintf(why, size, "query failed: %s", qe);
	return false;
}

static bool read_answer(json_t *root, double *value, char *why, size_t size)
{
	const char *status = json_string_value(json_object_get(root, "status"));
	if (!json_is_object(root) || !status) {
		snprintf(why, size, "answer is not a Prometheus query result");
		return false;
	}
	if (strcmp(status, "error") == 0)
		return read_error(root, why, size);
	if (strcmp(status, "success") != 0) {
		char q[64];
		quote(status, q, sizeof q);
		snprintf(why, size, "answer has status '%s'", q);
		return false;
	}
	json_t *data = json_object_get(root, "data");
	const char *type = json_string_value(json_object_get(data, "resultType"));
	json_t *result = json_object_get(data, "result");
	if (!type || !result) {
		snprintf(why, size, "answer is not a Prometheus query result");
		return false;
	}
	if (strcmp(type, "vector") == 0)
		return read_vector(result, value, why, size);
	if (strcmp(type, "scalar") == 0)
		return read_sample(result, value, why, size);
	char q[64];
	quote(type, q, sizeof q);
	snprintf(why, size, "result type '%s' (the query must give one sample)", q);
	return false;
}

bool rg_prom_parse(const char *body, size_t len, double *value, char *why, size_t size)
{
	char dummy[1];
	if (!why || size == 0) {
		why = dummy;
		size = sizeof dummy;
	}
	why[0] = '\0';
	json_error_t jerr;
	json_t *root = json_loadb(body ? body : "", body ? len : 0, 0, &jerr);
	if (!root) {
		snprintf(why, size, "answer is not JSON: %s", jerr.text);
		return false;
	}
	double v = 0;
	bool ok = read_answer(root, &v, why, size);
	json_decref(root);
	if (ok) {
		why[0] = '\0';
		if (value)
			*value = v;
	}
	return ok;
}

/* An HTTP error from Prometheus (400 bad_data, 422 execution, 503
 * timeout…) still carries its JSON reason, worth quoting; a proxy or a
 * wrong path answers something else, and then the status says enough. */
static void http_error_why(const rg_http_result *res, char *why, size_t size)
{
	json_t *root = json_loadb(res->body, res->body_len, 0, NULL);
	const char *error = json_string_value(json_object_get(root, "error"));
	if (error) {
		char q[QUOTE_MAX + 8];
		quote(error, q, sizeof q);
		snprintf(why, size, "query failed: HTTP %ld: %s", res->status, q);
	} else {
		snprintf(why, size, "query failed: HTTP %ld", res->status);
	}
	json_decref(root);
}

/* ---- the query on the loop ------------------------------------------------ */

static void judge(const rg_http_result *res, bool *has, double *value, char *why, size_t size)
{
	*has = false;
	if (res->rc == RG_HTTP_ETIMEOUT)
		snprintf(why, size, "%s", res->message);
	else if (res->rc != RG_OK)
		snprintf(why, size, "query failed: %s", res->message);
	else if (res->status != 200)
		http_error_why(res, why, size);
	else if (res->truncated)
		snprintf(why, size, "answer over %d KiB (the query must give one series)",
			 ANSWER_LIMIT / 1024);
	else
		*has = rg_prom_parse(res->body, res->body_len, value, why, size);
}

/* The callback comes last (after q is freed), so it may start, cancel or
 * free anything. */
static void on_answer(const rg_http_result *res, void *ctx)
{
	rg_prom_query *q = ctx;
	bool has;
	double value = 0;
	char why[512];
	judge(res, &has, &value, why, sizeof why);
	rg_prom_done_fn done = q->done;
	void *done_ctx = q->ctx;
	free(q);
	done(done_ctx, has, has ? value : 0, has ? "" : why);
}

static void on_dropped(void *ctx)
{
	free(ctx);
}

static bool unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* server (without trailing slashes) + QUERY_PATH + the query with every
 * byte but RFC 3986's unreserved ones percent-encoded. */
static char *query_url(const char *server, const char *query)
{
	size_t slen = strlen(server);
	while (slen && server[slen - 1] == '/')
		slen--;
	size_t qlen = strlen(query);
	char *url = malloc(slen + sizeof QUERY_PATH + 3 * qlen);
	if (!url)
		return NULL;
	memcpy(url, server, slen);
	char *p = url + slen;
	memcpy(p, QUERY_PATH, sizeof QUERY_PATH - 1);
	p += sizeof QUERY_PATH - 1;
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < qlen; i++) {
		unsigned char c = (unsigned char)query[i];
		if (unreserved(c)) {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p = '\0';
	return url;
}

rg_err rg_prom_query_start(rg_http *h, const char *server, const char *query, int64_t timeout_ms,
			   rg_prom_done_fn done, void *ctx, rg_prom_query **out, rg_error *err)
{
	if (!h || !server || !query || !done)
		return rg_fail(err, RG_EINVAL, NULL, "prometheus: missing argument");
	if (!query[0])
		return rg_fail(err, RG_EINVAL, "query", "prometheus: empty query");
	rg_prom_query *q = calloc(1, sizeof *q);
	char *url = query_url(server, query);
	if (!q || !url) {
		free(q);
		free(url);
		return rg_fail(err, RG_ENOMEM, NULL, "prometheus: out of memory");
	}
	q->done = done;
	q->ctx = ctx;
	static const char *const headers[] = { "Accept: application/json", NULL };
	rg_http_opts o = {
		.url = url,
		.timeout_ms = timeout_ms,
		.body_limit = ANSWER_LIMIT,
		.headers = headers,
		.dropped = on_dropped,
	};
	rg_error e = { 0 };
	rg_err rc = rg_http_get(h, &o, on_answer, q, &q->req, &e);
	free(url);   /* curl keeps its own copy */
	if (rc) {
		free(q);
		return rg_fail(err, rc, e.field[0] ? "metrics.prometheus" : NULL, "prometheus: %s",
			       e.message);
	}
	if (out)
		*out = q;
	return RG_OK;
}

void rg_prom_query_cancel(rg_prom_query *q)
{
	if (!q)
		return;
	rg_http_cancel(q->req);
	free(q);
}
