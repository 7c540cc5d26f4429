/* exec.c — one shell command as a child process on the libuv loop.
 * It must never block the loop, never splice a value into command text, and
 * never signal a process group it did not create (no kill(0), no kill(-1)). */
#include "engine/exec.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/log.h"
#include "util/names.h"

#define DEFAULT_GRACE_MS  5000
#define DEFAULT_LOG_LIMIT (256 * 1024)
#define EOF_WAIT_MS       1000   /* after exit, how long a grandchild may hold the pipe */
#define GROUP_POLL_MS     100    /* during a grace, how often to look for survivors */
#define LOG_HDR_MAX       64     /* room for "[… N bytes dropped …]\n" */
#define READ_CHUNK        16384
#define OUTPUTS_MAX_BYTES (64 * 1024)
#define OUTPUTS_MAX_KEYS  1024
#define BOOT_ID_PATH      "/proc/sys/kernel/random/boot_id"

/* A held child is this constant script: it waits on fd 3 for the line "go"
 * and only then runs CMD, in the same shell (its pid, its group and its
 * start time stay what was recorded; evaluating the command there instead
 * of exec'ing a second shell saves a shell start per command, the cost
 * bench/rollback.sh measures). The command reaches it as an argument, never
 * inside the script's text, and no positional parameter is left for it, as
 * with `sh -c CMD`. If this process dies before the release, the socket
 * reads EOF and the child exits 125 having run nothing, so a crash can
 * never leave an unrecorded command running. */
#define HOLD_SCRIPT \
	"IFS= read -r rg_go <&3 && [ \"$rg_go\" = go ] || exit 125; exec 3<&-; " \
	"rg_command=$1; shift; unset rg_go; eval \"$rg_command\""

/* Handles that need a uv_close, one bit each, so a half-built rg_exec can be
 * torn down by the same code as a finished one. */
enum { H_PROC = 1, H_PIPE = 2, H_DEADLINE = 4, H_GRACE = 8, H_EOF_WAIT = 16, H_GROUP = 32 };

struct rg_exec {
	uv_loop_t *loop;
	uv_process_t proc;
	uv_pipe_t out;          /* the child's stdout and stderr, one pipe */
	uv_timer_t deadline;    /* opts.timeout_ms */
	uv_timer_t grace;       /* SIGTERM → SIGKILL */
	uv_timer_t eof_wait;    /* exited, but a grandchild still holds the pipe */
	uv_timer_t group_poll;  /* terminating, the shell exited: is the rest gone? */
	unsigned open;          /* H_* bits of handles not yet handed to uv_close */
	int closing;            /* uv_close calls whose callback has not run */
	int64_t pgid;
	rg_proc_id id;          /* the leader as spawned, for a restart's check */
	int hold_fd;            /* our end of a held child's socket, -1 if none */
	int64_t timeout_ms;
	uint64_t started_ns;
	int64_t grace_ms;
	rg_exec_done_fn done;
	void *ctx;
	void (*on_closed)(void *ctx);
	void *closed_ctx;
	bool exited, eof, terminating, grace_pending, finished, freed;
	bool stopping;          /* rg_exec_stop: close instead of calling done */
	rg_exec_result res;
	/* The log keeps the last log_limit bytes in a window of twice that, so
	 * appending moves memory only once per log_limit bytes. The LOG_HDR_MAX
	 * bytes in front leave room to prepend the "dropped" line in place. */
	char *log;
	size_t log_limit, log_off, log_len;
	uint64_t dropped;
	rg_secrets_stream *mask; /* known secrets masked before the log keeps a byte */
	char readbuf[READ_CHUNK];
};

/* The last of x: its memory, then whoever waited for it to be closed. */
static void exec_destroy(rg_exec *x)
{
	void (*cb)(void *) = x->on_closed;
	void *ctx = x->closed_ctx;
	rg_secrets_stream_free(x->mask);
	free(x->log);
	free(x);
	if (cb)
		cb(ctx);
}

static void on_handle_closed(uv_handle_t *h)
{
	rg_exec *x = h->data;
	/* The pipe closes early, at EOF; x lives on until rg_exec_free and
	 * every handle, the reaped process last, has gone through uv_close. */
	if (--x->closing > 0 || !x->freed || x->open)
		return;
	exec_destroy(x);
}

static void close_handle(rg_exec *x, unsigned bit, uv_handle_t *h)
{
	if (!(x->open & bit))
		return;
	x->open &= ~bit;
	x->closing++;
	uv_close(h, on_handle_closed);
}

/* The process handle is closed only once the child was reaped: closing it
 * earlier would leave a zombie, since libuv reaps only children it watches. */
static void close_all(rg_exec *x)
{
	close_handle(x, H_PIPE, (uv_handle_t *)&x->out);
	close_handle(x, H_DEADLINE, (uv_handle_t *)&x->deadline);
	close_handle(x, H_GRACE, (uv_handle_t *)&x->grace);
	close_handle(x, H_EOF_WAIT, (uv_handle_t *)&x->eof_wait);
	close_handle(x, H_GROUP, (uv_handle_t *)&x->group_poll);
	if (x->exited)
		close_handle(x, H_PROC, (uv_handle_t *)&x->proc);
}

/* A pgid from the store may be anything. kill(-1) and kill(0) would hit
 * processes that are not ours, and a value past INT_MAX would be truncated
 * by the pid_t cast into one of those, so only 2..INT_MAX is ever signalled. */
static bool pgid_valid(int64_t pgid)
{
	return pgid > 1 && pgid <= INT_MAX;
}

static void signal_group(int64_t pgid, int sig)
{
	if (!pgid_valid(pgid))
		return;
	if (kill((pid_t)-pgid, sig) != 0 && errno != ESRCH)
		rg_warn("cannot signal process group %lld: %s", (long long)pgid, strerror(errno));
}

typedef struct proc_stat {
	char state;
	int64_t pgrp;
	int64_t start_ticks;
} proc_stat;

/* Fields of /proc/PID/stat past the command name, which may hold anything
 * (spaces, parentheses), so parsing starts after its last ')'. Token k
 * there is field k + 2 of proc(5): pgrp is field 5, starttime field 22. */
static bool read_stat(const char *pid, proc_stat *out)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%s/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	if (!p)
		return false;
	for (p++; *p == ' '; p++)
		;
	if (!*p)
		return false;
	out->state = *p++;
	for (int tok = 2; tok <= 20; tok++) {
		char *end;
		long long v = strtoll(p, &end, 10);
		if (end == p)
			return false;
		p = end;
		if (tok == 3)
			out->pgrp = v;
		else if (tok == 20)
			out->start_ticks = v;
	}
	return true;
}

/* Whether /proc/PID/stat shows a process of group pgid that is not a zombie. */
static bool live_member(const char *pid, int64_t pgid)
{
	proc_stat ps;
	if (!read_stat(pid, &ps))
		return false;
	return ps.pgrp == pgid && ps.state != 'Z' && ps.state != 'X';
}

static void read_boot_id(char *out, size_t size)
{
	out[0] = '\0';
	int fd = open(BOOT_ID_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, out, size - 1);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

bool rg_exec_read_id(int64_t pid, rg_proc_id *out)
{
	memset(out, 0, sizeof *out);
	read_boot_id(out->boot_id, sizeof out->boot_id);
	char name[24];
	proc_stat ps;
	snprintf(name, sizeof name, "%lld", (long long)pid);
	if (pid <= 0 || !read_stat(name, &ps))
		return false;
	out->pgid = ps.pgrp;
	out->start_ticks = ps.start_ticks;
	return out->boot_id[0] != '\0';
}

/* Whether any process of the group still runs (grandchildren included).
 * kill(-pgid, 0) alone is not enough: it counts zombies, and an orphan whose
 * new parent never reaps it would hold every timeout for the whole grace.
 * So when it says "alive", /proc decides; without /proc, assume alive. */
static bool group_alive(int64_t pgid)
{
	if (!pgid_valid(pgid))
		return false;
	if (kill((pid_t)-pgid, 0) != 0)
		return errno != ESRCH;
	DIR *d = opendir("/proc");
	if (!d)
		return true;
	bool alive = false;
	struct dirent *e;
	while (!alive && (e = readdir(d)))
		if (isdigit((unsigned char)e->d_name[0]))
			alive = live_member(e->d_name, pgid);
	closedir(d);
	return alive;
}

static void log_keep(void *ctx, const char *p, size_t n)
{
	rg_exec *x = ctx;
	char *data = x->log + LOG_HDR_MAX;
	size_t limit = x->log_limit;
	if (n >= limit) {
		x->dropped += x->log_len + (n - limit);
		memcpy(data, p + (n - limit), limit);
		x->log_off = 0;
		x->log_len = limit;
		return;
	}
	if (x->log_len + n > limit) {
		size_t drop = x->log_len + n - limit;
		x->log_off += drop;
		x->log_len -= drop;
		x->dropped += drop;
	}
	if (x->log_off + x->log_len + n > 2 * limit) {
		memmove(data, data + x->log_off, x->log_len);
		x->log_off = 0;
	}
	memcpy(data + x->log_off + x->log_len, p, n);
	x->log_len += n;
}

/* Output goes through the mask first, when there is one; a chunk it cannot
 * take (out of memory) counts as dropped rather than kept unmasked. */
static void log_append(rg_exec *x, const char *p, size_t n)
{
	rg_error ignored;
	if (!x->mask)
		log_keep(x, p, n);
	else if (rg_secrets_stream_feed(x->mask, p, n, &ignored))
		x->dropped += n;
}

const char *rg_exec_log(const rg_exec *x, size_t *len)
{
	char *data = x->log + LOG_HDR_MAX + x->log_off;
	data[x->log_len] = '\0';
	if (!x->dropped) {
		if (len)
			*len = x->log_len;
		return data;
	}
	/* Bytes in front of the kept tail are either the reserved room or
	 * dropped output, so the header can be written there in place. */
	char hdr[LOG_HDR_MAX];
	int h = snprintf(hdr, sizeof hdr, "[… %llu bytes dropped …]\n",
			 (unsigned long long)x->dropped);
	memcpy(data - h, hdr, (size_t)h);
	if (len)
		*len = x->log_len + (size_t)h;
	return data - h;
}

static void on_eof_wait(uv_timer_t *t);

/* done fires once: the child was reaped, nothing is left to SIGKILL, and the
 * pipe hit EOF (or a grandchild kept it open longer than EOF_WAIT_MS). */
static void maybe_finish(rg_exec *x)
{
	if (x->finished || x->freed || !x->exited || x->grace_pending)
		return;
	if (x->stopping) {   /* nobody waits for the result, nor for the log */
		x->finished = true;
		rg_exec_close(x, x->on_closed, x->closed_ctx);
		return;
	}
	if (!x->eof) {
		if (uv_is_active((uv_handle_t *)&x->eof_wait))
			return;
		int r = uv_timer_start(&x->eof_wait, on_eof_wait, EOF_WAIT_MS, 0);
		if (r == 0)
			return;
		rg_warn("exec: cannot wait for output: %s", uv_strerror(r));
		x->eof = true;
		close_handle(x, H_PIPE, (uv_handle_t *)&x->out);
	}
	x->finished = true;
	if (x->mask)   /* the output is complete: what was held back goes in */
		rg_secrets_stream_flush(x->mask);
	uv_timer_stop(&x->deadline);
	uv_timer_stop(&x->grace);
	uv_timer_stop(&x->eof_wait);
	uv_timer_stop(&x->group_poll);
	x->done(x, &x->res, x->ctx);
}

static void on_group_poll(uv_timer_t *t);

/* A termination in progress ends early once the shell exited and nothing of
 * its group runs any more; until then the group is looked at every
 * GROUP_POLL_MS, and whatever is left gets the SIGKILL when the grace ends. */
static void settle_grace(rg_exec *x)
{
	if (!x->grace_pending || !x->exited)
		return;
	if (!group_alive(x->pgid)) {
		x->grace_pending = false;
		uv_timer_stop(&x->grace);
		uv_timer_stop(&x->group_poll);
		return;
	}
	if (uv_is_active((uv_handle_t *)&x->group_poll))
		return;
	int r = uv_timer_start(&x->group_poll, on_group_poll, GROUP_POLL_MS, GROUP_POLL_MS);
	if (r)   /* harmless: the grace timer still ends it */
		rg_warn("exec: cannot watch group %lld: %s", (long long)x->pgid, uv_strerror(r));
}

static void on_group_poll(uv_timer_t *t)
{
	rg_exec *x = t->data;
	settle_grace(x);
	maybe_finish(x);
}

static void on_eof_wait(uv_timer_t *t)
{
	rg_exec *x = t->data;
	uv_read_stop((uv_stream_t *)&x->out);
	x->eof = true;
	close_handle(x, H_PIPE, (uv_handle_t *)&x->out);
	maybe_finish(x);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	rg_exec *x = h->data;
	buf->base = x->readbuf;
	buf->len = sizeof x->readbuf;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	rg_exec *x = s->data;
	if (nread > 0) {
		log_append(x, buf->base, (size_t)nread);
		return;
	}
	if (nread == 0)
		return;   /* EAGAIN */
	if (nread != UV_EOF)
		rg_warn("exec: reading output of pid %lld: %s", (long long)x->pgid,
			uv_strerror((int)nread));
	uv_read_stop(s);
	x->eof = true;
	close_handle(x, H_PIPE, (uv_handle_t *)&x->out);
	settle_grace(x);
	maybe_finish(x);
}

static void on_child_exit(uv_process_t *p, int64_t status, int term_signal)
{
	rg_exec *x = p->data;
	x->exited = true;
	x->res.exit_code = term_signal ? -1 : (int)status;
	x->res.term_signal = term_signal;
	x->res.duration_ms = (int64_t)((uv_hrtime() - x->started_ns) / 1000000u);
	uv_timer_stop(&x->deadline);
	if (x->freed) {
		close_handle(x, H_PROC, (uv_handle_t *)&x->proc);
		return;
	}
	settle_grace(x);
	maybe_finish(x);
}

static void on_grace(uv_timer_t *t)
{
	rg_exec *x = t->data;
	x->grace_pending = false;
	uv_timer_stop(&x->group_poll);
	signal_group(x->pgid, SIGKILL);
	maybe_finish(x);
}

/* SIGTERM the whole group, SIGKILL it after the grace. The SIGKILL is sent
 * even when the shell itself exited in time: what it started may not have. */
static void terminate(rg_exec *x)
{
	if (x->terminating || x->exited || x->freed)
		return;
	x->terminating = true;
	signal_group(x->pgid, SIGTERM);
	int r = uv_timer_start(&x->grace, on_grace, (uint64_t)x->grace_ms, 0);
	if (r == 0) {
		x->grace_pending = true;
		return;
	}
	rg_warn("exec: no grace timer (%s), killing group %lld now", uv_strerror(r),
		(long long)x->pgid);
	signal_group(x->pgid, SIGKILL);
}

static void on_deadline(uv_timer_t *t)
{
	rg_exec *x = t->data;
	x->res.timed_out = true;
	terminate(x);
}

void rg_exec_kill(rg_exec *x)
{
	if (x)
		terminate(x);
}

static rg_err init_timers(rg_exec *x, rg_error *err)
{
	uv_timer_t *t[] = { &x->deadline, &x->grace, &x->eof_wait, &x->group_poll };
	unsigned bits[] = { H_DEADLINE, H_GRACE, H_EOF_WAIT, H_GROUP };
	for (size_t i = 0; i < 4; i++) {
		int r = uv_timer_init(x->loop, t[i]);
		if (r)
			return rg_fail(err, RG_EIO, NULL, "exec: timer: %s", uv_strerror(r));
		t[i]->data = x;
		x->open |= bits[i];
	}
	return RG_OK;
}

/* One pipe for stdout and stderr keeps their lines in the order written.
 * uv_pipe() makes both ends close-on-exec; the child gets the write end by
 * dup2 onto 1 and 2, and the parent reads the other end on the loop. */
static rg_err open_output(rg_exec *x, int *write_fd, rg_error *err)
{
	uv_file fds[2];
	int r = uv_pipe(fds, UV_NONBLOCK_PIPE, 0);
	if (r)
		return rg_fail(err, RG_EIO, NULL, "exec: pipe: %s", uv_strerror(r));
	r = uv_pipe_init(x->loop, &x->out, 0);
	if (r == 0) {
		x->out.data = x;
		x->open |= H_PIPE;
		r = uv_pipe_open(&x->out, fds[0]);
	}
	if (r) {
		close(fds[0]);
		close(fds[1]);
		return rg_fail(err, RG_EIO, NULL, "exec: pipe: %s", uv_strerror(r));
	}
	*write_fd = fds[1];
	return RG_OK;
}

/* The environment is passed to uv_spawn, which returns only after the child
 * called execve(), so the caller's array is effectively copied by then.
 * A NULL env means an empty one, never this process's own environment. */
static rg_err spawn(rg_exec *x, const rg_exec_opts *o, int write_fd, int hold_fd,
		    rg_error *err)
{
	static char *empty_env[] = { NULL };
	char *args[] = { "/bin/sh", "-c", (char *)o->command, NULL };
	/* $0 of the script is "/bin/sh", what `sh -c CMD` gives the command. */
	char *held[] = { "/bin/sh", "-c", HOLD_SCRIPT, "/bin/sh", (char *)o->command, NULL };
	uv_stdio_container_t stdio[4] = {
		{ .flags = UV_IGNORE },
		{ .flags = UV_INHERIT_FD, .data.fd = write_fd },
		{ .flags = UV_INHERIT_FD, .data.fd = write_fd },
		{ .flags = UV_INHERIT_FD, .data.fd = hold_fd },
	};
	uv_process_options_t po = {
		.exit_cb = on_child_exit,
		.file = "/bin/sh",
		.args = hold_fd >= 0 ? held : args,
		.env = o->env ? o->env : empty_env,
		.cwd = o->cwd,
		.flags = UV_PROCESS_DETACHED,   /* setsid(): own group, pgid = pid */
		.stdio_count = hold_fd >= 0 ? 4 : 3,
		.stdio = stdio,
	};
	x->started_ns = uv_hrtime();
	int r = uv_spawn(x->loop, &x->proc, &po);
	x->proc.data = x;
	x->open |= H_PROC;   /* initialised even when the spawn failed */
	if (r) {
		x->exited = true;   /* nothing to reap: let close_all close it */
		return rg_fail(err, RG_EIO, NULL, "cannot start command in '%s': %s",
			       o->cwd ? o->cwd : ".", uv_strerror(r));
	}
	x->pgid = x->proc.pid;
	/* The child cannot have been reaped yet (that happens on the loop), so
	 * its /proc entry is there even if it already exited. */
	if (!rg_exec_read_id(x->pgid, &x->id))
		rg_warn("exec: cannot read the identity of pid %lld: a restart will not kill its group",
			(long long)x->pgid);
	x->id.pgid = x->pgid;
	return RG_OK;
}

/* The held child's end goes to its fd 3; a socket rather than a pipe, so
 * that the release can use MSG_NOSIGNAL if the child is already gone. */
static rg_err open_hold(rg_exec *x, int *child_fd, rg_error *err)
{
	uv_os_sock_t fds[2];
	int r = uv_socketpair(SOCK_STREAM, 0, fds, 0, 0);   /* both close-on-exec */
	if (r)
		return rg_fail(err, RG_EIO, NULL, "exec: socketpair: %s", uv_strerror(r));
	x->hold_fd = fds[0];
	*child_fd = fds[1];
	return RG_OK;
}

static rg_err watch(rg_exec *x, const rg_exec_opts *o, rg_error *err)
{
	int r = uv_read_start((uv_stream_t *)&x->out, on_alloc, on_read);
	if (r == 0 && o->timeout_ms > 0 && x->hold_fd < 0)
		r = uv_timer_start(&x->deadline, on_deadline, (uint64_t)o->timeout_ms, 0);
	if (r)
		return rg_fail(err, RG_EIO, NULL, "exec: %s", uv_strerror(r));
	return RG_OK;
}

static rg_exec *exec_alloc(uv_loop_t *loop, const rg_exec_opts *o)
{
	rg_exec *x = calloc(1, sizeof *x);
	if (!x)
		return NULL;
	x->loop = loop;
	x->log_limit = o->log_limit ? o->log_limit : DEFAULT_LOG_LIMIT;
	if (x->log_limit > (SIZE_MAX - LOG_HDR_MAX - 1) / 2) {
		free(x);
		return NULL;
	}
	x->grace_ms = o->kill_grace_ms > 0 ? o->kill_grace_ms : DEFAULT_GRACE_MS;
	x->hold_fd = -1;
	x->log = malloc(LOG_HDR_MAX + 2 * x->log_limit + 1);
	rg_error ignored;
	if (!x->log || (o->mask && rg_secrets_stream_new(o->mask, log_keep, x, &x->mask, &ignored))) {
		free(x->log);
		free(x);
		return NULL;
	}
	return x;
}

rg_err rg_exec_start(uv_loop_t *loop, const rg_exec_opts *opts, rg_exec_done_fn done,
		     void *ctx, rg_exec **out, rg_error *err)
{
	if (!loop || !opts || !opts->command || !done || !out)
		return rg_fail(err, RG_EINVAL, NULL, "exec: no command");
	rg_exec *x = exec_alloc(loop, opts);
	if (!x)
		return rg_fail(err, RG_ENOMEM, NULL, "exec: out of memory");
	x->done = done;
	x->ctx = ctx;
	x->res.exit_code = -1;
	x->timeout_ms = opts->timeout_ms;
	int write_fd = -1, hold_child = -1;
	rg_err rc = init_timers(x, err);
	if (!rc)
		rc = open_output(x, &write_fd, err);
	if (!rc && opts->held)
		rc = open_hold(x, &hold_child, err);
	if (!rc) {
		rc = spawn(x, opts, write_fd, hold_child, err);
		close(write_fd);   /* only the child writes; EOF comes when it is done */
		if (hold_child >= 0)
			close(hold_child);
	} else if (write_fd >= 0) {
		close(write_fd);
	}
	if (!rc)
		rc = watch(x, opts, err);
	if (rc) {
		rg_exec_free(x);   /* kills the child if one started */
		return rc;
	}
	*out = x;
	return RG_OK;
}

int64_t rg_exec_pgid(const rg_exec *x)
{
	return x ? x->pgid : 0;
}

const rg_proc_id *rg_exec_id(const rg_exec *x)
{
	return &x->id;
}

static void close_hold(rg_exec *x)
{
	if (x->hold_fd >= 0)
		close(x->hold_fd);
	x->hold_fd = -1;
}

rg_err rg_exec_release(rg_exec *x, rg_error *err)
{
	if (!x || x->hold_fd < 0)
		return RG_OK;
	ssize_t n;
	do
		n = send(x->hold_fd, "go\n", 3, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	int e = errno;
	close_hold(x);
	if (n != 3)
		return rg_fail(err, RG_EIO, NULL, "cannot release command (pid %lld): %s",
			       (long long)x->pgid, n < 0 ? strerror(e) : "short write");
	x->started_ns = uv_hrtime();
	int r = x->timeout_ms > 0 && !x->exited
			? uv_timer_start(&x->deadline, on_deadline, (uint64_t)x->timeout_ms, 0)
			: 0;
	if (r)
		return rg_fail(err, RG_EIO, NULL, "exec: %s", uv_strerror(r));
	return RG_OK;
}

/* Memory is released in the last close callback, never here, so calling this
 * from inside done leaves x valid until that callback returns. A command that
 * exited by itself may have left a service running on purpose: untouched. */
void rg_exec_free(rg_exec *x)
{
	if (!x || x->freed)
		return;
	x->freed = true;
	close_hold(x);   /* a held child reads EOF and exits, having run nothing */
	if (!x->exited || x->grace_pending)
		signal_group(x->pgid, SIGKILL);
	if (x->open & H_PIPE)
		uv_read_stop((uv_stream_t *)&x->out);
	close_all(x);
	if (x->closing == 0 && !(x->open & H_PROC)) {
		/* never got a handle: only an early rg_exec_start failure */
		exec_destroy(x);
	}
}

void rg_exec_close(rg_exec *x, void (*on_closed)(void *ctx), void *ctx)
{
	if (!x || x->freed)
		return;
	x->on_closed = on_closed;
	x->closed_ctx = ctx;
	rg_exec_free(x);
}

/* The grace is the one SIGTERM → SIGKILL of terminate(), as for a timeout;
 * only the end differs: no done, the handles close by themselves. */
void rg_exec_stop(rg_exec *x, void (*on_gone)(void *ctx), void *ctx)
{
	if (!x || x->freed)
		return;
	if (x->hold_fd >= 0 || (x->exited && !x->grace_pending))
		return rg_exec_close(x, on_gone, ctx);
	x->stopping = true;
	x->on_closed = on_gone;
	x->closed_ctx = ctx;
	uv_timer_stop(&x->deadline);
	terminate(x);
	settle_grace(x);
	maybe_finish(x);
}

/* The leader (pid = pgid, from setsid) is compared, not the members: it is
 * the process whose start was recorded, and while it exists, even as a
 * zombie, no other group can have its id. Without it nothing proves the
 * group is still ours, so it is left alone. */
bool rg_exec_kill_stale_group(const rg_proc_id *id)
{
	if (!id || !pgid_valid(id->pgid))
		return false;
	long long pgid = (long long)id->pgid;
	if (!id->start_ticks || !id->boot_id[0]) {
		rg_warn("recorded process group %lld has no start time recorded: not killed "
			"(it cannot be told apart from a reused id)", pgid);
		return false;
	}
	rg_proc_id now;
	bool found = rg_exec_read_id(id->pgid, &now);
	if (!found || now.pgid != id->pgid || now.start_ticks != id->start_ticks ||
	    strcmp(now.boot_id, id->boot_id) != 0) {
		rg_info("recorded process group %lld is gone (its leader is not the process "
			"recorded): nothing killed", pgid);
		return false;
	}
	rg_info("killing process group %lld, left running from before the restart", pgid);
	signal_group(id->pgid, SIGKILL);
	return true;
}

/* ---- $ROLLGUARD_OUTPUT ---------------------------------------------------- */

void rg_exec_outputs_free(char **keys, char **values, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(keys ? keys[i] : NULL);
		free(values ? values[i] : NULL);
	}
	free(keys);
	free(values);
}

/* Reads up to max + 1 bytes, so a file that grew past max is noticed. */
static rg_err read_bounded(int fd, char *b, size_t max, size_t *len, rg_error *err)
{
	size_t n = 0;
	while (n <= max) {
		ssize_t r = read(fd, b + n, max + 1 - n);
		if (r == 0)
			break;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return rg_fail(err, RG_EIO, NULL, "ROLLGUARD_OUTPUT: %s", strerror(errno));
		n += (size_t)r;
	}
	if (n > max)
		return rg_fail(err, RG_ETOOLARGE, NULL, "ROLLGUARD_OUTPUT: larger than %zu bytes",
			       max);
	*len = n;
	return RG_OK;
}

/* The file is written by a step's command, so it is opened without following
 * symlinks and without blocking on a FIFO, and must be a small regular file.
 * Reading at most 64 KiB from a local file is the one short synchronous read
 * this module allows itself on the loop. */
static rg_err slurp_outputs(const char *path, char **buf, size_t *len, rg_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT)
		return RG_OK;
	if (fd < 0)
		return rg_fail(err, RG_EIO, NULL, "ROLLGUARD_OUTPUT: %s", strerror(errno));
	struct stat st;
	char *b = NULL;
	rg_err rc = RG_OK;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		rc = rg_fail(err, RG_EINVAL, NULL, "ROLLGUARD_OUTPUT: not a regular file");
	else if (st.st_size > OUTPUTS_MAX_BYTES)
		rc = rg_fail(err, RG_ETOOLARGE, NULL, "ROLLGUARD_OUTPUT: larger than %d bytes",
			     OUTPUTS_MAX_BYTES);
	else if (!(b = malloc(OUTPUTS_MAX_BYTES + 1)))
		rc = rg_fail(err, RG_ENOMEM, NULL, "ROLLGUARD_OUTPUT: out of memory");
	else
		rc = read_bounded(fd, b, OUTPUTS_MAX_BYTES, len, err);
	close(fd);
	if (rc)
		free(b);
	else
		*buf = b;
	return rc;
}

typedef struct outputs {
	char **keys, **values;
	size_t n, keys_cap, values_cap;
} outputs;

static bool blank(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t')
			return false;
	return true;
}

/* A later line for the same key replaces the earlier value, as in CI systems. */
static rg_err outputs_put(outputs *o, char *key, char *value, rg_error *err)
{
	for (size_t i = 0; i < o->n; i++) {
		if (strcmp(o->keys[i], key) == 0) {
			free(key);
			free(o->values[i]);
			o->values[i] = value;
			return RG_OK;
		}
	}
	if (o->n == OUTPUTS_MAX_KEYS) {
		free(key);
		free(value);
		return rg_fail(err, RG_ETOOLARGE, NULL, "ROLLGUARD_OUTPUT: more than %d keys",
			       OUTPUTS_MAX_KEYS);
	}
	if (RG_ALLOC_GROW(o->keys, o->n + 1, o->keys_cap) ||
	    RG_ALLOC_GROW(o->values, o->n + 1, o->values_cap)) {
		free(key);
		free(value);
		return rg_fail(err, RG_ENOMEM, NULL, "ROLLGUARD_OUTPUT: out of memory");
	}
	o->keys[o->n] = key;
	o->values[o->n] = value;
	o->n++;
	return RG_OK;
}

static bool key_valid(const char *p, size_t len)
{
	char key[RG_NAME_MAX + 1];
	if (len == 0 || len > RG_NAME_MAX)
		return false;
	memcpy(key, p, len);
	key[len] = '\0';
	return rg_ident_valid(key);
}

/* The offending text is never quoted in the error: it came from a command
 * and may hold anything, secrets included. */
static rg_err parse_line(outputs *o, const char *p, size_t len, int lineno, rg_error *err)
{
	if (len && p[len - 1] == '\r')
		len--;
	if (blank(p, len) || p[0] == '#')
		return RG_OK;
	const char *eq = memchr(p, '=', len);
	if (!eq || memchr(p, '\0', len) || !key_valid(p, (size_t)(eq - p)))
		return rg_fail(err, RG_EINVAL, NULL,
			       "ROLLGUARD_OUTPUT line %d: expected key=value", lineno);
	char *key = strndup(p, (size_t)(eq - p));
	char *value = strndup(eq + 1, len - (size_t)(eq - p) - 1);
	if (!key || !value) {
		free(key);
		free(value);
		return rg_fail(err, RG_ENOMEM, NULL, "ROLLGUARD_OUTPUT: out of memory");
	}
	return outputs_put(o, key, value, err);
}

rg_err rg_exec_read_outputs(const char *path, char ***keys, char ***values, size_t *n,
			    rg_error *err)
{
	*keys = NULL;
	*values = NULL;
	*n = 0;
	char *buf = NULL;
	size_t len = 0;
	rg_err rc = path ? slurp_outputs(path, &buf, &len, err) : RG_OK;
	if (rc || !buf)
		return rc;
	outputs o = { 0 };
	const char *p = buf, *end = buf + len;
	for (int lineno = 1; !rc && p < end; lineno++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		rc = parse_line(&o, p, (size_t)(eol - p), lineno, err);
		p = nl ? nl + 1 : end;
	}
	free(buf);
	if (rc) {
		rg_exec_outputs_free(o.keys, o.values, o.n);
		return rc;
	}
	*keys = o.keys;
	*values = o.values;
	*n = o.n;
	return RG_OK;
}
