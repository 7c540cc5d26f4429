/* server.c — demo-app's connections: a few epoll worker threads, each
 * accepting from the shared socket and owning its connections outright. No
 * connection is touched by two threads, and no client can block a worker. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "demo-app.h"

struct worker;

struct conn {
	int fd;
	struct worker *w;
	struct conn *prev, *next;     /* all connections of the worker */
	struct conn *delay_next;      /* FIFO of answers held back by --latency-ms */
	struct conn *turn_next;       /* FIFO of connections with more to do (fairness) */
	bool delayed;
	bool waiting_turn;            /* in the worker's turn FIFO */
	bool close_after;
	bool draining;                /* answered and shut down; reading to EOF */
	int status;                   /* of the answer held or being sent */
	int64_t due_ns, started_ns, active_ns;
	char *out;
	size_t out_len, out_off;
	uint64_t skip;                /* request body bytes still to drop */
	size_t in_len;
	char in[DEMO_MAX_HEAD];
};

struct worker {
	pthread_t thread;
	int epfd;
	struct demo_server *srv;
	struct conn *conns;
	int n_conns, max_conns;
	struct conn *delay_head, *delay_tail;
	struct conn *turn_head, *turn_tail;
	int64_t swept_ns;
};

struct demo_server {
	const struct demo_opts *opts;
	int listen_fd, stop_fd;
	int n_workers;
	struct worker *workers;
};

/* epoll data for the two non-connection descriptors */
static char listen_tag, stop_tag;

int64_t demo_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Takes c out of the turn FIFO (rare: a connection closed while waiting). */
static void turn_remove(struct worker *w, struct conn *c)
{
	struct conn *prev = NULL;
	for (struct conn *t = w->turn_head; t; prev = t, t = t->turn_next) {
		if (t != c)
			continue;
		if (prev)
			prev->turn_next = t->turn_next;
		else
			w->turn_head = t->turn_next;
		if (w->turn_tail == t)
			w->turn_tail = prev;
		break;
	}
	c->waiting_turn = false;
}

static void conn_close(struct conn *c)
{
	struct worker *w = c->w;
	if (c->waiting_turn)
		turn_remove(w, c);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->n_conns--;
	close(c->fd);
	free(c->out);
	free(c);
}

static void conn_open(struct worker *w, int fd)
{
	int one = 1;
	/* Each answer is one write; without NODELAY a keep-alive client's
	 * delayed ACK would stall the next answer by tens of milliseconds. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct conn *c = calloc(1, sizeof *c);
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->w = w;
	c->active_ns = demo_now_ns();
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
				  .data.ptr = c };
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		free(c);
		return;
	}
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->n_conns++;
}

/* The answer is ready to go: count it now so the histogram includes
 * any injected latency. */
static void conn_answer_ready(struct conn *c)
{
	metrics_record(c->status, demo_now_ns() - c->started_ns);
}

static int conn_queue(struct conn *c, struct demo_response *res, bool keep_alive)
{
	c->close_after = res->close || !keep_alive;
	c->status = res->status;
	c->out = http_format(res, !c->close_after, &c->out_len);
	c->out_off = 0;
	int delay_ms = res->delay_ms;
	http_response_release(res);
	if (!c->out)
		return -1;
	if (delay_ms <= 0) {
		conn_answer_ready(c);
		return 1;
	}
	/* Every delay is the same --latency-ms and the clock only moves forward,
	 * so appending keeps the FIFO sorted by due time. */
	c->due_ns = demo_now_ns() + (int64_t)delay_ms * 1000000;
	c->delayed = true;
	c->delay_next = NULL;
	if (c->w->delay_tail)
		c->w->delay_tail->delay_next = c;
	else
		c->w->delay_head = c;
	c->w->delay_tail = c;
	return 1;
}

static void conn_consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

/* Parses and answers the next buffered request: 1 answered, 0 need more
 * bytes, -1 close now. */
static int conn_next_request(struct conn *c)
{
	if (c->skip) {
		size_t n = c->skip < c->in_len ? (size_t)c->skip : c->in_len;
		conn_consume(c, n);
		c->skip -= n;
		if (c->skip)
			return 0;
	}
	struct demo_request req;
	struct demo_response res;
	int status = 400;
	long head = c->in_len ? http_parse(c->in, c->in_len, &req, &status) : 0;
	if (head == 0 && c->in_len < sizeof c->in)
		return 0;
	c->started_ns = demo_now_ns();
	if (head <= 0) {
		http_error(status, &res);   /* bad head, or no end within 8 KiB */
		return conn_queue(c, &res, false);
	}
	if (req.body_len > DEMO_MAX_BODY) {
		http_error(413, &res);
		return conn_queue(c, &res, false);
	}
	http_route(c->w->srv->opts, &req, &res);
	conn_consume(c, (size_t)head);   /* req points into in: route first */
	c->skip = req.body_len;
	return conn_queue(c, &res, req.keep_alive);
}

/* 1 read something, 0 would block, -1 peer gone or error. */
static int conn_fill(struct conn *c)
{
	for (;;) {
		ssize_t n = read(c->fd, c->in + c->in_len, sizeof c->in - c->in_len);
		if (n > 0) {
			c->in_len += (size_t)n;
			c->active_ns = demo_now_ns();
			return 1;
		}
		if (n == 0)
			return -1;
		if (errno == EINTR)
			continue;
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
	}
}

/* 1 all sent, 0 would block, -1 error. */
static int conn_flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
		c->out_off += (size_t)n;
		c->active_ns = demo_now_ns();
	}
	free(c->out);
	c->out = NULL;
	return 1;
}

/* Closing a socket with unread input makes the kernel send RST, which can
 * destroy the answer (a 400 for an oversized head) before the client reads
 * it. So half-close first and read to EOF; the sweep bounds the wait. */
static void conn_linger(struct conn *c)
{
	shutdown(c->fd, SHUT_WR);
	c->draining = true;
	c->skip = 0;   /* from here on: bytes drained */
	c->active_ns = demo_now_ns();
}

/* 0 would block, 1 EOF, error or too much: close now. */
static int conn_drain(struct conn *c)
{
	char buf[4096];
	for (;;) {
		ssize_t n = read(c->fd, buf, sizeof buf);
		if (n > 0 && (c->skip += (uint64_t)n) <= DEMO_MAX_BODY)
			continue;
		if (n > 0)
			return 1;
		if (n < 0 && errno == EINTR)
			continue;
		return (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ? 0 : 1;
	}
}

/* Requests one connection may be served per turn. A keep-alive client that
 * always has its next request ready (a proxy's pooled connection under
 * load) would otherwise keep the worker to itself and starve the others. */
#define TURN_REQUESTS 8

static void turn_wait(struct conn *c)
{
	struct worker *w = c->w;
	if (c->waiting_turn)
		return;
	c->waiting_turn = true;
	c->turn_next = NULL;
	if (w->turn_tail)
		w->turn_tail->turn_next = c;
	else
		w->turn_head = c;
	w->turn_tail = c;
}

/* Moves a connection as far as it can go in one turn. Edge-triggered epoll
 * only reports new readiness, so this returns only at EAGAIN, while an
 * answer is held back (the delay timer calls it again), after closing the
 * connection, or when its turn is used up (it then waits in the worker's
 * turn FIFO and is driven again after the others had theirs). */
static void conn_drive(struct conn *c)
{
	int turn = TURN_REQUESTS;
	for (;;) {
		if (c->delayed)
			return;
		if (turn == 0 && !c->out) {
			turn_wait(c);
			return;
		}
		if (c->out) {
			int r = conn_flush(c);
			if (r < 0) {
				conn_close(c);
				return;
			}
			if (r == 0)
				return;
			if (c->close_after)
				conn_linger(c);
		}
		if (c->draining) {
			if (conn_drain(c) != 0)
				conn_close(c);
			return;
		}
		int r = conn_next_request(c);
		if (r > 0)
			turn--;
		if (r == 0)
			r = conn_fill(c);
		if (r < 0) {
			conn_close(c);
			return;
		}
		if (r == 0)
			return;
	}
}

static void worker_accept(struct worker *w)
{
	/* A bounded batch, so other workers get their share of a burst. */
	for (int i = 0; i < 32; i++) {
		int fd = accept4(w->srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			/* Out of descriptors: the socket stays readable, so back off
			 * briefly instead of spinning. */
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
			return;
		}
		if (w->n_conns >= w->max_conns)
			close(fd);   /* over the bound: refuse rather than grow */
		else
			conn_open(w, fd);
	}
}

static void worker_release_delayed(struct worker *w, int64_t now)
{
	while (w->delay_head && w->delay_head->due_ns <= now) {
		struct conn *c = w->delay_head;
		w->delay_head = c->delay_next;
		if (!w->delay_head)
			w->delay_tail = NULL;
		c->delayed = false;
		conn_answer_ready(c);
		conn_drive(c);
	}
}

/* Closes connections silent for DEMO_IDLE_MS: idle keep-alives and clients
 * that stopped mid-request must not hold a slot for ever. */
static void worker_sweep(struct worker *w, int64_t now)
{
	if (now - w->swept_ns < 1000000000)
		return;
	w->swept_ns = now;
	for (struct conn *c = w->conns, *next; c; c = next) {
		next = c->next;
		int64_t idle_ms = c->draining ? DEMO_LINGER_MS : DEMO_IDLE_MS;
		if (!c->delayed && now - c->active_ns > idle_ms * 1000000)
			conn_close(c);
	}
}

static int worker_timeout_ms(const struct worker *w, int64_t now)
{
	if (!w->delay_head)
		return 1000;
	int64_t left = w->delay_head->due_ns - now;
	return left <= 0 ? 0 : (int)((left + 999999) / 1000000);
}

/* The connections whose turn ran out, once each, in arrival order; those
 * that use up another turn queue again behind the next epoll round. */
static void worker_take_turns(struct worker *w)
{
	struct conn *c = w->turn_head, *last = w->turn_tail;
	w->turn_head = w->turn_tail = NULL;
	while (c) {
		struct conn *next = c == last ? NULL : c->turn_next;
		c->waiting_turn = false;
		conn_drive(c);
		c = next;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[128];
	for (;;) {
		int wait_ms = w->turn_head ? 0 : worker_timeout_ms(w, demo_now_ns());
		int n = epoll_wait(w->epfd, evs, 128, wait_ms);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &stop_tag)
				goto out;
			if (evs[i].data.ptr == &listen_tag)
				worker_accept(w);
			else
				conn_drive(evs[i].data.ptr);
		}
		worker_take_turns(w);
		int64_t now = demo_now_ns();
		worker_release_delayed(w, now);
		worker_sweep(w, now);
	}
out:
	while (w->conns)
		conn_close(w->conns);
	return NULL;
}

static int worker_init(struct demo_server *s, struct worker *w)
{
	w->srv = s;
	w->max_conns = s->opts->max_conns / s->opts->threads + 1;
	w->swept_ns = demo_now_ns();
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0)
		return -1;
	/* EPOLLEXCLUSIVE: one new connection wakes one worker, not all. */
	struct epoll_event l = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &listen_tag };
	struct epoll_event st = { .events = EPOLLIN, .data.ptr = &stop_tag };
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, s->listen_fd, &l) < 0 ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, s->stop_fd, &st) < 0)
		return -1;
	return 0;
}

static void server_free(struct demo_server *s)
{
	for (int i = 0; s->workers && i < s->opts->threads; i++)
		if (s->workers[i].epfd >= 0)
			close(s->workers[i].epfd);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	free(s->workers);
	free(s);
}

int server_start(const struct demo_opts *o, int listen_fd, struct demo_server **out)
{
	struct demo_server *s = calloc(1, sizeof *s);
	if (!s)
		return -1;
	s->opts = o;
	s->listen_fd = listen_fd;
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->workers = calloc((size_t)o->threads, sizeof *s->workers);
	if (s->stop_fd < 0 || !s->workers) {
		server_free(s);
		return -1;
	}
	for (int i = 0; i < o->threads; i++)
		s->workers[i].epfd = -1;
	for (int i = 0; i < o->threads; i++, s->n_workers++) {
		if (worker_init(s, &s->workers[i]) < 0 ||
		    pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i])) {
			server_stop(s);
			return -1;
		}
	}
	*out = s;
	return 0;
}

/* The stop eventfd is never read, so it stays readable and wakes every
 * worker; each closes its own connections before the join. */
void server_stop(struct demo_server *s)
{
	uint64_t one = 1;
	if (write(s->stop_fd, &one, sizeof one) < 0)
		perror("demo-app: stop");
	for (int i = 0; i < s->n_workers; i++)
		pthread_join(s->workers[i].thread, NULL);
	server_free(s);
}
