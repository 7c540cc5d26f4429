/* routing.c — immutable routing tables, their atomic swap and reclamation,
 * and the per-request choice of side and backend. Workers never lock,
 * never wait and never allocate here; the mutex below is taken by the
 * control plane only (publish, mark by name, free). */
#include "proxy/routing.h"

#include <arpa/inet.h>
#include <assert.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "util/alloc.h"

#define RELAXED memory_order_relaxed
#define ACQUIRE memory_order_acquire
#define RELEASE memory_order_release
#define ACQ_REL memory_order_acq_rel

#define TABLE_MAGIC 0x52475254u /* "RGRT" while alive */

static_assert(sizeof(uintptr_t) == 8, "the packed table word needs 64-bit pointers");
static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "the request path must be lock-free");

/* An interned backend. One object per address per router, shared by every
 * table that names the address, so its in-flight count and health mark
 * survive swaps. refs counts the tables that point at it; a registered
 * backend whose refs reached 0 is freed by the next publish (control
 * plane, under the mutex), never by a worker, so workers need no lock. */
struct rg_backend {
	alignas(64) _Atomic long inflight;
	_Atomic int64_t down_until;     /* down while now_ms < down_until */
	_Atomic long refs;
	bool registered;                /* in the router's registry */
	rg_sockaddr addr;
	char name[RG_HOSTPORT_LEN];     /* "[ffff:…:ffff]:65535" */
};

typedef struct side {
	rg_backend **backends;          /* into rg_routes.slots */
	unsigned n;
	rg_balance balance;
	int tag;
} side;

struct rg_routes {
	/* Written before publication, read-only after. */
	uint32_t magic;
	uint64_t version;
	rg_router *router;              /* NULL until published */
	uint64_t salt;                  /* per table: where round-robin starts */
	uint64_t seed;                  /* per rollout: sticky buckets */
	int weight;
	rg_sticky_source sticky;
	char sticky_name[RG_ROUTES_NAME_MAX + 1];
	side sides[2];                  /* [0] stable, [1] canary */
	/* Written on the request path, each on its own line. */
	alignas(64) _Atomic int64_t refs;
	alignas(64) _Atomic uint64_t rr[2];
	alignas(64) rg_backend *slots[];
};

struct rg_router {
	alignas(64) _Atomic uint64_t current; /* packed: see below */
	alignas(64) pthread_mutex_t lock;     /* control plane only */
	_Atomic uint64_t version;
	rg_backend **known;
	size_t nknown, capknown;
};

static _Atomic long tables_alive;

static int side_index(rg_route_side s)
{
	return s == RG_SIDE_CANARY ? 1 : 0;
}

/* ---- hashing ------------------------------------------------------------------ */

static uint64_t mix(uint64_t x) /* splitmix64's finaliser */
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t hash_bytes(uint64_t seed, const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ull ^ mix(seed);
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return mix(h);
}

/* A user's bucket 0..99: fixed for a given value and seed, whatever the
 * weight, which is what makes the assignment monotone in the weight. */
static unsigned bucket(uint64_t seed, const char *v, size_t n)
{
	return (unsigned)(hash_bytes(seed, v, n) % 100);
}

static uint64_t random_u64(void)
{
	uint64_t x;
	if (getrandom(&x, sizeof x, GRND_NONBLOCK) == (ssize_t)sizeof x)
		return x;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return mix((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uintptr_t)&x);
}

/* ---- backends --------------------------------------------------------------- */

static rg_backend *backend_new(const rg_sockaddr *sa)
{
	rg_backend *b = aligned_alloc(64, (sizeof *b + 63) & ~(size_t)63);
	if (!b)
		return NULL;
	memset(b, 0, sizeof *b);
	atomic_init(&b->inflight, 0);
	atomic_init(&b->down_until, INT64_MIN);
	atomic_init(&b->refs, 1);
	b->addr = *sa;
	rg_sockaddr_format((const struct sockaddr *)&sa->ss, b->name, sizeof b->name);
	return b;
}

static bool same_addr(const rg_backend *b, const rg_sockaddr *sa)
{
	return rg_sockaddr_equal(&b->addr, sa);
}

/* A table lets go of a backend. A private one (never published) dies with
 * its table; a registered one is left for the control plane's sweep. The
 * decrement is the last thing this thread does with b. */
static void backend_drop(rg_backend *b)
{
	bool registered = b->registered;
	if (atomic_fetch_sub_explicit(&b->refs, 1, ACQ_REL) == 1 && !registered)
		free(b);
}

const char *rg_backend_name(const rg_backend *b) { return b->name; }
const rg_sockaddr *rg_backend_addr(const rg_backend *b) { return &b->addr; }

long rg_backend_inflight(const rg_backend *b)
{
	return atomic_load_explicit(&((rg_backend *)b)->inflight, RELAXED);
}

bool rg_backend_is_down(const rg_backend *b, int64_t now_ms)
{
	return now_ms < atomic_load_explicit(&((rg_backend *)b)->down_until, RELAXED);
}

void rg_backend_mark_down(rg_backend *b, int64_t until_ms)
{
	atomic_store_explicit(&b->down_until, until_ms, RELAXED);
}

void rg_backend_mark_up(rg_backend *b)
{
	atomic_store_explicit(&b->down_until, INT64_MIN, RELAXED);
}

/* ---- building a table ------------------------------------------------------- */

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static rg_err check_spec(const rg_routes_spec *spec, rg_error *err)
{
	if (spec->canary_weight < 0 || spec->canary_weight > 100)
		return rg_fail(err, RG_EINVAL, "canary_weight",
			       "canary weight %d is not a percentage (0..100)", spec->canary_weight);
	const rg_routes_side_spec *sides[2] = { &spec->stable, &spec->canary };
	static const char *const names[2] = { "stable", "canary" };
	for (int s = 0; s < 2; s++) {
		if (sides[s]->n > RG_ROUTES_MAX_BACKENDS)
			return rg_fail(err, RG_EINVAL, names[s], "%zu %s backends (at most %d)",
				       sides[s]->n, names[s], RG_ROUTES_MAX_BACKENDS);
		if (sides[s]->balance != RG_BALANCE_ROUND_ROBIN &&
		    sides[s]->balance != RG_BALANCE_LEAST_CONN)
			return rg_fail(err, RG_EINVAL, names[s], "unknown balancing mode %d for %s",
				       (int)sides[s]->balance, names[s]);
	}
	if (spec->stable.n + spec->canary.n == 0)
		return rg_fail(err, RG_EINVAL, "stable", "no backends: a table needs at least one");
	if (spec->sticky != RG_STICKY_COOKIE && spec->sticky != RG_STICKY_HEADER)
		return rg_fail(err, RG_EINVAL, "sticky", "unknown sticky source %d", (int)spec->sticky);
	const char *name = spec->sticky_name;
	if (!name && spec->sticky == RG_STICKY_HEADER)
		return rg_fail(err, RG_EINVAL, "sticky_name", "a sticky header needs a name");
	if (name) {
		size_t n = strlen(name);
		bool ok = n > 0 && n <= RG_ROUTES_NAME_MAX;
		for (size_t i = 0; ok && i < n; i++)
			ok = is_tchar((unsigned char)name[i]);
		if (!ok)
			return rg_fail(err, RG_EINVAL, "sticky_name",
				       "bad sticky name '%s' (1..%d token characters)", name,
				       RG_ROUTES_NAME_MAX);
	}
	return RG_OK;
}

static void table_free(rg_routes *t)
{
	size_t n = t->sides[0].n + t->sides[1].n;
	for (size_t i = 0; i < n; i++)
		if (t->slots[i])
			backend_drop(t->slots[i]);
	t->magic = 0;
	free(t);
	atomic_fetch_sub_explicit(&tables_alive, 1, RELAXED);
}

/* Parses one side's backends into slots; a duplicate within a side would
 * skew the balancing, so it is an error. */
static rg_err fill_side(rg_routes *t, int s, const rg_routes_side_spec *ss, rg_backend **slots,
			rg_error *err)
{
	const char *sname = s ? "canary" : "stable";
	t->sides[s] = (side){ .backends = slots, .n = (unsigned)ss->n, .balance = ss->balance,
			      .tag = ss->tag };
	for (size_t i = 0; i < ss->n; i++) {
		char field[32];
		snprintf(field, sizeof field, "%s[%zu]", sname, i);
		const char *v = ss->backends[i] ? ss->backends[i] : "";
		rg_sockaddr sa;
		const char *why = rg_hostport_check(v, RG_HOSTPORT_CONNECT, &sa);
		if (why)
			return rg_fail(err, RG_EINVAL, field, "bad backend '%s' in %s: %s", v, field, why);
		for (size_t j = 0; j < i; j++)
			if (same_addr(slots[j], &sa))
				return rg_fail(err, RG_EINVAL, field, "duplicate backend '%s' in %s", v,
					       field);
		if (!(slots[i] = backend_new(&sa)))
			return rg_fail(err, RG_ENOMEM, field, "out of memory");
	}
	return RG_OK;
}

rg_err rg_routes_build(const rg_routes_spec *spec, rg_routes **out, rg_error *err)
{
	*out = NULL;
	rg_err rc = check_spec(spec, err);
	if (rc)
		return rc;
	size_t n = spec->stable.n + spec->canary.n;
	size_t size = (sizeof(rg_routes) + n * sizeof(rg_backend *) + 63) & ~(size_t)63;
	rg_routes *t = aligned_alloc(64, size);
	if (!t)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	memset(t, 0, size);
	atomic_fetch_add_explicit(&tables_alive, 1, RELAXED);
	/* The packed word keeps bits 6..47 of the address (see acquire). */
	if ((uintptr_t)t >> 48) {
		table_free(t);
		return rg_fail(err, RG_EINTERNAL, NULL, "table address beyond 48 bits");
	}
	t->magic = TABLE_MAGIC;
	t->salt = random_u64();
	t->seed = spec->sticky_seed;
	t->weight = spec->canary_weight;
	t->sticky = spec->sticky;
	snprintf(t->sticky_name, sizeof t->sticky_name, "%s",
		 spec->sticky_name ? spec->sticky_name : RG_ROUTES_DEFAULT_COOKIE);
	atomic_init(&t->refs, 1); /* the builder's */
	/* Start the rotation anywhere, so that frequent swaps do not send each
	 * new table's first requests to the first backend. */
	atomic_init(&t->rr[0], t->salt >> 8);
	atomic_init(&t->rr[1], t->salt >> 16);
	if ((rc = fill_side(t, 0, &spec->stable, t->slots, err)) ||
	    (rc = fill_side(t, 1, &spec->canary, t->slots + spec->stable.n, err))) {
		table_free(t);
		return rc;
	}
	*out = t;
	return RG_OK;
}

uint64_t rg_routes_version(const rg_routes *t) { return t->version; }
int rg_routes_weight(const rg_routes *t) { return t->weight; }
rg_sticky_source rg_routes_sticky(const rg_routes *t) { return t->sticky; }
const char *rg_routes_sticky_name(const rg_routes *t) { return t->sticky_name; }
long rg_routes_alive(void) { return atomic_load_explicit(&tables_alive, RELAXED); }

int rg_routes_tag(const rg_routes *t, rg_route_side s)
{
	return s == RG_SIDE_NONE ? 0 : t->sides[side_index(s)].tag;
}

size_t rg_routes_count(const rg_routes *t, rg_route_side s)
{
	return s == RG_SIDE_NONE ? 0 : t->sides[side_index(s)].n;
}

rg_backend *rg_routes_backend(const rg_routes *t, rg_route_side s, size_t i)
{
	return i < rg_routes_count(t, s) ? t->sides[side_index(s)].backends[i] : NULL;
}

/* ---- the swap --------------------------------------------------------------

   Reclamation: a split reference count. The router's current table lives in
   one 64-bit atomic word together with an "outer" count: bits 0..41 hold the
   table's address shifted right by 6 (tables are 64-byte aligned and below
   2^48), bits 42..63 the number of requests that acquired this table while
   it was current and have not released it. Each table also has an "inner"
   count, refs, which is 0 from the moment it is published.

   acquire: one fetch_add of 1<<42 on the word. It returns the table and, in
     the same indivisible step, registers the request in the outer count.
   release: while the word still holds this table, CAS the word's count down
     by one and stop. Once the word holds another table, decrement refs
     instead; whoever takes refs to 0 frees the table.
   publish: exchange the word for (new, 0), obtaining (old, m), then add m to
     old->refs; if that makes refs 0, free old.

   Why it is correct. (1) Every request that holds a table has exactly one
   unit: in the word while the table is current (a release that CASes the
   word down removes its own unit, and the table is still current then, so
   it is published and alive), or, after the swap, in refs: the exchange
   moves all m units at once, atomically with unpublishing. (2) Before the
   publisher's add, refs has only been decremented (by requests that saw the
   swap), so it is <= 0 and no decrement can observe the 1 -> 0 step; after
   the add, refs = (units moved) - (releases so far) = requests still holding
   the table, so it reaches 0 exactly once, when the last of them is done —
   by the publisher's add if they all finished already, otherwise by the
   last release. (3) A table is never published twice and cannot be freed
   while any request holds a unit, so a word holding this table's address
   always means this table: no ABA. (4) acquire cannot read a table that is
   being freed: the fetch_add that returns the address is the same atomic
   step that records the unit, and a table whose word carries units is not
   freed. Memory order: the exchange is acq_rel (the new table's contents
   are visible to every acquire, which is an acquire), the release CAS and
   the refs decrements are release (a request's reads of the table happen
   before the free), and the free follows an acquire on refs.

   Cost on the request path: one fetch_add to acquire; a load and a CAS (or
   a fetch_sub after a swap) to release — no lock, no wait; a CAS that loses
   to another request's acquire simply retries with the value it got. The
   outer count is bounded by the requests in flight on one table (2^22 - 1,
   about four million; a request needs a client socket, so this is above any
   descriptor limit in use). A worker does free() a table when it is the
   last user of a replaced one: once per swap, not per request. */

#define PTR_BITS 42
#define PTR_MASK ((UINT64_C(1) << PTR_BITS) - 1)
#define COUNT_ONE (UINT64_C(1) << PTR_BITS)

static uint64_t pack(const rg_routes *t) { return (uint64_t)(uintptr_t)t >> 6; }
static rg_routes *unpack(uint64_t w) { return (rg_routes *)(uintptr_t)((w & PTR_MASK) << 6); }

rg_routes *rg_router_acquire(rg_router *r)
{
	uint64_t w = atomic_fetch_add_explicit(&r->current, COUNT_ONE, ACQUIRE);
	rg_routes *t = unpack(w);
	if (t)
		return t;
	/* Nothing published yet: take the unit back. If a table appeared in
	 * the meantime, the publisher discarded the empty word's count. */
	w += COUNT_ONE;
	while (unpack(w) == NULL)
		if (atomic_compare_exchange_weak_explicit(&r->current, &w, w - COUNT_ONE, RELAXED,
							  RELAXED))
			break;
	return NULL;
}

static void retire(rg_routes *old, uint64_t units)
{
	if (!old)
		return;
	int64_t m = (int64_t)units;
	if (atomic_fetch_add_explicit(&old->refs, m, ACQ_REL) + m == 0)
		table_free(old);
}

void rg_routes_release(rg_routes *t)
{
	if (!t)
		return;
	assert(t->magic == TABLE_MAGIC);
	rg_router *r = t->router;
	if (r) {
		uint64_t w = atomic_load_explicit(&r->current, RELAXED);
		while (unpack(w) == t) {
			assert(w >= COUNT_ONE);
			if (atomic_compare_exchange_weak_explicit(&r->current, &w, w - COUNT_ONE,
								  RELEASE, RELAXED))
				return;
		}
	}
	if (atomic_fetch_sub_explicit(&t->refs, 1, ACQ_REL) == 1)
		table_free(t);
}

/* ---- the router ------------------------------------------------------------- */

rg_err rg_router_new(rg_router **out, rg_error *err)
{
	rg_router *r = aligned_alloc(64, (sizeof *r + 63) & ~(size_t)63);
	if (!r) {
		*out = NULL;
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	}
	memset(r, 0, sizeof *r);
	atomic_init(&r->current, 0);
	atomic_init(&r->version, 0);
	pthread_mutex_init(&r->lock, NULL);
	*out = r;
	return RG_OK;
}

/* Frees registered backends no table refers to any more. Under the lock;
 * only intern (also under the lock) could hand such a backend out again. */
static void sweep(rg_router *r)
{
	size_t k = 0;
	for (size_t i = 0; i < r->nknown; i++) {
		rg_backend *b = r->known[i];
		if (atomic_load_explicit(&b->refs, ACQUIRE) == 0)
			free(b);
		else
			r->known[k++] = b;
	}
	r->nknown = k;
}

/* Replaces the private backends of an unpublished table by the router's
 * objects for the same addresses, registering the new ones. */
static rg_err intern(rg_router *r, rg_routes *t, rg_error *err)
{
	size_t n = t->sides[0].n + t->sides[1].n;
	if (RG_ALLOC_GROW(r->known, r->nknown + n, r->capknown))
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < n; i++) {
		rg_backend *mine = t->slots[i];
		rg_backend *found = NULL;
		for (size_t j = 0; j < r->nknown && !found; j++)
			if (same_addr(r->known[j], &mine->addr))
				found = r->known[j];
		if (found) {
			atomic_fetch_add_explicit(&found->refs, 1, RELAXED);
			t->slots[i] = found;
			backend_drop(mine);
		} else {
			mine->registered = true;
			r->known[r->nknown++] = mine;
		}
	}
	return RG_OK;
}

rg_err rg_router_publish(rg_router *r, rg_routes *t, rg_error *err)
{
	assert(t->magic == TABLE_MAGIC);
	if (t->router)
		return rg_fail(err, RG_EINVAL, NULL, "routing table %llu is already published",
			       (unsigned long long)t->version);
	pthread_mutex_lock(&r->lock);
	rg_err rc = intern(r, t, err);
	if (rc) {
		pthread_mutex_unlock(&r->lock);
		return rc;
	}
	t->router = r;
	t->version = atomic_load_explicit(&r->version, RELAXED) + 1;
	atomic_store_explicit(&t->refs, 0, RELAXED); /* the builder's unit becomes "published" */
	uint64_t old = atomic_exchange_explicit(&r->current, pack(t), ACQ_REL);
	atomic_store_explicit(&r->version, t->version, RELAXED);
	retire(unpack(old), old >> PTR_BITS);
	sweep(r);
	pthread_mutex_unlock(&r->lock);
	return RG_OK;
}

uint64_t rg_router_version(rg_router *r)
{
	return atomic_load_explicit(&r->version, RELAXED);
}

void rg_router_free(rg_router *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	uint64_t old = atomic_exchange_explicit(&r->current, 0, ACQ_REL);
	retire(unpack(old), old >> PTR_BITS);
	sweep(r);
	assert(r->nknown == 0 && "a table is still held: release every request first");
	pthread_mutex_unlock(&r->lock);
	free(r->known);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* The known backend at address backend ("host:port"); live_only skips the
 * ones no table names any more (refs 0). On RG_OK it returns with r->lock
 * held, so *out stays the router's while the caller reads or marks it; the
 * caller unlocks. */
static rg_err known_locked(rg_router *r, const char *backend, bool live_only, rg_backend **out,
			   rg_error *err)
{
	rg_sockaddr sa;
	const char *why = rg_hostport_check(backend, RG_HOSTPORT_CONNECT, &sa);
	if (why)
		return rg_fail(err, RG_EINVAL, "backend", "bad backend '%s': %s", backend, why);
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->nknown; i++) {
		rg_backend *b = r->known[i];
		if (same_addr(b, &sa) &&
		    (!live_only || atomic_load_explicit(&b->refs, ACQUIRE) > 0)) {
			*out = b;
			return RG_OK;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return rg_fail(err, RG_ENOTFOUND, "backend", "unknown backend '%s'", backend);
}

static rg_err mark(rg_router *r, const char *backend, int64_t until_ms, rg_error *err)
{
	rg_backend *b;
	rg_err rc = known_locked(r, backend, false, &b, err);
	if (rc)
		return rc;
	atomic_store_explicit(&b->down_until, until_ms, RELAXED);
	pthread_mutex_unlock(&r->lock);
	return RG_OK;
}

rg_err rg_router_mark_down(rg_router *r, const char *backend, int64_t until_ms, rg_error *err)
{
	return mark(r, backend, until_ms, err);
}

rg_err rg_router_mark_up(rg_router *r, const char *backend, rg_error *err)
{
	return mark(r, backend, INT64_MIN, err);
}

rg_err rg_router_backend_state(rg_router *r, const char *backend, int64_t now_ms, long *inflight,
			       bool *down, rg_error *err)
{
	rg_backend *b;
	rg_err rc = known_locked(r, backend, true, &b, err);
	if (rc)
		return rc;
	*inflight = rg_backend_inflight(b);
	*down = rg_backend_is_down(b, now_ms);
	pthread_mutex_unlock(&r->lock);
	return RG_OK;
}

/* ---- one request's choice ----------------------------------------------------- */

/* A request without a sticky value gets a fresh random token and is routed
 * by its bucket — the bucket its cookie will give on the next request, so
 * a browser stays on the side it first landed on, while clients that keep
 * no cookie (load generators, health probes, most API clients) are spread
 * request by request in the configured proportion. (Hashing the client
 * address instead would send every request from one host — a NAT, a load
 * balancer, a load test — to the same side.) The token identifies nothing
 * and grants nothing: a client may pick its own side with
 * X-Rollguard-Release anyway. A per-thread splitmix64 stream seeded once
 * from getrandom keeps this off the kernel on the request path. */
static void make_token(char *out)
{
	static _Thread_local uint64_t state;
	static _Thread_local bool seeded;
	if (!seeded) {
		state = random_u64();
		seeded = true;
	}
	state += 0x9E3779B97F4A7C15ull;
	uint64_t h = mix(state);
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < RG_ROUTE_TOKEN_LEN; i++)
		out[i] = hex[(h >> (60 - 4 * i)) & 15];
	out[RG_ROUTE_TOKEN_LEN] = '\0';
}

static rg_route_side choose_side(const rg_routes *t, const rg_route_req *req, rg_route_choice *out)
{
	if (req->force != RG_SIDE_NONE && t->sides[side_index(req->force)].n > 0)
		return req->force;
	const char *v = req->sticky;
	size_t vn = req->sticky_len;
	if (!v) {
		make_token(out->cookie);
		out->set_cookie = t->sticky == RG_STICKY_COOKIE;
		v = out->cookie;
		vn = RG_ROUTE_TOKEN_LEN;
	}
	if (t->sides[0].n == 0)
		return RG_SIDE_CANARY;
	if (t->sides[1].n == 0)
		return RG_SIDE_STABLE;
	return (int)bucket(t->seed, v, vn) < t->weight ? RG_SIDE_CANARY : RG_SIDE_STABLE;
}

rg_err rg_route_pick(rg_routes *t, const rg_route_req *req, rg_route_choice *out)
{
	memset(out, 0, sizeof *out);
	out->version = t->version;
	out->side = choose_side(t, req, out);
	const side *sd = &t->sides[side_index(out->side)];
	unsigned n = sd->n;
	uint64_t start = atomic_fetch_add_explicit(&t->rr[side_index(out->side)], 1, RELAXED);
	unsigned best = n;
	long best_load = 0;
	for (unsigned k = 0; k < n; k++) {
		unsigned i = (unsigned)((start + k) % n);
		if ((req->skip >> i) & 1)
			continue;
		rg_backend *b = sd->backends[i];
		if (rg_backend_is_down(b, req->now_ms))
			continue;
		if (sd->balance == RG_BALANCE_ROUND_ROBIN) {
			best = i;
			break;
		}
		long load = atomic_load_explicit(&b->inflight, RELAXED);
		if (best == n || load < best_load) {
			best = i;
			best_load = load;
		}
	}
	if (best == n)
		return RG_EUNAVAILABLE;
	out->index = best;
	out->backend = sd->backends[best];
	atomic_fetch_add_explicit(&out->backend->inflight, 1, RELAXED);
	return RG_OK;
}

void rg_route_done(rg_route_choice *c)
{
	if (!c->backend)
		return;
	atomic_fetch_sub_explicit(&c->backend->inflight, 1, RELAXED);
	c->backend = NULL;
}

rg_route_side rg_route_side_parse(const char *s, size_t len)
{
	if (len == 6 && strncasecmp(s, "canary", 6) == 0)
		return RG_SIDE_CANARY;
	if (len == 6 && strncasecmp(s, "stable", 6) == 0)
		return RG_SIDE_STABLE;
	return RG_SIDE_NONE;
}

const char *rg_route_side_name(rg_route_side s)
{
	return s == RG_SIDE_CANARY ? "canary" : s == RG_SIDE_STABLE ? "stable" : "none";
}
