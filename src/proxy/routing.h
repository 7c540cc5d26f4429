/* routing.h — the proxy's routing table: which release side (stable or
 * canary) and which backend a request goes to. A table is immutable once
 * built; the control plane publishes a new one and proxy workers pick up the
 * newest with one atomic read, while requests already under way keep the
 * table they started with. Must never lock or block on the request path
 * (acquire, pick, done, release, rg_backend_mark_*). The swap and the
 * reclamation scheme are described in docs/proxy-routing.md and above
 * rg_router_acquire in routing.c. */
#ifndef RG_PROXY_ROUTING_H
#define RG_PROXY_ROUTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "util/err.h"
#include "util/hostport.h"

/* At most this many backends per side (a retry's skip mask is 64 bits). */
#define RG_ROUTES_MAX_BACKENDS 64
/* The default sticky cookie and the longest cookie or header name. */
#define RG_ROUTES_DEFAULT_COOKIE "rg_release"
#define RG_ROUTES_NAME_MAX 64
/* The cookie value handed out to a client that had none: 16 hex digits. */
#define RG_ROUTE_TOKEN_LEN 16

typedef enum rg_route_side {
	RG_SIDE_NONE = 0, /* in a request: no side forced */
	RG_SIDE_STABLE,
	RG_SIDE_CANARY
} rg_route_side;

typedef enum rg_balance {
	RG_BALANCE_ROUND_ROBIN = 0,
	RG_BALANCE_LEAST_CONN
} rg_balance;

typedef enum rg_sticky_source {
	RG_STICKY_COOKIE = 0, /* the cookie sticky_name (default rg_release) */
	RG_STICKY_HEADER      /* the request header sticky_name */
} rg_sticky_source;

/* What the control plane asks for. Borrowed by rg_routes_build, which copies
 * everything it keeps. */
typedef struct rg_routes_side_spec {
	const char *const *backends; /* HOST:PORT (util/hostport.h), n of them (may be 0) */
	size_t n;
	rg_balance balance;
	int tag;                     /* the caller's, kept as is (rg_routes_tag) */
} rg_routes_side_spec;

typedef struct rg_routes_spec {
	rg_routes_side_spec stable;
	rg_routes_side_spec canary;
	int canary_weight;          /* percent of sticky buckets on canary, 0..100 */
	rg_sticky_source sticky;
	const char *sticky_name;    /* NULL: rg_release (cookie); required for a header */
	/* Mixed into the sticky hash. Keep it the same for every table of one
	 * rollout (so a user keeps their side while the weight moves) and change
	 * it for the next rollout (so a different slice of users goes first). */
	uint64_t sticky_seed;
} rg_routes_spec;

/* An immutable table (opaque) and an interned backend (opaque). */
typedef struct rg_routes rg_routes;
typedef struct rg_backend rg_backend;
/* Holds the current table and the backends every table refers to. */
typedef struct rg_router rg_router;

/* One request's inputs. Zero-initialise, then fill what is known. */
typedef struct rg_route_req {
	const char *sticky;              /* cookie/header value, NULL if absent */
	size_t sticky_len;
	const struct sockaddr *client;   /* AF_INET or AF_INET6; NULL allowed */
	rg_route_side force;             /* from X-Rollguard-Release, see rg_route_side_parse */
	/* A retry after a refused connection: set force to the first choice's
	 * side and bit choice.index here; those backends are not picked again. */
	uint64_t skip;
	int64_t now_ms;                  /* rg_mono_ms(), compared with health marks */
} rg_route_req;

/* One request's decision. The backend stays valid while the caller holds the
 * table it was picked from; call rg_route_done before rg_routes_release. */
typedef struct rg_route_choice {
	rg_route_side side;
	rg_backend *backend;   /* NULL when rg_route_pick failed */
	unsigned index;        /* position within the side, for req.skip */
	uint64_t version;      /* of the table that decided */
	/* The client sent no sticky cookie: answer with
	 * Set-Cookie: <rg_routes_sticky_name>=<cookie>. The token hashes to the
	 * very bucket this request was routed by, so the client's next requests
	 * land on the same side. Never set for a header source or a forced side. */
	bool set_cookie;
	char cookie[RG_ROUTE_TOKEN_LEN + 1];
} rg_route_choice;

/* ---- tables (control plane) ----------------------------------------------- */

/* Validates spec and builds an unpublished table owned by the caller, who
 * either publishes it (ownership passes to the router) or frees it with
 * rg_routes_release. RG_EINVAL names the bad entry in err->field
 * ("stable[1]", "canary_weight", "sticky_name") and quotes it in the
 * message; RG_ENOMEM. A table needs at least one backend in all. */
rg_err rg_routes_build(const rg_routes_spec *spec, rg_routes **out, rg_error *err);

/* Read-only accessors (any thread holding the table). The version is 0
 * until the table is published. */
uint64_t rg_routes_version(const rg_routes *t);
int rg_routes_weight(const rg_routes *t);
size_t rg_routes_count(const rg_routes *t, rg_route_side side);
rg_backend *rg_routes_backend(const rg_routes *t, rg_route_side side, size_t i);
rg_sticky_source rg_routes_sticky(const rg_routes *t);
const char *rg_routes_sticky_name(const rg_routes *t);
/* The side's tag from its spec (the dataplane: the statistics slot of the
 * side's release); 0 for RG_SIDE_NONE. */
int rg_routes_tag(const rg_routes *t, rg_route_side side);
/* Tables built and not yet freed, process-wide (leak checks, metrics). */
long rg_routes_alive(void);

/* ---- the router ------------------------------------------------------------ */

rg_err rg_router_new(rg_router **out, rg_error *err);
/* Only once no worker uses it any more: every acquired table released. */
void rg_router_free(rg_router *r);

/* Publishes t (control plane; publishers are serialised by a mutex that
 * workers never take). t gets version = the previous one + 1; its backends
 * are interned: a backend already known to the router (same address) is
 * shared, with its in-flight count and health mark. The table it replaces
 * is freed when its last request releases it. RG_EINVAL if t was already
 * published (t stays the caller's). */
rg_err rg_router_publish(rg_router *r, rg_routes *t, rg_error *err);
uint64_t rg_router_version(rg_router *r);

/* ---- the request path (workers; lock-free) --------------------------------- */

/* The current table for one request, or NULL if none was published yet.
 * Every non-NULL result is released exactly once with rg_routes_release. */
rg_routes *rg_router_acquire(rg_router *r);
void rg_routes_release(rg_routes *t);

/* Side: the forced side if it has backends; otherwise an empty side gives
 * way to the other; otherwise the sticky bucket (hash of the sticky value,
 * or of a fresh random token when the request has none — see make_token)
 * mod 100 < weight → canary. Backend: round-robin or least in-flight within
 * the side, skipping backends marked down and those in req->skip.
 * RG_EUNAVAILABLE ("no healthy backend": answer 502) when none is left;
 * out->side is set either way. On RG_OK the backend's in-flight count was
 * raised: call rg_route_done when the request ends. */
rg_err rg_route_pick(rg_routes *t, const rg_route_req *req, rg_route_choice *out);
/* Lowers the in-flight count; idempotent (clears out->backend). */
void rg_route_done(rg_route_choice *c);

/* "canary" / "stable" (the X-Rollguard-Release value, case-insensitive) →
 * the side; anything else → RG_SIDE_NONE. */
rg_route_side rg_route_side_parse(const char *s, size_t len);
const char *rg_route_side_name(rg_route_side side);

/* ---- backends and health ------------------------------------------------- */

const char *rg_backend_name(const rg_backend *b);          /* "127.0.0.1:9002", "[::1]:9002" */
const rg_sockaddr *rg_backend_addr(const rg_backend *b);
long rg_backend_inflight(const rg_backend *b);
bool rg_backend_is_down(const rg_backend *b, int64_t now_ms);
/* Lock-free, from any thread that holds a table containing b (a worker whose
 * connect was refused). Down until until_ms (rg_mono_ms clock; INT64_MAX
 * for "until marked up"). */
void rg_backend_mark_down(rg_backend *b, int64_t until_ms);
void rg_backend_mark_up(rg_backend *b);
/* The same by address, for the control plane (health checks, the API):
 * RG_ENOTFOUND if no published table ever named it. */
rg_err rg_router_mark_down(rg_router *r, const char *backend, int64_t until_ms, rg_error *err);
rg_err rg_router_mark_up(rg_router *r, const char *backend, rg_error *err);
/* What the router knows of an address (control plane, under the mutex): its
 * requests in flight and whether it is down at now_ms. RG_ENOTFOUND if no
 * table alive names it (a release's backends that left the table are known
 * until their last request ends). */
rg_err rg_router_backend_state(rg_router *r, const char *backend, int64_t now_ms, long *inflight,
			       bool *down, rg_error *err);

#endif
