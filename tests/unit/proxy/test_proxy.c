/* test_proxy.c — the reverse proxy end to end on 127.0.0.1: a small backend
 * on threads inside the test, a client on blocking sockets with timeouts,
 * the proxy between them. Every socket has a timeout so nothing hangs. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/http1.h"
#include "proxy/proxy.h"
#include "proxy/proxy_internal.h" /* the workers' connection counts */
#include "util/timeutil.h"

/* ---- a tiny backend ------------------------------------------------------------ */

#define MAX_CONNS 256
#define BIG (5u << 20)

typedef struct backend {
	int fd;
	int port;
	atomic_int accepts;
	atomic_int stop;
	pthread_t thread;
	pthread_t conns[MAX_CONNS];
	int nconns;
} backend;

typedef struct bconn {
	backend *b;
	int fd;
} bconn;

static uint64_t fnv(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static bool slice_is(const char *buf, rg_h1_slice s, const char *lit)
{
	return s.len == strlen(lit) && memcmp(buf + s.off, lit, s.len) == 0;
}

/* /upgrade: a 101 (only if the switch was forwarded) with a first frame
 * of its own, then every byte back as it came (those that followed the
 * head first), and "bye" once the client ended its side. */
static void tunnel_echo(int fd, const char *head, const char *rest, size_t rest_len)
{
	if (!strstr(head, "\r\nUpgrade: echo\r\n") || !strstr(head, "\r\nConnection: upgrade\r\n")) {
		static const char no[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\nno";
		send_all(fd, no, sizeof no - 1);
		return;
	}
	static const char yes[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\n"
				  "Connection: Upgrade\r\nX-Tunnel: 1\r\n\r\nearly:";
	if (send_all(fd, yes, sizeof yes - 1) < 0 || send_all(fd, rest, rest_len) < 0)
		return;
	char b[4096];
	for (;;) {
		struct pollfd pf = { fd, POLLIN, 0 };
		if (poll(&pf, 1, 3000) <= 0)
			return;
		ssize_t n = recv(fd, b, sizeof b, 0);
		if (n == 0) {
			send_all(fd, "bye", 3);
			return;
		}
		if (n < 0 || send_all(fd, b, (size_t)n) < 0)
			return;
	}
}

/* Serves requests on one connection until it closes or the backend stops. */
static void *bconn_main(void *arg)
{
	bconn *bc = arg;
	int fd = bc->fd;
	backend *b = bc->b;
	free(bc);
	size_t cap = 1 << 20;
	char *buf = malloc(cap);
	size_t len = 0;
	for (;;) {
		rg_h1_parser p;
		rg_h1_limits lim;
		rg_h1_limits_default(&lim);
		lim.ignore_upgrade = true; /* /upgrade: the proxy forwards a switch */
		rg_h1_request_init(&p, &lim);
		rg_h1_status st;
		while ((st = rg_h1_parse(&p, buf, len)) == RG_H1_AGAIN) {
			struct pollfd pf = { fd, POLLIN, 0 };
			if (atomic_load(&b->stop))
				goto out;
			if (poll(&pf, 1, 50) <= 0)
				continue;
			ssize_t n = recv(fd, buf + len, cap - len, 0);
			if (n <= 0)
				goto out;
			len += (size_t)n;
		}
		if (st != RG_H1_DONE)
			goto out;
		rg_h1_head h = p.head;
		char head[16384];
		size_t hl = h.head_len < sizeof head - 1 ? h.head_len : sizeof head - 1;
		memcpy(head, buf, hl);
		head[hl] = '\0';
		rg_h1_body body;
		rg_h1_body_init(&body, &h, NULL);
		size_t pos = h.head_len;
		uint64_t sum = UINT64_C(14695981039346656037), payload = 0;
		while (!rg_h1_body_done(&body)) {
			rg_h1_span sp;
			st = len > pos ? rg_h1_body_feed(&body, buf + pos, len - pos, &sp) : RG_H1_AGAIN;
			if (st == RG_H1_DONE) {
				if (sp.kind == RG_H1_SPAN_DATA) {
					sum = fnv(sum, buf + pos, sp.len);
					payload += sp.len;
				}
				pos += sp.len;
				continue;
			}
			if (st != RG_H1_AGAIN)
				goto out;
			memmove(buf, buf + pos, len - pos);
			len -= pos;
			pos = 0;
			struct pollfd pf = { fd, POLLIN, 0 };
			if (atomic_load(&b->stop))
				goto out;
			if (poll(&pf, 1, 50) <= 0)
				continue;
			ssize_t n = recv(fd, buf + len, cap - len, 0);
			if (n <= 0)
				goto out;
			len += (size_t)n;
		}
		memmove(buf, buf + pos, len - pos);
		len -= pos;

		char resp[40000];
		int n;
		const char *path = head + h.path.off;
		if (slice_is(head, h.path, "/upgrade")) {
			tunnel_echo(fd, head, buf, len);
			goto out;
		}
		if (slice_is(head, h.path, "/chunked")) {
			n = snprintf(resp, sizeof resp,
				     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				     "3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n");
		} else if (slice_is(head, h.path, "/slow")) {
			for (int i = 0; i < 40 && !atomic_load(&b->stop); i++)
				usleep(50000);
			n = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow");
		} else if (slice_is(head, h.path, "/close-early")) {
			n = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-ten..");
			send_all(fd, resp, (size_t)n);
			goto out;
		} else if (slice_is(head, h.path, "/big") || slice_is(head, h.path, "/bigchunked")) {
			bool chunked = slice_is(head, h.path, "/bigchunked");
			n = chunked ? snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
				    : snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n", BIG);
			if (send_all(fd, resp, (size_t)n) < 0)
				goto out;
			char blk[32768];
			for (size_t off = 0; off < BIG; off += sizeof blk) {
				for (size_t i = 0; i < sizeof blk; i++)
					blk[i] = (char)('a' + (off + i) % 23);
				char line[16];
				int ln = snprintf(line, sizeof line, "%zx\r\n", sizeof blk);
				if ((chunked && send_all(fd, line, (size_t)ln) < 0) || send_all(fd, blk, sizeof blk) < 0 ||
				    (chunked && send_all(fd, "\r\n", 2) < 0))
					goto out;
			}
			if (chunked && send_all(fd, "0\r\n\r\n", 5) < 0)
				goto out;
			continue;
		} else if (slice_is(head, h.path, "/pause")) {
			usleep(100000); /* long enough for the client to pipeline behind it */
			n = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\npause");
		} else if (slice_is(head, h.path, "/bye")) {
			/* Keep-alive by the look of it, then closed: a backend dropping
			 * an idle connection just as the proxy pools it. */
			n = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbye");
			send_all(fd, resp, (size_t)n);
			goto out;
		} else if (slice_is(head, h.path, "/echo")) {
			n = snprintf(resp, sizeof resp,
				     "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nKeep-Alive: timeout=5\r\n"
				     "Connection: keep-alive, X-Hop\r\nX-Hop: secret\r\n\r\n%s",
				     strlen(head), head);
		} else if (slice_is(head, h.path, "/upload")) {
			char b2[128];
			int bn = snprintf(b2, sizeof b2, "len=%llu sum=%016llx", (unsigned long long)payload,
					  (unsigned long long)sum);
			n = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", bn, b2);
		} else {
			(void)path;
			n = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
		}
		if (send_all(fd, resp, (size_t)n) < 0 || !h.keep_alive)
			goto out;
	}
out:
	free(buf);
	close(fd);
	return NULL;
}

static void *backend_main(void *arg)
{
	backend *b = arg;
	while (!atomic_load(&b->stop)) {
		struct pollfd pf = { b->fd, POLLIN, 0 };
		if (poll(&pf, 1, 50) <= 0)
			continue;
		int fd = accept(b->fd, NULL, NULL);
		if (fd < 0)
			continue;
		atomic_fetch_add(&b->accepts, 1);
		if (b->nconns == MAX_CONNS) {
			close(fd);
			continue;
		}
		bconn *bc = malloc(sizeof *bc);
		bc->b = b;
		bc->fd = fd;
		pthread_create(&b->conns[b->nconns++], NULL, bconn_main, bc);
	}
	return NULL;
}

/* The proxy_ipv6 suite runs clients, proxy and backend on ::1. */
static bool ipv6;

/* The loopback at port, 127.0.0.1 or ::1 per ipv6. */
static rg_sockaddr loopback(int port)
{
	char text[RG_HOSTPORT_LEN];
	rg_sockaddr a;
	snprintf(text, sizeof text, ipv6 ? "[::1]:%d" : "127.0.0.1:%d", port);
	cr_assert_null(rg_hostport_check(text, RG_HOSTPORT_LISTEN_ANY_PORT, &a), "%s", text);
	return a;
}

static int listen_any(int *port)
{
	rg_sockaddr a = loopback(0);
	int fd = socket(a.ss.ss_family, SOCK_STREAM, 0);
	cr_assert(bind(fd, (struct sockaddr *)&a.ss, a.len) == 0);
	cr_assert(listen(fd, 256) == 0);
	socklen_t al = sizeof a.ss;
	getsockname(fd, (struct sockaddr *)&a.ss, &al);
	*port = rg_sockaddr_port((struct sockaddr *)&a.ss);
	return fd;
}

static void backend_start(backend *b)
{
	memset(b, 0, sizeof *b);
	b->fd = listen_any(&b->port);
	pthread_create(&b->thread, NULL, backend_main, b);
}

static void backend_stop(backend *b)
{
	atomic_store(&b->stop, 1);
	pthread_join(b->thread, NULL);
	for (int i = 0; i < b->nconns; i++)
		pthread_join(b->conns[i], NULL);
	close(b->fd);
}

/* A port nobody listens on. */
static int dead_port(void)
{
	int port;
	int fd = listen_any(&port);
	close(fd);
	return port;
}

/* ---- the proxy under test --------------------------------------------------------- */

typedef struct picker {
	int port;           /* backend port */
	int first_port;     /* if set: the first pick goes here (retry test) */
	int slot;
	const char *set_cookie;
	atomic_int picks;
	atomic_int dones;
	atomic_int last_status;
	atomic_int fails[RG_UPSTREAM_KINDS];
	/* what the retry's pick was told */
	atomic_ullong retry_hint;
	atomic_int retry_reason;
} picker;

static int pick(void *ctx, const rg_proxy_request *req, rg_proxy_target *out)
{
	picker *pk = ctx;
	int n = atomic_fetch_add(&pk->picks, 1);
	out->addr = loopback(pk->first_port && n == 0 && req->attempt == 0 ? pk->first_port : pk->port);
	out->slot = pk->slot;
	out->set_cookie = pk->set_cookie;
	out->retry_hint = UINT64_C(0xfeed0000) + (uint64_t)n;
	if (req->attempt == 1) {
		atomic_store(&pk->retry_hint, req->retry_hint);
		atomic_store(&pk->retry_reason, req->retry_reason);
	} else {
		cr_assert_eq(req->retry_hint, 0);
		cr_assert_eq(req->retry_reason, -1);
	}
	out->token = pk;
	return 0;
}

static void failed(void *ctx, void *token, rg_upstream_error kind)
{
	picker *pk = ctx;
	cr_assert_eq(token, pk);
	atomic_fetch_add(&pk->fails[kind], 1);
}

static void done(void *ctx, void *token, int status)
{
	picker *pk = ctx;
	cr_assert_eq(token, pk);
	atomic_fetch_add(&pk->dones, 1);
	atomic_store(&pk->last_status, status);
}

static backend be;
static picker pk;
static rg_proxy *px;

static int idle_ms = 60000;
static unsigned nthreads = 1;
/* the front door, per suite (proxy_limits, proxy_headers) */
static rg_cidr trusted_lo = { .family = AF_INET, .bits = 32, .net = { 127, 0, 0, 1 } };
static bool trust_lo, https;
static unsigned max_req, max_per_client;
static int body_ms;

static void proxy_up(int header_timeout_ms)
{
	rg_proxy_opts o;
	rg_proxy_opts_default(&o);
	o.listen = ipv6 ? "[::1]:0" : "127.0.0.1:0";
	o.threads = nthreads;
	o.idle_timeout_ms = idle_ms;
	o.connect_timeout_ms = 1000;
	o.response_header_timeout_ms = header_timeout_ms;
	o.client_header_timeout_ms = 2000;
	o.pick = pick;
	o.done = done;
	o.failed = failed;
	o.ctx = &pk;
	static rg_cidr trusted_lo6 = { .family = AF_INET6, .bits = 128, .net = { [15] = 1 } };
	o.trusted = !trust_lo ? NULL : ipv6 ? &trusted_lo6 : &trusted_lo;
	o.n_trusted = trust_lo;
	o.https = https;
	o.max_requests = max_req;
	o.max_per_client = max_per_client;
	o.client_body_timeout_ms = body_ms;
	o.strip_header = "X-Pin";
	rg_error err = { 0 };
	cr_assert_eq(rg_proxy_start(&o, &px, &err), RG_OK, "%s", err.message);
	cr_assert_gt(rg_proxy_port(px), 0);
}

static void setup(void)
{
	backend_start(&be);
	memset(&pk, 0, sizeof pk);
	pk.port = be.port;
	proxy_up(3000);
}

static void teardown(void)
{
	rg_proxy_stop(px);
	px = NULL;
	backend_stop(&be);
}

/* ---- a blocking client with timeouts ------------------------------------------------ */

static int client(void)
{
	int fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	struct timeval tv = { 5, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	rg_sockaddr a = loopback(rg_proxy_port(px));
	cr_assert(connect(fd, (struct sockaddr *)&a.ss, a.len) == 0);
	return fd;
}

typedef struct reply {
	int status;
	char head[8192];
	char body[1 << 16];
	size_t body_len;
	bool keep_alive;
} reply;

/* Reads one response (head + body as payload). -1 on close/timeout/error. */
static int read_reply(int fd, reply *r, bool was_head)
{
	static _Thread_local char buf[1 << 16];
	size_t len;
	len = 0;
	rg_h1_parser p;
	rg_h1_response_init(&p, NULL, was_head);
	rg_h1_status st;
	memset(r, 0, sizeof *r);
	while ((st = rg_h1_parse(&p, buf, len)) == RG_H1_AGAIN) {
		ssize_t n = recv(fd, buf + len, sizeof buf - len, 0);
		if (n <= 0)
			return -1;
		len += (size_t)n;
	}
	if (st != RG_H1_DONE)
		return -1;
	r->status = p.head.status;
	r->keep_alive = p.head.keep_alive;
	memcpy(r->head, buf, p.head.head_len < sizeof r->head - 1 ? p.head.head_len : sizeof r->head - 1);
	rg_h1_body b;
	rg_h1_body_init(&b, &p.head, NULL);
	size_t pos = p.head.head_len;
	while (!rg_h1_body_done(&b)) {
		rg_h1_span sp;
		st = len > pos ? rg_h1_body_feed(&b, buf + pos, len - pos, &sp) : RG_H1_AGAIN;
		if (st == RG_H1_DONE) {
			if (sp.kind == RG_H1_SPAN_DATA && r->body_len + sp.len < sizeof r->body - 1) {
				memcpy(r->body + r->body_len, buf + pos, sp.len);
				r->body_len += sp.len;
			}
			pos += sp.len;
			continue;
		}
		if (st != RG_H1_AGAIN)
			return -1;
		memmove(buf, buf + pos, len - pos);
		len -= pos;
		pos = 0;
		ssize_t n = recv(fd, buf + len, sizeof buf - len, 0);
		if (n == 0 && rg_h1_body_eof(&b) == RG_H1_DONE)
			break;
		if (n <= 0)
			return -1;
		len += (size_t)n;
	}
	return 0;
}

static void roundtrip(int fd, const char *req, reply *r)
{
	cr_assert_eq(send_all(fd, req, strlen(req)), 0);
	cr_assert_eq(read_reply(fd, r, strncmp(req, "HEAD ", 5) == 0), 0, "no reply to %s", req);
}

/* The connection was closed by the proxy (EOF, not a timeout). */
static bool closed_by_peer(int fd)
{
	char c;
	return recv(fd, &c, 1, 0) == 0;
}

/* Reads into buf (NUL-terminated) until it holds want, or EOF/timeout. */
static bool read_until(int fd, char *buf, size_t cap, size_t *len, const char *want)
{
	while (!strstr(buf, want)) {
		if (*len + 1 >= cap)
			return false;
		ssize_t n = recv(fd, buf + *len, cap - 1 - *len, 0);
		if (n <= 0)
			return false;
		*len += (size_t)n;
		buf[*len] = '\0';
	}
	return true;
}

/* Sends the switch with "first" behind its head; returns once the 101,
 * the backend's own first bytes and the echo of "first" came back. */
static int open_tunnel(void)
{
	int fd = client();
	const char *req = "GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\n"
			  "Upgrade: echo\r\n\r\nfirst";
	cr_assert_eq(send_all(fd, req, strlen(req)), 0);
	char buf[4096] = "";
	size_t len = 0;
	cr_assert(read_until(fd, buf, sizeof buf, &len, "early:first"), "got: %s", buf);
	cr_assert(strncmp(buf, "HTTP/1.1 101", 12) == 0, "%s", buf);
	cr_assert(strstr(buf, "\r\nUpgrade: echo\r\n"), "%s", buf);
	cr_assert(strstr(buf, "\r\nConnection: upgrade\r\n"), "%s", buf);
	cr_assert(strstr(buf, "\r\nX-Tunnel: 1\r\n"), "%s", buf);
	cr_assert_null(strstr(buf, "keep-alive"), "%s", buf);
	return fd;
}

/* ---- tests --------------------------------------------------------------------------- */

TestSuite(proxy_basic, .init = setup, .fini = teardown, .timeout = 10);

Test(proxy_basic, upgrade_tunnelled_both_ways_and_counted_once)
{
	int fd = open_tunnel();
	char buf[4096] = "";
	size_t len = 0;
	for (int i = 0; i < 50; i++) { /* many round trips: still one request */
		char msg[32];
		snprintf(msg, sizeof msg, "<%d>", i);
		cr_assert_eq(send_all(fd, msg, strlen(msg)), 0);
		cr_assert(read_until(fd, buf, sizeof buf, &len, msg), "no echo of %s", msg);
	}
	/* the client ends its side: the backend sees the end, answers, closes */
	shutdown(fd, SHUT_WR);
	cr_assert(read_until(fd, buf, sizeof buf, &len, "bye"), "got: %s", buf);
	cr_assert(closed_by_peer(fd));
	close(fd);
	rg_stats_summary s;
	cr_assert_eq(rg_proxy_snapshot(px, 0, &s, NULL), RG_OK);
	cr_assert_eq(s.requests, 1);
	cr_assert_eq(s.responses[0], 1, "counted with its 101");
	cr_assert_eq(atomic_load(&pk.dones), 1);
	cr_assert_eq(atomic_load(&pk.last_status), 101);
	/* a backend declining the switch answers plain HTTP, and it goes on */
	fd = client();
	reply r;
	roundtrip(fd, "GET /upgrade HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\n\r\n", &r);
	cr_assert_eq(r.status, 400, "Upgrade without the Connection option is not forwarded");
	roundtrip(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	close(fd);
}

Test(proxy_basic, retired_tunnels_close_when_the_drain_ends)
{
	int fd = open_tunnel();
	rg_proxy_retire_tunnels(px, 1, 0);   /* another slot: no effect */
	rg_proxy_retire_tunnels(px, 0, 300);
	char buf[4096] = "";
	size_t len = 0;
	cr_assert_eq(send_all(fd, "still", 5), 0);
	cr_assert(read_until(fd, buf, sizeof buf, &len, "still"), "cut before its drain ended");
	int64_t t0 = rg_mono_ms();
	cr_assert(closed_by_peer(fd), "closed at the drain's end");
	cr_assert_lt(rg_mono_ms() - t0, 2000);
	close(fd);
	/* a cancelled retirement leaves its tunnels open */
	int fd2 = open_tunnel();
	rg_proxy_retire_tunnels(px, 0, 200);
	rg_proxy_retire_tunnels(px, 0, -1);
	usleep(400000);
	cr_assert_eq(send_all(fd2, "alive", 5), 0);
	len = 0;
	buf[0] = '\0';
	cr_assert(read_until(fd2, buf, sizeof buf, &len, "alive"), "a cancelled retirement closed it");
	/* a tunnel opened after a retirement is not one of those it closes */
	rg_proxy_retire_tunnels(px, 0, 200);
	usleep(20000);
	fd = open_tunnel();
	cr_assert(closed_by_peer(fd2), "the tunnel open at the retirement closes");
	close(fd2);
	usleep(300000);
	cr_assert_eq(send_all(fd, "later", 5), 0);
	len = 0;
	buf[0] = '\0';
	cr_assert(read_until(fd, buf, sizeof buf, &len, "later"), "a later tunnel was closed");
	close(fd);
}

Test(proxy_basic, get)
{
	int fd = client();
	reply r;
	roundtrip(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.body_len, 5);
	cr_assert(memcmp(r.body, "hello", 5) == 0);
	cr_assert(r.keep_alive);
	close(fd);
}

Test(proxy_basic, chunked_response_forwarded)
{
	int fd = client();
	reply r;
	roundtrip(fd, "GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.body_len, 7);
	cr_assert(memcmp(r.body, "abcdefg", 7) == 0);
	cr_assert(strstr(r.head, "Transfer-Encoding: chunked"));
	/* the connection still works afterwards */
	roundtrip(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	close(fd);
}

Test(proxy_basic, http10_client_gets_dechunked_body)
{
	int fd = client();
	reply r;
	roundtrip(fd, "GET /chunked HTTP/1.0\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.body_len, 7);
	cr_assert_null(strstr(r.head, "Transfer-Encoding"));
	cr_assert(closed_by_peer(fd));
	close(fd);
}

Test(proxy_basic, head_request)
{
	int fd = client();
	reply r;
	roundtrip(fd, "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.body_len, 0);
	roundtrip(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.body_len, 5);
	close(fd);
}

TestSuite(proxy_keepalive, .init = setup, .fini = teardown, .timeout = 10);

Test(proxy_keepalive, one_pooled_upstream)
{
	int fd = client();
	for (int i = 0; i < 5; i++) {
		reply r;
		roundtrip(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
		cr_assert_eq(r.status, 200);
	}
	close(fd);
	/* a second client connection reuses the pooled upstream too */
	fd = client();
	reply r;
	roundtrip(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	close(fd);
	cr_assert_eq(atomic_load(&be.accepts), 1);
	cr_assert_eq(atomic_load(&pk.dones), 6);
}

Test(proxy_keepalive, pipelined)
{
	int fd = client();
	const char *two = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /chunked HTTP/1.1\r\nHost: x\r\n\r\n";
	cr_assert_eq(send_all(fd, two, strlen(two)), 0);
	char buf[4096];
	size_t len = 0;
	while (len < sizeof buf - 1) {
		buf[len] = '\0';
		if (strstr(buf, "0\r\n\r\n"))
			break;
		ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
		cr_assert_gt(n, 0);
		len += (size_t)n;
	}
	char *first = strstr(buf, "hello"), *second = strstr(buf, "abc\r\n");
	cr_assert(first && second && first < second, "%s", buf);
	close(fd);
}

Test(proxy_keepalive, connection_close_closes)
{
	int fd = client();
	reply r;
	roundtrip(fd, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_not(r.keep_alive);
	cr_assert(closed_by_peer(fd));
	close(fd);
}

TestSuite(proxy_body, .init = setup, .fini = teardown, .timeout = 10);

static char *big_payload(uint64_t *sum)
{
	char *p = malloc(BIG);
	for (size_t i = 0; i < BIG; i++)
		p[i] = (char)('a' + (i * 7 + i / 13) % 26);
	*sum = fnv(UINT64_C(14695981039346656037), p, BIG);
	return p;
}

Test(proxy_body, post_content_length_5mib)
{
	uint64_t sum;
	char *p = big_payload(&sum);
	int fd = client();
	char head[256];
	snprintf(head, sizeof head, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %u\r\n\r\n", BIG);
	cr_assert_eq(send_all(fd, head, strlen(head)), 0);
	cr_assert_eq(send_all(fd, p, BIG), 0);
	reply r;
	cr_assert_eq(read_reply(fd, &r, false), 0);
	char want[128];
	snprintf(want, sizeof want, "len=%u sum=%016llx", BIG, (unsigned long long)sum);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, want);
	free(p);
	close(fd);
}

Test(proxy_body, post_chunked_5mib)
{
	uint64_t sum;
	char *p = big_payload(&sum);
	int fd = client();
	const char *head = "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
	cr_assert_eq(send_all(fd, head, strlen(head)), 0);
	for (size_t off = 0; off < BIG; off += 60000) {
		size_t n = BIG - off < 60000 ? BIG - off : 60000;
		char line[32];
		snprintf(line, sizeof line, "%zx\r\n", n);
		cr_assert_eq(send_all(fd, line, strlen(line)), 0);
		cr_assert_eq(send_all(fd, p + off, n), 0);
		cr_assert_eq(send_all(fd, "\r\n", 2), 0);
	}
	cr_assert_eq(send_all(fd, "0\r\nX-T: 1\r\n\r\n", 13), 0);
	reply r;
	cr_assert_eq(read_reply(fd, &r, false), 0);
	char want[128];
	snprintf(want, sizeof want, "len=%u sum=%016llx", BIG, (unsigned long long)sum);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, want);
	/* and the connection carries the next request */
	roundtrip(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	free(p);
	close(fd);
}

TestSuite(proxy_headers, .init = setup, .fini = teardown, .timeout = 10);

static bool is_hex16(const char *s)
{
	for (int i = 0; i < 16; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return false;
	return s[16] == '\r';
}

Test(proxy_headers, forwarded_and_request_id)
{
	int fd = client();
	reply r;
	roundtrip(fd, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "\r\nX-Forwarded-For: 127.0.0.1\r\n"), "%s", r.body);
	cr_assert(strstr(r.body, "\r\nX-Forwarded-Proto: http\r\n"));
	cr_assert(strstr(r.body, "\r\nConnection: keep-alive\r\n"));
	const char *id = strstr(r.body, "\r\nX-Request-Id: ");
	cr_assert(id);
	cr_assert(is_hex16(id + 16), "%s", r.body);

	roundtrip(fd, "GET /echo HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc-123\r\n"
		      "X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\n\r\n", &r);
	cr_assert(strstr(r.body, "\r\nX-Request-Id: abc-123\r\n"));
	cr_assert_eq(strstr(strstr(r.body, "X-Request-Id") + 1, "X-Request-Id"), NULL);
	/* not a trusted proxy: what it says it forwarded is replaced */
	cr_assert(strstr(r.body, "\r\nX-Forwarded-For: 127.0.0.1\r\n"), "%s", r.body);
	cr_assert(strstr(r.body, "\r\nX-Forwarded-Proto: http\r\n"));
	cr_assert_null(strstr(r.body, "https"));
	close(fd);
}

Test(proxy_headers, hop_by_hop_removed)
{
	int fd = client();
	reply r;
	roundtrip(fd, "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Secret\r\n"
		      "X-Secret: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Connection: x\r\n"
		      "X-Kept: yes\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_null(strstr(r.body, "X-Secret"), "%s", r.body);
	cr_assert_null(strstr(r.body, "Keep-Alive"));
	cr_assert_null(strstr(r.body, "TE:"));
	cr_assert_null(strstr(r.body, "Proxy-Connection"));
	cr_assert(strstr(r.body, "X-Kept: yes"));
	/* and in the response: the backend's Keep-Alive and X-Hop are dropped */
	cr_assert_null(strstr(r.head, "Keep-Alive"), "%s", r.head);
	cr_assert_null(strstr(r.head, "X-Hop"));
	close(fd);
}

static void setup_front_door(void)
{
	trust_lo = https = true;
	max_req = 2;
	max_per_client = 2;
	body_ms = 300;
	setup();
}

TestSuite(proxy_limits, .init = setup_front_door, .fini = teardown, .timeout = 10);

Test(proxy_limits, trusted_forwarded_for_kept_and_scheme_https)
{
	int fd = client();
	reply r;
	roundtrip(fd, "GET /echo HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n", &r);
	cr_assert(strstr(r.body, "\r\nX-Forwarded-For: 10.0.0.1, 127.0.0.1\r\n"), "%s", r.body);
	cr_assert(strstr(r.body, "\r\nX-Forwarded-Proto: https\r\n"), "%s", r.body);
	close(fd);
}

Test(proxy_limits, force_headers_never_forwarded)
{
	int fd = client();
	reply r;
	roundtrip(fd, "GET /echo HTTP/1.1\r\nHost: x\r\nX-Rollguard-Release: canary\r\n"
		      "x-pin: stable\r\nX-Kept: 1\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_null(strcasestr(r.body, "X-Rollguard-Release"), "%s", r.body);
	cr_assert_null(strcasestr(r.body, "X-Pin"), "%s", r.body);
	cr_assert(strstr(r.body, "X-Kept: 1"));
	close(fd);
}

Test(proxy_limits, max_requests_then_close)
{
	int fd = client();
	reply r;
	roundtrip(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_null(strstr(r.head, "Connection: close"), "%s", r.head);
	roundtrip(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.head, "Connection: close"), "the second of 2: %s", r.head);
	cr_assert(closed_by_peer(fd));
	close(fd);
}

/* max_per_client 2: a third connection from the same address is closed;
 * a slot is free again once one closes. */
static void a_client_over_its_connections(void)
{
	int a = client(), b = client(), c = client();
	reply r;
	roundtrip(a, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	roundtrip(b, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	const char *req = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
	send_all(c, req, strlen(req));
	cr_assert_neq(read_reply(c, &r, false), 0, "the third connection of one client is closed");
	close(a);
	/* a slot is free again once one closes */
	usleep(100000);
	int d = client();
	roundtrip(d, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	close(b), close(c), close(d);
}

Test(proxy_limits, a_client_over_its_connections_is_refused)
{
	a_client_over_its_connections();
}

/* The same front door on ::1: the proxy listens there, connects to an IPv6
 * backend, names the IPv6 client in X-Forwarded-For, trusts an IPv6 range
 * and bounds connections per IPv6 client address. */
static void setup_ipv6(void)
{
	ipv6 = true;
	setup_front_door();
}

TestSuite(proxy_ipv6, .init = setup_ipv6, .fini = teardown, .timeout = 10);

Test(proxy_ipv6, forwarded_for_names_the_ipv6_client)
{
	int fd = client();
	reply r;
	roundtrip(fd, "GET /echo HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 2001:db8::7\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "\r\nX-Forwarded-For: 2001:db8::7, ::1\r\n"), "::1 is trusted: %s",
		  r.body);
	cr_assert(strstr(r.body, "\r\nX-Forwarded-Proto: https\r\n"), "%s", r.body);
	close(fd);
}

Test(proxy_ipv6, a_request_without_host_names_the_ipv6_backend)
{
	int fd = client();
	reply r;
	roundtrip(fd, "GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	char want[64];
	snprintf(want, sizeof want, "\r\nHost: [::1]:%d\r\n", be.port);
	cr_assert(strstr(r.body, want), "%s in %s", want, r.body);
	close(fd);
}

Test(proxy_ipv6, a_client_over_its_connections_is_refused)
{
	a_client_over_its_connections();
}

Test(proxy_limits, a_trickling_body_is_408)
{
	int fd = client();
	const char *part = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab";
	cr_assert_eq(send_all(fd, part, strlen(part)), 0);
	reply r;
	int64_t t0 = rg_mono_ms();
	cr_assert_eq(read_reply(fd, &r, false), 0);
	cr_assert_eq(r.status, 408);
	cr_assert_lt(rg_mono_ms() - t0, 2000, "the body deadline is 300 ms");
	cr_assert(closed_by_peer(fd));
	close(fd);
}

TestSuite(proxy_errors, .init = setup, .fini = teardown, .timeout = 10);

Test(proxy_errors, cl_and_te_is_400_and_closed)
{
	int fd = client();
	reply r;
	roundtrip(fd, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
		      "Transfer-Encoding: chunked\r\n\r\nabc", &r);
	cr_assert_eq(r.status, 400);
	cr_assert(strstr(r.body, "\"code\":\"cl_and_te\""), "%s", r.body);
	cr_assert(strstr(r.head, "Connection: close"));
	cr_assert(closed_by_peer(fd));
	cr_assert_eq(atomic_load(&pk.picks), 0);
	close(fd);
}

Test(proxy_errors, duplicate_content_length_is_400)
{
	int fd = client();
	reply r;
	roundtrip(fd, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", &r);
	cr_assert_eq(r.status, 400);
	cr_assert(closed_by_peer(fd));
	close(fd);
}

Test(proxy_errors, invalid_chunk_is_400)
{
	int fd = client();
	reply r;
	roundtrip(fd, "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", &r);
	cr_assert_eq(r.status, 400);
	cr_assert(strstr(r.body, "\"error\""));
	cr_assert(closed_by_peer(fd));
	close(fd);
}

Test(proxy_errors, oversized_header_is_431)
{
	int fd = client();
	size_t n = 20000;
	char *req = malloc(n + 100);
	int k = snprintf(req, n + 100, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(req + k, 'a', n);
	strcpy(req + k + n, "\r\n\r\n");
	reply r;
	roundtrip(fd, req, &r);
	cr_assert_eq(r.status, 431);
	cr_assert(closed_by_peer(fd));
	free(req);
	close(fd);
}

Test(proxy_errors, oversized_request_line_is_414)
{
	int fd = client();
	size_t n = 9000;
	char *req = malloc(n + 100);
	memcpy(req, "GET /", 5);
	memset(req + 5, 'a', n);
	strcpy(req + 5 + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
	reply r;
	roundtrip(fd, req, &r);
	cr_assert_eq(r.status, 414);
	free(req);
	close(fd);
}

Test(proxy_errors, connect_refused_is_502_json)
{
	pk.port = dead_port();
	int fd = client();
	reply r;
	roundtrip(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.status, 502);
	cr_assert(strstr(r.body, "{\"error\":{\"code\":\"bad_gateway\""), "%s", r.body);
	cr_assert(strstr(r.head, "Content-Type: application/json"));
	/* idempotent and nothing sent: retried once through pick, which was
	 * told why and given the first pick's hint; failed() for each attempt */
	cr_assert_eq(atomic_load(&pk.picks), 2);
	cr_assert_eq(atomic_load(&pk.dones), 2);
	cr_assert_eq(atomic_load(&pk.retry_hint), UINT64_C(0xfeed0000));
	cr_assert_eq(atomic_load(&pk.retry_reason), RG_UPSTREAM_CONNECT);
	cr_assert_eq(atomic_load(&pk.fails[RG_UPSTREAM_CONNECT]), 2);
	close(fd);
}

Test(proxy_errors, connect_refused_retried_elsewhere)
{
	pk.first_port = dead_port();
	int fd = client();
	reply r;
	roundtrip(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(atomic_load(&pk.picks), 2);
	close(fd);
}

Test(proxy_errors, post_not_retried)
{
	pk.first_port = dead_port();
	int fd = client();
	reply r;
	roundtrip(fd, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi", &r);
	cr_assert_eq(r.status, 502);
	cr_assert_eq(atomic_load(&pk.picks), 1);
	close(fd);
}

Test(proxy_errors, response_cut_short_closes_client)
{
	int fd = client();
	const char *req = "GET /close-early HTTP/1.1\r\nHost: x\r\n\r\n";
	cr_assert_eq(send_all(fd, req, strlen(req)), 0);
	reply r;
	cr_assert_eq(read_reply(fd, &r, false), -1); /* head, 10 bytes, then EOF */
	close(fd);
}

Test(proxy_errors, start_on_busy_port_fails_clearly)
{
	char addr[64];
	snprintf(addr, sizeof addr, "127.0.0.1:%d", rg_proxy_port(px));
	rg_proxy_opts o;
	rg_proxy_opts_default(&o);
	o.listen = addr;
	o.threads = 1;
	o.pick = pick;
	rg_proxy *p2 = NULL;
	rg_error err = { 0 };
	cr_assert_eq(rg_proxy_start(&o, &p2, &err), RG_EIO);
	cr_assert_null(p2);
	char want[128];
	snprintf(want, sizeof want, "cannot listen on %s: address in use", addr);
	cr_assert_str_eq(err.message, want);
}

static void setup_slow(void)
{
	backend_start(&be);
	memset(&pk, 0, sizeof pk);
	pk.port = be.port;
	proxy_up(300);
}

Test(proxy_errors, slow_backend_is_504, .init = setup_slow)
{
	int fd = client();
	reply r;
	roundtrip(fd, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.status, 504);
	cr_assert(strstr(r.body, "\"code\":\"gateway_timeout\""), "%s", r.body);
	close(fd);
	rg_stats_summary s;
	cr_assert_eq(rg_proxy_snapshot(px, 0, &s, NULL), RG_OK);
	cr_assert_eq(s.upstream_errors[RG_UPSTREAM_TIMEOUT], 1);
	cr_assert_eq(s.responses[4], 1);
}

TestSuite(proxy_stats, .init = setup, .fini = teardown, .timeout = 10);

Test(proxy_stats, counts_match)
{
	int fd = client();
	for (int i = 0; i < 7; i++) {
		reply r;
		roundtrip(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	}
	close(fd);
	/* slot 3, refused: one request, a 502, two connect errors (retried) */
	pk.slot = 3;
	pk.port = dead_port();
	fd = client();
	reply r;
	roundtrip(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.status, 502);
	close(fd);

	rg_stats_summary s0, s1;
	cr_assert_eq(rg_proxy_snapshot(px, 0, &s0, NULL), RG_OK);
	cr_assert_eq(rg_proxy_snapshot(px, 3, &s1, NULL), RG_OK);
	cr_assert_eq(s0.requests, 7);
	cr_assert_eq(s0.responses[1], 7);
	cr_assert_eq(rg_hist_count(&s0.latency), 7);
	cr_assert_eq(s1.requests, 1);
	cr_assert_eq(s1.responses[4], 1);
	cr_assert_eq(s1.upstream_errors[RG_UPSTREAM_CONNECT], 2);
	cr_assert_eq(rg_proxy_snapshot(px, RG_PROXY_SLOTS, &s1, NULL), RG_EINVAL);
	cr_assert_eq(rg_proxy_snapshot(px, -1, &s1, NULL), RG_EINVAL);
	rg_stats_summary s2;
	for (int slot = 1; slot < 3; slot++) {
		cr_assert_eq(rg_proxy_snapshot(px, slot, &s2, NULL), RG_OK);
		cr_assert_eq(s2.requests, 0);
	}
	cr_assert_eq(rg_proxy_window(px, 3, 60, &s2, NULL), RG_OK);
	cr_assert_eq(s2.requests, 1);
}

static void setup_short_idle(void)
{
	idle_ms = 200;
	setup();
}

TestSuite(proxy_timeouts, .init = setup_short_idle, .fini = teardown, .timeout = 10);

Test(proxy_timeouts, idle_client_closed_quietly)
{
	int fd = client();
	reply r;
	roundtrip(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	struct pollfd pf = { fd, POLLIN, 0 };
	cr_assert_eq(poll(&pf, 1, 3000), 1);
	cr_assert(closed_by_peer(fd)); /* EOF, no bytes */
	close(fd);
}

Test(proxy_timeouts, partial_head_is_408)
{
	int fd = client();
	const char *part = "GET /hello HTTP/1.1\r\nHo";
	cr_assert_eq(send_all(fd, part, strlen(part)), 0);
	reply r;
	cr_assert_eq(read_reply(fd, &r, false), 0); /* client header timeout: 2 s */
	cr_assert_eq(r.status, 408);
	cr_assert(closed_by_peer(fd));
	close(fd);
}

static void setup_threads(void)
{
	nthreads = 0; /* one per core */
	setup();
}

typedef struct hammer {
	int ok;
} hammer;

static void *hammer_main(void *arg)
{
	hammer *h = arg;
	int fd = client();
	for (int i = 0; i < 50; i++) {
		reply r;
		const char *req = i % 2 ? "GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n"
					: "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
		if (send_all(fd, req, strlen(req)) == 0 && read_reply(fd, &r, false) == 0 &&
		    r.status == 200 && r.body_len == (i % 2 ? 7u : 5u))
			h->ok++;
	}
	close(fd);
	return NULL;
}

Test(proxy_threads, concurrent_clients, .init = setup_threads, .fini = teardown, .timeout = 10)
{
	pthread_t t[8];
	hammer h[8] = { { 0 } };
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, hammer_main, &h[i]);
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(h[i].ok, 50, "client %d: %d of 50", i, h[i].ok);
	}
	rg_stats_summary s;
	rg_proxy_snapshot(px, 0, &s, NULL);
	cr_assert_eq(s.requests, 400);
	cr_assert_eq(atomic_load(&pk.dones), 400);
}

Test(proxy_basic, expect_100_continue)
{
	int fd = client();
	const char *head = "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n";
	cr_assert_eq(send_all(fd, head, strlen(head)), 0);
	cr_assert_eq(send_all(fd, "hi", 2), 0);
	reply r;
	cr_assert_eq(read_reply(fd, &r, false), 0);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "len=2"));
	close(fd);
}

/* A 5 MiB answer read slowly at first: the proxy must hold at most its
 * buffers, and everything must arrive in order. */
static void download(const char *path)
{
	int fd = client();
	char req[128];
	snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
	cr_assert_eq(send_all(fd, req, strlen(req)), 0);
	usleep(300000); /* every buffer on the way fills up meanwhile */
	rg_h1_parser p;
	rg_h1_response_init(&p, NULL, false);
	static char buf[1 << 16];
	size_t len = 0;
	rg_h1_status st;
	while ((st = rg_h1_parse(&p, buf, len)) == RG_H1_AGAIN) {
		ssize_t n = recv(fd, buf + len, sizeof buf - len, 0);
		cr_assert_gt(n, 0);
		len += (size_t)n;
	}
	cr_assert_eq(st, RG_H1_DONE);
	cr_assert_eq(p.head.status, 200);
	rg_h1_body b;
	rg_h1_body_init(&b, &p.head, NULL);
	size_t pos = p.head.head_len, got = 0;
	bool ok = true;
	while (!rg_h1_body_done(&b)) {
		rg_h1_span sp;
		st = len > pos ? rg_h1_body_feed(&b, buf + pos, len - pos, &sp) : RG_H1_AGAIN;
		if (st == RG_H1_DONE) {
			if (sp.kind == RG_H1_SPAN_DATA)
				for (size_t i = 0; i < sp.len; i++, got++)
					ok &= buf[pos + i] == (char)('a' + got % 23);
			pos += sp.len;
			continue;
		}
		cr_assert_eq(st, RG_H1_AGAIN);
		memmove(buf, buf + pos, len - pos);
		len -= pos;
		pos = 0;
		ssize_t n = recv(fd, buf + len, sizeof buf - len, 0);
		cr_assert_gt(n, 0);
		len += (size_t)n;
	}
	cr_assert_eq(got, BIG);
	cr_assert(ok, "payload differs");
	close(fd);
}

Test(proxy_body, download_content_length_5mib) { download("/big"); }
Test(proxy_body, download_chunked_5mib) { download("/bigchunked"); }

Test(proxy_headers, set_cookie_added)
{
	pk.set_cookie = "rg_release=0123456789abcdef";
	int fd = client();
	reply r;
	roundtrip(fd, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.head, "\r\nSet-Cookie: rg_release=0123456789abcdef; Path=/; HttpOnly; "
			 "SameSite=Lax\r\n"), "%s", r.head);
	/* not sent upstream, and only when asked for */
	cr_assert_null(strstr(r.body, "Set-Cookie"));
	pk.set_cookie = NULL;
	roundtrip(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_null(strstr(r.head, "Set-Cookie"), "%s", r.head);
	/* a value that would break the head is not sent at all */
	pk.set_cookie = "a=b\r\nX-Evil: 1";
	roundtrip(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_null(strstr(r.head, "Set-Cookie"), "%s", r.head);
	cr_assert_null(strstr(r.head, "X-Evil"), "%s", r.head);
	close(fd);
}

Test(proxy_errors, set_cookie_not_on_error_answers)
{
	pk.set_cookie = "rg_release=0123456789abcdef";
	pk.port = dead_port();
	int fd = client();
	reply r;
	roundtrip(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.status, 502);
	cr_assert_null(strstr(r.head, "Set-Cookie"), "%s", r.head);
	close(fd);
}

/* A pick that fails on the retry: the client gets the first attempt's 502,
 * not a 503. */
static int pick_once(void *ctx, const rg_proxy_request *req, rg_proxy_target *out)
{
	if (req->attempt == 1)
		return 1;
	return pick(ctx, req, out);
}

/* No backend at all: a 503, counted in the slot pick names, or nowhere. */
static int pick_none(void *ctx, const rg_proxy_request *req, rg_proxy_target *out)
{
	picker *who = ctx;
	cr_assert_eq(out->slot, -1);
	out->slot = who->slot;
	return 1;
}

Test(proxy_errors, failed_pick_counted_where_told)
{
	rg_proxy_stop(px);
	rg_proxy_opts o;
	rg_proxy_opts_default(&o);
	o.listen = "127.0.0.1:0";
	o.threads = 1;
	o.pick = pick_none;
	o.done = done;
	o.ctx = &pk;
	rg_error err = { 0 };
	cr_assert_eq(rg_proxy_start(&o, &px, &err), RG_OK, "%s", err.message);
	pk.slot = 2;
	int fd = client();
	reply r;
	roundtrip(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.status, 503);
	close(fd);
	pk.slot = -1;
	fd = client();
	roundtrip(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.status, 503);
	close(fd);
	rg_stats_summary s;
	uint64_t total = 0;
	for (int slot = 0; slot < RG_PROXY_SLOTS; slot++) {
		cr_assert_eq(rg_proxy_snapshot(px, slot, &s, NULL), RG_OK);
		total += s.requests;
		if (slot == 2) {
			cr_assert_eq(s.requests, 1);
			cr_assert_eq(s.responses[4], 1);
		}
	}
	cr_assert_eq(total, 1, "the unassigned one is counted nowhere");
	cr_assert_eq(atomic_load(&pk.dones), 0);
}

Test(proxy_errors, failed_retry_pick_is_502)
{
	rg_proxy_stop(px);
	pk.port = dead_port();
	rg_proxy_opts o;
	rg_proxy_opts_default(&o);
	o.listen = "127.0.0.1:0";
	o.threads = 1;
	o.pick = pick_once;
	o.done = done;
	o.failed = failed;
	o.ctx = &pk;
	rg_error err = { 0 };
	cr_assert_eq(rg_proxy_start(&o, &px, &err), RG_OK, "%s", err.message);
	int fd = client();
	reply r;
	roundtrip(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert_eq(r.status, 502);
	cr_assert(strstr(r.body, "cannot connect to the upstream"), "%s", r.body);
	cr_assert_eq(atomic_load(&pk.dones), 1);
	close(fd);
	/* still one request, counted in the first attempt's slot */
	rg_stats_summary s;
	cr_assert_eq(rg_proxy_snapshot(px, 0, &s, NULL), RG_OK);
	cr_assert_eq(s.requests, 1);
	cr_assert_eq(s.responses[4], 1);
	cr_assert_eq(s.upstream_errors[RG_UPSTREAM_CONNECT], 1);
}

/* ---- every request answered, however it arrives -------------------------------------

   The paths where an event loop typically loses a wakeup: bytes already
   buffered behind an answer (no new readiness event for them), accepts
   beyond one batch, connections accepted while others close in the same
   epoll batch, a pooled connection the backend closes. Each test counts
   unanswered requests; none measures time. */

/* A reader that keeps what it read past one reply for the next one: with
 * pipelining, several answers arrive in one recv (read_reply drops them). */
typedef struct stream {
	int fd;
	char buf[1 << 16];
	size_t len;
} stream;

/* The next reply's body into body (NUL-terminated); -1 on close, timeout
 * or a bad reply. */
static int stream_reply(stream *s, char *body, size_t cap)
{
	for (;;) {
		rg_h1_parser p;
		rg_h1_response_init(&p, NULL, false);
		rg_h1_status st = rg_h1_parse(&p, s->buf, s->len);
		if (st == RG_H1_DONE) {
			rg_h1_body b;
			rg_h1_body_init(&b, &p.head, NULL);
			size_t pos = p.head.head_len, blen = 0;
			while (!rg_h1_body_done(&b)) {
				rg_h1_span sp;
				if (s->len <= pos || rg_h1_body_feed(&b, s->buf + pos, s->len - pos, &sp) != RG_H1_DONE)
					break;
				if (sp.kind == RG_H1_SPAN_DATA && blen + sp.len < cap) {
					memcpy(body + blen, s->buf + pos, sp.len);
					blen += sp.len;
				}
				pos += sp.len;
			}
			if (rg_h1_body_done(&b)) {
				body[blen] = '\0';
				memmove(s->buf, s->buf + pos, s->len - pos);
				s->len -= pos;
				return p.head.status;
			}
		} else if (st != RG_H1_AGAIN) {
			return -1;
		}
		ssize_t n = recv(s->fd, s->buf + s->len, sizeof s->buf - s->len, 0);
		if (n <= 0)
			return -1;
		s->len += (size_t)n;
	}
}

/* Reads `want` replies from fd in order, counting the 200s with the body
 * expected for each. */
static int count_replies(int fd, int want, const char *const *bodies)
{
	static _Thread_local stream s;
	s.fd = fd;
	s.len = 0;
	int ok = 0;
	for (int i = 0; i < want; i++) {
		char body[256];
		int status = stream_reply(&s, body, sizeof body);
		if (status < 0)
			break;
		if (status == 200 && strcmp(body, bodies[i]) == 0)
			ok++;
	}
	return ok;
}

/* Requests already buffered behind the one being answered get no readiness
 * event of their own: the end of each exchange must go on to the next. */
Test(proxy_keepalive, many_pipelined_in_one_write)
{
	enum { N = 32 };
	char req[N * 64];
	const char *bodies[N];
	size_t len = 0;
	for (int i = 0; i < N; i++) {
		const char *path = i % 3 == 1 ? "/chunked" : "/hello";
		bodies[i] = i % 3 == 1 ? "abcdefg" : "hello";
		len += (size_t)snprintf(req + len, sizeof req - len, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
	}
	int fd = client();
	cr_assert_eq(send_all(fd, req, len), 0);
	cr_assert_eq(count_replies(fd, N, bodies), N);
	close(fd);
	cr_assert_eq(atomic_load(&pk.dones), N);
}

/* The second request arrives while the first is still at the backend. */
Test(proxy_keepalive, pipelined_while_waiting)
{
	int fd = client();
	const char *a = "GET /pause HTTP/1.1\r\nHost: x\r\n\r\n", *b = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
	cr_assert_eq(send_all(fd, a, strlen(a)), 0);
	usleep(20000);
	cr_assert_eq(send_all(fd, b, strlen(b)), 0);
	const char *bodies[] = { "pause", "hello" };
	cr_assert_eq(count_replies(fd, 2, bodies), 2);
	close(fd);
}

/* Each answer comes on a connection the backend then closes: the proxy
 * either sees the close while the connection is pooled, or reuses it and
 * retries. Either way every request is answered. */
Test(proxy_keepalive, pooled_connection_closed_by_backend)
{
	int fd = client();
	int ok = 0;
	for (int i = 0; i < 30; i++) {
		reply r;
		const char *req = "GET /bye HTTP/1.1\r\nHost: x\r\n\r\n";
		if (send_all(fd, req, strlen(req)) == 0 && read_reply(fd, &r, false) == 0 && r.status == 200)
			ok++;
	}
	close(fd);
	cr_assert_eq(ok, 30);
}

/* More connections than one accept batch (64) at once, each with its
 * request already sent before the proxy accepted it. */
Test(proxy_threads, accept_burst_all_answered, .init = setup_threads, .fini = teardown, .timeout = 10)
{
	enum { N = 150 };
	int fds[N];
	const char *req = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
	for (int i = 0; i < N; i++) {
		fds[i] = client();
		cr_assert_eq(send_all(fds[i], req, strlen(req)), 0);
	}
	int ok = 0;
	const char *bodies[] = { "hello" };
	for (int i = 0; i < N; i++) {
		ok += count_replies(fds[i], 1, bodies);
		close(fds[i]);
	}
	cr_assert_eq(ok, N, "%d of %d answered", ok, N);
}

/* Connections accepted while others close, on one worker so the accepts
 * and the closes share epoll batches. */
static void *churn_main(void *arg)
{
	int *ok = arg;
	const char *req = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *bodies[] = { "hello" };
	for (int i = 0; i < 100; i++) {
		int fd = client();
		if (send_all(fd, req, strlen(req)) == 0)
			*ok += count_replies(fd, 1, bodies);
		close(fd);
	}
	return NULL;
}

Test(proxy_threads, churn_all_answered, .init = setup, .fini = teardown, .timeout = 10)
{
	pthread_t t[4];
	int ok[4] = { 0 };
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, churn_main, &ok[i]);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(ok[i], 100, "client %d: %d of 100 answered", i, ok[i]);
	}
}

/* Connections are spread over the workers by count (proxy.c), whichever
 * worker the kernel wakes, and every close gives its place back. */
static void setup_two_workers(void)
{
	nthreads = 2;
	setup();
}

static int worker_conns(unsigned i)
{
	return __atomic_load_n(&px->workers[i].conns, __ATOMIC_RELAXED);
}

Test(proxy_threads, connections_spread_evenly, .init = setup_two_workers, .fini = teardown,
     .timeout = 10)
{
	enum { N = 8 };
	int fds[N];
	for (int i = 0; i < N; i++) {
		fds[i] = client();
		reply r;
		roundtrip(fds[i], "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
		cr_assert_eq(r.status, 200);
	}
	cr_assert_eq(worker_conns(0), N / 2, "worker 0: %d", worker_conns(0));
	cr_assert_eq(worker_conns(1), N / 2, "worker 1: %d", worker_conns(1));
	for (int i = 0; i < N; i++)
		close(fds[i]);
	for (int t = 0; t < 200 && worker_conns(0) + worker_conns(1) > 0; t++)
		usleep(10000);
	cr_assert_eq(worker_conns(0), 0);
	cr_assert_eq(worker_conns(1), 0);
}
