/* test_traffic.c — GET /api/v1/traffic, status.traffic and /metrics without
 * built-in proxies: the route state's JSON, the answer for each kind of
 * router, and the handlers themselves, served by support/api_server.h's
 * small MHD daemon over a real store in a temp dir (no engine, no dataplane). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/counters.h"
#include "api/routes.h"
#include "api/traffic.h"
#include "cmd/output.h"

#include "../support/api_server.h"
#include "../support/store_dir.h"

/* ---- fixture: a store, a hand-made config, an HTTP server ---------------------- */

static store_dir tmp;
static rg_store *store;
static rg_env envs[4];
static rg_config cfg;
static rg_api_ctx ctx;

/* prod: HAProxy; stage: a command router; dev: no router; edge: a proxy
 * that no dataplane runs here (dp is NULL). */
static void config_make(void)
{
	memset(envs, 0, sizeof envs);
	envs[0].name = "prod";
	envs[0].router = RG_ROUTER_HAPROXY;
	envs[1].name = "stage";
	envs[1].router = RG_ROUTER_COMMAND;
	envs[2].name = "dev";
	envs[3].name = "edge";
	envs[3].proxy_listen = "127.0.0.1:0";
	memset(&cfg, 0, sizeof cfg);
	cfg.service = "shop";
	cfg.envs = envs;
	cfg.n_envs = 4;
}

static void setup(void)
{
	rg_error err;
	store_dir_make(&tmp);
	cr_assert_eq(rg_store_open(tmp.path, &store, &err), RG_OK, "%s", err.message);
	config_make();
	ctx = (rg_api_ctx){ .cfg = &cfg, .store = store };
	cr_assert_eq(rg_counters_load(store, &ctx.counters, &err), RG_OK, "%s", err.message);
	api_server_start(&ctx);
}

static void teardown(void)
{
	api_server_stop();
	rg_counters_free(ctx.counters);
	rg_store_free(store);
	store = NULL;
	store_dir_remove(&tmp);
}

/* ---- helpers ------------------------------------------------------------------------ */

/* method on path, without a body: no route under test reads one. */
static api_answer http(const char *method, const char *path)
{
	return api_call(method, path, NULL, NULL);
}

static json_t *parse(const char *text)
{
	json_error_t je;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
	cr_assert_not_null(v, "%s in: %s", je.text, text);
	return v;
}

/* v (stolen) equals the JSON text want; times are left out of route objects
 * (wherever they are) before comparing, as they change with the clock. */
static void drop_times(json_t *v)
{
	const char *key;
	json_t *m;
	size_t i;
	if (json_is_object(v)) {
		json_object_del(v, "updated");
		json_object_del(v, "updated_ms");
		json_object_foreach(v, key, m)
			drop_times(m);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			drop_times(m);
	}
}

static void assert_json(json_t *v, const char *want)
{
	json_t *w = parse(want);
	drop_times(v);
	char *got = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	char *exp = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS);
	cr_assert(json_equal(v, w), "got  %s\nwant %s", got, exp);
	free(got);
	free(exp);
	json_decref(v);
	json_decref(w);
}

static json_t *answer_json(api_answer *a, long status)
{
	cr_assert_eq(a->status, status, "status %ld, body %s", a->status, a->body);
	cr_assert_str_eq(a->content_type, RG_JSON_CONTENT_TYPE);
	json_t *v = parse(a->body);
	free(a->body);
	a->body = NULL;
	return v;
}

static void assert_error(const char *method, const char *path, long status, const char *code,
			 const char *field, const char *message_part)
{
	api_answer a = http(method, path);
	json_t *v = answer_json(&a, status);
	json_t *e = json_object_get(v, "error");
	cr_assert_str_eq(json_string_value(json_object_get(e, "code")), code);
	const char *f = json_string_value(json_object_get(e, "field"));
	if (field)
		cr_assert(f && strcmp(f, field) == 0, "field %s, want %s", f ? f : "(none)", field);
	if (message_part)
		cr_assert(strstr(json_string_value(json_object_get(e, "message")), message_part),
			  "message: %s", json_string_value(json_object_get(e, "message")));
	json_decref(v);
}

static rg_route_state route(const char *env, const char *stable_v, const char *stable,
			    const char *canary_v, const char *canary, int weight)
{
	rg_route_state st;
	memset(&st, 0, sizeof st);
	snprintf(st.env, sizeof st.env, "%s", env);
	snprintf(st.stable_version, sizeof st.stable_version, "%s", stable_v);
	snprintf(st.stable, sizeof st.stable, "%s", stable);
	snprintf(st.canary_version, sizeof st.canary_version, "%s", canary_v);
	snprintf(st.canary, sizeof st.canary, "%s", canary);
	st.canary_weight = weight;
	st.seed = 42;
	st.run_id = 7;
	return st;
}

static void route_store(const rg_route_state *st)
{
	rg_error err;
	cr_assert_eq(rg_store_route_put(store, st, &err), RG_OK, "%s", err.message);
}

/* ---- the route state as JSON (pure) --------------------------------------------------- */

Test(api_traffic_json, route_with_every_side)
{
	rg_route_state st = route("prod", "v1.1.0", "127.0.0.1:9001,127.0.0.1:9002", "v1.2.0",
				  "127.0.0.1:9003", 10);
	snprintf(st.standby_version, sizeof st.standby_version, "v1.0.0");
	snprintf(st.standby, sizeof st.standby, "127.0.0.1:9000");
	st.updated = 1795000000123;
	json_t *v = NULL;
	rg_error err;
	cr_assert_eq(rg_api_route_json(&st, &v, &err), RG_OK);
	cr_assert_str_eq(json_string_value(json_object_get(v, "updated")),
			 "2026-11-18T11:06:40.123Z");
	cr_assert_eq(json_integer_value(json_object_get(v, "updated_ms")), 1795000000123);
	assert_json(v, "{\"stable\":{\"version\":\"v1.1.0\","
		       "\"backends\":[\"127.0.0.1:9001\",\"127.0.0.1:9002\"]},"
		       "\"canary\":{\"version\":\"v1.2.0\",\"backends\":[\"127.0.0.1:9003\"]},"
		       "\"canary_weight\":10,"
		       "\"standby\":{\"version\":\"v1.0.0\",\"backends\":[\"127.0.0.1:9000\"]},"
		       "\"run_id\":7}");
}

Test(api_traffic_json, route_with_stable_only)
{
	rg_route_state st = route("prod", "v1.1.0", "127.0.0.1:9001", "", "", 0);
	st.run_id = 0;
	json_t *v = NULL;
	rg_error err;
	cr_assert_eq(rg_api_route_json(&st, &v, &err), RG_OK);
	cr_assert(json_is_null(json_object_get(v, "updated")));
	cr_assert_eq(json_integer_value(json_object_get(v, "updated_ms")), 0);
	assert_json(v, "{\"stable\":{\"version\":\"v1.1.0\",\"backends\":[\"127.0.0.1:9001\"]},"
		       "\"canary\":null,\"canary_weight\":0,\"standby\":null,\"run_id\":null}");
}

Test(api_traffic_json, empty_route_keeps_a_stable_object)
{
	rg_route_state st = route("prod", "", "", "", "", 0);
	json_t *v = NULL;
	rg_error err;
	cr_assert_eq(rg_api_route_json(&st, &v, &err), RG_OK);
	assert_json(v, "{\"stable\":{\"version\":null,\"backends\":[]},\"canary\":null,"
		       "\"canary_weight\":0,\"standby\":null,\"run_id\":7}");
}

Test(api_traffic_json, backend_lists_are_split_and_cleaned)
{
	/* A canary named only by its backends is still a canary. */
	rg_route_state st = route("prod", "v1", " 127.0.0.1:1 , ,127.0.0.1:2,", "",
				  "10.0.0.1:80\xff", 50);
	json_t *v = NULL;
	rg_error err;
	cr_assert_eq(rg_api_route_json(&st, &v, &err), RG_OK);
	assert_json(v, "{\"stable\":{\"version\":\"v1\","
		       "\"backends\":[\"127.0.0.1:1\",\"127.0.0.1:2\"]},"
		       "\"canary\":{\"version\":null,\"backends\":[\"10.0.0.1:80?\"]},"
		       "\"canary_weight\":50,\"standby\":null,\"run_id\":7}");
}

Test(api_traffic_json, router_names)
{
	rg_env e;
	memset(&e, 0, sizeof e);
	cr_assert_null(rg_api_router_name(&e));
	cr_assert_null(rg_api_router_name(NULL));
	e.router = RG_ROUTER_HAPROXY;
	cr_assert_str_eq(rg_api_router_name(&e), "haproxy");
	e.router = RG_ROUTER_COMMAND;
	cr_assert_str_eq(rg_api_router_name(&e), "command");
	e.router = RG_ROUTER_PROXY;
	cr_assert_str_eq(rg_api_router_name(&e), "proxy");
	e.router = RG_ROUTER_NONE;
	e.proxy_listen = "127.0.0.1:8080";
	cr_assert_str_eq(rg_api_router_name(&e), "proxy");
}

/* ---- the answers, over a real store ------------------------------------------------------ */

TestSuite(api_traffic_store, .init = setup, .fini = teardown);

Test(api_traffic_store, stored_route_or_null)
{
	json_t *v = NULL;
	rg_error err;
	cr_assert_eq(rg_api_stored_route_json(store, "prod", &v, &err), RG_OK, "%s", err.message);
	cr_assert(json_is_null(v));
	rg_route_state st = route("prod", "v1", "127.0.0.1:9001", "", "", 0);
	route_store(&st);
	cr_assert_eq(rg_api_stored_route_json(store, "prod", &v, &err), RG_OK, "%s", err.message);
	cr_assert_gt(json_integer_value(json_object_get(v, "updated_ms")), 0);
	cr_assert_not_null(json_string_value(json_object_get(v, "updated")));
	assert_json(v, "{\"stable\":{\"version\":\"v1\",\"backends\":[\"127.0.0.1:9001\"]},"
		       "\"canary\":null,\"canary_weight\":0,\"standby\":null,\"run_id\":7}");
}

Test(api_traffic_store, external_router_shares)
{
	rg_route_state st = route("prod", "v1.1.0", "127.0.0.1:9001", "v1.2.0", "127.0.0.1:9002",
				  10);
	snprintf(st.standby_version, sizeof st.standby_version, "v1.0.0");
	route_store(&st);
	json_t *v = NULL;
	rg_error err;
	cr_assert_eq(rg_api_traffic_json(&cfg, store, NULL, "prod", &v, &err), RG_OK, "%s",
		     err.message);
	assert_json(v, "{\"env\":\"prod\",\"router\":\"haproxy\",\"canary_weight\":10,"
		       "\"stats\":null,\"releases\":["
		       "{\"version\":\"v1.1.0\",\"side\":\"stable\",\"share\":90,"
		       "\"backends\":[{\"address\":\"127.0.0.1:9001\"}]},"
		       "{\"version\":\"v1.2.0\",\"side\":\"canary\",\"share\":10,"
		       "\"backends\":[{\"address\":\"127.0.0.1:9002\"}]},"
		       "{\"version\":\"v1.0.0\",\"side\":\"standby\",\"share\":0,\"backends\":[]}],"
		       "\"route\":{\"stable\":{\"version\":\"v1.1.0\","
		       "\"backends\":[\"127.0.0.1:9001\"]},"
		       "\"canary\":{\"version\":\"v1.2.0\",\"backends\":[\"127.0.0.1:9002\"]},"
		       "\"canary_weight\":10,\"standby\":{\"version\":\"v1.0.0\",\"backends\":[]},"
		       "\"run_id\":7}}");
}

Test(api_traffic_store, external_router_before_any_route)
{
	json_t *v = NULL;
	rg_error err;
	cr_assert_eq(rg_api_traffic_json(&cfg, store, NULL, "stage", &v, &err), RG_OK);
	assert_json(v, "{\"env\":\"stage\",\"router\":\"command\",\"canary_weight\":0,"
		       "\"stats\":null,\"releases\":[],\"route\":null}");
}

Test(api_traffic_store, stable_alone_takes_everything)
{
	rg_route_state st = route("stage", "v2", "127.0.0.1:9001", "", "", 30);   /* stale weight */
	route_store(&st);
	json_t *v = NULL;
	rg_error err;
	cr_assert_eq(rg_api_traffic_json(&cfg, store, NULL, "stage", &v, &err), RG_OK);
	json_t *rel = json_object_get(v, "releases");
	cr_assert_eq(json_array_size(rel), 1);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(rel, 0), "share")), 100);
	cr_assert_eq(json_integer_value(json_object_get(v, "canary_weight")), 0);
	json_decref(v);
}

Test(api_traffic_store, no_router)
{
	json_t *v = NULL;
	rg_error err;
	cr_assert_eq(rg_api_traffic_json(&cfg, store, NULL, "dev", &v, &err), RG_OK);
	assert_json(v, "{\"env\":\"dev\",\"router\":null,\"releases\":[],\"route\":null}");
}

Test(api_traffic_store, proxy_without_a_dataplane_is_shown_unmeasured)
{
	rg_route_state st = route("edge", "v1", "127.0.0.1:9001", "", "", 0);
	route_store(&st);
	json_t *v = NULL;
	rg_error err;
	cr_assert_eq(rg_api_traffic_json(&cfg, store, NULL, "edge", &v, &err), RG_OK);
	cr_assert_str_eq(json_string_value(json_object_get(v, "router")), "proxy");
	cr_assert(json_is_null(json_object_get(v, "stats")));
	cr_assert_eq(json_array_size(json_object_get(v, "releases")), 1);
	json_decref(v);
}

Test(api_traffic_store, unknown_env)
{
	json_t *v = NULL;
	rg_error err;
	cr_assert_eq(rg_api_traffic_json(&cfg, store, NULL, "nope", &v, &err), RG_ENOTFOUND);
	cr_assert_null(v);
	cr_assert_str_eq(err.field, "env");
}

Test(api_traffic_store, status_traffic_shapes)
{
	json_t *v = NULL;
	rg_error err;
	cr_assert_eq(rg_api_status_traffic(store, &envs[2], &v, &err), RG_OK);
	cr_assert(json_is_null(v));
	cr_assert_eq(rg_api_status_traffic(store, &envs[0], &v, &err), RG_OK);
	assert_json(v, "{\"router\":\"haproxy\",\"canary_weight\":0,\"stable\":null,"
		       "\"canary\":null}");
	rg_route_state st = route("prod", "v1.1.0", "127.0.0.1:9001", "v1.2.0", "127.0.0.1:9002",
				  50);
	route_store(&st);
	cr_assert_eq(rg_api_status_traffic(store, &envs[0], &v, &err), RG_OK);
	assert_json(v, "{\"router\":\"haproxy\",\"canary_weight\":50,"
		       "\"stable\":{\"version\":\"v1.1.0\"},\"canary\":{\"version\":\"v1.2.0\"}}");
}

/* The CLI's line is made from the API's status.traffic: the two must agree. */
Test(api_traffic_store, status_traffic_as_the_cli_shows_it)
{
	char line[256];
	json_t *v = NULL;
	rg_error err;
	rg_route_state st = route("prod", "v1.1.0", "127.0.0.1:9001", "v1.2.0", "127.0.0.1:9002",
				  10);
	route_store(&st);
	cr_assert_eq(rg_api_status_traffic(store, &envs[0], &v, &err), RG_OK);
	rg_out_traffic_line(line, sizeof line, v);
	cr_assert_str_eq(line, "v1.2.0 10% \u00b7 v1.1.0 90% (haproxy)");
	json_decref(v);
	st = route("prod", "v1.2.0", "127.0.0.1:9002", "", "", 0);
	route_store(&st);
	cr_assert_eq(rg_api_status_traffic(store, &envs[0], &v, &err), RG_OK);
	rg_out_traffic_line(line, sizeof line, v);
	cr_assert_str_eq(line, "v1.2.0 100% (haproxy)");
	json_decref(v);
	cr_assert_eq(rg_api_status_traffic(store, &envs[1], &v, &err), RG_OK);
	rg_out_traffic_line(line, sizeof line, v);
	cr_assert_str_eq(line, "nothing routed yet (command)");
	json_decref(v);
	rg_out_traffic_line(line, sizeof line, json_null());
	cr_assert_str_eq(line, "");
}

/* ---- the handlers over HTTP ------------------------------------------------------------------ */

TestSuite(api_traffic_http, .init = setup, .fini = teardown);

Test(api_traffic_http, env_is_required_and_checked)
{
	assert_error("GET", "/api/v1/traffic", 400, "invalid_input", "env", "required");
	assert_error("GET", "/api/v1/traffic?env=", 400, "invalid_input", "env", "required");
	assert_error("GET", "/api/v1/traffic?env=%24(touch%20x)", 400, "invalid_input", "env",
		     "invalid environment name");
	assert_error("GET", "/api/v1/traffic?env=nope", 404, "not_found", "env",
		     "unknown environment 'nope'");
	assert_error("GET", "/api/v1/traffic?env=prod&window=5", 400, "invalid_input", "window",
		     NULL);
}

Test(api_traffic_http, other_methods_are_refused)
{
	api_answer a = http("POST", "/api/v1/traffic?env=prod");
	json_t *v = answer_json(&a, 405);
	cr_assert_str_eq(a.allow, "GET");
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(v, "error"), "code")),
			 "method_not_allowed");
	json_decref(v);
	a = http("DELETE", "/api/v1/traffic");
	json_decref(answer_json(&a, 405));
}

Test(api_traffic_http, external_router)
{
	rg_route_state st = route("prod", "v1.1.0", "127.0.0.1:9001", "v1.2.0", "127.0.0.1:9002",
				  50);
	route_store(&st);
	api_answer a = http("GET", "/api/v1/traffic?env=prod");
	json_t *v = answer_json(&a, 200);
	cr_assert_gt(json_integer_value(json_object_get(json_object_get(v, "route"),
							"updated_ms")), 0);
	assert_json(v, "{\"env\":\"prod\",\"router\":\"haproxy\",\"canary_weight\":50,"
		       "\"stats\":null,\"releases\":["
		       "{\"version\":\"v1.1.0\",\"side\":\"stable\",\"share\":50,"
		       "\"backends\":[{\"address\":\"127.0.0.1:9001\"}]},"
		       "{\"version\":\"v1.2.0\",\"side\":\"canary\",\"share\":50,"
		       "\"backends\":[{\"address\":\"127.0.0.1:9002\"}]}],"
		       "\"route\":{\"stable\":{\"version\":\"v1.1.0\","
		       "\"backends\":[\"127.0.0.1:9001\"]},"
		       "\"canary\":{\"version\":\"v1.2.0\",\"backends\":[\"127.0.0.1:9002\"]},"
		       "\"canary_weight\":50,\"standby\":null,\"run_id\":7}}");
}

Test(api_traffic_http, no_router)
{
	api_answer a = http("GET", "/api/v1/traffic?env=dev");
	assert_json(answer_json(&a, 200),
		    "{\"env\":\"dev\",\"router\":null,\"releases\":[],\"route\":null}");
}

Test(api_traffic_http, status_of_one_env_has_traffic)
{
	rg_route_state st = route("prod", "v1.1.0", "127.0.0.1:9001", "v1.2.0", "127.0.0.1:9002",
				  10);
	route_store(&st);
	api_answer a = http("GET", "/api/v1/status?env=prod");
	json_t *v = answer_json(&a, 200);
	/* The store's fields are still there, unchanged. */
	cr_assert_str_eq(json_string_value(json_object_get(v, "env")), "prod");
	cr_assert(json_is_null(json_object_get(v, "live")));
	cr_assert(json_is_null(json_object_get(v, "run")));
	json_t *t = json_incref(json_object_get(v, "traffic"));
	json_decref(v);
	assert_json(t, "{\"router\":\"haproxy\",\"canary_weight\":10,"
		       "\"stable\":{\"version\":\"v1.1.0\"},\"canary\":{\"version\":\"v1.2.0\"}}");
}

Test(api_traffic_http, status_of_every_env_has_traffic)
{
	api_answer a = http("GET", "/api/v1/status");
	json_t *v = answer_json(&a, 200);
	json_t *list = json_object_get(v, "environments");
	cr_assert_eq(json_array_size(list), 4);
	cr_assert(json_is_object(json_object_get(json_array_get(list, 0), "traffic")));
	cr_assert(json_is_object(json_object_get(json_array_get(list, 1), "traffic")));
	cr_assert(json_is_null(json_object_get(json_array_get(list, 2), "traffic")));
	cr_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(json_array_get(list, 3), "traffic"), "router")),
			 "proxy");
	json_decref(v);
}

Test(api_traffic_http, metrics_render_without_a_dataplane)
{
	api_answer a = http("GET", "/metrics");
	cr_assert_eq(a.status, 200, "%s", a.body);
	cr_assert(strncmp(a.content_type, "text/plain", 10) == 0, "%s", a.content_type);
	cr_assert(strstr(a.body, "\nrollguard_runs{state=\"running\"} 0\n"));
	cr_assert(strstr(a.body, "\nrollguard_step_duration_seconds_count 0\n"));
	cr_assert_null(strstr(a.body, "rollguard_proxy_"));
	cr_assert_eq(a.body[a.len - 1], '\n');
	free(a.body);
}

/* ---- with a real built-in proxy ------------------------------------------------------------- */

static rg_dataplane *dp;

static void setup_proxy(void)
{
	rg_error err;
	setup();
	envs[3].proxy_threads = 1;
	cr_assert_eq(rg_dataplane_start(&cfg, &dp, &err), RG_OK, "%s", err.message);
	cr_assert(rg_dataplane_serves(dp, "edge"));
	cr_assert_not(rg_dataplane_serves(dp, "prod"));
	ctx.dp = dp;   /* no request was made yet */
}

static void teardown_proxy(void)
{
	api_server_stop();
	rg_dataplane_stop(dp);
	dp = NULL;
	teardown();
}

TestSuite(api_traffic_proxy, .init = setup_proxy, .fini = teardown_proxy);

static void route_apply(const rg_route_state *st)
{
	rg_error err;
	route_store(st);
	cr_assert_eq(rg_dataplane_apply(dp, st, NULL, &err), RG_OK, "%s", err.message);
}

Test(api_traffic_proxy, figures_and_the_stored_route)
{
	rg_route_state st = route("edge", "v1.1.0", "127.0.0.1:1", "v1.2.0", "127.0.0.1:2", 10);
	route_apply(&st);
	api_answer a = http("GET", "/api/v1/traffic?env=edge");
	json_t *v = answer_json(&a, 200);
	cr_assert_str_eq(json_string_value(json_object_get(v, "env")), "edge");
	cr_assert_str_eq(json_string_value(json_object_get(v, "router")), "proxy");
	cr_assert_eq(json_integer_value(json_object_get(v, "canary_weight")), 10);
	cr_assert_eq(json_integer_value(json_object_get(v, "window_seconds")), RG_TRAFFIC_WINDOW_S);
	cr_assert_not_null(json_string_value(json_object_get(v, "listen")));
	json_t *releases = json_object_get(v, "releases"), *r;
	size_t i;
	bool stable = false, canary = false;
	json_array_foreach(releases, i, r) {
		const char *version = json_string_value(json_object_get(r, "version"));
		const char *side = json_string_value(json_object_get(r, "side"));
		cr_assert_not_null(version);
		cr_assert_not_null(side);
		stable |= !strcmp(version, "v1.1.0") && !strcmp(side, "stable");
		canary |= !strcmp(version, "v1.2.0") && !strcmp(side, "canary");
		cr_assert(json_is_object(json_object_get(r, "total")));
		cr_assert(json_is_object(json_object_get(r, "window")));
	}
	cr_assert(stable && canary, "releases: %s", json_dumps(releases, JSON_COMPACT));
	json_t *stored = NULL;
	rg_error err;
	cr_assert_eq(rg_api_stored_route_json(store, "edge", &stored, &err), RG_OK);
	cr_assert(json_equal(json_object_get(v, "route"), stored));
	json_decref(stored);
	json_decref(v);
}

Test(api_traffic_proxy, before_any_route)
{
	api_answer a = http("GET", "/api/v1/traffic?env=edge");
	json_t *v = answer_json(&a, 200);
	cr_assert_str_eq(json_string_value(json_object_get(v, "router")), "proxy");
	cr_assert(json_is_null(json_object_get(v, "route")));
	json_decref(v);
}

Test(api_traffic_proxy, other_envs_keep_their_shapes)
{
	api_answer a = http("GET", "/api/v1/traffic?env=dev");
	assert_json(answer_json(&a, 200),
		    "{\"env\":\"dev\",\"router\":null,\"releases\":[],\"route\":null}");
	a = http("GET", "/api/v1/traffic?env=stage");
	json_t *v = answer_json(&a, 200);
	cr_assert(json_is_null(json_object_get(v, "stats")));
	json_decref(v);
}

Test(api_traffic_proxy, metrics_follow_the_store_series)
{
	rg_route_state st = route("edge", "v1.1.0", "127.0.0.1:1", "v1.2.0", "127.0.0.1:2", 10);
	route_apply(&st);
	api_answer a = http("GET", "/metrics");
	cr_assert_eq(a.status, 200, "%s", a.body);
	const char *store_end = strstr(a.body, "\nrollguard_step_duration_seconds_count 0\n");
	const char *proxy = strstr(a.body, "rollguard_proxy_canary_weight{env=\"edge\"");
	cr_assert_not_null(store_end, "%s", a.body);
	cr_assert_not_null(proxy, "%s", a.body);
	cr_assert_gt(proxy, store_end);
	cr_assert_eq(a.body[a.len - 1], '\n');
	free(a.body);
}
