/* haproxy.c — the HAProxy router: one backend with two servers, "stable"
 * and "canary", steered through the runtime API (the stats socket at level
 * admin), on the loop. It must never block, and never put into HAProxy's
 * command line anything but validated names, addresses as inet_ntop writes
 * them and numbers:
 * the line is ';'-separated, so one stray ';' would be a second command.
 *
 * All commands of a state go on one connection as one line, which HAProxy
 * runs in order in non-interactive mode; it answers each with its output
 * and an empty line, then closes. A command that succeeds prints nothing,
 * except `set server … addr`, which says what it changed. Anything else is
 * HAProxy refusing, and is quoted in the error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routers/routers_internal.h"
#include "util/duration.h"
#include "util/hostport.h"

#define ANSWER_MAX (64 * 1024)
#define READ_CHUNK 4096
#define MAX_COMMANDS 8

/* One side of a route state in HAProxy's terms: at most one server. */
typedef struct side {
	bool set;
	char ip[RG_HOST_LEN];        /* "10.0.0.1", "fd00::1": HAProxy takes IPv6 bare */
	int port;
} side;

static rg_err parse_side(const char *name, const char *backends, side *out, rg_error *err)
{
	memset(out, 0, sizeof *out);
	if (!backends[0])
		return RG_OK;
	size_t n = 1;
	for (const char *p = backends; *p; p++)
		n += *p == ',';
	if (n > 1)
		return rg_fail(err, RG_EINVAL, "backends",
			       "haproxy router: side '%s' names %zu backends; HAProxy mode routes one per side",
			       name, n);
	rg_sockaddr sa;
	const char *why = rg_hostport_check(backends, RG_HOSTPORT_CONNECT, &sa);
	if (why)
		return rg_fail(err, RG_EINVAL, "backends",
			       "haproxy router: %s backend '%s' is not HOST:PORT (" RG_HOSTPORT_EXAMPLE
			       ")", name, backends);
	rg_sockaddr_host((const struct sockaddr *)&sa.ss, out->ip, sizeof out->ip);
	out->port = rg_sockaddr_port((const struct sockaddr *)&sa.ss);
	out->set = true;
	return RG_OK;
}

static rg_err parse_state(const rg_route_state *st, side *stable, side *canary, rg_error *err)
{
	if (st->canary_weight < 0 || st->canary_weight > 100)
		return rg_fail(err, RG_EINVAL, "canary_weight",
			       "haproxy router: canary weight %d is not between 0 and 100",
			       st->canary_weight);
	rg_err rc = parse_side("stable", st->stable, stable, err);
	if (rc == RG_OK)
		rc = parse_side("canary", st->canary, canary, err);
	return rc;
}

rg_err rg_haproxy_check(const rg_env *env, const rg_route_state *st, rg_error *err)
{
	side stable, canary;
	return parse_state(st, &stable, &canary, err);
}

/* The commands for st, in the order HAProxy must run them: addresses
 * first (a server whose address changes is not yet in use at its new
 * weight), then states and weights, and maintenance last, once the other
 * server carries the traffic. */
static size_t build_commands(const rg_env *env, const side *stable, const side *canary,
			     int canary_weight, char cmds[MAX_COMMANDS][160])
{
	const char *b = env->haproxy_backend;
	const char *s = env->haproxy_stable, *c = env->haproxy_canary;
	int ws = 0, wc = 0;
	if (stable->set && canary->set) {
		ws = 100 - canary_weight;
		wc = canary_weight;
	} else if (stable->set) {
		ws = 100;
	} else if (canary->set) {
		wc = 100;
	}
	size_t n = 0;
	if (canary->set)
		snprintf(cmds[n++], 160, "set server %s/%s addr %s port %d", b, c, canary->ip,
			 canary->port);
	if (stable->set)
		snprintf(cmds[n++], 160, "set server %s/%s addr %s port %d", b, s, stable->ip,
			 stable->port);
	if (stable->set)
		snprintf(cmds[n++], 160, "set server %s/%s state ready", b, s);
	if (canary->set)
		snprintf(cmds[n++], 160, "set server %s/%s state ready", b, c);
	snprintf(cmds[n++], 160, "set server %s/%s weight %d", b, s, ws);
	snprintf(cmds[n++], 160, "set server %s/%s weight %d", b, c, wc);
	if (!stable->set)
		snprintf(cmds[n++], 160, "set server %s/%s state maint", b, s);
	if (!canary->set)
		snprintf(cmds[n++], 160, "set server %s/%s state maint", b, c);
	return n;
}

static char *join_commands(char cmds[MAX_COMMANDS][160], size_t n)
{
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += strlen(cmds[i]) + 1;
	char *line = malloc(len);
	if (!line)
		return NULL;
	size_t pos = 0;
	for (size_t i = 0; i < n; i++)
		pos += (size_t)sprintf(line + pos, "%s%s", i ? ";" : "", cmds[i]);
	strcpy(line + pos, "\n");
	return line;
}

/* The i-th command of op->line, for messages. */
static void command_text(const rg_route_op *op, size_t i, char *buf, size_t size)
{
	const char *p = op->line;
	for (size_t k = 0; k < i && p; k++) {
		p = strchr(p, ';');
		if (p)
			p++;
	}
	size_t len = p ? strcspn(p, ";\n") : 0;
	snprintf(buf, size, "%.*s", (int)len, p ? p : "");
}

static bool success_text(const char *line, size_t len)
{
	static const char *const ok[] = { "IP changed from ", "no need to change the addr" };
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (len >= strlen(ok[i]) && !strncmp(line, ok[i], strlen(ok[i])))
			return true;
	return false;
}

/* HAProxy closed the connection: every command answered, each without
 * complaint, or the first complaint. */
static void judge(rg_route_op *op)
{
	const char *sock = op->q->env->haproxy_socket;
	size_t answered = 0;
	const char *p = op->answer.len ? op->answer.buf : "", *end = p + op->answer.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (len && p[len - 1] == '\r')
			len--;
		if (len == 0) {
			answered++;
		} else if (!success_text(p, len)) {
			char cmd[160];
			command_text(op, answered, cmd, sizeof cmd);
			rg_route_finish(op, RG_EIO, "haproxy %s: %.*s (%s)", sock,
					(int)(len > 200 ? 200 : len), p, cmd);
			return;
		}
		p = nl ? nl + 1 : end;
	}
	if (answered < op->n_commands)
		rg_route_finish(op, RG_EIO, "haproxy %s: answered %zu of %zu commands, then closed",
				sock, answered, op->n_commands);
	else
		rg_route_finish(op, RG_OK, "haproxy %s: %zu commands applied", sock, op->n_commands);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	rg_route_op *op = h->data;
	*buf = uv_buf_init(NULL, 0);
	if (rg_strbuf_grow(&op->answer, READ_CHUNK))
		return; /* on_read gets UV_ENOBUFS */
	/* The last allocated byte stays for the NUL rg_strbuf_setlen writes. */
	*buf = uv_buf_init(op->answer.buf + op->answer.len,
			   (unsigned)(op->answer.alloc - op->answer.len - 1));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	rg_route_op *op = s->data;
	const char *sock = op->r ? op->q->env->haproxy_socket : "";
	if (!op->r || nread == 0)
		return;
	if (nread == UV_EOF) {
		judge(op);
	} else if (nread < 0) {
		rg_route_finish(op, RG_EIO, "haproxy %s: cannot read the answer: %s", sock,
				uv_strerror((int)nread));
	} else {
		rg_strbuf_setlen(&op->answer, op->answer.len + (size_t)nread);
		if (op->answer.len > ANSWER_MAX)
			rg_route_finish(op, RG_EIO, "haproxy %s: answer longer than %d bytes",
					sock, ANSWER_MAX);
	}
}

static void on_write(uv_write_t *req, int status)
{
	rg_route_op *op = req->data;
	if (op->r && status < 0)
		rg_route_finish(op, RG_EIO, "haproxy %s: cannot send the commands: %s",
				op->q->env->haproxy_socket, uv_strerror(status));
}

static void on_connect(uv_connect_t *req, int status)
{
	rg_route_op *op = req->data;
	if (!op->r)
		return;
	const char *sock = op->q->env->haproxy_socket;
	if (status < 0) {
		rg_route_finish(op, RG_EIO, "haproxy %s: cannot connect: %s", sock,
				uv_strerror(status));
		return;
	}
	uv_buf_t b = uv_buf_init(op->line, (unsigned)strlen(op->line));
	op->write_req.data = op;
	int rc = uv_write(&op->write_req, &op->conn.stream, &b, 1, on_write);
	if (rc == 0)
		rc = uv_read_start(&op->conn.stream, on_alloc, on_read);
	if (rc < 0)
		rg_route_finish(op, RG_EIO, "haproxy %s: cannot send the commands: %s", sock,
				uv_strerror(rc));
}

/* A socket with a '/' is a unix socket; else the loader checked IPv4:PORT. */
static int connect_socket(rg_route_op *op, const char *sock)
{
	uv_loop_t *loop = op->r->loop;
	op->connect_req.data = op;
	if (strchr(sock, '/')) {
		int rc = uv_pipe_init(loop, &op->conn.pipe, 0);
		if (rc < 0)
			return rc;
		op->conn.stream.data = op;
		op->open |= RG_OP_CONN;
		uv_pipe_connect(&op->connect_req, &op->conn.pipe, sock, on_connect);
		return 0;
	}
	rg_sockaddr sa;
	if (rg_hostport_check(sock, RG_HOSTPORT_CONNECT, &sa))
		return UV_EINVAL;
	int rc = uv_tcp_init(loop, &op->conn.tcp);
	if (rc < 0)
		return rc;
	op->conn.stream.data = op;
	op->open |= RG_OP_CONN;
	return uv_tcp_connect(&op->connect_req, &op->conn.tcp, (const struct sockaddr *)&sa.ss,
			      on_connect);
}

void rg_haproxy_start(rg_route_op *op)
{
	const rg_env *env = op->q->env;
	const char *sock = env->haproxy_socket;
	side stable, canary;
	rg_error err = { 0 };
	char cmds[MAX_COMMANDS][160];
	if (parse_state(&op->st, &stable, &canary, &err) != RG_OK) {
		rg_route_deadline(op, 0, err.code, "%s", err.message);
		return;
	}
	op->n_commands = build_commands(env, &stable, &canary, op->st.canary_weight, cmds);
	if (!(op->line = join_commands(cmds, op->n_commands))) {
		rg_route_deadline(op, 0, RG_ENOMEM, "haproxy %s: out of memory", sock);
		return;
	}
	char limit[32];
	rg_duration_format(env->router_timeout_ms, limit, sizeof limit);
	rg_route_deadline(op, env->router_timeout_ms, RG_EIO, "haproxy %s: no answer within %s",
			  sock, limit);
	int rc = connect_socket(op, sock);
	if (rc < 0)
		rg_route_deadline(op, 0, RG_EIO, "haproxy %s: cannot connect: %s", sock,
				  uv_strerror(rc));
}
