/* test_shared.c — figures that outlive a process: a dataplane started on a
 * statistics file (as the proxy process does), a controller's remote
 * dataplane mapping that file read-only and reading the same figures, and
 * a second dataplane started on the same file (a proxy restarted or
 * upgraded) that routes the last state at once and counts on from the
 * figures its predecessor left. The backend refuses (127.0.0.1:1), so each
 * request is a 5xx counted for its release (502, then 503 while the backend
 * is marked down). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dataplane/dataplane.h"

static char dir[] = "/tmp/rg-shared.XXXXXX";
static char shm_path[256];
static rg_env envs[1];
static rg_config cfg;

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(shm_path, sizeof shm_path, "%s/proxy.shm", dir);
	envs[0] = (rg_env){ .name = (char *)"prod", .proxy_listen = (char *)"127.0.0.1:0",
			    .proxy_threads = 2 };
	cfg = (rg_config){ .envs = envs, .n_envs = 1 };
}

static void teardown(void)
{
	unlink(shm_path);
	rmdir(dir);
}

/* One request with Connection: close; the status, or -1. */
static int get(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	const char req[] = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	if (write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) {
		close(fd);
		return -1;
	}
	char buf[4096];
	size_t len = 0;
	ssize_t n;
	while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
	int status = -1;
	return sscanf(buf, "HTTP/1.1 %d", &status) == 1 ? status : -1;
}

static rg_route_state v1_state(void)
{
	rg_route_state st;
	memset(&st, 0, sizeof st);
	strcpy(st.env, "prod");
	strcpy(st.stable_version, "v1");
	strcpy(st.stable, "127.0.0.1:1");
	st.seed = 5;
	return st;
}

static rg_route_state sent;
static int n_sent;

static rg_err capture(void *ctx, const rg_route_state *st, rg_error *err)
{
	sent = *st;
	n_sent++;
	return RG_OK;
}

static uint64_t requests_of(rg_dataplane *dp, const char *version)
{
	rg_stats_summary s;
	cr_assert_eq(rg_dataplane_release_stats(dp, "prod", version, 0, &s, NULL), RG_OK);
	return s.requests;
}

TestSuite(dataplane_shared, .init = setup, .fini = teardown, .timeout = 30);

Test(dataplane_shared, a_controller_reads_the_proxy_figures_and_a_successor_counts_on)
{
	rg_dataplane_opts o = { .shm_path = shm_path };
	rg_dataplane *proxy, *ctl;
	rg_error err = { 0 };
	cr_assert_eq(rg_dataplane_start_with(&cfg, &o, &proxy, &err), RG_OK, "%s", err.message);
	rg_route_state st = v1_state();
	cr_assert_eq(rg_dataplane_apply(proxy, &st, NULL, &err), RG_OK, "%s", err.message);
	int port = rg_dataplane_port(proxy, "prod");
	for (int i = 0; i < 3; i++)
		cr_assert_geq(get(port), 502);

	/* the controller: nothing mapped yet, then the proxy's figures */
	cr_assert_eq(rg_dataplane_remote(&cfg, capture, NULL, &ctl, &err), RG_OK);
	cr_assert_eq(rg_dataplane_port(ctl, "prod"), -1);
	cr_assert_eq(rg_dataplane_remote_map(ctl, shm_path, &err), RG_OK, "%s", err.message);
	cr_assert_eq(rg_dataplane_port(ctl, "prod"), port);
	cr_assert_eq(requests_of(ctl, "v1"), 3);
	rg_stats_summary s;
	cr_assert_eq(rg_dataplane_release_stats(ctl, "prod", "v1", 0, &s, NULL), RG_OK);
	cr_assert_eq(s.responses[4], 3);
	cr_assert_geq(s.upstream_errors[RG_UPSTREAM_CONNECT], 1);
	json_t *j = NULL;
	cr_assert_eq(rg_dataplane_traffic_json(ctl, "prod", 0, &j, &err), RG_OK);
	char *text = json_dumps(j, JSON_COMPACT);
	cr_assert(strstr(text, "\"version\":\"v1\""), "%s", text);
	cr_assert(strstr(text, "\"address\":\"127.0.0.1:1\""), "%s", text);
	free(text);
	json_decref(j);

	/* a state the controller applies is checked here, then sent */
	rg_route_state bad = st;
	strcpy(bad.canary, "nope");
	cr_assert_eq(rg_dataplane_apply(ctl, &bad, NULL, &err), RG_EINVAL);
	cr_assert_eq(n_sent, 0);
	rg_route_state two = st;
	strcpy(two.canary_version, "v2");
	strcpy(two.canary, "127.0.0.1:2");
	two.canary_weight = 10;
	cr_assert_eq(rg_dataplane_apply(ctl, &two, NULL, &err), RG_OK, "%s", err.message);
	cr_assert_eq(n_sent, 1);
	cr_assert_str_eq(sent.canary_version, "v2");
	/* v2 is sent but not shown by the proxy yet: zero, not unknown */
	cr_assert_eq(requests_of(ctl, "v2"), 0);

	/* the proxy process is replaced: its successor routes v1 at once and
	 * counts on in the other generation */
	rg_dataplane_stop(proxy);
	cr_assert_eq(rg_dataplane_start_with(&cfg, &o, &proxy, &err), RG_OK, "%s", err.message);
	port = rg_dataplane_port(proxy, "prod");
	cr_assert_eq(requests_of(proxy, "v1"), 3, "the figures survive the process");
	cr_assert_geq(get(port), 502, "the last state routes before any controller sends one");
	cr_assert_eq(requests_of(proxy, "v1"), 4);
	cr_assert_eq(rg_dataplane_remote_map(ctl, shm_path, &err), RG_OK);
	cr_assert_eq(requests_of(ctl, "v1"), 4);
	rg_dataplane_stop(ctl);
	rg_dataplane_stop(proxy);
}

Test(dataplane_shared, another_layout_is_replaced_not_misread)
{
	rg_dataplane_opts o = { .shm_path = shm_path };
	rg_dataplane *proxy;
	rg_error err = { 0 };
	cr_assert_eq(rg_dataplane_start_with(&cfg, &o, &proxy, &err), RG_OK);
	rg_route_state st = v1_state();
	cr_assert_eq(rg_dataplane_apply(proxy, &st, NULL, &err), RG_OK);
	cr_assert_geq(get(rg_dataplane_port(proxy, "prod")), 502);
	rg_dataplane_stop(proxy);
	envs[0].proxy_threads = 1; /* another layout: a fresh region */
	cr_assert_eq(rg_dataplane_start_with(&cfg, &o, &proxy, &err), RG_OK);
	rg_stats_summary s;
	cr_assert_eq(rg_dataplane_release_stats(proxy, "prod", "v1", 0, &s, NULL), RG_ENOTFOUND);
	rg_dataplane_stop(proxy);
}

/* A listening socket of our own, as a hand-over passes one: non-blocking,
 * bound to a free loopback port. */
static int listener(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof a;
	cr_assert(bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 64) == 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static int connect_and_send(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	const char req[] = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	cr_assert_eq(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
	return fd;
}

/* Connections that reach the socket between two proxies wait in its
 * backlog; the successor restores the last table before its workers take
 * them, so each is routed (counted for v1), none answered as unrouted. */
Test(dataplane_shared, connections_waiting_at_a_hand_over_are_routed)
{
	enum { WAITING = 16 };
	int port, lfd = listener(&port);
	int fds[1] = { dup(lfd) };
	rg_dataplane_opts o = { .shm_path = shm_path, .listen_fds = fds };
	rg_dataplane *proxy;
	rg_error err = { 0 };
	cr_assert_eq(rg_dataplane_start_with(&cfg, &o, &proxy, &err), RG_OK, "%s", err.message);
	rg_route_state st = v1_state();
	cr_assert_eq(rg_dataplane_apply(proxy, &st, NULL, &err), RG_OK, "%s", err.message);
	cr_assert_geq(get(port), 502);
	rg_dataplane_stop(proxy);

	int waiting[WAITING];
	for (int i = 0; i < WAITING; i++)
		waiting[i] = connect_and_send(port);
	fds[0] = dup(lfd);
	cr_assert_eq(rg_dataplane_start_with(&cfg, &o, &proxy, &err), RG_OK, "%s", err.message);
	for (int i = 0; i < WAITING; i++) {
		char buf[512];
		ssize_t n = read(waiting[i], buf, sizeof buf - 1);
		cr_assert_gt(n, 0, "connection %d got an answer", i);
		close(waiting[i]);
	}
	cr_assert_eq(requests_of(proxy, "v1"), 1 + WAITING, "every waiting request was routed");
	rg_dataplane_stop(proxy);
	close(lfd);
}
