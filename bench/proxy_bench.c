/* proxy_bench.c — a benchmark driver: rollguard's proxy engine routed by a
 * real routing table, with nothing else around it (no control plane), so
 * bench/proxy.sh can compare it with HAProxy before `serve` starts the proxy.
 * It must never listen beyond what --listen names nor allocate per request.
 *
 *   proxy-bench --listen 127.0.0.1:PORT [--threads N] --backend 127.0.0.1:P1 [--backend …]
 *
 * The backends are the stable side (round-robin, canary weight 0). Prints
 * "listening on ADDR" and serves until SIGTERM or SIGINT, then stops cleanly. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/proxy.h"
#include "proxy/routing.h"
#include "util/timeutil.h"

/* What done() needs of one request: the table it was picked from (held
 * until the request ends, so a swap never pulls it away) and the choice
 * (whose backend's in-flight count goes back down).
 *
 * These records come from a per-thread free list, so the request path never
 * calls malloc: pick pops one, done pushes it back. A connection stays on
 * the worker that accepted it, so done normally runs on the thread that
 * picked; if it ever ran on another one the record just moves to that
 * thread's list, which is still only ever touched by its owner. Records are
 * carved from slabs of PICK_SLAB; the slabs are listed under a mutex (taken
 * only when a thread's list runs dry, i.e. at warm-up) and freed at exit,
 * after rg_proxy_stop has joined every worker. */
typedef struct pick_rec {
	rg_routes *table;
	rg_route_choice choice;
	struct pick_rec *next;
} pick_rec;

#define PICK_SLAB 256

typedef struct pick_slab {
	struct pick_slab *next;
	pick_rec recs[PICK_SLAB];
} pick_slab;

static _Thread_local pick_rec *free_recs;
static pick_slab *slabs;
static pthread_mutex_t slabs_lock = PTHREAD_MUTEX_INITIALIZER;

static pick_rec *rec_get(void)
{
	if (!free_recs) {
		pick_slab *s = calloc(1, sizeof *s);
		if (!s)
			return NULL;
		pthread_mutex_lock(&slabs_lock);
		s->next = slabs;
		slabs = s;
		pthread_mutex_unlock(&slabs_lock);
		for (size_t i = 0; i < PICK_SLAB; i++) {
			s->recs[i].next = free_recs;
			free_recs = &s->recs[i];
		}
	}
	pick_rec *r = free_recs;
	free_recs = r->next;
	return r;
}

static void rec_put(pick_rec *r)
{
	r->next = free_recs;
	free_recs = r;
}

static void slabs_free(void)
{
	while (slabs) {
		pick_slab *next = slabs->next;
		free(slabs);
		slabs = next;
	}
}

/* The sticky cookie is not read and a retry does not skip the first
 * choice: the table has one side here and round-robin moves on anyway. */
static int pick(void *ctx, const rg_proxy_request *req, rg_proxy_target *out)
{
	rg_routes *t = rg_router_acquire(ctx);
	if (!t)
		return 1;
	pick_rec *r = rec_get();
	if (!r) {
		rg_routes_release(t);
		return 1;
	}
	rg_route_req rq = { .client = (const struct sockaddr *)&req->client.ss, .now_ms = rg_mono_ms() };
	if (rg_route_pick(t, &rq, &r->choice) != RG_OK) {
		rg_routes_release(t);
		rec_put(r);
		return 1;
	}
	r->table = t;
	out->addr = *rg_backend_addr(r->choice.backend);
	out->slot = r->choice.side == RG_SIDE_CANARY ? 1 : 0;
	out->token = r;
	return 0;
}

static void done(void *ctx, void *token, int status)
{
	pick_rec *r = token;
	rg_route_done(&r->choice);
	rg_routes_release(r->table);
	rec_put(r);
}

static const char usage[] =
	"usage: proxy-bench --listen HOST:PORT [--threads N] --backend HOST:PORT [--backend …]\n"
	"HOST:PORT: 127.0.0.1:8080, [::1]:8080 or localhost:8080\n";

static int fail(const char *what, const rg_error *err)
{
	fprintf(stderr, "proxy-bench: error: %s: %s\n", what, err->message);
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' },
		{ "backend", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 }
	};
	const char *listen = NULL, *backends[RG_ROUTES_MAX_BACKENDS];
	size_t n = 0;
	unsigned threads = 0;
	int c;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		if (c == 'l') {
			listen = optarg;
		} else if (c == 't') {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 0 || v > 256) {
				fprintf(stderr, "proxy-bench: error: bad --threads '%s'\n%s", optarg, usage);
				return 2;
			}
			threads = (unsigned)v;
		} else if (c == 'b' && n < RG_ROUTES_MAX_BACKENDS) {
			backends[n++] = optarg;
		} else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!listen || n == 0 || optind < argc) {
		fputs(usage, stderr);
		return 2;
	}

	rg_error err = { 0 };
	rg_router *router;
	rg_routes *table;
	rg_routes_spec spec = {
		.stable = { .backends = backends, .n = n, .balance = RG_BALANCE_ROUND_ROBIN },
		.canary_weight = 0,
	};
	if (rg_router_new(&router, &err))
		return fail("router", &err);
	if (rg_routes_build(&spec, &table, &err))
		return fail("routes", &err);
	if (rg_router_publish(router, table, &err))
		return fail("publish", &err);

	/* Block the stop signals before the workers exist, so they inherit the
	 * mask and only sigwait below ever sees them. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	rg_proxy_opts o;
	rg_proxy_opts_default(&o);
	o.listen = listen;
	o.threads = threads;
	o.pick = pick;
	o.done = done;
	o.ctx = router;
	rg_proxy *px;
	if (rg_proxy_start(&o, &px, &err))
		return fail("proxy", &err);
	const char *colon = strrchr(listen, ':');
	printf("listening on %.*s:%d\n", (int)(colon ? colon - listen : 0), listen, rg_proxy_port(px));
	fflush(stdout);

	int sig;
	while (sigwait(&stop, &sig) == EINTR)
		;
	rg_proxy_stop(px);
	rg_router_free(router);
	slabs_free();
	return 0;
}
