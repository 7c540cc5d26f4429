/* http_server.c — the canned HTTP server the client tests run against (see
 * http_server.h). A thread accepts; a thread per connection reads the request
 * head and answers; stop joins them all, so nothing outlives the test. */
#include "http_server.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

static void respond_big(int fd)
{
	static const char tail[] = "needle";   /* past any 64 KiB body limit */
	size_t len = 200 * 1024 + strlen(tail);
	char *body = malloc(len);
	cr_assert_not_null(body);
	memset(body, 'x', len);
	memcpy(body + len - strlen(tail), tail, strlen(tail));
	respond(fd, 200, "", body, len);
	free(body);
}

static void answer(int fd, const char *req, const char *path)
{
	int status;
	if (strcmp(path, "/ok") == 0) {
		respond(fd, 200, "", "all ok", 6);
	} else if (strcmp(path, "/fail") == 0) {
		respond(fd, 503, "", "down", 4);
	} else if (sscanf(path, "/status/%d", &status) == 1) {
		char body[32];
		int n = snprintf(body, sizeof body, "status %d", status);
		respond(fd, status, "", body, (size_t)n);
	} else if (strcmp(path, "/redirect") == 0) {
		respond(fd, 302, "Location: /ok\r\n", "", 0);
	} else if (strcmp(path, "/big") == 0) {
		respond_big(fd);
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

int http_listen_loopback(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	cr_assert_eq(listen(fd, CONNS_MAX), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

void http_server_start(void)
{
	srv.fd = http_listen_loopback(&srv.port);
	atomic_store(&srv.stop, false);
	atomic_store(&srv.requests, 0);
	pthread_mutex_init(&srv.lock, NULL);
	srv.n_conns = 0;
	cr_assert_eq(pthread_create(&srv.thread, NULL, serve, NULL), 0);
}

void http_server_stop(void)
{
	atomic_store(&srv.stop, true);
	pthread_join(srv.thread, NULL);
	for (int i = 0; i < srv.n_conns; i++)
		pthread_join(srv.conns[i], NULL);
	close(srv.fd);
}

int http_server_port(void)
{
	return srv.port;
}

int http_server_requests(void)
{
	return atomic_load(&srv.requests);
}

void http_server_url(const char *path, char *buf, size_t size)
{
	snprintf(buf, size, "http://127.0.0.1:%d%s", srv.port, path);
}
