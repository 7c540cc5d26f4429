/* pick.c — the dataplane on the request path: the proxy's pick, done and
 * failed callbacks. pick reads the sticky value and X-Rollguard-Release,
 * routes with the current table and tags the request with the statistics
 * slot of the side's release. Must never lock, block or allocate here
 * (except a slab of records when a worker's free list first runs dry). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dataplane/dataplane_internal.h"
#include "util/timeutil.h"

/* What done() needs of one request: the table it was picked from (held
 * until the request ends, so a swap never pulls it away), the choice (whose
 * backend's in-flight count goes back down) and the Set-Cookie value the
 * proxy reads until then.
 *
 * Records come from a per-thread free list, so the request path never calls
 * malloc: pick pops one, done pushes it back. A worker thread serves one
 * proxy for its whole life and a connection stays on the worker that
 * accepted it, so done runs on the thread that picked and a list only ever
 * holds records of one proxy. Records are carved from slabs of DP_SLAB,
 * listed per proxy under a mutex taken only when a list runs dry (warm-up),
 * and freed by rg_dataplane_stop after the proxy's workers are joined. */
typedef struct dp_rec {
	rg_routes *table;
	rg_route_choice choice;
	char cookie[RG_ROUTES_NAME_MAX + 1 + RG_ROUTE_TOKEN_LEN + 1]; /* NAME=VALUE */
	struct dp_rec *next;
} dp_rec;

#define DP_SLAB 256

struct dp_slab {
	dp_slab *next;
	dp_rec recs[DP_SLAB];
};

static _Thread_local dp_rec *free_recs;

static dp_rec *rec_get(dp_proxy *x)
{
	if (!free_recs) {
		dp_slab *s = calloc(1, sizeof *s);
		if (!s)
			return NULL;
		pthread_mutex_lock(&x->slabs_lock);
		s->next = x->slabs;
		x->slabs = s;
		pthread_mutex_unlock(&x->slabs_lock);
		for (size_t i = 0; i < DP_SLAB; i++) {
			s->recs[i].next = free_recs;
			free_recs = &s->recs[i];
		}
	}
	dp_rec *r = free_recs;
	free_recs = r->next;
	return r;
}

static void rec_put(dp_rec *r)
{
	r->next = free_recs;
	free_recs = r;
}

void dp_recs_free(dp_proxy *x)
{
	while (x->slabs) {
		dp_slab *next = x->slabs->next;
		free(x->slabs);
		x->slabs = next;
	}
}

/* ---- reading the request ------------------------------------------------------- */

static const char *trim(const char *p, const char *end, const char **tend)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*tend = end;
	return p;
}

/* The value of cookie name in one Cookie field ("a=1; name=v; b=2"), quotes
 * removed; NULL if absent or empty. Cookie names compare exactly. */
static const char *cookie_value(const char *v, size_t vlen, const char *name, size_t nlen,
				size_t *out_len)
{
	const char *p = v, *end = v + vlen;
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *pair_end = semi ? semi : end;
		const char *eq = memchr(p, '=', (size_t)(pair_end - p));
		if (eq) {
			const char *nend, *vend;
			const char *n = trim(p, eq, &nend);
			const char *val = trim(eq + 1, pair_end, &vend);
			if (vend - val >= 2 && *val == '"' && vend[-1] == '"') {
				val++;
				vend--;
			}
			if ((size_t)(nend - n) == nlen && memcmp(n, name, nlen) == 0 && vend > val) {
				*out_len = (size_t)(vend - val);
				return val;
			}
		}
		if (!semi)
			break;
		p = semi + 1;
	}
	return NULL;
}

static void read_sticky(const rg_routes *t, const rg_proxy_request *req, rg_route_req *rq)
{
	const rg_h1_head *h = req->head;
	const char *name = rg_routes_sticky_name(t);
	size_t nlen = strlen(name);
	if (rg_routes_sticky(t) == RG_STICKY_COOKIE) {
		for (int i = rg_h1_find(h, RG_H1_F_COOKIE, 0); i >= 0;
		     i = rg_h1_find(h, RG_H1_F_COOKIE, (uint32_t)i + 1)) {
			rg_h1_slice v = h->headers[i].value;
			rq->sticky = cookie_value(req->buf + v.off, v.len, name, nlen, &rq->sticky_len);
			if (rq->sticky)
				return;
		}
		return;
	}
	for (uint32_t i = 0; i < h->nheaders; i++) {
		const rg_h1_header *hd = &h->headers[i];
		if (hd->name.len == nlen && hd->value.len > 0 &&
		    strncasecmp(req->buf + hd->name.off, name, nlen) == 0) {
			rq->sticky = req->buf + hd->value.off;
			rq->sticky_len = hd->value.len;
			return;
		}
	}
}

/* A side is forced only by proxy.force_header, only from its `from`
 * ranges: anyone else could aim requests at the canary and have them
 * counted for it (and so force a rollback). The proxy never forwards it. */
static void read_force(const dp_proxy *x, const rg_proxy_request *req, rg_route_req *rq)
{
	const rg_env *e = x->env;
	if (!e->proxy_force_header ||
	    !rg_cidr_match(e->proxy_force_from, e->proxy_n_force_from,
			   (const struct sockaddr *)&req->client.ss))
		return;
	const rg_h1_head *h = req->head;
	size_t len = strlen(e->proxy_force_header);
	for (uint32_t i = 0; i < h->nheaders; i++)
		if (h->headers[i].name.len == len &&
		    strncasecmp(req->buf + h->headers[i].name.off, e->proxy_force_header, len) == 0) {
			rq->force = rg_route_side_parse(req->buf + h->headers[i].value.off,
							h->headers[i].value.len);
			return;
		}
}

/* ---- the retry ----------------------------------------------------------------

   The first attempt's record is done() before the retry's pick, so what the
   retry needs travels in the target's retry_hint, which the proxy hands
   back: the side and index of the first choice, whether it handed out a
   cookie, and the low bits of its table's version. On the same table the
   retry keeps the side and, after a refused connect, skips the backend
   (which failed() has also marked down, for the requests that follow).
   The side is forced only if no cookie was handed out, since a forced side
   sets no cookie; with one, the same inputs on the same table give the same
   side anyway. On a newer table, index and side may mean something else:
   the retry is routed afresh, and the down mark still keeps it off the
   backend that refused. A pooled connection that died (the other reason
   for a retry) says nothing about the backend: no skip. */

#define HINT_VALID (UINT64_C(1) << 63)
#define HINT_COOKIE (UINT64_C(1) << 8)
#define HINT_VERSION(v) (((uint64_t)(v) & 0x7fffffffu) << 32)

static uint64_t hint_of(const rg_route_choice *c)
{
	return HINT_VALID | HINT_VERSION(c->version) | (c->set_cookie ? HINT_COOKIE : 0) |
	       ((uint64_t)c->side << 6) | (c->index & 63u);
}

static void read_retry(const rg_routes *t, const rg_proxy_request *req, rg_route_req *rq)
{
	uint64_t h = req->retry_hint;
	if (!(h & HINT_VALID) || (h & HINT_VERSION(UINT32_MAX)) != HINT_VERSION(rg_routes_version(t)))
		return;
	rg_route_side side = (rg_route_side)((h >> 6) & 3);
	if (rq->force == RG_SIDE_NONE && !(h & HINT_COOKIE))
		rq->force = side;
	if (req->retry_reason == RG_UPSTREAM_CONNECT)
		rq->skip = UINT64_C(1) << (h & 63);
}

/* ---- the callbacks -------------------------------------------------------------- */

int dp_pick(void *ctx, const rg_proxy_request *req, rg_proxy_target *out)
{
	dp_proxy *x = ctx;
	if (!atomic_load_explicit(&x->routable, memory_order_acquire))
		return 1;
	rg_routes *t = rg_router_acquire(x->router);
	if (!t)
		return 1;
	dp_rec *r = rec_get(x);
	if (!r) {
		rg_routes_release(t);
		return 1;
	}
	rg_route_req rq = { .client = (const struct sockaddr *)&req->client.ss, .now_ms = rg_mono_ms() };
	read_sticky(t, req, &rq);
	read_force(x, req, &rq);
	if (req->attempt == 1)
		read_retry(t, req, &rq);
	if (rg_route_pick(t, &rq, &r->choice) != RG_OK) {
		/* Every backend of the side is down (or was just tried): the
		 * error counts for the side's release. */
		out->slot = rg_routes_tag(t, r->choice.side);
		rg_routes_release(t);
		rec_put(r);
		return 1;
	}
	r->table = t;
	out->addr = *rg_backend_addr(r->choice.backend);
	out->slot = rg_routes_tag(t, r->choice.side);
	out->set_cookie = NULL;
	if (r->choice.set_cookie) {
		snprintf(r->cookie, sizeof r->cookie, "%s=%s", rg_routes_sticky_name(t),
			 r->choice.cookie);
		out->set_cookie = r->cookie;
	}
	out->retry_hint = hint_of(&r->choice);
	out->token = r;
	return 0;
}

void dp_done(void *ctx, void *token, int status)
{
	dp_rec *r = token;
	rg_route_done(&r->choice);
	rg_routes_release(r->table);
	r->table = NULL;
	rec_put(r);
}

/* A refused (or timed out) connect: the backend is skipped by every worker
 * for DP_DOWN_MS, then tried again. The record still holds the table, so
 * the backend is alive. */
void dp_failed(void *ctx, void *token, rg_upstream_error kind)
{
	dp_rec *r = token;
	if (kind == RG_UPSTREAM_CONNECT && r->choice.backend)
		rg_backend_mark_down(r->choice.backend, rg_mono_ms() + DP_DOWN_MS);
}
