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
#include "util/timeutil.h"

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

static rg_err proxy_start(dp_proxy *x, const rg_env *env, rg_error *err)
{
	x->env = env;
	atomic_init(&x->routable, false);
	snprintf(x->st.env, sizeof x->st.env, "%s", env->name);
	for (int s = 0; s < RG_PROXY_SLOTS; s++)
		x->slots[s].freed_ms = INT64_MIN;
	pthread_mutex_init(&x->slabs_lock, NULL);
	rg_err rc = check_sticky(env, err);
	if (!rc)
		rc = rg_router_new(&x->router, err);
	if (rc)
		return rc;
	rg_proxy_opts o;
	rg_proxy_opts_default(&o);
	o.listen = env->proxy_listen;
	o.threads = env->proxy_threads > 0 ? (unsigned)env->proxy_threads : 0;
	o.connect_timeout_ms = ms_opt(env->proxy_connect_timeout_ms, o.connect_timeout_ms);
	o.response_header_timeout_ms = ms_opt(env->proxy_response_timeout_ms,
					      o.response_header_timeout_ms);
	o.idle_timeout_ms = ms_opt(env->proxy_idle_timeout_ms, o.idle_timeout_ms);
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
}

void rg_dataplane_stop(rg_dataplane *dp)
{
	if (!dp)
		return;
	for (size_t i = 0; i < dp->n; i++)
		proxy_stop(&dp->proxies[i]);
	free(dp->proxies);
	pthread_mutex_destroy(&dp->lock);
	free(dp);
}

rg_err rg_dataplane_start(const rg_config *cfg, rg_dataplane **out, rg_error *err)
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
		const rg_env *env = &cfg->envs[i];
		if (!env->proxy_listen)
			continue;
		rg_error e = { 0 };
		rg_err rc = proxy_start(&dp->proxies[dp->n++], env, &e);
		if (rc) {
			rg_dataplane_stop(dp);
			return rg_fail(err, rc, e.field[0] ? e.field : NULL, "environment '%s': %s",
				       env->name, e.message);
		}
	}
	*out = dp;
	return RG_OK;
}

bool rg_dataplane_serves(const rg_dataplane *dp, const char *env)
{
	return dp_find((rg_dataplane *)dp, env) != NULL;
}

int rg_dataplane_port(const rg_dataplane *dp, const char *env)
{
	dp_proxy *x = dp_find((rg_dataplane *)dp, env);
	return x && x->proxy ? rg_proxy_port(x->proxy) : -1;
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

/* "canary backend 'x:1' is not A.B.C.D:PORT", from rg_routes_build's error
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
		return rg_fail(err, RG_EINVAL, role_names[r], "%s backend '%s' is not A.B.C.D:PORT",
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
	return rg_fail(err, RG_EINVAL, "standby", "standby backend '%s' is not A.B.C.D:PORT", bad);
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
				       "A.B.C.D:PORT", role_names[r], dp_role_backends(st, r),
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

static rg_err apply_locked(dp_proxy *x, const rg_route_state *st, rg_error *err)
{
	split_state *sp = malloc(sizeof *sp);
	plan *p = malloc(sizeof *p);
	rg_err rc = RG_OK;
	rg_routes *t = NULL;
	if (!sp || !p) {
		rc = rg_fail(err, RG_ENOMEM, NULL, "out of memory");
		goto out;
	}
	const char *names[DP_ROLES];
	dp_role_names(st, names);
	plan_slots(x, names, rg_mono_ms(), p);
	if ((rc = split_all(st, sp, err)) || (rc = build_table(x, st, sp, p, &t, err)))
		goto out;
	take_baselines(x, p);
	if (t) {
		if ((rc = rg_router_publish(x->router, t, err))) {
			rg_routes_release(t);
			goto out;
		}
	}
	atomic_store_explicit(&x->routable, t != NULL, memory_order_release);
	memcpy(x->slots, p->slots, sizeof x->slots);
	x->st = *st;
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
	rg_err rc = apply_locked(x, st, err);
	pthread_mutex_unlock(&dp->lock);
	if (swap_us)
		*swap_us = rg_mono_us() - t0;
	return rc;
}
