/* proxy.c — `rollguard proxy -c FILE [--takeover]` (hidden; serve starts
 * it): the data-plane process. It owns every environment's listener and
 * worker threads (src/dataplane/), answers controllers on STATE/proxy.sock
 * (wire.h) and keeps the statistics in STATE/proxy.shm, so users' traffic
 * and figures outlive any controller. One per state directory (flock on
 * STATE/proxy.lock); --takeover receives the lock, the control socket and
 * the listeners from the running one (SCM_RIGHTS), which then drains and
 * exits: no connection attempt is refused during an upgrade. It exits when
 * told (STOP, SIGTERM) or when its lock file is gone (the state directory
 * was removed). Never links the store or the engine: it routes, and counts. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "cmd/cmd.h"
#include "cmd/state.h"
#include "config/config.h"
#include "dataplane/dataplane.h"
#include "dataplane/paths.h"
#include "dataplane/wire.h"
#include "util/log.h"
#include "util/nofile.h"
#include "util/timeutil.h"

#define TICK_MS 250        /* view republished, lock file checked */
#define DRAIN_MS 10000     /* a handed-over proxy waits this long at most for its connections */

typedef struct proxyd proxyd;

typedef struct ctl_conn {
	uv_pipe_t pipe;
	proxyd *d;
	rg_wire_reader rd;
	bool successor;               /* sent TAKEOVER: its STOP means drain */
	struct ctl_conn *next;
} ctl_conn;

struct proxyd {
	uv_loop_t loop;
	uv_signal_t sigterm, sigint;
	uv_timer_t tick;
	uv_pipe_t server;
	bool server_open;
	rg_config cfg;
	rg_dataplane *dp;
	rg_dp_paths paths;
	char exe[RG_DP_PATH_MAX], ident[RG_DP_IDENT_LEN];
	uint64_t fingerprint;
	int lock_fd;
	ino_t lock_ino;
	ctl_conn *conns;
	bool draining, closing, handed_over;
	int64_t drain_end_ms;
};

/* ---- answering controllers ------------------------------------------------------ */

static void reply(ctl_conn *c, const rg_wire_buf *b)
{
	uv_os_fd_t fd;
	/* a few hundred bytes to a local socket; a controller that does not
	 * read them is dropped at its next frame */
	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) == 0)
		rg_wire_send_fds(fd, b, NULL, 0, NULL);
}

static void welcome(ctl_conn *c)
{
	proxyd *d = c->d;
	rg_wire_buf b;
	rg_wire_begin(&b, RG_WIRE_WELCOME, 0);
	rg_wire_put_u32(&b, RG_WIRE_VERSION);
	rg_wire_put_u32(&b, (uint32_t)getpid());
	rg_wire_put_str(&b, d->paths.shm);
	rg_wire_put_i64(&b, (int64_t)d->fingerprint);
	rg_wire_put_str(&b, d->ident);
	if (rg_wire_end(&b, NULL) == RG_OK)
		reply(c, &b);
}

static void routes(ctl_conn *c, const rg_wire_msg *m)
{
	rg_route_state *st = malloc(sizeof *st);
	rg_error e = { 0 };
	int64_t swap_us = 0;
	rg_err rc = st ? rg_wire_get_routes(m, st, &e) : rg_fail(&e, RG_ENOMEM, NULL, "out of memory");
	if (!rc)
		rc = rg_dataplane_apply(c->d->dp, st, &swap_us, &e);
	if (rc)
		rg_warn("routing table for '%s' refused: %s", st ? st->env : "?", e.message);
	free(st);
	rg_wire_buf b;
	rg_wire_begin(&b, RG_WIRE_ACK, m->seq);
	rg_wire_put_u32(&b, m->seq);
	rg_wire_put_u32(&b, (uint32_t)rc);
	rg_wire_put_i64(&b, swap_us);
	rg_wire_put_str(&b, rc ? e.message : "");
	if (rg_wire_end(&b, NULL) == RG_OK)
		reply(c, &b);
}

/* The lock, the control socket and every listener, in config order, with
 * the environments' names so the successor checks it serves the same. */
static void hand_sockets(ctl_conn *c)
{
	proxyd *d = c->d;
	size_t n = rg_dataplane_count(d->dp);
	int fds[RG_WIRE_MAX_FDS];
	uv_os_fd_t server_fd;
	if (n + 2 > RG_WIRE_MAX_FDS || uv_fileno((uv_handle_t *)&d->server, &server_fd)) {
		rg_warn("cannot hand over: too many listeners");
		return;
	}
	fds[0] = d->lock_fd;
	fds[1] = server_fd;
	rg_wire_buf b;
	rg_wire_begin(&b, RG_WIRE_SOCKETS, 0);
	rg_wire_put_u32(&b, (uint32_t)n);
	for (size_t i = 0, k = 0; i < d->cfg.n_envs; i++)
		if (d->cfg.envs[i].proxy_listen) {
			rg_wire_put_str(&b, d->cfg.envs[i].name);
			fds[2 + k] = rg_dataplane_listen_fd(d->dp, k);
			k++;
		}
	uv_os_fd_t fd;
	rg_error e = { 0 };
	if (rg_wire_end(&b, &e) || uv_fileno((uv_handle_t *)&c->pipe, &fd) ||
	    rg_wire_send_fds(fd, &b, fds, n + 2, &e)) {
		rg_warn("cannot hand over: %s", e.message);
		return;
	}
	c->successor = true;
	rg_info("handed the listeners to a successor; draining when it says so");
}

static void shut(proxyd *d);
static void conn_close(ctl_conn *c);

/* After a hand-over: the successor accepts from the same sockets and holds
 * the lock; this process answers what its connections still ask (each with
 * Connection: close) and ends when they are gone or DRAIN_MS passed. */
static void drain(proxyd *d)
{
	if (d->draining)
		return;
	d->draining = true;
	d->handed_over = true;
	rg_dataplane_drain(d->dp);
	if (d->server_open) {
		uv_close((uv_handle_t *)&d->server, NULL);
		d->server_open = false;
	}
	close(d->lock_fd);
	d->lock_fd = -1;
	while (d->conns)
		conn_close(d->conns);
	d->drain_end_ms = rg_mono_ms() + DRAIN_MS;
	rg_info("draining: %ld connections left", rg_dataplane_connections(d->dp));
}

static void on_message(ctl_conn *c, const rg_wire_msg *m)
{
	switch (m->type) {
	case RG_WIRE_HELLO:
		welcome(c);
		break;
	case RG_WIRE_ROUTES:
		routes(c, m);
		break;
	case RG_WIRE_STOP:
		if (c->successor) {
			drain(c->d);
		} else {
			rg_info("told to stop by the controller");
			shut(c->d);
		}
		break;
	case RG_WIRE_TAKEOVER:
		hand_sockets(c);
		break;
	case RG_WIRE_WELCOME:
	case RG_WIRE_ACK:
	case RG_WIRE_SOCKETS:
	case RG_WIRE_TYPES:
		break;
	}
}

static void on_conn_closed(uv_handle_t *h) { free(h->data); }

static void conn_close(ctl_conn *c)
{
	proxyd *d = c->d;
	for (ctl_conn **p = &d->conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	ctl_conn *c = h->data;
	size_t room;
	uint8_t *p = rg_wire_space(&c->rd, &room);
	*buf = uv_buf_init((char *)p, (unsigned)room);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	ctl_conn *c = s->data;
	if (n < 0) {
		conn_close(c);
		return;
	}
	rg_wire_filled(&c->rd, (size_t)n);
	rg_wire_msg m;
	rg_error e = { 0 };
	int got = 0;
	proxyd *d = c->d;
	while (!d->closing && !d->draining && (got = rg_wire_next(&c->rd, &m, &e)) != 0) {
		if (got < 0) {
			rg_warn("controller connection: %s", e.message);
			conn_close(c);
			return;
		}
		on_message(c, &m);
	}
}

static void on_connection(uv_stream_t *server, int status)
{
	proxyd *d = server->data;
	ctl_conn *c = calloc(1, sizeof *c);
	if (status < 0 || !c || uv_pipe_init(&d->loop, &c->pipe, 0)) {
		free(c);
		return;
	}
	c->d = d;
	c->pipe.data = c;
	rg_wire_reader_init(&c->rd);
	if (uv_accept(server, (uv_stream_t *)&c->pipe) ||
	    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read)) {
		uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
		return;
	}
	c->next = d->conns;
	d->conns = c;
}

/* ---- life ------------------------------------------------------------------------ */

static void shut(proxyd *d)
{
	if (d->closing)
		return;
	d->closing = true;
	while (d->conns)
		conn_close(d->conns);
	if (d->server_open) {
		uv_close((uv_handle_t *)&d->server, NULL);
		d->server_open = false;
	}
	uv_close((uv_handle_t *)&d->tick, NULL);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
}

/* The lock file this process holds is still the one in the directory. */
static bool lock_still_ours(const proxyd *d)
{
	struct stat sb;
	return stat(d->paths.lock, &sb) == 0 && sb.st_ino == d->lock_ino;
}

static void on_tick(uv_timer_t *t)
{
	proxyd *d = t->data;
	if (d->draining) {
		long left = rg_dataplane_connections(d->dp);
		if (left == 0 || rg_mono_ms() >= d->drain_end_ms) {
			rg_info("drained (%ld connections closed unfinished); exiting", left);
			shut(d);
		}
		return;
	}
	rg_dataplane_publish(d->dp);
	if (!lock_still_ours(d)) {
		rg_warn("%s is gone: the state directory was removed or taken; exiting",
			d->paths.lock);
		shut(d);
	}
}

static void on_signal(uv_signal_t *h, int signum)
{
	proxyd *d = h->data;
	rg_info("received %s: stopping", signum == SIGTERM ? "SIGTERM" : "SIGINT");
	shut(d);
}

/* ---- start ----------------------------------------------------------------------- */

static rg_err own_lock(proxyd *d, rg_error *err)
{
	d->lock_fd = open(d->paths.lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lock_fd < 0)
		return rg_fail(err, RG_EIO, NULL, "cannot open %s: %s", d->paths.lock, strerror(errno));
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB) < 0)
		return rg_fail(err, RG_ECONFLICT, NULL,
			       "another proxy process serves %s (see %s)", d->cfg.state_dir,
			       d->paths.pid);
	return RG_OK;
}

static rg_err bind_control(proxyd *d, int *out, rg_error *err)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof a.sun_path, "%s", d->paths.sock);
	unlink(d->paths.sock); /* a stale one; the lock says nobody serves it */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	mode_t old = umask(0077);
	int rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&a, sizeof a);
	umask(old);
	if (rc < 0 || listen(fd, 16) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return rg_fail(err, RG_EIO, NULL, "cannot listen on %s: %s", d->paths.sock, strerror(e));
	}
	*out = fd;
	return RG_OK;
}

/* From the running proxy: lock, control socket, listeners (checked against
 * this config). *succ stays open: STOP goes back on it once we serve. */
static rg_err take_over(proxyd *d, int *ctl_fd, int *listen_fds, int *succ, rg_error *err)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof a.sun_path, "%s", d->paths.sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		if (fd >= 0)
			close(fd);
		return rg_fail(err, RG_EUNAVAILABLE, NULL, "no proxy to take over on %s", d->paths.sock);
	}
	rg_wire_buf b;
	rg_wire_begin(&b, RG_WIRE_TAKEOVER, 0);
	rg_wire_end(&b, NULL);
	rg_wire_reader *r = malloc(sizeof *r);
	int fds[RG_WIRE_MAX_FDS];
	size_t nfd = 0, n = rg_dataplane_count(NULL);
	rg_wire_msg m;
	rg_err rc = r ? RG_OK : rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	if (r)
		rg_wire_reader_init(r);
	if (!rc)
		rc = rg_wire_send_fds(fd, &b, NULL, 0, err);
	if (!rc)
		rc = rg_wire_recv(fd, r, &m, fds, RG_WIRE_MAX_FDS, &nfd, 5000, err);
	if (!rc && m.type != RG_WIRE_SOCKETS)
		rc = rg_fail(err, RG_EIO, NULL, "the running proxy would not hand over");
	rg_wire_cursor c;
	if (!rc) {
		rg_wire_cursor_init(&c, &m);
		n = rg_wire_get_u32(&c);
	}
	size_t k = 0;
	for (size_t i = 0; !rc && i < d->cfg.n_envs; i++) {
		if (!d->cfg.envs[i].proxy_listen)
			continue;
		char name[RG_VNAME_LEN];
		rg_wire_get_str(&c, name, sizeof name);
		if (k >= n || strcmp(name, d->cfg.envs[i].name))
			rc = rg_fail(err, RG_ECONFLICT, NULL, "the running proxy serves other environments");
		k++;
	}
	if (!rc && (rc = rg_wire_done(&c, "sockets", err)) == RG_OK && (k != n || nfd != n + 2))
		rc = rg_fail(err, RG_EIO, NULL, "the running proxy handed %zu sockets, want %zu", nfd,
			     n + 2);
	free(r);
	if (rc) {
		for (size_t i = 0; i < nfd; i++)
			close(fds[i]);
		close(fd);
		return rc;
	}
	d->lock_fd = fds[0];
	*ctl_fd = fds[1];
	for (size_t i = 0; i < n; i++)
		listen_fds[i] = fds[2 + i];
	*succ = fd;
	return RG_OK;
}

static void write_pid(const proxyd *d)
{
	char tmp[RG_DP_PATH_MAX + 16];
	snprintf(tmp, sizeof tmp, "%s.tmp", d->paths.pid);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%d\n", (int)getpid());
	if (fclose(f) == 0)
		rename(tmp, d->paths.pid);
}

/* Removes what is ours only: after a hand-over the files are the successor's. */
static void remove_files(const proxyd *d)
{
	FILE *f = fopen(d->paths.pid, "r");
	int pid = 0;
	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	if (pid == (int)getpid()) {
		unlink(d->paths.sock);
		unlink(d->paths.pid);
	}
}

static rg_err start(proxyd *d, bool takeover, rg_error *err)
{
	int ctl_fd = -1, succ = -1;
	size_t n = 0;
	for (size_t i = 0; i < d->cfg.n_envs; i++)
		n += d->cfg.envs[i].proxy_listen != NULL;
	int *listen_fds = calloc(n + 1, sizeof *listen_fds);
	if (!listen_fds)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < n; i++)
		listen_fds[i] = -1;
	rg_err rc = rg_dp_paths_of(d->cfg.state_dir, &d->paths, err);
	if (!rc)
		rc = rg_dp_self(d->exe, sizeof d->exe, d->ident, sizeof d->ident, err);
	if (!rc)
		rc = takeover ? take_over(d, &ctl_fd, listen_fds, &succ, err) : own_lock(d, err);
	if (!rc && !takeover)
		rc = bind_control(d, &ctl_fd, err);
	struct stat sb;
	if (!rc && fstat(d->lock_fd, &sb) == 0)
		d->lock_ino = sb.st_ino;
	rg_dataplane_opts o = { .shm_path = d->paths.shm, .listen_fds = takeover ? listen_fds : NULL };
	if (!rc)
		rc = rg_dataplane_start_with(&d->cfg, &o, &d->dp, err);
	free(listen_fds);
	if (!rc) {
		uv_pipe_init(&d->loop, &d->server, 0);
		d->server.data = d;
		d->server_open = true;
		if (uv_pipe_open(&d->server, ctl_fd) ||
		    uv_listen((uv_stream_t *)&d->server, 16, on_connection))
			rc = rg_fail(err, RG_EIO, NULL, "cannot serve %s", d->paths.sock);
		ctl_fd = -1;
	}
	if (ctl_fd >= 0)
		close(ctl_fd);
	if (!rc) {
		write_pid(d);
		if (succ >= 0) {
			/* we serve: the predecessor may drain */
			rg_wire_buf b;
			rg_wire_begin(&b, RG_WIRE_STOP, 0);
			rg_wire_end(&b, NULL);
			rg_wire_send_fds(succ, &b, NULL, 0, NULL);
		}
	}
	if (succ >= 0)
		close(succ);
	return rc;
}

static bool parse_args(int argc, char **argv, const char **config, const char **log_format,
		       bool *takeover)
{
	*config = "rollguard.yaml";
	for (int i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
			*config = argv[++i];
		else if (!strcmp(argv[i], "--log-format") && i + 1 < argc)
			*log_format = argv[++i];
		else if (!strcmp(argv[i], "--takeover"))
			*takeover = true;
		else {
			fprintf(stderr, "error: unknown argument '%s' (usage: rollguard proxy -c FILE "
				"[--log-format text|json] [--takeover])\n", argv[i]);
			return false;
		}
	}
	return true;
}

int cmd_proxy(int argc, char **argv)
{
	const char *path, *log_format = NULL;
	bool takeover = false;
	if (!parse_args(argc, argv, &path, &log_format, &takeover))
		return RG_EXIT_USAGE;
	if (log_format)
		rg_log_set_json(strcmp(log_format, "json") == 0);
	proxyd *d = calloc(1, sizeof *d);
	if (!d)
		return RG_EXIT_RUN_FAILED;
	d->lock_fd = -1;
	if (rg_cmd_load_config(path, &d->cfg)) {
		free(d);
		return RG_EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	rg_nofile_raise();
	d->fingerprint = rg_dataplane_fingerprint(&d->cfg);
	uv_loop_init(&d->loop);
	rg_error err = { 0 };
	int code = 0;
	if (start(d, takeover, &err)) {
		rg_error_log("proxy: cannot start: %s", err.message);
		code = err.code == RG_ECONFLICT ? RG_EXIT_REFUSED : RG_EXIT_RUN_FAILED;
		if (d->server_open)
			uv_close((uv_handle_t *)&d->server, NULL);
	} else {
		uv_signal_init(&d->loop, &d->sigterm);
		uv_signal_init(&d->loop, &d->sigint);
		d->sigterm.data = d->sigint.data = d;
		uv_signal_start(&d->sigterm, on_signal, SIGTERM);
		uv_signal_start(&d->sigint, on_signal, SIGINT);
		uv_timer_init(&d->loop, &d->tick);
		d->tick.data = d;
		uv_timer_start(&d->tick, on_tick, TICK_MS, TICK_MS);
		rg_info("proxy serving %zu environments (pid %d%s)", rg_dataplane_count(d->dp),
			(int)getpid(), takeover ? ", took over" : "");
	}
	uv_run(&d->loop, UV_RUN_DEFAULT);
	if (!code)
		remove_files(d);
	rg_dataplane_stop(d->dp);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	if (uv_loop_close(&d->loop) != 0)
		rg_warn("proxy: event loop closed with handles still open");
	rg_config_release(&d->cfg);
	free(d);
	return code;
}
