/* test_checks.c — engine/checks.c against a real HTTP server on 127.0.0.1
 * (support/http_server.h) and real child processes: status, contains,
 * refused, timeouts, command checks, cancel and free with checks in flight. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/checks.h"

#include "../support/http_server.h"
#include "../support/loop.h"

/* ---- running checks on a loop --------------------------------------------- */

typedef struct outcome {
	int calls;
	rg_check_result res;
	const rg_check *check;
} outcome;

static void on_check(const rg_check *check, const rg_check_result *res, void *ctx)
{
	outcome *o = ctx;
	o->calls++;
	o->res = *res;
	o->check = check;
}

/* Frees the checker, runs the loop dry and proves nothing was left on it. */
static void finish(uv_loop_t *loop, rg_checker *c)
{
	int freed = 0;
	rg_checker_free(c, loop_count_freed, &freed);
	cr_assert_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(freed, 1);
	cr_assert_eq(uv_loop_close(loop), 0, "handles left on the loop");
}

static outcome run_check(const rg_check *k, char **env)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	rg_checker *c = NULL;
	rg_error err = { 0 };
	cr_assert_eq(rg_checker_new(&loop, &c, &err), RG_OK, "%s", err.message);
	outcome o = { 0 };
	rg_check_run *r = NULL;
	cr_assert_eq(rg_check_start(c, k, "/tmp", env, on_check, &o, &r, &err), RG_OK, "%s",
		     err.message);
	cr_assert_not_null(r);
	cr_assert_eq(o.calls, 0, "done must never fire inside rg_check_start");
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(o.calls, 1);
	cr_assert_eq(o.check, k);
	finish(&loop, c);
	return o;
}

static rg_check http_check(const char *path, int status, const char *contains,
			   int64_t timeout_ms, char *url_buf, size_t size)
{
	http_server_url(path, url_buf, size);
	return (rg_check){ .name = "health", .kind = RG_CHECK_HTTP, .url = url_buf,
			   .expect_status = status, .contains = (char *)contains,
			   .timeout_ms = timeout_ms };
}

TestSuite(checks_http, .init = http_server_start, .fini = http_server_stop, .timeout = 20);

Test(checks_http, ok)
{
	char url[128], want[160];
	rg_check k = http_check("/ok", 0, NULL, 0, url, sizeof url);
	outcome o = run_check(&k, NULL);
	cr_assert(o.res.ok, "%s", o.res.detail);
	snprintf(want, sizeof want, "HTTP 200 from %s", url);
	cr_assert_str_eq(o.res.detail, want);
	cr_assert_geq(o.res.duration_ms, 0);
}

Test(checks_http, wrong_status)
{
	char url[128], want[160];
	rg_check k = http_check("/fail", 200, NULL, 0, url, sizeof url);
	outcome o = run_check(&k, NULL);
	cr_assert(!o.res.ok);
	snprintf(want, sizeof want, "HTTP 503 from %s", url);
	cr_assert_str_eq(o.res.detail, want);
}

Test(checks_http, expected_non_200)
{
	char url[128];
	rg_check k = http_check("/fail", 503, NULL, 0, url, sizeof url);
	outcome o = run_check(&k, NULL);
	cr_assert(o.res.ok, "%s", o.res.detail);
}

Test(checks_http, redirect_not_followed)
{
	char url[128], want[160];
	rg_check k = http_check("/redirect", 200, NULL, 0, url, sizeof url);
	outcome o = run_check(&k, NULL);
	cr_assert(!o.res.ok);
	snprintf(want, sizeof want, "HTTP 302 from %s", url);
	cr_assert_str_eq(o.res.detail, want);
}

Test(checks_http, contains)
{
	char url[128];
	rg_check k = http_check("/ok", 200, "all ok", 0, url, sizeof url);
	outcome o = run_check(&k, NULL);
	cr_assert(o.res.ok, "%s", o.res.detail);

	k = http_check("/ok", 200, "ready", 0, url, sizeof url);
	o = run_check(&k, NULL);
	cr_assert(!o.res.ok);
	cr_assert_str_eq(o.res.detail, "body does not contain 'ready'");
}

Test(checks_http, body_kept_to_64k)
{
	char url[128];
	rg_check k = http_check("/big", 200, "needle", 0, url, sizeof url);
	outcome o = run_check(&k, NULL);
	cr_assert(!o.res.ok, "the needle is past 64 KiB");
	cr_assert_str_eq(o.res.detail, "body does not contain 'needle'");

	k = http_check("/big", 200, "xxxx", 0, url, sizeof url);
	o = run_check(&k, NULL);
	cr_assert(o.res.ok, "%s", o.res.detail);

	k = http_check("/big", 200, NULL, 0, url, sizeof url);
	o = run_check(&k, NULL);
	cr_assert(o.res.ok, "%s", o.res.detail);
}

Test(checks_http, refused)
{
	int port;
	close(http_listen_loopback(&port));   /* nothing listens there now */
	char url[128], want[160];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/health", port);
	rg_check k = { .name = "h", .kind = RG_CHECK_HTTP, .url = url };
	outcome o = run_check(&k, NULL);
	cr_assert(!o.res.ok);
	snprintf(want, sizeof want, "connection refused: %s", url);
	cr_assert_str_eq(o.res.detail, want);
}

Test(checks_http, timeout)
{
	char url[128];
	rg_check k = http_check("/hang", 200, NULL, 300, url, sizeof url);
	outcome o = run_check(&k, NULL);
	cr_assert(!o.res.ok);
	cr_assert_str_eq(o.res.detail, "timed out after 300ms");
	cr_assert_geq(o.res.duration_ms, 250);
	cr_assert_lt(o.res.duration_ms, 3000);
}

Test(checks_http, credentials_never_in_detail)
{
	char url[160];
	snprintf(url, sizeof url, "http://user:s3cret@127.0.0.1:%d/fail", http_server_port());
	rg_check k = { .name = "h", .kind = RG_CHECK_HTTP, .url = url };
	outcome o = run_check(&k, NULL);
	cr_assert(!o.res.ok);
	cr_assert_null(strstr(o.res.detail, "s3cret"), "%s", o.res.detail);
	char want[160];
	snprintf(want, sizeof want, "HTTP 503 from http://127.0.0.1:%d/fail", http_server_port());
	cr_assert_str_eq(o.res.detail, want);
}

Test(checks_http, only_http_and_https)
{
	rg_check k = { .name = "h", .kind = RG_CHECK_HTTP, .url = "file:///etc/hostname" };
	outcome o = run_check(&k, NULL);
	cr_assert(!o.res.ok);
	cr_assert(strstr(o.res.detail, "file:///etc/hostname"), "%s", o.res.detail);
}

Test(checks_http, free_with_a_cached_connection)
{
	char url[128];
	rg_check k = http_check("/keep", 200, "ok", 0, url, sizeof url);
	outcome o = run_check(&k, NULL);   /* finish() frees with the connection cached */
	cr_assert(o.res.ok, "%s", o.res.detail);
}

Test(checks_http, many_at_once)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	rg_checker *c;
	rg_error err;
	cr_assert_eq(rg_checker_new(&loop, &c, &err), RG_OK);
	char urls[6][128];
	rg_check ks[6];
	outcome os[6] = { 0 };
	for (int i = 0; i < 6; i++) {
		ks[i] = http_check(i % 2 ? "/ok" : "/fail", 200, NULL, 0, urls[i], sizeof urls[i]);
		cr_assert_eq(rg_check_start(c, &ks[i], NULL, NULL, on_check, &os[i], NULL, &err),
			     RG_OK);
	}
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	for (int i = 0; i < 6; i++) {
		cr_assert_eq(os[i].calls, 1);
		cr_assert_eq(os[i].res.ok, i % 2 == 1, "%d: %s", i, os[i].res.detail);
	}
	finish(&loop, c);
}

/* ---- cancel and free ------------------------------------------------------ */

typedef struct canceller {
	rg_checker *c;
	rg_check_run *runs[4];
	int n;
	bool free_checker;
	int freed;
} canceller;

static void cancel_or_free(void *arg)
{
	canceller *k = arg;
	if (k->free_checker)
		rg_checker_free(k->c, loop_count_freed, &k->freed);
	else
		for (int i = 0; i < k->n; i++)
			rg_check_cancel(k->runs[i]);
}

static void cancel_scenario(bool free_checker)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	canceller k = { .free_checker = free_checker };
	rg_error err;
	cr_assert_eq(rg_checker_new(&loop, &k.c, &err), RG_OK);
	char url[128];
	rg_check hang = http_check("/hang", 200, NULL, 10000, url, sizeof url);
	rg_check slow = { .name = "slow", .kind = RG_CHECK_COMMAND, .run = "sleep 30",
			  .timeout_ms = 60000 };
	char *env[] = { "PATH=/usr/bin:/bin", NULL };
	outcome o = { 0 };
	cr_assert_eq(rg_check_start(k.c, &hang, NULL, NULL, on_check, &o, &k.runs[0], &err),
		     RG_OK);
	cr_assert_eq(rg_check_start(k.c, &slow, "/tmp", env, on_check, &o, &k.runs[1], &err),
		     RG_OK);
	k.n = 2;
	loop_run_firing(&loop, 200, cancel_or_free, &k);
	cr_assert_eq(o.calls, 0, "no callback after cancel");
	if (free_checker) {
		cr_assert_eq(k.freed, 1);
		cr_assert_eq(uv_loop_close(&loop), 0);
	} else {
		finish(&loop, k.c);
	}
}

Test(checks_cancel, cancel_in_flight, .init = http_server_start, .fini = http_server_stop,
     .timeout = 20)
{
	cancel_scenario(false);
}

Test(checks_cancel, free_with_checks_in_flight, .init = http_server_start, .fini = http_server_stop,
     .timeout = 20)
{
	cancel_scenario(true);
}

static void on_check_then_free(const rg_check *check, const rg_check_result *res, void *ctx)
{
	canceller *k = ctx;
	k->n++;
	rg_checker_free(k->c, loop_count_freed, &k->freed);
}

Test(checks_cancel, free_from_inside_done, .init = http_server_start, .fini = http_server_stop,
     .timeout = 20)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	canceller k = { 0 };
	rg_error err;
	cr_assert_eq(rg_checker_new(&loop, &k.c, &err), RG_OK);
	char url1[128], url2[128];
	rg_check a = http_check("/ok", 200, NULL, 0, url1, sizeof url1);
	rg_check b = http_check("/hang", 200, NULL, 10000, url2, sizeof url2);
	cr_assert_eq(rg_check_start(k.c, &a, NULL, NULL, on_check_then_free, &k, NULL, &err),
		     RG_OK);
	cr_assert_eq(rg_check_start(k.c, &b, NULL, NULL, on_check_then_free, &k, NULL, &err),
		     RG_OK);
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(k.n, 1, "the hanging check was cancelled by the free");
	cr_assert_eq(k.freed, 1);
	cr_assert_eq(uv_loop_close(&loop), 0);
}

Test(checks_cancel, free_idle_checker)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	rg_checker *c;
	rg_error err;
	cr_assert_eq(rg_checker_new(&loop, &c, &err), RG_OK);
	rg_checker_free(c, NULL, NULL);
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(uv_loop_close(&loop), 0);
}

/* ---- command checks ------------------------------------------------------- */

static outcome run_command(const char *cmd, int64_t timeout_ms)
{
	rg_check k = { .name = "cmd", .kind = RG_CHECK_COMMAND, .run = (char *)cmd,
		       .timeout_ms = timeout_ms };
	char *env[] = { "PATH=/usr/bin:/bin", "FOO=bar", NULL };
	return run_check(&k, env);
}

Test(checks_command, ok_and_failing, .timeout = 20)
{
	outcome o = run_command("echo fine", 0);
	cr_assert(o.res.ok);
	cr_assert_str_eq(o.res.detail, "exit 0: fine");

	o = run_command("true", 0);
	cr_assert(o.res.ok);
	cr_assert_str_eq(o.res.detail, "exit 0");

	o = run_command("echo first; echo 'login failed: 401' >&2; echo; exit 1", 0);
	cr_assert(!o.res.ok);
	cr_assert_str_eq(o.res.detail, "exit 1: login failed: 401");
}

Test(checks_command, env_and_cwd, .timeout = 20)
{
	outcome o = run_command("test \"$FOO\" = bar && test \"$(pwd)\" = /tmp", 0);
	cr_assert(o.res.ok, "%s", o.res.detail);
}

Test(checks_command, timeout, .timeout = 20)
{
	outcome o = run_command("echo starting; sleep 30", 300);
	cr_assert(!o.res.ok);
	cr_assert_str_eq(o.res.detail, "timed out after 300ms: starting");
	cr_assert_lt(o.res.duration_ms, 5000);
}

Test(checks_command, last_line_is_bounded, .timeout = 20)
{
	outcome o = run_command("printf 'x%.0s' $(seq 1 500); printf '\\tend'; exit 2", 0);
	cr_assert(!o.res.ok);
	cr_assert_eq(strncmp(o.res.detail, "exit 2: xxx", 11), 0, "%s", o.res.detail);
	cr_assert_eq(strlen(o.res.detail), strlen("exit 2: ") + 200);
	cr_assert_null(strchr(o.res.detail, '\t'));
}

Test(checks_command, bad_cwd_fails_to_start)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	rg_checker *c;
	rg_error err;
	cr_assert_eq(rg_checker_new(&loop, &c, &err), RG_OK);
	rg_check k = { .name = "cmd", .kind = RG_CHECK_COMMAND, .run = "true" };
	outcome o = { 0 };
	cr_assert_eq(rg_check_start(c, &k, "/nonexistent/rg", NULL, on_check, &o, NULL, &err),
		     RG_EIO);
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(o.calls, 0);
	finish(&loop, c);
}
