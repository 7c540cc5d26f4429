/* demo-app.h — the interface between the demo service's files.
 * demo-app stands in for a team's real service in demos, tests and benches.
 * It must never listen beyond loopback nor let any client grow its memory. */
#ifndef DEMO_APP_H
#define DEMO_APP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEMO_MAX_HEAD    8192        /* request line + headers, else 400 */
#define DEMO_MAX_BODY    (1 << 20)   /* request bodies are read and dropped */
#define DEMO_IDLE_MS     60000       /* a connection silent this long is closed */
#define DEMO_LINGER_MS   2000        /* a closing connection's wait for EOF */

struct demo_opts {
	struct sockaddr_storage listen; /* always 127.x.x.x or ::1 */
	socklen_t listen_len;
	const char *version;         /* checked: [A-Za-z0-9._+-]{1,64} */
	double error_rate;           /* fraction of GET / answered 500 */
	uint64_t seed;               /* makes the 500s repeatable */
	int latency_ms;              /* added to every GET / */
	bool fail_health;            /* GET /health answers 503 */
	const char *pidfile;
	int threads;
	int max_conns;
};

/* One parsed request head. Pointers point into the caller's buffer. */
struct demo_request {
	const char *method;
	size_t method_len;
	const char *path;            /* target without query or fragment */
	size_t path_len;
	bool keep_alive;
	uint64_t body_len;           /* Content-Length; 0 if absent */
};

/* What to answer. body points at static text, at small, or at owned. */
struct demo_response {
	int status;
	const char *content_type;
	const char *allow;           /* Allow header for 405, else NULL */
	const char *body;
	size_t body_len;
	char *owned;
	char small[192];
	bool head_only;              /* HEAD: headers only */
	bool close;                  /* close the connection after it */
	int delay_ms;
};

/* http.c: parsing and answers. http_parse returns the length of the request
 * head (>0), 0 if more bytes are needed, or -1 with *status the error code. */
long http_parse(const char *buf, size_t len, struct demo_request *req, int *status);
void http_route(const struct demo_opts *o, const struct demo_request *req,
		struct demo_response *res);
void http_error(int status, struct demo_response *res);
/* Serialises res into one malloc'd buffer (NULL on allocation failure). */
char *http_format(const struct demo_response *res, bool keep_alive, size_t *len);
void http_response_release(struct demo_response *res);

/* metrics.c: counters safe to bump from any thread. */
void metrics_record(int status, int64_t duration_ns);
char *metrics_render(const char *version, size_t *len);

/* server.c: worker threads serving connections from listen_fd. */
struct demo_server;
int server_start(const struct demo_opts *o, int listen_fd, struct demo_server **out);
void server_stop(struct demo_server *s);

int64_t demo_now_ns(void);

#endif
