/* proxy.c — the proxy's life: bind, start N workers (one epoll loop each,
 * sharing one listening socket through EPOLLEXCLUSIVE), tick timeouts, stop
 * and free. The per-connection state machine is in exchange.c. Must never
 * let one worker touch another worker's connections or shards. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proxy/proxy_internal.h"
#include "util/timeutil.h"

/* A hand-off goes through a pipe in one write (accept_some). */
static_assert(sizeof(px_handoff) <= PIPE_BUF, "a hand-off must be one atomic pipe write");

/* Timeouts are checked by a periodic scan of the worker's connections
 * rather than a timer per connection: one comparison per connection every
 * TICK_MS is cheaper than keeping a heap up to date on every read, and the
 * timeouts are coarse (hundreds of ms and up) anyway. */
#define TICK_MS 25
#define ACCEPT_BATCH 64

int px_buf_init(px_buf *b, size_t cap)
{
	b->b = malloc(cap);
	b->off = b->len = 0;
	b->cap = cap;
	return b->b ? 0 : -1;
}

void px_buf_release(px_buf *b)
{
	free(b->b);
	b->b = NULL;
	b->off = b->len = b->cap = 0;
}

size_t px_buf_space(px_buf *b)
{
	if (b->off == b->len) {
		b->off = b->len = 0;
	} else if (b->off > 0 && b->len == b->cap) {
		memmove(b->b, b->b + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	return b->cap - b->len;
}

void px_buf_consume(px_buf *b, size_t n)
{
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

void px_set_events(px_worker *w, px_ev *ev, uint32_t events)
{
	if (ev->events == events)
		return;
	struct epoll_event e = { .events = events, .data.ptr = ev };
	epoll_ctl(w->epfd, EPOLL_CTL_MOD, ev->fd, &e);
	ev->events = events;
}

void px_close_fd(px_worker *w, px_ev *ev)
{
	if (ev->fd < 0)
		return;
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, ev->fd, NULL);
	close(ev->fd);
	ev->fd = -1;
}

void rg_proxy_opts_default(rg_proxy_opts *o)
{
	memset(o, 0, sizeof *o);
	o->listen_fd = -1;
	o->connect_timeout_ms = 2000;
	o->response_header_timeout_ms = 30000;
	o->idle_timeout_ms = 60000;
	o->client_header_timeout_ms = 10000;
	rg_h1_limits_default(&o->limits);
	o->limits.allow_upgrade = true; /* tunnelled: exchange.c */
}

/* ---- accepting and the loop -------------------------------------------------- */

/* Connections are spread by count, not by who happened to wake up. With
 * EPOLLEXCLUSIVE the kernel wakes whichever worker is idle at that moment,
 * so a burst of connects (a load balancer or wrk opening its pool) could all
 * land on one worker, which then serves every request of them for their
 * whole keep-alive life while the other workers idle: measured, one worker
 * with 64 connections and the other with none, and p99 up by a third. The
 * worker that accepts therefore gives each connection to the worker with the
 * fewest (itself on a tie, so a balanced proxy never hands off), through that
 * worker's inbox pipe: one write and one read per connection, never per
 * request, and the connection still lives on one worker only. A full pipe
 * (thousands of connections in flight) keeps the connection here. */
static px_worker *least_loaded(px_worker *self)
{
	rg_proxy *p = self->p;
	px_worker *best = self;
	int best_n = __atomic_load_n(&self->conns, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < p->nworkers; i++) {
		int n = __atomic_load_n(&p->workers[i].conns, __ATOMIC_RELAXED);
		if (n < best_n) {
			best = &p->workers[i];
			best_n = n;
		}
	}
	return best;
}

/* The client's address alone, never the port (one client, many
 * connections). An IPv6 client is keyed on its whole 128-bit address, as
 * max_connections_per_client promises. A host holding a /64 could rotate
 * addresses to get around it; keying on the /64 would stop that, but would
 * also count together everyone who shares a prefix (a NAT64 gateway's
 * users, a provider's tenants), and this bound must err towards strict
 * only for one client. max_connections still bounds them all. */
int *px_client_bucket(rg_proxy *p, const rg_sockaddr *addr)
{
	uint32_t h = UINT32_C(2166136261);
	const uint8_t *b;
	size_t n;
	if (addr->ss.ss_family == AF_INET6) {
		b = ((const struct sockaddr_in6 *)&addr->ss)->sin6_addr.s6_addr;
		n = 16;
	} else {
		b = (const uint8_t *)&((const struct sockaddr_in *)&addr->ss)->sin_addr;
		n = 4;
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * UINT32_C(16777619);
	h *= UINT32_C(0x9E3779B1);
	return &p->per_client[(h >> 20) % PX_CLIENT_BUCKETS];
}

/* The listener is level-triggered: while this process cannot take a
 * connection (out of descriptors, or at max_connections) it would wake the
 * workers for ever. Each takes it out of its epoll for a moment instead
 * (tick puts it back), and the kernel's backlog holds the callers. */
#define ACCEPT_PAUSE_MS 50

static void pause_accept(px_worker *w)
{
	if (w->accept_paused)
		return;
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->p->listen_fd, NULL);
	w->accept_paused = true;
	w->accept_resume_ms = rg_mono_ms() + ACCEPT_PAUSE_MS;
}

static void resume_accept(px_worker *w, int64_t now)
{
	rg_proxy *p = w->p;
	if (!w->accept_paused || now < w->accept_resume_ms ||
	    __atomic_load_n(&p->draining, __ATOMIC_ACQUIRE))
		return;
	struct epoll_event e = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &p->listen_ev };
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, p->listen_fd, &e) == 0)
		w->accept_paused = false;
}

static bool at_capacity(rg_proxy *p)
{
	return p->o.max_connections && (unsigned long)rg_proxy_connections(p) >= p->o.max_connections;
}

/* A client over its share is closed at once (with a reset: no lingering
 * state for a flood). */
static bool client_admitted(rg_proxy *p, const px_handoff *h)
{
	if (!p->o.max_per_client)
		return true;
	int *b = px_client_bucket(p, &h->addr);
	if ((unsigned)__atomic_add_fetch(b, 1, __ATOMIC_RELAXED) <= p->o.max_per_client)
		return true;
	__atomic_fetch_sub(b, 1, __ATOMIC_RELAXED);
	struct linger lg = { 1, 0 };
	setsockopt(h->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(h->fd);
	return false;
}

static void accept_some(px_worker *w)
{
	rg_proxy *p = w->p;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		if (at_capacity(p)) {
			pause_accept(w);
			return;
		}
		px_handoff h;
		socklen_t alen = sizeof h.addr.ss;
		h.fd = accept4(p->listen_fd, (struct sockaddr *)&h.addr.ss, &alen,
			       SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (h.fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				pause_accept(w);
			return; /* EAGAIN: nothing more now */
		}
		h.addr.len = alen;
		rg_sockaddr_unmap(&h.addr);
		if (!client_admitted(p, &h))
			continue;
		int one = 1;
		setsockopt(h.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		px_worker *to = least_loaded(w);
		__atomic_fetch_add(&to->conns, 1, __ATOMIC_RELAXED);
		if (to != w) {
			/* under PIPE_BUF: written whole or not at all */
			if (write(to->inbox[1], &h, sizeof h) == (ssize_t)sizeof h)
				continue;
			__atomic_fetch_sub(&to->conns, 1, __ATOMIC_RELAXED);
			__atomic_fetch_add(&w->conns, 1, __ATOMIC_RELAXED);
		}
		px_client_accepted(w, h.fd, &h.addr);
	}
}

/* Whole records only: every write is one record, so the pipe always holds
 * a multiple of its size and a read of a multiple returns one. */
static void take_handoffs(px_worker *w)
{
	px_handoff hs[ACCEPT_BATCH];
	ssize_t n = read(w->inbox[0], hs, sizeof hs);
	for (ssize_t i = 0; n > 0 && i < n / (ssize_t)sizeof hs[0]; i++)
		px_client_accepted(w, hs[i].fd, &hs[i].addr);
}

static void tick(px_worker *w, int64_t now)
{
	resume_accept(w, now);
	for (px_client *c = w->clients, *next; c; c = next) {
		next = c->next;
		px_client_tick(c, now);
	}
	for (px_upstream *u = w->pool, *next; u; u = next) {
		next = u->next;
		if (now - u->since_ms >= w->p->o.idle_timeout_ms)
			px_upstream_close(u);
	}
}

static void *worker_main(void *arg)
{
	px_worker *w = arg;
	struct epoll_event evs[128];
	int64_t next_tick = rg_mono_ms() + TICK_MS;
	while (!__atomic_load_n(&w->p->stopping, __ATOMIC_ACQUIRE)) {
		int64_t now = rg_mono_ms();
		int wait = next_tick > now ? (int)(next_tick - now) : 0;
		int n = epoll_wait(w->epfd, evs, 128, wait);
		for (int i = 0; i < n; i++) {
			px_ev *ev = evs[i].data.ptr;
			if (ev->fd < 0)
				continue; /* closed earlier in this batch */
			switch (ev->kind) {
			case PX_EV_LISTENER: accept_some(w); break;
			case PX_EV_WAKE: break;
			case PX_EV_INBOX: take_handoffs(w); break;
			case PX_EV_CLIENT: px_client_event((px_client *)ev, evs[i].events); break;
			case PX_EV_UPSTREAM: px_upstream_event((px_upstream *)ev, evs[i].events); break;
			}
		}
		now = rg_mono_ms();
		if (now >= next_tick) {
			tick(w, now);
			next_tick = now + TICK_MS;
		}
		px_reap(w);
	}
	while (w->clients)
		px_client_close(w->clients);
	while (w->pool)
		px_upstream_close(w->pool);
	px_reap(w);
	return NULL;
}

/* ---- start and stop ---------------------------------------------------------- */

static rg_err open_listener(rg_proxy *p, rg_error *err)
{
	rg_sockaddr a;
	rg_err rc = rg_hostport_parse(p->o.listen, RG_HOSTPORT_LISTEN_ANY_PORT, "listen", &a, err);
	if (rc)
		return rc;
	if (p->o.listen_fd >= 0) {
		/* inherited: already bound and listening; ours from now on */
		socklen_t alen = sizeof a.ss;
		p->listen_fd = p->o.listen_fd;
		if (getsockname(p->listen_fd, (struct sockaddr *)&a.ss, &alen) < 0)
			return rg_fail(err, RG_EIO, "listen", "inherited listener for %s: %s",
				       p->o.listen, strerror(errno));
		p->port = rg_sockaddr_port((struct sockaddr *)&a.ss);
		return RG_OK;
	}
	int fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return rg_fail(err, RG_EIO, "listen", "cannot listen on %s: %s", p->o.listen, strerror(errno));
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&a.ss, a.len) < 0 || listen(fd, 1024) < 0) {
		int e = errno;
		close(fd);
		return rg_fail(err, RG_EIO, "listen", "cannot listen on %s: %s", p->o.listen,
			       e == EADDRINUSE ? "address in use" : strerror(e));
	}
	socklen_t alen = sizeof a.ss;
	getsockname(fd, (struct sockaddr *)&a.ss, &alen);
	p->listen_fd = fd;
	p->port = rg_sockaddr_port((struct sockaddr *)&a.ss);
	return RG_OK;
}

static rg_err worker_init(rg_proxy *p, px_worker *w, unsigned idx, rg_error *err)
{
	w->p = p;
	w->idx = idx;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0)
		return rg_fail(err, RG_EIO, NULL, "epoll_create1: %s", strerror(errno));
	/* The listener and the wake-up eventfd are shared by every worker;
	 * EPOLLEXCLUSIVE wakes one worker per new connection, not all. */
	struct epoll_event e = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &p->listen_ev };
	struct epoll_event wk = { .events = EPOLLIN, .data.ptr = &p->wake_ev };
	if (pipe2(w->inbox, O_NONBLOCK | O_CLOEXEC) < 0) {
		w->inbox[0] = w->inbox[1] = -1;
		return rg_fail(err, RG_EIO, NULL, "pipe2: %s", strerror(errno));
	}
	w->inbox_ev = (px_ev){ PX_EV_INBOX, w->inbox[0], EPOLLIN };
	struct epoll_event ib = { .events = EPOLLIN, .data.ptr = &w->inbox_ev };
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, p->listen_fd, &e) < 0 ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, p->wake_fd, &wk) < 0 ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->inbox[0], &ib) < 0)
		return rg_fail(err, RG_EIO, NULL, "epoll_ctl: %s", strerror(errno));
	w->rng = (uint64_t)rg_mono_us() ^ ((uint64_t)(idx + 1) * UINT64_C(0x9E3779B97F4A7C15)) ^
		 (uint64_t)(uintptr_t)w;
	if (w->rng == 0)
		w->rng = 1;
	for (int s = 0; s < RG_PROXY_SLOTS; s++) {
		rg_err rc = RG_OK;
		if (p->o.shards)
			w->shards[s] = p->o.shards[(size_t)s * p->nworkers + idx];
		else
			rc = rg_stats_shard_new(&w->shards[s], err);
		if (rc)
			return rc;
		p->slot_shards[s][idx] = w->shards[s];
	}
	return RG_OK;
}

static void proxy_free(rg_proxy *p)
{
	for (unsigned i = 0; p->workers && i < p->nworkers; i++) {
		px_worker *w = &p->workers[i];
		if (w->epfd >= 0)
			close(w->epfd);
		/* Handed off while the workers were stopping: never taken. */
		px_handoff h;
		while (w->inbox[0] >= 0 && read(w->inbox[0], &h, sizeof h) == (ssize_t)sizeof h)
			close(h.fd);
		for (int k = 0; k < 2; k++)
			if (w->inbox[k] >= 0)
				close(w->inbox[k]);
		for (int s = 0; s < RG_PROXY_SLOTS && !p->o.shards; s++)
			rg_stats_shard_free(w->shards[s]);
	}
	for (int s = 0; s < RG_PROXY_SLOTS; s++)
		free(p->slot_shards[s]);
	free(p->workers);
	if (p->listen_fd >= 0)
		close(p->listen_fd);
	if (p->wake_fd >= 0)
		close(p->wake_fd);
	free(p);
}

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

rg_err rg_proxy_start(const rg_proxy_opts *opts, rg_proxy **out, rg_error *err)
{
	*out = NULL;
	if (!opts || !opts->pick)
		return rg_fail(err, RG_EINVAL, "pick", "the proxy needs a pick callback");
	if (opts->shards && !opts->threads)
		return rg_fail(err, RG_EINVAL, "threads", "placed shards need a thread count");
	if (opts->connect_timeout_ms <= 0 || opts->response_header_timeout_ms <= 0 ||
	    opts->idle_timeout_ms <= 0 || opts->client_header_timeout_ms <= 0)
		return rg_fail(err, RG_EINVAL, "timeout", "proxy timeouts must be positive");
	rg_proxy *p = calloc(1, sizeof *p);
	if (!p)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	p->o = *opts;
	p->listen_fd = p->wake_fd = -1;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	p->nworkers = opts->threads ? opts->threads : (unsigned)(ncpu > 0 ? ncpu : 1);
	if (p->nworkers > 1024)
		p->nworkers = 1024;
	/* One buffer per direction per connection. It must hold a whole head
	 * (the parser needs it contiguous) plus the framer's held-back line. */
	const rg_h1_limits *l = &p->o.limits;
	p->bufcap = max_sz(64 * 1024, (size_t)l->max_request_line + l->max_header_block +
					      l->max_chunk_line + l->max_trailer_block + 4096);
	rg_err rc = open_listener(p, err);
	if (rc) {
		proxy_free(p);
		return rc;
	}
	p->listen_ev = (px_ev){ PX_EV_LISTENER, p->listen_fd, 0 };
	p->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->wake_ev = (px_ev){ PX_EV_WAKE, p->wake_fd, 0 };
	p->workers = calloc(p->nworkers, sizeof *p->workers);
	for (int s = 0; s < RG_PROXY_SLOTS; s++)
		p->slot_shards[s] = calloc(p->nworkers, sizeof(rg_stats_shard *));
	bool shards_ok = true;
	for (int s = 0; s < RG_PROXY_SLOTS; s++)
		shards_ok &= p->slot_shards[s] != NULL;
	if (p->wake_fd < 0 || !p->workers || !shards_ok) {
		proxy_free(p);
		return rg_fail(err, RG_ENOMEM, NULL, "cannot set up the proxy: out of memory");
	}
	for (unsigned i = 0; i < p->nworkers; i++) {
		p->workers[i].epfd = -1;
		p->workers[i].inbox[0] = p->workers[i].inbox[1] = -1;
	}
	for (unsigned i = 0; i < p->nworkers; i++) {
		rc = worker_init(p, &p->workers[i], i, err);
		if (rc) {
			proxy_free(p);
			return rc;
		}
	}
	for (unsigned i = 0; i < p->nworkers; i++) {
		if (pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]) != 0) {
			__atomic_store_n(&p->stopping, 1, __ATOMIC_RELEASE);
			uint64_t one = 1;
			if (write(p->wake_fd, &one, sizeof one) < 0) {
				/* they still see `stopping` at their next tick */
			}
			for (unsigned j = 0; j < i; j++)
				pthread_join(p->workers[j].thread, NULL);
			proxy_free(p);
			return rg_fail(err, RG_EIO, NULL, "cannot start proxy threads");
		}
	}
	*out = p;
	return RG_OK;
}

void rg_proxy_stop(rg_proxy *p)
{
	if (!p)
		return;
	__atomic_store_n(&p->stopping, 1, __ATOMIC_RELEASE);
	uint64_t one = 1;
	/* Never read: it stays readable and wakes every worker. */
	if (write(p->wake_fd, &one, sizeof one) < 0) {
		/* the workers still see `stopping` at their next tick */
	}
	for (unsigned i = 0; i < p->nworkers; i++)
		pthread_join(p->workers[i].thread, NULL);
	proxy_free(p);
}

int rg_proxy_port(const rg_proxy *p) { return p->port; }

int rg_proxy_listen_fd(const rg_proxy *p) { return p->listen_fd; }

/* epoll_ctl may be called from any thread; a worker woken for the listener
 * just before finds nothing to accept (EAGAIN), or accepts a last one it then
 * serves like any other. */
void rg_proxy_drain(rg_proxy *p)
{
	/* a worker paused now stays paused: resume_accept reads draining */
	__atomic_store_n(&p->draining, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < p->nworkers; i++)
		epoll_ctl(p->workers[i].epfd, EPOLL_CTL_DEL, p->listen_fd, NULL);
}

/* close_ms is cleared first and set last, so a worker reading between
 * the two stores sees no retirement rather than a mixed one. */
void rg_proxy_retire_tunnels(rg_proxy *p, int slot, int after_ms)
{
	if (slot < 0 || slot >= RG_PROXY_SLOTS)
		return;
	__atomic_store_n(&p->retire[slot].close_ms, 0, __ATOMIC_RELEASE);
	if (after_ms < 0)
		return;
	int64_t now = rg_mono_ms();
	__atomic_store_n(&p->retire[slot].before_ms, now, __ATOMIC_RELEASE);
	/* the monotonic clock counts from boot: never 0 */
	__atomic_store_n(&p->retire[slot].close_ms, now + after_ms, __ATOMIC_RELEASE);
}

bool px_tunnel_retired(rg_proxy *p, int slot, int64_t opened_ms, int64_t now_ms)
{
	int64_t close_ms = __atomic_load_n(&p->retire[slot].close_ms, __ATOMIC_ACQUIRE);
	if (close_ms == 0 || now_ms < close_ms)
		return false;
	return opened_ms <= __atomic_load_n(&p->retire[slot].before_ms, __ATOMIC_ACQUIRE);
}

long rg_proxy_connections(const rg_proxy *p)
{
	long n = 0;
	for (unsigned i = 0; i < p->nworkers; i++)
		n += __atomic_load_n(&p->workers[i].conns, __ATOMIC_RELAXED);
	return n;
}

rg_err rg_proxy_snapshot(rg_proxy *p, int slot, rg_stats_summary *out, rg_error *err)
{
	if (slot < 0 || slot >= RG_PROXY_SLOTS)
		return rg_fail(err, RG_EINVAL, "slot", "bad statistics slot %d", slot);
	rg_stats_snapshot(p->slot_shards[slot], p->nworkers, out);
	return RG_OK;
}

rg_err rg_proxy_window(rg_proxy *p, int slot, int window_s, rg_stats_summary *out, rg_error *err)
{
	if (slot < 0 || slot >= RG_PROXY_SLOTS)
		return rg_fail(err, RG_EINVAL, "slot", "bad statistics slot %d", slot);
	return rg_stats_window(p->slot_shards[slot], p->nworkers, rg_mono_ms() / 1000, window_s, out, err);
}
