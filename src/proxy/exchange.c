/* exchange.c — one client connection's state machine: read a request head,
 * pick a backend, take a pooled upstream connection or connect, stream the
 * request body up and the response back, then keep both sides alive or
 * close. Every buffer is fixed-size, so a full buffer simply stops reading
 * the side that fills it (backpressure). Must never buffer a whole body,
 * block, or send an error answer once a response has started.
 *
 * Flow of control: an epoll event only moves bytes from a socket into a
 * buffer (or notes the end of a connect); drive() then does every step that
 * can make progress, writes what it can and recomputes the epoll interest
 * of both sockets. A closed connection is only marked (fd -1) and freed by
 * px_reap after the batch of events, since a later event may name it.
 *
 * A 101 answer to a request that asked for a protocol switch (a WebSocket)
 * turns the exchange into a tunnel: from then on bytes are copied both ways
 * untouched until either side closes, the idle timeout passes, or the
 * release it was counted for stops being routed and its drain ends
 * (rg_proxy_retire_tunnels). It is counted once, as one request with status
 * 101 and the latency to the 101, when the 101 is queued. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/proxy_internal.h"
#include "util/timeutil.h"

static const rg_h1_limits *lim(px_client *c) { return &c->w->p->o.limits; }

static bool pending(const px_buf *b) { return b->len > b->off; }

/* ---- closing and pooling ------------------------------------------------------ */

static void pool_unlink(px_upstream *u)
{
	px_worker *w = u->w;
	if (u->prev)
		u->prev->next = u->next;
	else
		w->pool = u->next;
	if (u->next)
		u->next->prev = u->prev;
	u->prev = u->next = NULL;
	u->pooled = false;
	w->pool_n--;
}

void px_upstream_close(px_upstream *u)
{
	if (u->ev.fd < 0)
		return;
	if (u->pooled)
		pool_unlink(u);
	px_close_fd(u->w, &u->ev);
	u->c = NULL;
	u->next = u->w->grave_u;
	u->w->grave_u = u;
}

/* Back to the pool only after a clean, complete exchange with nothing
 * unread: anything else leaves the connection in an unknown state. */
static void upstream_release(px_client *c, bool reuse)
{
	px_upstream *u = c->up;
	if (!u)
		return;
	c->up = NULL;
	u->c = NULL;
	px_worker *w = c->w;
	if (!reuse || u->eof || pending(&u->in) || pending(&u->out) || w->pool_n >= PX_POOL_MAX) {
		px_upstream_close(u);
		return;
	}
	u->in.off = u->in.len = u->out.off = u->out.len = 0;
	u->since_ms = rg_mono_ms();
	u->pooled = true;
	u->prev = NULL;
	u->next = w->pool;
	if (w->pool)
		w->pool->prev = u;
	w->pool = u;
	w->pool_n++;
	px_set_events(w, &u->ev, EPOLLIN); /* readable while idle = closed or junk */
}

/* Statistics for the counted request and done() for the token it holds,
 * each once. */
static void finish_request(px_client *c, int status)
{
	if (c->counted) {
		c->counted = false;
		int64_t end = c->t_resp_us ? c->t_resp_us : rg_mono_us();
		int64_t lat = end - c->t_head_us;
		rg_stats_record(c->w->shards[c->slot], rg_mono_ms() / 1000, status,
				lat > 0 ? (uint64_t)lat : 0);
	}
	if (!c->picked)
		return;
	c->picked = false;
	c->set_cookie = NULL; /* the token's memory */
	rg_proxy *p = c->w->p;
	if (p->o.done)
		p->o.done(p->o.ctx, c->token, status);
}

void px_client_unassigned(px_worker *w, const rg_sockaddr *addr)
{
	__atomic_fetch_sub(&w->conns, 1, __ATOMIC_RELAXED);
	if (w->p->o.max_per_client)
		__atomic_fetch_sub(px_client_bucket(w->p, addr), 1, __ATOMIC_RELAXED);
}

void px_client_close(px_client *c)
{
	if (c->state == PX_C_DEAD)
		return;
	px_client_unassigned(c->w, &c->addr);
	finish_request(c, c->status);
	upstream_release(c, false);
	c->state = PX_C_DEAD;
	px_worker *w = c->w;
	if (c->prev)
		c->prev->next = c->next;
	else
		w->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	px_close_fd(w, &c->ev);
	c->prev = NULL;
	c->next = w->grave_c;
	w->grave_c = c;
}

void px_reap(px_worker *w)
{
	while (w->grave_c) {
		px_client *c = w->grave_c;
		w->grave_c = c->next;
		px_buf_release(&c->in);
		px_buf_release(&c->out);
		free(c);
	}
	while (w->grave_u) {
		px_upstream *u = w->grave_u;
		w->grave_u = u->next;
		px_buf_release(&u->in);
		px_buf_release(&u->out);
		free(u);
	}
}

/* The proxy's own answer (400…, 502, 503, 504): only before any response
 * byte was queued; then the connection closes. */
static void answer_error(px_client *c, int status, const char *code, const char *message)
{
	c->status = status;
	c->t_resp_us = rg_mono_us();
	finish_request(c, status);
	upstream_release(c, false);
	c->keep_client = false;
	c->state = PX_C_CLOSING;
	size_t space = px_buf_space(&c->out);
	size_t n = px_error_answer(c->out.b + c->out.len, space, status, code, message);
	c->out.len += n; /* 0 if it did not fit behind a pipelined answer: just close */
}

/* ---- upstream connections ----------------------------------------------------- */

static px_upstream *upstream_new(px_worker *w, const rg_sockaddr *addr, int fd)
{
	px_upstream *u = calloc(1, sizeof *u);
	if (!u)
		return NULL;
	if (px_buf_init(&u->in, w->p->bufcap) || px_buf_init(&u->out, w->p->bufcap)) {
		px_buf_release(&u->in);
		free(u);
		return NULL;
	}
	u->w = w;
	u->addr = *addr;
	u->ev = (px_ev){ PX_EV_UPSTREAM, fd, EPOLLOUT };
	struct epoll_event e = { .events = EPOLLOUT, .data.ptr = &u->ev };
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
		px_buf_release(&u->in);
		px_buf_release(&u->out);
		free(u);
		return NULL;
	}
	return u;
}

/* NULL with *local set when this process is out of descriptors, ports or
 * memory: nothing the backend did. */
static px_upstream *upstream_get(px_worker *w, const rg_sockaddr *addr, bool *local)
{
	*local = false;
	for (px_upstream *u = w->pool; u; u = u->next) {
		if (rg_sockaddr_equal(&u->addr, addr)) {
			pool_unlink(u);
			u->reused = true;
			u->got_bytes = u->sent_bytes = u->eof = false;
			return u;
		}
	}
	int fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*local = true;
		return NULL;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	int r = connect(fd, (const struct sockaddr *)&addr->ss, addr->len);
	if (r < 0 && errno != EINPROGRESS) {
		*local = errno == EADDRNOTAVAIL || errno == ENOBUFS || errno == ENOMEM ||
			 errno == EAGAIN;
		close(fd);
		return NULL;
	}
	px_upstream *u = upstream_new(w, addr, fd);
	if (!u) {
		*local = true;
		close(fd);
		return NULL;
	}
	u->connecting = r < 0;
	u->since_ms = rg_mono_ms();
	return u;
}

static bool idempotent(px_client *c)
{
	const rg_h1_head *h = &c->req.head;
	const char *m = c->in.b + h->method.off;
	bool safe = (h->method.len == 3 && memcmp(m, "GET", 3) == 0) ||
		    (h->method.len == 4 && memcmp(m, "HEAD", 4) == 0) ||
		    (h->method.len == 7 && memcmp(m, "OPTIONS", 7) == 0);
	bool no_body = h->body == RG_H1_BODY_NONE ||
		       (h->body == RG_H1_BODY_LENGTH && h->content_length == 0);
	return safe && no_body;
}

static void try_upstream(px_client *c);

/* One failed upstream attempt: counted, and told to the caller (who may
 * mark the backend down) while its token is still live. */
static void note_upstream_error(px_client *c, rg_upstream_error kind)
{
	rg_proxy *p = c->w->p;
	rg_stats_upstream_error(c->w->shards[c->slot], rg_mono_ms() / 1000, kind);
	if (c->picked && p->o.failed)
		p->o.failed(p->o.ctx, c->token, kind);
}

/* The upstream failed before the response started (else: close the client,
 * an answer cannot be sent mid-body). A connect failure, or a reused pooled
 * connection that died before answering, is retried once through pick for
 * an idempotent request without a body. */
static void upstream_failed(px_client *c, rg_upstream_error kind, bool retryable)
{
	px_worker *w = c->w;
	note_upstream_error(c, kind);
	if (c->resp_head_done) {
		c->keep_client = false;
		px_client_close(c);
		return;
	}
	if (retryable && c->attempt == 0 && idempotent(c)) {
		rg_proxy *p = w->p;
		c->picked = false; /* still counted: one request in the statistics, two picks */
		c->set_cookie = NULL;
		if (p->o.done)
			p->o.done(p->o.ctx, c->token, 502);
		upstream_release(c, false);
		c->attempt = 1;
		c->retry_reason = (int)kind; /* c->retry_hint is still the first pick's */
		try_upstream(c);
		return;
	}
	if (kind == RG_UPSTREAM_TIMEOUT)
		answer_error(c, 504, "gateway_timeout", "the upstream did not answer in time");
	else if (kind == RG_UPSTREAM_CONNECT)
		answer_error(c, 502, "bad_gateway", "cannot connect to the upstream");
	else
		answer_error(c, 502, "bad_gateway", "the upstream failed");
}

static void try_upstream(px_client *c)
{
	px_worker *w = c->w;
	rg_proxy *p = w->p;
	rg_proxy_request r = { c->in.b, &c->req.head, c->addr, c->attempt,
			       c->attempt ? c->retry_hint : 0, c->attempt ? c->retry_reason : -1 };
	rg_proxy_target t;
	memset(&t, 0, sizeof t);
	t.slot = -1;
	if (p->o.pick(p->o.ctx, &r, &t) != 0) {
		/* Counted where pick says (on the retry: where the first attempt
		 * was, unless it says otherwise), so a release whose backends are
		 * all down shows the errors its users get. */
		if (t.slot >= 0 && t.slot < RG_PROXY_SLOTS) {
			c->slot = t.slot;
			c->counted = true;
		}
		/* On the retry the first attempt's failure is the better answer. */
		if (c->attempt == 0)
			answer_error(c, 503, "no_backend", "no backend available");
		else if (c->retry_reason == RG_UPSTREAM_CONNECT)
			answer_error(c, 502, "bad_gateway", "cannot connect to the upstream");
		else
			answer_error(c, 502, "bad_gateway", "the upstream failed");
		return;
	}
	c->picked = c->counted = true;
	c->slot = t.slot >= 0 && t.slot < RG_PROXY_SLOTS ? t.slot : 0;
	c->token = t.token;
	c->set_cookie = t.set_cookie;
	c->retry_hint = t.retry_hint;
	bool local;
	px_upstream *u = upstream_get(w, &t.addr, &local);
	if (!u && local) {
		/* This process ran out of descriptors or memory: neither the
		 * backend's fault nor its release's, so not counted against them
		 * (a flood of idle connections must not roll back a healthy
		 * release). */
		c->counted = false;
		answer_error(c, 503, "proxy_overloaded", "the proxy is out of resources; try again");
		return;
	}
	if (!u) {
		upstream_failed(c, RG_UPSTREAM_CONNECT, true);
		return;
	}
	u->c = c;
	c->up = u;
	size_t n = px_request_head(&p->o, &c->addr, u->out.b, u->out.cap, c->in.b, &c->req.head,
				   c->ip, c->req_id, &t.addr);
	if (n == 0) {
		answer_error(c, 431, "headers_too_large", "request header fields too large");
		return;
	}
	u->out.off = 0;
	u->out.len = n;
}

static void start_request(px_client *c)
{
	c->state = PX_C_EXCHANGE;
	c->t_head_us = rg_mono_us();
	c->t_resp_us = 0;
	c->req_sent_ms = 0;
	c->status = 0;
	c->attempt = 0;
	c->counted = false;
	c->set_cookie = NULL;
	c->retry_hint = 0;
	c->retry_reason = -1;
	c->resp_head_done = c->resp_done = c->dechunk = false;
	/* a draining proxy answers this request, then closes (a hand-over);
	 * so does a connection at its bound of requests */
	const rg_proxy_opts *o = &c->w->p->o;
	c->requests++;
	c->body_start_ms = rg_mono_ms();
	c->keep_client = c->req.head.keep_alive && !c->in_eof &&
			 !__atomic_load_n(&c->w->p->draining, __ATOMIC_ACQUIRE) &&
			 !(o->max_requests && c->requests >= o->max_requests);
	c->body_pos = c->req.head.head_len;
	rg_h1_body_init(&c->req_body, &c->req.head, lim(c));
	c->req_done = rg_h1_body_done(&c->req_body);
	rg_h1_response_init(&c->resp, lim(c), c->req.head.is_head);
	c->resp.upgrade_asked = c->req.head.tunnel;
	int i = rg_h1_find(&c->req.head, RG_H1_F_X_REQUEST_ID, 0);
	if (i < 0)
		px_request_id(&c->w->rng, c->req_id);
	try_upstream(c);
}

/* ---- the steps ----------------------------------------------------------------- */

static bool step_head(px_client *c)
{
	if (c->in.len == 0) {
		if (c->in_eof)
			px_client_close(c);
		return false;
	}
	rg_h1_status st = rg_h1_parse(&c->req, c->in.b, c->in.len);
	if (st == RG_H1_AGAIN) {
		if (c->in.len == c->in.cap)
			answer_error(c, 431, "headers_too_large", "request header fields too large");
		else if (c->in_eof)
			px_client_close(c);
		return false;
	}
	if (st != RG_H1_DONE) {
		answer_error(c, rg_h1_http_status(st), rg_h1_status_name(st), rg_h1_reason(st));
		return true;
	}
	start_request(c);
	return true;
}

/* Request body: from the client's buffer into the upstream's, span by span,
 * as far as the upstream buffer has room. Trailers are dropped (they were
 * not announced upstream: Trailer is hop-by-hop here). */
static bool pump_request(px_client *c)
{
	px_upstream *u = c->up;
	bool progress = false;
	while (!c->req_done) {
		size_t avail = c->in.len - c->body_pos;
		if (avail == 0) {
			if (c->in_eof) { /* the client went away mid-body */
				px_client_close(c);
				return true;
			}
			break;
		}
		size_t space = px_buf_space(&u->out);
		if (space == 0)
			break;
		rg_h1_span sp;
		rg_h1_status st = rg_h1_body_feed(&c->req_body, c->in.b + c->body_pos,
						  avail < space ? avail : space, &sp);
		if (st == RG_H1_AGAIN)
			break;
		if (st != RG_H1_DONE) {
			if (c->resp_head_done)
				px_client_close(c);
			else
				answer_error(c, rg_h1_http_status(st), rg_h1_status_name(st), rg_h1_reason(st));
			return true;
		}
		if (sp.kind != RG_H1_SPAN_TRAILER) {
			memcpy(u->out.b + u->out.len, c->in.b + c->body_pos, sp.len);
			u->out.len += sp.len;
		}
		c->body_pos += sp.len;
		progress = true;
		if (sp.end)
			c->req_done = true;
	}
	if (!c->req_done && c->body_pos == c->in.len)
		c->in.len = c->body_pos = c->req.head.head_len;
	return progress;
}

/* The response head, rewritten, into the client's buffer: 1 (the response
 * has started), 0 (wait until the client took what is queued) or -1 (it can
 * never fit: the upstream is failed). The space is taken first, since
 * taking it may compact the buffer. */
static int queue_response_head(px_client *c, bool keep, bool dechunk, const char *cookie)
{
	px_upstream *u = c->up;
	size_t space = px_buf_space(&c->out);
	size_t n = px_response_head(c->out.b + c->out.len, space, u->in.b + u->in.off, &c->resp.head,
				    keep, dechunk, cookie);
	if (n == 0) {
		if (pending(&c->out))
			return 0;
		upstream_failed(c, RG_UPSTREAM_PROTOCOL, false);
		return -1;
	}
	c->out.len += n;
	c->status = c->resp.head.status;
	c->t_resp_us = rg_mono_us();
	c->resp_head_done = true;
	return 1;
}

/* The 101 goes to the client; the statistics and the pick's done() get
 * the request now, since the tunnel may outlive the table that picked it.
 * What the client sent after its head, and the backend after the 101, are
 * already the new protocol's first bytes. */
static bool start_tunnel(px_client *c)
{
	int q = queue_response_head(c, false, false, NULL);
	if (q <= 0)
		return q < 0;
	px_buf_consume(&c->up->in, c->resp.head.head_len);
	c->resp_done = true;
	finish_request(c, 101);
	c->keep_client = false;
	c->state = PX_C_TUNNEL;
	c->tunnel_ms = rg_mono_ms();
	c->up_shut = false;
	c->in.off = c->body_pos;
	if (c->in.off == c->in.len)
		c->in.off = c->in.len = 0;
	return true;
}

static bool response_head(px_client *c)
{
	px_upstream *u = c->up;
	px_buf *in = &u->in;
	if (!pending(in) && !u->eof)
		return false;
	rg_h1_status st = rg_h1_parse(&c->resp, in->b + in->off, in->len - in->off);
	if (st == RG_H1_AGAIN) {
		if (u->eof)
			upstream_failed(c, RG_UPSTREAM_PROTOCOL, u->reused && !u->got_bytes);
		else if (in->off == 0 && in->len == in->cap)
			upstream_failed(c, RG_UPSTREAM_PROTOCOL, false);
		return u->eof;
	}
	if (st != RG_H1_DONE) {
		upstream_failed(c, RG_UPSTREAM_PROTOCOL, false);
		return true;
	}
	const rg_h1_head *h = &c->resp.head;
	const char *hb = in->b + in->off;
	if (h->tunnel)
		return start_tunnel(c);
	if (h->status < 200) { /* 1xx: passed on to HTTP/1.1 clients, then the real head */
		if (c->req.head.version_minor >= 1) {
			size_t n = px_response_head(c->out.b + c->out.len, px_buf_space(&c->out), hb, h,
						    true, false, NULL);
			if (n == 0)
				return false; /* wait until the client took what is queued */
			c->out.len += n;
		}
		px_buf_consume(in, h->head_len);
		rg_h1_response_init(&c->resp, lim(c), c->req.head.is_head);
		return true;
	}
	/* An HTTP/1.0 client cannot read chunked: send the payload only and
	 * close to end it. A close-delimited body ends the same way. */
	bool dechunk = h->body == RG_H1_BODY_CHUNKED && c->req.head.version_minor == 0;
	bool keep = c->keep_client && h->body != RG_H1_BODY_CLOSE && !dechunk;
	int q = queue_response_head(c, keep, dechunk, c->set_cookie);
	if (q <= 0)
		return q < 0;
	c->dechunk = dechunk;
	c->keep_client = keep;
	rg_h1_body_init(&c->resp_body, h, lim(c));
	c->resp_done = rg_h1_body_done(&c->resp_body);
	px_buf_consume(in, h->head_len);
	return true;
}

/* Response body: from the upstream's buffer into the client's. Chunked
 * bodies go verbatim (framing included, trailers dropped). */
static bool pump_response(px_client *c)
{
	px_upstream *u = c->up;
	px_buf *in = &u->in;
	bool progress = false;
	while (!c->resp_done) {
		size_t avail = in->len - in->off;
		rg_h1_status st;
		if (avail == 0) {
			if (!u->eof)
				break;
			st = rg_h1_body_eof(&c->resp_body);
			if (st == RG_H1_DONE) {
				c->resp_done = true;
				c->keep_client = false;
				return true;
			}
			goto broken;
		}
		size_t space = px_buf_space(&c->out);
		if (space == 0)
			break;
		rg_h1_span sp;
		st = rg_h1_body_feed(&c->resp_body, in->b + in->off, avail < space ? avail : space, &sp);
		if (st == RG_H1_AGAIN) {
			if (u->eof && avail <= space)
				goto broken;
			break;
		}
		if (st != RG_H1_DONE)
			goto broken;
		if (sp.kind == RG_H1_SPAN_DATA || (sp.kind == RG_H1_SPAN_FRAMING && !c->dechunk)) {
			memcpy(c->out.b + c->out.len, in->b + in->off, sp.len);
			c->out.len += sp.len;
		}
		px_buf_consume(in, sp.len);
		progress = true;
		if (sp.end)
			c->resp_done = true;
	}
	return progress;
broken:
	/* The response started: the client gets what arrived, then a close. */
	note_upstream_error(c, RG_UPSTREAM_PROTOCOL);
	finish_request(c, c->status);
	upstream_release(c, false);
	c->keep_client = false;
	c->state = PX_C_CLOSING;
	return true;
}

static void complete_exchange(px_client *c)
{
	px_upstream *u = c->up;
	bool reuse = c->resp.head.keep_alive && c->req_done && !pending(&u->out) && !u->eof;
	finish_request(c, c->status);
	upstream_release(c, reuse);
	if (!c->keep_client || !c->req_done || c->in_eof) {
		c->state = PX_C_CLOSING;
		return;
	}
	/* Keep-alive: whatever follows the body is the next (pipelined) request. */
	size_t left = c->in.len - c->body_pos;
	memmove(c->in.b, c->in.b + c->body_pos, left);
	c->in.len = left;
	c->body_pos = 0;
	rg_h1_request_init(&c->req, lim(c));
	c->state = PX_C_HEAD;
	c->head_start_ms = rg_mono_ms();
}

static int write_out(int fd, px_buf *b)
{
	while (pending(b)) {
		ssize_t n = send(fd, b->b + b->off, b->len - b->off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		}
		px_buf_consume(b, (size_t)n);
	}
	return 1;
}

/* As much of from as fits into to. */
static bool tunnel_copy(px_buf *from, px_buf *to)
{
	size_t avail = from->len - from->off;
	if (avail == 0)
		return false;
	size_t space = px_buf_space(to);
	size_t n = avail < space ? avail : space;
	if (n == 0)
		return false;
	memcpy(to->b + to->len, from->b + from->off, n);
	to->len += n;
	px_buf_consume(from, n);
	return true;
}

/* A client that ended its side gets SHUT_WR passed up once everything it
 * sent is delivered, so the backend sees the end and can answer it; the
 * backend ending its side ends the tunnel once the client has the rest. */
static bool step_tunnel(px_client *c)
{
	px_upstream *u = c->up;
	bool progress = tunnel_copy(&c->in, &u->out);
	progress |= tunnel_copy(&u->in, &c->out);
	if (pending(&u->out) && !u->eof) {
		size_t before = u->out.len - u->out.off;
		if (write_out(u->ev.fd, &u->out) < 0) {
			px_client_close(c);
			return true;
		}
		if (u->out.len - u->out.off != before) {
			c->activity_ms = rg_mono_ms();
			progress = true;
		}
	}
	if (c->in_eof && !pending(&c->in) && !pending(&u->out) && !c->up_shut && !u->eof) {
		shutdown(u->ev.fd, SHUT_WR);
		c->up_shut = true;
	}
	if (u->eof && !pending(&u->in)) {
		upstream_release(c, false);
		c->state = PX_C_CLOSING;
		return true;
	}
	return progress;
}

static bool step_exchange(px_client *c)
{
	bool progress = false;
	if (!c->req_done) {
		progress |= pump_request(c);
		if (c->state != PX_C_EXCHANGE)
			return true;
	}
	px_upstream *u = c->up;
	if (!u->connecting && pending(&u->out)) {
		size_t before = u->out.len - u->out.off;
		int r = write_out(u->ev.fd, &u->out);
		if (r < 0) {
			upstream_failed(c, RG_UPSTREAM_PROTOCOL, u->reused && !u->got_bytes);
			return true;
		}
		if (u->out.len - u->out.off != before) {
			u->sent_bytes = true;
			c->activity_ms = rg_mono_ms();
			progress = true;
		}
	}
	if (c->req_done && !pending(&u->out) && !u->connecting && c->req_sent_ms == 0)
		c->req_sent_ms = rg_mono_ms();
	if (!c->resp_head_done) {
		progress |= response_head(c);
		if (c->state != PX_C_EXCHANGE || !c->resp_head_done)
			return progress;
	}
	progress |= pump_response(c);
	if (c->state != PX_C_EXCHANGE)
		return true;
	if (c->resp_done && c->req_done) {
		complete_exchange(c);
		return true;
	}
	if (c->resp_done) { /* answered before the request ended: close after */
		c->keep_client = false;
		complete_exchange(c);
		return true;
	}
	return progress;
}

static size_t client_in_space(px_client *c)
{
	if (c->state == PX_C_TUNNEL)
		return px_buf_space(&c->in);
	if (c->state == PX_C_EXCHANGE && c->in.len == c->in.cap && c->body_pos > c->req.head.head_len) {
		size_t hl = c->req.head.head_len, left = c->in.len - c->body_pos;
		memmove(c->in.b + hl, c->in.b + c->body_pos, left);
		c->in.len = hl + left;
		c->body_pos = hl;
	}
	return c->in.cap - c->in.len;
}

static void update_events(px_client *c)
{
	px_worker *w = c->w;
	/* Reading on while a response is awaited costs nothing (pipelined bytes
	 * wait in the buffer, a full buffer stops it) and saves two epoll_ctl
	 * calls per request; it also notices a client that went away. */
	bool want_in = !c->in_eof && c->state != PX_C_CLOSING && client_in_space(c) > 0;
	px_set_events(w, &c->ev, (want_in ? EPOLLIN : 0) | (pending(&c->out) ? EPOLLOUT : 0));
	px_upstream *u = c->up;
	if (!u || u->eof)
		return;
	uint32_t ev;
	if (c->state == PX_C_TUNNEL)
		ev = (pending(&u->out) ? EPOLLOUT : 0) | (px_buf_space(&u->in) > 0 ? EPOLLIN : 0);
	else if (u->connecting)
		ev = EPOLLOUT;
	else
		ev = (pending(&u->out) ? EPOLLOUT : 0) |
		     (!c->resp_done && px_buf_space(&u->in) > 0 ? EPOLLIN : 0);
	px_set_events(w, &u->ev, ev);
}

static void drive(px_client *c)
{
	for (int rounds = 0; rounds < 64; rounds++) {
		for (int guard = 0; guard < 1000; guard++) {
			bool progress = false;
			if (c->state == PX_C_HEAD)
				progress = step_head(c);
			else if (c->state == PX_C_EXCHANGE)
				progress = step_exchange(c);
			else if (c->state == PX_C_TUNNEL)
				progress = step_tunnel(c);
			if (c->state == PX_C_DEAD)
				return;
			if (!progress)
				break;
		}
		size_t before = c->out.len - c->out.off;
		if (write_out(c->ev.fd, &c->out) < 0) {
			px_client_close(c);
			return;
		}
		if (c->out.len - c->out.off == before)
			break;
		c->activity_ms = rg_mono_ms();
		/* room in the client buffer may let the response move on */
		if (!((c->state == PX_C_EXCHANGE || c->state == PX_C_TUNNEL) && c->up &&
		      pending(&c->up->in)))
			break;
	}
	if (c->state == PX_C_CLOSING && !pending(&c->out)) {
		px_client_close(c);
		return;
	}
	update_events(c);
}

/* ---- events ------------------------------------------------------------------- */

void px_client_accepted(px_worker *w, int fd, const rg_sockaddr *addr)
{
	px_client *c = calloc(1, sizeof *c);
	if (!c || px_buf_init(&c->in, w->p->bufcap) || px_buf_init(&c->out, w->p->bufcap)) {
		if (c) {
			px_buf_release(&c->in);
			free(c);
		}
		close(fd);
		px_client_unassigned(w, addr);
		return;
	}
	c->w = w;
	c->addr = *addr;
	rg_sockaddr_host((const struct sockaddr *)&addr->ss, c->ip, sizeof c->ip);
	c->ev = (px_ev){ PX_EV_CLIENT, fd, EPOLLIN };
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = &c->ev };
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
		px_buf_release(&c->in);
		px_buf_release(&c->out);
		free(c);
		close(fd);
		px_client_unassigned(w, addr);
		return;
	}
	c->state = PX_C_HEAD;
	c->activity_ms = c->head_start_ms = rg_mono_ms();
	rg_h1_request_init(&c->req, lim(c));
	c->next = w->clients;
	if (w->clients)
		w->clients->prev = c;
	w->clients = c;
}

void px_client_event(px_client *c, uint32_t events)
{
	if ((events & (EPOLLHUP | EPOLLERR)) && !(c->ev.events & EPOLLIN)) {
		px_client_close(c); /* reset while we were not reading: nobody to answer */
		return;
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && (c->ev.events & EPOLLIN)) {
		size_t space = client_in_space(c);
		if (space > 0) {
			ssize_t n = recv(c->ev.fd, c->in.b + c->in.len, space, 0);
			if (n > 0) {
				if (c->state == PX_C_HEAD && c->in.len == 0)
					c->head_start_ms = rg_mono_ms();
				c->in.len += (size_t)n;
				c->activity_ms = rg_mono_ms();
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				c->in_eof = true;
				c->keep_client = false;
			}
		}
	}
	drive(c);
}

void px_upstream_event(px_upstream *u, uint32_t events)
{
	if (!u->c) { /* pooled: readable means closed (or junk) */
		char b;
		ssize_t n = recv(u->ev.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !(events & (EPOLLHUP | EPOLLERR)))
			return; /* stale event from before it was pooled */
		px_upstream_close(u);
		return;
	}
	px_client *c = u->c;
	if (u->connecting) {
		int e = 0;
		socklen_t el = sizeof e;
		getsockopt(u->ev.fd, SOL_SOCKET, SO_ERROR, &e, &el);
		if (e) {
			upstream_failed(c, RG_UPSTREAM_CONNECT, true);
			drive(c);
			return;
		}
		if (!(events & EPOLLOUT))
			return;
		u->connecting = false;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		size_t space = px_buf_space(&u->in);
		if (space > 0) {
			ssize_t n = recv(u->ev.fd, u->in.b + u->in.len, space, 0);
			if (n > 0) {
				u->in.len += (size_t)n;
				u->got_bytes = true;
				c->activity_ms = rg_mono_ms();
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				u->eof = true;
			}
		} else if (events & (EPOLLHUP | EPOLLERR)) {
			u->eof = true;
		}
		if (u->eof) { /* no more events from it: level-triggered HUP would spin */
			epoll_ctl(u->w->epfd, EPOLL_CTL_DEL, u->ev.fd, NULL);
			u->ev.events = 0;
		}
	}
	drive(c);
}

/* Timeouts, checked every tick (see proxy.c). */
void px_client_tick(px_client *c, int64_t now)
{
	const rg_proxy_opts *o = &c->w->p->o;
	px_upstream *u = c->up;
	switch (c->state) {
	case PX_C_HEAD:
		if (c->in.len == 0) {
			/* idle keep-alive, or a client that stopped reading the
			 * end of its answer: close quietly */
			if (now - c->activity_ms >= o->idle_timeout_ms)
				px_client_close(c);
			return;
		}
		if (now - c->head_start_ms < o->client_header_timeout_ms)
			return;
		answer_error(c, 408, "request_timeout", "request head not received in time");
		break;
	case PX_C_EXCHANGE:
		if (!c->req_done && !c->resp_head_done && o->client_body_timeout_ms > 0 &&
		    now - c->body_start_ms >= o->client_body_timeout_ms) {
			/* a body trickling in forever holds a backend connection too */
			answer_error(c, 408, "request_timeout", "request body not received in time");
		} else if (u && u->connecting) {
			if (now - u->since_ms < o->connect_timeout_ms)
				return;
			upstream_failed(c, RG_UPSTREAM_CONNECT, true);
		} else if (!c->resp_head_done && c->req_sent_ms) {
			if (now - c->req_sent_ms < o->response_header_timeout_ms)
				return;
			upstream_failed(c, RG_UPSTREAM_TIMEOUT, false);
		} else {
			if (now - c->activity_ms < o->idle_timeout_ms)
				return;
			upstream_failed(c, RG_UPSTREAM_TIMEOUT, false);
		}
		break;
	case PX_C_TUNNEL:
		if (now - c->activity_ms >= o->idle_timeout_ms ||
		    px_tunnel_retired(c->w->p, c->slot, c->tunnel_ms, now))
			px_client_close(c);
		return;
	case PX_C_CLOSING:
		if (now - c->activity_ms >= o->idle_timeout_ms)
			px_client_close(c);
		return;
	default:
		return;
	}
	if (c->state != PX_C_DEAD)
		drive(c);
}
