/* client.h — the CLI's client of the rollguard HTTP API (DESIGN §7).
 * Requests and answers are JSON; a run is followed over Server-Sent Events,
 * falling back to polling. Nothing here prints: every failure is an rg_error
 * whose code gives the exit code (RG_EUNAVAILABLE with field "url" means no
 * server answered at all). */
#ifndef RG_CMD_CLIENT_H
#define RG_CMD_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/strbuf.h"

#define RG_CLIENT_DEFAULT_URL "http://127.0.0.1:7070"

typedef struct rg_client {
	char url[256];     /* base URL, no trailing '/' */
	char auth[512];    /* "Authorization: Bearer …" or "" — never printed */
	void *easy;        /* CURL *, reused so polling keeps its connection */
} rg_client;

/* Reads ROLLGUARD_URL and ROLLGUARD_TOKEN; without a token, the admin
 * token in the state directory of config (NULL: ./rollguard.yaml) when it
 * can be read. RG_EINVAL for a malformed URL or token (the token itself
 * never appears in a message). */
rg_err rg_client_init(rg_client *c, const char *config, rg_error *err);
void rg_client_release(rg_client *c);

/* method is "GET" or "POST"; path starts with "/" under /api/v1 (e.g.
 * "/runs/12"); body may be NULL. On a 2xx answer *out is the parsed JSON
 * (caller owns); otherwise the server's error message, with the code its
 * HTTP status maps to. */
rg_err rg_client_call(rg_client *c, const char *method, const char *path,
		      const json_t *body, json_t **out, rg_error *err);
/* GET of a text/plain resource (step logs); *text is NUL-terminated, owned. */
rg_err rg_client_get_text(rg_client *c, const char *path, char **text, size_t *len,
			  rg_error *err);

/* One line of a stream, without its terminator; nonzero stops the stream. */
typedef int (*rg_line_fn)(void *ctx, const char *line, size_t len);
/* Called at least every 250 ms while a stream is open; nonzero stops it. */
typedef int (*rg_tick_fn)(void *ctx);

/* GET path as an event stream (Last-Event-ID: last_event_id when > 0) and
 * hand each line to on_line. Returns RG_OK when a callback stopped it or the
 * server closed it cleanly; an error when it could not be opened or broke. */
rg_err rg_client_stream(rg_client *c, const char *path, int64_t last_event_id,
			rg_line_fn on_line, rg_tick_fn on_tick, void *ctx, rg_error *err);

/* What following a run tells its observer. Any callback may be NULL; a
 * nonzero return stops following. */
typedef struct rg_follow_ops {
	int (*on_event)(void *ctx, const json_t *event); /* each event once, oldest first */
	int (*on_run)(void *ctx, json_t *run);           /* fresh GET /runs/{id}; borrowed */
	int (*on_tick)(void *ctx);                       /* at least every 250 ms */
} rg_follow_ops;

/* Follows run_id until it reaches a terminal state or the observer stops:
 * the SSE stream first, then polling GET /runs/{id} every 500 ms if the
 * stream breaks. Short losses of the server (a restart) are ridden out.
 * *final (caller owns) is the newest copy of the run: terminal unless the
 * observer stopped early. */
rg_err rg_client_follow(rg_client *c, int64_t run_id, const rg_follow_ops *ops, void *ctx,
			json_t **final, rg_error *err);

/* succeeded failed rolled_back rollback_failed aborted. */
bool rg_client_state_terminal(const char *state);

/* ---- pure helpers (unit-tested) ------------------------------------------ */

/* Checks an http:// or https:// base URL and copies it without trailing '/'. */
rg_err rg_client_url_normalize(const char *in, char *out, size_t size, rg_error *err);
/* Appends "?key=value" (or "&key=value" when path has a query already),
 * percent-encoding value: a '+' in a version must not become a space.
 * RG_EINVAL when it does not fit. */
rg_err rg_client_query_add(char *path, size_t size, const char *key, const char *value,
			   rg_error *err);
/* A token is 1–400 printable ASCII characters without spaces. */
bool rg_client_token_valid(const char *token);

/* Server-Sent Events parser (WHATWG "event stream interpretation"), fed one
 * line at a time. After rg_cli_sse_line returned 1, event and data describe the
 * event just completed, until the next call. id persists across events. */
typedef struct rg_cli_sse {
	char id[32];       /* last event id */
	char event[64];    /* type; "message" when the event named none */
	rg_strbuf data;    /* data lines joined by '\n' */
	bool has_data;     /* a data field was seen since the last dispatch */
	bool dispatched;   /* the previous line completed an event */
} rg_cli_sse;

void rg_cli_sse_init(rg_cli_sse *p);
void rg_cli_sse_release(rg_cli_sse *p);
/* 1: an event is complete; 0: more lines needed; -1: out of memory or a
 * data field past 1 MiB. */
int rg_cli_sse_line(rg_cli_sse *p, const char *line, size_t len);
/* Hands every complete '\n'-terminated line of buf[0..len) to fn (a trailing
 * '\r' is removed), stopping early if fn returns nonzero (*stopped = 1).
 * Returns the number of bytes consumed; the rest is an unfinished line. */
size_t rg_cli_lines_take(char *buf, size_t len, rg_line_fn fn, void *ctx, int *stopped);

/* A read command's whole answer: GET path, then the list under key printed
 * as JSON (--json) or by print; the exit code. */
int rg_client_list(const char *config, const char *path, const char *key, bool json,
		   int (*print)(const json_t *list));

#endif
