/* rewrite.c — the heads the proxy sends: a request head rewritten for the
 * upstream, a response head rewritten for the client, and the proxy's own
 * JSON error answers. Must never forward a hop-by-hop field (RFC 9110
 * §7.6.1), nor any field the Connection header names. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proxy/proxy_internal.h"

typedef struct wbuf {
	char *d;
	size_t cap, len;
	bool over;
} wbuf;

static void put(wbuf *o, const char *s, size_t n)
{
	if (o->over || o->cap - o->len < n) {
		o->over = true;
		return;
	}
	memcpy(o->d + o->len, s, n);
	o->len += n;
}

static void puts_(wbuf *o, const char *s) { put(o, s, strlen(s)); }

static void put_slice(wbuf *o, const char *buf, rg_h1_slice s) { put(o, buf + s.off, s.len); }

/* The tokens of every Connection field, as slices of buf. */
#define MAX_CONN_TOKENS 32
typedef struct conn_tokens {
	rg_h1_slice t[MAX_CONN_TOKENS];
	int n;
} conn_tokens;

static void connection_tokens(const char *buf, const rg_h1_head *h, conn_tokens *ct)
{
	ct->n = 0;
	for (int i = rg_h1_find(h, RG_H1_F_CONNECTION, 0); i >= 0;
	     i = rg_h1_find(h, RG_H1_F_CONNECTION, (uint32_t)i + 1)) {
		uint32_t p = h->headers[i].value.off, end = p + h->headers[i].value.len;
		while (p < end && ct->n < MAX_CONN_TOKENS) {
			while (p < end && (buf[p] == ',' || buf[p] == ' ' || buf[p] == '\t'))
				p++;
			uint32_t s = p;
			while (p < end && buf[p] != ',' && buf[p] != ' ' && buf[p] != '\t')
				p++;
			if (p > s)
				ct->t[ct->n++] = (rg_h1_slice){ s, p - s };
		}
	}
}

/* Dropped: hop-by-hop fields, and any other field Connection names. The
 * fields the proxy acts on (Host, Content-Length, …) are never dropped by
 * a Connection token: that would change the framing. */
static bool dropped(const char *buf, const rg_h1_header *hd, const conn_tokens *ct)
{
	if (rg_h1_field_hop_by_hop((rg_h1_field)hd->field))
		return true;
	if (hd->field != RG_H1_F_OTHER)
		return false;
	for (int i = 0; i < ct->n; i++)
		if (ct->t[i].len == hd->name.len &&
		    strncasecmp(buf + ct->t[i].off, buf + hd->name.off, hd->name.len) == 0)
			return true;
	return false;
}

/* Upgrade is hop-by-hop, but a protocol switch is one hop the proxy passes
 * on whole: the request's Upgrade goes to the backend, the 101's to the
 * client, each with `Connection: upgrade` in place of the received one. */
static bool switched(const rg_h1_head *h, const rg_h1_header *hd)
{
	return h->tunnel && hd->field == RG_H1_F_UPGRADE;
}

static void put_header(wbuf *o, const char *buf, const rg_h1_header *hd)
{
	put_slice(o, buf, hd->name);
	put(o, ": ", 2);
	put_slice(o, buf, hd->value);
	put(o, "\r\n", 2);
}

/* The force header is the front door's business: never forwarded, so a
 * backend never sees who aimed at which side. */
static bool forced_side(const rg_proxy_opts *o, const char *buf, const rg_h1_header *hd)
{
	if (hd->field == RG_H1_F_X_ROLLGUARD_RELEASE)
		return true;
	return o->strip_header && hd->name.len == strlen(o->strip_header) &&
	       strncasecmp(buf + hd->name.off, o->strip_header, hd->name.len) == 0;
}

size_t px_request_head(const rg_proxy_opts *opts, const rg_sockaddr *client,
		       char *dst, size_t cap, const char *buf, const rg_h1_head *h,
		       const char *client_ip, const char *req_id, const rg_sockaddr *backend)
{
	/* what a client says it forwarded is kept only from a trusted proxy */
	bool trusted = rg_cidr_match(opts->trusted, opts->n_trusted,
				     (const struct sockaddr *)&client->ss);
	wbuf o = { dst, cap, 0, false };
	conn_tokens ct;
	connection_tokens(buf, h, &ct);

	put_slice(&o, buf, h->method);
	put(&o, " ", 1);
	if (h->target_form == RG_H1_TARGET_ABSOLUTE) {
		if (h->path.len == 0 || buf[h->path.off] == '?')
			put(&o, "/", 1);
		put_slice(&o, buf, h->path);
	} else {
		put_slice(&o, buf, h->target);
	}
	puts_(&o, " HTTP/1.1\r\n");

	bool have_id = false;
	for (uint32_t i = 0; i < h->nheaders; i++) {
		const rg_h1_header *hd = &h->headers[i];
		if (switched(h, hd)) {
			put_header(&o, buf, hd);
			continue;
		}
		if (dropped(buf, hd, &ct) || hd->field == RG_H1_F_X_FORWARDED_FOR ||
		    hd->field == RG_H1_F_X_FORWARDED_PROTO || forced_side(opts, buf, hd))
			continue;
		if (hd->field == RG_H1_F_X_REQUEST_ID)
			have_id = true;
		put_header(&o, buf, hd);
	}
	if (h->host.len == 0) { /* HTTP/1.0 without Host: HTTP/1.1 upstream needs one */
		char a[RG_HOSTPORT_LEN], line[RG_HOSTPORT_LEN + 16];
		rg_sockaddr_format((const struct sockaddr *)&backend->ss, a, sizeof a);
		snprintf(line, sizeof line, "Host: %s\r\n", a);
		puts_(&o, line);
	}
	if (h->body == RG_H1_BODY_CHUNKED) /* forwarded verbatim, so still chunked */
		puts_(&o, "Transfer-Encoding: chunked\r\n");
	/* X-Forwarded-For: the values received, in order, then the client. */
	puts_(&o, "X-Forwarded-For: ");
	for (int i = trusted ? rg_h1_find(h, RG_H1_F_X_FORWARDED_FOR, 0) : -1; i >= 0;
	     i = rg_h1_find(h, RG_H1_F_X_FORWARDED_FOR, (uint32_t)i + 1)) {
		if (h->headers[i].value.len == 0)
			continue;
		put_slice(&o, buf, h->headers[i].value);
		put(&o, ", ", 2);
	}
	puts_(&o, client_ip);
	int proto = trusted ? rg_h1_find(h, RG_H1_F_X_FORWARDED_PROTO, 0) : -1;
	puts_(&o, "\r\nX-Forwarded-Proto: ");
	if (proto >= 0 && h->headers[proto].value.len > 0)
		put_slice(&o, buf, h->headers[proto].value);
	else
		puts_(&o, opts->https ? "https" : "http");
	put(&o, "\r\n", 2);
	if (!have_id) {
		puts_(&o, "X-Request-Id: ");
		puts_(&o, req_id);
		put(&o, "\r\n", 2);
	}
	puts_(&o, h->tunnel ? "Connection: upgrade\r\n\r\n" : "Connection: keep-alive\r\n\r\n");
	return o.over ? 0 : o.len;
}

/* The caller's cookie goes out only if it cannot break the head. */
static bool cookie_ok(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

size_t px_response_head(char *dst, size_t cap, const char *buf, const rg_h1_head *h,
			bool keep_alive, bool dechunk, const char *set_cookie)
{
	wbuf o = { dst, cap, 0, false };
	conn_tokens ct;
	connection_tokens(buf, h, &ct);
	char line[32];
	snprintf(line, sizeof line, "HTTP/1.1 %03d", h->status);
	puts_(&o, line);
	if (h->reason.len) {
		put(&o, " ", 1);
		put_slice(&o, buf, h->reason);
	}
	put(&o, "\r\n", 2);
	for (uint32_t i = 0; i < h->nheaders; i++) {
		const rg_h1_header *hd = &h->headers[i];
		/* A chunked body is forwarded with its framing, so its
		 * Transfer-Encoding goes with it, unless it is being de-chunked
		 * for an HTTP/1.0 client. */
		if (hd->field == RG_H1_F_TRANSFER_ENCODING && h->status >= 200 && !dechunk) {
			put_header(&o, buf, hd);
			continue;
		}
		if (dropped(buf, hd, &ct) && !switched(h, hd))
			continue;
		put_header(&o, buf, hd);
	}
	if (h->status >= 200 && cookie_ok(set_cookie)) {
		puts_(&o, "Set-Cookie: ");
		puts_(&o, set_cookie);
		puts_(&o, "; Path=/; HttpOnly; SameSite=Lax\r\n");
	}
	if (h->tunnel)
		puts_(&o, "Connection: upgrade\r\n\r\n");
	else if (h->status >= 200)
		puts_(&o, keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
	else
		put(&o, "\r\n", 2);
	return o.over ? 0 : o.len;
}

static const char *status_text(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

/* code and message are the proxy's own static strings: no JSON escaping
 * needed, asserted by the callers' choice of literals and rg_h1_reason. */
size_t px_error_answer(char *dst, size_t cap, int status, const char *code, const char *message)
{
	char body[256];
	int bn = snprintf(body, sizeof body, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}\n",
			  code, message);
	if (bn < 0 || (size_t)bn >= sizeof body)
		return 0;
	int n = snprintf(dst, cap,
			 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
			 "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
			 status, status_text(status), bn, body);
	return (n < 0 || (size_t)n >= cap) ? 0 : (size_t)n;
}

/* xorshift64*: per-thread state, so no lock and no shared cache line. */
void px_request_id(uint64_t *rng, char out[17])
{
	uint64_t x = *rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*rng = x;
	x *= UINT64_C(2685821657736338717);
	static const char hex[] = "0123456789abcdef";
	for (int i = 15; i >= 0; i--, x >>= 4)
		out[i] = hex[x & 15];
	out[16] = '\0';
}
