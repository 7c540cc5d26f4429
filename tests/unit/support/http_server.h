/* http_server.h — a canned HTTP/1.1 server on 127.0.0.1 at a free port, a
 * thread per connection, for tests of rollguard's HTTP clients. It answers
 * from a fixed table of paths and never reads a request body. Test support
 * only: it must never be linked into rollguard itself. */
#ifndef RG_TEST_SUPPORT_HTTP_SERVER_H
#define RG_TEST_SUPPORT_HTTP_SERVER_H

#include <stddef.h>

/* What GET <path> answers (every answer but /keep closes the connection):
 *   /ok          200 "all ok"
 *   /fail        503 "down"
 *   /status/N    N "status N"
 *   /redirect    302, Location: /ok
 *   /big         200, 200 KiB of 'x' then "needle"
 *   /echo        200, the request head as it arrived
 *   /slow        200 "slow" after 300 ms
 *   /keep        200 "ok", then the connection stays open for reuse
 *   /hang        no answer; the connection stays open
 *   anything else  404, empty
 * An open connection is held until the client closes it or the server stops.
 *
 * One server per test process (Criterion forks each test), so start and stop
 * take no argument and serve directly as a suite's .init and .fini. */
void http_server_start(void);
void http_server_stop(void);

int http_server_port(void);

/* How many requests arrived whole since the start. */
int http_server_requests(void);

/* "http://127.0.0.1:<port><path>" into buf. */
void http_server_url(const char *path, char *buf, size_t size);

/* A socket listening on 127.0.0.1 at a free port, its port in *port. No one
 * accepts on it: the kernel completes connections and nothing answers.
 * Closed at once, it gives a port where connections are refused. The
 * caller owns the socket and closes it. */
int http_listen_loopback(int *port);

#endif
