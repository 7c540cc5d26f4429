/* api_server.h — the API's handlers over real HTTP without rollguard's own
 * server: a libmicrohttpd daemon on 127.0.0.1 at a free port that hands each
 * request, body and all, to rg_routes_handle with the test's rg_api_ctx, and
 * api_call, a blocking curl request to it. No engine, no SSE. Test support
 * only. */
#ifndef RG_TEST_SUPPORT_API_SERVER_H
#define RG_TEST_SUPPORT_API_SERVER_H

#include <stddef.h>

#include "api/routes.h"

/* Starts the daemon; any failure fails the test. ctx stays the test's: the
 * daemon's thread reads it on every request, so it must outlive
 * api_server_stop, and a test may change it between requests. One daemon
 * per test process (Criterion forks each test). */
void api_server_start(rg_api_ctx *ctx);

/* Stops the daemon; harmless when none runs. */
void api_server_stop(void);

/* One answer. body is NUL-terminated and the caller's to free() (NULL when
 * the answer had no body). */
typedef struct api_answer {
	long status;
	char *body;
	size_t len;
	char allow[64];           /* the Allow header, "" if none */
	char content_type[128];   /* "" if none */
} api_answer;

/* method on path (query included). body (NULL: none) is sent as it is;
 * headers is a NULL-terminated list of "Name: value" lines, or NULL; both
 * stay the caller's. A request that gets no answer fails the test. */
api_answer api_call(const char *method, const char *path, const char *body,
		    const char *const *headers);

#endif
