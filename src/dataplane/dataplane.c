/* dataplane.c — the built-in proxies' life: one rg_proxy and one rg_router
 * per environment with `proxy: {listen}`, and rg_dataplane_apply, which
 * turns a route state into a routing table, gives each named release its
 * statistics slot and publishes the table with one atomic swap. Must never
 * take a lock or allocate on the request path (that is pick.c's, which only
 * reads what is published here). */
#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dataplane_internal.h"
#include "util/log.h"
#include "util/nofile.h"
#include "util/timeutil.h"
#include <unistd.h>

static const char *const role_names[DP_ROLES] = { "stable", "canary", "standby" };

dp_proxy *dp_find(rg_dataplane *dp, const char *env)
{
	for (size_t i = 0; dp && env && i < dp->n; i++)
		if (strcmp(dp->proxies[i].env->name, env) == 0)
			return &dp->proxies[i];
	return NULL;
}

int dp_split(const char *list, char *buf, size_t bufsize, const char **items, size_t max)
{
	snprintf(buf, bufsize, "%s", list);
	size_t n = 0;
	char *p = buf;
	p += strspn(p, " \t");
	if (*p == '\0')
		return 0;
	for (;;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		p += strspn(p, " \t");
		char *end = p + strlen(p);
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*p == '\0' || n == max)
			return -1;
		items[n++] = p;
		if (!comma)
			return (int)n;
		p = comma + 1;
	}
}

const char *dp_role_backends(const rg_route_state *st, int role)
{
	return role == DP_STABLE ? st->stable : role == DP_CANARY ? st->canary : st->standby;
}

static bool blank(const char *s)
{
	return s[strspn(s, " \t")] == '\0';
}

void dp_role_names(const rg_route_state *st, const char *names[DP_ROLES])
{
	const char *versions[DP_ROLES] = { st->stable_version, st->canary_version,
					   st->standby_version };
	for (int r = 0; r < DP_ROLES; r++)
		names[r] = versions[r][0] || !blank(dp_role_backends(st, r)) ? versions[r] : NULL;
}

/* ---- start and stop ------------------------------------------------------------ */

static int ms_opt(int64_t v, int dflt)
{
	return v <= 0 ? dflt : v > INT_MAX ? INT_MAX : (int)v;
}

static void sticky_of(const rg_env *env, rg_sticky_source *src, const char **name)
{
	*src = env->proxy_sticky_header ? RG_STICKY_HEADER : RG_STICKY_COOKIE;
	*name = env->proxy_sticky_header ? env->proxy_sticky_header : env->proxy_sticky_cookie;
}

/* The sticky source is part of every table: a bad name is found at start,
 * not at the first rollout, by building one throwaway table. */
static rg_err check_sticky(const rg_env *env, rg_error *err)
{
	static const char *const probe[] = { "127.0.0.1:1" };
	rg_routes_spec spec = { .stable = { probe, 1, RG_BALANCE_ROUND_ROBIN, 0 } };
	sticky_of(env, &spec.sticky, &spec.sticky_name);
	rg_routes *t;
	rg_err rc = rg_routes_build(&spec, &t, err);
	if (rc == RG_OK)
		rg_routes_release(t);
	return rc;
}

/* The same count rg_proxy_start would take for threads 0, known before the
 * shared region is laid out. */
static unsigned workers_of(const rg_env *env)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = env->proxy_threads > 0 ? (unsigned)env->proxy_threads
					    : (unsigned)(ncpu > 0 ? ncpu : 1);
	return n > 1024 ? 1024 : n;
}

/* Fields both kinds of dataplane set for a proxy. */
static rg_err proxy_init(rg_dataplane *dp, dp_proxy *x, const rg_env *env)
{
	x->env = env;
	x->dp = dp;
	x->idx = -1;
	atomic_init(&x->routable, false);
	snprintf(x->st.env, sizeof x->st.env, "%s", env->name);
	for (int s = 0; s < RG_PROXY_SLOTS; s++)
		x->slots[s].freed_ms = INT64_MIN;
	pthread_mutex_init(&x->slabs_lock, NULL);
	x->view = calloc(1, sizeof *x->view);
	return x->view ? RG_OK : RG_ENOMEM;
}

/* Each client connection may hold an upstream one too; what is left after
 * a reserve for the rest of the process is shared by the proxies. */
static unsigned derived_max_connections(size_t n_proxies)
{
	long fds = rg_nofile_raise() - 256;
	long each = fds / 2 / (long)(n_proxies ? n_proxies : 1);
	return each < 64 ? 64 : each > 1000000 ? 1000000 : (unsigned)each;
}

/* The env's front-door bounds, or the defaults of docs/proxy.md. */
static void front_door(const rg_env *env, size_t n_proxies, rg_proxy_opts *o)
{
	o->max_connections = env->proxy_max_connections > 0 ? (unsigned)env->proxy_max_connections
							    : derived_max_connections(n_proxies);
	o->max_per_client = env->proxy_max_per_client > 0 ? (unsigned)env->proxy_max_per_client : 256;
	o->max_requests = env->proxy_max_requests > 0 ? (unsigned)env->proxy_max_requests : 1000;
	o->client_header_timeout_ms = ms_opt(env->proxy_header_timeout_ms, o->client_header_timeout_ms);
	o->client_body_timeout_ms = ms_opt(env->proxy_body_timeout_ms, 60000);
	o->strip_header = env->proxy_force_header;
	o->trusted = env->proxy_trusted;
	o->n_trusted = env->proxy_n_trusted;
	o->https = env->proxy_https;
}

/* The router comes before the workers, so a routing table kept from an
 * earlier proxy process is in place before the first connection is
 * accepted: a socket handed over is never served without routes. */
static rg_err proxy_prepare(dp_proxy *x, int listen_fd, rg_error *err)
{
	rg_err rc = check_sticky(x->env, err);
	if (!rc)
		rc = rg_router_new(&x->router, err);
	if (rc && listen_fd >= 0)
		close(listen_fd);
	return rc;
}

static rg_err proxy_listen(dp_proxy *x, int listen_fd, rg_error *err)
{
	const rg_env *env = x->env;
	rg_proxy_opts o;
	rg_proxy_opts_default(&o);
	o.listen = env->proxy_listen;
	o.listen_fd = listen_fd;
	o.threads = dp_shm_workers(x->dp->shm, (size_t)x->idx);
	o.shards = dp_shm_own_shards(x->dp->shm, (size_t)x->idx);
	o.connect_timeout_ms = ms_opt(env->proxy_connect_timeout_ms, o.connect_timeout_ms);
	o.response_header_timeout_ms = ms_opt(env->proxy_response_timeout_ms,
					      o.response_header_timeout_ms);
	o.idle_timeout_ms = ms_opt(env->proxy_idle_timeout_ms, o.idle_timeout_ms);
	front_door(env, x->dp->n, &o);
	o.pick = dp_pick;
	o.done = dp_done;
	o.failed = dp_failed;
	o.ctx = x;
	return rg_proxy_start(&o, &x->proxy, err);
}

/* Stops the workers first: they call done() for what is in flight, which
 * releases every table, and only then may the router and records go. */
static void proxy_stop(dp_proxy *x)
{
	rg_proxy_stop(x->proxy);
	x->proxy = NULL;
	rg_router_free(x->router);
	x->router = NULL;
	dp_recs_free(x);
	pthread_mutex_destroy(&x->slabs_lock);
	free(x->view);
	x->view = NULL;
}

void rg_dataplane_stop(rg_dataplane *dp)
{
	if (!dp)
		return;
	for (size_t i = 0; i < dp->n; i++)
		proxy_stop(&dp->proxies[i]);
	free(dp->proxies);
	dp_shm_close(dp->shm);
	pthread_mutex_destroy(&dp->lock);
	free(dp);
}

rg_err dp_new(const rg_config *cfg, rg_dataplane **out, rg_error *err)
{
	*out = NULL;
	rg_dataplane *dp = calloc(1, sizeof *dp);
	size_t want = 0;
	for (size_t i = 0; i < cfg->n_envs; i++)
		want += cfg->envs[i].proxy_listen != NULL;
	if (!dp || (want && !(dp->proxies = calloc(want, sizeof *dp->proxies)))) {
		free(dp);
		return rg_fail(err, RG_ENOMEM, NULL, "cannot start the proxies: out of memory");
	}
	dp->cfg = cfg;
	pthread_mutex_init(&dp->lock, NULL);
	for (size_t i = 0; i < cfg->n_envs; i++) {
		if (!cfg->envs[i].proxy_listen)
			continue;
		if (proxy_init(dp, &dp->proxies[dp->n++], &cfg->envs[i])) {
			rg_dataplane_stop(dp);
			return rg_fail(err, RG_ENOMEM, NULL, "cannot start the proxies: out of memory");
		}
	}
	*out = dp;
	return RG_OK;
}

static rg_err map_region(rg_dataplane *dp, const char *path, bool *fresh, rg_error *err)
{
	const char **names = calloc(dp->n + 1, sizeof *names);
	unsigned *workers = calloc(dp->n + 1, sizeof *workers);
	rg_err rc = RG_OK;
	if (!names || !workers)
		rc = rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; !rc && i < dp->n; i++) {
		names[i] = dp->proxies[i].env->name;
		workers[i] = workers_of(dp->proxies[i].env);
		dp->proxies[i].idx = (int)i;
	}
	if (!rc)
		rc = dp_shm_create(path, names, workers, dp->n, &dp->shm, fresh, err);
	free(names);
	free(workers);
	return rc;
}

static rg_err apply_locked(dp_proxy *x, const rg_route_state *st, rg_error *err);

/* A region kept from an earlier proxy process: its slots (with their
 * baselines) and its last state, applied again, so the same releases keep
 * their figures and users their side. */
static void restore(dp_proxy *x)
{
	dp_shm_read(x->dp->shm, (size_t)x->idx, x->view);
	if (!x->view->applied)
		return;
	memcpy(x->slots, x->view->slots, sizeof x->slots);
	rg_route_state st = x->view->st;
	rg_error e = { 0 };
	if (apply_locked(x, &st, &e))
		rg_warn("environment '%s': the proxy's last routing table cannot be restored: %s",
			x->env->name, e.message);
}

static int inherited_fd(const rg_dataplane_opts *o, size_t i)
{
	return o && o->listen_fds ? o->listen_fds[i] : -1;
}

/* Inherited sockets not yet given to a proxy, from index `from` on: the
 * dataplane owns them all from rg_dataplane_start_with on. */
static void close_fds(const rg_dataplane_opts *o, size_t from, size_t n)
{
	for (size_t i = from; i < n; i++)
		if (inherited_fd(o, i) >= 0)
			close(inherited_fd(o, i));
}

/* Proxy i failed to prepare (phase 0: no proxy owns a socket yet, every
 * other inherited one is ours to close) or to start (phase 1: those before
 * it are owned by their proxies). Its own socket is closed by the step
 * that failed. */
static rg_err start_failed(rg_dataplane *dp, const rg_dataplane_opts *o, int phase, size_t i,
			   const rg_error *e, rg_err rc, rg_error *err)
{
	if (phase == 0)
		close_fds(o, 0, i);
	close_fds(o, i + 1, dp->n);
	const char *name = dp->proxies[i].env->name;
	rg_fail(err, rc, e->field[0] ? e->field : NULL, "environment '%s': %s", name, e->message);
	rg_dataplane_stop(dp);
	return rc;
}

rg_err rg_dataplane_start_with(const rg_config *cfg, const rg_dataplane_opts *o,
				rg_dataplane **out, rg_error *err)
{
	rg_dataplane *dp;
	bool fresh = true;
	size_t n = 0;
	*out = NULL;
	for (size_t i = 0; i < cfg->n_envs; i++)
		n += cfg->envs[i].proxy_listen != NULL;
	rg_err rc = dp_new(cfg, &dp, err);
	if (!rc && (rc = map_region(dp, o ? o->shm_path : NULL, &fresh, err)))
		rg_dataplane_stop(dp);
	if (rc) {
		close_fds(o, 0, n);
		return rc;
	}
	rg_error e = { 0 };
	for (size_t i = 0; i < dp->n; i++)
		if ((rc = proxy_prepare(&dp->proxies[i], inherited_fd(o, i), &e)))
			return start_failed(dp, o, 0, i, &e, rc, err);
	/* the kept tables are in place before any worker accepts */
	for (size_t i = 0; !fresh && i < dp->n; i++)
		restore(&dp->proxies[i]);
	for (size_t i = 0; i < dp->n; i++)
		if ((rc = proxy_listen(&dp->proxies[i], inherited_fd(o, i), &e)))
			return start_failed(dp, o, 1, i, &e, rc, err);
	rg_dataplane_publish(dp);
	*out = dp;
	return RG_OK;
}

rg_err rg_dataplane_start(const rg_config *cfg, rg_dataplane **out, rg_error *err)
{
	return rg_dataplane_start_with(cfg, NULL, out, err);
}

size_t rg_dataplane_count(const rg_dataplane *dp) { return dp ? dp->n : 0; }

int rg_dataplane_listen_fd(const rg_dataplane *dp, size_t i)
{
	return i < dp->n && dp->proxies[i].proxy ? rg_proxy_listen_fd(dp->proxies[i].proxy) : -1;
}

void rg_dataplane_drain(rg_dataplane *dp)
{
	for (size_t i = 0; dp && i < dp->n; i++)
		if (dp->proxies[i].proxy)
			rg_proxy_drain(dp->proxies[i].proxy);
}

long rg_dataplane_connections(const rg_dataplane *dp)
{
	long n = 0;
	for (size_t i = 0; dp && i < dp->n; i++)
		if (dp->proxies[i].proxy)
			n += rg_proxy_connections(dp->proxies[i].proxy);
	return n;
}

/* FNV-1a over what the proxies are started with: a proxy process started
 * from another config would serve something else than the controller
 * thinks (link.c replaces it). */
static uint64_t fnv(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (uint8_t)*s) * UINT64_C(0x100000001b3);
	return (h ^ 0xff) * UINT64_C(0x100000001b3);
}

static uint64_t fnv_cidrs(uint64_t h, const rg_cidr *c, size_t n)
{
	char text[64];
	for (size_t i = 0; i < n; i++)
		h = fnv(h, rg_cidr_format(&c[i], text, sizeof text));
	return fnv(h, "|");
}

uint64_t rg_dataplane_fingerprint(const rg_config *cfg)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	char num[160];
	for (size_t i = 0; i < cfg->n_envs; i++) {
		const rg_env *e = &cfg->envs[i];
		if (!e->proxy_listen)
			continue;
		snprintf(num, sizeof num, "%d %lld %lld %lld %d %u %d %d %d %lld %lld %d", e->proxy_threads,
			 (long long)e->proxy_connect_timeout_ms, (long long)e->proxy_response_timeout_ms,
			 (long long)e->proxy_idle_timeout_ms, (int)e->proxy_least_conn,
			 DP_SHM_VERSION, e->proxy_max_connections, e->proxy_max_per_client,
			 e->proxy_max_requests, (long long)e->proxy_header_timeout_ms,
			 (long long)e->proxy_body_timeout_ms, (int)e->proxy_https);
		snprintf(num + strlen(num), sizeof num - strlen(num), " %lld",
			 (long long)e->proxy_drain_ms);
		h = fnv(fnv(h, num), e->proxy_force_header);
		h = fnv_cidrs(fnv_cidrs(h, e->proxy_force_from, e->proxy_n_force_from),
			      e->proxy_trusted, e->proxy_n_trusted);
		h = fnv(fnv(fnv(fnv(h, e->name), e->proxy_listen), e->proxy_sticky_header),
			e->proxy_sticky_cookie);
	}
	return h;
}

bool rg_dataplane_serves(const rg_dataplane *dp, const char *env)
{
	return dp_find((rg_dataplane *)dp, env) != NULL;
}

int rg_dataplane_port(const rg_dataplane *dp, const char *env)
{
	dp_proxy *x = dp_find((rg_dataplane *)dp, env);
	if (!x)
		return -1;
	if (x->proxy)
		return rg_proxy_port(x->proxy);
	pthread_mutex_lock(&x->dp->lock);
	dp_sync(x);
	int port = x->idx >= 0 && x->view->port > 0 ? x->view->port : -1;
	pthread_mutex_unlock(&x->dp->lock);
	return port;
}

/* ---- apply ---------------------------------------------------------------------

   Slots. Each release st names keeps the slot it has; a newly named one
   takes the free slot given up longest ago (never used ones first), so that
   requests still finishing for the release that gave it up — they hold an
   older table, tagged with this slot — are as few as can be. With at most
   three names and four slots there is always one. The new owner's figures
   start at zero: what the slot holds at assignment is its baseline
   (report.c subtracts it). The plan is made on a copy and committed only
   once the table is published, so a state that is refused changes
   nothing. */

typedef struct plan {
	dp_slot slots[RG_PROXY_SLOTS];
	bool fresh[RG_PROXY_SLOTS];   /* assigned by this apply: needs a baseline */
	int tag[DP_ROLES];            /* the slot of each named role, -1 if unnamed */
} plan;

static int find_named(const dp_slot *slots, const char *version)
{
	for (int s = 0; s < RG_PROXY_SLOTS; s++)
		if (slots[s].named && strcmp(slots[s].version, version) == 0)
			return s;
	return -1;
}

static void plan_slots(const dp_proxy *x, const char *names[DP_ROLES], int64_t now_ms, plan *p)
{
	memcpy(p->slots, x->slots, sizeof p->slots);
	memset(p->fresh, 0, sizeof p->fresh);
	for (int s = 0; s < RG_PROXY_SLOTS; s++) {
		bool kept = false;
		for (int r = 0; r < DP_ROLES; r++)
			kept |= p->slots[s].named && names[r] &&
				strcmp(p->slots[s].version, names[r]) == 0;
		if (p->slots[s].named && !kept) {
			p->slots[s].named = false;
			p->slots[s].freed_ms = now_ms;
		}
	}
	for (int r = 0; r < DP_ROLES; r++) {
		p->tag[r] = -1;
		if (!names[r])
			continue;
		int s = find_named(p->slots, names[r]);
		if (s < 0) {
			for (int f = 0; f < RG_PROXY_SLOTS; f++)
				if (!p->slots[f].named && (s < 0 || p->slots[f].freed_ms < p->slots[s].freed_ms))
					s = f;
			assert(s >= 0 && "three names and four slots: one is always free");
			p->slots[s].named = true;
			snprintf(p->slots[s].version, sizeof p->slots[s].version, "%s", names[r]);
			p->fresh[s] = true;
		}
		p->tag[r] = s;
	}
}

/* "canary backend 'x:1' is not HOST:PORT", from rg_routes_build's error
 * about field "canary[1]" (or the whole side). */
static rg_err backend_error(const rg_error *e, const char *const *items[2], rg_error *err)
{
	if (e->code != RG_EINVAL)
		return rg_fail(err, e->code, e->field, "%s", e->message);
	for (int r = 0; r < 2; r++) {
		size_t len = strlen(role_names[r]);
		if (strncmp(e->field, role_names[r], len) != 0)
			continue;
		if (e->field[len] != '[')
			return rg_fail(err, RG_EINVAL, role_names[r], "%s", e->message);
		size_t i = strtoul(e->field + len + 1, NULL, 10);
		if (strstr(e->message, "duplicate"))
			return rg_fail(err, RG_EINVAL, role_names[r], "%s backend '%s' is listed twice",
				       role_names[r], items[r][i]);
		return rg_fail(err, RG_EINVAL, role_names[r], "%s backend '%s' is not HOST:PORT (" RG_HOSTPORT_EXAMPLE ")",
			       role_names[r], items[r][i]);
	}
	return rg_fail(err, e->code, e->field, "%s", e->message);
}

/* The standby is not routed, but a state naming a bad standby backend is
 * still a bad state: checked with a throwaway table. */
static rg_err check_standby(const char *const *items, int n, rg_error *err)
{
	if (n == 0)
		return RG_OK;
	rg_routes_spec spec = { .stable = { items, (size_t)n, RG_BALANCE_ROUND_ROBIN, 0 } };
	rg_routes *t;
	rg_error e = { 0 };
	if (rg_routes_build(&spec, &t, &e) == RG_OK) {
		rg_routes_release(t);
		return RG_OK;
	}
	if (e.code != RG_EINVAL)
		return rg_fail(err, e.code, e.field, "%s", e.message);
	const char *bad = items[0];
	if (strncmp(e.field, "stable[", 7) == 0)
		bad = items[strtoul(e.field + 7, NULL, 10)];
	if (strstr(e.message, "duplicate"))
		return rg_fail(err, RG_EINVAL, "standby", "standby backend '%s' is listed twice", bad);
	return rg_fail(err, RG_EINVAL, "standby", "standby backend '%s' is not HOST:PORT (" RG_HOSTPORT_EXAMPLE ")", bad);
}

typedef struct split_state {
	char buf[DP_ROLES][RG_BACKENDS_LEN];
	const char *items[DP_ROLES][RG_ROUTES_MAX_BACKENDS];
	int n[DP_ROLES];
} split_state;

static rg_err split_all(const rg_route_state *st, split_state *sp, rg_error *err)
{
	for (int r = 0; r < DP_ROLES; r++) {
		sp->n[r] = dp_split(dp_role_backends(st, r), sp->buf[r], sizeof sp->buf[r],
				    sp->items[r], RG_ROUTES_MAX_BACKENDS);
		if (sp->n[r] < 0)
			return rg_fail(err, RG_EINVAL, role_names[r],
				       "%s backends '%s' are not a comma-separated list of at most %d "
				       "HOST:PORT", role_names[r], dp_role_backends(st, r),
				       RG_ROUTES_MAX_BACKENDS);
	}
	return RG_OK;
}

/* Builds the table of st tagged per p; *out stays NULL for a state without
 * stable or canary backends. */
static rg_err build_table(const dp_proxy *x, const rg_route_state *st, const split_state *sp,
			  const plan *p, rg_routes **out, rg_error *err)
{
	*out = NULL;
	rg_err rc = check_standby(sp->items[DP_STANDBY], sp->n[DP_STANDBY], err);
	if (rc || sp->n[DP_STABLE] + sp->n[DP_CANARY] == 0)
		return rc;
	if (st->canary_weight < 0 || st->canary_weight > 100)
		return rg_fail(err, RG_EINVAL, "canary_weight",
			       "canary weight %d is not a percentage (0..100)", st->canary_weight);
	rg_balance bal = x->env->proxy_least_conn ? RG_BALANCE_LEAST_CONN : RG_BALANCE_ROUND_ROBIN;
	rg_routes_spec spec = {
		.stable = { sp->items[DP_STABLE], (size_t)sp->n[DP_STABLE], bal,
			    p->tag[DP_STABLE] < 0 ? 0 : p->tag[DP_STABLE] },
		.canary = { sp->items[DP_CANARY], (size_t)sp->n[DP_CANARY], bal,
			    p->tag[DP_CANARY] < 0 ? 0 : p->tag[DP_CANARY] },
		.canary_weight = st->canary_weight,
		.sticky_seed = (uint64_t)st->seed,
	};
	sticky_of(x->env, &spec.sticky, &spec.sticky_name);
	rg_error e = { 0 };
	rc = rg_routes_build(&spec, out, &e);
	if (rc) {
		const char *const *items[2] = { sp->items[DP_STABLE], sp->items[DP_CANARY] };
		return backend_error(&e, items, err);
	}
	return RG_OK;
}

/* The baselines of the slots p assigns, taken before the table that tags
 * requests with them is published, into p's copy. */
static void take_baselines(dp_proxy *x, plan *p)
{
	for (int s = 0; s < RG_PROXY_SLOTS; s++)
		if (p->fresh[s])
			dp_slot_baseline(x, s, &p->slots[s].since_s, &p->slots[s].base_total,
					 &p->slots[s].base_second);
}

/* What the controller reads of x (shm.h): the state, the slots and the
 * backends' in-flight counts and down marks. */
static void publish(dp_proxy *x)
{
	dp_shm_view *v = x->view;
	v->applied = x->applied;
	v->routable = atomic_load(&x->routable);
	if (x->proxy) /* before the workers start, the port kept in the region stays */
		v->port = rg_proxy_port(x->proxy);
	v->st = x->st;
	memcpy(v->slots, x->slots, sizeof v->slots);
	v->n_backends = 0;
	int64_t now = rg_mono_ms();
	char buf[RG_BACKENDS_LEN];
	const char *items[RG_ROUTES_MAX_BACKENDS];
	for (int r = 0; r < DP_ROLES; r++) {
		int n = dp_split(dp_role_backends(&x->st, r), buf, sizeof buf, items,
				 RG_ROUTES_MAX_BACKENDS);
		for (int i = 0; i < n && v->n_backends < DP_SHM_MAX_BACKENDS; i++) {
			dp_shm_backend *b = &v->backends[v->n_backends++];
			long inflight = 0;
			bool down = false;
			if (rg_router_backend_state(x->router, items[i], now, &inflight, &down, NULL))
				inflight = 0, down = false;
			snprintf(b->addr, sizeof b->addr, "%s", items[i]);
			b->inflight = inflight;
			b->down = down;
		}
	}
	dp_shm_write(x->dp->shm, (size_t)x->idx, v);
}

void rg_dataplane_publish(rg_dataplane *dp)
{
	if (!dp || dp->remote)
		return;
	pthread_mutex_lock(&dp->lock);
	for (size_t i = 0; i < dp->n; i++)
		publish(&dp->proxies[i]);
	pthread_mutex_unlock(&dp->lock);
}

/* Everything an apply decides before it acts: slots planned on a copy, the
 * backends split, the table built (*t NULL for a state without stable or
 * canary backends). Nothing of x changes. */
static rg_err prepare(const dp_proxy *x, const rg_route_state *st, split_state *sp, plan *p,
		      rg_routes **t, rg_error *err)
{
	const char *names[DP_ROLES];
	dp_role_names(st, names);
	plan_slots(x, names, rg_mono_ms(), p);
	rg_err rc = split_all(st, sp, err);
	return rc ? rc : build_table(x, st, sp, p, t, err);
}

rg_err dp_check_state(dp_proxy *x, const rg_route_state *st, rg_error *err)
{
	split_state *sp = malloc(sizeof *sp);
	plan *p = malloc(sizeof *p);
	rg_routes *t = NULL;
	rg_err rc = !sp || !p ? rg_fail(err, RG_ENOMEM, NULL, "out of memory")
			      : prepare(x, st, sp, p, &t, err);
	if (t)
		rg_routes_release(t);
	free(sp);
	free(p);
	return rc;
}

/* A WebSocket stays on the backend it was opened to: a shift or a
 * rollback only retires the tunnels of a release that is no longer routed,
 * proxy.drain after it stopped being so (a release routed again before
 * then keeps them). */
static void retire_tunnels(dp_proxy *x, const plan *p)
{
	int64_t d = x->env->proxy_drain_ms > 0 ? x->env->proxy_drain_ms : DP_TUNNEL_DRAIN_MS;
	int after_ms = d < INT_MAX ? (int)d : INT_MAX;
	for (int s = 0; s < RG_PROXY_SLOTS; s++) {
		bool routed = p->tag[DP_STABLE] == s || p->tag[DP_CANARY] == s;
		/* a slot given to a new release keeps its old release's pending
		 * retirement: only that release routed again cancels it */
		if (x->proxy && routed != x->routed[s] && !(routed && p->fresh[s]))
			rg_proxy_retire_tunnels(x->proxy, s, routed ? -1 : after_ms);
		x->routed[s] = routed;
	}
}

static rg_err apply_locked(dp_proxy *x, const rg_route_state *st, rg_error *err)
{
	split_state *sp = malloc(sizeof *sp);
	plan *p = malloc(sizeof *p);
	rg_routes *t = NULL;
	rg_err rc = !sp || !p ? rg_fail(err, RG_ENOMEM, NULL, "out of memory")
			      : prepare(x, st, sp, p, &t, err);
	if (rc)
		goto out;
	take_baselines(x, p);
	if (t && (rc = rg_router_publish(x->router, t, err))) {
		rg_routes_release(t);
		goto out;
	}
	atomic_store_explicit(&x->routable, t != NULL, memory_order_release);
	memcpy(x->slots, p->slots, sizeof x->slots);
	retire_tunnels(x, p);
	x->st = *st;
	x->applied = true;
	publish(x);
out:
	free(sp);
	free(p);
	return rc;
}

rg_err rg_dataplane_apply(rg_dataplane *dp, const rg_route_state *st, int64_t *swap_us,
			  rg_error *err)
{
	int64_t t0 = rg_mono_us();
	dp_proxy *x = dp_find(dp, st->env);
	if (!x)
		return rg_fail(err, RG_ENOTFOUND, "env", "environment '%s' has no built-in proxy",
			       st->env);
	pthread_mutex_lock(&dp->lock);
	rg_err rc = dp->remote ? dp_remote_apply(x, st, err) : apply_locked(x, st, err);
	pthread_mutex_unlock(&dp->lock);
	if (swap_us)
		*swap_us = rg_mono_us() - t0;
	return rc;
}
