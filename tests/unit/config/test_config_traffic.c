/* test_config_traffic.c — what traffic steps drive: the built-in proxy's
 * options, the external routers (HAProxy's runtime API, a command), the
 * traffic step's drain and retire, and the rule that a traffic step needs a
 * router in every environment it runs in. Each test writes its YAML to a
 * fresh temp directory. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

#include "../support/config_load.h"

TestSuite(config_traffic_proxy, .init = cfg_dir_make, .fini = cfg_dir_remove);
TestSuite(config_traffic_router, .init = cfg_dir_make, .fini = cfg_dir_remove);
TestSuite(config_traffic_steps, .init = cfg_dir_make, .fini = cfg_dir_remove);

/* Lines 1–2; the environments a test writes start on line 3, and the
 * deploy pipeline follows with DEPLOY (3 lines) or TRAFFIC (5 lines). */
#define HEAD "service: shop\nenvironments:\n"
#define DEPLOY "deploy:\n  - name: app\n    run: ./app\n"
#define TRAFFIC DEPLOY "  - name: canary\n    traffic: { backend: app.backend, steps: [10, 100] }\n"

/* ---------------------------------------------------------------- proxy */

Test(config_traffic_proxy, every_option)
{
	cfg_loaded L;
	cfg_load_ok(&L, HEAD "  prod:\n    proxy:\n      listen: 127.0.0.1:8080\n      threads: 2\n"
			     "      connect_timeout: 500ms\n      response_timeout: 10s\n"
			     "      idle_timeout: 1m\n      sticky: { header: X-User-Id }\n"
			     "      balance: least-connections\n" TRAFFIC);
	const rg_env *e = rg_config_env(&L.cfg, "prod");
	cr_assert_eq(e->router, RG_ROUTER_PROXY);
	cr_assert_str_eq(e->proxy_listen, "127.0.0.1:8080");
	cr_assert_eq(e->proxy_threads, 2);
	cr_assert_eq(e->proxy_connect_timeout_ms, 500);
	cr_assert_eq(e->proxy_response_timeout_ms, 10000);
	cr_assert_eq(e->proxy_idle_timeout_ms, 60000);
	cr_assert_str_eq(e->proxy_sticky_header, "X-User-Id");
	cr_assert_null(e->proxy_sticky_cookie);
	cr_assert(e->proxy_least_conn);
	cfg_release(&L);
}

Test(config_traffic_proxy, defaults_and_cookie)
{
	cfg_loaded L;
	cfg_load_ok(&L, HEAD "  prod:\n    proxy: { listen: 127.0.0.1:8080, sticky: { cookie: shop_rel },"
			     " balance: round-robin }\n  dev: {}\n" DEPLOY);
	const rg_env *e = rg_config_env(&L.cfg, "prod");
	cr_assert_eq(e->router, RG_ROUTER_PROXY);
	cr_assert_eq(e->proxy_connect_timeout_ms, 0);
	cr_assert_eq(e->proxy_response_timeout_ms, 0);
	cr_assert_eq(e->proxy_idle_timeout_ms, 0);
	cr_assert_str_eq(e->proxy_sticky_cookie, "shop_rel");
	cr_assert_null(e->proxy_sticky_header);
	cr_assert_not(e->proxy_least_conn);
	const rg_env *dev = rg_config_env(&L.cfg, "dev");
	cr_assert_eq(dev->router, RG_ROUTER_NONE);
	cr_assert_null(dev->proxy_listen);
	cfg_release(&L);
}

Test(config_traffic_proxy, bad_values)
{
	cfg_loaded L;
	cfg_load(&L, HEAD "  prod:\n    proxy:\n      listen: 127.0.0.1:8080\n"
			  "      connect_timeout: 0\n      response_timeout: 5x\n"
			  "      idle_timeout: [1]\n      balance: least-conections\n"
			  "      tread: 2\n" DEPLOY);
	cfg_expect(&L, 6, 24, "'connect_timeout' must be longer than 0");
	cfg_expect(&L, 7, 25, "invalid duration '5x' (use 500ms, 10s, 5m, 2h or 1d)");
	cfg_expect(&L, 8, 21, "expected a duration like '10s' for 'idle_timeout' (got a sequence)");
	cfg_expect(&L, 9, 16,
		   "invalid balance 'least-conections' (did you mean 'least-connections'?)");
	cfg_expect(&L, 10, 7, "unknown key 'tread' in proxy (did you mean 'threads'?)");
	cr_assert_eq(L.diags.n, 5, "%s", L.all);
	cfg_release(&L);
}

Test(config_traffic_proxy, sticky_names_are_tokens)
{
	cfg_loaded L;
	cfg_load(&L, HEAD "  a: { proxy: { listen: \"*:1\", sticky: { cookie: \"a b\" } } }\n"
			  "  b: { proxy: { listen: \"*:2\", sticky: { header: \"X:Y\" } } }\n"
			  "  c: { proxy: { listen: \"*:3\", sticky: { header: X, cookie: y } } }\n"
			  "  d: { proxy: { listen: \"*:4\", sticky: {} } }\n"
			  "  e: { proxy: { listen: \"*:5\", sticky: { header: "
			  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa } } }\n"
			  "  f: { proxy: { listen: \"*:6\", sticky: { cookie: \"\", hedaer: x } } }\n" DEPLOY);
	cfg_expect(&L, 3, 50, "invalid cookie name 'a b' (use letters, digits and !#$%&'*+-.^_`|~, "
			      "at most 64)");
	cfg_expect(&L, 4, 50, "invalid header name 'X:Y' (use letters, digits and !#$%&'*+-.^_`|~, "
			      "at most 64)");
	cfg_expect(&L, 5, 53, "sticky has both 'header' and 'cookie' (use one)");
	cfg_expect(&L, 6, 40, "sticky needs 'cookie' or 'header' (a name)");
	cfg_expect(&L, 7, 50, "invalid header name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' "
			      "(use letters, digits and !#$%&'*+-.^_`|~, at most 64)");
	cfg_expect(&L, 8, 50, "'cookie' must not be empty");
	cfg_expect(&L, 8, 54, "unknown key 'hedaer' in sticky (did you mean 'header'?)");
	cr_assert_eq(L.diags.n, 7, "%s", L.all);
	cfg_release(&L);
}

Test(config_traffic_proxy, front_door_options)
{
	cfg_loaded L;
	cfg_load_ok(&L, HEAD "  prod:\n    proxy:\n      listen: 127.0.0.1:8080\n"
			     "      max_connections: 5000\n      max_connections_per_client: 20\n"
			     "      header_timeout: 5s\n      body_timeout: 30s\n      max_requests: 100\n"
			     "      force_header: { name: X-Pin, from: [10.0.0.0/8, 127.0.0.1] }\n"
			     "      trusted_proxies: [192.168.1.0/24, \"fd00:1::/32\"]\n      scheme: https\n" TRAFFIC);
	const rg_env *e = rg_config_env(&L.cfg, "prod");
	cr_assert_eq(e->proxy_max_connections, 5000);
	cr_assert_eq(e->proxy_max_per_client, 20);
	cr_assert_eq(e->proxy_header_timeout_ms, 5000);
	cr_assert_eq(e->proxy_body_timeout_ms, 30000);
	cr_assert_eq(e->proxy_max_requests, 100);
	cr_assert_str_eq(e->proxy_force_header, "X-Pin");
	cr_assert_eq(e->proxy_n_force_from, 2);
	char text[64];
	cr_assert_str_eq(rg_cidr_format(&e->proxy_force_from[0], text, sizeof text), "10.0.0.0/8");
	cr_assert_str_eq(rg_cidr_format(&e->proxy_force_from[1], text, sizeof text), "127.0.0.1/32");
	cr_assert_eq(e->proxy_n_trusted, 2);
	cr_assert_str_eq(rg_cidr_format(&e->proxy_trusted[0], text, sizeof text), "192.168.1.0/24");
	cr_assert_str_eq(rg_cidr_format(&e->proxy_trusted[1], text, sizeof text), "fd00:1::/32");
	cr_assert(e->proxy_https);
	cfg_release(&L);
	/* without force_header no side is ever forced */
	cfg_load_ok(&L, HEAD "  prod: { proxy: { listen: 127.0.0.1:8080 } }\n" DEPLOY);
	e = rg_config_env(&L.cfg, "prod");
	cr_assert_null(e->proxy_force_header);
	cr_assert_not(e->proxy_https);
	cfg_release(&L);
}

Test(config_traffic_proxy, front_door_bad_values)
{
	cfg_loaded L;
	cfg_load(&L, HEAD "  prod:\n    proxy:\n      listen: 127.0.0.1:8080\n"
			  "      max_connections: 0\n"
			  "      force_header: { name: \"X Pin\", from: [10.0.0.1/8] }\n"
			  "      trusted_proxies: [1.2.3.4/33, \"::1/8\"]\n"
			  "      scheme: ftp\n"
			  "  qa:\n    proxy:\n      listen: 127.0.0.1:8081\n"
			  "      force_header: { name: X, fro: [] }\n" DEPLOY);
	cfg_expect(&L, 6, 24, "'max_connections' must be between 1 and 10000000 (got 0)");
	cfg_expect(&L, 7, 29, "invalid header name 'X Pin' (use letters, digits and "
			      "!#$%&'*+-.^_`|~, at most 64)");
	cfg_expect(&L, 7, 45, "invalid address range '10.0.0.1/8' in from (use A.B.C.D/N or IPv6/N "
			      "such as fd00::/8 with no host bits set, or one address)");
	cfg_expect(&L, 8, 25, "invalid address range '1.2.3.4/33' in trusted_proxies (use "
			      "A.B.C.D/N or IPv6/N such as fd00::/8 with no host bits set, or one address)");
	cfg_expect(&L, 8, 37, "invalid address range '::1/8' in trusted_proxies (use A.B.C.D/N or "
			      "IPv6/N such as fd00::/8 with no host bits set, or one address)");
	cfg_expect(&L, 9, 15, "invalid scheme 'ftp' (use http or https)");
	cfg_expect(&L, 13, 21, "missing required key 'from' in force_header");
	cfg_expect(&L, 13, 32, "unknown key 'fro' in force_header (did you mean 'from'?)");
	cr_assert_eq(L.diags.n, 8, "%s", L.all);
	cfg_release(&L);
}

Test(config_traffic_proxy, drain_of_tunnels)
{
	cfg_loaded L;
	cfg_load_ok(&L, HEAD "  prod: { proxy: { listen: 127.0.0.1:8080, drain: 2m } }\n" DEPLOY);
	cr_assert_eq(rg_config_env(&L.cfg, "prod")->proxy_drain_ms, 120000);
	cfg_release(&L);
	cfg_load_ok(&L, HEAD "  prod: { proxy: { listen: 127.0.0.1:8080 } }\n" DEPLOY);
	cr_assert_eq(rg_config_env(&L.cfg, "prod")->proxy_drain_ms, 0, "0: the dataplane's 10s");
	cfg_release(&L);
	cfg_load(&L, HEAD "  prod: { proxy: { listen: 127.0.0.1:8080, drain: soon } }\n" DEPLOY);
	cfg_expect_only(&L, 3, 51, "invalid duration 'soon' (use 500ms, 10s, 5m, 2h or 1d)");
	cfg_release(&L);
}

Test(config_traffic_proxy, proxy_and_router_are_exclusive)
{
	cfg_loaded L;
	cfg_load(&L, HEAD "  prod:\n    proxy: { listen: 127.0.0.1:8080 }\n"
			  "    router: { command: ./route.sh }\n" TRAFFIC);
	cfg_expect_only(&L, 5, 5, "environment 'prod' has both 'proxy' and 'router' (use one)");
	cfg_release(&L);
}

/* ---------------------------------------------------------------- router */

Test(config_traffic_router, haproxy_unix_socket_relative_to_the_config)
{
	cfg_loaded L;
	cfg_load_ok(&L, HEAD "  prod:\n    router:\n      haproxy:\n        socket: run/admin.sock\n"
			     "        backend: shop\n        stable: blue\n        canary: green\n"
			     "      timeout: 5s\n" TRAFFIC);
	const rg_env *e = rg_config_env(&L.cfg, "prod");
	char real[PATH_MAX], want[PATH_MAX + 32];
	cr_assert_not_null(realpath(cfg_dir, real));
	snprintf(want, sizeof want, "%s/run/admin.sock", real);
	cr_assert_eq(e->router, RG_ROUTER_HAPROXY);
	cr_assert_str_eq(e->haproxy_socket, want);
	cr_assert_str_eq(e->haproxy_backend, "shop");
	cr_assert_str_eq(e->haproxy_stable, "blue");
	cr_assert_str_eq(e->haproxy_canary, "green");
	cr_assert_eq(e->router_timeout_ms, 5000);
	cr_assert_null(e->proxy_listen);
	cfg_release(&L);
}

Test(config_traffic_router, haproxy_absolute_and_tcp_sockets)
{
	cfg_loaded L;
	cfg_load_ok(&L, HEAD "  a:\n    router: { haproxy: { socket: /run/haproxy/admin.sock, "
			     "backend: b, stable: s, canary: c } }\n"
			     "  b:\n    router: { haproxy: { socket: \"127.0.0.1:9999\", "
			     "backend: web_1.x-y, stable: s, canary: c } }\n" TRAFFIC);
	const rg_env *a = rg_config_env(&L.cfg, "a"), *b = rg_config_env(&L.cfg, "b");
	cr_assert_str_eq(a->haproxy_socket, "/run/haproxy/admin.sock");
	cr_assert_eq(a->router_timeout_ms, 30000, "the default router timeout is 30s");
	cr_assert_str_eq(b->haproxy_socket, "127.0.0.1:9999");
	cr_assert_str_eq(b->haproxy_backend, "web_1.x-y");
	cfg_release(&L);
}

Test(config_traffic_router, haproxy_bad_values)
{
	cfg_loaded L;
	cfg_load(&L, HEAD "  a:\n    router:\n      haproxy:\n        socket: \"localhost:99999\"\n"
			  "        backend: \"b;shutdown\"\n        stable: s\n        canary: s\n"
			  "        weight: 3\n"
			  "  b:\n    router:\n      haproxy: { socket: \"1.2.3.4:0\", stable: \"a b\" }\n"
			  "      timeout: 0\n" DEPLOY);
	cfg_expect(&L, 6, 17, "invalid haproxy socket 'localhost:99999' (use a unix socket path, or "
			      "HOST:PORT such as 127.0.0.1:9999 or [::1]:9999)");
	cfg_expect(&L, 7, 18, "invalid haproxy backend name 'b;shutdown' (use letters, digits, '.', "
			      "'_' and '-', at most 64)");
	cfg_expect(&L, 9, 17, "haproxy servers 'stable' and 'canary' must differ (both are 's')");
	cfg_expect(&L, 10, 9, "unknown key 'weight' in haproxy (valid keys: socket, backend, stable, "
			      "canary)");
	cfg_expect(&L, 13, 26, "invalid haproxy socket '1.2.3.4:0' (use a unix socket path, or "
			       "HOST:PORT such as 127.0.0.1:9999 or [::1]:9999)");
	cfg_expect(&L, 13, 16, "missing required key 'backend' in haproxy");
	cfg_expect(&L, 13, 16, "missing required key 'canary' in haproxy");
	cfg_expect(&L, 13, 47, "invalid haproxy server name 'a b' (use letters, digits, '.', '_' and "
			       "'-', at most 64)");
	cfg_expect(&L, 14, 16, "'timeout' must be longer than 0");
	cr_assert_eq(L.diags.n, 9, "%s", L.all);
	cfg_release(&L);
}

Test(config_traffic_router, command_router)
{
	cfg_loaded L;
	cfg_load_ok(&L, HEAD "  prod:\n    router: { command: ./scripts/route.sh, timeout: 2m }\n" TRAFFIC);
	const rg_env *e = rg_config_env(&L.cfg, "prod");
	cr_assert_eq(e->router, RG_ROUTER_COMMAND);
	cr_assert_str_eq(e->router_command, "./scripts/route.sh");
	cr_assert_eq(e->router_timeout_ms, 120000);
	cr_assert_null(e->haproxy_socket);
	cfg_release(&L);
}

Test(config_traffic_router, exactly_one_kind)
{
	cfg_loaded L;
	cfg_load(&L, HEAD "  a:\n    router: { timeout: 1s }\n"
			  "  b:\n    router: { command: ./r, haproxy: { socket: /s, backend: b, stable: s, "
			  "canary: c } }\n"
			  "  c:\n    router: { comand: ./r }\n"
			  "  d:\n    router: ./r\n" DEPLOY);
	cfg_expect(&L, 4, 13, "router needs 'haproxy' or 'command'");
	cfg_expect(&L, 6, 29, "router has both 'command' and 'haproxy' (use one)");
	cfg_expect(&L, 8, 15, "unknown key 'comand' in router (did you mean 'command'?)");
	cfg_expect(&L, 8, 13, "router needs 'haproxy' or 'command'");
	cfg_expect(&L, 10, 13, "expected a mapping for 'router' (got a string)");
	cr_assert_eq(L.diags.n, 5, "%s", L.all);
	cfg_release(&L);
}

/* ---------------------------------------------------------------- steps */

Test(config_traffic_steps, drain_defaults_to_10s_and_retire)
{
	cfg_loaded L;
	cfg_load_ok(&L, HEAD "  prod: { proxy: { listen: 127.0.0.1:8080 } }\n" DEPLOY
			     "  - name: c1\n    traffic: { backend: app.backend, steps: [100] }\n"
			     "  - name: c2\n    traffic: { backend: app.backend, steps: [100], drain: 0,"
			     " retire: ./retire.sh }\n");
	const rg_traffic *t1 = &L.cfg.deploy[1].traffic, *t2 = &L.cfg.deploy[2].traffic;
	cr_assert_eq(t1->drain_ms, 10000);
	cr_assert_null(t1->retire);
	cr_assert_eq(t2->drain_ms, 0);
	cr_assert_str_eq(t2->retire, "./retire.sh");
	cfg_release(&L);
}

Test(config_traffic_steps, retire_must_be_a_command)
{
	cfg_loaded L;
	cfg_load(&L, HEAD "  prod: { proxy: { listen: 127.0.0.1:8080 } }\n" DEPLOY
			  "  - name: c\n    traffic: { backend: app.backend, steps: [100], retire: \"\","
			  " retier: x }\n");
	cfg_expect(&L, 8, 60, "'retire' must not be empty");
	cfg_expect(&L, 8, 64, "unknown key 'retier' in traffic (did you mean 'retire'?)");
	cr_assert_eq(L.diags.n, 2, "%s", L.all);
	cfg_release(&L);
}

Test(config_traffic_steps, every_environment_of_a_traffic_step_needs_a_router)
{
	cfg_loaded L;
	cfg_load(&L, HEAD "  staging: {}\n  qa: { vars: { A: b } }\n"
			  "  production: { proxy: { listen: 127.0.0.1:8080 } }\n" TRAFFIC);
	cfg_expect(&L, 10, 5, "step 'canary' shifts traffic, but environment 'staging' has no proxy "
			      "or router");
	cfg_expect(&L, 10, 5, "step 'canary' shifts traffic, but environment 'qa' has no proxy or "
			      "router");
	cr_assert_eq(L.diags.n, 2, "%s", L.all);
	cfg_release(&L);
}

Test(config_traffic_steps, a_step_limited_to_routed_environments_is_fine)
{
	cfg_loaded L;
	cfg_load_ok(&L, HEAD "  staging: {}\n  production: { router: { command: ./r } }\n" DEPLOY
			     "  - name: canary\n    traffic: { backend: app.backend, steps: [10, 100] }\n"
			     "    environments: [production]\n");
	cfg_release(&L);
	cfg_load(&L, HEAD "  staging: {}\n  production: { router: { command: ./r } }\n" DEPLOY
			  "  - name: canary\n    environments: [staging, production]\n"
			  "    traffic: { backend: app.backend, steps: [10, 100] }\n");
	cfg_expect_only(&L, 10, 5, "step 'canary' shifts traffic, but environment 'staging' has no "
				   "proxy or router");
	cfg_release(&L);
}

Test(config_traffic_steps, no_traffic_in_rollback)
{
	cfg_loaded L;
	cfg_load(&L, HEAD "  prod: { proxy: { listen: 127.0.0.1:8080 } }\n" DEPLOY
			  "rollback:\n  - name: back\n    traffic: { backend: app.backend, steps: [100] }\n");
	cfg_expect_only(&L, 9, 5, "rollback steps may only use 'run' (found 'traffic')");
	cfg_release(&L);
}

Test(config_traffic_steps, starter_still_lints_clean)
{
	cfg_loaded L;
	cfg_load_ok(&L, rg_config_starter);
	for (size_t i = 0; i < L.cfg.n_envs; i++)
		cr_assert_eq(L.cfg.envs[i].router, RG_ROUTER_PROXY);
	cfg_release(&L);
}

/* ---------------------------------------------------------------- evidence */

TestSuite(config_evidence, .init = cfg_dir_make, .fini = cfg_dir_remove);

#define PROXY_ENV "  prod:\n    proxy: { listen: 127.0.0.1:8080 }\n"

Test(config_evidence, defaults_follow_the_pause_and_the_window)
{
	cfg_loaded L;
	cfg_load_ok(&L, HEAD "  prod:\n    monitor: 2m\n    proxy: { listen: 127.0.0.1:8080 }\n"
			DEPLOY "  - name: canary\n    traffic: { backend: app.backend, steps: [10, 100], pause: 30s }\n");
	const rg_evidence *t = &L.cfg.deploy[1].traffic.evidence;
	cr_assert_eq(t->min_requests, 100);
	cr_assert_eq(t->max_wait_ms, 120000, "4x the pause");
	cr_assert_eq(t->on_insufficient, RG_INSUFFICIENT_HOLD);
	const rg_evidence *m = &rg_config_env(&L.cfg, "prod")->monitor_evidence;
	cr_assert_eq(m->min_requests, 100);
	cr_assert_eq(m->max_wait_ms, 480000, "4x the monitor window");
	cr_assert_eq(m->on_insufficient, RG_INSUFFICIENT_HOLD);
	cr_assert_str_eq(rg_insufficient_name(RG_INSUFFICIENT_PROMOTE), "promote");
	cfg_release(&L);
}

Test(config_evidence, every_option)
{
	cfg_loaded L;
	cfg_load_ok(&L, HEAD "  prod:\n    monitor: 1m\n    min_requests: 20\n    max_monitor: 5m\n"
			"    on_insufficient_data: rollback\n    proxy: { listen: 127.0.0.1:8080 }\n"
			DEPLOY "  - name: canary\n    traffic: { backend: app.backend, steps: [10, 100], pause: 10s,"
			" min_requests: 0, max_pause: 10s, on_insufficient_data: promote }\n");
	const rg_evidence *t = &L.cfg.deploy[1].traffic.evidence;
	cr_assert_eq(t->min_requests, 0);
	cr_assert_eq(t->max_wait_ms, 10000);
	cr_assert_eq(t->on_insufficient, RG_INSUFFICIENT_PROMOTE);
	const rg_evidence *m = &rg_config_env(&L.cfg, "prod")->monitor_evidence;
	cr_assert_eq(m->min_requests, 20);
	cr_assert_eq(m->max_wait_ms, 300000);
	cr_assert_eq(m->on_insufficient, RG_INSUFFICIENT_ROLLBACK);
	cfg_release(&L);
}

Test(config_evidence, bad_values)
{
	cfg_loaded L;
	cfg_load(&L, HEAD "  prod:\n    monitor: 1m\n    max_monitor: 30s\n    proxy: { listen: 127.0.0.1:8080 }\n"
			DEPLOY "  - name: canary\n    traffic: { backend: app.backend, steps: [10, 100], pause: 10s,"
			" min_requests: -1, max_pause: 5s, on_insufficient_data: wait }\n");
	cfg_expect(&L, 5, 18, "max_monitor (30s) is shorter than monitor (1m)");
	cfg_expect_has(&L, "'min_requests' must be at least 0 (got -1)");
	cfg_expect_has(&L, "max_pause (5s) is shorter than pause (10s)");
	cfg_expect_has(&L, "invalid on_insufficient_data 'wait'");
	cr_assert_eq(L.diags.n, 4, "%s", L.all);
	cfg_release(&L);
}
