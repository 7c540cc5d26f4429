/* test_http1.c — the proxy's strict HTTP/1.1 parser and body framer.
 * Every smuggling defence of docs/proxy-parsing.md has a test here, and every
 * valid message is also fed byte by byte and in every two-way split: the
 * parser must reach the same answer however the bytes arrive. Buffers handed
 * to the parser are exact-size heap copies, so ASan catches any read past
 * the bytes given. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/http1.h"

/* ---- helpers ----------------------------------------------------------------- */

/* An exact-size heap copy: reading one byte past n is an ASan error. */
static char *copy(const char *s, size_t n)
{
	char *c = malloc(n ? n : 1);
	cr_assert_not_null(c);
	memcpy(c, s, n);
	return c;
}

static rg_h1_status parse_n(rg_h1_parser *p, bool response, const char *s, size_t n)
{
	if (response)
		rg_h1_response_init(p, NULL, false);
	else
		rg_h1_request_init(p, NULL);
	char *c = copy(s, n);
	rg_h1_status st = rg_h1_parse(p, c, n);
	free(c);
	return st;
}

static rg_h1_parser P; /* each test runs in its own process */

static rg_h1_status req(const char *s)
{
	return parse_n(&P, false, s, strlen(s));
}

static rg_h1_status resp(const char *s)
{
	return parse_n(&P, true, s, strlen(s));
}

/* Feeds s[0..n) growing one piece at a time, at the given cut points, each
 * call on a fresh exact-size copy (so the buffer "moves" every time). */
static rg_h1_status parse_cuts(rg_h1_parser *p, bool response, const char *s, size_t n,
			       const size_t *cuts, size_t ncuts)
{
	if (response)
		rg_h1_response_init(p, NULL, false);
	else
		rg_h1_request_init(p, NULL);
	rg_h1_status st = RG_H1_AGAIN;
	for (size_t i = 0; i <= ncuts && st == RG_H1_AGAIN; i++) {
		size_t len = i < ncuts ? cuts[i] : n;
		char *c = copy(s, len);
		st = rg_h1_parse(p, c, len);
		free(c);
	}
	return st;
}

static rg_h1_status parse_bytewise(rg_h1_parser *p, bool response, const char *s, size_t n)
{
	size_t *cuts = malloc(n * sizeof *cuts + 1);
	for (size_t i = 0; i < n; i++)
		cuts[i] = i;
	rg_h1_status st = parse_cuts(p, response, s, n, cuts, n);
	free(cuts);
	return st;
}

static bool slice_eq(rg_h1_slice a, rg_h1_slice b)
{
	return a.off == b.off && a.len == b.len;
}

static void assert_same_head(const rg_h1_head *a, const rg_h1_head *b, const char *what)
{
	cr_assert_eq(a->head_len, b->head_len, "%s: head_len", what);
	cr_assert_eq(a->version_minor, b->version_minor, "%s: version", what);
	cr_assert(slice_eq(a->method, b->method), "%s: method", what);
	cr_assert(slice_eq(a->target, b->target), "%s: target", what);
	cr_assert(slice_eq(a->host, b->host), "%s: host", what);
	cr_assert(slice_eq(a->authority, b->authority), "%s: authority", what);
	cr_assert(slice_eq(a->path, b->path), "%s: path", what);
	cr_assert(slice_eq(a->reason, b->reason), "%s: reason", what);
	cr_assert_eq(a->status, b->status, "%s: status", what);
	cr_assert_eq(a->body, b->body, "%s: body", what);
	cr_assert_eq(a->content_length, b->content_length, "%s: content_length", what);
	cr_assert_eq(a->keep_alive, b->keep_alive, "%s: keep_alive", what);
	cr_assert_eq(a->expect_continue, b->expect_continue, "%s: expect", what);
	cr_assert_eq(a->nheaders, b->nheaders, "%s: nheaders", what);
	for (uint32_t i = 0; i < a->nheaders; i++) {
		cr_assert(slice_eq(a->headers[i].name, b->headers[i].name), "%s: name %u", what, i);
		cr_assert(slice_eq(a->headers[i].value, b->headers[i].value), "%s: value %u", what, i);
		cr_assert_eq(a->headers[i].field, b->headers[i].field, "%s: field %u", what, i);
	}
}

/* Whole, byte by byte and every two-way split give the same answer. */
static void assert_split_invariant(bool response, const char *s)
{
	size_t n = strlen(s);
	static rg_h1_parser whole, part;
	rg_h1_status want = parse_n(&whole, response, s, n);
	rg_h1_status got = parse_bytewise(&part, response, s, n);
	cr_assert_eq(got, want, "byte by byte: %s, whole: %s", rg_h1_status_name(got),
		     rg_h1_status_name(want));
	if (want == RG_H1_DONE)
		assert_same_head(&whole.head, &part.head, "byte by byte");
	for (size_t k = 1; k < n; k++) {
		got = parse_cuts(&part, response, s, n, &k, 1);
		cr_assert_eq(got, want, "split at %zu: %s, whole: %s", k, rg_h1_status_name(got),
			     rg_h1_status_name(want));
		if (want == RG_H1_DONE)
			assert_same_head(&whole.head, &part.head, "two-way split");
	}
}

static bool slice_is(const char *buf, rg_h1_slice s, const char *want)
{
	return s.len == strlen(want) && !memcmp(buf + s.off, want, s.len);
}

#define assert_slice(buf, s, want) \
	cr_assert(slice_is(buf, s, want), "expected '%s', got '%.*s'", want, (int)(s).len, (buf) + (s).off)

/* ---- valid requests ---------------------------------------------------------- */

static const char *const valid_requests[] = {
	"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
	"POST /api/v1/items?x=1&y=%20 HTTP/1.1\r\nHost: a.test:8080\r\nContent-Type: application/json\r\n"
	"Content-Length: 13\r\nX-Request-Id: abc\r\n\r\n",
	"PUT /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
	"\r\n\r\nGET /x HTTP/1.0\r\nConnection: keep-alive\r\nUser-Agent:  spaced  \t\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET http://Example.com:80/p?q HTTP/1.1\r\nHost: example.COM:80\r\nEmpty:\r\n\r\n",
};

Test(http1_request, simple_get)
{
	const char *s = "GET /index.html?a=b HTTP/1.1\r\nHost: example.com\r\nAccept:   */*  \r\n"
			"X-Forwarded-For: 10.0.0.1\r\n\r\n";
	cr_assert_eq(req(s), RG_H1_DONE);
	rg_h1_head *h = &P.head;
	assert_slice(s, h->method, "GET");
	assert_slice(s, h->target, "/index.html?a=b");
	assert_slice(s, h->path, "/index.html?a=b");
	assert_slice(s, h->host, "example.com");
	cr_assert_eq(h->target_form, RG_H1_TARGET_ORIGIN);
	cr_assert_eq(h->version_minor, 1);
	cr_assert_eq(h->body, RG_H1_BODY_NONE);
	cr_assert(h->keep_alive);
	cr_assert_not(h->is_head);
	cr_assert_not(h->expect_continue);
	cr_assert_eq(h->head_len, strlen(s));
	cr_assert_eq(h->nheaders, 3);
	assert_slice(s, h->headers[1].name, "Accept");
	assert_slice(s, h->headers[1].value, "*/*");
	cr_assert_eq(h->headers[0].field, RG_H1_F_HOST);
	cr_assert_eq(h->headers[1].field, RG_H1_F_OTHER);
	cr_assert_eq(h->headers[2].field, RG_H1_F_X_FORWARDED_FOR);
	cr_assert_eq(rg_h1_find(h, RG_H1_F_X_FORWARDED_FOR, 0), 2);
	cr_assert_eq(rg_h1_find(h, RG_H1_F_X_FORWARDED_FOR, 3), -1);
	cr_assert_eq(rg_h1_find(h, RG_H1_F_COOKIE, 0), -1);
}

Test(http1_request, stops_at_the_end_of_the_head)
{
	const char *s = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n";
	cr_assert_eq(req(s), RG_H1_DONE);
	cr_assert_eq(P.head.body, RG_H1_BODY_LENGTH);
	cr_assert_eq(P.head.content_length, 5);
	cr_assert_eq(P.head.head_len, strlen("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n"));
}

Test(http1_request, incomplete_is_again_and_done_is_sticky)
{
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost: h\r\n"), RG_H1_AGAIN);
	cr_assert_eq(req(""), RG_H1_AGAIN);
	const char *s = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
	cr_assert_eq(req(s), RG_H1_DONE);
	cr_assert_eq(rg_h1_parse(&P, s, strlen(s)), RG_H1_DONE);
	cr_assert_eq(req("GET / HTTP/1.1\n"), RG_H1_E_BARE_LF);
	cr_assert_eq(rg_h1_parse(&P, s, strlen(s)), RG_H1_E_BARE_LF, "errors are sticky");
}

Test(http1_request, field_ids_are_case_insensitive)
{
	const char *s = "GET / HTTP/1.1\r\nhOsT: h\r\nCONTENT-length: 0\r\nx-ROLLGUARD-release: canary\r\n"
			"X-Request-ID: r\r\nx-forwarded-proto: http\r\nCookie: a=b\r\nTE: trailers\r\n"
			"Keep-Alive: 5\r\nProxy-Connection: x\r\nTrailer: y\r\nHostx: no\r\n\r\n";
	cr_assert_eq(req(s), RG_H1_DONE);
	uint8_t want[] = { RG_H1_F_HOST, RG_H1_F_CONTENT_LENGTH, RG_H1_F_X_ROLLGUARD_RELEASE,
			   RG_H1_F_X_REQUEST_ID, RG_H1_F_X_FORWARDED_PROTO, RG_H1_F_COOKIE, RG_H1_F_TE,
			   RG_H1_F_KEEP_ALIVE, RG_H1_F_PROXY_CONNECTION, RG_H1_F_TRAILER, RG_H1_F_OTHER };
	cr_assert_eq(P.head.nheaders, sizeof want);
	for (size_t i = 0; i < sizeof want; i++)
		cr_assert_eq(P.head.headers[i].field, want[i], "header %zu", i);
	cr_assert(rg_h1_field_hop_by_hop(RG_H1_F_TE));
	cr_assert(rg_h1_field_hop_by_hop(RG_H1_F_CONNECTION));
	cr_assert_not(rg_h1_field_hop_by_hop(RG_H1_F_HOST));
	cr_assert_not(rg_h1_field_hop_by_hop(RG_H1_F_X_REQUEST_ID));
}

Test(http1_request, keep_alive_rules)
{
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), RG_H1_DONE);
	cr_assert(P.head.keep_alive, "1.1 defaults to keep-alive");
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"), RG_H1_DONE);
	cr_assert_not(P.head.keep_alive);
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost: h\r\nConnection: x-foo, CLOSE\r\n\r\n"), RG_H1_DONE);
	cr_assert_not(P.head.keep_alive, "close anywhere in the list");
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost: h\r\nConnection: x\r\nConnection: close\r\n\r\n"),
		     RG_H1_DONE);
	cr_assert_not(P.head.keep_alive, "close in a second Connection field");
	cr_assert_eq(req("GET / HTTP/1.0\r\n\r\n"), RG_H1_DONE);
	cr_assert_not(P.head.keep_alive, "1.0 defaults to close");
	cr_assert_eq(P.head.version_minor, 0);
	cr_assert_eq(req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), RG_H1_DONE);
	cr_assert(P.head.keep_alive);
	cr_assert_eq(req("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"), RG_H1_DONE);
	cr_assert_not(P.head.keep_alive);
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost: h\r\nConnection: closed\r\n\r\n"), RG_H1_DONE);
	cr_assert(P.head.keep_alive, "'closed' is not 'close'");
}

Test(http1_request, leading_empty_lines_are_skipped)
{
	const char *s = "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
	cr_assert_eq(req(s), RG_H1_DONE);
	cr_assert_eq(P.head.method.off, 4);
	cr_assert_eq(P.head.head_len, strlen(s));
	cr_assert_eq(req("\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), RG_H1_E_BARE_LF);
}

Test(http1_request, is_head)
{
	cr_assert_eq(req("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n"), RG_H1_DONE);
	cr_assert(P.head.is_head);
	cr_assert_eq(req("HEADX / HTTP/1.1\r\nHost: h\r\n\r\n"), RG_H1_DONE);
	cr_assert_not(P.head.is_head);
	cr_assert_eq(req("head / HTTP/1.1\r\nHost: h\r\n\r\n"), RG_H1_DONE, "methods are case-sensitive tokens");
	cr_assert_not(P.head.is_head);
}

Test(http1_request, absolute_form)
{
	const char *s = "GET http://example.com:8080/a/b?c HTTP/1.1\r\nHost: EXAMPLE.com:8080\r\n\r\n";
	cr_assert_eq(req(s), RG_H1_DONE);
	cr_assert_eq(P.head.target_form, RG_H1_TARGET_ABSOLUTE);
	assert_slice(s, P.head.authority, "example.com:8080");
	assert_slice(s, P.head.path, "/a/b?c");
	s = "GET HTTPS://h HTTP/1.1\r\nHost: h\r\n\r\n";
	cr_assert_eq(req(s), RG_H1_DONE);
	assert_slice(s, P.head.authority, "h");
	cr_assert_eq(P.head.path.len, 0);
	s = "GET http://h?q=1 HTTP/1.1\r\nHost: h\r\n\r\n";
	cr_assert_eq(req(s), RG_H1_DONE);
	assert_slice(s, P.head.path, "?q=1");
	cr_assert_eq(req("GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n"), RG_H1_E_HOST, "host differs");
	cr_assert_eq(req("GET http://a/ HTTP/1.1\r\n\r\n"), RG_H1_E_HOST, "1.1 still needs Host");
	cr_assert_eq(req("GET http://a/ HTTP/1.0\r\n\r\n"), RG_H1_DONE);
	cr_assert_eq(req("GET http://u:p@a/ HTTP/1.1\r\nHost: a\r\n\r\n"), RG_H1_E_TARGET, "userinfo");
	cr_assert_eq(req("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n"), RG_H1_E_TARGET, "empty authority");
	cr_assert_eq(req("GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n"), RG_H1_E_TARGET);
	cr_assert_eq(req("GET a.com/x HTTP/1.1\r\nHost: a\r\n\r\n"), RG_H1_E_TARGET);
	cr_assert_eq(req("GET http:// HTTP/1.1\r\nHost: a\r\n\r\n"), RG_H1_E_TARGET);
}

Test(http1_request, asterisk_form_only_for_options)
{
	cr_assert_eq(req("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), RG_H1_DONE);
	cr_assert_eq(P.head.target_form, RG_H1_TARGET_ASTERISK);
	cr_assert_eq(req("GET * HTTP/1.1\r\nHost: h\r\n\r\n"), RG_H1_E_TARGET);
	cr_assert_eq(req("OPTIONS *x HTTP/1.1\r\nHost: h\r\n\r\n"), RG_H1_E_TARGET);
}

Test(http1_request, expect)
{
	cr_assert_eq(req("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nExpect: 100-Continue\r\n\r\n"),
		     RG_H1_DONE);
	cr_assert(P.head.expect_continue);
	cr_assert_eq(req("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n"), RG_H1_E_EXPECT);
	cr_assert_eq(rg_h1_http_status(RG_H1_E_EXPECT), 417);
	cr_assert_eq(req("PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n"), RG_H1_DONE);
	cr_assert_not(P.head.expect_continue, "HTTP/1.0 expectations are ignored");
}

Test(http1_request, upgrade_and_connect_are_refused)
{
	cr_assert_eq(req("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"),
		     RG_H1_E_UPGRADE);
	cr_assert_eq(rg_h1_http_status(RG_H1_E_UPGRADE), 501);
	cr_assert_eq(req("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n"), RG_H1_E_CONNECT);
	cr_assert_eq(rg_h1_http_status(RG_H1_E_CONNECT), 501);
	cr_assert_str_eq(rg_h1_reason(RG_H1_E_CONNECT), "CONNECT not supported");

	rg_h1_limits lim;
	rg_h1_limits_default(&lim);
	lim.ignore_upgrade = true;
	const char *s = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\n\r\n";
	rg_h1_request_init(&P, &lim);
	cr_assert_eq(rg_h1_parse(&P, s, strlen(s)), RG_H1_DONE);
	cr_assert(P.head.upgrade);
}

static rg_h1_status req_tunnel(const char *s)
{
	rg_h1_limits lim;
	rg_h1_limits_default(&lim);
	lim.allow_upgrade = true;
	rg_h1_request_init(&P, &lim);
	char *c = copy(s, strlen(s));
	rg_h1_status st = rg_h1_parse(&P, c, strlen(s));
	free(c);
	return st;
}

Test(http1_request, upgrade_allowed_needs_connection_upgrade)
{
	cr_assert_eq(req_tunnel("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\n"
				"Upgrade: websocket\r\nSec-WebSocket-Key: x\r\n\r\n"),
		     RG_H1_DONE);
	cr_assert(P.head.tunnel);
	cr_assert(P.head.upgrade);
	cr_assert_eq(P.head.body, RG_H1_BODY_NONE);
	cr_assert_eq(req_tunnel("GET /ws HTTP/1.1\r\nHost: h\r\nconnection: UPGRADE\r\nupgrade: websocket\r\n\r\n"),
		     RG_H1_DONE);
	cr_assert(P.head.tunnel, "names and options compare case-insensitively");
	cr_assert_eq(req_tunnel("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n"), RG_H1_DONE);
	cr_assert_not(P.head.tunnel, "Upgrade without the Connection option is ignored");
	cr_assert(P.head.upgrade);
	cr_assert_eq(req_tunnel("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: close\r\nConnection: upgrade\r\n"
				"Upgrade: websocket\r\n\r\n"),
		     RG_H1_DONE);
	cr_assert(P.head.tunnel, "the option may sit in a second Connection field");
	cr_assert_eq(req_tunnel("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: upgraded\r\nUpgrade: websocket\r\n\r\n"),
		     RG_H1_DONE);
	cr_assert_not(P.head.tunnel, "a longer token is not the option");
	cr_assert_eq(req_tunnel("GET /ws HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"),
		     RG_H1_DONE);
	cr_assert_not(P.head.tunnel, "HTTP/1.0 has no protocol switch");
	cr_assert_eq(req_tunnel("POST /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: h2c\r\n"
				"Content-Length: 3\r\n\r\nabc"),
		     RG_H1_DONE);
	cr_assert_not(P.head.tunnel, "a switch with a body is ignored");
	cr_assert_eq(P.head.body, RG_H1_BODY_LENGTH);
	cr_assert_eq(req_tunnel("POST /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: h2c\r\n"
				"Transfer-Encoding: chunked\r\n\r\n"),
		     RG_H1_DONE);
	cr_assert_not(P.head.tunnel);
	cr_assert_eq(req_tunnel("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: websocket\r\n"
				"Content-Length: 0\r\n\r\n"),
		     RG_H1_DONE);
	cr_assert(P.head.tunnel, "an empty body is no body");
	cr_assert_eq(req_tunnel("GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n"), RG_H1_DONE);
	cr_assert_not(P.head.tunnel, "the option without Upgrade asks for nothing");
	cr_assert_eq(req_tunnel("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n"), RG_H1_E_CONNECT);
	cr_assert_eq(req("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"),
		     RG_H1_E_UPGRADE, "without allow_upgrade it is still refused");
}

Test(http1_response, switching_protocols_only_when_asked)
{
	const char *ok = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			 "Sec-WebSocket-Accept: y\r\n\r\n\x81\x02hi";
	rg_h1_response_init(&P, NULL, false);
	P.upgrade_asked = true;
	cr_assert_eq(rg_h1_parse(&P, ok, strlen(ok)), RG_H1_DONE);
	cr_assert(P.head.tunnel);
	cr_assert_eq(P.head.status, 101);
	cr_assert_eq(P.head.body, RG_H1_BODY_NONE);
	cr_assert_not(P.head.keep_alive, "the connection is no longer HTTP");
	cr_assert_eq(P.head.head_len, strlen(ok) - 4, "the frame after the head is left alone");

	const char *bare = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n";
	rg_h1_response_init(&P, NULL, false);
	P.upgrade_asked = true;
	cr_assert_eq(rg_h1_parse(&P, bare, strlen(bare)), RG_H1_E_UPGRADE, "a 101 must say what to");
	cr_assert_eq(resp(ok), RG_H1_E_UPGRADE, "a 101 nobody asked for");

	const char *refused = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
	rg_h1_response_init(&P, NULL, false);
	P.upgrade_asked = true;
	cr_assert_eq(rg_h1_parse(&P, refused, strlen(refused)), RG_H1_DONE);
	cr_assert_not(P.head.tunnel, "a backend may decline: plain HTTP goes on");
	cr_assert(P.head.keep_alive);
}

Test(http1_request, host_rules)
{
	cr_assert_eq(req("GET / HTTP/1.1\r\n\r\n"), RG_H1_E_HOST, "1.1 without Host");
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), RG_H1_E_HOST, "two Hosts");
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost:\r\n\r\n"), RG_H1_E_HOST, "empty Host");
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), RG_H1_E_HOST);
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), RG_H1_E_HOST);
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"), RG_H1_E_HOST);
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), RG_H1_DONE);
	cr_assert_eq(req("GET / HTTP/1.0\r\n\r\n"), RG_H1_DONE, "1.0 may omit Host");
	cr_assert_eq(P.head.host.len, 0);
}

Test(http1_request, request_line_shape)
{
	cr_assert_eq(req("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), RG_H1_E_REQUEST_LINE);
	cr_assert_eq(req("GET /  HTTP/1.1\r\nHost: h\r\n\r\n"), RG_H1_E_REQUEST_LINE);
	cr_assert_eq(req("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n"), RG_H1_E_REQUEST_LINE);
	cr_assert_eq(req("GET /\tHTTP/1.1\r\nHost: h\r\n\r\n"), RG_H1_E_REQUEST_LINE);
	cr_assert_eq(req(" GET / HTTP/1.1\r\nHost: h\r\n\r\n"), RG_H1_E_REQUEST_LINE);
	cr_assert_eq(req("GET /\r\n\r\n"), RG_H1_E_REQUEST_LINE, "HTTP/0.9");
	cr_assert_eq(req("GET\r\n\r\n"), RG_H1_E_REQUEST_LINE);
	cr_assert_eq(req("GET / HTTP/1.1 \r\nHost: h\r\n\r\n"), RG_H1_E_REQUEST_LINE);
	cr_assert_eq(req("GET / http/1.1\r\nHost: h\r\n\r\n"), RG_H1_E_REQUEST_LINE);
	cr_assert_eq(req("GET / HTTP/1.10\r\nHost: h\r\n\r\n"), RG_H1_E_REQUEST_LINE);
	cr_assert_eq(req("GET / HTTP/1\r\nHost: h\r\n\r\n"), RG_H1_E_REQUEST_LINE);
	cr_assert_eq(req("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), RG_H1_E_VERSION);
	cr_assert_eq(req("GET / HTTP/1.2\r\nHost: h\r\n\r\n"), RG_H1_E_VERSION);
	cr_assert_eq(req("GET / HTTP/0.9\r\nHost: h\r\n\r\n"), RG_H1_E_VERSION);
	cr_assert_eq(rg_h1_http_status(RG_H1_E_VERSION), 505);
}

Test(http1_request, method_must_be_a_token)
{
	cr_assert_eq(req("G(T / HTTP/1.1\r\nHost: h\r\n\r\n"), RG_H1_E_METHOD);
	cr_assert_eq(req("GE\x01T / HTTP/1.1\r\nHost: h\r\n\r\n"), RG_H1_E_METHOD);
	cr_assert_eq(req("G\xc3\xa9T / HTTP/1.1\r\nHost: h\r\n\r\n"), RG_H1_E_METHOD);
	cr_assert_eq(req("GET/ / HTTP/1.1\r\nHost: h\r\n\r\n"), RG_H1_E_METHOD);
	cr_assert_eq(req("M-SEARCH / HTTP/1.1\r\nHost: h\r\n\r\n"), RG_H1_DONE, "extension methods pass");
}

Test(http1_request, target_bytes)
{
	cr_assert_eq(req("GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n"), RG_H1_E_TARGET);
	cr_assert_eq(req("GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n"), RG_H1_E_TARGET);
	cr_assert_eq(req("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n"), RG_H1_E_TARGET);
	cr_assert_eq(req("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n"), RG_H1_E_TARGET);
	cr_assert_eq(req("GET /a%20b|{}\"<> HTTP/1.1\r\nHost: h\r\n\r\n"), RG_H1_DONE,
		     "printable ASCII is forwarded as received");
}

/* ---- smuggling defences ------------------------------------------------------ */

Test(http1_smuggling, content_length_and_transfer_encoding)
{
	cr_assert_eq(req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
		     RG_H1_E_CL_AND_TE);
	cr_assert_eq(req("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
		     RG_H1_E_CL_AND_TE);
	cr_assert_eq(req("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n"),
		     RG_H1_E_CL_AND_TE);
	cr_assert_eq(rg_h1_http_status(RG_H1_E_CL_AND_TE), 400);
}

Test(http1_smuggling, duplicate_content_length)
{
	cr_assert_eq(req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
		     RG_H1_E_DUP_CONTENT_LENGTH);
	cr_assert_eq(req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n"),
		     RG_H1_E_DUP_CONTENT_LENGTH, "identical duplicates too");
	cr_assert_eq(req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\n"),
		     RG_H1_E_DUP_CONTENT_LENGTH);
	cr_assert_eq(req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5,5\r\n\r\n"),
		     RG_H1_E_DUP_CONTENT_LENGTH);
	cr_assert_eq(req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5,\r\n\r\n"),
		     RG_H1_E_DUP_CONTENT_LENGTH);
}

Test(http1_smuggling, content_length_must_be_digits)
{
	const char *bad[] = { "+5", "-1", "5 5", "0x5", "", "5a", " ", "5.0", "\xd9\xa5",
			      "9223372036854775808", "18446744073709551616", "99999999999999999999999" };
	char s[256];
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(s, sizeof s, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %s\r\n\r\n", bad[i]);
		cr_assert_eq(req(s), RG_H1_E_CONTENT_LENGTH, "'%s': %s", bad[i], rg_h1_status_name(req(s)));
	}
	cr_assert_eq(req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775807\r\n\r\n"),
		     RG_H1_DONE);
	cr_assert_eq(P.head.content_length, UINT64_C(9223372036854775807));
	cr_assert_eq(req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:  007 \r\n\r\n"), RG_H1_DONE);
	cr_assert_eq(P.head.content_length, 7);
	cr_assert_eq(req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"), RG_H1_DONE);
	cr_assert_eq(P.head.body, RG_H1_BODY_LENGTH);
	cr_assert_eq(P.head.content_length, 0);
}

Test(http1_smuggling, transfer_encoding_exactly_chunked)
{
	const char *bad[] = { "gzip", "chunked, chunked", "gzip, chunked", "chunked, gzip", ", chunked",
			      "identity", "chunkedx", "xchunked", "chunked;q=1", "", "\"chunked\"",
			      "chu nked" };
	char s[256];
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(s, sizeof s, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: %s\r\n\r\n", bad[i]);
		cr_assert_eq(req(s), RG_H1_E_TRANSFER_ENCODING, "'%s': %s", bad[i], rg_h1_status_name(req(s)));
	}
	cr_assert_eq(req("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\x0b\r\n\r\n"),
		     RG_H1_E_HEADER_VALUE, "a control byte is caught before the coding is read");
	cr_assert_eq(req("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
		     RG_H1_E_TRANSFER_ENCODING, "two fields");
	cr_assert_eq(req("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), RG_H1_E_TRANSFER_ENCODING,
		     "chunked in HTTP/1.0");
	cr_assert_eq(req("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:  CHUNKED \r\n\r\n"), RG_H1_DONE);
	cr_assert_eq(P.head.body, RG_H1_BODY_CHUNKED);
}

Test(http1_smuggling, whitespace_before_colon)
{
	cr_assert_eq(req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length : 5\r\n\r\n"), RG_H1_E_HEADER_NAME_WS);
	cr_assert_eq(req("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding\t: chunked\r\n\r\n"),
		     RG_H1_E_HEADER_NAME_WS);
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), RG_H1_E_HEADER_NAME_WS);
}

Test(http1_smuggling, obs_fold)
{
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n"), RG_H1_E_OBS_FOLD);
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n\tb\r\n\r\n"), RG_H1_E_OBS_FOLD);
	cr_assert_eq(req("GET / HTTP/1.1\r\n Host: h\r\n\r\n"), RG_H1_E_OBS_FOLD, "first field line");
	cr_assert_eq(req("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n chunked\r\n\r\n"),
		     RG_H1_E_TRANSFER_ENCODING);
}

Test(http1_smuggling, bare_lf)
{
	cr_assert_eq(req("GET / HTTP/1.1\nHost: h\r\n\r\n"), RG_H1_E_BARE_LF);
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost: h\n\r\n"), RG_H1_E_BARE_LF);
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost: h\r\n\n"), RG_H1_E_BARE_LF);
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost: h\r\nX: a\nContent-Length: 5\r\n\r\n"), RG_H1_E_BARE_LF);
	cr_assert_eq(resp("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"), RG_H1_E_BARE_LF);
}

Test(http1_smuggling, bare_cr)
{
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost: h\r\nX: a\rContent-Length: 5\r\n\r\n"), RG_H1_E_BARE_CR);
	cr_assert_eq(req("GET /\r HTTP/1.1\r\nHost: h\r\n\r\n"), RG_H1_E_BARE_CR);
	cr_assert_eq(req("GET / HTTP/1.1\r\r\nHost: h\r\n\r\n"), RG_H1_E_BARE_CR);
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost: h\r\r\n\r\n"), RG_H1_E_BARE_CR);
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost: h\r\n\r\r\n"), RG_H1_E_BARE_CR);
}

Test(http1_smuggling, control_bytes_in_values)
{
	const char ctl[] = { 0x00, 0x01, 0x08, 0x0b, 0x0c, 0x1f, 0x7f };
	char s[128];
	for (size_t i = 0; i < sizeof ctl; i++) {
		int n = snprintf(s, sizeof s, "GET / HTTP/1.1\r\nHost: h\r\nX-A: a?b\r\n\r\n");
		char *q = memchr(s, '?', (size_t)n);
		*q = ctl[i];
		cr_assert_eq(parse_n(&P, false, s, (size_t)n), RG_H1_E_HEADER_VALUE, "byte 0x%02x", ctl[i]);
	}
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\tb \xc3\xa9\r\n\r\n"), RG_H1_DONE,
		     "HTAB and obs-text are allowed");
}

/* Every byte as the middle of a header name: accepted exactly when it is a
 * tchar of RFC 9110 §5.6.2; whitespace has its own error. */
Test(http1_smuggling, header_name_bytes)
{
	const char *tchar = "!#$%&'*+-.^_`|~";
	for (int c = 0; c < 256; c++) {
		if (c == ':' || c == '\r' || c == '\n')
			continue;
		char s[64];
		int n = snprintf(s, sizeof s, "GET / HTTP/1.1\r\nHost: h\r\naXb: v\r\n\r\n");
		*(char *)memchr(s, 'X', (size_t)n) = (char)c;
		bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c && strchr(tchar, c));
		rg_h1_status want = ok ? RG_H1_DONE :
				    c == ' ' || c == '\t' ? RG_H1_E_HEADER_NAME_WS : RG_H1_E_HEADER_NAME;
		cr_assert_eq(parse_n(&P, false, s, (size_t)n), want, "byte 0x%02x", c);
	}
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n"), RG_H1_E_HEADER_NAME, "empty name");
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n"), RG_H1_E_HEADER_NAME);
}

Test(http1_smuggling, host_bytes)
{
	const char *allowed = "-._~!$&'()*+,;=%[]:";
	for (int c = 1; c < 256; c++) {
		if (c == '\r' || c == '\n' || c == ' ' || c == '\t')
			continue;
		char s[64];
		int n = snprintf(s, sizeof s, "GET / HTTP/1.1\r\nHost: aXb\r\n\r\n");
		*(char *)memchr(s, 'X', (size_t)n) = (char)c;
		bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  strchr(allowed, c);
		rg_h1_status st = parse_n(&P, false, s, (size_t)n);
		if (ok)
			cr_assert_eq(st, RG_H1_DONE, "byte 0x%02x", c);
		else
			cr_assert(st == RG_H1_E_HOST || st == RG_H1_E_HEADER_VALUE, "byte 0x%02x: %s", c,
				  rg_h1_status_name(st));
	}
}

/* ---- limits -------------------------------------------------------------------- */

/* A request whose request line (CRLF included) is exactly n bytes. */
static char *long_request_line(size_t n)
{
	const char *rest = "Host: h\r\n\r\n";
	char *s = malloc(n + strlen(rest) + 1);
	size_t fixed = strlen("GET / HTTP/1.1\r\n");
	memcpy(s, "GET /", 5);
	memset(s + 5, 'a', n - fixed);
	strcpy(s + 5 + (n - fixed), " HTTP/1.1\r\n");
	strcat(s, rest);
	return s;
}

Test(http1_limits, request_line)
{
	char *s = long_request_line(8192);
	cr_assert_eq(req(s), RG_H1_DONE, "8192 bytes with CRLF is the limit");
	free(s);
	s = long_request_line(8193);
	cr_assert_eq(req(s), RG_H1_E_REQUEST_LINE_TOO_LONG);
	cr_assert_eq(parse_bytewise(&P, false, s, strlen(s)), RG_H1_E_REQUEST_LINE_TOO_LONG);
	cr_assert_eq(rg_h1_http_status(RG_H1_E_REQUEST_LINE_TOO_LONG), 414);
	/* decided as soon as the limit is reached without an LF */
	cr_assert_eq(parse_n(&P, false, s, 8191), RG_H1_AGAIN);
	cr_assert_eq(parse_n(&P, false, s, 8192), RG_H1_E_REQUEST_LINE_TOO_LONG);
	free(s);
}

Test(http1_limits, header_block)
{
	/* request line 16 bytes, then one big header and the final CRLF */
	size_t block = 16384;
	char *s = malloc(16 + block + 64);
	strcpy(s, "GET / HTTP/1.1\r\nHost: h\r\nX: ");
	size_t used = strlen("Host: h\r\nX: ") + 2 + 2; /* its CRLF, the final CRLF */
	size_t fill = block - used;
	memset(s + strlen(s), 'v', fill);
	strcpy(s + 16 + strlen("Host: h\r\nX: ") + fill, "\r\n\r\n");
	cr_assert_eq(strlen(s), 16 + block);
	cr_assert_eq(req(s), RG_H1_DONE, "16384 bytes of header block is the limit");
	free(s);
	s = malloc(16 + block + 64);
	strcpy(s, "GET / HTTP/1.1\r\nHost: h\r\nX: ");
	memset(s + strlen(s), 'v', fill + 1);
	strcpy(s + 16 + strlen("Host: h\r\nX: ") + fill + 1, "\r\n\r\n");
	cr_assert_eq(req(s), RG_H1_E_HEADERS_TOO_LARGE);
	cr_assert_eq(parse_bytewise(&P, false, s, strlen(s)), RG_H1_E_HEADERS_TOO_LARGE);
	cr_assert_eq(rg_h1_http_status(RG_H1_E_HEADERS_TOO_LARGE), 431);
	free(s);
}

static char *many_headers(int n)
{
	char *s = malloc(64 + (size_t)n * 16);
	strcpy(s, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (int i = 1; i < n; i++)
		sprintf(s + strlen(s), "X-%d: %d\r\n", i, i);
	strcat(s, "\r\n");
	return s;
}

Test(http1_limits, header_count)
{
	char *s = many_headers(100);
	cr_assert_eq(req(s), RG_H1_DONE);
	cr_assert_eq(P.head.nheaders, 100);
	free(s);
	s = many_headers(101);
	cr_assert_eq(req(s), RG_H1_E_TOO_MANY_HEADERS);
	cr_assert_eq(rg_h1_http_status(RG_H1_E_TOO_MANY_HEADERS), 431);
	rg_h1_limits lim;
	rg_h1_limits_default(&lim);
	lim.max_headers = 5;
	rg_h1_request_init(&P, &lim);
	cr_assert_eq(rg_h1_parse(&P, s, strlen(s)), RG_H1_E_TOO_MANY_HEADERS);
	lim.max_headers = 1000; /* cut to the array's capacity */
	rg_h1_request_init(&P, &lim);
	cr_assert_eq(rg_h1_parse(&P, s, strlen(s)), RG_H1_E_TOO_MANY_HEADERS);
	free(s);
}

Test(http1_limits, configured_lower)
{
	rg_h1_limits lim;
	rg_h1_limits_default(&lim);
	lim.max_request_line = 16;
	lim.max_header_block = 11;
	const char *s = "GET / HTTP/1.1\r\nHost: h\r\n\r\n"; /* 16 + 11 */
	rg_h1_request_init(&P, &lim);
	cr_assert_eq(rg_h1_parse(&P, s, strlen(s)), RG_H1_DONE);
	lim.max_header_block = 10;
	rg_h1_request_init(&P, &lim);
	cr_assert_eq(rg_h1_parse(&P, s, strlen(s)), RG_H1_E_HEADERS_TOO_LARGE);
	lim.max_request_line = 15;
	rg_h1_request_init(&P, &lim);
	cr_assert_eq(rg_h1_parse(&P, s, strlen(s)), RG_H1_E_REQUEST_LINE_TOO_LONG);
}

Test(http1_limits, every_status_has_a_name_and_reason)
{
	for (int st = 0; st < RG_H1_STATUS_COUNT; st++) {
		cr_assert(rg_h1_reason(st) && *rg_h1_reason(st), "status %d", st);
		cr_assert(rg_h1_status_name(st) && *rg_h1_status_name(st), "status %d", st);
		for (int o = 0; o < st; o++)
			cr_assert_str_neq(rg_h1_status_name(st), rg_h1_status_name(o));
		int http = rg_h1_http_status(st);
		cr_assert(st <= RG_H1_AGAIN ? http == 0 : http >= 400 && http <= 505, "status %d", st);
	}
	cr_assert_str_eq(rg_h1_reason(RG_H1_STATUS_COUNT), "unknown");
}

/* ---- splits ------------------------------------------------------------------ */

Test(http1_split, valid_requests_any_split)
{
	for (size_t i = 0; i < sizeof valid_requests / sizeof *valid_requests; i++) {
		cr_assert_eq(req(valid_requests[i]), RG_H1_DONE, "request %zu: %s", i,
			     rg_h1_status_name(req(valid_requests[i])));
		assert_split_invariant(false, valid_requests[i]);
	}
}

Test(http1_split, errors_any_split)
{
	const char *bad[] = {
		"GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\n\r\n",
		"GET / HTTP/2.0\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_split_invariant(false, bad[i]);
}

Test(http1_split, responses_any_split)
{
	assert_split_invariant(true, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nServer: x\r\n\r\nabc");
	assert_split_invariant(true, "HTTP/1.0 404 Not Found\r\n\r\n");
	assert_split_invariant(true, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
}

/* ---- bodies --------------------------------------------------------------------- */

#define OUT_MAX 8192

typedef struct body_out {
	char payload[OUT_MAX];
	size_t payload_len;
	char verbatim[OUT_MAX]; /* framing and data: what a proxy forwards */
	size_t verbatim_len;
	char trailers[OUT_MAX];
	size_t trailers_len;
	size_t consumed;
	int spans;
} body_out;

static void out_add(char *dst, size_t *len, const char *src, size_t n)
{
	cr_assert_leq(*len + n, OUT_MAX);
	memcpy(dst + *len, src, n);
	*len += n;
}

/* Drives a framer over in[0..len) as a connection would: bytes "arrive"
 * step at a time; bytes the framer holds back stay in the buffer. Each call
 * sees an exact-size copy. Returns DONE when the body ended, AGAIN when the
 * input ran out first, or the error. */
static rg_h1_status run_body(rg_h1_body *b, const char *in, size_t len, size_t step, body_out *o)
{
	memset(o, 0, sizeof *o);
	size_t pos = 0, avail = step < len ? step : len;
	while (!rg_h1_body_done(b)) {
		rg_h1_span span;
		char *c = copy(in + pos, avail - pos);
		rg_h1_status st = rg_h1_body_feed(b, c, avail - pos, &span);
		if (st == RG_H1_DONE) {
			cr_assert_leq(span.len, avail - pos);
			cr_assert(span.len > 0 || span.end);
			if (span.kind == RG_H1_SPAN_DATA)
				out_add(o->payload, &o->payload_len, c, span.len);
			if (span.kind == RG_H1_SPAN_TRAILER)
				out_add(o->trailers, &o->trailers_len, c, span.len);
			else
				out_add(o->verbatim, &o->verbatim_len, c, span.len);
			cr_assert_eq(span.end, rg_h1_body_done(b));
			pos += span.len;
			o->spans++;
		}
		free(c);
		if (st > RG_H1_AGAIN)
			return st;
		if (st == RG_H1_AGAIN || pos == avail) {
			if (avail == len) {
				o->consumed = pos;
				return rg_h1_body_done(b) ? RG_H1_DONE : RG_H1_AGAIN;
			}
			avail = avail + step < len ? avail + step : len;
		}
	}
	o->consumed = pos;
	return RG_H1_DONE;
}

static rg_h1_head chunked_head(void)
{
	rg_h1_head h;
	memset(&h, 0, sizeof h);
	h.body = RG_H1_BODY_CHUNKED;
	return h;
}

static rg_h1_status chunked(const char *in, size_t step, body_out *o)
{
	rg_h1_head h = chunked_head();
	rg_h1_body b;
	rg_h1_body_init(&b, &h, NULL);
	return run_body(&b, in, strlen(in), step, o);
}

static const char chunked_body[] =
	"5;name=value;q=\"x y\"\r\nhello\r\n"
	"1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
	"3 ; ext\r\n, !\r\n"
	"0;last\r\n"
	"Checksum: abc\r\n"
	"X-Trailer:  two \r\n"
	"\r\n"
	"GET /next HTTP/1.1\r\n";

Test(http1_chunked, extensions_and_trailers_any_step)
{
	size_t body_len = strlen(chunked_body) - strlen("GET /next HTTP/1.1\r\n");
	for (size_t step = 1; step <= strlen(chunked_body); step++) {
		body_out o;
		cr_assert_eq(chunked(chunked_body, step, &o), RG_H1_DONE, "step %zu", step);
		cr_assert_eq(o.consumed, body_len, "step %zu: stops at the end of the body", step);
		cr_assert_eq(o.payload_len, 34);
		cr_assert(!memcmp(o.payload, "helloabcdefghijklmnopqrstuvwxyz, !", 34));
		cr_assert_eq(o.trailers_len, strlen("Checksum: abc\r\nX-Trailer:  two \r\n"));
		cr_assert(!memcmp(o.trailers, "Checksum: abc\r\nX-Trailer:  two \r\n", o.trailers_len));
		/* forwarding framing + data verbatim is a valid chunked body */
		cr_assert_eq(o.verbatim_len + o.trailers_len, body_len);
		cr_assert(!memcmp(o.verbatim + o.verbatim_len - 10, "0;last\r\n\r\n", 10));
		body_out again;
		char v[OUT_MAX + 1];
		memcpy(v, o.verbatim, o.verbatim_len);
		v[o.verbatim_len] = '\0';
		cr_assert_eq(chunked(v, o.verbatim_len, &again), RG_H1_DONE);
		cr_assert_eq(again.payload_len, 34);
		cr_assert_eq(again.consumed, o.verbatim_len);
	}
}

Test(http1_chunked, framing_is_handed_out_only_when_validated)
{
	rg_h1_head h = chunked_head();
	rg_h1_body b;
	rg_h1_span span;
	rg_h1_body_init(&b, &h, NULL);
	cr_assert_eq(rg_h1_body_feed(&b, "5;a=b", 5, &span), RG_H1_AGAIN);
	cr_assert_eq(rg_h1_body_feed(&b, "5;a=b\r", 6, &span), RG_H1_AGAIN);
	cr_assert_eq(rg_h1_body_feed(&b, "5;a=b\r\nhel", 10, &span), RG_H1_DONE);
	cr_assert_eq(span.kind, RG_H1_SPAN_FRAMING);
	cr_assert_eq(span.len, 7);
	cr_assert_eq(rg_h1_body_feed(&b, "hel", 3, &span), RG_H1_DONE);
	cr_assert_eq(span.kind, RG_H1_SPAN_DATA);
	cr_assert_eq(span.len, 3);
	cr_assert_eq(rg_h1_body_feed(&b, "lo\r\n0\r\n\r\n", 9, &span), RG_H1_DONE);
	cr_assert_eq(span.kind, RG_H1_SPAN_DATA);
	cr_assert_eq(span.len, 2);
	cr_assert_eq(rg_h1_body_feed(&b, "\r\n0\r\n\r\n", 7, &span), RG_H1_DONE);
	cr_assert_eq(span.kind, RG_H1_SPAN_FRAMING);
	cr_assert_eq(span.len, 7, "data CRLF, last chunk and the final CRLF in one span");
	cr_assert(span.end);
	cr_assert(rg_h1_body_done(&b));
	cr_assert_eq(b.payload, 5);
	cr_assert_eq(rg_h1_body_feed(&b, "x", 1, &span), RG_H1_DONE);
	cr_assert_eq(span.len, 0);
	cr_assert_eq(rg_h1_body_eof(&b), RG_H1_DONE);
}

static rg_h1_status chunked_err(const char *s)
{
	body_out o;
	rg_h1_status whole = chunked(s, strlen(s), &o);
	rg_h1_status bytewise = chunked(s, 1, &o);
	cr_assert_eq(whole, bytewise, "'%s': whole %s, byte by byte %s", s, rg_h1_status_name(whole),
		     rg_h1_status_name(bytewise));
	return whole;
}

Test(http1_chunked, bad_sizes)
{
	cr_assert_eq(chunked_err("g\r\n"), RG_H1_E_CHUNK_SIZE);
	cr_assert_eq(chunked_err("\r\n"), RG_H1_E_CHUNK_SIZE);
	cr_assert_eq(chunked_err("0x5\r\nhello\r\n0\r\n\r\n"), RG_H1_E_CHUNK_SIZE);
	cr_assert_eq(chunked_err("+5\r\n"), RG_H1_E_CHUNK_SIZE);
	cr_assert_eq(chunked_err("-5\r\n"), RG_H1_E_CHUNK_SIZE);
	cr_assert_eq(chunked_err(" 5\r\n"), RG_H1_E_CHUNK_SIZE);
	cr_assert_eq(chunked_err("5 \r\n"), RG_H1_E_CHUNK_SIZE, "trailing whitespace without extension");
	cr_assert_eq(chunked_err("5\t\r\n"), RG_H1_E_CHUNK_SIZE);
	cr_assert_eq(chunked_err("5 5\r\n"), RG_H1_E_CHUNK_SIZE);
	cr_assert_eq(chunked_err("10000000000000000\r\n"), RG_H1_E_CHUNK_SIZE, "2^64");
	cr_assert_eq(chunked_err("8000000000000000\r\n"), RG_H1_E_CHUNK_SIZE, "2^63");
	cr_assert_eq(chunked_err("ffffffffffffffffffff\r\n"), RG_H1_E_CHUNK_SIZE);
	cr_assert_eq(chunked_err("5\n"), RG_H1_E_BARE_LF);
	cr_assert_eq(chunked_err("5\rx\r\n"), RG_H1_E_BARE_CR);

	body_out o;
	cr_assert_eq(chunked("7fffffffffffffff\r\nabc", 100, &o), RG_H1_AGAIN, "2^63-1 is allowed");
	cr_assert_eq(o.payload_len, 3);
	cr_assert_eq(chunked("000000000005\r\nhello\r\n0\r\n\r\n", 3, &o), RG_H1_DONE, "leading zeros");
	cr_assert_eq(chunked("A\r\n0123456789\r\n0\r\n\r\n", 1, &o), RG_H1_DONE, "upper-case hex");
	cr_assert_eq(o.payload_len, 10);
}

Test(http1_chunked, extensions)
{
	body_out o;
	cr_assert_eq(chunked("5 ;a=b\r\nhello\r\n0 ;x\r\n\r\n", 1, &o), RG_H1_DONE, "BWS before ';'");
	cr_assert_eq(chunked_err("5;a\x01\r\n"), RG_H1_E_CHUNK_EXT);
	cr_assert_eq(chunked_err("5;a\x7f\r\n"), RG_H1_E_CHUNK_EXT);
	cr_assert_eq(chunked_err("5;\xc3\xa9\r\n"), RG_H1_E_CHUNK_EXT);
	cr_assert_eq(chunked_err("5;a\nb\r\n"), RG_H1_E_BARE_LF);

	/* 1024 bytes with CRLF is the limit */
	char s[2048];
	strcpy(s, "1;");
	memset(s + 2, 'e', 1020);
	strcpy(s + 1022, "\r\nx\r\n0\r\n\r\n");
	cr_assert_eq(chunked(s, 7, &o), RG_H1_DONE);
	strcpy(s, "1;");
	memset(s + 2, 'e', 1021);
	strcpy(s + 1023, "\r\nx\r\n0\r\n\r\n");
	cr_assert_eq(chunked_err(s), RG_H1_E_CHUNK_EXT);
	memset(s + 2, 'e', 2000);
	s[2002] = '\0';
	cr_assert_eq(chunked_err(s), RG_H1_E_CHUNK_EXT, "no CRLF at all");
}

Test(http1_chunked, data_must_end_in_crlf)
{
	cr_assert_eq(chunked_err("5\r\nhelloX\r\n0\r\n\r\n"), RG_H1_E_CHUNK_CRLF);
	cr_assert_eq(chunked_err("5\r\nhello\rX0\r\n\r\n"), RG_H1_E_CHUNK_CRLF);
	cr_assert_eq(chunked_err("5\r\nhello\n0\r\n\r\n"), RG_H1_E_CHUNK_CRLF);
	cr_assert_eq(chunked_err("5\r\nhello world\r\n0\r\n\r\n"), RG_H1_E_CHUNK_CRLF, "data longer than size");
}

Test(http1_chunked, trailers)
{
	cr_assert_eq(chunked_err("0\r\nbad trailer\r\n\r\n"), RG_H1_E_TRAILER);
	cr_assert_eq(chunked_err("0\r\nX: a\r\n b\r\n\r\n"), RG_H1_E_TRAILER, "folded trailer");
	cr_assert_eq(chunked_err("0\r\nX : a\r\n\r\n"), RG_H1_E_TRAILER);
	cr_assert_eq(chunked_err("0\r\nX: a\x01\r\n\r\n"), RG_H1_E_TRAILER);
	cr_assert_eq(chunked_err("0\r\nX: a\n\r\n"), RG_H1_E_BARE_LF);
	cr_assert_eq(chunked_err("0\r\n\n"), RG_H1_E_BARE_LF);

	char s[8192];
	strcpy(s, "0\r\nX: ");
	size_t fill = 4096 - strlen("X: ") - 4; /* the field's CRLF and the final CRLF */
	memset(s + 6, 'v', fill);
	strcpy(s + 6 + fill, "\r\n\r\n");
	body_out o;
	cr_assert_eq(chunked(s, 100, &o), RG_H1_DONE, "4096 bytes of trailers is the limit");
	memset(s + 6, 'v', fill + 1);
	strcpy(s + 6 + fill + 1, "\r\n\r\n");
	cr_assert_eq(chunked_err(s), RG_H1_E_TRAILER_TOO_LARGE);
	/* many small trailers count together */
	strcpy(s, "0\r\n");
	for (int i = 0; i < 500; i++)
		strcat(s, "T: 1234\r\n");
	strcat(s, "\r\n");
	cr_assert_eq(chunked_err(s), RG_H1_E_TRAILER_TOO_LARGE);
}

Test(http1_chunked, errors_are_sticky_and_eof_truncates)
{
	rg_h1_head h = chunked_head();
	rg_h1_body b;
	rg_h1_span span;
	rg_h1_body_init(&b, &h, NULL);
	cr_assert_eq(rg_h1_body_feed(&b, "z\r\n", 3, &span), RG_H1_E_CHUNK_SIZE);
	cr_assert_eq(rg_h1_body_feed(&b, "0\r\n\r\n", 5, &span), RG_H1_E_CHUNK_SIZE);
	rg_h1_body_init(&b, &h, NULL);
	cr_assert_eq(rg_h1_body_feed(&b, "5\r\nab", 5, &span), RG_H1_DONE);
	cr_assert_eq(rg_h1_body_eof(&b), RG_H1_E_TRUNCATED);
}

Test(http1_body, content_length)
{
	rg_h1_head h;
	memset(&h, 0, sizeof h);
	h.body = RG_H1_BODY_LENGTH;
	h.content_length = 10;
	rg_h1_body b;
	rg_h1_span span;
	rg_h1_body_init(&b, &h, NULL);
	cr_assert_eq(rg_h1_body_feed(&b, "", 0, &span), RG_H1_AGAIN);
	cr_assert_eq(rg_h1_body_feed(&b, "0123", 4, &span), RG_H1_DONE);
	cr_assert_eq(span.len, 4);
	cr_assert_eq(span.kind, RG_H1_SPAN_DATA);
	cr_assert_not(span.end);
	cr_assert_eq(rg_h1_body_eof(&b), RG_H1_E_TRUNCATED);
	rg_h1_body_init(&b, &h, NULL);
	cr_assert_eq(rg_h1_body_feed(&b, "0123456789GET", 13, &span), RG_H1_DONE);
	cr_assert_eq(span.len, 10, "never past the body");
	cr_assert(span.end);
	cr_assert(rg_h1_body_done(&b));
	h.content_length = 0;
	rg_h1_body_init(&b, &h, NULL);
	cr_assert(rg_h1_body_done(&b));
}

Test(http1_body, none_and_close)
{
	rg_h1_head h;
	memset(&h, 0, sizeof h);
	rg_h1_body b;
	rg_h1_span span;
	rg_h1_body_init(&b, &h, NULL);
	cr_assert(rg_h1_body_done(&b));
	cr_assert_eq(rg_h1_body_feed(&b, "GET", 3, &span), RG_H1_DONE);
	cr_assert_eq(span.len, 0);
	h.body = RG_H1_BODY_CLOSE;
	rg_h1_body_init(&b, &h, NULL);
	cr_assert_eq(rg_h1_body_feed(&b, "anything\r\n0\r\n", 13, &span), RG_H1_DONE);
	cr_assert_eq(span.len, 13);
	cr_assert_not(rg_h1_body_done(&b));
	cr_assert_eq(rg_h1_body_eof(&b), RG_H1_DONE);
	cr_assert(rg_h1_body_done(&b));
}

/* ---- pipelining ------------------------------------------------------------------ */

Test(http1_pipeline, three_requests_in_one_buffer)
{
	const char *s = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
			"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
			"PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n0\r\nT: 1\r\n\r\n"
			"DELETE /d HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
	const char *targets[] = { "/a", "/b", "/c", "/d" };
	const char *payloads[] = { "", "hello", "abc", "" };
	size_t len = strlen(s), pos = 0;
	for (int i = 0; i < 4; i++) {
		rg_h1_request_init(&P, NULL);
		cr_assert_eq(rg_h1_parse(&P, s + pos, len - pos), RG_H1_DONE, "request %d", i);
		assert_slice(s + pos, P.head.target, targets[i]);
		pos += P.head.head_len;
		rg_h1_body b;
		body_out o;
		rg_h1_body_init(&b, &P.head, NULL);
		cr_assert_eq(run_body(&b, s + pos, len - pos, len - pos, &o), RG_H1_DONE);
		cr_assert_eq(o.payload_len, strlen(payloads[i]));
		cr_assert(!memcmp(o.payload, payloads[i], o.payload_len));
		pos += o.consumed;
		cr_assert_eq(P.head.keep_alive, i < 3);
	}
	cr_assert_eq(pos, len);
}

/* ---- responses --------------------------------------------------------------------- */

Test(http1_response, framing)
{
	const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n";
	cr_assert_eq(resp(s), RG_H1_DONE);
	cr_assert_eq(P.head.status, 200);
	assert_slice(s, P.head.reason, "OK");
	cr_assert_eq(P.head.body, RG_H1_BODY_LENGTH);
	cr_assert_eq(P.head.content_length, 12);
	cr_assert(P.head.keep_alive);

	cr_assert_eq(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), RG_H1_DONE);
	cr_assert_eq(P.head.body, RG_H1_BODY_CHUNKED);
	cr_assert_eq(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"),
		     RG_H1_DONE, "codings across fields");
	cr_assert_eq(P.head.body, RG_H1_BODY_CHUNKED);
	cr_assert_eq(resp("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n"), RG_H1_DONE);
	cr_assert_eq(P.head.body, RG_H1_BODY_CLOSE);
	cr_assert_not(P.head.keep_alive, "close-delimited ends the connection");
}

Test(http1_response, no_body_statuses)
{
	int statuses[] = { 100, 103, 204, 304 };
	char s[128];
	for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++) {
		snprintf(s, sizeof s, "HTTP/1.1 %d X\r\nContent-Length: 100\r\n\r\n", statuses[i]);
		cr_assert_eq(resp(s), RG_H1_DONE);
		cr_assert_eq(P.head.body, RG_H1_BODY_NONE, "status %d", statuses[i]);
		cr_assert(P.head.keep_alive);
	}
	const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
	rg_h1_response_init(&P, NULL, true);
	cr_assert_eq(rg_h1_parse(&P, h, strlen(h)), RG_H1_DONE);
	cr_assert_eq(P.head.body, RG_H1_BODY_NONE, "response to HEAD");
	cr_assert_eq(resp("HTTP/1.1 204 No Content\r\n\r\n"), RG_H1_DONE);
	cr_assert_eq(P.head.body, RG_H1_BODY_NONE);
	cr_assert(P.head.keep_alive);
	cr_assert_eq(resp("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"), RG_H1_E_UPGRADE);
}

Test(http1_response, keep_alive)
{
	cr_assert_eq(resp("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n"), RG_H1_DONE);
	cr_assert_not(P.head.keep_alive);
	cr_assert_eq(resp("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n"), RG_H1_DONE);
	cr_assert(P.head.keep_alive);
	cr_assert_eq(resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n"), RG_H1_DONE);
	cr_assert_not(P.head.keep_alive);
}

Test(http1_response, strictness)
{
	cr_assert_eq(resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
		     RG_H1_E_CL_AND_TE);
	cr_assert_eq(resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n"),
		     RG_H1_E_DUP_CONTENT_LENGTH);
	cr_assert_eq(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
		     RG_H1_E_TRANSFER_ENCODING, "chunked not last: length unknowable");
	cr_assert_eq(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"),
		     RG_H1_E_TRANSFER_ENCODING);
	cr_assert_eq(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), RG_H1_E_TRANSFER_ENCODING);
	cr_assert_eq(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n"), RG_H1_E_TRANSFER_ENCODING);
	cr_assert_eq(resp("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), RG_H1_E_TRANSFER_ENCODING);
	cr_assert_eq(resp("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n"), RG_H1_E_OBS_FOLD);
	cr_assert_eq(resp("HTTP/1.1 200 OK\r\nX : a\r\n\r\n"), RG_H1_E_HEADER_NAME_WS);
	cr_assert_eq(resp("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"), RG_H1_E_CONTENT_LENGTH);
	cr_assert_eq(resp("HTTP/1.1 200 OK\r\nX: \x01\r\n\r\n"), RG_H1_E_HEADER_VALUE);
}

Test(http1_response, status_line)
{
	cr_assert_eq(resp("HTTP/1.1 200\r\n\r\n"), RG_H1_DONE, "no reason, no space");
	cr_assert_eq(P.head.reason.len, 0);
	cr_assert_eq(resp("HTTP/1.1 200 \r\n\r\n"), RG_H1_DONE, "empty reason");
	cr_assert_eq(resp("HTTP/1.1 599 Whatever You Like\t!\r\n\r\n"), RG_H1_DONE);
	cr_assert_eq(P.head.status, 599);
	const char *bad[] = { "HTTP/1.1 20 OK", "HTTP/1.1 600 X", "HTTP/1.1 099 X", "HTTP/1.1 200OK",
			      "HTTP/1.1  200 OK", "HTTP/1.1 2x0 OK", "http/1.1 200 OK", "HTTP/1.1 200 O\x01K",
			      "HTTP/1.1", "", "HTTP/1.1 1000 X" };
	char s[128];
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(s, sizeof s, "%s\r\n\r\n", bad[i]);
		cr_assert_eq(resp(s), RG_H1_E_STATUS_LINE, "'%s': %s", bad[i], rg_h1_status_name(resp(s)));
	}
	cr_assert_eq(resp("HTTP/2.0 200 OK\r\n\r\n"), RG_H1_E_VERSION);
}

Test(http1_response, chunked_body_after_head)
{
	const char *s = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n0\r\n\r\n";
	cr_assert_eq(resp(s), RG_H1_DONE);
	rg_h1_body b;
	body_out o;
	rg_h1_body_init(&b, &P.head, NULL);
	size_t hl = P.head.head_len;
	cr_assert_eq(run_body(&b, s + hl, strlen(s) - hl, 2, &o), RG_H1_DONE);
	cr_assert_eq(o.payload_len, 4);
	cr_assert_eq(o.consumed, strlen(s) - hl);
}
