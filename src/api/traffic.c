/* traffic.c — the stored route state and the built-in proxies' figures as
 * the API's JSON (GET /api/v1/traffic, status.traffic). It only reads the
 * store and the dataplane; it must never apply a route or block on a router.
 *
 * Builders record a failed allocation in *bad instead of returning at each
 * field; the caller checks once and drops the whole object. */
#include "api/traffic.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsontext.h"
#include "util/timeutil.h"

/* ---- JSON helpers ---------------------------------------------------------------- */

static void put(json_t *o, const char *key, json_t *v, bool *bad)
{
	if (!v || json_object_set_new(o, key, v) != 0)   /* set_new drops v on failure */
		*bad = true;
}

static void append(json_t *a, json_t *v, bool *bad)
{
	if (!v || json_array_append_new(a, v) != 0)
		*bad = true;
}

static json_t *finish(json_t *o, bool bad)
{
	if (!bad)
		return o;
	json_decref(o);
	return NULL;
}

static rg_err no_memory(rg_error *err)
{
	return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
}

/* ---- the route state ------------------------------------------------------------- */

const char *rg_api_router_name(const rg_env *env)
{
	if (!env)
		return NULL;
	if (env->proxy_listen)
		return "proxy";
	switch (env->router) {
	case RG_ROUTER_PROXY: return "proxy";
	case RG_ROUTER_HAPROXY: return "haproxy";
	case RG_ROUTER_COMMAND: return "command";
	case RG_ROUTER_NONE: break;
	}
	return NULL;
}

/* "HOST:PORT,…" as ["HOST:PORT",…], or as [{"address":…},…] (the
 * shape of the dataplane's releases). Empty entries and spaces are skipped. */
static json_t *backends_json(const char *list, bool as_objects)
{
	json_t *a = json_array();
	bool bad = !a;
	const char *p = list;
	while (!bad && *p) {
		p += strspn(p, ", ");
		size_t n = strcspn(p, ",");
		size_t keep = n;
		while (keep > 0 && p[keep - 1] == ' ')
			keep--;
		if (keep > 0) {
			char addr[RG_BACKENDS_LEN];
			snprintf(addr, sizeof addr, "%.*s", (int)keep, p);
			json_t *s = rg_json_text(addr);
			if (as_objects && s) {
				json_t *o = json_object();
				bool obad = !o;
				if (o)
					put(o, "address", s, &obad);
				else
					json_decref(s);
				s = finish(o, obad);
			}
			append(a, s, &bad);
		}
		p += n;
	}
	return finish(a, bad);
}

static bool side_named(const char *version, const char *backends)
{
	return version[0] || backends[0];
}

/* {"version","backends"}; null for an unnamed side unless always. */
static json_t *side_json(const char *version, const char *backends, bool always)
{
	if (!always && !side_named(version, backends))
		return json_null();
	json_t *o = json_object();
	bool bad = !o;
	if (o) {
		put(o, "version", rg_json_text_or_null(version), &bad);
		put(o, "backends", backends_json(backends, false), &bad);
	}
	return finish(o, bad);
}

/* The canary's share in percent: 0 when no canary is named, whatever an
 * old weight says. */
static int weight_of(const rg_route_state *st)
{
	int w = st->canary_weight;
	if (!side_named(st->canary_version, st->canary))
		return 0;
	return w < 0 ? 0 : w > 100 ? 100 : w;
}

rg_err rg_api_route_json(const rg_route_state *st, json_t **out, rg_error *err)
{
	char iso[40];
	json_t *o = json_object();
	bool bad = !o;
	*out = NULL;
	if (o) {
		put(o, "stable", side_json(st->stable_version, st->stable, true), &bad);
		put(o, "canary", side_json(st->canary_version, st->canary, false), &bad);
		put(o, "canary_weight", json_integer(st->canary_weight), &bad);   /* as stored */
		put(o, "standby", side_json(st->standby_version, st->standby, false), &bad);
		put(o, "run_id", st->run_id > 0 ? json_integer(st->run_id) : json_null(), &bad);
		if (st->updated)
			rg_time_format_iso(st->updated, iso, sizeof iso);
		put(o, "updated", st->updated ? json_string(iso) : json_null(), &bad);
		put(o, "updated_ms", json_integer(st->updated), &bad);
	}
	if (!(*out = finish(o, bad)))
		return no_memory(err);
	return RG_OK;
}

/* The stored row of env; *found false (and st zeroed) when there is none. */
static rg_err route_load(rg_store *store, const char *env, rg_route_state *st, bool *found,
			 rg_error *err)
{
	memset(st, 0, sizeof *st);
	rg_err rc = rg_store_route_get(store, env, st, err);
	*found = rc == RG_OK;
	if (rc == RG_ENOTFOUND) {
		rg_error_clear(err);
		return RG_OK;
	}
	return rc;
}

rg_err rg_api_stored_route_json(rg_store *store, const char *env, json_t **out, rg_error *err)
{
	rg_route_state st;
	bool found;
	*out = NULL;
	rg_err rc = route_load(store, env, &st, &found, err);
	if (rc)
		return rc;
	if (!found) {
		*out = json_null();
		return RG_OK;
	}
	return rg_api_route_json(&st, out, err);
}

/* ---- GET /api/v1/traffic ------------------------------------------------------------ */

static void release_add(json_t *releases, const char *version, const char *side, int share,
			const char *backends, bool *bad)
{
	json_t *r = json_object();
	if (!r) {
		*bad = true;
		return;
	}
	put(r, "version", rg_json_text_or_null(version), bad);
	put(r, "side", json_string(side), bad);
	put(r, "share", json_integer(share), bad);
	put(r, "backends", backends_json(backends, true), bad);
	append(releases, r, bad);
}

/* The releases an external router was told about, with the share of
 * clients each should get (percent); no figures: rollguard does not see
 * that router's traffic. */
static json_t *external_releases(const rg_route_state *st, bool found)
{
	json_t *a = json_array();
	bool bad = !a;
	if (!a || !found)
		return a;
	int w = weight_of(st);
	if (side_named(st->stable_version, st->stable))
		release_add(a, st->stable_version, "stable", 100 - w, st->stable, &bad);
	if (side_named(st->canary_version, st->canary))
		release_add(a, st->canary_version, "canary", w, st->canary, &bad);
	if (side_named(st->standby_version, st->standby))
		release_add(a, st->standby_version, "standby", 0, st->standby, &bad);
	return finish(a, bad);
}

static rg_err external_traffic(rg_store *store, const char *env, const char *router,
			       json_t **out, rg_error *err)
{
	rg_route_state st = { .canary_weight = 0 };
	bool found = false;
	json_t *route = NULL;
	rg_err rc = router ? route_load(store, env, &st, &found, err) : RG_OK;
	if (!rc && found)
		rc = rg_api_route_json(&st, &route, err);
	if (rc)
		return rc;
	json_t *o = json_object();
	bool bad = !o;
	if (o) {
		put(o, "env", rg_json_text(env), &bad);
		put(o, "router", router ? json_string(router) : json_null(), &bad);
		if (router) {
			put(o, "canary_weight", json_integer(found ? weight_of(&st) : 0), &bad);
			put(o, "stats", json_null(), &bad);
		}
		put(o, "releases", external_releases(&st, found), &bad);
		put(o, "route", route ? route : json_null(), &bad);
	} else {
		json_decref(route);
	}
	if (!(*out = finish(o, bad)))
		return no_memory(err);
	return RG_OK;
}

/* The dataplane's figures with the stored route beside them, so a reader
 * sees both what the proxy measures and what it was told. */
static rg_err proxy_traffic(rg_store *store, rg_dataplane *dp, const char *env, json_t **out,
			    rg_error *err)
{
	json_t *doc = NULL, *route = NULL;
	rg_err rc = rg_dataplane_traffic_json(dp, env, RG_TRAFFIC_WINDOW_S, &doc, err);
	if (!rc && !json_is_object(doc))
		rc = rg_fail(err, RG_EINTERNAL, NULL, "traffic of '%s' is not an object", env);
	if (!rc)
		rc = rg_api_stored_route_json(store, env, &route, err);
	if (!rc && json_object_set_new(doc, "route", route) != 0)
		rc = no_memory(err);
	if (rc) {
		json_decref(doc);
		return rc;
	}
	*out = doc;
	return RG_OK;
}

rg_err rg_api_traffic_json(const rg_config *cfg, rg_store *store, rg_dataplane *dp,
			   const char *env, json_t **out, rg_error *err)
{
	*out = NULL;
	const rg_env *e = rg_config_env(cfg, env);
	if (!e)
		return rg_fail(err, RG_ENOTFOUND, "env", "unknown environment '%s'", env);
	if (dp && rg_dataplane_serves(dp, env))
		return proxy_traffic(store, dp, env, out, err);
	/* A proxy the dataplane does not run (none started) is shown like an
	 * external router: what it was told, without figures. */
	return external_traffic(store, env, rg_api_router_name(e), out, err);
}

/* ---- status.traffic ------------------------------------------------------------------- */

static json_t *version_json(const char *version, const char *backends)
{
	if (!side_named(version, backends))
		return json_null();
	json_t *o = json_object();
	bool bad = !o;
	if (o)
		put(o, "version", rg_json_text_or_null(version), &bad);
	return finish(o, bad);
}

rg_err rg_api_status_traffic(rg_store *store, const rg_env *env, json_t **out, rg_error *err)
{
	const char *router = rg_api_router_name(env);
	rg_route_state st;
	bool found;
	*out = NULL;
	if (!router) {
		*out = json_null();
		return RG_OK;
	}
	rg_err rc = route_load(store, env->name, &st, &found, err);
	if (rc)
		return rc;
	json_t *o = json_object();
	bool bad = !o;
	if (o) {
		put(o, "router", json_string(router), &bad);
		put(o, "canary_weight", json_integer(weight_of(&st)), &bad);
		put(o, "stable", version_json(st.stable_version, st.stable), &bad);
		put(o, "canary", version_json(st.canary_version, st.canary), &bad);
	}
	if (!(*out = finish(o, bad)))
		return no_memory(err);
	return RG_OK;
}
