/* test_prometheus.c — analysis/prometheus.c: the reading of /api/v1/query
 * answers as Prometheus writes them, queries that time out, are refused or
 * cancelled, and queries against a real Prometheus (Debian's package)
 * scraping a real demo-app. That last suite fails, never skips, when
 * prometheus is not installed: install it with scripts/install-deps.sh. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "analysis/prometheus.h"

#include "../support/loop.h"
#include "../support/http_server.h"

/* ---- rg_prom_parse -------------------------------------------------------- */

typedef struct parsed {
	bool has;
	double value;
	char why[256];
} parsed;

static parsed parse(const char *body)
{
	parsed p = { .value = -12345 };
	p.has = rg_prom_parse(body, strlen(body), &p.value, p.why, sizeof p.why);
	return p;
}

static void assert_no_data(const char *body, const char *why)
{
	parsed p = parse(body);
	cr_assert(!p.has, "%s", body);
	cr_assert_str_eq(p.why, why);
	cr_assert_eq(p.value, -12345, "value untouched without data");
}

TestSuite(prometheus_parse);

Test(prometheus_parse, vector_with_one_sample)
{
	parsed p = parse("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
			 "[{\"metric\":{},\"value\":[1795442728.787,\"9\"]}]}}");
	cr_assert(p.has, "%s", p.why);
	cr_assert_eq(p.value, 9.0);
	cr_assert_str_eq(p.why, "");

	p = parse("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
		  "[{\"metric\":{\"__name__\":\"demo_requests_total\",\"code\":\"500\","
		  "\"instance\":\"127.0.0.1:38005\",\"job\":\"demo\"},"
		  "\"value\":[1795442728.823,\"0.012345\"]}]}}");
	cr_assert(p.has, "%s", p.why);
	cr_assert_float_eq(p.value, 0.012345, 1e-12);

	p = parse("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
		  "[{\"metric\":{},\"value\":[1795442728,\"1e+06\"]}]},"
		  "\"warnings\":[\"PromQL info: metric might not be a counter\"]}");
	cr_assert(p.has, "%s", p.why);
	cr_assert_eq(p.value, 1e6);
}

Test(prometheus_parse, vector_with_no_sample)
{
	assert_no_data("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}",
		       "no sample");
}

Test(prometheus_parse, vector_with_several_series)
{
	assert_no_data("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
		       "{\"metric\":{\"code\":\"200\"},\"value\":[1795442728.823,\"11\"]},"
		       "{\"metric\":{\"code\":\"500\"},\"value\":[1795442728.823,\"9\"]},"
		       "{\"metric\":{\"code\":\"503\"},\"value\":[1795442728.823,\"1\"]}]}}",
		       "3 series (the query must give one)");
}

Test(prometheus_parse, scalar)
{
	parsed p = parse("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
			 "\"result\":[1795442728.812,\"0.25\"]}}");
	cr_assert(p.has, "%s", p.why);
	cr_assert_eq(p.value, 0.25);

	p = parse("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
		  "\"result\":[1795442728.812,\"-3\"]}}");
	cr_assert(p.has);
	cr_assert_eq(p.value, -3.0);
}

Test(prometheus_parse, nan_is_no_data)
{
	assert_no_data("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
		       "\"result\":[1795442728.812,\"NaN\"]}}",
		       "sample is NaN");
	assert_no_data("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
		       "[{\"metric\":{},\"value\":[1795442728.787,\"NaN\"]}]}}",
		       "sample is NaN");
}

Test(prometheus_parse, infinities_are_values)
{
	parsed p = parse("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
			 "[{\"metric\":{},\"value\":[1795442728.787,\"+Inf\"]}]}}");
	cr_assert(p.has, "%s", p.why);
	cr_assert(isinf(p.value) && p.value > 0);

	p = parse("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
		  "\"result\":[1795442728.812,\"-Inf\"]}}");
	cr_assert(p.has, "%s", p.why);
	cr_assert(isinf(p.value) && p.value < 0);
}

Test(prometheus_parse, error_answers)
{
	assert_no_data("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid "
		       "parameter \\\"query\\\": 1:5: parse error: unclosed left parenthesis\"}",
		       "query failed: bad_data: invalid parameter \"query\": 1:5: parse error: "
		       "unclosed left parenthesis");
	assert_no_data("{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":\"query timed "
		       "out in expression evaluation\"}",
		       "query failed: timeout: query timed out in expression evaluation");
	assert_no_data("{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"found "
		       "duplicate series for the match group\\nsecond line\"}",
		       "query failed: execution: found duplicate series for the match group?"
		       "second line");
	assert_no_data("{\"status\":\"error\",\"error\":\"something\"}", "query failed: something");
	assert_no_data("{\"status\":\"error\"}", "query failed: no reason given");
}

Test(prometheus_parse, other_result_types)
{
	assert_no_data("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":"
		       "[{\"metric\":{},\"values\":[[1795442728,\"1\"],[1795442729,\"2\"]]}]}}",
		       "result type 'matrix' (the query must give one sample)");
	assert_no_data("{\"status\":\"success\",\"data\":{\"resultType\":\"string\","
		       "\"result\":[1795442728.812,\"hello\"]}}",
		       "result type 'string' (the query must give one sample)");
	assert_no_data("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
		       "[{\"metric\":{},\"histogram\":[1795442728,{\"count\":\"3\",\"sum\":\"1\"}]}]}}",
		       "sample is a native histogram (the query must give a number)");
}

Test(prometheus_parse, malformed_answers)
{
	parsed p = parse("404 page not found\n");
	cr_assert(!p.has);
	cr_assert_eq(strncmp(p.why, "answer is not JSON: ", 20), 0, "%s", p.why);
	p = parse("");
	cr_assert(!p.has);
	cr_assert_eq(strncmp(p.why, "answer is not JSON: ", 20), 0, "%s", p.why);

	assert_no_data("{}", "answer is not a Prometheus query result");
	assert_no_data("[1,2]", "answer is not a Prometheus query result");
	assert_no_data("{\"status\":\"success\"}", "answer is not a Prometheus query result");
	assert_no_data("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\"}}",
		       "answer is not a Prometheus query result");
	assert_no_data("{\"status\":\"pending\"}", "answer has status 'pending'");
	assert_no_data("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
		       "[{\"metric\":{},\"value\":[1795442728.787,\"12abc\"]}]}}",
		       "sample value '12abc' is not a number");
	assert_no_data("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
		       "[{\"metric\":{},\"value\":[1795442728.787,\"\"]}]}}",
		       "sample value '' is not a number");
	assert_no_data("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
		       "[{\"metric\":{},\"value\":[1795442728.787,9]}]}}",
		       "malformed sample in the answer");
	assert_no_data("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
		       "[{\"metric\":{}}]}}",
		       "malformed sample in the answer");
	assert_no_data("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
		       "\"result\":[\"1\"]}}",
		       "malformed sample in the answer");
	assert_no_data("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
		       "\"result\":{}}}",
		       "malformed vector in the answer");
}

Test(prometheus_parse, why_is_optional_and_bounded)
{
	double v = 0;
	const char *ok = "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
			 "\"result\":[1,\"2\"]}}";
	cr_assert(rg_prom_parse(ok, strlen(ok), &v, NULL, 0));
	cr_assert_eq(v, 2.0);
	cr_assert(!rg_prom_parse("{}", 2, &v, NULL, 0));
	char small[8];
	cr_assert(!rg_prom_parse("{}", 2, &v, small, sizeof small));
	cr_assert_eq(strlen(small), sizeof small - 1);
	/* only len bytes are read */
	cr_assert(rg_prom_parse(ok, strlen(ok), &v, small, sizeof small));
	cr_assert(!rg_prom_parse(ok, strlen(ok) - 1, &v, small, sizeof small));
}

/* ---- queries on a loop ---------------------------------------------------- */

typedef struct answer {
	int calls;
	bool has;
	double value;
	char why[512];
} answer;

static void on_answer(void *ctx, bool has, double value, const char *why)
{
	answer *a = ctx;
	a->calls++;
	a->has = has;
	a->value = value;
	cr_assert_not_null(why);
	snprintf(a->why, sizeof a->why, "%s", why);
}

static answer query_once(const char *server, const char *query, int64_t timeout_ms)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	rg_http *h;
	rg_error err;
	cr_assert_eq(rg_http_new(&loop, &h, &err), RG_OK, "%s", err.message);
	answer a = { 0 };
	rg_prom_query *q = NULL;
	cr_assert_eq(rg_prom_query_start(h, server, query, timeout_ms, on_answer, &a, &q, &err),
		     RG_OK, "%s", err.message);
	cr_assert_not_null(q);
	cr_assert_eq(a.calls, 0, "done must never fire inside rg_prom_query_start");
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(a.calls, 1);
	loop_finish_http(&loop, h);
	return a;
}

TestSuite(prometheus_query, .timeout = 20);

Test(prometheus_query, timeout_is_no_data)
{
	int port;
	int fd = http_listen_loopback(&port);   /* accepts nothing: never answers */
	char server[64];
	snprintf(server, sizeof server, "http://127.0.0.1:%d", port);
	answer a = query_once(server, "up", 300);
	cr_assert(!a.has);
	cr_assert_str_eq(a.why, "timed out after 300ms");
	close(fd);
}

Test(prometheus_query, refused_is_no_data)
{
	int port;
	close(http_listen_loopback(&port));   /* nothing listens there now */
	char server[64];
	snprintf(server, sizeof server, "http://127.0.0.1:%d", port);
	answer a = query_once(server, "up", 0);
	cr_assert(!a.has);
	cr_assert_str_eq(a.why, "query failed: connection refused");
}

static void cancel_or_free(bool free_client)
{
	int port;
	int fd = http_listen_loopback(&port);   /* accepts nothing: never answers */
	char server[64];
	snprintf(server, sizeof server, "http://127.0.0.1:%d", port);
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	rg_http *h;
	rg_error err;
	cr_assert_eq(rg_http_new(&loop, &h, &err), RG_OK);
	answer a = { 0 };
	rg_prom_query *q;
	cr_assert_eq(rg_prom_query_start(h, server, "up", 10000, on_answer, &a, &q, &err), RG_OK);
	/* let the request go out before it is cancelled */
	for (int i = 0; i < 5; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	if (free_client) {
		int freed = 0;
		rg_http_free(h, loop_count_freed, &freed);   /* the query's memory goes with it */
		cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
		cr_assert_eq(freed, 1);
		cr_assert_eq(uv_loop_close(&loop), 0);
	} else {
		rg_prom_query_cancel(q);
		rg_prom_query_cancel(NULL);
		cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
		loop_finish_http(&loop, h);
	}
	cr_assert_eq(a.calls, 0, "no callback after cancel");
	close(fd);
}

Test(prometheus_query, cancel)
{
	cancel_or_free(false);
}

Test(prometheus_query, free_the_client_with_a_query_in_flight)
{
	cancel_or_free(true);
}

Test(prometheus_query, bad_arguments)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	rg_http *h;
	rg_error err;
	cr_assert_eq(rg_http_new(&loop, &h, &err), RG_OK);
	answer a = { 0 };
	cr_assert_eq(rg_prom_query_start(h, "http://127.0.0.1:1", "", 0, on_answer, &a, NULL, &err),
		     RG_EINVAL);
	cr_assert_eq(rg_prom_query_start(h, NULL, "up", 0, on_answer, &a, NULL, &err), RG_EINVAL);
	cr_assert_eq(rg_prom_query_start(h, "http://127.0.0.1:1", "up", 0, NULL, &a, NULL, &err),
		     RG_EINVAL);
	loop_finish_http(&loop, h);
	cr_assert_eq(a.calls, 0);
}

/* ---- a real Prometheus scraping a real demo-app --------------------------- */

#define DEMO_REQUESTS 40

static struct {
	char dir[64];
	pid_t demo, prom;
	int demo_port, prom_port;
	int n500;        /* how many of our requests the demo-app failed */
} env;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The child dies with the test process, even if the test crashes. */
static pid_t spawn(char *const argv[], const char *log)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void stop(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	for (int i = 0; i < 100; i++) {   /* 5 s, then no more asking */
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = 0;
			return;
		}
		usleep(50 * 1000);
	}
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void read_file(const char *path, char *buf, size_t size)
{
	buf[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	size_t n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* A blocking GET for the test's own use: status, and the body into buf. */
static int get(int port, const char *path, char *buf, size_t size)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	char req[512];
	int n = snprintf(req, sizeof req,
			 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		close(fd);
		return -1;
	}
	char resp[16384];
	size_t got = 0;
	ssize_t r;
	while (got < sizeof resp - 1 && (r = recv(fd, resp + got, sizeof resp - 1 - got, 0)) > 0)
		got += (size_t)r;
	resp[got] = '\0';
	close(fd);
	int status = -1;
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	const char *body = strstr(resp, "\r\n\r\n");
	snprintf(buf, size, "%s", body ? body + 4 : "");
	return status;
}

static int free_port(void)
{
	int port;
	close(http_listen_loopback(&port));
	return port;
}

/* The demo-app next to this binary (build/asan/unit-tests → build/demo-app),
 * or $DEMO_APP. */
static void demo_app_path(char *out, size_t size)
{
	const char *e = getenv("DEMO_APP");
	if (e && *e) {
		snprintf(out, size, "%s", e);
		return;
	}
	char exe[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	cr_assert_gt(n, 0);
	exe[n] = '\0';
	char *build = dirname(dirname(exe));
	snprintf(out, size, "%s/demo-app", build);
}

static void start_demo_app(void)
{
	char bin[600], log[128], out[512];
	demo_app_path(bin, sizeof bin);
	cr_assert_eq(access(bin, X_OK), 0, "no demo-app at %s (make build/demo-app)", bin);
	snprintf(log, sizeof log, "%s/demo-app.log", env.dir);
	char *argv[] = { bin, "--listen", "127.0.0.1:0", "--error-rate", "0.5", "--seed", "7",
			 NULL };
	env.demo = spawn(argv, log);
	for (int64_t t0 = now_ms(); now_ms() - t0 < 10000; usleep(20 * 1000)) {
		read_file(log, out, sizeof out);
		const char *at = strstr(out, "listening on 127.0.0.1:");
		if (at && sscanf(at, "listening on 127.0.0.1:%d", &env.demo_port) == 1)
			return;
	}
	cr_assert_fail("demo-app did not start: %s", out);
}

/* Answers before Prometheus starts, so its first scrape holds them all. */
static void send_demo_requests(void)
{
	char body[256];
	int n200 = 0;
	for (int i = 0; i < DEMO_REQUESTS; i++) {
		int status = get(env.demo_port, "/", body, sizeof body);
		n200 += status == 200;
		env.n500 += status == 500;
	}
	cr_assert_eq(n200 + env.n500, DEMO_REQUESTS);
	cr_assert_gt(env.n500, 0, "--error-rate 0.5 gave no 500 in %d requests", DEMO_REQUESTS);
	cr_assert_gt(n200, 0);
}

static void start_prometheus(void)
{
	const char *bin = getenv("RG_PROMETHEUS");
	if (!bin || !*bin)
		bin = "/usr/bin/prometheus";
	cr_assert_eq(access(bin, X_OK), 0,
		     "%s is not installed: this test needs a real Prometheus "
		     "(bash scripts/install-deps.sh, Debian package prometheus)", bin);
	char config[128], data[128], log[128], flag_config[160], flag_data[160], flag_listen[64];
	snprintf(config, sizeof config, "%s/prometheus.yml", env.dir);
	snprintf(data, sizeof data, "%s/data", env.dir);
	snprintf(log, sizeof log, "%s/prometheus.log", env.dir);
	FILE *f = fopen(config, "w");
	cr_assert_not_null(f);
	fprintf(f, "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
		   "scrape_configs:\n  - job_name: demo\n    static_configs:\n"
		   "      - targets: ['127.0.0.1:%d']\n", env.demo_port);
	fclose(f);
	env.prom_port = free_port();
	snprintf(flag_config, sizeof flag_config, "--config.file=%s", config);
	snprintf(flag_data, sizeof flag_data, "--storage.tsdb.path=%s", data);
	snprintf(flag_listen, sizeof flag_listen, "--web.listen-address=127.0.0.1:%d",
		 env.prom_port);
	char *argv[] = { (char *)bin, flag_config, flag_data, flag_listen, NULL };
	env.prom = spawn(argv, log);
}

/* Until Prometheus answers and has scraped the demo-app once. */
static void wait_for_first_scrape(void)
{
	char body[4096], out[2048];
	for (int64_t t0 = now_ms(); now_ms() - t0 < 40000; usleep(200 * 1000)) {
		cr_assert_eq(waitpid(env.prom, NULL, WNOHANG), 0, "prometheus exited");
		int status = get(env.prom_port,
				 "/api/v1/query?query=sum(demo_requests_total%7Bcode%3D%22500%22%7D)",
				 body, sizeof body);
		if (status == 200 && strstr(body, "\"result\":[{"))
			return;
	}
	char log[160];
	snprintf(log, sizeof log, "%s/prometheus.log", env.dir);
	read_file(log, out, sizeof out);
	cr_assert_fail("prometheus never scraped the demo-app; its log:\n%s", out);
}

static void server_up(void)
{
	snprintf(env.dir, sizeof env.dir, "/tmp/rg-prom-XXXXXX");
	cr_assert_not_null(mkdtemp(env.dir));
	start_demo_app();
	send_demo_requests();
	start_prometheus();
	wait_for_first_scrape();
}

static void server_down(void)
{
	stop(&env.prom);
	stop(&env.demo);
	if (env.dir[0])
		nftw(env.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Started from the test body, not .init: Criterion skips .fini after a
 * failed .init, and the cleanup must run whatever failed. */
TestSuite(prometheus_server, .fini = server_down, .timeout = 90);

typedef struct case_ {
	const char *query;
	const char *server;   /* NULL: the test's Prometheus */
	answer a;
} case_;

Test(prometheus_server, queries)
{
	server_up();
	char server[64], with_slash[64], wrong_path[64];
	snprintf(server, sizeof server, "http://127.0.0.1:%d", env.prom_port);
	snprintf(with_slash, sizeof with_slash, "%s/", server);
	snprintf(wrong_path, sizeof wrong_path, "%s/nope", server);
	case_ cs[] = {
		{ .query = "sum(demo_requests_total{code=\"500\"})" },
		{ .query = "sum(demo_requests_total{code=\"500\"}) / sum(demo_requests_total)" },
		{ .query = "histogram_quantile(0.95, sum by (le) (demo_request_duration_seconds_bucket))" },
		{ .query = "demo_requests_total" },
		{ .query = "demo_requests_total{code=\"418\"}" },
		{ .query = "sum(" },
		{ .query = "0/0" },
		{ .query = "1/0" },
		{ .query = "2 * 3" },
		{ .query = "label_replace(vector(7), \"x\", \"a b&c=d#e?f+%25é\", \"\", \"\")" },
		{ .query = "vector(1)", .server = with_slash },
		{ .query = "vector(1)", .server = wrong_path },
	};
	size_t n = sizeof cs / sizeof cs[0];
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	rg_http *h;
	rg_error err;
	cr_assert_eq(rg_http_new(&loop, &h, &err), RG_OK);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(rg_prom_query_start(h, cs[i].server ? cs[i].server : server,
						 cs[i].query, 5000, on_answer, &cs[i].a, NULL,
						 &err),
			     RG_OK, "%s", err.message);
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(cs[i].a.calls, 1, "%s", cs[i].query);
	loop_finish_http(&loop, h);

	/* the count of our own 500s, exactly: the first scrape came after them */
	cr_assert(cs[0].a.has, "%s", cs[0].a.why);
	cr_assert_eq(cs[0].a.value, (double)env.n500);
	/* an error rate: scrapes of /metrics add 200s, never 500s */
	cr_assert(cs[1].a.has, "%s", cs[1].a.why);
	cr_assert_gt(cs[1].a.value, 0);
	cr_assert_leq(cs[1].a.value, (double)env.n500 / DEMO_REQUESTS + 1e-9);
	cr_assert(cs[2].a.has, "%s", cs[2].a.why);
	cr_assert_geq(cs[2].a.value, 0);
	cr_assert_leq(cs[2].a.value, 10);
	/* code 200 and code 500 */
	cr_assert(!cs[3].a.has);
	cr_assert_str_eq(cs[3].a.why, "2 series (the query must give one)");
	cr_assert(!cs[4].a.has);
	cr_assert_str_eq(cs[4].a.why, "no sample");
	cr_assert(!cs[5].a.has);
	cr_assert_eq(strncmp(cs[5].a.why, "query failed: HTTP 400: ", 24), 0, "%s", cs[5].a.why);
	cr_assert(strstr(cs[5].a.why, "parse error"), "%s", cs[5].a.why);
	cr_assert(!cs[6].a.has);
	cr_assert_str_eq(cs[6].a.why, "sample is NaN");
	cr_assert(cs[7].a.has, "%s", cs[7].a.why);
	cr_assert(isinf(cs[7].a.value) && cs[7].a.value > 0);
	cr_assert(cs[8].a.has, "%s", cs[8].a.why);
	cr_assert_eq(cs[8].a.value, 6.0);
	cr_assert(cs[9].a.has, "every byte of the query arrived: %s", cs[9].a.why);
	cr_assert_eq(cs[9].a.value, 7.0);
	cr_assert(cs[10].a.has, "%s", cs[10].a.why);
	cr_assert_eq(cs[10].a.value, 1.0);
	cr_assert(!cs[11].a.has);
	cr_assert_str_eq(cs[11].a.why, "query failed: HTTP 404");
}
