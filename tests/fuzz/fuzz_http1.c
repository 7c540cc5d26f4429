/* fuzz_http1.c — libFuzzer driver for src/proxy/http1.c.
 * The input is a byte stream from a client (and, second, from an upstream):
 * messages are parsed one after another as on a keep-alive connection. Each
 * head and each body is parsed twice — whole, and in pieces whose sizes come
 * from a generator seeded by the input — on exact-size heap copies, so any
 * read past the bytes given is an ASan report. The two must agree exactly,
 * and every success must be self-consistent (see check_head, check_body).
 * Build and run: `make fuzz` (needs clang with libFuzzer: Debian's clang). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/http1.h"

#define CHECK(cond)                                                                 \
	do {                                                                        \
		if (!(cond)) {                                                      \
			fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond,    \
				__FILE__, __LINE__);                                \
			abort();                                                    \
		}                                                                   \
	} while (0)

static uint64_t rng;

static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

/* Mostly tiny pieces (where the boundaries are), sometimes big ones. */
static size_t piece(void)
{
	uint32_t r = next_rand();
	return (r & 3) ? 1 + (r >> 4) % 4 : 1 + (r >> 4) % 300;
}

static char *copy(const uint8_t *s, size_t n)
{
	char *c = malloc(n ? n : 1);
	CHECK(c);
	if (n)
		memcpy(c, s, n);
	return c;
}

static rg_h1_status parse_whole(rg_h1_parser *p, const rg_h1_limits *lim, bool response, bool head_req,
				const uint8_t *s, size_t n)
{
	if (response) {
		rg_h1_response_init(p, lim, head_req);
		p->upgrade_asked = lim->allow_upgrade; /* the proxy asks only then */
	} else {
		rg_h1_request_init(p, lim);
	}
	char *c = copy(s, n);
	rg_h1_status st = rg_h1_parse(p, c, n);
	free(c);
	return st;
}

static rg_h1_status parse_pieces(rg_h1_parser *p, const rg_h1_limits *lim, bool response,
				 bool head_req, const uint8_t *s, size_t n)
{
	if (response) {
		rg_h1_response_init(p, lim, head_req);
		p->upgrade_asked = lim->allow_upgrade; /* the proxy asks only then */
	} else {
		rg_h1_request_init(p, lim);
	}
	size_t len = 0;
	rg_h1_status st;
	do {
		len += piece();
		if (len > n)
			len = n;
		char *c = copy(s, len);
		st = rg_h1_parse(p, c, len);
		free(c);
	} while (st == RG_H1_AGAIN && len < n);
	return st;
}

static bool slice_eq(rg_h1_slice a, rg_h1_slice b)
{
	return a.off == b.off && a.len == b.len;
}

static void same_head(const rg_h1_head *a, const rg_h1_head *b)
{
	CHECK(a->head_len == b->head_len);
	CHECK(a->version_minor == b->version_minor);
	CHECK(slice_eq(a->method, b->method) && slice_eq(a->target, b->target));
	CHECK(slice_eq(a->host, b->host) && slice_eq(a->authority, b->authority));
	CHECK(slice_eq(a->path, b->path) && slice_eq(a->reason, b->reason));
	CHECK(a->status == b->status && a->body == b->body);
	CHECK(a->content_length == b->content_length && a->keep_alive == b->keep_alive);
	CHECK(a->expect_continue == b->expect_continue && a->is_head == b->is_head);
	CHECK(a->nheaders == b->nheaders);
	for (uint32_t i = 0; i < a->nheaders; i++) {
		CHECK(slice_eq(a->headers[i].name, b->headers[i].name));
		CHECK(slice_eq(a->headers[i].value, b->headers[i].value));
		CHECK(a->headers[i].field == b->headers[i].field);
	}
}

static bool tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void in_head(const rg_h1_head *h, rg_h1_slice s)
{
	CHECK((size_t)s.off + s.len <= h->head_len);
}

/* A head that parsed is well-formed and its framing follows from its fields. */
static void check_head(const rg_h1_head *h, const rg_h1_limits *lim, bool response, bool head_req,
		       const uint8_t *s, size_t n)
{
	CHECK(h->head_len >= 4 && h->head_len <= n);
	CHECK(!memcmp(s + h->head_len - 4, "\r\n\r\n", 4));
	for (size_t i = 0; i < h->head_len; i++) {
		if (s[i] == '\n')
			CHECK(i > 0 && s[i - 1] == '\r');
		if (s[i] == '\r')
			CHECK(i + 1 < h->head_len && s[i + 1] == '\n');
	}
	CHECK(h->version_minor <= 1);
	CHECK(h->nheaders <= lim->max_headers && h->nheaders <= RG_H1_MAX_HEADERS);
	int cl = 0, te = 0, host = 0;
	for (uint32_t i = 0; i < h->nheaders; i++) {
		const rg_h1_header *f = &h->headers[i];
		in_head(h, f->name);
		in_head(h, f->value);
		CHECK(f->name.len > 0);
		for (uint32_t k = 0; k < f->name.len; k++)
			CHECK(tchar(s[f->name.off + k]));
		for (uint32_t k = 0; k < f->value.len; k++) {
			unsigned char c = s[f->value.off + k];
			CHECK(c == '\t' || (c >= 0x20 && c != 0x7f));
		}
		if (f->value.len) {
			CHECK(s[f->value.off] != ' ' && s[f->value.off] != '\t');
			CHECK(s[f->value.off + f->value.len - 1] != ' ');
		}
		cl += f->field == RG_H1_F_CONTENT_LENGTH;
		te += f->field == RG_H1_F_TRANSFER_ENCODING;
		host += f->field == RG_H1_F_HOST;
	}
	CHECK(cl <= 1);
	CHECK(!(cl && te));
	if (!response) {
		in_head(h, h->method);
		in_head(h, h->target);
		CHECK(h->method.len > 0 && h->target.len > 0);
		for (uint32_t k = 0; k < h->method.len; k++)
			CHECK(tchar(s[h->method.off + k]));
		CHECK(!(h->method.len == 7 && !memcmp(s + h->method.off, "CONNECT", 7)));
		CHECK(h->version_minor == 0 || host == 1);
		CHECK(host <= 1);
		CHECK(te <= 1);
		CHECK(h->body != RG_H1_BODY_CLOSE);
		CHECK((h->body == RG_H1_BODY_CHUNKED) == (te == 1));
		CHECK((h->body == RG_H1_BODY_LENGTH) == (cl == 1));
		CHECK(!te || h->version_minor == 1);
		CHECK(!h->upgrade || lim->ignore_upgrade || lim->allow_upgrade);
		CHECK(!h->tunnel || (lim->allow_upgrade && h->upgrade && h->version_minor == 1 &&
				     (h->body == RG_H1_BODY_NONE ||
				      (h->body == RG_H1_BODY_LENGTH && h->content_length == 0))));
	} else {
		CHECK(h->status >= 100 && h->status <= 599);
		CHECK(h->tunnel == (h->status == 101));
		CHECK(h->status != 101 || (lim->allow_upgrade && h->upgrade &&
					   h->body == RG_H1_BODY_NONE && !h->keep_alive));
		bool nobody = h->status < 200 || h->status == 204 || h->status == 304 || head_req;
		if (nobody)
			CHECK(h->body == RG_H1_BODY_NONE);
		else if (te)
			CHECK(h->body == RG_H1_BODY_CHUNKED);
		else if (cl)
			CHECK(h->body == RG_H1_BODY_LENGTH);
		else
			CHECK(h->body == RG_H1_BODY_CLOSE && !h->keep_alive);
	}
}

typedef struct body_run {
	rg_h1_status st;
	size_t consumed;
	uint64_t payload;     /* payload bytes */
	uint64_t payload_sum; /* a position-weighted checksum of them */
	char *verbatim;       /* framing + data, trailers dropped */
	size_t verbatim_len;
	bool done;
} body_run;

/* Drives a framer over s[0..n) in pieces (step 0: random) with the bytes it
 * holds back kept, each call on an exact-size copy. */
static void run_body(const rg_h1_head *h, const rg_h1_limits *lim, const uint8_t *s, size_t n,
		     size_t step, body_run *r)
{
	rg_h1_body b;
	rg_h1_body_init(&b, h, lim);
	memset(r, 0, sizeof *r);
	r->verbatim = malloc(n + 1);
	CHECK(r->verbatim);
	size_t pos = 0, avail = step ? step : piece();
	if (avail > n)
		avail = n;
	r->st = RG_H1_DONE;
	while (!rg_h1_body_done(&b)) {
		rg_h1_span span;
		char *c = copy(s + pos, avail - pos);
		rg_h1_status st = rg_h1_body_feed(&b, c, avail - pos, &span);
		if (st == RG_H1_DONE) {
			CHECK(span.len <= avail - pos);
			CHECK(span.len > 0 || span.end);
			CHECK(span.end == rg_h1_body_done(&b));
			if (span.kind == RG_H1_SPAN_DATA) {
				for (size_t i = 0; i < span.len; i++)
					r->payload_sum = r->payload_sum * 31 + (uint8_t)c[i];
				r->payload += span.len;
			} else {
				CHECK(h->body == RG_H1_BODY_CHUNKED);
			}
			if (span.kind != RG_H1_SPAN_TRAILER) {
				memcpy(r->verbatim + r->verbatim_len, c, span.len);
				r->verbatim_len += span.len;
			}
			pos += span.len;
		}
		free(c);
		if (st > RG_H1_AGAIN) {
			r->st = st;
			break;
		}
		if (st == RG_H1_AGAIN || pos == avail) {
			if (avail == n) {
				r->st = RG_H1_AGAIN;
				break;
			}
			avail += step ? step : piece();
			if (avail > n)
				avail = n;
		}
	}
	r->consumed = pos;
	r->done = rg_h1_body_done(&b);
	CHECK(b.payload == r->payload);
	if (r->done && h->body == RG_H1_BODY_LENGTH)
		CHECK(r->payload == h->content_length);
	if (h->body == RG_H1_BODY_NONE)
		CHECK(r->done && r->consumed == 0);
}

/* Returns the bytes the body took, or (size_t)-1 if the stream ends here. */
static size_t check_body(const rg_h1_head *h, const rg_h1_limits *lim, const uint8_t *s, size_t n)
{
	body_run whole, parts;
	run_body(h, lim, s, n, n ? n : 1, &whole);
	run_body(h, lim, s, n, 0, &parts);
	CHECK(whole.st == parts.st);
	CHECK(whole.done == parts.done);
	if (whole.st > RG_H1_AGAIN) {
		/* the error is the same; how much validated framing went out
		 * before it depends on the split, and the connection closes */
		free(whole.verbatim);
		free(parts.verbatim);
		return (size_t)-1;
	}
	CHECK(whole.consumed == parts.consumed);
	CHECK(whole.payload == parts.payload && whole.payload_sum == parts.payload_sum);
	CHECK(whole.verbatim_len == parts.verbatim_len);
	CHECK(!memcmp(whole.verbatim, parts.verbatim, whole.verbatim_len));
	if (whole.done && h->body == RG_H1_BODY_CHUNKED) {
		/* what a proxy forwards (trailers dropped) is itself a valid body */
		body_run again;
		run_body(h, lim, (const uint8_t *)whole.verbatim, whole.verbatim_len,
			 whole.verbatim_len, &again);
		CHECK(again.done && again.consumed == whole.verbatim_len);
		CHECK(again.payload == whole.payload && again.payload_sum == whole.payload_sum);
		free(again.verbatim);
	}
	size_t used = whole.done ? whole.consumed : (size_t)-1;
	free(whole.verbatim);
	free(parts.verbatim);
	return used;
}

static void check_stream(const uint8_t *s, size_t n, const rg_h1_limits *lim, bool response,
			 bool head_req)
{
	static rg_h1_parser whole, parts;
	size_t pos = 0;
	for (int msg = 0; msg < 8 && pos < n; msg++) {
		rg_h1_status a = parse_whole(&whole, lim, response, head_req, s + pos, n - pos);
		rg_h1_status b = parse_pieces(&parts, lim, response, head_req, s + pos, n - pos);
		if (a != b) {
			fprintf(stderr, "whole: %s, pieces: %s\n", rg_h1_status_name(a),
				rg_h1_status_name(b));
			abort();
		}
		CHECK(*rg_h1_reason(a));
		CHECK(a <= RG_H1_AGAIN || rg_h1_http_status(a) >= 400);
		if (a != RG_H1_DONE)
			return;
		same_head(&whole.head, &parts.head);
		check_head(&whole.head, lim, response, head_req, s + pos, n - pos);
		pos += whole.head.head_len;
		size_t used = check_body(&whole.head, lim, s + pos, n - pos);
		if (used == (size_t)-1)
			return;
		pos += used;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t h = 1469598103934665603u; /* FNV-1a: the pieces follow the input */
	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 1099511628211u;
	rng = h | 1;

	rg_h1_limits lim;
	rg_h1_limits_default(&lim);
	if ((h >> 60) == 0) {
		/* one input in 16 meets small limits, to reach the limit paths */
		lim.max_request_line = 40;
		lim.max_header_block = 80;
		lim.max_headers = 3;
		lim.max_chunk_line = 12;
		lim.max_trailer_block = 24;
	}
	lim.ignore_upgrade = (h >> 59) & 1;
	lim.allow_upgrade = (h >> 57) & 1;
	check_stream(data, size, &lim, false, false);
	check_stream(data, size, &lim, true, (h >> 58) & 1);
	return 0;
}
