/* link.c — the controller's end of the proxy socket (link.h). At start it
 * waits (the loop is not running yet): for the proxy's WELCOME, for a proxy
 * it started to answer, for an old proxy to hand over to a new one. Once
 * the loop runs it never waits: frames go out with uv_try_write (queued
 * with uv_write when the socket is full), acks come in on a read callback,
 * and a proxy that went away is replaced by a retry timer. Must never write
 * the statistics region (remote.c maps it read-only). */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dataplane/link.h"
#include "dataplane/paths.h"
#include "dataplane/wire.h"
#include "util/log.h"
#include "util/timeutil.h"

#define RETRY_MS 20
#define SPAWN_GAP_MS 1000     /* at most one new proxy a second */
#define START_WAIT_MS 15000   /* a proxy started or handed over answers by then */
#define HELLO_WAIT_MS 3000    /* a proxy that accepted answers HELLO by then */

typedef enum { LINK_DOWN, LINK_HELLO, LINK_UP } link_state;

/* One connection to the proxy; freed by its close callback. */
typedef struct conn {
	uv_pipe_t pipe;
	rg_link *l;
	rg_wire_reader rd;
} conn;

typedef struct welcome {
	int pid;
	char shm[RG_DP_PATH_MAX];
	uint64_t fingerprint;
	char ident[RG_DP_IDENT_LEN];
} welcome;

struct rg_link {
	uv_loop_t *loop;
	const rg_config *cfg;
	const char *config_path;
	const char *log_format;       /* passed on to the proxy, NULL: its default */
	rg_dataplane *dp;
	rg_dp_paths paths;
	char exe[PATH_MAX];
	char ident[RG_DP_IDENT_LEN];
	uint64_t fingerprint;
	conn *c;                      /* NULL while down */
	link_state state;
	uv_timer_t retry;
	uint32_t seq;
	int pid;                      /* the proxy's, 0 while down */
	int64_t lost_ms;              /* when it went away, 0 if it did not */
	int64_t spawned_ms;
	int spawned_pid;              /* the last proxy started */
	int exited_pid;               /* the last one reaped */
	uv_process_t *children[8];    /* proxies started and not yet reaped */
};

/* ---- blocking, before the loop runs -------------------------------------------- */

static int connect_sock(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof a.sun_path)
		return -1;
	strcpy(a.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void hello_frame(rg_wire_buf *b)
{
	rg_wire_begin(b, RG_WIRE_HELLO, 0);
	rg_wire_put_u32(b, RG_WIRE_VERSION);
	rg_wire_put_u32(b, (uint32_t)getpid());
	rg_wire_end(b, NULL);
}

static rg_err parse_welcome(const rg_wire_msg *m, welcome *w, rg_error *err)
{
	if (m->type != RG_WIRE_WELCOME)
		return rg_fail(err, RG_EIO, NULL, "the proxy answered message %d, not a welcome",
			       (int)m->type);
	rg_wire_cursor c;
	rg_wire_cursor_init(&c, m);
	uint32_t version = rg_wire_get_u32(&c);
	w->pid = (int)rg_wire_get_u32(&c);
	rg_wire_get_str(&c, w->shm, sizeof w->shm);
	w->fingerprint = (uint64_t)rg_wire_get_i64(&c);
	rg_wire_get_str(&c, w->ident, sizeof w->ident);
	rg_err rc = rg_wire_done(&c, "welcome", err);
	if (!rc && version != RG_WIRE_VERSION)
		rc = rg_fail(err, RG_EIO, NULL, "the proxy speaks version %u, not %d", version,
			     RG_WIRE_VERSION);
	return rc;
}

static rg_err handshake(int fd, welcome *w, rg_error *err)
{
	rg_wire_buf b;
	hello_frame(&b);
	rg_wire_reader *r = malloc(sizeof *r);
	if (!r)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	rg_wire_reader_init(r);
	rg_wire_msg m;
	size_t nfd;
	rg_err rc = rg_wire_send_fds(fd, &b, NULL, 0, err);
	if (!rc)
		rc = rg_wire_recv(fd, r, &m, NULL, 0, &nfd, 5000, err);
	if (!rc)
		rc = parse_welcome(&m, w, err);
	free(r);
	return rc;
}

/* Whether the proxy this link started is gone (a zombie counts: the loop
 * reaps it later, and while serve starts the loop does not run — the
 * process handle is unreferenced, so uv_run would not even poll). */
static bool spawned_died(rg_link *l)
{
	if (!l->spawned_pid)
		return false;
	if (l->exited_pid == l->spawned_pid)
		return true;
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/stat", l->spawned_pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *paren = strrchr(buf, ')');
	return !paren || paren[1] != ' ' || paren[2] == 'Z' || paren[2] == 'X';
}

/* Until the peer closes (it exits, or hands over), bounded; false too when
 * the proxy this link just started died meanwhile. */
static bool wait_closed(rg_link *l, int fd, int timeout_ms)
{
	int64_t end = rg_mono_ms() + timeout_ms;
	char buf[4096];
	while (rg_mono_ms() < end && !(l && spawned_died(l))) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 100) > 0) {
			ssize_t n = read(fd, buf, sizeof buf);
			if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
				return true;
		}
	}
	return false;
}

static void wait_gone(int pid, int timeout_ms)
{
	int64_t end = rg_mono_ms() + timeout_ms;
	while (pid > 0 && kill(pid, 0) == 0 && rg_mono_ms() < end)
		usleep(20000);
}

static void on_child_closed(uv_handle_t *h) { free(h); }

static void on_child_exit(uv_process_t *p, int64_t status, int signo)
{
	rg_link *l = p->data;
	if (signo)
		rg_warn("the proxy process (pid %d) was killed by signal %d", p->pid, signo);
	else if (status)
		rg_warn("the proxy process (pid %d) exited with status %lld", p->pid,
			(long long)status);
	for (size_t i = 0; l && i < sizeof l->children / sizeof *l->children; i++)
		if (l->children[i] == p)
			l->children[i] = NULL;
	if (l)
		l->exited_pid = p->pid;
	uv_close((uv_handle_t *)p, on_child_closed);
}

/* `EXE proxy -c CONFIG [--takeover]` in a session of its own (a SIGKILL of
 * serve, or of its process group, never reaches it), output where serve's
 * goes. */
static rg_err spawn_proxy(rg_link *l, bool takeover, rg_error *err)
{
	char *args[8] = { l->exe, "proxy", "-c", (char *)l->config_path };
	int n = 4;
	if (l->log_format) {
		args[n++] = "--log-format";
		args[n++] = (char *)l->log_format;
	}
	if (takeover)
		args[n++] = "--takeover";
	uv_stdio_container_t stdio[3] = { { .flags = UV_IGNORE },
					  { .flags = UV_INHERIT_FD, .data.fd = 1 },
					  { .flags = UV_INHERIT_FD, .data.fd = 2 } };
	uv_process_options_t o = { .file = l->exe, .args = args, .flags = UV_PROCESS_DETACHED,
				   .exit_cb = on_child_exit, .stdio_count = 3, .stdio = stdio };
	size_t slot = 0;
	while (slot < sizeof l->children / sizeof *l->children && l->children[slot])
		slot++;
	uv_process_t *p = calloc(1, sizeof *p);
	if (!p)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	p->data = slot < sizeof l->children / sizeof *l->children ? l : NULL;
	int rc = uv_spawn(l->loop, p, &o);
	if (rc) {
		free(p);
		return rg_fail(err, RG_EIO, NULL, "cannot start the proxy process: %s", uv_strerror(rc));
	}
	if (p->data)
		l->children[slot] = p;
	uv_unref((uv_handle_t *)p);
	l->spawned_ms = rg_mono_ms();
	l->spawned_pid = p->pid;
	rg_info("started the proxy process (pid %d%s)", p->pid, takeover ? ", taking over" : "");
	return RG_OK;
}

static int await_proxy(rg_link *l, welcome *w, int timeout_ms, rg_error *err)
{
	int64_t end = rg_mono_ms() + timeout_ms;
	for (;;) {
		int fd = connect_sock(l->paths.sock);
		if (fd >= 0) {
			if (handshake(fd, w, err) == RG_OK)
				return fd;
			close(fd);
		}
		if (spawned_died(l)) {
			rg_fail(err, RG_EUNAVAILABLE, NULL, "the proxy process could not start (its "
				"error is logged above)");
			return -1;
		}
		if (rg_mono_ms() >= end) {
			rg_fail(err, RG_EUNAVAILABLE, NULL, "no proxy answered on %s within %d ms",
				l->paths.sock, timeout_ms);
			return -1;
		}
		usleep(20000);
	}
}

/* A proxy started with another config is told to go, and a new one started;
 * one running another binary hands its sockets to a new one. */
static int attach(rg_link *l, welcome *w, rg_error *err)
{
	int fd = connect_sock(l->paths.sock);
	if (fd >= 0 && handshake(fd, w, err) != RG_OK) {
		close(fd);
		fd = -1;
	}
	if (fd >= 0 && w->fingerprint != l->fingerprint) {
		rg_warn("the proxy process (pid %d) serves another proxy config: replacing it", w->pid);
		rg_wire_buf b;
		rg_wire_begin(&b, RG_WIRE_STOP, 0);
		rg_wire_end(&b, NULL);
		if (rg_wire_send_fds(fd, &b, NULL, 0, NULL) == RG_OK)
			wait_closed(NULL, fd, 5000);
		close(fd);
		wait_gone(w->pid, 5000);
		fd = -1;
	}
	if (fd < 0) {
		if (spawn_proxy(l, false, err))
			return -1;
		return await_proxy(l, w, START_WAIT_MS, err);
	}
	if (strcmp(w->ident, l->ident) == 0)
		return fd;
	int old = w->pid;
	rg_info("the proxy process (pid %d) runs another rollguard binary: handing its sockets "
		"to a new one", old);
	if (spawn_proxy(l, true, err)) {
		rg_warn("keeping the old proxy process: %s", err->message);
		return fd;
	}
	/* the old proxy closes its controllers once the new one has its sockets */
	if (!wait_closed(l, fd, START_WAIT_MS)) {
		rg_warn("the new proxy process did not take over; the old one (pid %d) goes on "
			"serving", old);
		return fd;
	}
	close(fd);
	fd = await_proxy(l, w, START_WAIT_MS, err);
	if (fd >= 0 && w->pid == old)
		rg_warn("the proxy process (pid %d) did not hand over; it goes on serving", old);
	return fd;
}

/* ---- on the loop ----------------------------------------------------------------- */

static void go_down(rg_link *l);
static void try_connect(rg_link *l);

typedef struct wreq {
	uv_write_t req;
	size_t len;
	uint8_t data[];
} wreq;

static void on_written(uv_write_t *req, int status)
{
	free(req);
}

/* Never waits: what the socket does not take now is queued. */
static rg_err send_frame(rg_link *l, const rg_wire_buf *b, rg_error *err)
{
	if (!l->c)
		return RG_OK;
	uv_buf_t buf = uv_buf_init((char *)b->data, (unsigned)b->len);
	int n = uv_try_write((uv_stream_t *)&l->c->pipe, &buf, 1);
	if (n == (int)b->len)
		return RG_OK;
	size_t done = n > 0 ? (size_t)n : 0;
	if (n < 0 && n != UV_EAGAIN)
		return rg_fail(err, RG_EIO, NULL, "cannot write to the proxy: %s", uv_strerror(n));
	wreq *w = malloc(sizeof *w + b->len - done);
	if (!w)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	w->len = b->len - done;
	memcpy(w->data, b->data + done, w->len);
	buf = uv_buf_init((char *)w->data, (unsigned)w->len);
	if ((n = uv_write(&w->req, (uv_stream_t *)&l->c->pipe, &buf, 1, on_written))) {
		free(w);
		return rg_fail(err, RG_EIO, NULL, "cannot write to the proxy: %s", uv_strerror(n));
	}
	return RG_OK;
}

static rg_err send_routes(rg_link *l, const rg_route_state *st, rg_error *err)
{
	rg_wire_buf *b = malloc(sizeof *b);
	if (!b)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	rg_wire_begin(b, RG_WIRE_ROUTES, ++l->seq);
	rg_wire_put_routes(b, st);
	rg_err rc = rg_wire_end(b, err);
	if (!rc)
		rc = send_frame(l, b, err);
	free(b);
	return rc;
}

/* The remote dataplane's send: while the proxy is away the state is only
 * kept (remote.c), and sent with the others once a proxy is back. */
static rg_err on_send(void *ctx, const rg_route_state *st, rg_error *err)
{
	rg_link *l = ctx;
	if (l->state != LINK_UP)
		return RG_OK;
	rg_error e = { 0 };
	if (send_routes(l, st, &e)) {
		rg_warn("proxy: %s; it gets the table again when it is back", e.message);
		go_down(l);
	}
	return RG_OK;
}

static void resend_one(void *ctx, const rg_route_state *st)
{
	rg_link *l = ctx;
	rg_error e = { 0 };
	if (l->state == LINK_UP && send_routes(l, st, &e))
		rg_warn("proxy: cannot send the routes of '%s': %s", st->env, e.message);
}

static void up(rg_link *l, const welcome *w)
{
	rg_error e = { 0 };
	if (w->fingerprint != l->fingerprint)
		rg_warn("the proxy process (pid %d) serves another proxy config; restart serve to "
			"replace it", w->pid);
	if (rg_dataplane_remote_map(l->dp, w->shm, &e)) {
		rg_warn("proxy: %s", e.message);
		go_down(l);
		return;
	}
	uv_timer_stop(&l->retry);
	l->state = LINK_UP;
	l->pid = w->pid;
	if (l->lost_ms)
		rg_info("attached to the proxy process (pid %d), %lld ms after the last one went "
			"away; sending it the routing tables", w->pid,
			(long long)(rg_mono_ms() - l->lost_ms));
	l->lost_ms = 0;
	rg_dataplane_remote_each_sent(l->dp, resend_one, l);
}

static void on_ack(rg_link *l, const rg_wire_msg *m)
{
	rg_wire_cursor c;
	rg_wire_cursor_init(&c, m);
	uint32_t seq = rg_wire_get_u32(&c), rc = rg_wire_get_u32(&c);
	int64_t swap_us = rg_wire_get_i64(&c);
	char msg[512];
	rg_wire_get_str(&c, msg, sizeof msg);
	if (rg_wire_done(&c, "ack", NULL) == RG_OK && rc != RG_OK)
		rg_warn("proxy refused routing table %u: %s", seq, msg);
	else
		rg_debug("proxy swapped routing table %u in %lld µs", seq, (long long)swap_us);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	conn *c = h->data;
	size_t room;
	uint8_t *p = rg_wire_space(&c->rd, &room);
	*buf = uv_buf_init((char *)p, (unsigned)room);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	conn *c = s->data;
	rg_link *l = c->l;
	if (n < 0) {
		go_down(l);
		return;
	}
	rg_wire_filled(&c->rd, (size_t)n);
	rg_wire_msg m;
	rg_error e = { 0 };
	int got = 0;
	while (l->c == c && (got = rg_wire_next(&c->rd, &m, &e)) > 0) {
		if (m.type == RG_WIRE_WELCOME && l->state == LINK_HELLO) {
			welcome w;
			if (parse_welcome(&m, &w, &e) == RG_OK)
				up(l, &w);
			else
				got = -1;
		} else if (m.type == RG_WIRE_ACK) {
			on_ack(l, &m);
		}
		if (got < 0)
			break;
	}
	if (l->c == c && got < 0) {
		rg_warn("proxy: %s", e.message);
		go_down(l);
	}
}

static void on_conn_closed(uv_handle_t *h) { free(h->data); }

static void drop_conn(rg_link *l)
{
	if (!l->c)
		return;
	uv_close((uv_handle_t *)&l->c->pipe, on_conn_closed);
	l->c = NULL;
}

static void go_down(rg_link *l)
{
	bool was_up = l->state == LINK_UP;
	drop_conn(l);
	l->state = LINK_DOWN;
	l->pid = 0;
	if (was_up) {
		l->lost_ms = rg_mono_ms();
		rg_warn("the proxy process went away: attaching to another, or starting one");
	}
	try_connect(l);
}

static bool open_conn(rg_link *l, int fd)
{
	conn *c = calloc(1, sizeof *c);
	if (!c || uv_pipe_init(l->loop, &c->pipe, 0)) {
		free(c);
		close(fd);
		return false;
	}
	c->l = l;
	c->pipe.data = c;
	rg_wire_reader_init(&c->rd);
	if (uv_pipe_open(&c->pipe, fd) || uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read)) {
		uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
		return false;
	}
	/* the controller's loop ends when its own work does, not when the proxy
	 * connection does (serve stops the link after its loop ran dry) */
	uv_unref((uv_handle_t *)&c->pipe);
	l->c = c;
	return true;
}

/* Also the HELLO's deadline: a proxy that accepted and never answered is
 * dropped and looked for again. */
static void on_retry(uv_timer_t *t)
{
	rg_link *l = t->data;
	if (l->state == LINK_HELLO) {
		rg_warn("the proxy did not answer within %d ms: looking for it again", HELLO_WAIT_MS);
		drop_conn(l);
		l->state = LINK_DOWN;
	}
	try_connect(l);
}

/* A proxy that answers is sent HELLO (its WELCOME comes on the read
 * callback); none: one is started (at most one a second, a successor may
 * be on its way) and the socket tried again shortly. */
static void try_connect(rg_link *l)
{
	if (l->state != LINK_DOWN)
		return;
	int fd = connect_sock(l->paths.sock);
	if (fd >= 0 && open_conn(l, fd)) {
		l->state = LINK_HELLO;
		rg_wire_buf b;
		hello_frame(&b);
		rg_error e = { 0 };
		if (send_frame(l, &b, &e) == RG_OK) {
			uv_timer_start(&l->retry, on_retry, HELLO_WAIT_MS, 0);
			return;
		}
		drop_conn(l);
		l->state = LINK_DOWN;
	}
	rg_error e = { 0 };
	if (rg_mono_ms() - l->spawned_ms >= SPAWN_GAP_MS && spawn_proxy(l, false, &e))
		rg_warn("proxy: %s", e.message);
	uv_timer_start(&l->retry, on_retry, RETRY_MS, 0);
}

/* ---- start and stop ------------------------------------------------------------ */

rg_err rg_link_start(uv_loop_t *loop, const rg_config *cfg, const char *config_path,
		     const char *log_format, rg_link **out, rg_dataplane **dp, rg_error *err)
{
	*out = NULL;
	*dp = NULL;
	rg_link *l = calloc(1, sizeof *l);
	if (!l)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	l->loop = loop;
	l->cfg = cfg;
	l->config_path = config_path;
	l->log_format = log_format;
	l->fingerprint = rg_dataplane_fingerprint(cfg);
	l->spawned_ms = INT64_MIN / 2;
	uv_timer_init(loop, &l->retry);
	uv_unref((uv_handle_t *)&l->retry);
	l->retry.data = l;
	rg_err rc = rg_dp_paths_of(cfg->state_dir, &l->paths, err);
	if (!rc)
		rc = rg_dp_self(l->exe, sizeof l->exe, l->ident, sizeof l->ident, err);
	if (!rc)
		rc = rg_dataplane_remote(cfg, on_send, l, &l->dp, err);
	welcome w;
	int fd = rc ? -1 : attach(l, &w, err);
	if (!rc && fd < 0)
		rc = err->code ? err->code : RG_EUNAVAILABLE;
	if (!rc && rg_dataplane_remote_map(l->dp, w.shm, err) == RG_OK && open_conn(l, fd)) {
		l->state = LINK_UP;
		l->pid = w.pid;
		rg_info("attached to the proxy process (pid %d; statistics in %s)", w.pid, w.shm);
		*out = l;
		*dp = l->dp;
		return RG_OK;
	}
	if (!rc)
		rc = err->code ? err->code : RG_EIO;
	rg_link_stop(l, false);
	return rc;
}

static void on_timer_closed(uv_handle_t *h)
{
	rg_link *l = h->data;
	rg_dataplane_stop(l->dp);
	free(l);
}

void rg_link_stop(rg_link *l, bool stop_proxy)
{
	if (!l)
		return;
	if (stop_proxy && l->c && l->state == LINK_UP) {
		rg_wire_buf b;
		rg_wire_begin(&b, RG_WIRE_STOP, ++l->seq);
		rg_wire_end(&b, NULL);
		uv_os_fd_t fd;
		if (uv_fileno((uv_handle_t *)&l->c->pipe, &fd) == 0 &&
		    rg_wire_send_fds(fd, &b, NULL, 0, NULL) == RG_OK) {
			wait_closed(NULL, fd, 5000);
			wait_gone(l->pid, 3000);
		}
	}
	drop_conn(l);
	for (size_t i = 0; i < sizeof l->children / sizeof *l->children; i++)
		if (l->children[i]) {
			/* it runs on; libuv just stops watching it */
			l->children[i]->data = NULL;
			uv_close((uv_handle_t *)l->children[i], on_child_closed);
			l->children[i] = NULL;
		}
	uv_timer_stop(&l->retry);
	uv_close((uv_handle_t *)&l->retry, on_timer_closed);
}

bool rg_link_started_proxy(const rg_link *l)
{
	for (size_t i = 0; l && i < sizeof l->children / sizeof *l->children; i++)
		if (l->children[i] && l->children[i]->pid == l->pid)
			return true;
	return false;
}

int rg_link_proxy_pid(const rg_link *l)
{
	return l && l->state == LINK_UP ? l->pid : 0;
}
