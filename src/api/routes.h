/* routes.h — the API's routing table: method and path → handler (DESIGN §7).
 * Handlers run on the loop thread, validate every input before it reaches
 * the engine or the store, and describe their answer in an rg_reply that
 * server.c turns into an HTTP response. */
#ifndef RG_API_ROUTES_H
#define RG_API_ROUTES_H

#include <jansson.h>
#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

#include "api/alerts.h"
#include "auth/principal.h"
#include "auth/sessions.h"
#include "auth/tokens.h"
#include "api/sse.h"
#include "config/config.h"
#include "dataplane/dataplane.h"
#include "engine/engine.h"
#include "store/store.h"
#include "util/err.h"
#include "util/names.h"

/* What handlers may use; borrowed from rg_api. */
typedef struct rg_api_ctx {
	const rg_config *cfg;
	rg_engine *engine;
	rg_store *store;
	rg_sse_hub *sse;
	rg_dataplane *dp;       /* built-in proxies, or NULL */
	const rg_alerts_key *alerts_key; /* the secret of alerts:, loaded at start; NULL = none */
	struct rg_counters *counters; /* api/counters.h: the /metrics figures; NULL: none (503) */
	const rg_token_key *token_key; /* checks bearer tokens; NULL: none is valid */
	struct rg_incidents *incidents; /* incident/incident.h; NULL: none (answers 503) */
	bool tls;               /* server.tls: session cookies are Secure */
} rg_api_ctx;

typedef struct rg_request {
	struct MHD_Connection *conn;   /* query arguments and headers */
	const char *method;
	const char *path;              /* without the query string */
	const char *body;              /* complete, at most RG_BODY_MAX bytes */
	size_t body_len;
	const rg_principal *who;       /* set once admitted (api/access.h); NULL before */
	const char *actor;             /* who->name: the actor of what the request does */
	const rg_session *session;     /* the dashboard session it came with; NULL: a token */
} rg_request;

typedef struct rg_reply {
	unsigned status;
	const char *content_type;      /* static string */
	char *body;                    /* owned (malloc) */
	size_t body_len;
	char allow[32];                /* Allow header (405), "" if none */
	char location[64];             /* Location header (201), "" if none */
	char etag[48];                 /* ETag header, "" if none */
	struct MHD_Response *stream;   /* SSE response; the reply owns one reference */
	/* What the audit log says a write acted on, set by its handler. */
	char audit_env[RG_NAME_MAX + 8];
	char audit_target[160];        /* "run 12", "v1.2.0"; "" = the path */
	char audit_detail[256];        /* e.g. the reason given; never a secret */
	char audit_actor[RG_NAME_MAX + 1]; /* who, for a public route that learns it (sign-in) */
	char set_cookie[160];          /* Set-Cookie header, "" if none */
} rg_reply;

#define RG_JSON_CONTENT_TYPE "application/json"

typedef enum { RG_ROUTE_FOUND = 0, RG_ROUTE_NOT_FOUND, RG_ROUTE_BAD_METHOD } rg_route_result;

typedef struct rg_route_match {
	int index;            /* row of the routing table */
	const char *name;     /* e.g. "run_events" */
	int64_t run_id;       /* {id}; 0 if the route has none */
	char step[128];       /* {name}, "" if the route has none */
	char allow[32];       /* RG_ROUTE_BAD_METHOD: the methods the path accepts */
} rg_route_match;

/* Pure. RG_ROUTE_NOT_FOUND for an unknown path or a run id that is not a
 * positive integer ("no run 'abc'"); RG_ROUTE_BAD_METHOD when the path
 * exists for other methods (m->allow lists them). err says why. */
rg_route_result rg_route_find(const char *method, const char *path, rg_route_match *m,
			      rg_error *err);

/* Answers req; always fills reply, errors included. */
void rg_routes_handle(rg_api_ctx *ctx, const rg_request *req, rg_reply *reply);
void rg_reply_release(rg_reply *r);

/* v (stolen; NULL means out of memory) as a JSON body with status,
 * newline-terminated for curl. */
rg_err rg_reply_json(rg_reply *reply, unsigned status, json_t *v, rg_error *err);
/* {"error":{"code","message","field"?}} with the status of code. Returns
 * RG_ENOMEM (reply left with status 500 and no body) if it cannot be built. */
rg_err rg_reply_error(rg_reply *reply, unsigned status, const char *code, const rg_error *e);
json_t *rg_api_error_json(const char *code, const char *message, const char *field);

/* s copied into out with control characters masked: request text (a path
 * may hold a decoded newline) reaches the log only this way. */
void rg_request_log_text(char *out, size_t size, const char *s);

#endif
