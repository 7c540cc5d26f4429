/* server.c — libmicrohttpd driven by the libuv loop.
 * MHD has no thread of its own: uv_poll watches its epoll fd and a uv_timer
 * its timeouts, and both call MHD_run, which never blocks. Nothing here may
 * block the loop or call MHD_run from inside an MHD callback. */
#include "api/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/alerts.h"
#include "api/counters.h"
#include "api/request.h"
#include "api/routes.h"
#include "api/sse.h"
#include "api/tls.h"
#include "util/hostport.h"
#include "util/log.h"

#define API_CONNECTION_LIMIT 256
#define API_CONNECTION_TIMEOUT_S 60
#define API_CONNECTION_MEMORY (64 * 1024)
#define API_LISTEN_BACKLOG 128

struct rg_api {
	uv_loop_t *loop;
	rg_api_ctx ctx;
	struct MHD_Daemon *daemon;
	uv_poll_t poll;          /* MHD's epoll fd */
	uv_timer_t timer;        /* MHD's timeouts, and kicks after a resume */
	uv_timer_t keepalive;    /* SSE keep-alive comments */
	int open_handles;        /* api is freed when the last one is closed */
	bool kicked;             /* MHD must run at once: streams were resumed */
	bool stopping;
	int port;
	rg_alerts_key alerts_key; /* read once at start; wiped before api is freed */
	rg_tls_pem tls;          /* server.tls, read at start; key wiped before api is freed */
};

/* Per request: the body as it arrives. */
typedef struct api_conn {
	rg_body body;
	rg_error body_err;       /* first failure while receiving, code 0 if none */
} api_conn;

/* ---- listen address ---------------------------------------------------------- */

static const char *errno_text(int e)
{
	switch (e) {
	case EADDRINUSE: return "address in use";
	case EACCES: return "permission denied";
	case EADDRNOTAVAIL: return "address not available on this host";
	default: return strerror(e);
	}
}

/* The socket is made here rather than by MHD (MHD_OPTION_SOCK_ADDR) so a
 * failure can be told precisely: MHD only logs it and returns NULL. */
static rg_err listen_socket(const rg_sockaddr *sa, const char *addr, int *fd_out,
			    rg_sockaddr *bound, rg_error *err)
{
	int fd = socket(sa->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return rg_fail(err, RG_EIO, "listen", "cannot listen on %s: %s", addr,
			       errno_text(errno));
	int one = 1;
	socklen_t len = sizeof bound->ss;
	/* A restarted server must not wait for its predecessor's TIME_WAIT. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(fd, (const struct sockaddr *)&sa->ss, sa->len) != 0 ||
	    listen(fd, API_LISTEN_BACKLOG) != 0 ||
	    getsockname(fd, (struct sockaddr *)&bound->ss, &len) != 0) {
		int e = errno;
		close(fd);
		return rg_fail(err, RG_EIO, "listen", "cannot listen on %s: %s", addr,
			       errno_text(e));
	}
	*fd_out = fd;
	bound->len = len;
	return RG_OK;
}

/* ---- driving MHD from the loop ----------------------------------------------- */

static void on_timer(uv_timer_t *t);

/* After every MHD_run: when MHD next needs to run without socket activity. */
static void api_arm(rg_api *api)
{
	MHD_UNSIGNED_LONG_LONG ms = 0;
	if (api->stopping)
		return;
	if (api->kicked || MHD_get_timeout(api->daemon, &ms) == MHD_YES)
		uv_timer_start(&api->timer, on_timer, api->kicked ? 0 : (uint64_t)ms, 0);
	else
		uv_timer_stop(&api->timer);
}

static void api_run(rg_api *api)
{
	api->kicked = false;
	MHD_run(api->daemon);
	api_arm(api);
}

static void on_timer(uv_timer_t *t)
{
	api_run(t->data);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	if (status < 0)
		rg_warn("api: polling the HTTP server: %s", uv_strerror(status));
	api_run(p->data);
}

/* Streams were resumed, possibly from inside MHD_run (a handler that made
 * the engine commit): run MHD again from the loop, never from here. */
static void on_kick(void *ctx)
{
	rg_api *api = ctx;
	if (api->stopping)
		return;
	api->kicked = true;
	uv_timer_start(&api->timer, on_timer, 0, 0);
}

static void on_keepalive(uv_timer_t *t)
{
	rg_api *api = t->data;
	rg_sse_keepalive(api->ctx.sse);
}

/* The engine's news: new events wake the run's event streams; run states
 * and decisions update the /metrics counters. */
static void on_engine_news(void *ctx, const rg_news *n)
{
	rg_api *api = ctx;
	if (n->kind == RG_NEWS_TIMELINE)
		return rg_sse_notify(api->ctx.sse, n->run_id);
	rg_counters_news(api->ctx.counters, n);
}

void rg_api_runs_pruned(void *ctx, const rg_retention_result *res)
{
	rg_api *api = ctx;
	rg_counters_pruned(api->ctx.counters, res);
}

/* Once running, MHD reports per-connection trouble here, mostly clients
 * that went away (routine for event streams): debug. While it starts, a
 * message explains why rg_api_start fails: warn. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	rg_api *api = cls;
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	rg_log(api->daemon ? RG_LOG_DEBUG : RG_LOG_WARN, "api: http: %s", msg);
}

/* ---- requests ---------------------------------------------------------------- */

/* On every answer: the dashboard's pages run only script loaded from here,
 * are never framed (clickjacking a Roll back button), leak no address to
 * other sites and are never sniffed into another type. Harmless on JSON. */
static const char *const security_headers[][2] = {
	{ "Content-Security-Policy",
	  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
	  "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
	  "form-action 'self'" },
	{ "X-Frame-Options", "DENY" },
	{ "Referrer-Policy", "no-referrer" },
	{ "X-Content-Type-Options", "nosniff" },
};

static rg_err add_headers(struct MHD_Response *r, const rg_reply *reply)
{
	for (size_t i = 0; i < sizeof security_headers / sizeof *security_headers; i++)
		if (!MHD_add_response_header(r, security_headers[i][0], security_headers[i][1]))
			return RG_ENOMEM;
	bool ok = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					  reply->content_type ? reply->content_type
							      : RG_JSON_CONTENT_TYPE) &&
		  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (ok && reply->allow[0])
		ok = MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, reply->allow);
	if (ok && reply->location[0])
		ok = MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, reply->location);
	if (ok && reply->etag[0])
		ok = MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, reply->etag);
	if (ok && reply->set_cookie[0])
		ok = MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, reply->set_cookie);
	return ok ? RG_OK : RG_ENOMEM;
}

/* Hands the reply to MHD; the reply keeps nothing. */
static enum MHD_Result queue_reply(struct MHD_Connection *conn, rg_reply *reply)
{
	struct MHD_Response *r = reply->stream;
	reply->stream = NULL;
	if (!r) {
		r = MHD_create_response_from_buffer(reply->body_len, reply->body,
						    MHD_RESPMEM_MUST_FREE);
		if (!r)
			return MHD_NO;   /* MHD closes the connection */
		reply->body = NULL;      /* freed with the response */
		if (add_headers(r, reply)) {
			MHD_destroy_response(r);
			return MHD_NO;
		}
	}
	enum MHD_Result ret = MHD_queue_response(conn, reply->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result queue_error(struct MHD_Connection *conn, const rg_error *e)
{
	rg_reply reply;
	memset(&reply, 0, sizeof reply);
	rg_reply_error(&reply, (unsigned)rg_err_http_status(e->code), rg_err_name(e->code), e);
	enum MHD_Result ret = queue_reply(conn, &reply);
	rg_reply_release(&reply);
	return ret;
}

static enum MHD_Result answer(rg_api *api, struct MHD_Connection *conn, const char *url,
			      const char *method, api_conn *c)
{
	if (c->body_err.code)
		return queue_error(conn, &c->body_err);
	rg_request req = {
		.conn = conn,
		.method = method,
		.path = url,
		.body = c->body.text.buf,
		.body_len = c->body.text.len,
	};
	rg_reply reply;
	rg_routes_handle(&api->ctx, &req, &reply);
	char path[256];
	rg_request_log_text(path, sizeof path, url);
	rg_debug("api: %s %s %u", method, path, reply.status);
	enum MHD_Result ret = queue_reply(conn, &reply);
	rg_reply_release(&reply);
	return ret;
}

/* MHD calls this once with the headers, once per piece of body, and once
 * more when the request is complete; only then is it answered. A declared
 * Content-Length over the limit is answered at once (MHD then discards
 * the body and closes the connection); an undeclared one is received,
 * dropped, and answered 413 at the end. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	api_conn *c = *con_cls;
	if (!c) {
		c = calloc(1, sizeof *c);
		if (!c)
			return MHD_NO;
		rg_body_init(&c->body, RG_BODY_MAX);
		*con_cls = c;
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (rg_body_check_length(cl, RG_BODY_MAX, &c->body_err)) {
			rg_debug("api: %s: %s", method, c->body_err.message);
			return queue_error(conn, &c->body_err);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!c->body_err.code)
			rg_body_append(&c->body, upload_data, *upload_data_size, &c->body_err);
		*upload_data_size = 0;
		return MHD_YES;
	}
	return answer(cls, conn, url, method, c);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	api_conn *c = *con_cls;
	if (!c)
		return;
	rg_body_release(&c->body);
	free(c);
	*con_cls = NULL;
}

/* ---- lifecycle --------------------------------------------------------------- */

static struct MHD_Daemon *daemon_start(rg_api *api, int fd)
{
	/* With server.tls the same daemon speaks HTTPS only (MHD_USE_TLS). */
	bool tls = api->tls.cert != NULL;
	struct MHD_OptionItem tls_opts[] = {
		{ tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, api->tls.key },
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, api->tls.cert },
		{ MHD_OPTION_END, 0, NULL },
	};
	return MHD_start_daemon(
		MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
			(tls ? MHD_USE_TLS : 0),
		0, NULL, NULL, on_request, api,
		/* first, so that no message goes to MHD's own stderr logger */
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, api,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, api,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)API_CONNECTION_LIMIT,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)API_CONNECTION_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)API_CONNECTION_MEMORY,
		MHD_OPTION_ARRAY, tls_opts,
		MHD_OPTION_END);
}

static void api_free(rg_api *api)
{
	rg_alerts_key_wipe(&api->alerts_key);
	rg_tls_pem_release(&api->tls);
	rg_counters_free(api->ctx.counters);
	free(api);
}

static void on_closed(uv_handle_t *h)
{
	rg_api *api = h->data;
	if (--api->open_handles == 0)
		api_free(api);
}

static void close_handles(rg_api *api)
{
	api->open_handles = 3;
	uv_close((uv_handle_t *)&api->poll, on_closed);
	uv_close((uv_handle_t *)&api->timer, on_closed);
	uv_close((uv_handle_t *)&api->keepalive, on_closed);
}

/* MHD is running; now the loop handles that drive it. */
static rg_err watch_daemon(rg_api *api, const char *listen, rg_error *err)
{
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(api->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	int rc = info ? uv_poll_init(api->loop, &api->poll, info->epoll_fd) : UV_EINVAL;
	if (rc)
		return rg_fail(err, RG_EIO, "listen", "cannot listen on %s: polling: %s", listen,
			       uv_strerror(rc));
	api->poll.data = api;
	uv_timer_init(api->loop, &api->timer);
	api->timer.data = api;
	uv_timer_init(api->loop, &api->keepalive);
	api->keepalive.data = api;
	rc = uv_poll_start(&api->poll, UV_READABLE, on_poll);
	if (rc) {
		close_handles(api);
		return rg_fail(err, RG_EIO, "listen", "cannot listen on %s: polling: %s", listen,
			       uv_strerror(rc));
	}
	uv_timer_start(&api->keepalive, on_keepalive, RG_SSE_KEEPALIVE_MS, RG_SSE_KEEPALIVE_MS);
	return RG_OK;
}

/* Frees what rg_api_start made before its loop handles existed. */
static void api_discard(rg_api *api)
{
	if (api->daemon)
		MHD_stop_daemon(api->daemon);
	rg_sse_hub_free(api->ctx.sse);
	api_free(api);
}

/* The alerts secret is read once, here. Without it the API still starts
 * (deploys and rollbacks matter more than alerts) and POST /api/v1/alerts
 * answers 503 saying why; the warning names where the secret was looked
 * for, never what it is. */
static void load_alerts_key(rg_api *api, const rg_config *cfg)
{
	if (!cfg->alerts.enabled || (!cfg->alerts.secret_env && !cfg->alerts.secret_file))
		return;   /* tokens with the alerts role only */
	rg_alerts_key_load(&cfg->alerts, &api->alerts_key);
	api->ctx.alerts_key = &api->alerts_key;
	if (!api->alerts_key.loaded)
		rg_warn("api: alerts secret unavailable: %s; POST /api/v1/alerts answers 503 "
			"until serve restarts", api->alerts_key.problem);
}

/* server.tls: a libmicrohttpd without TLS fails clearly rather than serve
 * in clear what the config says must be encrypted. */
static rg_err load_tls(rg_api *api, const rg_config *cfg, rg_error *err)
{
	if (!cfg->tls_cert)
		return RG_OK;
	if (!rg_tls_supported())
		return rg_fail(err, RG_EIO, "server.tls",
			       "this libmicrohttpd was built without TLS support, so server.tls "
			       "cannot be served (install a libmicrohttpd built with GnuTLS)");
	return rg_tls_pem_load(cfg->tls_cert, cfg->tls_key, &api->tls, err);
}

rg_err rg_api_start(uv_loop_t *loop, const char *listen, const rg_config *cfg,
		    rg_engine *engine, rg_store *store, rg_dataplane *dp,
		    const rg_token_key *token_key, rg_api **out, rg_error *err)
{
	rg_sockaddr sa, bound;
	int fd = -1;
	rg_err rc = rg_hostport_parse(listen, RG_HOSTPORT_LISTEN_ANY_PORT, "listen", &sa, err);
	if (!rc)
		rc = listen_socket(&sa, listen, &fd, &bound, err);
	if (rc)
		return rc;
	int port = rg_sockaddr_port((const struct sockaddr *)&bound.ss);
	rg_api *api = calloc(1, sizeof *api);
	if (!api) {
		close(fd);
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	}
	*api = (rg_api){ .loop = loop, .port = port,
			 .ctx = { .cfg = cfg, .engine = engine, .store = store, .dp = dp,
				  .token_key = token_key } };
	load_alerts_key(api, cfg);
	rc = load_tls(api, cfg, err);
	api->ctx.tls = api->tls.cert != NULL;
	if (!rc)   /* before the news is subscribed to: nothing is counted twice */
		rc = rg_counters_load(store, &api->ctx.counters, err);
	if (!rc)
		rc = rg_sse_hub_new(store, on_kick, api, &api->ctx.sse, err);
	if (rc) {
		close(fd);
		api_discard(api);
		return rc;
	}
	api->daemon = daemon_start(api, fd);
	if (!api->daemon) {
		/* Whether MHD closed the socket it was given on this path differs
		 * between versions; close it only if it is still open. */
		if (fcntl(fd, F_GETFD) != -1)
			close(fd);
		api_discard(api);
		return rg_fail(err, RG_EIO, "listen", "cannot listen on %s: the HTTP server "
			       "did not start (see the log above)", listen);
	}
	rc = watch_daemon(api, listen, err);
	if (rc) {
		MHD_stop_daemon(api->daemon);
		rg_sse_hub_free(api->ctx.sse);
		if (!api->open_handles)
			api_free(api);
		return rc;
	}
	rc = rg_engine_subscribe(engine, on_engine_news, api, err);
	if (rc) {
		rg_api_stop(api);
		return rc;
	}
	api_arm(api);
	char where[RG_HOSTPORT_LEN];
	rg_info("api: listening on %s://%s", api->tls.cert ? "https" : "http",
		rg_sockaddr_format((const struct sockaddr *)&bound.ss, where, sizeof where));
	*out = api;
	return RG_OK;
}

void rg_api_stop(rg_api *api)
{
	if (!api || api->stopping)
		return;
	api->stopping = true;
	rg_engine_unsubscribe(api->ctx.engine, on_engine_news, api);
	/* libuv must stop watching the epoll fd before MHD closes it. */
	uv_poll_stop(&api->poll);
	uv_timer_stop(&api->timer);
	uv_timer_stop(&api->keepalive);
	/* MHD must not be stopped with suspended connections: wake every
	 * stream, let each end (flushing what it has) in one last run, then
	 * close whatever is left. */
	rg_sse_hub_shutdown(api->ctx.sse);
	for (int i = 0; i < 8 && rg_sse_hub_streams(api->ctx.sse) > 0; i++)
		MHD_run(api->daemon);
	rg_debug("api: stopping with %zu event streams still open",
		 rg_sse_hub_streams(api->ctx.sse));
	MHD_stop_daemon(api->daemon);
	api->daemon = NULL;
	rg_sse_hub_free(api->ctx.sse);
	api->ctx.sse = NULL;
	close_handles(api);
}

void rg_api_set_incidents(rg_api *api, struct rg_incidents *in)
{
	api->ctx.incidents = in;
}

int rg_api_port(const rg_api *api)
{
	return api->port;
}
