/* proxy_internal.h — what the proxy's files share: the worker, the client
 * connection (one exchange at a time) and the upstream connection. Not an
 * interface for anything outside src/proxy/proxy*.c, exchange.c, rewrite.c. */
#ifndef RG_PROXY_INTERNAL_H
#define RG_PROXY_INTERNAL_H

#define PX_POOL_MAX 256   /* idle upstream connections per worker */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/proxy.h"

/* What an epoll event's data.ptr points at starts with this. */
enum { PX_EV_LISTENER, PX_EV_WAKE, PX_EV_INBOX, PX_EV_CLIENT, PX_EV_UPSTREAM };
typedef struct px_ev {
	int kind;
	int fd;
	uint32_t events; /* the interest currently registered */
} px_ev;

/* A fixed-capacity byte buffer: bytes [off, len) are pending. */
typedef struct px_buf {
	char *b;
	size_t off, len, cap;
} px_buf;

typedef struct px_worker px_worker;
typedef struct px_client px_client;
typedef struct px_upstream px_upstream;

struct px_upstream {
	px_ev ev;
	px_worker *w;
	rg_sockaddr addr;
	px_client *c;                 /* the exchange using it; NULL when pooled */
	px_buf in, out;
	bool connecting;
	bool reused;                  /* came from the pool */
	bool got_bytes;               /* any response byte read */
	bool sent_bytes;              /* any request byte written */
	bool eof;                     /* read end or error: no more reads */
	bool pooled;
	int64_t since_ms;             /* connect start, or pooled since */
	px_upstream *prev, *next;     /* the worker's pool, when pooled */
};

/* PX_C_TUNNEL: after a 101, bytes flow both ways untouched (exchange.c). */
enum { PX_C_HEAD, PX_C_EXCHANGE, PX_C_TUNNEL, PX_C_CLOSING, PX_C_DEAD };

struct px_client {
	px_ev ev;
	px_worker *w;
	rg_sockaddr addr;
	char ip[RG_HOST_LEN];
	unsigned requests;            /* begun on this connection */
	int64_t body_start_ms;        /* the current request's head was complete */
	px_client *prev, *next;       /* the worker's connections */
	px_buf in, out;
	int state;
	bool in_eof;
	int64_t activity_ms;          /* last progress on either side */
	int64_t head_start_ms;        /* first byte of the current request head */
	/* the exchange */
	rg_h1_parser req;
	rg_h1_body req_body;
	size_t body_pos;              /* request body bytes not yet forwarded start here */
	bool req_done;                /* the whole request is in up->out */
	int64_t req_sent_ms;          /* req_done and up->out empty: since when */
	int64_t t_head_us;            /* request head complete (latency start) */
	int64_t t_resp_us;            /* response head queued for the client (latency end) */
	char req_id[17];
	bool picked;                  /* token held: done() owed */
	bool counted;                 /* to be recorded in shards[slot] when it ends */
	int attempt;
	int slot;
	void *token;
	const char *set_cookie;       /* the pick's, valid until done() */
	uint64_t retry_hint;          /* the pick's target.retry_hint ... */
	int retry_reason;             /* ... and why it failed, for the retry's pick */
	px_upstream *up;
	rg_h1_parser resp;
	rg_h1_body resp_body;
	bool resp_head_done, resp_done, dechunk;
	bool keep_client;
	int status;                   /* what the client got, 0 until then */
	/* the tunnel (PX_C_TUNNEL): c->in carries client → backend bytes,
	 * up->in backend → client; slot stays the release it was counted for */
	int64_t tunnel_ms;            /* the 101 was queued */
	bool up_shut;                 /* the client ended its side: SHUT_WR sent up */
};

#define PX_CLIENT_BUCKETS 4096

struct px_worker {
	rg_proxy *p;
	unsigned idx;
	pthread_t thread;
	int epfd;
	px_client *clients;
	px_upstream *pool;
	size_t pool_n;
	uint64_t rng;
	/* Closed connections wait here until the current batch of epoll events
	 * is handled: a later event of the batch may still point at them. */
	px_client *grave_c;
	px_upstream *grave_u;
	rg_stats_shard *shards[RG_PROXY_SLOTS];
	/* Connections handed to this worker by whichever worker accepted them
	 * (see proxy.c): a pipe of px_handoff records, read end in its epoll. */
	int inbox[2];
	px_ev inbox_ev;
	int conns;                    /* client connections assigned to it (atomic) */
	bool accept_paused;           /* the listener is out of its epoll until accept_resume_ms */
	int64_t accept_resume_ms;
};

/* One accepted connection on its way to the worker that will own it. */
typedef struct px_handoff {
	int fd;
	rg_sockaddr addr;
} px_handoff;

struct rg_proxy {
	rg_proxy_opts o;
	int listen_fd;
	int port;
	int wake_fd;
	px_ev listen_ev, wake_ev;
	size_t bufcap;
	unsigned nworkers;
	px_worker *workers;
	rg_stats_shard **slot_shards[RG_PROXY_SLOTS]; /* [slot][worker] */
	volatile int stopping;
	int draining;                 /* atomic: answer, then close (rg_proxy_drain) */
	/* connections per client address, by hash bucket (atomic): a bucket
	 * shared by two addresses counts both, so the bound only errs strict */
	int per_client[PX_CLIENT_BUCKETS];
	/* rg_proxy_retire_tunnels, per slot (atomic): tunnels opened at or
	 * before before_ms close at close_ms; close_ms 0: none is retired */
	struct { int64_t before_ms, close_ms; } retire[RG_PROXY_SLOTS];
};

/* proxy.c */
int px_buf_init(px_buf *b, size_t cap);
void px_buf_release(px_buf *b);
size_t px_buf_space(px_buf *b);       /* compacts first */
void px_buf_consume(px_buf *b, size_t n);
void px_set_events(px_worker *w, px_ev *ev, uint32_t events);
void px_close_fd(px_worker *w, px_ev *ev);

/* exchange.c */
void px_client_accepted(px_worker *w, int fd, const rg_sockaddr *addr);
void px_client_event(px_client *c, uint32_t events);
void px_upstream_event(px_upstream *u, uint32_t events);
void px_client_tick(px_client *c, int64_t now_ms);
void px_client_close(px_client *c);     /* abort: closes now, freed by px_reap */
/* One connection fewer in w->conns and in its client address's count. */
void px_client_unassigned(px_worker *w, const rg_sockaddr *addr);
/* The per-client bucket of addr (proxy.c). */
int *px_client_bucket(rg_proxy *p, const rg_sockaddr *addr);
void px_upstream_close(px_upstream *u);
void px_reap(px_worker *w);
/* A tunnel of slot opened at opened_ms must close by now (proxy.c). */
bool px_tunnel_retired(rg_proxy *p, int slot, int64_t opened_ms, int64_t now_ms);

/* rewrite.c: each returns the bytes written to dst, or 0 if cap is too small */
size_t px_request_head(const rg_proxy_opts *o, const rg_sockaddr *client,
		       char *dst, size_t cap, const char *buf, const rg_h1_head *h,
		       const char *client_ip, const char *req_id, const rg_sockaddr *backend);
size_t px_response_head(char *dst, size_t cap, const char *buf, const rg_h1_head *h,
			bool keep_alive, bool dechunk, const char *set_cookie);
size_t px_error_answer(char *dst, size_t cap, int status, const char *code, const char *message);
void px_request_id(uint64_t *rng, char out[17]);

#endif
