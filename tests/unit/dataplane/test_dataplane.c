/* test_dataplane.c — the built-in proxies end to end on 127.0.0.1: a
 * dataplane started from a hand-built config (port 0), tiny threaded
 * backends that answer with their release's name, and a blocking client
 * with timeouts. Covers routing by route state (503 before any, stable
 * only, weights, stickiness, Set-Cookie, forcing, retries), swaps under
 * load, per-release statistics across a promotion, the traffic JSON and the
 * Prometheus text. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dataplane/dataplane.h"
#include "proxy/http1.h"
#include "proxy/routing.h"
#include "util/timeutil.h"

/* ---- backends: answer with their release's name ------------------------------------ */

#define MAX_CONNS 128

typedef struct backend {
	int fd;
	int port;
	char addr[32];
	const char *version;
	atomic_int requests;
	atomic_int stop;
	pthread_t thread;
	pthread_t conns[MAX_CONNS];
	int nconns;
} backend;

typedef struct bconn {
	backend *b;
	int fd;
} bconn;

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static bool path_is(const char *buf, const rg_h1_head *h, const char *lit)
{
	return h->path.len == strlen(lit) && memcmp(buf + h->path.off, lit, h->path.len) == 0;
}

/* GET only (no request bodies): "/" 200, "/fail" 500, "/slow" 200 after 30 ms. */
static void *bconn_main(void *arg)
{
	bconn *bc = arg;
	backend *b = bc->b;
	int fd = bc->fd;
	free(bc);
	char buf[16384];
	size_t len = 0;
	for (;;) {
		rg_h1_parser p;
		rg_h1_request_init(&p, NULL);
		rg_h1_status st;
		while ((st = rg_h1_parse(&p, buf, len)) == RG_H1_AGAIN) {
			struct pollfd pf = { fd, POLLIN, 0 };
			if (atomic_load(&b->stop))
				goto out;
			if (poll(&pf, 1, 50) <= 0)
				continue;
			ssize_t n = recv(fd, buf + len, sizeof buf - len, 0);
			if (n <= 0)
				goto out;
			len += (size_t)n;
		}
		if (st != RG_H1_DONE)
			goto out;
		atomic_fetch_add(&b->requests, 1);
		int status = 200;
		if (path_is(buf, &p.head, "/fail"))
			status = 500;
		else if (path_is(buf, &p.head, "/slow"))
			usleep(30000);
		char resp[512];
		int n = snprintf(resp, sizeof resp,
				 "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nX-Backend: %d\r\n\r\n%s", status,
				 strlen(b->version), b->port, b->version);
		bool keep = p.head.keep_alive;
		memmove(buf, buf + p.head.head_len, len - p.head.head_len);
		len -= p.head.head_len;
		if (send_all(fd, resp, (size_t)n) < 0 || !keep)
			goto out;
	}
out:
	close(fd);
	return NULL;
}

static void *backend_main(void *arg)
{
	backend *b = arg;
	while (!atomic_load(&b->stop)) {
		struct pollfd pf = { b->fd, POLLIN, 0 };
		if (poll(&pf, 1, 50) <= 0)
			continue;
		int fd = accept(b->fd, NULL, NULL);
		if (fd < 0)
			continue;
		if (b->nconns == MAX_CONNS) {
			close(fd);
			continue;
		}
		bconn *bc = malloc(sizeof *bc);
		bc->b = b;
		bc->fd = fd;
		pthread_create(&b->conns[b->nconns++], NULL, bconn_main, bc);
	}
	return NULL;
}

static int listen_any(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
	cr_assert(listen(fd, 128) == 0);
	socklen_t al = sizeof a;
	getsockname(fd, (struct sockaddr *)&a, &al);
	*port = ntohs(a.sin_port);
	return fd;
}

static void backend_start(backend *b, const char *version)
{
	memset(b, 0, sizeof *b);
	b->version = version;
	b->fd = listen_any(&b->port);
	snprintf(b->addr, sizeof b->addr, "127.0.0.1:%d", b->port);
	pthread_create(&b->thread, NULL, backend_main, b);
}

static void backend_stop(backend *b)
{
	if (!b->version)
		return;
	atomic_store(&b->stop, 1);
	pthread_join(b->thread, NULL);
	for (int i = 0; i < b->nconns; i++)
		pthread_join(b->conns[i], NULL);
	close(b->fd);
	b->version = NULL;
}

/* "127.0.0.1:P" where nobody listens. */
static void dead_addr(char *out, size_t size)
{
	int port;
	close(listen_any(&port));
	snprintf(out, size, "127.0.0.1:%d", port);
}

/* ---- the dataplane under test ------------------------------------------------------ */

static rg_env envs[2];
static rg_config cfg;
/* these tests force sides from the loopback, as proxy.force_header allows */
static rg_cidr loopback = { .family = AF_INET, .bits = 8, .net = { 127 } };
static rg_dataplane *dp;
static backend b1, b2, b3;

static void config_one(const char *listen)
{
	memset(envs, 0, sizeof envs);
	memset(&cfg, 0, sizeof cfg);
	envs[0].name = (char *)"prod";
	envs[0].proxy_listen = (char *)listen;
	envs[0].proxy_threads = 2;
	envs[0].proxy_connect_timeout_ms = 1000;
	envs[0].proxy_response_timeout_ms = 5000;
	envs[0].proxy_force_header = (char *)"X-Rollguard-Release";
	envs[0].proxy_force_from = &loopback;
	envs[0].proxy_n_force_from = 1;
	envs[1].name = (char *)"staging"; /* no proxy */
	cfg.envs = envs;
	cfg.n_envs = 2;
}

static void start(void)
{
	rg_error err = { 0 };
	cr_assert_eq(rg_dataplane_start(&cfg, &dp, &err), RG_OK, "%s", err.message);
	cr_assert_gt(rg_dataplane_port(dp, "prod"), 0);
}

static void setup(void)
{
	config_one("127.0.0.1:0");
	start();
	backend_start(&b1, "v1");
	backend_start(&b2, "v2");
}

static void teardown(void)
{
	rg_dataplane_stop(dp);
	dp = NULL;
	cr_assert_eq(rg_routes_alive(), 0, "every table freed");
	backend_stop(&b1);
	backend_stop(&b2);
	backend_stop(&b3);
}

static rg_route_state state(const char *sv, const char *stable, const char *cv, const char *canary,
			    int weight)
{
	rg_route_state st;
	memset(&st, 0, sizeof st);
	snprintf(st.env, sizeof st.env, "prod");
	snprintf(st.stable_version, sizeof st.stable_version, "%s", sv);
	snprintf(st.stable, sizeof st.stable, "%s", stable);
	snprintf(st.canary_version, sizeof st.canary_version, "%s", cv);
	snprintf(st.canary, sizeof st.canary, "%s", canary);
	st.canary_weight = weight;
	st.seed = 7;
	return st;
}

static void apply(const rg_route_state *st)
{
	rg_error err = { 0 };
	int64_t us = -1;
	cr_assert_eq(rg_dataplane_apply(dp, st, &us, &err), RG_OK, "%s", err.message);
	cr_assert_geq(us, 0);
}

/* ---- a blocking client --------------------------------------------------------------- */

typedef struct reply {
	int status;
	char head[4096];
	char body[4096];
	size_t body_len;
} reply;

static int connect_proxy(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = { 5, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)rg_dataplane_port(dp, "prod")) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One response on fd; -1 on close, timeout or a bad message. */
static int read_reply(int fd, reply *r)
{
	char buf[8192];
	size_t len = 0;
	rg_h1_parser p;
	rg_h1_response_init(&p, NULL, false);
	rg_h1_status st;
	memset(r, 0, sizeof *r);
	while ((st = rg_h1_parse(&p, buf, len)) == RG_H1_AGAIN) {
		ssize_t n = recv(fd, buf + len, sizeof buf - len, 0);
		if (n <= 0)
			return -1;
		len += (size_t)n;
	}
	if (st != RG_H1_DONE)
		return -1;
	r->status = p.head.status;
	memcpy(r->head, buf, p.head.head_len < sizeof r->head - 1 ? p.head.head_len : sizeof r->head - 1);
	rg_h1_body b;
	rg_h1_body_init(&b, &p.head, NULL);
	size_t pos = p.head.head_len;
	while (!rg_h1_body_done(&b)) {
		rg_h1_span sp;
		st = len > pos ? rg_h1_body_feed(&b, buf + pos, len - pos, &sp) : RG_H1_AGAIN;
		if (st == RG_H1_DONE) {
			if (sp.kind == RG_H1_SPAN_DATA && r->body_len + sp.len < sizeof r->body) {
				memcpy(r->body + r->body_len, buf + pos, sp.len);
				r->body_len += sp.len;
			}
			pos += sp.len;
			continue;
		}
		if (st != RG_H1_AGAIN)
			return -1;
		memmove(buf, buf + pos, len - pos);
		len -= pos;
		pos = 0;
		ssize_t n = recv(fd, buf + len, sizeof buf - len, 0);
		if (n <= 0)
			return -1;
		len += (size_t)n;
	}
	return 0;
}

/* A request on fd; extra is more header lines ("" for none). */
static int request(int fd, const char *path, const char *extra, reply *r)
{
	char req[1024];
	snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n", path, extra);
	if (send_all(fd, req, strlen(req)) < 0)
		return -1;
	return read_reply(fd, r);
}

/* One request on a connection of its own. */
static void get(const char *path, const char *extra, reply *r)
{
	int fd = connect_proxy();
	cr_assert_geq(fd, 0);
	cr_assert_eq(request(fd, path, extra, r), 0, "no answer to GET %s", path);
	close(fd);
}

static bool body_is(const reply *r, const char *v)
{
	return r->body_len == strlen(v) && memcmp(r->body, v, r->body_len) == 0;
}

/* The release a user with this sticky cookie is sent to ("v1"/"v2"). */
static const char *user_release(int user)
{
	char h[64];
	snprintf(h, sizeof h, "Cookie: a=1; rg_release=user-%d; b=2\r\n", user);
	reply r;
	get("/", h, &r);
	cr_assert_eq(r.status, 200);
	return body_is(&r, "v2") ? "v2" : body_is(&r, "v1") ? "v1" : "?";
}

static rg_stats_summary stats(const char *version, int window_s)
{
	rg_stats_summary s;
	rg_error err = { 0 };
	cr_assert_eq(rg_dataplane_release_stats(dp, "prod", version, window_s, &s, &err), RG_OK,
		     "%s", err.message);
	return s;
}

/* ---- start ------------------------------------------------------------------------------ */

TestSuite(dataplane_start, .timeout = 30);

Test(dataplane_start, no_proxy_is_an_empty_dataplane)
{
	config_one(NULL);
	rg_error err = { 0 };
	cr_assert_eq(rg_dataplane_start(&cfg, &dp, &err), RG_OK);
	cr_assert_not_null(dp);
	cr_assert_not(rg_dataplane_serves(dp, "prod"));
	cr_assert_eq(rg_dataplane_port(dp, "prod"), -1);
	rg_route_state st = state("v1", "127.0.0.1:9", "", "", 0);
	cr_assert_eq(rg_dataplane_apply(dp, &st, NULL, &err), RG_ENOTFOUND);
	json_t *j = NULL;
	cr_assert_eq(rg_dataplane_traffic_json(dp, "prod", 60, &j, &err), RG_ENOTFOUND);
	char *buf = NULL;
	size_t len = 0;
	cr_assert_eq(rg_dataplane_metrics(dp, &buf, &len, &err), RG_OK);
	cr_assert_eq(len, 0);
	free(buf);
	rg_dataplane_stop(dp);
	rg_dataplane_stop(NULL);
}

Test(dataplane_start, busy_port_names_the_environment)
{
	config_one("127.0.0.1:0");
	start();
	char addr[64];
	snprintf(addr, sizeof addr, "127.0.0.1:%d", rg_dataplane_port(dp, "prod"));
	rg_env e2[1] = { { .name = (char *)"prod", .proxy_listen = addr } };
	rg_config c2 = { .envs = e2, .n_envs = 1 };
	rg_dataplane *dp2 = (rg_dataplane *)1;
	rg_error err = { 0 };
	cr_assert_eq(rg_dataplane_start(&c2, &dp2, &err), RG_EIO);
	cr_assert_null(dp2);
	char want[128];
	snprintf(want, sizeof want, "environment 'prod': cannot listen on %s: address in use", addr);
	cr_assert_str_eq(err.message, want);
	/* a sticky name no table could use is refused at start */
	rg_env e3[1] = { { .name = (char *)"qa", .proxy_listen = (char *)"127.0.0.1:0",
			   .proxy_sticky_cookie = (char *)"bad name" } };
	rg_config c3 = { .envs = e3, .n_envs = 1 };
	cr_assert_eq(rg_dataplane_start(&c3, &dp2, &err), RG_EINVAL);
	cr_assert(strstr(err.message, "environment 'qa': ") == err.message, "%s", err.message);
	rg_dataplane_stop(dp);
	cr_assert_eq(rg_routes_alive(), 0);
}

TestSuite(dataplane_route, .init = setup, .fini = teardown, .timeout = 30);

Test(dataplane_route, unrouted_is_503_json)
{
	cr_assert(rg_dataplane_serves(dp, "prod"));
	cr_assert_not(rg_dataplane_serves(dp, "staging"));
	cr_assert_eq(rg_dataplane_port(dp, "staging"), -1);
	reply r;
	get("/", "", &r);
	cr_assert_eq(r.status, 503);
	cr_assert(strstr(r.head, "Content-Type: application/json"), "%s", r.head);
	cr_assert(strstr(r.body, "\"code\":\"no_backend\""), "%s", r.body);
}

Test(dataplane_route, stable_only)
{
	char both[80];
	backend_start(&b3, "v1"); /* two backends of v1 */
	snprintf(both, sizeof both, "%s, %s", b1.addr, b3.addr); /* blanks are fine */
	rg_route_state st = state("v1", both, "", "", 0);
	apply(&st);
	for (int i = 0; i < 20; i++) {
		reply r;
		get("/", "", &r);
		cr_assert_eq(r.status, 200);
		cr_assert(body_is(&r, "v1"));
	}
	cr_assert_eq(atomic_load(&b1.requests), 10, "round-robin");
	cr_assert_eq(atomic_load(&b3.requests), 10);
	rg_stats_summary s = stats("v1", 0);
	cr_assert_eq(s.requests, 20);
	cr_assert_eq(s.responses[1], 20);
}

Test(dataplane_route, weight_0_and_100)
{
	rg_route_state st = state("v1", b1.addr, "v2", b2.addr, 0);
	apply(&st);
	for (int u = 0; u < 40; u++)
		cr_assert_str_eq(user_release(u), "v1");
	st.canary_weight = 100;
	apply(&st);
	for (int u = 0; u < 40; u++)
		cr_assert_str_eq(user_release(u), "v2");
}

Test(dataplane_route, half_split_is_even_and_sticky)
{
	rg_route_state st = state("v1", b1.addr, "v2", b2.addr, 50);
	apply(&st);
	const char *first[400];
	int canary = 0;
	for (int u = 0; u < 400; u++) {
		first[u] = user_release(u);
		canary += strcmp(first[u], "v2") == 0;
	}
	cr_assert(canary > 140 && canary < 260, "%d of 400 users on canary at 50 %%", canary);
	/* the same users again, after a re-publish of the same rollout: same side */
	apply(&st);
	for (int u = 0; u < 400; u += 7)
		cr_assert_str_eq(user_release(u), first[u], "user %d moved", u);
	/* and a user on canary at 50 % stays there at 80 % */
	st.canary_weight = 80;
	apply(&st);
	for (int u = 0; u < 400; u += 5)
		if (strcmp(first[u], "v2") == 0)
			cr_assert_str_eq(user_release(u), "v2");
}

Test(dataplane_route, set_cookie_is_handed_out_and_honoured)
{
	rg_route_state st = state("v1", b1.addr, "v2", b2.addr, 50);
	apply(&st);
	reply r;
	get("/", "", &r);
	cr_assert_eq(r.status, 200);
	const char *sc = strstr(r.head, "\r\nSet-Cookie: rg_release=");
	cr_assert(sc, "%s", r.head);
	char token[17];
	memcpy(token, sc + 25, 16);
	token[16] = '\0';
	cr_assert_eq(strspn(token, "0123456789abcdef"), 16, "%s", r.head);
	cr_assert(strncmp(sc + 41, "; Path=/; HttpOnly; SameSite=Lax\r\n", 34) == 0, "%s", r.head);
	char first[8];
	snprintf(first, sizeof first, "%.*s", (int)r.body_len, r.body);
	/* with the cookie: the same release every time, and no new cookie */
	char h[64];
	snprintf(h, sizeof h, "Cookie: rg_release=%s\r\n", token);
	for (int i = 0; i < 10; i++) {
		get("/", h, &r);
		cr_assert(body_is(&r, first), "request %d went elsewhere", i);
		cr_assert_null(strstr(r.head, "Set-Cookie"));
	}
}

Test(dataplane_route, cookie_header_parsing)
{
	rg_route_state st = state("v1", b1.addr, "v2", b2.addr, 50);
	apply(&st);
	const char *side = user_release(5);
	struct {
		const char *headers;
		bool matched;
	} cases[] = {
		{ "Cookie: rg_release=\"user-5\"\r\n", true },
		{ "Cookie: a=1\r\nCookie: b=2;rg_release = user-5 ;c\r\n", true },
		{ "Cookie: xrg_release=user-5\r\n", false },
		{ "Cookie: RG_RELEASE=user-5\r\n", false },
		{ "Cookie: rg_release=\r\n", false },
		{ "Cookie: rg_release\r\n", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		reply r;
		get("/", cases[i].headers, &r);
		cr_assert_eq(r.status, 200);
		if (cases[i].matched) {
			cr_assert(body_is(&r, side), "case %zu", i);
			cr_assert_null(strstr(r.head, "Set-Cookie"), "case %zu", i);
		} else {
			cr_assert(strstr(r.head, "Set-Cookie: rg_release="), "case %zu: %s", i, r.head);
		}
	}
}

Test(dataplane_route, header_forces_a_side)
{
	rg_route_state st = state("v1", b1.addr, "v2", b2.addr, 0);
	apply(&st);
	reply r;
	get("/", "X-Rollguard-Release: canary\r\n", &r);
	cr_assert(body_is(&r, "v2"));
	cr_assert_null(strstr(r.head, "Set-Cookie"), "no cookie for a forced side");
	st.canary_weight = 100;
	apply(&st);
	get("/", "X-Rollguard-Release: STABLE\r\nCookie: rg_release=u\r\n", &r);
	cr_assert(body_is(&r, "v1"));
	get("/", "X-Rollguard-Release: nonsense\r\nCookie: rg_release=u\r\n", &r);
	cr_assert(body_is(&r, "v2"));
}

/* proxy.force_header.from: anyone else's header is ignored (and never
 * forwarded), so a client cannot aim requests at the canary. */
Test(dataplane_route, header_forces_only_from_its_ranges)
{
	static rg_cidr ten = { .family = AF_INET, .bits = 8, .net = { 10 } };
	rg_dataplane_stop(dp);
	envs[0].proxy_force_from = &ten;
	start();
	rg_route_state st = state("v1", b1.addr, "v2", b2.addr, 0);
	apply(&st);
	reply r;
	get("/", "X-Rollguard-Release: canary\r\n", &r);
	cr_assert(body_is(&r, "v1"), "127.0.0.1 is not in 10.0.0.0/8");
	rg_dataplane_stop(dp);
	envs[0].proxy_force_header = NULL; /* no force_header: never forced */
	start();
	apply(&st);
	get("/", "X-Rollguard-Release: canary\r\n", &r);
	cr_assert(body_is(&r, "v1"));
}

Test(dataplane_route, refused_backend_is_retried_and_marked_down)
{
	char dead[32], list[80];
	dead_addr(dead, sizeof dead);
	snprintf(list, sizeof list, "%s,%s", dead, b1.addr);
	rg_route_state st = state("v1", list, "", "", 0);
	apply(&st);
	int64_t t0 = rg_mono_ms();
	for (int i = 0; i < 20; i++) {
		reply r;
		get("/", "", &r);
		cr_assert_eq(r.status, 200, "request %d", i);
	}
	bool quick = rg_mono_ms() - t0 < 800; /* so the 1 s down mark still holds */
	rg_stats_summary s = stats("v1", 0);
	cr_assert_eq(s.requests, 20);
	cr_assert_eq(s.responses[1], 20);
	cr_assert_geq(s.upstream_errors[RG_UPSTREAM_CONNECT], 1);
	if (quick)
		cr_assert_eq(s.upstream_errors[RG_UPSTREAM_CONNECT], 1, "marked down after the first");
	json_t *j;
	cr_assert_eq(rg_dataplane_traffic_json(dp, "prod", 60, &j, NULL), RG_OK);
	json_t *bk = json_object_get(json_array_get(json_object_get(j, "releases"), 0), "backends");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(bk, 0), "address")), dead);
	if (quick)
		cr_assert(json_is_true(json_object_get(json_array_get(bk, 0), "down")));
	cr_assert(json_is_false(json_object_get(json_array_get(bk, 1), "down")));
	json_decref(j);
}

Test(dataplane_route, only_backend_refusing_is_502)
{
	char dead[32];
	dead_addr(dead, sizeof dead);
	rg_route_state st = state("v1", dead, "", "", 0);
	apply(&st);
	reply r;
	get("/", "", &r);
	cr_assert_eq(r.status, 502, "the first attempt's answer, not 'no backend'");
	cr_assert(strstr(r.body, "bad_gateway"), "%s", r.body);
	/* marked down: the next users get a 503 at once (or the 502 again if
	 * the mark has run out); either way the release's users see errors */
	get("/", "", &r);
	cr_assert(r.status == 503 || r.status == 502, "%d", r.status);
	rg_stats_summary s = stats("v1", 0);
	cr_assert_eq(s.requests, 2);
	cr_assert_eq(s.responses[4], 2);
	cr_assert_geq(s.upstream_errors[RG_UPSTREAM_CONNECT], 1);
}

static void setup_header(void)
{
	config_one("127.0.0.1:0");
	envs[0].proxy_sticky_header = (char *)"X-User";
	envs[0].proxy_least_conn = true;
	start();
	backend_start(&b1, "v1");
	backend_start(&b2, "v2");
}

/* Its own suite: a suite's .init runs before a test's own. */
TestSuite(dataplane_sticky, .init = setup_header, .fini = teardown, .timeout = 30);

Test(dataplane_sticky, header_source_and_least_conn)
{
	rg_route_state st = state("v1", b1.addr, "v2", b2.addr, 50);
	apply(&st);
	int canary = 0;
	for (int u = 0; u < 100; u++) {
		char h[64];
		snprintf(h, sizeof h, "x-user: %d\r\n", u);
		reply r1, r2;
		get("/", h, &r1);
		get("/", h, &r2);
		cr_assert_eq(r1.body_len, r2.body_len);
		cr_assert_null(strstr(r1.head, "Set-Cookie"), "no cookie with a header source");
		canary += body_is(&r1, "v2");
	}
	cr_assert(canary > 25 && canary < 75, "%d", canary);
}

/* ---- swaps ---------------------------------------------------------------------------- */

TestSuite(dataplane_swap, .init = setup, .fini = teardown, .timeout = 60);

typedef struct hammer {
	atomic_int *go;
	int ok, bad;
} hammer;

static void *hammer_main(void *arg)
{
	hammer *h = arg;
	int fd = connect_proxy();
	for (int i = 0; atomic_load(h->go); i++) {
		reply r;
		char c[64];
		snprintf(c, sizeof c, "Cookie: rg_release=u%d\r\n", i);
		if (fd < 0 || request(fd, "/", c, &r) != 0) {
			h->bad++;
			if (fd >= 0)
				close(fd);
			fd = connect_proxy();
			continue;
		}
		if (r.status == 200 && (body_is(&r, "v1") || body_is(&r, "v2")))
			h->ok++;
		else
			h->bad++;
		if (strstr(r.head, "Connection: close")) { /* max_requests reached */
			close(fd);
			fd = connect_proxy();
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

Test(dataplane_swap, swaps_during_requests_drop_none)
{
	rg_route_state a = state("v1", b1.addr, "v2", b2.addr, 0);
	rg_route_state b = state("v2", b2.addr, "v1", b1.addr, 50); /* promoted, then back */
	apply(&a);
	atomic_int go = 1;
	pthread_t t[4];
	hammer h[4];
	for (int i = 0; i < 4; i++) {
		h[i] = (hammer){ &go, 0, 0 };
		pthread_create(&t[i], NULL, hammer_main, &h[i]);
	}
	for (int i = 0; i < 300; i++) {
		a.canary_weight = i % 101;
		apply(i % 2 ? &a : &b);
		usleep(2000);
	}
	atomic_store(&go, 0);
	int ok = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(h[i].bad, 0, "client %d: %d failed", i, h[i].bad);
		ok += h[i].ok;
	}
	cr_assert_gt(ok, 100);
	rg_stats_summary s1 = stats("v1", 0), s2 = stats("v2", 0);
	cr_assert_eq(s1.requests + s2.requests, (uint64_t)ok, "every request counted once");
}

Test(dataplane_swap, no_backends_is_503_again)
{
	rg_route_state st = state("v1", b1.addr, "", "", 0);
	apply(&st);
	reply r;
	get("/", "", &r);
	cr_assert_eq(r.status, 200);
	rg_route_state none = state("v1", "", "", "", 0);
	apply(&none);
	get("/", "", &r);
	cr_assert_eq(r.status, 503);
	apply(&st);
	get("/", "", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(stats("v1", 0).requests, 2, "the release kept its slot throughout");
}

Test(dataplane_swap, bad_backend_keeps_the_old_table)
{
	rg_route_state st = state("v1", b1.addr, "", "", 0);
	apply(&st);
	struct {
		const char *stable, *canary, *standby, *message;
	} bad[] = {
		{ NULL, "x:1", "", "canary backend 'x:1' is not HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080)" },
		{ "127.0.0.1:80,127.0.0.1:080", "", "", "stable backend '127.0.0.1:080' is not HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080)" },
		{ "127.0.0.1:80, 127.0.0.1:80", "", "", "stable backend '127.0.0.1:80' is listed twice" },
		{ NULL, "", "10.0.0.1:1,nope", "standby backend 'nope' is not HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080)" },
		{ "127.0.0.1:80,,127.0.0.1:81", "", "", "stable backends '127.0.0.1:80,,127.0.0.1:81'" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		rg_route_state b = state("v9", bad[i].stable ? bad[i].stable : b1.addr, "v8",
					 bad[i].canary, 50);
		snprintf(b.standby_version, sizeof b.standby_version, "v7");
		snprintf(b.standby, sizeof b.standby, "%s", bad[i].standby);
		rg_error err = { 0 };
		cr_assert_eq(rg_dataplane_apply(dp, &b, NULL, &err), RG_EINVAL, "case %zu", i);
		cr_assert(strstr(err.message, bad[i].message), "case %zu: %s", i, err.message);
	}
	rg_route_state w = state("v1", b1.addr, "", "", 101);
	rg_error err = { 0 };
	cr_assert_eq(rg_dataplane_apply(dp, &w, NULL, &err), RG_EINVAL);
	cr_assert_str_eq(err.field, "canary_weight");
	/* nothing changed: routing, slots, the traffic view */
	reply r;
	get("/", "", &r);
	cr_assert(body_is(&r, "v1"));
	rg_stats_summary s;
	cr_assert_eq(rg_dataplane_release_stats(dp, "prod", "v9", 0, &s, &err), RG_ENOTFOUND);
	json_t *j;
	cr_assert_eq(rg_dataplane_traffic_json(dp, "prod", 10, &j, NULL), RG_OK);
	cr_assert_eq(json_array_size(json_object_get(j, "releases")), 1);
	json_decref(j);
}

Test(dataplane_swap, other_environment_is_not_found)
{
	rg_route_state st = state("v1", b1.addr, "", "", 0);
	snprintf(st.env, sizeof st.env, "staging");
	rg_error err = { 0 };
	cr_assert_eq(rg_dataplane_apply(dp, &st, NULL, &err), RG_ENOTFOUND);
	cr_assert(strstr(err.message, "'staging'"), "%s", err.message);
}

/* ---- statistics per release ------------------------------------------------------------ */

TestSuite(dataplane_stats, .init = setup, .fini = teardown, .timeout = 60);

static void send_n(int n, const char *path, const char *extra)
{
	int fd = connect_proxy();
	cr_assert_geq(fd, 0);
	for (int i = 0; i < n; i++) {
		reply r;
		cr_assert_eq(request(fd, path, extra, &r), 0);
	}
	close(fd);
}

Test(dataplane_stats, figures_land_on_their_release_and_survive_a_promotion)
{
	rg_route_state st = state("v1", b1.addr, "v2", b2.addr, 10);
	apply(&st);
	send_n(30, "/", "X-Rollguard-Release: stable\r\n");
	send_n(20, "/slow", "X-Rollguard-Release: canary\r\n");
	send_n(5, "/fail", "X-Rollguard-Release: canary\r\n");
	rg_stats_summary s1 = stats("v1", 0), s2 = stats("v2", 0);
	cr_assert_eq(s1.requests, 30);
	cr_assert_eq(s1.responses[1], 30);
	cr_assert_eq(s1.responses[4], 0);
	cr_assert_eq(s2.requests, 25);
	cr_assert_eq(s2.responses[1], 20);
	cr_assert_eq(s2.responses[4], 5);
	cr_assert_lt(rg_hist_quantile(&s1.latency, 0.5), 25000, "v1 is fast");
	cr_assert_geq(rg_hist_quantile(&s2.latency, 0.5), 25000, "v2's median is /slow");
	cr_assert_eq(rg_hist_count(&s2.latency), 25);
	rg_stats_summary w2 = stats("v2", 60);
	cr_assert_eq(w2.requests, 25);

	/* Promotion: v2 becomes stable on its backends, v1 stands by. */
	rg_route_state pr = state("v2", b2.addr, "", "", 0);
	snprintf(pr.standby_version, sizeof pr.standby_version, "v1");
	snprintf(pr.standby, sizeof pr.standby, "%s", b1.addr);
	apply(&pr);
	cr_assert_eq(stats("v2", 0).requests, 25, "the release keeps its figures");
	cr_assert_eq(stats("v1", 0).requests, 30, "the standby keeps its slot");
	send_n(10, "/", "");
	cr_assert_eq(stats("v2", 0).requests, 35);
	cr_assert_eq(stats("v1", 0).requests, 30, "the standby is not routed");
	cr_assert_eq(atomic_load(&b1.requests), 30);

	/* v1 retired: its slot is given up */
	rg_route_state done = state("v2", b2.addr, "", "", 0);
	apply(&done);
	rg_stats_summary s;
	rg_error err = { 0 };
	cr_assert_eq(rg_dataplane_release_stats(dp, "prod", "v1", 0, &s, &err), RG_ENOTFOUND);
	cr_assert(strstr(err.message, "'v1'"), "%s", err.message);
	cr_assert_eq(rg_dataplane_release_stats(dp, "prod", "v2", 61, &s, &err), RG_EINVAL);
	cr_assert_eq(rg_dataplane_release_stats(dp, "qa", "v2", 0, &s, &err), RG_ENOTFOUND);
}

/* Releases come and go through the four slots: each new one starts at zero,
 * in total and in its window, though its slot counted others before. */
Test(dataplane_stats, reused_slots_start_at_zero)
{
	backend_start(&b3, "vx");
	for (int k = 3; k <= 10; k++) {
		char cv[8];
		snprintf(cv, sizeof cv, "v%d", k);
		rg_route_state st = state("v1", b1.addr, cv, b3.addr, 0);
		apply(&st);
		cr_assert_eq(stats(cv, 0).requests, 0, "%s starts at zero", cv);
		cr_assert_eq(stats(cv, 60).requests, 0, "%s's window starts at zero", cv);
		send_n(k, "/", "X-Rollguard-Release: canary\r\n");
		send_n(2, "/", "X-Rollguard-Release: stable\r\n");
		rg_stats_summary t = stats(cv, 0), w = stats(cv, 60);
		cr_assert_eq(t.requests, (uint64_t)k, "%s: %llu", cv, (unsigned long long)t.requests);
		cr_assert_eq(w.requests, (uint64_t)k, "%s window: %llu", cv, (unsigned long long)w.requests);
		cr_assert_eq(rg_hist_count(&t.latency), (uint64_t)k);
		cr_assert_eq(t.responses[1], (uint64_t)k);
	}
	cr_assert_eq(stats("v1", 0).requests, 16, "the stable release kept its slot all along");
}

/* ---- reports ---------------------------------------------------------------------------- */

TestSuite(dataplane_report, .init = setup, .fini = teardown, .timeout = 30);

static void assert_summary(json_t *s, json_int_t requests)
{
	cr_assert(json_is_object(s));
	cr_assert_eq(json_integer_value(json_object_get(s, "requests")), requests);
	json_t *resp = json_object_get(s, "responses");
	static const char *const classes[] = { "1xx", "2xx", "3xx", "4xx", "5xx" };
	for (int i = 0; i < 5; i++)
		cr_assert(json_is_integer(json_object_get(resp, classes[i])), "%s", classes[i]);
	json_t *up = json_object_get(s, "upstream_errors");
	cr_assert(json_is_integer(json_object_get(up, "connect")));
	cr_assert(json_is_integer(json_object_get(up, "timeout")));
	cr_assert(json_is_integer(json_object_get(up, "protocol")));
	cr_assert(json_is_number(json_object_get(s, "error_rate")));
	json_t *lat = json_object_get(s, "latency_ms");
	cr_assert(json_is_number(json_object_get(lat, "p50")));
	cr_assert(json_is_number(json_object_get(lat, "p95")));
	cr_assert(json_is_number(json_object_get(lat, "p99")));
	cr_assert(json_is_number(json_object_get(lat, "mean")));
}

Test(dataplane_report, traffic_json_shape)
{
	json_t *j;
	rg_error err = { 0 };
	cr_assert_eq(rg_dataplane_traffic_json(dp, "prod", 60, &j, &err), RG_OK, "%s", err.message);
	cr_assert_eq(json_array_size(json_object_get(j, "releases")), 0, "nothing applied yet");
	json_decref(j);
	cr_assert_eq(rg_dataplane_traffic_json(dp, "prod", 61, &j, &err), RG_EINVAL);
	cr_assert_eq(rg_dataplane_traffic_json(dp, "staging", 60, &j, &err), RG_ENOTFOUND);

	rg_route_state st = state("v1", b1.addr, "v2", b2.addr, 25);
	snprintf(st.standby_version, sizeof st.standby_version, "v0");
	snprintf(st.standby, sizeof st.standby, "127.0.0.1:9");
	apply(&st);
	send_n(4, "/", "X-Rollguard-Release: stable\r\n");
	send_n(2, "/fail", "X-Rollguard-Release: canary\r\n");
	cr_assert_eq(rg_dataplane_traffic_json(dp, "prod", 30, &j, &err), RG_OK, "%s", err.message);
	char *text = json_dumps(j, JSON_COMPACT);
	cr_assert_str_eq(json_string_value(json_object_get(j, "env")), "prod", "%s", text);
	cr_assert_str_eq(json_string_value(json_object_get(j, "router")), "proxy");
	char listen[64];
	snprintf(listen, sizeof listen, "127.0.0.1:%d", rg_dataplane_port(dp, "prod"));
	cr_assert_str_eq(json_string_value(json_object_get(j, "listen")), listen);
	cr_assert_eq(json_integer_value(json_object_get(j, "canary_weight")), 25);
	cr_assert_eq(json_integer_value(json_object_get(j, "window_seconds")), 30);
	json_t *rels = json_object_get(j, "releases");
	cr_assert_eq(json_array_size(rels), 3, "%s", text);
	static const char *const want[3][2] = { { "v1", "stable" }, { "v2", "canary" }, { "v0", "standby" } };
	static const int shares[3] = { 75, 25, 0 };
	static const int reqs[3] = { 4, 2, 0 };
	for (size_t i = 0; i < 3; i++) {
		json_t *r = json_array_get(rels, i);
		cr_assert_str_eq(json_string_value(json_object_get(r, "version")), want[i][0]);
		cr_assert_str_eq(json_string_value(json_object_get(r, "side")), want[i][1]);
		cr_assert_eq(json_integer_value(json_object_get(r, "share")), shares[i], "%s", text);
		json_t *b = json_array_get(json_object_get(r, "backends"), 0);
		cr_assert(json_is_string(json_object_get(b, "address")));
		cr_assert(json_is_integer(json_object_get(b, "inflight")));
		cr_assert(json_is_boolean(json_object_get(b, "down")));
		assert_summary(json_object_get(r, "total"), reqs[i]);
		assert_summary(json_object_get(r, "window"), reqs[i]);
	}
	json_t *canary_total = json_object_get(json_array_get(rels, 1), "total");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(canary_total, "responses"), "5xx")), 2);
	cr_assert_float_eq(json_number_value(json_object_get(canary_total, "error_rate")), 1.0, 1e-9);
	cr_assert_float_eq(json_number_value(json_object_get(json_object_get(json_array_get(rels, 0), "total"),
							     "error_rate")), 0.0, 1e-9);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(json_array_get(rels, 2),
		"backends"), 0), "address")), "127.0.0.1:9");
	free(text);
	json_decref(j);
}

/* The value of the first line starting with prefix, or -1. */
static double sample(const char *text, const char *prefix)
{
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			return strtod(p + strlen(prefix), NULL);
	return -1;
}

Test(dataplane_report, metrics_text)
{
	rg_route_state st = state("v1", b1.addr, "v2", b2.addr, 40);
	apply(&st);
	send_n(3, "/", "X-Rollguard-Release: stable\r\n");
	send_n(2, "/slow", "X-Rollguard-Release: canary\r\n");
	send_n(1, "/fail", "X-Rollguard-Release: canary\r\n");
	char *buf = strdup("# before\n");
	size_t len = strlen(buf);
	rg_error err = { 0 };
	cr_assert_eq(rg_dataplane_metrics(dp, &buf, &len, &err), RG_OK, "%s", err.message);
	cr_assert_eq(strlen(buf), len);
	cr_assert(strncmp(buf, "# before\n", 9) == 0, "appended, not replaced");
	const char *must[] = {
		"# TYPE rollguard_proxy_requests_total counter\n",
		"# TYPE rollguard_proxy_responses_total counter\n",
		"# TYPE rollguard_proxy_upstream_errors_total counter\n",
		"# TYPE rollguard_proxy_canary_weight gauge\n",
		"# TYPE rollguard_proxy_request_duration_seconds histogram\n",
		"\nrollguard_proxy_canary_weight{env=\"prod\"} 40\n",
		"\nrollguard_proxy_upstream_errors_total{env=\"prod\",release=\"v1\",kind=\"connect\"} 0\n",
	};
	for (size_t i = 0; i < sizeof must / sizeof *must; i++)
		cr_assert(strstr(buf, must[i]), "missing %s in\n%s", must[i], buf);
	cr_assert_eq(sample(buf, "rollguard_proxy_requests_total{env=\"prod\",release=\"v1\"} "), 3);
	cr_assert_eq(sample(buf, "rollguard_proxy_requests_total{env=\"prod\",release=\"v2\"} "), 3);
	cr_assert_eq(sample(buf, "rollguard_proxy_responses_total{env=\"prod\",release=\"v2\",class=\"5xx\"} "), 1);
	cr_assert_eq(sample(buf, "rollguard_proxy_responses_total{env=\"prod\",release=\"v2\",class=\"2xx\"} "), 2);
	const char *h = "rollguard_proxy_request_duration_seconds";
	char p[256];
	snprintf(p, sizeof p, "%s_bucket{env=\"prod\",release=\"v2\",le=\"+Inf\"} ", h);
	cr_assert_eq(sample(buf, p), 3);
	snprintf(p, sizeof p, "%s_count{env=\"prod\",release=\"v2\"} ", h);
	cr_assert_eq(sample(buf, p), 3);
	snprintf(p, sizeof p, "%s_bucket{env=\"prod\",release=\"v2\",le=\"0.025\"} ", h);
	cr_assert_leq(sample(buf, p), 1, "the /slow ones took 30 ms");
	snprintf(p, sizeof p, "%s_bucket{env=\"prod\",release=\"v2\",le=\"10\"} ", h);
	cr_assert_eq(sample(buf, p), 3);
	snprintf(p, sizeof p, "%s_sum{env=\"prod\",release=\"v2\"} ", h);
	cr_assert_gt(sample(buf, p), 0.05);
	/* buckets never decrease */
	static const char *const les[] = { "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
					   "0.25", "0.5", "1", "2.5", "5", "10", "+Inf" };
	double prev = 0;
	for (size_t i = 0; i < sizeof les / sizeof *les; i++) {
		snprintf(p, sizeof p, "%s_bucket{env=\"prod\",release=\"v1\",le=\"%s\"} ", h, les[i]);
		double v = sample(buf, p);
		cr_assert_geq(v, prev, "le=%s", les[i]);
		prev = v;
	}
	cr_assert_eq(prev, 3);
	/* each family's HELP and TYPE once */
	const char *first = strstr(buf, "# TYPE rollguard_proxy_requests_total");
	cr_assert_null(strstr(first + 1, "# TYPE rollguard_proxy_requests_total"));
	free(buf);
}

Test(dataplane_report, label_values_are_escaped)
{
	rg_route_state st = state("a\"b\\c\nd", b1.addr, "", "", 0);
	apply(&st);
	char *buf = NULL;
	size_t len = 0;
	cr_assert_eq(rg_dataplane_metrics(dp, &buf, &len, NULL), RG_OK);
	cr_assert(strstr(buf, "rollguard_proxy_requests_total{env=\"prod\",release=\"a\\\"b\\\\c\\nd\"} 0\n"),
		  "%s", buf);
	free(buf);
}
