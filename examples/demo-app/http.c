/* http.c — demo-app's HTTP/1.1: request heads in, answers out. Parsing is
 * strict and bounded; what it cannot frame for sure (chunked bodies, two
 * different lengths) is refused and the connection closed, never guessed. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "demo-app.h"

#define MAX_HEADERS 100

static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Offset just past the blank line ending the head, or 0 if not there yet.
 * Bare LF line ends are accepted, as most servers do. */
static size_t head_end(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if (i + 1 < n && p[i + 1] == '\n')
			return i + 2;
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* The line starting at p, without its CR LF; *next is the following line. */
static size_t line_len(const char *p, const char *lim, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(lim - p));
	size_t n = (size_t)(nl - p);
	*next = nl + 1;
	return (n > 0 && p[n - 1] == '\r') ? n - 1 : n;
}

static bool parse_version(const char *v, size_t n, struct demo_request *req, int *status)
{
	if (n == 8 && memcmp(v, "HTTP/1.1", 8) == 0) {
		req->keep_alive = true;
		return true;
	}
	if (n == 8 && memcmp(v, "HTTP/1.0", 8) == 0) {
		req->keep_alive = false;
		return true;
	}
	if (n == 8 && memcmp(v, "HTTP/", 5) == 0 && v[6] == '.' &&
	    v[5] >= '0' && v[5] <= '9' && v[7] >= '0' && v[7] <= '9')
		*status = 505;
	return false;
}

static bool parse_request_line(const char *p, size_t n, struct demo_request *req, int *status)
{
	const char *sp1 = memchr(p, ' ', n);
	if (!sp1 || sp1 == p || sp1 - p > 16)
		return false;
	for (const char *c = p; c < sp1; c++)
		if (!is_tchar((unsigned char)*c))
			return false;
	const char *t = sp1 + 1, *lim = p + n;
	const char *sp2 = memchr(t, ' ', (size_t)(lim - t));
	if (!sp2 || sp2 == t || (*t != '/' && !(sp2 - t == 1 && *t == '*')))
		return false;
	for (const char *c = t; c < sp2; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return false;
	req->method = p;
	req->method_len = (size_t)(sp1 - p);
	req->path = t;
	req->path_len = 0;
	while (t + req->path_len < sp2 && t[req->path_len] != '?' && t[req->path_len] != '#')
		req->path_len++;
	return parse_version(sp2 + 1, (size_t)(lim - sp2 - 1), req, status);
}

/* Connection: a comma-separated list of tokens, any case. */
static void parse_connection(const char *v, size_t n, struct demo_request *req)
{
	while (n > 0) {
		const char *comma = memchr(v, ',', n);
		size_t len = comma ? (size_t)(comma - v) : n;
		size_t a = 0, b = len;
		while (a < b && (v[a] == ' ' || v[a] == '\t'))
			a++;
		while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
			b--;
		if (b - a == 5 && strncasecmp(v + a, "close", 5) == 0)
			req->keep_alive = false;
		else if (b - a == 10 && strncasecmp(v + a, "keep-alive", 10) == 0)
			req->keep_alive = true;
		if (!comma)
			break;
		n -= len + 1;
		v = comma + 1;
	}
}

static bool parse_length(const char *v, size_t n, uint64_t *out)
{
	if (n == 0 || n > 18)
		return false;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*out = x;
	return true;
}

struct head_state {
	bool has_length, chunked;
	int connection_seen;
};

/* One header line; only the headers that decide framing matter here. */
static bool parse_header(const char *p, size_t n, struct demo_request *req, struct head_state *st)
{
	const char *colon = memchr(p, ':', n);
	if (!colon || colon == p)
		return false;   /* also rejects obsolete line folding */
	for (const char *c = p; c < colon; c++)
		if (!is_tchar((unsigned char)*c))
			return false;
	size_t name_len = (size_t)(colon - p);
	const char *v = colon + 1, *lim = p + n;
	while (v < lim && (*v == ' ' || *v == '\t'))
		v++;
	while (lim > v && (lim[-1] == ' ' || lim[-1] == '\t'))
		lim--;
	for (const char *c = v; c < lim; c++)
		if (((unsigned char)*c < ' ' && *c != '\t') || *c == 0x7f)
			return false;
	size_t vn = (size_t)(lim - v);
	if (name_len == 14 && strncasecmp(p, "content-length", 14) == 0) {
		uint64_t len;
		if (!parse_length(v, vn, &len) || (st->has_length && len != req->body_len))
			return false;
		st->has_length = true;
		req->body_len = len;
	} else if (name_len == 17 && strncasecmp(p, "transfer-encoding", 17) == 0) {
		st->chunked = true;
	} else if (name_len == 10 && strncasecmp(p, "connection", 10) == 0) {
		parse_connection(v, vn, req);
	}
	return true;
}

long http_parse(const char *buf, size_t len, struct demo_request *req, int *status)
{
	size_t skip = 0;   /* stray CR LF between requests is allowed (RFC 9112 §2.2) */
	while (skip < len && (buf[skip] == '\r' || buf[skip] == '\n'))
		skip++;
	size_t end = head_end(buf + skip, len - skip);
	if (end == 0)
		return 0;
	memset(req, 0, sizeof *req);
	*status = 400;
	const char *p = buf + skip, *lim = p + end, *next;
	size_t n = line_len(p, lim, &next);
	if (!parse_request_line(p, n, req, status))
		return -1;
	struct head_state st = { 0 };
	for (int count = 0;; count++) {
		p = next;
		n = line_len(p, lim, &next);
		if (n == 0)
			break;
		if (count == MAX_HEADERS || !parse_header(p, n, req, &st))
			return -1;
	}
	if (st.chunked) {
		/* Without chunked decoding the body cannot be framed: refuse. */
		*status = st.has_length ? 400 : 501;
		return -1;
	}
	return (long)(skip + end);
}

static bool path_is(const struct demo_request *req, const char *path)
{
	return req->path_len == strlen(path) && memcmp(req->path, path, req->path_len) == 0;
}

static bool method_is(const struct demo_request *req, const char *m)
{
	return req->method_len == strlen(m) && memcmp(req->method, m, req->method_len) == 0;
}

static void set_text(struct demo_response *res, int status, const char *text)
{
	res->status = status;
	res->content_type = "text/plain; charset=utf-8";
	res->body = text;
	res->body_len = strlen(text);
}

/* splitmix64 over a shared request counter: the n-th GET / gets the same
 * verdict for the same seed, whichever thread serves it. */
static bool inject_fault(const struct demo_opts *o)
{
	static atomic_uint_fast64_t counter;
	if (o->error_rate <= 0)
		return false;
	uint64_t z = o->seed + (atomic_fetch_add(&counter, 1) + 1) * 0x9E3779B97F4A7C15ull;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	z ^= z >> 31;
	return (double)(z >> 11) * 0x1.0p-53 < o->error_rate;
}

/* The first injected fault is logged once with the wall-clock time in µs,
 * so a demo or a bench can measure from the first bad answer to the moment
 * traffic left this release. */
static void note_first_fault(const struct demo_opts *o)
{
	static atomic_bool logged;
	if (atomic_exchange(&logged, true))
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "demo-app %s: first injected fault at %lld us\n", o->version,
		(long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	fflush(stderr);
}

static void route_root(const struct demo_opts *o, struct demo_response *res)
{
	res->delay_ms = o->latency_ms;
	if (inject_fault(o)) {
		note_first_fault(o);
		set_text(res, 500, "{\"error\":\"injected fault\"}\n");
		res->content_type = "application/json";
		return;
	}
	int n = snprintf(res->small, sizeof res->small,
			 "{\"service\":\"demo-app\",\"version\":\"%s\"}\n", o->version);
	res->status = 200;
	res->content_type = "application/json";
	res->body = res->small;
	res->body_len = (size_t)n;   /* version is at most 64 chars: always fits */
}

static void route_metrics(const struct demo_opts *o, struct demo_response *res)
{
	res->owned = metrics_render(o->version, &res->body_len);
	if (!res->owned) {
		set_text(res, 500, "out of memory\n");
		return;
	}
	res->status = 200;
	res->content_type = "text/plain; version=0.0.4; charset=utf-8";
	res->body = res->owned;
}

void http_route(const struct demo_opts *o, const struct demo_request *req,
		struct demo_response *res)
{
	memset(res, 0, sizeof *res);
	bool head = method_is(req, "HEAD");
	bool known = path_is(req, "/") || path_is(req, "/health") || path_is(req, "/metrics");
	res->head_only = head;
	if (!known) {
		set_text(res, 404, "not found\n");
	} else if (!head && !method_is(req, "GET")) {
		set_text(res, 405, "method not allowed\n");
		res->allow = "GET, HEAD";
	} else if (path_is(req, "/")) {
		route_root(o, res);
	} else if (path_is(req, "/health")) {
		if (o->fail_health)
			set_text(res, 503, "unhealthy\n");
		else
			set_text(res, 200, "ok\n");
	} else {
		route_metrics(o, res);
	}
}

void http_error(int status, struct demo_response *res)
{
	memset(res, 0, sizeof *res);
	switch (status) {
	case 413: set_text(res, 413, "request body too large\n"); break;
	case 501: set_text(res, 501, "transfer-encoding not supported\n"); break;
	case 505: set_text(res, 505, "http version not supported\n"); break;
	default:  set_text(res, 400, "bad request\n"); break;
	}
	res->close = true;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Content Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default:  return "Unknown";
	}
}

char *http_format(const struct demo_response *res, bool keep_alive, size_t *len)
{
	char head[512], allow[64] = "";
	if (res->allow)
		snprintf(allow, sizeof allow, "Allow: %s\r\n", res->allow);
	int n = snprintf(head, sizeof head,
			 "HTTP/1.1 %d %s\r\nServer: demo-app\r\nContent-Type: %s\r\n"
			 "Content-Length: %zu\r\n%sConnection: %s\r\n\r\n",
			 res->status, reason(res->status), res->content_type, res->body_len,
			 allow, keep_alive ? "keep-alive" : "close");
	size_t body = res->head_only ? 0 : res->body_len;
	char *out = malloc((size_t)n + body);
	if (!out)
		return NULL;
	memcpy(out, head, (size_t)n);
	if (body)
		memcpy(out + n, res->body, body);
	*len = (size_t)n + body;
	return out;
}

void http_response_release(struct demo_response *res)
{
	free(res->owned);
	res->owned = NULL;
}
