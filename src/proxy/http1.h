/* http1.h — the proxy's strict HTTP/1.1 message parser: request and response
 * heads, and an incremental body framer (Content-Length, chunked, close).
 * It never allocates, never copies and never reads a byte it was not given;
 * anything ambiguous (the request-smuggling shapes) is an error, not a guess.
 * The rules and the reasons are in docs/proxy-parsing.md.
 *
 * Memory model (zero-copy, offsets):
 *   The caller keeps the bytes of the message head contiguous in its own
 *   buffer, from the first byte of the message, and calls rg_h1_parse(p, buf,
 *   len) each time more bytes arrive, with the same bytes at the same offsets
 *   and len never shrinking. The buffer may move between calls (realloc,
 *   compaction): every result is an offset into it (rg_h1_slice), never a
 *   pointer. The parser remembers how far it has looked, so feeding a head one
 *   byte at a time costs O(n), not O(n^2). No per-request state lives outside
 *   the rg_h1_parser struct (about 2.1 KiB, fixed). */
#ifndef RG_PROXY_HTTP1_H
#define RG_PROXY_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Compile-time capacity of the header array; rg_h1_limits.max_headers may
 * only lower it. */
#define RG_H1_MAX_HEADERS 100
/* Every byte limit is cut to this (1 GiB) so 32-bit offsets cannot wrap. */
#define RG_H1_LIMIT_MAX (UINT32_C(1) << 30)

/* What rg_h1_parse, rg_h1_body_feed and rg_h1_body_eof return. 0 and 1 are
 * not errors; every other value is, with a static reason (rg_h1_reason) and
 * the status the proxy answers a client with (rg_h1_http_status). An error is
 * sticky: the parser keeps returning it, and the connection must be closed. */
typedef enum rg_h1_status {
	RG_H1_DONE = 0,              /* head complete / span produced / body ended */
	RG_H1_AGAIN,                 /* need more bytes */
	RG_H1_E_REQUEST_LINE_TOO_LONG, /* 414 */
	RG_H1_E_HEADERS_TOO_LARGE,   /* 431 */
	RG_H1_E_TOO_MANY_HEADERS,    /* 431 */
	RG_H1_E_BARE_LF,             /* LF not preceded by CR */
	RG_H1_E_BARE_CR,             /* CR not followed by LF */
	RG_H1_E_REQUEST_LINE,        /* not METHOD SP target SP HTTP/x.y */
	RG_H1_E_METHOD,              /* empty method or a non-token byte in it */
	RG_H1_E_TARGET,              /* request target not origin/absolute/asterisk form */
	RG_H1_E_VERSION,             /* well-formed but not HTTP/1.0 or 1.1: 505 */
	RG_H1_E_HEADER_NAME,         /* empty name, non-token byte, no colon */
	RG_H1_E_HEADER_NAME_WS,      /* whitespace between the name and the colon */
	RG_H1_E_HEADER_VALUE,        /* control byte in a value */
	RG_H1_E_OBS_FOLD,            /* line folding (a line starting with SP/HT) */
	RG_H1_E_HOST,                /* HTTP/1.1 without Host, two Hosts, bad Host */
	RG_H1_E_CONTENT_LENGTH,      /* not 1*DIGIT, or larger than 2^63-1 */
	RG_H1_E_DUP_CONTENT_LENGTH,  /* two Content-Length fields or a list */
	RG_H1_E_CL_AND_TE,           /* both Content-Length and Transfer-Encoding */
	RG_H1_E_TRANSFER_ENCODING,   /* not exactly "chunked" (or in HTTP/1.0) */
	RG_H1_E_EXPECT,              /* an expectation other than 100-continue: 417 */
	RG_H1_E_UPGRADE,             /* Upgrade not allowed, or a 101 not asked for / without Upgrade: 501 */
	RG_H1_E_CONNECT,             /* CONNECT: not supported, 501 */
	RG_H1_E_STATUS_LINE,         /* response: not HTTP/x.y SP 3DIGIT [SP reason] */
	RG_H1_E_CHUNK_SIZE,          /* chunk size not 1*HEXDIG, or overflowing */
	RG_H1_E_CHUNK_EXT,           /* bad byte in a chunk extension, or line too long */
	RG_H1_E_CHUNK_CRLF,          /* chunk data not followed by CRLF */
	RG_H1_E_TRAILER,             /* malformed trailer field */
	RG_H1_E_TRAILER_TOO_LARGE,   /* trailer section over max_trailer_block */
	RG_H1_E_TRUNCATED,           /* connection ended inside a body */
	RG_H1_STATUS_COUNT
} rg_h1_status;

/* Limits, all in bytes except max_headers. rg_h1_limits_default fills:
 *   max_request_line  8192  the request (or status) line with its CRLF, and
 *                           any empty lines before it                  → 414
 *   max_header_block 16384  every header line and the final empty line → 431
 *   max_headers        100  header fields (≤ RG_H1_MAX_HEADERS)         → 431
 *   max_chunk_line    1024  one chunk-size line with its extensions and CRLF
 *   max_trailer_block 4096  the trailer section with its final CRLF
 * ignore_upgrade false: a request with Upgrade is refused (RG_H1_E_UPGRADE).
 * When true the request is accepted with head.upgrade set, and the proxy
 * must drop Upgrade (a hop-by-hop field) when forwarding.
 * allow_upgrade (wins over ignore_upgrade): a request asking for a protocol
 * switch — HTTP/1.1, an Upgrade field, `upgrade` among the Connection
 * options, no body — is accepted with head.tunnel set (the proxy forwards
 * Upgrade and tunnels if the answer is a 101); an Upgrade field without the
 * rest is ignored (RFC 9110 §7.8), head.tunnel false. */
typedef struct rg_h1_limits {
	uint32_t max_request_line;
	uint32_t max_header_block;
	uint32_t max_headers;
	uint32_t max_chunk_line;
	uint32_t max_trailer_block;
	bool ignore_upgrade;
	bool allow_upgrade;
} rg_h1_limits;

void rg_h1_limits_default(rg_h1_limits *lim);

/* A byte range of the caller's buffer: buf + off, len bytes. */
typedef struct rg_h1_slice {
	uint32_t off;
	uint32_t len;
} rg_h1_slice;

/* Fields the parser or the proxy acts on, recognised case-insensitively so
 * the proxy never compares names itself. */
typedef enum rg_h1_field {
	RG_H1_F_OTHER = 0,
	RG_H1_F_HOST,
	RG_H1_F_CONTENT_LENGTH,
	RG_H1_F_TRANSFER_ENCODING,
	RG_H1_F_CONNECTION,
	RG_H1_F_KEEP_ALIVE,
	RG_H1_F_PROXY_CONNECTION,
	RG_H1_F_TE,
	RG_H1_F_TRAILER,
	RG_H1_F_UPGRADE,
	RG_H1_F_EXPECT,
	RG_H1_F_COOKIE,
	RG_H1_F_X_FORWARDED_FOR,
	RG_H1_F_X_FORWARDED_PROTO,
	RG_H1_F_X_REQUEST_ID,
	RG_H1_F_X_ROLLGUARD_RELEASE,
	RG_H1_F_COUNT
} rg_h1_field;

/* Name as received; value without leading and trailing SP/HTAB. */
typedef struct rg_h1_header {
	rg_h1_slice name;
	rg_h1_slice value;
	uint8_t field; /* rg_h1_field */
} rg_h1_header;

typedef enum rg_h1_body_kind {
	RG_H1_BODY_NONE = 0, /* no body: the next message starts at head_len */
	RG_H1_BODY_LENGTH,   /* exactly content_length bytes (may be 0) */
	RG_H1_BODY_CHUNKED,  /* chunked transfer coding, validated by the framer */
	RG_H1_BODY_CLOSE     /* responses only: until the upstream closes */
} rg_h1_body_kind;

typedef enum rg_h1_target_form {
	RG_H1_TARGET_ORIGIN = 0, /* /path?query */
	RG_H1_TARGET_ABSOLUTE,   /* http://authority/path?query (RFC 9112 §3.2.2) */
	RG_H1_TARGET_ASTERISK    /* "*", OPTIONS only */
} rg_h1_target_form;

/* The parsed head; valid once rg_h1_parse returned RG_H1_DONE. */
typedef struct rg_h1_head {
	size_t head_len;         /* bytes of the head, final CRLF included */
	uint8_t version_minor;   /* HTTP/1.<minor>: 0 or 1 */
	/* request */
	rg_h1_slice method;
	rg_h1_slice target;      /* as received */
	uint8_t target_form;     /* rg_h1_target_form */
	rg_h1_slice authority;   /* absolute-form: the authority (equals Host) */
	rg_h1_slice path;        /* absolute-form: from the first '/' or '?', may be
				  * empty (forward as "/"); origin-form: = target */
	rg_h1_slice host;        /* the Host value (len 0 if none: HTTP/1.0) */
	bool is_head;            /* method is HEAD */
	bool expect_continue;    /* HTTP/1.1 and Expect: 100-continue */
	bool upgrade;            /* an Upgrade field was present */
	/* request: a protocol switch asked for (allow_upgrade, see above);
	 * response: a 101 to such a request — what follows the head is the
	 * other protocol, in both directions, until either side closes */
	bool tunnel;
	/* response */
	int status;
	rg_h1_slice reason;
	/* both */
	uint8_t body;            /* rg_h1_body_kind */
	uint64_t content_length; /* RG_H1_BODY_LENGTH */
	bool keep_alive;         /* the connection may carry another message */
	uint32_t nheaders;
	rg_h1_header headers[RG_H1_MAX_HEADERS];
} rg_h1_head;

typedef struct rg_h1_parser {
	rg_h1_limits lim;
	bool response;
	bool request_was_head;   /* response to a HEAD: never a body */
	uint8_t state;
	uint8_t status;          /* rg_h1_status, sticky once not AGAIN */
	uint32_t line_start;     /* offset of the line being parsed */
	uint32_t scan;           /* searched for LF up to here */
	uint32_t header_start;   /* offset of the first header line */
	uint8_t host_count;
	uint8_t te_chunked;      /* "chunked" codings seen */
	bool have_cl, have_te, te_last_chunked, conn_close, conn_keep_alive, conn_upgrade;
	/* response parser: the request had head.tunnel, so a 101 is an
	 * acceptable answer (anything else refuses one: we never asked). Set
	 * after rg_h1_response_init. */
	bool upgrade_asked;
	rg_h1_head head;
} rg_h1_parser;

/* Set up a parser for one request head (no allocation). lim NULL means the
 * defaults. Call again for the next request on the connection. */
void rg_h1_request_init(rg_h1_parser *p, const rg_h1_limits *lim);
/* For one response head; request_was_head: the request's method was HEAD. */
void rg_h1_response_init(rg_h1_parser *p, const rg_h1_limits *lim, bool request_was_head);

/* buf holds the message from its first byte; len is every byte received so
 * far (it may run past the head: body and pipelined messages are left
 * alone). Returns RG_H1_DONE (p->head is filled, the body starts at
 * buf + p->head.head_len), RG_H1_AGAIN, or an error. */
rg_h1_status rg_h1_parse(rg_h1_parser *p, const char *buf, size_t len);

/* The index of the first header with this field id at or after from, or -1. */
int rg_h1_find(const rg_h1_head *h, rg_h1_field field, uint32_t from);
/* Connection-level fields a proxy must not forward (RFC 9110 §7.6.1). */
bool rg_h1_field_hop_by_hop(rg_h1_field field);

/* ---- bodies -------------------------------------------------------------------
 * The framer tells the proxy, span by span, which bytes belong to the body
 * and what they are. Each rg_h1_body_feed call looks at in[0..len) and either
 * returns RG_H1_DONE with one span (consume exactly span.len bytes, then call
 * again with the rest), RG_H1_AGAIN (nothing consumed: keep these bytes and
 * call again with them and more — only a partial chunk-size line, CRLF or
 * trailer line is ever held back, at most max_chunk_line or max_trailer_block
 * bytes), or an error. Framing lines are handed out only after they were
 * validated, so forwarding FRAMING and DATA spans verbatim (and dropping
 * TRAILER spans) re-sends a valid chunked body; re-chunking uses DATA only. */
typedef enum rg_h1_span_kind {
	RG_H1_SPAN_DATA = 0, /* payload */
	RG_H1_SPAN_FRAMING,  /* chunk-size lines, CRLF after data, last chunk, final CRLF */
	RG_H1_SPAN_TRAILER   /* one trailer field line with its CRLF (validated) */
} rg_h1_span_kind;

typedef struct rg_h1_span {
	uint8_t kind;  /* rg_h1_span_kind */
	size_t len;
	bool end;      /* this span ended the body */
} rg_h1_span;

typedef struct rg_h1_body {
	uint8_t kind;            /* rg_h1_body_kind */
	uint8_t state;
	bool done;
	uint8_t err;             /* rg_h1_status once an error happened: sticky */
	uint64_t remaining;      /* LENGTH: bytes left; CHUNKED: left in this chunk */
	uint64_t payload;        /* payload bytes so far */
	uint32_t scan;           /* pending line: searched for LF up to here */
	uint32_t trailer_bytes;
	uint32_t max_chunk_line;
	uint32_t max_trailer_block;
} rg_h1_body;

/* From a parsed head; lim NULL means the defaults. */
void rg_h1_body_init(rg_h1_body *b, const rg_h1_head *h, const rg_h1_limits *lim);
rg_h1_status rg_h1_body_feed(rg_h1_body *b, const char *in, size_t len, rg_h1_span *span);
/* The peer closed: RG_H1_DONE if the body is complete (always so for
 * RG_H1_BODY_CLOSE, which ends here), else RG_H1_E_TRUNCATED. */
rg_h1_status rg_h1_body_eof(rg_h1_body *b);
static inline bool rg_h1_body_done(const rg_h1_body *b) { return b->done; }

/* "bad chunk size", … — static, lowercase, no full stop. */
const char *rg_h1_reason(rg_h1_status st);
/* The status a server answers a request error with (400, 414, 431, 417,
 * 501, 505); 0 for RG_H1_DONE and RG_H1_AGAIN. An upstream response error is
 * always a 502, whatever this says. */
int rg_h1_http_status(rg_h1_status st);
/* "bare_lf", … — stable names for logs and metrics labels. */
const char *rg_h1_status_name(rg_h1_status st);

#endif
