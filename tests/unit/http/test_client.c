/* test_client.c — http/client.c against a real HTTP server on 127.0.0.1
 * (support/http_server.h): status and body, the body limit, headers, no
 * proxy, timeouts, refused connections, cancel, many requests at once, and
 * freeing the client with requests in flight. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/client.h"

#include "../support/loop.h"
#include "../support/http_server.h"

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
	loop_finish_http(&loop, h);
	return o;
}

static outcome fetch(const char *path, int64_t timeout_ms, size_t body_limit)
{
	char url[128];
	http_server_url(path, url, sizeof url);
	rg_http_opts opts = { .url = url, .timeout_ms = timeout_ms, .body_limit = body_limit };
	return fetch_opts(&opts);
}

TestSuite(httpc, .init = http_server_start, .fini = http_server_stop, .timeout = 30);

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
	cr_assert_eq(http_server_requests(), 1, "only the first request was made");
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
	http_server_url("/echo", url, sizeof url);
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
	int port;
	close(http_listen_loopback(&port));   /* nothing listens there now */
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
	int port;
	close(http_listen_loopback(&port));
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
	loop_finish_http(&loop, h);
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
	http_server_url("/slow", url, sizeof url);
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
	cr_assert_eq(http_server_requests(), MANY);
	loop_finish_http(&loop, h);
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
	http_server_url("/ok", c.url, sizeof c.url);
	rg_http_opts opts = { .url = c.url };
	cr_assert_eq(rg_http_get(c.h, &opts, on_chain, &c, NULL, &err), RG_OK);
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(c.calls, 3);
	loop_finish_http(&loop, c.h);
}

/* ---- cancel and free ------------------------------------------------------ */

typedef struct canceller {
	rg_http *h;
	rg_http_req *reqs[4];
	int n;
	bool free_client;
	int freed;
} canceller;

static void cancel_or_free(void *arg)
{
	canceller *k = arg;
	if (k->free_client)
		rg_http_free(k->h, loop_count_freed, &k->freed);
	else
		for (int i = 0; i < k->n; i++)
			rg_http_cancel(k->reqs[i]);
}

static void cancel_scenario(bool free_client)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	canceller k = { .free_client = free_client, .n = 4 };
	rg_error err;
	cr_assert_eq(rg_http_new(&loop, &k.h, &err), RG_OK);
	char url[128];
	http_server_url("/hang", url, sizeof url);
	outcome o = { 0 };
	rg_http_opts opts = { .url = url, .timeout_ms = 10000, .dropped = on_dropped };
	for (int i = 0; i < k.n; i++)
		cr_assert_eq(rg_http_get(k.h, &opts, on_done, &o, &k.reqs[i], &err), RG_OK);
	loop_run_firing(&loop, 200, cancel_or_free, &k);
	cr_assert_eq(o.calls, 0, "no callback after cancel");
	if (free_client) {
		cr_assert_eq(o.dropped, 4, "rg_http_free drops what is in flight");
		cr_assert_eq(k.freed, 1);
		cr_assert_eq(uv_loop_close(&loop), 0, "handles left on the loop");
	} else {
		cr_assert_eq(o.dropped, 0, "a cancel is the caller's own: no dropped hook");
		loop_finish_http(&loop, k.h);
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
	http_server_url("/ok", url, sizeof url);
	outcome o = { 0 };
	rg_http_req *r;
	rg_http_opts opts = { .url = url };
	cr_assert_eq(rg_http_get(h, &opts, on_done, &o, &r, &err), RG_OK);
	rg_http_cancel(r);
	rg_http_cancel(NULL);   /* a no-op */
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(o.calls, 0);
	loop_finish_http(&loop, h);
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
	rg_http_free(f->h, loop_count_freed, &f->freed);
	rg_http_free(f->h, loop_count_freed, &f->freed);   /* twice is harmless */
}

Test(httpc, free_from_inside_done)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	freer f = { 0 };
	rg_error err;
	cr_assert_eq(rg_http_new(&loop, &f.h, &err), RG_OK);
	char ok[128], hang[128];
	http_server_url("/ok", ok, sizeof ok);
	http_server_url("/hang", hang, sizeof hang);
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
	outcome o = fetch("/keep", 0, 0);   /* loop_finish_http frees with the connection cached */
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
