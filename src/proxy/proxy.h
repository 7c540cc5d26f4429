/* proxy.h — the data plane's HTTP/1.1 reverse proxy engine: N worker threads,
 * each with its own epoll loop, keep-alive on both sides, pooled upstream
 * connections, bodies streamed through fixed buffers. It never buffers a
 * whole body and never blocks a worker; which backend a request goes to is
 * the caller's decision (the pick callback). Described in docs/proxy.md. */
#ifndef RG_PROXY_PROXY_H
#define RG_PROXY_PROXY_H

#include <netinet/in.h>
#include <stdint.h>

#include "analysis/stats.h"
#include "proxy/http1.h"
#include "util/cidr.h"
#include "util/err.h"
#include "util/hostport.h"

/* Statistics slots (rg_proxy_target.slot). What a slot stands for is the
 * caller's business: the dataplane gives each release named by the route
 * state a slot of its own, so a release keeps its figures when it changes
 * side. */
#define RG_PROXY_SLOTS 4

/* A request as the pick callback sees it. Everything is borrowed for the
 * duration of the call only: head's slices are offsets into buf. */
typedef struct rg_proxy_request {
	const char *buf;              /* the request head's bytes */
	const rg_h1_head *head;       /* method, target, headers (rg_h1_find) */
	rg_sockaddr client;           /* the client's address, IPv4 or IPv6 */
	int attempt;                  /* 0; 1 on the one retry (connect failed, or a
				       * pooled connection died before answering) */
	/* attempt 1 only: the first pick's target.retry_hint, and why its
	 * upstream failed (an rg_upstream_error: RG_UPSTREAM_CONNECT, nothing
	 * was sent; RG_UPSTREAM_PROTOCOL, a pooled connection died before
	 * answering). 0 and -1 on attempt 0. */
	uint64_t retry_hint;
	int retry_reason;
} rg_proxy_request;

/* What the pick callback answers. */
typedef struct rg_proxy_target {
	rg_sockaddr addr;             /* the backend, IPv4 or IPv6 */
	int slot;                     /* statistics index, 0 .. RG_PROXY_SLOTS-1 */
	/* NULL, or "NAME=VALUE": the response head sent to the client gets
	 * `Set-Cookie: NAME=VALUE; Path=/; HttpOnly; SameSite=Lax`. The string
	 * must stay valid until done() for this token; one with a control byte
	 * is ignored. Not added to the proxy's own error answers. */
	const char *set_cookie;
	/* Opaque to the proxy: handed to the retry's pick as req->retry_hint
	 * (the token is done() by then), e.g. which backend to skip. */
	uint64_t retry_hint;
	void *token;                  /* handed back to done() exactly once */
} rg_proxy_target;

/* pick: choose a backend; return 0 and fill *out, or non-zero when there is
 * none (the client gets a 503; on the retry, the 502 of the first attempt).
 * A failing pick may set out->slot (the proxy sets it to -1 first) to have
 * the request and its error counted in that slot; on the retry it is
 * counted in the first attempt's slot unless pick names another.
 * failed: an upstream attempt of the request picked with this token failed
 * (kind: connect refused or timed out, response timeout, protocol); called
 * before done() for that token, e.g. to mark the backend down. done: the
 * request picked with this token has
 * finished; status is what the client got (0 when the client went away
 * before any answer). Both run on worker threads, concurrently with each
 * other and with themselves: they must be thread-safe and must not block.
 * done is called for every successful pick, the first pick of a retried
 * request included (with 502), and for in-flight requests at rg_proxy_stop. */
typedef int (*rg_proxy_pick_fn)(void *ctx, const rg_proxy_request *req, rg_proxy_target *out);
typedef void (*rg_proxy_done_fn)(void *ctx, void *token, int status);
typedef void (*rg_proxy_failed_fn)(void *ctx, void *token, rg_upstream_error kind);

typedef struct rg_proxy_opts {
	const char *listen;           /* HOST:PORT (util/hostport.h); port 0 picks a free one */
	unsigned threads;             /* 0: one per online CPU */
	int connect_timeout_ms;       /* upstream TCP connect (default 2000) */
	int response_header_timeout_ms; /* request fully sent → response head (30000) */
	int idle_timeout_ms;          /* keep-alive wait, and no progress mid-exchange (60000) */
	int client_header_timeout_ms; /* first byte → complete request head (10000) */
	rg_h1_limits limits;          /* request and response parsing */
	rg_proxy_pick_fn pick;        /* required */
	rg_proxy_done_fn done;        /* may be NULL */
	rg_proxy_failed_fn failed;    /* may be NULL */
	void *ctx;                    /* passed to pick and done */
	/* -1 (the default): bind listen. Else a listening socket inherited from
	 * the process that served before (an upgrade): used as is, and listen
	 * only names it. The proxy owns it from rg_proxy_start on. */
	int listen_fd;
	/* NULL (the default): the proxy allocates its statistics shards. Else
	 * RG_PROXY_SLOTS * threads shards placed by the caller (slot-major:
	 * shards[slot * threads + worker], threads must then be non-zero),
	 * e.g. in memory shared with another process; borrowed, never freed. */
	rg_stats_shard *const *shards;
	/* The front door (docs/proxy.md, "Limits"); 0 / NULL: no bound. */
	unsigned max_connections;     /* client connections; beyond, the listener pauses */
	unsigned max_per_client;      /* connections per client address; beyond, closed at once */
	int client_body_timeout_ms;   /* head complete → whole request body, else 408 */
	unsigned max_requests;        /* per client connection, the last one with Connection: close */
	/* Never forwarded (the force header's name); X-Rollguard-Release never
	 * is either. Borrowed. */
	const char *strip_header;
	/* X-Forwarded-For and -Proto received from these are kept (and the
	 * client appended); from anyone else they are replaced. Borrowed. */
	const rg_cidr *trusted;
	size_t n_trusted;
	bool https;                   /* X-Forwarded-Proto: https (else http) */
} rg_proxy_opts;

typedef struct rg_proxy rg_proxy;

/* Defaults for everything but listen, pick, done and ctx. */
void rg_proxy_opts_default(rg_proxy_opts *o);

/* Bind, create the statistics shards and start the workers. On failure
 * nothing is left running: "cannot listen on 127.0.0.1:80: address in use". */
rg_err rg_proxy_start(const rg_proxy_opts *opts, rg_proxy **out, rg_error *err);
/* Stop accepting, close every connection (done() for in-flight requests),
 * join the workers and free everything. NULL is fine. */
void rg_proxy_stop(rg_proxy *p);

/* The port actually bound (useful with port 0). */
int rg_proxy_port(const rg_proxy *p);
/* The listening socket (still the proxy's), to hand to a successor. */
int rg_proxy_listen_fd(const rg_proxy *p);
/* For a hand-over to a successor that accepts from the same socket (so
 * nothing is refused): stops accepting — the workers forget the listening
 * socket — and answers each connection's request under way or next with
 * `Connection: close`, then closes it. Any thread. */
void rg_proxy_drain(rg_proxy *p);
/* Tunnels (connections switched by a 101, docs/proxy.md "WebSockets")
 * counted in slot and open now are closed after_ms from now — their release
 * is no longer routed and its drain ends then. after_ms < 0 cancels (the
 * release is routed again). Tunnels opened later are not affected. Any
 * thread. */
void rg_proxy_retire_tunnels(rg_proxy *p, int slot, int after_ms);
/* Client connections open now (a drained proxy is done at 0). */
long rg_proxy_connections(const rg_proxy *p);

/* Whole-life statistics of one slot summed over the workers; any thread,
 * any time while the proxy runs. RG_EINVAL for a bad slot. */
rg_err rg_proxy_snapshot(rg_proxy *p, int slot, rg_stats_summary *out, rg_error *err);
/* The same over the last window_s seconds (1..RG_STATS_WINDOW_SLOTS). */
rg_err rg_proxy_window(rg_proxy *p, int slot, int window_s, rg_stats_summary *out, rg_error *err);

#endif
