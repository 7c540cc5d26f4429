/* test_routing.c — the proxy's routing tables: validation, the choice of
 * side (weights, stickiness, forcing, empty sides), balancing, health marks,
 * and the atomic swap under concurrent readers (run under ASan/LSan: a table
 * read after its free or never freed fails the suite). */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy/routing.h"

TestSuite(routing_build);
TestSuite(routing_side);
TestSuite(routing_balance);
TestSuite(routing_health);
TestSuite(routing_swap);

static rg_routes *build(const char *const *stable, size_t ns, const char *const *canary, size_t nc,
			int weight, rg_balance bal)
{
	rg_routes_spec spec = {
		.stable = { stable, ns, bal },
		.canary = { canary, nc, bal },
		.canary_weight = weight,
		.sticky_seed = 42,
	};
	rg_routes *t = NULL;
	rg_error err = { 0 };
	cr_assert_eq(rg_routes_build(&spec, &t, &err), RG_OK, "%s", err.message);
	return t;
}

static const char *const ST[] = { "127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003" };
static const char *const CA[] = { "127.0.0.2:9101", "127.0.0.2:9102" };

static rg_route_side pick_side(rg_routes *t, const char *sticky)
{
	rg_route_req req = { .sticky = sticky, .sticky_len = sticky ? strlen(sticky) : 0 };
	rg_route_choice c;
	cr_assert_eq(rg_route_pick(t, &req, &c), RG_OK);
	rg_route_done(&c);
	return c.side;
}

/* ---- validation ----------------------------------------------------------- */

static void expect_invalid(const rg_routes_spec *spec, const char *field, const char *quoted)
{
	rg_routes *t = (rg_routes *)1;
	rg_error err = { 0 };
	cr_assert_eq(rg_routes_build(spec, &t, &err), RG_EINVAL, "accepted, wanted %s", field);
	cr_assert_null(t);
	cr_assert_str_eq(err.field, field);
	if (quoted)
		cr_assert(strstr(err.message, quoted), "message '%s' lacks '%s'", err.message, quoted);
}

Test(routing_build, bad_backends_are_named)
{
	const char *bad[] = { "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
			      "127.0.0.1:080", "127.0.0.1:+80", "127.0.0.1: 80", "localhost",
			      "127.0.0.01:80", "127.0.0:80", "0.0.0.0:80", "224.0.0.1:80",
			      "255.255.255.255:80", "::1:80", "[::1]", "[::]:80", "[ff02::1]:80",
			      "[::1]:0", ":80", "" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		const char *list[] = { "127.0.0.1:9001", bad[i] };
		rg_routes_spec spec = { .canary = { list, 2, RG_BALANCE_ROUND_ROBIN } };
		char quoted[64];
		snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
		expect_invalid(&spec, "canary[1]", quoted);
	}
	cr_assert_eq(rg_routes_alive(), 0, "failed builds leave nothing behind");
}

Test(routing_build, other_errors)
{
	const char *dup[] = { "127.0.0.1:9001", "127.0.0.1:9001" };
	rg_routes_spec spec = { .stable = { dup, 2, RG_BALANCE_ROUND_ROBIN } };
	expect_invalid(&spec, "stable[1]", "duplicate backend '127.0.0.1:9001'");
	const char *dup6[] = { "[::1]:9001", "[0:0::1]:9001" };
	rg_routes_spec spec6 = { .stable = { dup6, 2, RG_BALANCE_ROUND_ROBIN } };
	expect_invalid(&spec6, "stable[1]", "duplicate backend '[0:0::1]:9001'");

	rg_routes_spec none = { 0 };
	expect_invalid(&none, "stable", "no backends");

	rg_routes_spec w = { .stable = { ST, 1, 0 }, .canary_weight = 101 };
	expect_invalid(&w, "canary_weight", "101");
	w.canary_weight = -1;
	expect_invalid(&w, "canary_weight", "-1");

	rg_routes_spec h = { .stable = { ST, 1, 0 }, .sticky = RG_STICKY_HEADER };
	expect_invalid(&h, "sticky_name", "needs a name");
	h.sticky_name = "X User";
	expect_invalid(&h, "sticky_name", "'X User'");
	h.sticky_name = "";
	expect_invalid(&h, "sticky_name", NULL);

	rg_routes_spec b = { .stable = { ST, 1, (rg_balance)7 } };
	expect_invalid(&b, "stable", "balancing");

	const char *many[RG_ROUTES_MAX_BACKENDS + 1];
	char names[RG_ROUTES_MAX_BACKENDS + 1][24];
	for (int i = 0; i <= RG_ROUTES_MAX_BACKENDS; i++) {
		snprintf(names[i], sizeof names[i], "10.0.0.1:%d", 1000 + i);
		many[i] = names[i];
	}
	rg_routes_spec m = { .canary = { many, RG_ROUTES_MAX_BACKENDS + 1, 0 } };
	expect_invalid(&m, "canary", "at most");
	cr_assert_eq(rg_routes_alive(), 0, "failed builds leave nothing behind");
}

Test(routing_build, valid_table)
{
	const char *list[] = { "10.1.2.3:65535", "127.0.0.1:1" };
	rg_routes_spec spec = { .stable = { list, 2, RG_BALANCE_LEAST_CONN },
				.sticky = RG_STICKY_HEADER, .sticky_name = "X-User-Id",
				.canary_weight = 30 };
	rg_routes *t;
	cr_assert_eq(rg_routes_build(&spec, &t, NULL), RG_OK);
	cr_assert_eq(rg_routes_version(t), 0);
	cr_assert_eq(rg_routes_weight(t), 30);
	cr_assert_eq(rg_routes_count(t, RG_SIDE_STABLE), 2);
	cr_assert_eq(rg_routes_count(t, RG_SIDE_CANARY), 0);
	cr_assert_str_eq(rg_backend_name(rg_routes_backend(t, RG_SIDE_STABLE, 0)), "10.1.2.3:65535");
	cr_assert_eq(rg_routes_sticky(t), RG_STICKY_HEADER);
	cr_assert_str_eq(rg_routes_sticky_name(t), "X-User-Id");
	rg_routes_release(t);
	/* IPv6 backends, named the one way the proxy writes them */
	const char *v6[] = { "[::1]:8080", "[2001:DB8::0:1]:443", "localhost:81" };
	rg_routes_spec s6 = { .stable = { v6, 3, RG_BALANCE_ROUND_ROBIN } };
	cr_assert_eq(rg_routes_build(&s6, &t, NULL), RG_OK);
	cr_assert_str_eq(rg_backend_name(rg_routes_backend(t, RG_SIDE_STABLE, 0)), "[::1]:8080");
	cr_assert_str_eq(rg_backend_name(rg_routes_backend(t, RG_SIDE_STABLE, 1)), "[2001:db8::1]:443");
	cr_assert_str_eq(rg_backend_name(rg_routes_backend(t, RG_SIDE_STABLE, 2)), "127.0.0.1:81");
	cr_assert_eq(rg_backend_addr(rg_routes_backend(t, RG_SIDE_STABLE, 0))->ss.ss_family, AF_INET6);
	rg_routes_release(t);

	rg_routes *d = build(ST, 1, NULL, 0, 0, 0);
	cr_assert_str_eq(rg_routes_sticky_name(d), "rg_release");
	rg_routes_release(d);
	cr_assert_eq(rg_routes_alive(), 0);
}

/* ---- side --------------------------------------------------------------------- */

Test(routing_side, weight_edges)
{
	rg_routes *zero = build(ST, 3, CA, 2, 0, 0);
	rg_routes *full = build(ST, 3, CA, 2, 100, 0);
	char key[32];
	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof key, "user-%d", i);
		cr_assert_eq(pick_side(zero, key), RG_SIDE_STABLE);
		cr_assert_eq(pick_side(full, key), RG_SIDE_CANARY);
	}
	cr_assert_eq(pick_side(zero, NULL), RG_SIDE_STABLE);
	cr_assert_eq(pick_side(full, NULL), RG_SIDE_CANARY);
	rg_routes_release(zero);
	rg_routes_release(full);
}

Test(routing_side, sticky_is_monotone_in_the_weight)
{
	enum { KEYS = 10000 };
	rg_routes *t10 = build(ST, 3, CA, 2, 10, 0);
	rg_routes *t50 = build(ST, 3, CA, 2, 50, 0);
	rg_routes *t100 = build(ST, 3, CA, 2, 100, 0);
	uint64_t x = 88172645463325252ull;
	int at10 = 0, at50 = 0;
	char key[32];
	for (int i = 0; i < KEYS; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		snprintf(key, sizeof key, "%016llx", (unsigned long long)x);
		bool c10 = pick_side(t10, key) == RG_SIDE_CANARY;
		bool c50 = pick_side(t50, key) == RG_SIDE_CANARY;
		bool c100 = pick_side(t100, key) == RG_SIDE_CANARY;
		cr_assert_eq(pick_side(t10, key) == RG_SIDE_CANARY, c10, "same user, same side");
		cr_assert(!c10 || c50, "%s on canary at 10 %% but not at 50 %%", key);
		cr_assert(!c50 || c100, "%s on canary at 50 %% but not at 100 %%", key);
		at10 += c10;
		at50 += c50;
	}
	cr_assert(at10 >= KEYS * 8 / 100 && at10 <= KEYS * 12 / 100, "%d of %d at 10 %%", at10, KEYS);
	cr_assert(at50 >= KEYS * 45 / 100 && at50 <= KEYS * 55 / 100, "%d of %d at 50 %%", at50, KEYS);
	rg_routes_release(t10);
	rg_routes_release(t50);
	rg_routes_release(t100);
}

/* A first visit is routed by the bucket of the cookie it is given, so the
 * next request (with the cookie) lands on the same side. */
Test(routing_side, first_visit_cookie_agrees)
{
	rg_routes *t = build(ST, 3, CA, 2, 50, 0);
	int canary = 0;
	for (int i = 0; i < 1000; i++) {
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_addr.s_addr = htonl(0x0a000000u + (unsigned)i) };
		rg_route_req req = { .client = (struct sockaddr *)&sa };
		rg_route_choice first, again, next;
		cr_assert_eq(rg_route_pick(t, &req, &first), RG_OK);
		cr_assert(first.set_cookie);
		cr_assert_eq(strlen(first.cookie), RG_ROUTE_TOKEN_LEN);
		cr_assert_eq(rg_route_pick(t, &req, &again), RG_OK);
		cr_assert_str_neq(again.cookie, first.cookie, "a cookie-less request gets a fresh token");
		rg_route_req with = { .sticky = first.cookie, .sticky_len = strlen(first.cookie) };
		cr_assert_eq(rg_route_pick(t, &with, &next), RG_OK);
		cr_assert_not(next.set_cookie);
		cr_assert_eq(next.side, first.side);
		canary += first.side == RG_SIDE_CANARY;
		rg_route_done(&first);
		rg_route_done(&again);
		rg_route_done(&next);
	}
	cr_assert(canary > 400 && canary < 600, "%d of 1000 clients on canary at 50 %%", canary);
	rg_routes_release(t);
}

/* One host without cookies (a NAT, a load generator) is still spread in the
 * configured proportion, request by request. */
Test(routing_side, cookieless_requests_from_one_host_follow_the_weight)
{
	rg_routes *t = build(ST, 3, CA, 2, 10, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001u) };
	int canary = 0;
	for (int i = 0; i < 10000; i++) {
		rg_route_req req = { .client = (struct sockaddr *)&sa };
		rg_route_choice c;
		cr_assert_eq(rg_route_pick(t, &req, &c), RG_OK);
		canary += c.side == RG_SIDE_CANARY;
		rg_route_done(&c);
	}
	cr_assert(canary > 850 && canary < 1150, "%d of 10000 requests on canary at 10 %%", canary);
	rg_routes_release(t);
}

Test(routing_side, header_source_sets_no_cookie)
{
	rg_routes_spec spec = { .stable = { ST, 1, 0 }, .canary = { CA, 1, 0 }, .canary_weight = 50,
				.sticky = RG_STICKY_HEADER, .sticky_name = "X-User" };
	rg_routes *t;
	cr_assert_eq(rg_routes_build(&spec, &t, NULL), RG_OK);
	rg_route_req req = { 0 };
	rg_route_choice c;
	cr_assert_eq(rg_route_pick(t, &req, &c), RG_OK);
	cr_assert_not(c.set_cookie);
	rg_route_done(&c);
	rg_routes_release(t);
}

Test(routing_side, forced_side)
{
	rg_routes *t = build(ST, 3, CA, 2, 0, 0);
	rg_route_req req = { .force = rg_route_side_parse("Canary", 6) };
	cr_assert_eq(req.force, RG_SIDE_CANARY);
	cr_assert_eq(rg_route_side_parse("canaryx", 7), RG_SIDE_NONE);
	cr_assert_eq(rg_route_side_parse("stable", 6), RG_SIDE_STABLE);
	for (int i = 0; i < 100; i++) {
		rg_route_choice c;
		cr_assert_eq(rg_route_pick(t, &req, &c), RG_OK);
		cr_assert_eq(c.side, RG_SIDE_CANARY, "forced at weight 0");
		cr_assert_not(c.set_cookie);
		cr_assert_str_eq(rg_backend_name(c.backend), CA[c.index]);
		rg_route_done(&c);
	}
	rg_routes_release(t);

	rg_routes *full = build(ST, 3, CA, 2, 100, 0);
	req.force = RG_SIDE_STABLE;
	req.sticky = "someone";
	req.sticky_len = 7;
	for (int i = 0; i < 100; i++)
		cr_assert_eq(pick_side(full, NULL) == RG_SIDE_CANARY, 1);
	rg_route_choice c;
	cr_assert_eq(rg_route_pick(full, &req, &c), RG_OK);
	cr_assert_eq(c.side, RG_SIDE_STABLE, "forced at weight 100");
	rg_route_done(&c);
	rg_routes_release(full);
}

Test(routing_side, empty_side_gives_way)
{
	rg_routes *no_canary = build(ST, 3, NULL, 0, 100, 0);
	rg_routes *no_stable = build(NULL, 0, CA, 2, 0, 0);
	rg_route_req force_canary = { .force = RG_SIDE_CANARY };
	rg_route_req force_stable = { .force = RG_SIDE_STABLE };
	rg_route_choice c;
	for (int i = 0; i < 100; i++) {
		char key[16];
		snprintf(key, sizeof key, "k%d", i);
		cr_assert_eq(pick_side(no_canary, key), RG_SIDE_STABLE);
		cr_assert_eq(pick_side(no_stable, key), RG_SIDE_CANARY);
	}
	cr_assert_eq(rg_route_pick(no_canary, &force_canary, &c), RG_OK);
	cr_assert_eq(c.side, RG_SIDE_STABLE, "forcing an empty side falls back");
	rg_route_done(&c);
	cr_assert_eq(rg_route_pick(no_stable, &force_stable, &c), RG_OK);
	cr_assert_eq(c.side, RG_SIDE_CANARY);
	rg_route_done(&c);
	rg_routes_release(no_canary);
	rg_routes_release(no_stable);
}

/* ---- balancing ---------------------------------------------------------------- */

Test(routing_balance, round_robin_is_even)
{
	rg_routes *t = build(ST, 3, NULL, 0, 0, RG_BALANCE_ROUND_ROBIN);
	int hits[3] = { 0 };
	unsigned prev = 99;
	for (int i = 0; i < 3000; i++) {
		rg_route_req req = { .sticky = "u", .sticky_len = 1 };
		rg_route_choice c;
		cr_assert_eq(rg_route_pick(t, &req, &c), RG_OK);
		cr_assert_neq(c.index, prev, "round-robin never repeats with 3 backends up");
		prev = c.index;
		hits[c.index]++;
		rg_route_done(&c);
	}
	for (int i = 0; i < 3; i++)
		cr_assert_eq(hits[i], 1000, "backend %d got %d", i, hits[i]);
	rg_routes_release(t);
}

Test(routing_balance, least_connections)
{
	rg_routes *t = build(ST, 3, NULL, 0, 0, RG_BALANCE_LEAST_CONN);
	rg_route_req req = { .sticky = "u", .sticky_len = 1 };
	rg_route_choice c[3], d;
	for (int i = 0; i < 3; i++)
		cr_assert_eq(rg_route_pick(t, &req, &c[i]), RG_OK);
	cr_assert(c[0].index != c[1].index && c[1].index != c[2].index && c[0].index != c[2].index,
		  "three picks spread over three idle backends");
	for (int i = 0; i < 3; i++)
		cr_assert_eq(rg_backend_inflight(c[i].backend), 1);
	/* Load one backend more, free another: the free one is picked. */
	rg_backend *freed = c[1].backend;
	rg_route_done(&c[1]);
	rg_route_done(&c[1]);  /* idempotent */
	cr_assert_eq(rg_backend_inflight(freed), 0);
	for (int i = 0; i < 10; i++) {
		cr_assert_eq(rg_route_pick(t, &req, &d), RG_OK);
		cr_assert_eq(d.backend, freed, "least loaded");
		rg_route_done(&d);
	}
	rg_route_done(&c[0]);
	rg_route_done(&c[2]);
	rg_routes_release(t);
}

Test(routing_balance, retry_skips_tried_backends)
{
	rg_routes *t = build(ST, 3, NULL, 0, 0, RG_BALANCE_ROUND_ROBIN);
	rg_route_req req = { .force = RG_SIDE_STABLE };
	rg_route_choice c;
	for (int tries = 0; tries < 3; tries++) {
		cr_assert_eq(rg_route_pick(t, &req, &c), RG_OK);
		cr_assert_not((req.skip >> c.index) & 1);
		req.skip |= UINT64_C(1) << c.index;
		rg_route_done(&c);
	}
	cr_assert_eq(rg_route_pick(t, &req, &c), RG_EUNAVAILABLE);
	cr_assert_null(c.backend);
	rg_routes_release(t);
}

/* ---- health ------------------------------------------------------------------- */

Test(routing_health, down_backends_are_skipped)
{
	rg_routes *t = build(ST, 3, NULL, 0, 0, RG_BALANCE_ROUND_ROBIN);
	rg_backend *b0 = rg_routes_backend(t, RG_SIDE_STABLE, 0);
	rg_backend_mark_down(b0, 1000);
	rg_route_req req = { .sticky = "u", .sticky_len = 1, .now_ms = 500 };
	rg_route_choice c;
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(rg_route_pick(t, &req, &c), RG_OK);
		cr_assert_neq(c.backend, b0);
		rg_route_done(&c);
	}
	req.now_ms = 1000; /* the mark expired */
	int seen = 0;
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(rg_route_pick(t, &req, &c), RG_OK);
		seen += c.backend == b0;
		rg_route_done(&c);
	}
	cr_assert_eq(seen, 1);
	for (size_t i = 0; i < 3; i++)
		rg_backend_mark_down(rg_routes_backend(t, RG_SIDE_STABLE, i), INT64_MAX);
	cr_assert_eq(rg_route_pick(t, &req, &c), RG_EUNAVAILABLE, "no healthy backend");
	cr_assert_eq(c.side, RG_SIDE_STABLE);
	rg_backend_mark_up(b0);
	cr_assert_eq(rg_route_pick(t, &req, &c), RG_OK);
	cr_assert_eq(c.backend, b0);
	rg_route_done(&c);
	rg_routes_release(t);
}

/* Marks by address live on the router's interned backend, so they hold
 * across swaps, as do in-flight counts. */
Test(routing_health, marks_and_load_survive_a_swap)
{
	rg_router *r;
	rg_error err = { 0 };
	cr_assert_eq(rg_router_new(&r, NULL), RG_OK);
	cr_assert_eq(rg_router_mark_down(r, "127.0.0.1:9001", INT64_MAX, &err), RG_ENOTFOUND);
	cr_assert_eq(rg_router_publish(r, build(ST, 2, NULL, 0, 0, RG_BALANCE_LEAST_CONN), NULL),
		     RG_OK);
	cr_assert_eq(rg_router_mark_down(r, "127.0.0.1:9001", INT64_MAX, NULL), RG_OK);
	cr_assert_eq(rg_router_mark_down(r, "127.0.0.1:x", 1, &err), RG_EINVAL);

	rg_routes *old = rg_router_acquire(r);
	rg_route_req req = { .now_ms = 1 };
	rg_route_choice held;
	cr_assert_eq(rg_route_pick(old, &req, &held), RG_OK);
	cr_assert_str_eq(rg_backend_name(held.backend), "127.0.0.1:9002");

	/* The next table also has 9001 (down) and 9002 (one request on it). */
	const char *next[] = { "127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003" };
	cr_assert_eq(rg_router_publish(r, build(next, 3, NULL, 0, 0, RG_BALANCE_LEAST_CONN), NULL),
		     RG_OK);
	rg_routes *now = rg_router_acquire(r);
	cr_assert_eq(rg_routes_version(now), 2);
	cr_assert_eq(rg_routes_backend(now, RG_SIDE_STABLE, 1), held.backend, "interned");
	rg_route_choice c;
	cr_assert_eq(rg_route_pick(now, &req, &c), RG_OK);
	cr_assert_str_eq(rg_backend_name(c.backend), "127.0.0.1:9003", "9001 down, 9002 busy");
	rg_route_done(&c);
	cr_assert_eq(rg_router_mark_up(r, "127.0.0.1:9001", NULL), RG_OK);
	cr_assert_not(rg_backend_is_down(rg_routes_backend(now, RG_SIDE_STABLE, 0), 1));
	rg_routes_release(now);

	cr_assert_eq(rg_routes_alive(), 2, "the old table lives while a request holds it");
	rg_route_done(&held);
	rg_routes_release(old);
	cr_assert_eq(rg_routes_alive(), 1);
	cr_assert_eq(rg_router_publish(r, now, &err), RG_EINVAL, "published twice");
	rg_router_free(r);
	cr_assert_eq(rg_routes_alive(), 0);
}

/* ---- the swap under concurrency ------------------------------------------------ */

enum { WORKERS = 4, REQUESTS = 1000000, TABLES = 10000, HOLD = 8 };

static rg_router *swap_router;
static _Atomic uint64_t published;    /* highest version whose publish returned */
static _Atomic int workers_done;

typedef struct worker_result {
	uint64_t first, last, changes, nulls, errors, bad;
} worker_result;

static void *worker(void *arg)
{
	worker_result *res = arg;
	rg_routes *held[HOLD] = { 0 };
	rg_route_choice choice[HOLD];
	char key[24];
	for (long i = 0; i < REQUESTS; i++) {
		int slot = (int)(i % HOLD);
		if (held[slot]) { /* a request that started HOLD requests ago ends */
			rg_route_done(&choice[slot]);
			rg_routes_release(held[slot]);
			held[slot] = NULL;
		}
		uint64_t floor = atomic_load(&published);
		rg_routes *t = rg_router_acquire(swap_router);
		if (!t) {
			res->nulls++;
			continue;
		}
		uint64_t v = rg_routes_version(t);
		/* Published (never above the latest publish to start), and not
		 * older than what was published before this acquire. */
		if (v < floor || v > TABLES || v < res->last)
			res->bad++;
		if (!res->first)
			res->first = v;
		res->changes += v != res->last;
		res->last = v;
		snprintf(key, sizeof key, "u%ld", i & 1023);
		rg_route_req req = { .sticky = key, .sticky_len = strlen(key), .now_ms = 1 };
		if (rg_route_pick(t, &req, &choice[slot]) != RG_OK) {
			res->errors++;
			rg_routes_release(t);
			continue;
		}
		held[slot] = t;
	}
	for (int s = 0; s < HOLD; s++)
		if (held[s]) {
			rg_route_done(&choice[s]);
			rg_routes_release(held[s]);
		}
	atomic_fetch_add(&workers_done, 1);
	return NULL;
}

Test(routing_swap, publish_while_workers_route, .timeout = 120)
{
	cr_assert_eq(rg_router_new(&swap_router, NULL), RG_OK);
	cr_assert_eq(rg_router_publish(swap_router, build(ST, 3, CA, 2, 10, 0), NULL), RG_OK);
	atomic_store(&published, 1);
	pthread_t th[WORKERS];
	worker_result res[WORKERS];
	memset(res, 0, sizeof res);
	for (int i = 0; i < WORKERS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, worker, &res[i]), 0);

	char names[8][24];
	for (int i = 0; i < 8; i++)
		snprintf(names[i], sizeof names[i], "127.0.0.%d:%d", 1 + i % 2, 9000 + i);
	for (int v = 2; v <= TABLES; v++) {
		/* Backends come and go, so interning and sweeping are exercised. */
		const char *st[3] = { names[v % 8], names[(v + 1) % 8], names[(v + 2) % 8] };
		const char *ca[1] = { names[(v + 5) % 8] };
		rg_routes *t = build(st, 1 + v % 3, ca, v % 4 ? 1 : 0, v % 101,
				     v & 1 ? RG_BALANCE_LEAST_CONN : RG_BALANCE_ROUND_ROBIN);
		cr_assert_eq(rg_router_publish(swap_router, t, NULL), RG_OK);
		atomic_store(&published, (uint64_t)v);
		/* Spread the publishes over the workers' run. */
		if (atomic_load(&workers_done) < WORKERS && v % 4 == 0) {
			struct timespec ts = { 0, 20000 };
			nanosleep(&ts, NULL);
		}
	}
	for (int i = 0; i < WORKERS; i++)
		pthread_join(th[i], NULL);

	for (int i = 0; i < WORKERS; i++) {
		cr_assert_eq(res[i].bad, 0, "worker %d saw an unpublished or stale version", i);
		cr_assert_eq(res[i].errors, 0, "worker %d: a pick failed", i);
		cr_assert_eq(res[i].nulls, 0, "worker %d routed before the first publish", i);
		cr_assert_gt(res[i].changes, 100, "worker %d saw only %llu swaps", i,
			     (unsigned long long)res[i].changes);
	}
	cr_assert_eq(rg_router_version(swap_router), TABLES);
	cr_assert_eq(rg_routes_alive(), 1, "every replaced table was freed");
	rg_routes *cur = rg_router_acquire(swap_router);
	for (int s = RG_SIDE_STABLE; s <= RG_SIDE_CANARY; s++)
		for (size_t i = 0; i < rg_routes_count(cur, s); i++)
			cr_assert_eq(rg_backend_inflight(rg_routes_backend(cur, s, i)), 0);
	rg_routes_release(cur);
	rg_router_free(swap_router);
	cr_assert_eq(rg_routes_alive(), 0, "all tables freed");
}

Test(routing_swap, acquire_before_any_publish)
{
	rg_router *r;
	cr_assert_eq(rg_router_new(&r, NULL), RG_OK);
	cr_assert_null(rg_router_acquire(r));
	cr_assert_null(rg_router_acquire(r));
	cr_assert_eq(rg_router_publish(r, build(ST, 1, NULL, 0, 0, 0), NULL), RG_OK);
	rg_routes *t = rg_router_acquire(r);
	cr_assert_not_null(t);
	cr_assert_eq(rg_routes_version(t), 1);
	rg_routes_release(t);
	rg_router_free(r);
	cr_assert_eq(rg_routes_alive(), 0);
}

/* ---- tags and backend state ----------------------------------------------------- */

Test(routing_build, side_tags_are_kept)
{
	rg_routes_spec spec = { .stable = { ST, 2, RG_BALANCE_ROUND_ROBIN, 3 },
				.canary = { CA, 1, RG_BALANCE_ROUND_ROBIN, 1 },
				.canary_weight = 50 };
	rg_routes *t;
	cr_assert_eq(rg_routes_build(&spec, &t, NULL), RG_OK);
	cr_assert_eq(rg_routes_tag(t, RG_SIDE_STABLE), 3);
	cr_assert_eq(rg_routes_tag(t, RG_SIDE_CANARY), 1);
	cr_assert_eq(rg_routes_tag(t, RG_SIDE_NONE), 0);
	/* the picked side's tag is what a request is counted under */
	rg_route_req req = { .force = RG_SIDE_CANARY };
	rg_route_choice c;
	cr_assert_eq(rg_route_pick(t, &req, &c), RG_OK);
	cr_assert_eq(rg_routes_tag(t, c.side), 1);
	rg_route_done(&c);
	rg_routes_release(t);

	rg_routes *d = build(ST, 1, NULL, 0, 0, 0); /* positional specs: tag 0 */
	cr_assert_eq(rg_routes_tag(d, RG_SIDE_STABLE), 0);
	cr_assert_eq(rg_routes_tag(d, RG_SIDE_CANARY), 0);
	rg_routes_release(d);
	cr_assert_eq(rg_routes_alive(), 0);
}

Test(routing_health, backend_state_by_address)
{
	rg_router *r;
	rg_error err = { 0 };
	long inflight = -1;
	bool down = true;
	cr_assert_eq(rg_router_new(&r, NULL), RG_OK);
	cr_assert_eq(rg_router_backend_state(r, "127.0.0.1:9001", 0, &inflight, &down, &err),
		     RG_ENOTFOUND);
	cr_assert_eq(rg_router_publish(r, build(ST, 2, NULL, 0, 0, RG_BALANCE_ROUND_ROBIN), NULL),
		     RG_OK);
	cr_assert_eq(rg_router_backend_state(r, "127.0.0.1:x", 0, &inflight, &down, &err), RG_EINVAL);
	rg_routes *t = rg_router_acquire(r);
	rg_route_req req = { .force = RG_SIDE_STABLE, .skip = 2, .now_ms = 10 };
	rg_route_choice c;
	cr_assert_eq(rg_route_pick(t, &req, &c), RG_OK);
	cr_assert_str_eq(rg_backend_name(c.backend), "127.0.0.1:9001");
	cr_assert_eq(rg_router_mark_down(r, "127.0.0.1:9001", 100, NULL), RG_OK);
	cr_assert_eq(rg_router_backend_state(r, "127.0.0.1:9001", 10, &inflight, &down, NULL), RG_OK);
	cr_assert_eq(inflight, 1);
	cr_assert(down);
	cr_assert_eq(rg_router_backend_state(r, "127.0.0.1:9001", 100, &inflight, &down, NULL), RG_OK);
	cr_assert_not(down);

	/* 9001 leaves the table but drains: still known while its request runs */
	cr_assert_eq(rg_router_publish(r, build(ST + 1, 1, NULL, 0, 0, RG_BALANCE_ROUND_ROBIN), NULL),
		     RG_OK);
	cr_assert_eq(rg_router_backend_state(r, "127.0.0.1:9001", 10, &inflight, &down, NULL), RG_OK);
	cr_assert_eq(inflight, 1);
	rg_route_done(&c);
	rg_routes_release(t);
	cr_assert_eq(rg_router_backend_state(r, "127.0.0.1:9001", 10, &inflight, &down, NULL),
		     RG_ENOTFOUND);
	rg_router_free(r);
}
