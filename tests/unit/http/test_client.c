/* test_client.c — http/client.c against a real HTTP server on 127.0.0.1 (a
 * thread per connection in this file): status and body, the body limit,
 * headers, no proxy, timeouts, refused connections, cancel, many requests at
 * once, and freeing the client with requests in flight. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/client.h"

/* ---- a tiny HTTP server, one thread per connection ------------------------ */

#define CONNS_MAX 128

static struct {
	int fd;
	int port;
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t lock;
	pthread_t conns[CONNS_MAX];
	int n_conns;
	atomic_int requests;
} srv;

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;   /* the client went away (e.g. stopped reading) */
		p += w;
		n -= (size_t)w;
	}
}

static void respond(int fd, int status, const char *extra, const char *body, size_t len)
{
	char head[256];
	int h = snprintf(head, sizeof head,
			 "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
			 status, len, extra);
	send_all(fd, head, (size_t)h);
	send_all(fd, body, len);
}

/* Holds the connection until the client closes it or the server stops. */
static void hold(int fd)
{
	char buf[256];
	while (!atomic_load(&srv.stop)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 50) > 0 && recv(fd, buf, sizeof buf, 0) <= 0)
			return;
	}
}

static void answer(int fd, const char *req, const char *path)
{
	int status;
	if (strcmp(path, "/ok") == 0) {
		respond(fd, 200, "", "all ok", 6);
	} else if (sscanf(path, "/status/%d", &status) == 1) {
		char body[32];
		int n = snprintf(body, sizeof body, "status %d", status);
		respond(fd, status, "", body, (size_t)n);
	} else if (strcmp(path, "/redirect") == 0) {
		respond(fd, 302, "Location: /ok\r\n", "", 0);
	} else if (strcmp(path, "/big") == 0) {
		size_t len = 200 * 1024;
		char *body = malloc(len);
		memset(body, 'x', len);
		respond(fd, 200, "", body, len);
		free(body);
	} else if (strcmp(path, "/echo") == 0) {
		respond(fd, 200, "", req, strlen(req));
	} else if (strcmp(path, "/slow") == 0) {
		usleep(300 * 1000);
		respond(fd, 200, "", "slow", 4);
	} else if (strcmp(path, "/keep") == 0) {
		send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 40);
		hold(fd);   /* curl keeps the connection for reuse */
	} else if (strcmp(path, "/hang") == 0) {
		hold(fd);   /* never answer */
	} else {
		respond(fd, 404, "", "", 0);
	}
}

static void *serve_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char req[4096];
	size_t n = 0;
	req[0] = '\0';
	while (n < sizeof req - 1 && !strstr(req, "\r\n\r\n")) {
		ssize_t r = recv(fd, req + n, sizeof req - 1 - n, 0);
		if (r <= 0) {
			close(fd);
			return NULL;
		}
		n += (size_t)r;
		req[n] = '\0';
	}
	atomic_fetch_add(&srv.requests, 1);
	char path[256] = "";
	sscanf(req, "GET %255s", path);
	answer(fd, req, path);
	close(fd);
	return NULL;
}

static void *serve(void *arg)
{
	while (!atomic_load(&srv.stop)) {
		struct pollfd p = { .fd = srv.fd, .events = POLLIN };
		if (poll(&p, 1, 50) <= 0)
			continue;
		int c = accept4(srv.fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		struct timeval tv = { .tv_sec = 2 };
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		pthread_mutex_lock(&srv.lock);
		if (srv.n_conns == CONNS_MAX ||
		    pthread_create(&srv.conns[srv.n_conns], NULL, serve_conn, (void *)(intptr_t)c))
			close(c);
		else
			srv.n_conns++;
		pthread_mutex_unlock(&srv.lock);
	}
	return NULL;
}

static int listen_any(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	cr_assert_eq(listen(fd, 128), 0);
	return fd;
}

static int port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

static void srv_start(void)
{
	srv.fd = listen_any();
	srv.port = port_of(srv.fd);
	atomic_store(&srv.stop, false);
	atomic_store(&srv.requests, 0);
	pthread_mutex_init(&srv.lock, NULL);
	srv.n_conns = 0;
	cr_assert_eq(pthread_create(&srv.thread, NULL, serve, NULL), 0);
}

static void srv_stop(void)
{
	atomic_store(&srv.stop, true);
	pthread_join(srv.thread, NULL);
	for (int i = 0; i < srv.n_conns; i++)
		pthread_join(srv.conns[i], NULL);
	close(srv.fd);
}

static void url_of(const char *path, char *buf, size_t size)
{
	snprintf(buf, size, "http://127.0.0.1:%d%s", srv.port, path);
}

/* ---- running requests on a loop ------------------------------------------- */

typedef struct outcome {
	int calls;
	int dropped;
	rg_http_result res;   /* body points into body below */
	char *body;
} outcome;

static void on_done(const rg_http_result *res, void *ctx)
{
	outcome *o = ctx;
	o->calls++;
	o->res = *res;
	cr_assert_not_null(res->body);
	cr_assert_eq(res->body[res->body_len], '\0', "the body is NUL-terminated");
	free(o->body);
	o->body = malloc(res->body_len + 1);
	memcpy(o->body, res->body, res->body_len + 1);
	o->res.body = o->body;
}

static void on_dropped(void *ctx)
{
	((outcome *)ctx)->dropped++;
}

static void on_freed(void *ctx)
{
	*(int *)ctx += 1;
}

/* Frees the client, runs the loop dry and proves nothing was left on it. */
static void finish(uv_loop_t *loop, rg_http *h)
{
	int freed = 0;
	rg_http_free(h, on_freed, &freed);
	cr_assert_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(freed, 1);
	cr_assert_eq(uv_loop_close(loop), 0, "handles left on the loop");
}

static outcome fetch_opts(const rg_http_opts *opts)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	rg_http *h = NULL;
	rg_error err = { 0 };
	cr_assert_eq(rg_http_new(&loop, &h, &err), RG_OK, "%s", err.message);
	outcome o = { 0 };
	rg_http_req *r = NULL;
	cr_assert_eq(rg_http_get(h, opts, on_done, &o, &r, &err), RG_OK, "%s", err.message);
	cr_assert_not_null(r);
	cr_assert_eq(o.calls, 0, "done must never fire inside rg_http_get");
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(o.calls, 1);
	finish(&loop, h);
	return o;
}

static outcome fetch(const char *path, int64_t timeout_ms, size_t body_limit)
{
	char url[128];
	url_of(path, url, sizeof url);
	rg_http_opts opts = { .url = url, .timeout_ms = timeout_ms, .body_limit = body_limit };
	return fetch_opts(&opts);
}

TestSuite(httpc, .init = srv_start, .fini = srv_stop, .timeout = 30);

Test(httpc, status_and_body)
{
	outcome o = fetch("/ok", 0, 0);
	cr_assert_eq(o.res.rc, RG_OK, "%s", o.res.message);
	cr_assert_eq(o.res.status, 200);
	cr_assert_str_eq(o.res.body, "all ok");
	cr_assert_eq(o.res.body_len, 6);
	cr_assert(!o.res.truncated);
	cr_assert_str_eq(o.res.message, "HTTP 200");
	cr_assert_geq(o.res.duration_ms, 0);
	cr_assert_lt(o.res.duration_ms, 5000);
	free(o.body);
}

Test(httpc, any_status_is_an_answer)
{
	outcome o = fetch("/status/503", 0, 0);
	cr_assert_eq(o.res.rc, RG_OK, "%s", o.res.message);
	cr_assert_eq(o.res.status, 503);
	cr_assert_str_eq(o.res.body, "status 503");
	free(o.body);

	o = fetch("/nowhere", 0, 0);
	cr_assert_eq(o.res.rc, RG_OK);
	cr_assert_eq(o.res.status, 404);
	cr_assert_eq(o.res.body_len, 0);
	cr_assert_str_eq(o.res.body, "");
	free(o.body);
}

Test(httpc, redirect_not_followed)
{
	outcome o = fetch("/redirect", 0, 0);
	cr_assert_eq(o.res.rc, RG_OK);
	cr_assert_eq(o.res.status, 302);
	cr_assert_eq(atomic_load(&srv.requests), 1, "only the first request was made");
	free(o.body);
}

Test(httpc, body_limit)
{
	outcome o = fetch("/big", 0, 1000);
	cr_assert_eq(o.res.rc, RG_OK, "a cut body is still an answer: %s", o.res.message);
	cr_assert_eq(o.res.status, 200);
	cr_assert_eq(o.res.body_len, 1000);
	cr_assert_eq(strlen(o.res.body), 1000);
	cr_assert(o.res.truncated);
	free(o.body);

	o = fetch("/big", 0, 0);   /* the default: 64 KiB */
	cr_assert_eq(o.res.rc, RG_OK, "%s", o.res.message);
	cr_assert_eq(o.res.body_len, 64 * 1024);
	cr_assert(o.res.truncated);
	free(o.body);
}

Test(httpc, body_exactly_at_the_limit)
{
	outcome o = fetch("/ok", 0, 6);
	cr_assert_eq(o.res.rc, RG_OK);
	cr_assert_str_eq(o.res.body, "all ok");
	cr_assert(!o.res.truncated);
	free(o.body);

	o = fetch("/ok", 0, 5);
	cr_assert_eq(o.res.rc, RG_OK);
	cr_assert_str_eq(o.res.body, "all o");
	cr_assert(o.res.truncated);
	free(o.body);
}

Test(httpc, headers_and_user_agent)
{
	outcome o = fetch("/echo", 0, 0);
	cr_assert_eq(o.res.rc, RG_OK);
	cr_assert(strstr(o.res.body, "User-Agent: rollguard\r\n"), "%s", o.res.body);
	free(o.body);

	char url[128];
	url_of("/echo", url, sizeof url);
	const char *const headers[] = { "X-Run: 42", "User-Agent: rollguard-check", NULL };
	rg_http_opts opts = { .url = url, .headers = headers };
	o = fetch_opts(&opts);
	cr_assert(strstr(o.res.body, "X-Run: 42\r\n"), "%s", o.res.body);
	cr_assert(strstr(o.res.body, "User-Agent: rollguard-check\r\n"), "%s", o.res.body);
	cr_assert_null(strstr(o.res.body, "User-Agent: rollguard\r\n"), "%s", o.res.body);
	free(o.body);
}

/* A proxy from the environment would make every request fail here: nothing
 * listens on port 1. (Each Criterion test runs in its own process.) */
Test(httpc, no_proxy_from_the_environment)
{
	setenv("http_proxy", "http://127.0.0.1:1", 1);
	setenv("HTTPS_PROXY", "http://127.0.0.1:1", 1);
	setenv("ALL_PROXY", "http://127.0.0.1:1", 1);
	setenv("all_proxy", "http://127.0.0.1:1", 1);
	outcome o = fetch("/ok", 0, 0);
	cr_assert_eq(o.res.rc, RG_OK, "%s", o.res.message);
	cr_assert_str_eq(o.res.body, "all ok");
	free(o.body);
}

Test(httpc, timeout)
{
	outcome o = fetch("/hang", 300, 0);
	cr_assert_eq(o.res.rc, RG_HTTP_ETIMEOUT);
	cr_assert_str_eq(o.res.message, "timed out after 300ms");
	cr_assert_geq(o.res.duration_ms, 250);
	cr_assert_lt(o.res.duration_ms, 3000);
	free(o.body);
}

Test(httpc, connection_refused)
{
	int fd = listen_any();
	int port = port_of(fd);
	close(fd);   /* nothing listens there now */
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/health", port);
	rg_http_opts opts = { .url = url };
	outcome o = fetch_opts(&opts);
	cr_assert_eq(o.res.rc, RG_EIO);
	cr_assert_str_eq(o.res.message, "connection refused");
	cr_assert_eq(o.res.status, 0);
	free(o.body);
}

Test(httpc, only_http_and_https)
{
	rg_http_opts opts = { .url = "file:///etc/hostname" };
	outcome o = fetch_opts(&opts);
	cr_assert_eq(o.res.rc, RG_EIO);
	cr_assert_str_eq(o.res.message, "unsupported protocol");
	cr_assert_eq(o.res.body_len, 0);
	free(o.body);
}

Test(httpc, message_never_holds_the_url)
{
	int fd = listen_any();
	int port = port_of(fd);
	close(fd);
	char url[128];
	snprintf(url, sizeof url, "http://user:s3cret@127.0.0.1:%d/", port);
	rg_http_opts opts = { .url = url };
	outcome o = fetch_opts(&opts);
	cr_assert_eq(o.res.rc, RG_EIO);
	cr_assert_null(strstr(o.res.message, "s3cret"), "%s", o.res.message);
	free(o.body);
}

Test(httpc, bad_arguments)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	rg_http *h;
	rg_error err;
	cr_assert_eq(rg_http_new(&loop, &h, &err), RG_OK);
	outcome o = { 0 };
	rg_http_opts none = { 0 };
	cr_assert_eq(rg_http_get(h, &none, on_done, &o, NULL, &err), RG_EINVAL);
	rg_http_opts opts = { .url = "http://127.0.0.1:1/" };
	cr_assert_eq(rg_http_get(h, &opts, NULL, &o, NULL, &err), RG_EINVAL);
	finish(&loop, h);
	cr_assert_eq(o.calls, 0);
}

/* ---- many at once, re-entrancy -------------------------------------------- */

#define MANY 32

Test(httpc, many_concurrent_requests)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	rg_http *h;
	rg_error err;
	cr_assert_eq(rg_http_new(&loop, &h, &err), RG_OK);
	char url[128];
	url_of("/slow", url, sizeof url);
	outcome os[MANY] = { 0 };
	rg_http_opts opts = { .url = url };
	for (int i = 0; i < MANY; i++)
		cr_assert_eq(rg_http_get(h, &opts, on_done, &os[i], NULL, &err), RG_OK, "%s",
			     err.message);
	uint64_t t0 = uv_hrtime();
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	uint64_t ms = (uv_hrtime() - t0) / 1000000u;
	for (int i = 0; i < MANY; i++) {
		cr_assert_eq(os[i].calls, 1, "%d", i);
		cr_assert_eq(os[i].res.rc, RG_OK, "%d: %s", i, os[i].res.message);
		cr_assert_str_eq(os[i].res.body, "slow");
		free(os[i].body);
	}
	/* one after the other would take MANY × 300 ms */
	cr_assert_lt(ms, 3000, "requests ran one at a time (%llu ms)", (unsigned long long)ms);
	cr_assert_eq(atomic_load(&srv.requests), MANY);
	finish(&loop, h);
}

typedef struct chain {
	rg_http *h;
	char url[128];
	int calls;
	outcome last;
} chain;

static void on_chain(const rg_http_result *res, void *ctx)
{
	chain *c = ctx;
	c->calls++;
	cr_assert_eq(res->rc, RG_OK, "%s", res->message);
	if (c->calls < 3) {
		rg_http_opts opts = { .url = c->url };
		rg_error err;
		cr_assert_eq(rg_http_get(c->h, &opts, on_chain, c, NULL, &err), RG_OK, "%s",
			     err.message);
	}
}

Test(httpc, start_another_from_inside_done)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	chain c = { 0 };
	rg_error err;
	cr_assert_eq(rg_http_new(&loop, &c.h, &err), RG_OK);
	url_of("/ok", c.url, sizeof c.url);
	rg_http_opts opts = { .url = c.url };
	cr_assert_eq(rg_http_get(c.h, &opts, on_chain, &c, NULL, &err), RG_OK);
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(c.calls, 3);
	finish(&loop, c.h);
}

/* ---- cancel and free ------------------------------------------------------ */

typedef struct canceller {
	rg_http *h;
	rg_http_req *reqs[4];
	int n;
	bool free_client;
	int freed;
} canceller;

static void on_cancel_timer(uv_timer_t *t)
{
	canceller *k = t->data;
	if (k->free_client)
		rg_http_free(k->h, on_freed, &k->freed);
	else
		for (int i = 0; i < k->n; i++)
			rg_http_cancel(k->reqs[i]);
	uv_close((uv_handle_t *)t, NULL);
}

static void cancel_scenario(bool free_client)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	canceller k = { .free_client = free_client, .n = 4 };
	rg_error err;
	cr_assert_eq(rg_http_new(&loop, &k.h, &err), RG_OK);
	char url[128];
	url_of("/hang", url, sizeof url);
	outcome o = { 0 };
	rg_http_opts opts = { .url = url, .timeout_ms = 10000, .dropped = on_dropped };
	for (int i = 0; i < k.n; i++)
		cr_assert_eq(rg_http_get(k.h, &opts, on_done, &o, &k.reqs[i], &err), RG_OK);
	uv_timer_t t;
	cr_assert_eq(uv_timer_init(&loop, &t), 0);
	t.data = &k;
	cr_assert_eq(uv_timer_start(&t, on_cancel_timer, 200, 0), 0);
	uint64_t t0 = uv_hrtime();
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_lt((uv_hrtime() - t0) / 1000000u, 5000);
	cr_assert_eq(o.calls, 0, "no callback after cancel");
	if (free_client) {
		cr_assert_eq(o.dropped, 4, "rg_http_free drops what is in flight");
		cr_assert_eq(k.freed, 1);
		cr_assert_eq(uv_loop_close(&loop), 0, "handles left on the loop");
	} else {
		cr_assert_eq(o.dropped, 0, "a cancel is the caller's own: no dropped hook");
		finish(&loop, k.h);
	}
}

Test(httpc, cancel_in_flight)
{
	cancel_scenario(false);
}

Test(httpc, free_with_requests_in_flight)
{
	cancel_scenario(true);
}

Test(httpc, cancel_before_the_loop_runs)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	rg_http *h;
	rg_error err;
	cr_assert_eq(rg_http_new(&loop, &h, &err), RG_OK);
	char url[128];
	url_of("/ok", url, sizeof url);
	outcome o = { 0 };
	rg_http_req *r;
	rg_http_opts opts = { .url = url };
	cr_assert_eq(rg_http_get(h, &opts, on_done, &o, &r, &err), RG_OK);
	rg_http_cancel(r);
	rg_http_cancel(NULL);   /* a no-op */
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(o.calls, 0);
	finish(&loop, h);
}

typedef struct freer {
	rg_http *h;
	int calls;
	int freed;
	outcome hang;
} freer;

static void on_done_then_free(const rg_http_result *res, void *ctx)
{
	freer *f = ctx;
	f->calls++;
	rg_http_free(f->h, on_freed, &f->freed);
	rg_http_free(f->h, on_freed, &f->freed);   /* twice is harmless */
}

Test(httpc, free_from_inside_done)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	freer f = { 0 };
	rg_error err;
	cr_assert_eq(rg_http_new(&loop, &f.h, &err), RG_OK);
	char ok[128], hang[128];
	url_of("/ok", ok, sizeof ok);
	url_of("/hang", hang, sizeof hang);
	rg_http_opts a = { .url = ok };
	rg_http_opts b = { .url = hang, .dropped = on_dropped };
	cr_assert_eq(rg_http_get(f.h, &a, on_done_then_free, &f, NULL, &err), RG_OK);
	cr_assert_eq(rg_http_get(f.h, &b, on_done, &f.hang, NULL, &err), RG_OK);
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(f.calls, 1);
	cr_assert_eq(f.hang.calls, 0);
	cr_assert_eq(f.hang.dropped, 1);
	cr_assert_eq(f.freed, 1);
	cr_assert_eq(uv_loop_close(&loop), 0, "handles left on the loop");
}

Test(httpc, free_with_a_cached_connection)
{
	outcome o = fetch("/keep", 0, 0);   /* finish() frees with the connection cached */
	cr_assert_eq(o.res.rc, RG_OK, "%s", o.res.message);
	cr_assert_str_eq(o.res.body, "ok");
	free(o.body);
}

Test(httpc, free_idle_client)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	rg_http *h;
	rg_error err;
	cr_assert_eq(rg_http_new(&loop, &h, &err), RG_OK);
	rg_http_free(h, NULL, NULL);
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(uv_loop_close(&loop), 0);
}
