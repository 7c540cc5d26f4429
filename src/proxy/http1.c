/* http1.c — strict HTTP/1.1 head parser and body framer for the proxy.
 * It must never guess: whenever two readers of the same bytes could disagree
 * on where a message ends (the request-smuggling shapes), it refuses.
 *
 * The head is parsed a line at a time. A line is complete when its LF has
 * arrived; until then the parser only remembers how far it has searched, so
 * the work is linear however the bytes are split. Size limits are enforced
 * on the bytes received, not on complete lines, so a peer cannot make the
 * caller hold more than the limit: once max_request_line bytes are in and no
 * LF among them, the answer is 414, whatever follows. Because every decision
 * is a function of the bytes alone, any split of the same input gives the
 * same result — the fuzz harness checks exactly that. */
#include "proxy/http1.h"

#include <string.h>

enum { ST_FIRST_LINE = 0, ST_HEADERS, ST_DONE };

void rg_h1_limits_default(rg_h1_limits *lim)
{
	lim->max_request_line = 8192;
	lim->max_header_block = 16384;
	lim->max_headers = RG_H1_MAX_HEADERS;
	lim->max_chunk_line = 1024;
	lim->max_trailer_block = 4096;
	lim->ignore_upgrade = false;
	lim->allow_upgrade = false;
}

/* ---- byte classes ---------------------------------------------------------- */

enum { C_TCHAR = 1, C_VCHAR = 2, C_HOST = 4, C_HEX = 8, C_DIGIT = 16 };

/* Per byte: tchar (RFC 9110 §5.6.2); field-vchar, SP, HTAB and obs-text
 * (allowed in values); host bytes (reg-name, IP literal, port); hex digit;
 * decimal digit. A constant, so threads share it without set-up; generated
 * from those rules, and test_http1.c checks every byte of it through the
 * parser (header names, hosts, values, chunk sizes). */
static const uint8_t byte_class[256] = {
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  2,  0,  0,  0,  0,  0,  0,
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
	 2,  7,  2,  3,  7,  7,  7,  7,  6,  6,  7,  7,  6,  7,  7,  2,
	31, 31, 31, 31, 31, 31, 31, 31, 31, 31,  6,  6,  2,  6,  2,  2,
	 2, 15, 15, 15, 15, 15, 15,  7,  7,  7,  7,  7,  7,  7,  7,  7,
	 7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  6,  2,  6,  3,  7,
	 3, 15, 15, 15, 15, 15, 15,  7,  7,  7,  7,  7,  7,  7,  7,  7,
	 7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  2,  3,  2,  7,  0,
	 2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,
	 2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,
	 2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,
	 2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,
	 2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,
	 2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,
	 2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,
	 2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,
};

static inline bool is(unsigned char c, uint8_t k) { return byte_class[c] & k; }

static inline char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

/* a[0..n) equals the lowercase literal b, ignoring ASCII case. */
static bool ieq(const char *a, size_t n, const char *b)
{
	if (strlen(b) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(a[i]) != b[i])
			return false;
	return true;
}

/* ---- recognised fields ------------------------------------------------------- */

static const struct {
	const char *name;
	uint8_t len;
	uint8_t field;
} fields[] = {
	{ "te", 2, RG_H1_F_TE },
	{ "host", 4, RG_H1_F_HOST },
	{ "cookie", 6, RG_H1_F_COOKIE },
	{ "expect", 6, RG_H1_F_EXPECT },
	{ "upgrade", 7, RG_H1_F_UPGRADE },
	{ "trailer", 7, RG_H1_F_TRAILER },
	{ "connection", 10, RG_H1_F_CONNECTION },
	{ "keep-alive", 10, RG_H1_F_KEEP_ALIVE },
	{ "x-request-id", 12, RG_H1_F_X_REQUEST_ID },
	{ "content-length", 14, RG_H1_F_CONTENT_LENGTH },
	{ "x-forwarded-for", 15, RG_H1_F_X_FORWARDED_FOR },
	{ "proxy-connection", 16, RG_H1_F_PROXY_CONNECTION },
	{ "transfer-encoding", 17, RG_H1_F_TRANSFER_ENCODING },
	{ "x-forwarded-proto", 17, RG_H1_F_X_FORWARDED_PROTO },
	{ "x-rollguard-release", 19, RG_H1_F_X_ROLLGUARD_RELEASE },
};

static uint8_t field_of(const char *name, size_t n)
{
	if (n < 2 || n > 19)
		return RG_H1_F_OTHER;
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
		if (fields[i].len != n || lower(name[0]) != fields[i].name[0])
			continue;
		if (ieq(name, n, fields[i].name))
			return fields[i].field;
	}
	return RG_H1_F_OTHER;
}

int rg_h1_find(const rg_h1_head *h, rg_h1_field field, uint32_t from)
{
	for (uint32_t i = from; i < h->nheaders; i++)
		if (h->headers[i].field == field)
			return (int)i;
	return -1;
}

bool rg_h1_field_hop_by_hop(rg_h1_field field)
{
	switch (field) {
	case RG_H1_F_CONNECTION:
	case RG_H1_F_KEEP_ALIVE:
	case RG_H1_F_PROXY_CONNECTION:
	case RG_H1_F_TE:
	case RG_H1_F_TRAILER:
	case RG_H1_F_TRANSFER_ENCODING:
	case RG_H1_F_UPGRADE:
		return true;
	default:
		return false;
	}
}

/* ---- status table ------------------------------------------------------------ */

static const struct {
	const char *name;
	const char *reason;
	int http;
} statuses[RG_H1_STATUS_COUNT] = {
	[RG_H1_DONE] = { "done", "complete", 0 },
	[RG_H1_AGAIN] = { "again", "need more bytes", 0 },
	[RG_H1_E_REQUEST_LINE_TOO_LONG] = { "request_line_too_long", "request line too long", 414 },
	[RG_H1_E_HEADERS_TOO_LARGE] = { "headers_too_large", "header block too large", 431 },
	[RG_H1_E_TOO_MANY_HEADERS] = { "too_many_headers", "too many header fields", 431 },
	[RG_H1_E_BARE_LF] = { "bare_lf", "line ends in LF without CR", 400 },
	[RG_H1_E_BARE_CR] = { "bare_cr", "CR not followed by LF", 400 },
	[RG_H1_E_REQUEST_LINE] = { "bad_request_line", "malformed request line", 400 },
	[RG_H1_E_METHOD] = { "bad_method", "invalid method", 400 },
	[RG_H1_E_TARGET] = { "bad_target", "invalid request target", 400 },
	[RG_H1_E_VERSION] = { "bad_version", "unsupported HTTP version", 505 },
	[RG_H1_E_HEADER_NAME] = { "bad_header_name", "invalid header field name", 400 },
	[RG_H1_E_HEADER_NAME_WS] = { "header_name_ws", "whitespace before colon in header field", 400 },
	[RG_H1_E_HEADER_VALUE] = { "bad_header_value", "control character in header value", 400 },
	[RG_H1_E_OBS_FOLD] = { "obs_fold", "folded header line", 400 },
	[RG_H1_E_HOST] = { "bad_host", "missing, duplicate or invalid host", 400 },
	[RG_H1_E_CONTENT_LENGTH] = { "bad_content_length", "invalid content-length", 400 },
	[RG_H1_E_DUP_CONTENT_LENGTH] = { "dup_content_length", "more than one content-length", 400 },
	[RG_H1_E_CL_AND_TE] = { "cl_and_te", "both content-length and transfer-encoding", 400 },
	[RG_H1_E_TRANSFER_ENCODING] = { "bad_transfer_encoding", "transfer-encoding other than chunked", 400 },
	[RG_H1_E_EXPECT] = { "bad_expect", "unsupported expectation", 417 },
	[RG_H1_E_UPGRADE] = { "upgrade", "protocol upgrade not supported", 501 },
	[RG_H1_E_CONNECT] = { "connect", "CONNECT not supported", 501 },
	[RG_H1_E_STATUS_LINE] = { "bad_status_line", "malformed status line", 502 },
	[RG_H1_E_CHUNK_SIZE] = { "bad_chunk_size", "invalid chunk size", 400 },
	[RG_H1_E_CHUNK_EXT] = { "bad_chunk_ext", "invalid or oversized chunk extension", 400 },
	[RG_H1_E_CHUNK_CRLF] = { "chunk_no_crlf", "chunk data not followed by CRLF", 400 },
	[RG_H1_E_TRAILER] = { "bad_trailer", "invalid trailer field", 400 },
	[RG_H1_E_TRAILER_TOO_LARGE] = { "trailer_too_large", "trailer section too large", 400 },
	[RG_H1_E_TRUNCATED] = { "truncated", "connection closed inside the body", 400 },
};

const char *rg_h1_reason(rg_h1_status st)
{
	return (unsigned)st < RG_H1_STATUS_COUNT ? statuses[st].reason : "unknown";
}

int rg_h1_http_status(rg_h1_status st)
{
	return (unsigned)st < RG_H1_STATUS_COUNT ? statuses[st].http : 500;
}

const char *rg_h1_status_name(rg_h1_status st)
{
	return (unsigned)st < RG_H1_STATUS_COUNT ? statuses[st].name : "unknown";
}

/* ---- set-up ------------------------------------------------------------------ */

static void parser_init(rg_h1_parser *p, const rg_h1_limits *lim)
{
	memset(p, 0, offsetof(rg_h1_parser, head));
	memset(&p->head, 0, offsetof(rg_h1_head, headers));
	if (lim)
		p->lim = *lim;
	else
		rg_h1_limits_default(&p->lim);
	/* offsets are 32-bit: keep a whole head well inside that */
	if (p->lim.max_headers > RG_H1_MAX_HEADERS)
		p->lim.max_headers = RG_H1_MAX_HEADERS;
	if (p->lim.max_request_line > RG_H1_LIMIT_MAX)
		p->lim.max_request_line = RG_H1_LIMIT_MAX;
	if (p->lim.max_header_block > RG_H1_LIMIT_MAX)
		p->lim.max_header_block = RG_H1_LIMIT_MAX;
	p->status = RG_H1_AGAIN;
}

void rg_h1_request_init(rg_h1_parser *p, const rg_h1_limits *lim)
{
	parser_init(p, lim);
}

void rg_h1_response_init(rg_h1_parser *p, const rg_h1_limits *lim, bool request_was_head)
{
	parser_init(p, lim);
	p->response = true;
	p->request_was_head = request_was_head;
}

static inline rg_h1_slice slice(size_t off, size_t len)
{
	return (rg_h1_slice){ (uint32_t)off, (uint32_t)len };
}

/* ---- first lines ------------------------------------------------------------- */

/* "HTTP/" DIGIT "." DIGIT: RG_H1_DONE with *minor set, RG_H1_E_VERSION for a
 * well-formed other version, bad otherwise. */
static rg_h1_status version_parse(const char *s, size_t n, uint8_t *minor, rg_h1_status bad)
{
	if (n != 8 || memcmp(s, "HTTP/", 5) || !is(s[5], C_DIGIT) || s[6] != '.' ||
	    !is(s[7], C_DIGIT))
		return bad;
	if (s[5] != '1' || (s[7] != '0' && s[7] != '1'))
		return RG_H1_E_VERSION;
	*minor = (uint8_t)(s[7] - '0');
	return RG_H1_DONE;
}

static bool host_valid(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is(s[i], C_HOST))
			return false;
	return true;
}

/* absolute-form: "http://" or "https://", an authority without userinfo,
 * then the path and query (possibly empty). */
static rg_h1_status absolute_parse(rg_h1_head *h, const char *buf)
{
	const char *t = buf + h->target.off;
	size_t n = h->target.len, i;
	if (n > 7 && ieq(t, 7, "http://"))
		i = 7;
	else if (n > 8 && ieq(t, 8, "https://"))
		i = 8;
	else
		return RG_H1_E_TARGET;
	size_t a = i;
	while (i < n && t[i] != '/' && t[i] != '?')
		i++;
	if (!host_valid(t + a, i - a))
		return RG_H1_E_TARGET;
	h->authority = slice(h->target.off + a, i - a);
	h->path = slice(h->target.off + i, n - i);
	h->target_form = RG_H1_TARGET_ABSOLUTE;
	return RG_H1_DONE;
}

static rg_h1_status target_classify(rg_h1_head *h, const char *buf)
{
	const char *t = buf + h->target.off;
	if (t[0] == '/') {
		h->path = h->target;
		return RG_H1_DONE;
	}
	if (h->target.len == 1 && t[0] == '*') {
		if (!(h->method.len == 7 && !memcmp(buf + h->method.off, "OPTIONS", 7)))
			return RG_H1_E_TARGET;
		h->target_form = RG_H1_TARGET_ASTERISK;
		return RG_H1_DONE;
	}
	return absolute_parse(h, buf);
}

/* method SP request-target SP HTTP-version: single spaces, nothing else. */
static rg_h1_status request_line(rg_h1_parser *p, const char *buf, size_t off, size_t n)
{
	const char *s = buf + off;
	rg_h1_head *h = &p->head;
	size_t i = 0;
	while (i < n && is(s[i], C_TCHAR))
		i++;
	if (i == n || i == 0 || s[i] == '\t')
		return RG_H1_E_REQUEST_LINE;
	if (s[i] != ' ')
		return RG_H1_E_METHOD;
	h->method = slice(off, i);
	if (i == 7 && !memcmp(s, "CONNECT", 7))
		return RG_H1_E_CONNECT;
	h->is_head = i == 4 && !memcmp(s, "HEAD", 4);

	size_t t = ++i;
	/* visible ASCII except '#': a fragment is never sent (RFC 9112 §3.2) */
	while (i < n && s[i] > 0x20 && s[i] < 0x7f && s[i] != '#')
		i++;
	if (i == t || i == n || s[i] == '\t')
		return RG_H1_E_REQUEST_LINE;
	if (s[i] != ' ')
		return RG_H1_E_TARGET;
	h->target = slice(off + t, i - t);
	i++;
	rg_h1_status st = version_parse(s + i, n - i, &h->version_minor, RG_H1_E_REQUEST_LINE);
	if (st)
		return st;
	return target_classify(h, buf);
}

/* HTTP-version SP 3DIGIT [SP reason]: the reason may be empty and its space
 * may be missing, which some servers do; the reason is field-vchar. */
static rg_h1_status status_line(rg_h1_parser *p, const char *buf, size_t off, size_t n)
{
	const char *s = buf + off;
	rg_h1_head *h = &p->head;
	if (n < 12 || s[8] != ' ')
		return RG_H1_E_STATUS_LINE;
	rg_h1_status st = version_parse(s, 8, &h->version_minor, RG_H1_E_STATUS_LINE);
	if (st)
		return st;
	if (!is(s[9], C_DIGIT) || !is(s[10], C_DIGIT) || !is(s[11], C_DIGIT))
		return RG_H1_E_STATUS_LINE;
	h->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	if (h->status < 100 || h->status > 599)
		return RG_H1_E_STATUS_LINE;
	if (n == 12)
		return RG_H1_DONE;
	if (s[12] != ' ')
		return RG_H1_E_STATUS_LINE;
	for (size_t i = 13; i < n; i++)
		if (!is(s[i], C_VCHAR))
			return RG_H1_E_STATUS_LINE;
	h->reason = slice(off + 13, n - 13);
	return RG_H1_DONE;
}

/* ---- field lines ------------------------------------------------------------- */

/* name ":" OWS value OWS, shared by headers and trailers. On success the
 * name is [0, *name_len) and the value [*vstart, *vend) of s. */
static rg_h1_status field_line(const char *s, size_t n, size_t *name_len, size_t *vstart,
			       size_t *vend)
{
	if (s[0] == ' ' || s[0] == '\t')
		return RG_H1_E_OBS_FOLD;
	size_t i = 0;
	while (i < n && is(s[i], C_TCHAR))
		i++;
	if (i == n)
		return RG_H1_E_HEADER_NAME;
	if (s[i] != ':')
		return i > 0 && (s[i] == ' ' || s[i] == '\t') ? RG_H1_E_HEADER_NAME_WS :
								  RG_H1_E_HEADER_NAME;
	if (i == 0)
		return RG_H1_E_HEADER_NAME;
	*name_len = i;
	size_t a = i + 1, b = n;
	while (a < b && (s[a] == ' ' || s[a] == '\t'))
		a++;
	while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
		b--;
	for (size_t k = a; k < b; k++)
		if (!is(s[k], C_VCHAR))
			return RG_H1_E_HEADER_VALUE;
	*vstart = a;
	*vend = b;
	return RG_H1_DONE;
}

/* 1*DIGIT, at most 2^63-1; a list ("5, 5") is a duplicate, not a number. */
static rg_h1_status content_length_parse(const char *s, size_t n, uint64_t *out)
{
	if (memchr(s, ',', n))
		return RG_H1_E_DUP_CONTENT_LENGTH;
	if (n == 0)
		return RG_H1_E_CONTENT_LENGTH;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is(s[i], C_DIGIT))
			return RG_H1_E_CONTENT_LENGTH;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_C(0x7fffffffffffffff) - d) / 10)
			return RG_H1_E_CONTENT_LENGTH;
		v = v * 10 + d;
	}
	*out = v;
	return RG_H1_DONE;
}

/* Calls fn for each non-empty element of a comma list, OWS trimmed. */
static void list_each(const char *s, size_t n, void (*fn)(rg_h1_parser *, const char *, size_t),
		      rg_h1_parser *p)
{
	size_t i = 0;
	while (i <= n) {
		size_t a = i;
		while (i < n && s[i] != ',')
			i++;
		size_t b = i;
		while (a < b && (s[a] == ' ' || s[a] == '\t'))
			a++;
		while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
			b--;
		if (b > a)
			fn(p, s + a, b - a);
		i++;
	}
}

static void connection_token(rg_h1_parser *p, const char *s, size_t n)
{
	if (ieq(s, n, "close"))
		p->conn_close = true;
	else if (ieq(s, n, "keep-alive"))
		p->conn_keep_alive = true;
	else if (ieq(s, n, "upgrade"))
		p->conn_upgrade = true;
}

/* Response codings may stack ("gzip, chunked"): chunked must be the last
 * and appear once, or the body's end is unknowable and we refuse it. */
static void transfer_coding(rg_h1_parser *p, const char *s, size_t n)
{
	p->te_last_chunked = ieq(s, n, "chunked");
	if (p->te_last_chunked && p->te_chunked < 255)
		p->te_chunked++;
}

static rg_h1_status transfer_encoding(rg_h1_parser *p, const char *v, size_t n)
{
	if (p->head.version_minor == 0)
		return RG_H1_E_TRANSFER_ENCODING; /* RFC 9112 §6.1: faulty in 1.0 */
	if (!p->response) {
		/* a request gets exactly one "chunked": nothing to combine */
		if (p->have_te || !ieq(v, n, "chunked"))
			return RG_H1_E_TRANSFER_ENCODING;
		p->te_last_chunked = true;
		p->te_chunked = 1;
	} else {
		if (n == 0)
			return RG_H1_E_TRANSFER_ENCODING;
		list_each(v, n, transfer_coding, p);
	}
	p->have_te = true;
	return p->have_cl ? RG_H1_E_CL_AND_TE : RG_H1_DONE;
}

static rg_h1_status field_apply(rg_h1_parser *p, const char *buf, const rg_h1_header *hdr)
{
	rg_h1_head *h = &p->head;
	const char *v = buf + hdr->value.off;
	size_t n = hdr->value.len;
	rg_h1_status st;
	switch (hdr->field) {
	case RG_H1_F_HOST:
		if (p->response)
			break;
		if (++p->host_count > 1 || !host_valid(v, n))
			return RG_H1_E_HOST;
		h->host = hdr->value;
		break;
	case RG_H1_F_CONTENT_LENGTH:
		if (p->have_cl)
			return RG_H1_E_DUP_CONTENT_LENGTH;
		st = content_length_parse(v, n, &h->content_length);
		if (st)
			return st;
		p->have_cl = true;
		return p->have_te ? RG_H1_E_CL_AND_TE : RG_H1_DONE;
	case RG_H1_F_TRANSFER_ENCODING:
		return transfer_encoding(p, v, n);
	case RG_H1_F_CONNECTION:
		list_each(v, n, connection_token, p);
		break;
	case RG_H1_F_EXPECT:
		/* RFC 9110 §10.1.1: an HTTP/1.0 expectation is ignored */
		if (p->response || h->version_minor == 0)
			break;
		if (!ieq(v, n, "100-continue"))
			return RG_H1_E_EXPECT;
		h->expect_continue = true;
		break;
	case RG_H1_F_UPGRADE:
		h->upgrade = true;
		break;
	default:
		break;
	}
	return RG_H1_DONE;
}

static rg_h1_status header_line(rg_h1_parser *p, const char *buf, size_t off, size_t n)
{
	rg_h1_head *h = &p->head;
	if (h->nheaders >= p->lim.max_headers)
		return RG_H1_E_TOO_MANY_HEADERS;
	size_t name_len, a, b;
	rg_h1_status st = field_line(buf + off, n, &name_len, &a, &b);
	if (st)
		return st;
	rg_h1_header *hdr = &h->headers[h->nheaders++];
	hdr->name = slice(off, name_len);
	hdr->value = slice(off + a, b - a);
	hdr->field = field_of(buf + off, name_len);
	return field_apply(p, buf, hdr);
}

static bool slice_ieq(const char *buf, rg_h1_slice a, rg_h1_slice b)
{
	if (a.len != b.len)
		return false;
	for (uint32_t i = 0; i < a.len; i++)
		if (lower(buf[a.off + i]) != lower(buf[b.off + i]))
			return false;
	return true;
}

/* The decisions that need the whole head: Host, framing, keep-alive. */
static rg_h1_status request_end(rg_h1_parser *p, const char *buf)
{
	rg_h1_head *h = &p->head;
	if (h->version_minor == 1 && p->host_count == 0)
		return RG_H1_E_HOST; /* RFC 9112 §3.2 */
	/* absolute-form: the authority wins over Host (RFC 9112 §3.2.2); we
	 * insist they agree so routing and the upstream see the same host */
	if (h->target_form == RG_H1_TARGET_ABSOLUTE && p->host_count &&
	    !slice_ieq(buf, h->host, h->authority))
		return RG_H1_E_HOST;
	/* A switch with a body would leave the body's end and the new
	 * protocol's start to a guess: such an Upgrade is ignored. */
	if (h->upgrade && p->lim.allow_upgrade)
		h->tunnel = p->conn_upgrade && h->version_minor == 1 && !p->have_te &&
			    !(p->have_cl && h->content_length > 0);
	else if (h->upgrade && !p->lim.ignore_upgrade)
		return RG_H1_E_UPGRADE;
	h->body = p->have_te ? RG_H1_BODY_CHUNKED : p->have_cl ? RG_H1_BODY_LENGTH : RG_H1_BODY_NONE;
	h->keep_alive = h->version_minor == 1 ? !p->conn_close : p->conn_keep_alive && !p->conn_close;
	return RG_H1_DONE;
}

/* RFC 9112 §6.3, in order; a response to HEAD, 1xx, 204 and 304 never have
 * a body whatever their fields say. */
static rg_h1_status response_end(rg_h1_parser *p)
{
	rg_h1_head *h = &p->head;
	if (h->status == 101) {
		/* only to a request that asked, and saying what it switched to */
		if (!p->upgrade_asked || !h->upgrade)
			return RG_H1_E_UPGRADE;
		h->tunnel = true;
		h->body = RG_H1_BODY_NONE;
		h->keep_alive = false;
		return RG_H1_DONE;
	}
	if (p->have_te && !(p->te_last_chunked && p->te_chunked == 1))
		return RG_H1_E_TRANSFER_ENCODING;
	h->keep_alive = h->version_minor == 1 ? !p->conn_close : p->conn_keep_alive && !p->conn_close;
	if (h->status < 200 || h->status == 204 || h->status == 304 || p->request_was_head)
		h->body = RG_H1_BODY_NONE;
	else if (p->have_te)
		h->body = RG_H1_BODY_CHUNKED;
	else if (p->have_cl)
		h->body = RG_H1_BODY_LENGTH;
	else {
		h->body = RG_H1_BODY_CLOSE;
		h->keep_alive = false;
	}
	return RG_H1_DONE;
}

static rg_h1_status finish(rg_h1_parser *p, rg_h1_status st)
{
	p->status = (uint8_t)st;
	return st;
}

rg_h1_status rg_h1_parse(rg_h1_parser *p, const char *buf, size_t len)
{
	if (p->status != RG_H1_AGAIN)
		return (rg_h1_status)p->status;
	for (;;) {
		bool first = p->state == ST_FIRST_LINE;
		size_t limit = first ? p->lim.max_request_line :
				       (size_t)p->header_start + p->lim.max_header_block;
		size_t end = len < limit ? len : limit;
		size_t from = p->scan > p->line_start ? p->scan : p->line_start;
		const char *lf = from < end ? memchr(buf + from, '\n', end - from) : NULL;
		if (!lf) {
			if (len >= limit)
				return finish(p, first ? RG_H1_E_REQUEST_LINE_TOO_LONG :
							 RG_H1_E_HEADERS_TOO_LARGE);
			if (end > p->scan)
				p->scan = (uint32_t)end;
			return RG_H1_AGAIN;
		}
		size_t eol = (size_t)(lf - buf), start = p->line_start;
		p->line_start = p->scan = (uint32_t)(eol + 1);
		if (eol == start || buf[eol - 1] != '\r')
			return finish(p, RG_H1_E_BARE_LF);
		size_t n = eol - 1 - start;
		if (memchr(buf + start, '\r', n))
			return finish(p, RG_H1_E_BARE_CR);
		rg_h1_status st;
		if (first) {
			if (n == 0 && !p->response)
				continue; /* RFC 9112 §2.2: empty lines before a request */
			st = p->response ? status_line(p, buf, start, n) : request_line(p, buf, start, n);
			p->header_start = p->line_start;
			p->state = ST_HEADERS;
		} else if (n == 0) {
			p->head.head_len = p->line_start;
			p->state = ST_DONE;
			return finish(p, p->response ? response_end(p) : request_end(p, buf));
		} else {
			st = header_line(p, buf, start, n);
		}
		if (st)
			return finish(p, st);
	}
}

/* ---- bodies ------------------------------------------------------------------ */

enum { B_DATA = 0, B_DATA_CRLF, B_SIZE, B_TRAILER };

void rg_h1_body_init(rg_h1_body *b, const rg_h1_head *h, const rg_h1_limits *lim)
{
	rg_h1_limits def;
	if (!lim) {
		rg_h1_limits_default(&def);
		lim = &def;
	}
	memset(b, 0, sizeof *b);
	b->kind = h->body;
	b->max_chunk_line = lim->max_chunk_line < RG_H1_LIMIT_MAX ? lim->max_chunk_line : RG_H1_LIMIT_MAX;
	b->max_trailer_block = lim->max_trailer_block < RG_H1_LIMIT_MAX ? lim->max_trailer_block :
									  RG_H1_LIMIT_MAX;
	switch (h->body) {
	case RG_H1_BODY_LENGTH:
		b->remaining = h->content_length;
		b->done = b->remaining == 0;
		break;
	case RG_H1_BODY_CHUNKED:
		b->state = B_SIZE;
		break;
	case RG_H1_BODY_CLOSE:
		break;
	default:
		b->done = true;
		break;
	}
}

static inline int hexval(unsigned char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* 1*HEXDIG [BWS ";" ext]: the size below 2^63; whitespace only before a ';'
 * (a bare "5 " is one of the shapes parsers disagree on); the extension is
 * printable ASCII and HTAB, bounded by the line limit, and ignored. */
static rg_h1_status chunk_size_line(rg_h1_body *b, const char *s, size_t n)
{
	size_t i = 0;
	uint64_t v = 0;
	for (; i < n && is(s[i], C_HEX); i++) {
		if (v >> 59)
			return RG_H1_E_CHUNK_SIZE;
		v = v * 16 + (uint64_t)hexval((unsigned char)s[i]);
	}
	if (i == 0)
		return RG_H1_E_CHUNK_SIZE;
	size_t k = i;
	while (k < n && (s[k] == ' ' || s[k] == '\t'))
		k++;
	if ((k < n && s[k] != ';') || (k == n && k > i))
		return RG_H1_E_CHUNK_SIZE;
	for (; k < n; k++)
		if (!is(s[k], C_VCHAR) || (unsigned char)s[k] >= 0x80)
			return RG_H1_E_CHUNK_EXT;
	b->remaining = v;
	return RG_H1_DONE;
}

/* Validates as many complete framing lines as in[] holds and hands them out
 * as one FRAMING span, stopping before chunk data and before a trailer line
 * (which is its own span so the proxy can drop it). */
static rg_h1_status chunk_framing(rg_h1_body *b, const char *in, size_t len, rg_h1_span *span)
{
	size_t off = 0;
	while (!b->done && b->state != B_DATA) {
		size_t avail = len - off;
		if (b->state == B_DATA_CRLF) {
			if (avail >= 1 && in[off] != '\r')
				return RG_H1_E_CHUNK_CRLF;
			if (avail >= 2 && in[off + 1] != '\n')
				return RG_H1_E_CHUNK_CRLF;
			if (avail < 2)
				break;
			off += 2;
			b->state = B_SIZE;
			b->scan = 0;
			continue;
		}
		bool size = b->state == B_SIZE;
		size_t room = size ? b->max_chunk_line : b->max_trailer_block - b->trailer_bytes;
		size_t end = avail < room ? avail : room;
		const char *line = in + off;
		const char *lf = b->scan < end ? memchr(line + b->scan, '\n', end - b->scan) : NULL;
		if (!lf) {
			if (avail >= room)
				return size ? RG_H1_E_CHUNK_EXT : RG_H1_E_TRAILER_TOO_LARGE;
			b->scan = (uint32_t)end;
			break;
		}
		size_t eol = (size_t)(lf - line);
		if (eol == 0 || line[eol - 1] != '\r')
			return RG_H1_E_BARE_LF;
		size_t n = eol - 1;
		if (memchr(line, '\r', n))
			return RG_H1_E_BARE_CR;
		if (size) {
			rg_h1_status st = chunk_size_line(b, line, n);
			if (st)
				return st;
			b->state = b->remaining ? B_DATA : B_TRAILER;
		} else if (n == 0) {
			b->done = true;
		} else if (off > 0) {
			b->scan = 0;
			break; /* the framing first, the trailer next call */
		} else {
			size_t name_len, va, vb;
			if (field_line(line, n, &name_len, &va, &vb))
				return RG_H1_E_TRAILER;
			b->trailer_bytes += (uint32_t)(eol + 1);
			b->scan = 0;
			*span = (rg_h1_span){ RG_H1_SPAN_TRAILER, eol + 1, false };
			return RG_H1_DONE;
		}
		off += eol + 1;
		b->scan = 0;
	}
	if (off == 0)
		return RG_H1_AGAIN;
	*span = (rg_h1_span){ RG_H1_SPAN_FRAMING, off, b->done };
	return RG_H1_DONE;
}

rg_h1_status rg_h1_body_feed(rg_h1_body *b, const char *in, size_t len, rg_h1_span *span)
{
	*span = (rg_h1_span){ RG_H1_SPAN_DATA, 0, false };
	if (b->err)
		return (rg_h1_status)b->err;
	if (b->done) {
		span->end = true;
		return RG_H1_DONE;
	}
	if (b->state != B_DATA) {
		rg_h1_status st = chunk_framing(b, in, len, span);
		if (st > RG_H1_AGAIN)
			b->err = (uint8_t)st;
		return st;
	}
	if (len == 0)
		return RG_H1_AGAIN;
	size_t n = len;
	if (b->kind != RG_H1_BODY_CLOSE) {
		if (n > b->remaining)
			n = (size_t)b->remaining;
		b->remaining -= n;
		if (b->remaining == 0) {
			if (b->kind == RG_H1_BODY_LENGTH)
				b->done = true;
			else
				b->state = B_DATA_CRLF;
		}
	}
	b->payload += n;
	*span = (rg_h1_span){ RG_H1_SPAN_DATA, n, b->done };
	return RG_H1_DONE;
}

rg_h1_status rg_h1_body_eof(rg_h1_body *b)
{
	if (b->kind == RG_H1_BODY_CLOSE && !b->err)
		b->done = true;
	return b->done ? RG_H1_DONE : RG_H1_E_TRUNCATED;
}
