/* routeplan.h — the route states (store.h rg_route_state) a traffic step
 * and a rollback ask the router for. Pure functions of the current state
 * and the releases involved, so every swap is decided the same way before
 * and after a restart, and can be tested without a router. */
#ifndef RG_ROUTEPLAN_H
#define RG_ROUTEPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

/* A step output naming backends ("127.0.0.1:9002", "[::1]:9002", or several
 * separated by commas and/or blanks) → "HOST:PORT,HOST:PORT" in out, each
 * written the one way the proxy names it (util/hostport.h). RG_EINVAL
 * quoting the bad entry; at most RG_BACKENDS_LEN bytes and 64 backends. */
rg_err rg_backends_normalize(const char *value, char *out, size_t size, rg_error *err);

/* The canary version on backends takes weight % of clients; the stable side
 * stays as it is in cur (which may be an empty state). */
void rg_routeplan_share(const rg_route_state *cur, const char *version, const char *backends,
			int weight, int64_t seed, int64_t run_id, rg_route_state *out);

/* version on backends becomes the stable release with all the traffic; the
 * release it replaces (cur's stable, if another one) stands by. */
void rg_routeplan_promote(const rg_route_state *cur, const char *version, const char *backends,
			  int64_t run_id, rg_route_state *out);

/* Takes version out of traffic at once: a canary share goes to 0; a stable
 * version gives way to the standby release. Returns false, with out = cur,
 * when version receives no traffic or no running release can replace it
 * (one that was retired must be started again first: planner.h). */
bool rg_routeplan_without(const rg_route_state *cur, const char *version, int64_t run_id,
			  rg_route_state *out);

/* Only version on backends, nothing else registered (a finished rollback). */
void rg_routeplan_only(const char *env, const char *version, const char *backends,
		       int64_t run_id, rg_route_state *out);

/* cur without its standby release (after it was retired). */
void rg_routeplan_retired(const rg_route_state *cur, int64_t run_id, rg_route_state *out);

/* "v1.2.0 10% · v1.1.0 90%" for events and logs. */
void rg_routeplan_describe(const rg_route_state *st, char *out, size_t size);

#endif
