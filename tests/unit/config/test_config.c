/* test_config.c — rollguard.yaml: typed values, defaults, and every problem
 * the loader reports, at its line and column. Each test writes its YAML to a
 * fresh temp directory; nothing here touches the working directory. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "config/config.h"

#include "../support/config_load.h"

static void quiet(void)
{
	cfg_dir_make();
	cr_redirect_stdout();
	cr_redirect_stderr();
}

TestSuite(config_load, .init = cfg_dir_make, .fini = cfg_dir_remove);
TestSuite(config_errors, .init = cfg_dir_make, .fini = cfg_dir_remove);
TestSuite(config_refs, .init = cfg_dir_make, .fini = cfg_dir_remove);
TestSuite(config_triggers, .init = cfg_dir_make, .fini = cfg_dir_remove);
TestSuite(config_cmd, .init = quiet, .fini = cfg_dir_remove);

/* CFG_BASE with a router in each environment, for traffic steps; same lines. */
#define ROUTED                                                                                 \
	"service: shop\n"                                                                      \
	"environments:\n"                                                                      \
	"  staging: { proxy: { listen: 127.0.0.1:8081 } }\n"                                   \
	"  production: { router: { command: ./route.sh } }\n"                                  \
	"deploy:\n"                                                                            \
	"  - name: app\n"                                                                      \
	"    run: ./app\n"

/* ---------------------------------------------------------------- valid */

/* DESIGN §7, as written there. */
static const char design_example[] =
	"service: shop\n"
	"server:\n"
	"  listen: 127.0.0.1:7070          # API and dashboard\n"
	"  state: .rollguard\n"
	"environments:\n"
	"  staging:\n"
	"    timeout: 30m\n"
	"    monitor: 2m\n"
	"    post_rollback_monitor: 1m\n"
	"    vars: { STACK: shop-staging }\n"
	"    proxy: { listen: 127.0.0.1:8081 }\n"
	"  production:\n"
	"    timeout: 60m\n"
	"    monitor: 15m\n"
	"    post_rollback_monitor: 5m\n"
	"    vars: { STACK: shop-production }\n"
	"    proxy: { listen: 127.0.0.1:8080 }\n"
	"\n"
	"deploy:\n"
	"  - name: validate\n"
	"    run: ./scripts/validate.sh\n"
	"    timeout: 2m\n"
	"  - name: infrastructure\n"
	"    run: ./scripts/deploy-infra.sh\n"
	"    undo: ./scripts/rollback-infra.sh\n"
	"    timeout: 30m\n"
	"    retries: 1\n"
	"  - name: app\n"
	"    run: ./scripts/start-app.sh\n"
	"    undo: ./scripts/stop-app.sh\n"
	"    timeout: 10m\n"
	"  - name: canary\n"
	"    traffic: { backend: app.backend, steps: [10, 50, 100], pause: 5m }\n"
	"  - name: smoke\n"
	"    checks: [health, auth]\n"
	"    severity: P1\n"
	"    on_failure: rollback\n"
	"\n"
	"rollback:\n"
	"  - name: infrastructure\n"
	"    run: ./scripts/rollback-infra.sh\n"
	"\n"
	"checks:\n"
	"  health: { http: \"http://127.0.0.1:8080/health\", expect_status: 200, timeout: 2s }\n"
	"  auth:   { run: ./scripts/smoke-tests/test-auth.sh, timeout: 60s }\n"
	"\n"
	"metrics:\n"
	"  prometheus: http://127.0.0.1:9090\n"
	"\n"
	"triggers:\n"
	"  - { name: health,  check: health, every: 10s, failures: 5, severity: P0 }\n"
	"  - { name: errors,  metric: error_rate,  above: 1%,    for: 3m, severity: P1 }\n"
	"  - { name: latency, metric: latency_p95, above: 500ms, for: 3m, severity: P1 }\n"
	"  - { name: cpu,     query: 'avg(rate(process_cpu_seconds_total{job=\"shop\"}[1m]))', "
	"above: 0.9, for: 5m, severity: P2 }\n"
	"  - { name: canary,  analysis: sequential, alpha: 0.01, beta: 0.01, latency_bound: 500ms, "
	"severity: P1 }\n"
	"\n"
	"actions: { P0: rollback, P1: rollback, P2: rollback-after-approval, P3: notify }\n";

Test(config_load, design_example_envs_and_server)
{
	cfg_loaded L;
	cfg_load_ok(&L, design_example);
	const rg_config *c = &L.cfg;
	char real[PATH_MAX], state[PATH_MAX + 16];
	cr_assert_not_null(realpath(cfg_dir, real));
	snprintf(state, sizeof state, "%s/.rollguard", real);
	cr_assert_str_eq(c->service, "shop");
	cr_assert_str_eq(c->listen, "127.0.0.1:7070");
	cr_assert_str_eq(c->path, L.path);
	cr_assert_str_eq(c->dir, real);
	cr_assert_str_eq(c->state_dir, state);
	cr_assert_eq(c->n_envs, 2);
	const rg_env *p = rg_config_env(c, "production");
	cr_assert_not_null(p);
	cr_assert_eq(p->timeout_ms, 3600000);
	cr_assert_eq(p->monitor_ms, 900000);
	cr_assert_eq(p->post_rollback_monitor_ms, 300000);
	cr_assert_eq(p->n_vars, 1);
	cr_assert_str_eq(p->vars[0].key, "STACK");
	cr_assert_str_eq(p->vars[0].value, "shop-production");
	cr_assert_str_eq(p->proxy_listen, "127.0.0.1:8080");
	cr_assert_eq(p->proxy_threads, 0);
	cr_assert_eq(p->line, 12);
	cr_assert_eq(p->col, 3);
	cr_assert_eq(rg_config_env(c, "staging")->monitor_ms, 120000);
	cr_assert_str_eq(c->prometheus, "http://127.0.0.1:9090");
	cfg_release(&L);
}

Test(config_load, design_example_steps)
{
	cfg_loaded L;
	cfg_load_ok(&L, design_example);
	const rg_config *c = &L.cfg;
	cr_assert_eq(c->n_deploy, 5);
	const rg_step *infra = rg_config_step(c, "infrastructure");
	cr_assert_eq(infra, &c->deploy[1]);
	cr_assert_eq(infra->kind, RG_STEP_EXEC);
	cr_assert_str_eq(infra->run, "./scripts/deploy-infra.sh");
	cr_assert_str_eq(infra->undo, "./scripts/rollback-infra.sh");
	cr_assert_eq(infra->timeout_ms, 1800000);
	cr_assert_eq(infra->retries, 1);
	cr_assert_eq(c->deploy[0].undo, NULL);
	const rg_step *canary = &c->deploy[3];
	cr_assert_eq(canary->kind, RG_STEP_TRAFFIC);
	cr_assert_str_eq(canary->traffic.backend, "app.backend");
	cr_assert_eq(canary->traffic.n_steps, 3);
	cr_assert_eq(canary->traffic.steps[0], 10);
	cr_assert_eq(canary->traffic.steps[2], 100);
	cr_assert_eq(canary->traffic.pause_ms, 300000);
	const rg_step *smoke = &c->deploy[4];
	cr_assert_eq(smoke->kind, RG_STEP_CHECKS);
	cr_assert_eq(smoke->n_checks, 2);
	cr_assert_str_eq(smoke->checks[1], "auth");
	cr_assert_eq(smoke->severity, RG_SEV_P1);
	cr_assert_eq(smoke->on_failure, RG_ON_FAILURE_ROLLBACK);
	cr_assert_eq(smoke->line, 34);
	cr_assert_eq(smoke->col, 5);
	cr_assert_eq(c->n_rollback, 1);
	cr_assert_str_eq(c->rollback[0].run, "./scripts/rollback-infra.sh");
	cfg_release(&L);
}

Test(config_load, design_example_checks_triggers_actions)
{
	cfg_loaded L;
	cfg_load_ok(&L, design_example);
	const rg_config *c = &L.cfg;
	const rg_check *h = rg_config_check(c, "health");
	cr_assert_eq(h->kind, RG_CHECK_HTTP);
	cr_assert_str_eq(h->url, "http://127.0.0.1:8080/health");
	cr_assert_eq(h->expect_status, 200);
	cr_assert_eq(h->timeout_ms, 2000);
	const rg_check *a = rg_config_check(c, "auth");
	cr_assert_eq(a->kind, RG_CHECK_COMMAND);
	cr_assert_eq(a->timeout_ms, 60000);
	cr_assert_eq(c->n_triggers, 5);
	const rg_trigger *t = c->triggers;
	cr_assert_eq(t[0].kind, RG_TRIGGER_CHECK);
	cr_assert_str_eq(t[0].check, "health");
	cr_assert_eq(t[0].failures, 5);
	cr_assert_eq(t[0].severity, RG_SEV_P0);
	cr_assert_eq(t[1].kind, RG_TRIGGER_METRIC);
	cr_assert_str_eq(t[1].metric, "error_rate");
	cr_assert(t[1].has_above && !t[1].has_below);
	cr_assert_eq(t[1].above, 0.01);
	cr_assert_eq(t[1].for_ms, 180000);
	cr_assert_eq(t[2].above, 500.0);
	cr_assert_eq(t[3].kind, RG_TRIGGER_QUERY);
	cr_assert_str_eq(t[3].query, "avg(rate(process_cpu_seconds_total{job=\"shop\"}[1m]))");
	cr_assert_eq(t[3].above, 0.9);
	cr_assert_eq(t[3].severity, RG_SEV_P2);
	cr_assert_eq(t[4].kind, RG_TRIGGER_ANALYSIS);
	cr_assert_eq(t[4].alpha, 0.01);
	cr_assert_eq(t[4].beta, 0.01);
	cr_assert_eq(t[4].latency_bound_ms, 500);
	cr_assert_eq(c->actions[RG_SEV_P2], RG_ACTION_ROLLBACK_AFTER_APPROVAL);
	cr_assert_eq(c->actions[RG_SEV_P3], RG_ACTION_NOTIFY);
	cfg_release(&L);
}

Test(config_load, defaults)
{
	cfg_loaded L;
	cfg_load_ok(&L, CFG_BASE "checks:\n  h: { http: \"http://x/\" }\n"
				 "triggers:\n  - { name: t, check: h }\n  - { name: c, command: ./n, below: 5 }\n"
				 "  - { name: s, analysis: sequential }\n");
	const rg_config *c = &L.cfg;
	cr_assert_str_eq(c->listen, "127.0.0.1:7070");
	cr_assert_eq(c->prometheus, NULL);
	const rg_env *e = rg_config_env(c, "staging");
	cr_assert_eq(e->timeout_ms, 30 * 60000);
	cr_assert_eq(e->monitor_ms, 0);
	cr_assert_eq(e->post_rollback_monitor_ms, 0);
	cr_assert_eq(e->n_vars, 0);
	cr_assert_eq(e->proxy_listen, NULL);
	const rg_step *s = &c->deploy[0];
	cr_assert_eq(s->timeout_ms, 10 * 60000);
	cr_assert_eq(s->retries, 0);
	cr_assert_eq(s->retry_backoff_ms, 1000);
	cr_assert_eq(s->severity, RG_SEV_P1);
	cr_assert_eq(s->on_failure, RG_ON_FAILURE_ROLLBACK);
	cr_assert(s->rerun);
	cr_assert_eq(s->n_environments, 0);
	cr_assert_eq(c->n_rollback, 0);
	cr_assert_eq(c->checks[0].expect_status, 200);
	cr_assert_eq(c->checks[0].timeout_ms, 10000);
	cr_assert_eq(c->triggers[0].every_ms, 10000);
	cr_assert_eq(c->triggers[0].failures, 3);
	cr_assert_eq(c->triggers[0].severity, RG_SEV_P1);
	cr_assert_eq(c->triggers[1].for_ms, 0);
	cr_assert(c->triggers[1].has_below && !c->triggers[1].has_above);
	cr_assert_not(c->triggers[1].fire_on_no_data);
	cr_assert_eq(c->triggers[2].alpha, 0.05);
	cr_assert_eq(c->triggers[2].beta, 0.05);
	cr_assert_eq(c->triggers[2].latency_bound_ms, 0);
	cr_assert_eq(c->actions[RG_SEV_P0], RG_ACTION_ROLLBACK);
	cr_assert_eq(c->actions[RG_SEV_P1], RG_ACTION_ROLLBACK);
	cr_assert_eq(c->actions[RG_SEV_P2], RG_ACTION_ROLLBACK_AFTER_APPROVAL);
	cr_assert_eq(c->actions[RG_SEV_P3], RG_ACTION_NOTIFY);
	cfg_release(&L);
}

Test(config_load, step_options)
{
	cfg_loaded L;
	cfg_load_ok(&L, CFG_BASE "  - name: migrate\n    run: ./m\n    undo: ./m down\n    retries: 3\n"
				 "    retry_backoff: 250ms\n    severity: P0\n    on_failure: halt\n"
				 "    rerun: false\n    environments: [production]\n    timeout: 1h30m\n");
	const rg_step *m = rg_config_step(&L.cfg, "migrate");
	cr_assert_eq(m->retries, 3);
	cr_assert_eq(m->retry_backoff_ms, 250);
	cr_assert_eq(m->severity, RG_SEV_P0);
	cr_assert_eq(m->on_failure, RG_ON_FAILURE_HALT);
	cr_assert_not(m->rerun);
	cr_assert_eq(m->n_environments, 1);
	cr_assert_str_eq(m->environments[0], "production");
	cr_assert_eq(m->timeout_ms, 5400000);
	cfg_release(&L);
}

Test(config_load, env_vars_proxy_and_null_env)
{
	cfg_loaded L;
	cfg_load_ok(&L, "service: shop\nenvironments:\n  staging:\n  prod:\n    vars:\n"
			"      _X: \"\"\n      PORT: 8080\n      MSG: 'a b: c'\n"
			"    proxy: { listen: \"[::1]:8080\", threads: 4 }\n"
			"deploy: [ { name: a, run: ./a } ]\n");
	const rg_env *s = rg_config_env(&L.cfg, "staging");
	cr_assert_eq(s->timeout_ms, 1800000, "a bare 'staging:' takes every default");
	const rg_env *p = rg_config_env(&L.cfg, "prod");
	cr_assert_eq(p->n_vars, 3);
	cr_assert_str_eq(p->vars[0].value, "");
	cr_assert_str_eq(p->vars[1].value, "8080");
	cr_assert_str_eq(p->vars[2].value, "a b: c");
	cr_assert_str_eq(p->proxy_listen, "[::1]:8080");
	cr_assert_eq(p->proxy_threads, 4);
	cfg_release(&L);
}

/* The mark that makes people confirm more: by name unless it is said. */
Test(config_load, production_by_name_or_said)
{
	cfg_loaded L;
	cfg_load_ok(&L, "service: shop\nenvironments:\n  staging:\n  prod:\n"
			"  production: { production: false }\n  live: { production: true }\n"
			"deploy: [ { name: a, run: ./a } ]\n");
	cr_assert_not(rg_config_env(&L.cfg, "staging")->production);
	cr_assert(rg_config_env(&L.cfg, "prod")->production, "named prod");
	cr_assert_not(rg_config_env(&L.cfg, "production")->production, "said false");
	cr_assert(rg_config_env(&L.cfg, "live")->production, "said true");
	cfg_release(&L);
	cfg_load(&L, "service: shop\nenvironments:\n  live: { production: yes }\n"
		     "deploy: [ { name: a, run: ./a } ]\n");
	cfg_expect_only(&L, 3, 23, "expected true or false for 'production' (got 'yes')");
	cfg_release(&L);
}

Test(config_load, thresholds_take_every_form)
{
	cfg_loaded L;
	cfg_load_ok(&L, CFG_BASE "metrics: { prometheus: \"https://prom:9090/\" }\n"
				 "triggers:\n"
				 "  - { name: a, command: ./n, above: 2.5, below: -1 }\n"
				 "  - { name: b, query: up, above: 12.5% }\n"
				 "  - { name: c, command: ./n, above: 1m30s, on_no_data: fire }\n"
				 "  - { name: d, metric: request_rate, below: 10 }\n"
				 "  - { name: e, metric: error_rate, above: 0.02 }\n"
				 "  - { name: f, analysis: sequential, alpha: 1%, beta: 0.2 }\n");
	const rg_trigger *t = L.cfg.triggers;
	cr_assert_eq(t[0].above, 2.5);
	cr_assert_eq(t[0].below, -1.0);
	cr_assert_eq(t[1].above, 0.125);
	cr_assert_eq(t[2].above, 90000.0);
	cr_assert(t[2].fire_on_no_data);
	cr_assert_eq(t[3].below, 10.0);
	cr_assert_eq(t[4].above, 0.02);
	cr_assert_eq(t[5].alpha, 0.01);
	cr_assert_eq(t[5].beta, 0.2);
	cfg_release(&L);
}

Test(config_load, state_paths)
{
	cfg_loaded L;
	cfg_load_ok(&L, "service: s\nserver: { state: /var/lib/rg/ }\nenvironments: { e: {} }\n"
			"deploy: [ { name: a, run: a } ]\n");
	cr_assert_str_eq(L.cfg.state_dir, "/var/lib/rg");
	cfg_release(&L);
	cfg_load_ok(&L, "service: s\nserver: { state: ./data/state/ }\nenvironments: { e: {} }\n"
			"deploy: [ { name: a, run: a } ]\n");
	char real[PATH_MAX], want[PATH_MAX + 32];
	cr_assert_not_null(realpath(cfg_dir, real));
	snprintf(want, sizeof want, "%s/data/state", real);
	cr_assert_str_eq(L.cfg.state_dir, want);
	cfg_release(&L);
}

Test(config_load, relative_path_gives_absolute_dir)
{
	char cwd[PATH_MAX], real[PATH_MAX];
	cr_assert_not_null(getcwd(cwd, sizeof cwd));
	cr_assert_not_null(realpath(cfg_dir, real));
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/rollguard.yaml", cfg_dir);
	cfg_write(path, CFG_BASE);
	cr_assert_eq(chdir(cfg_dir), 0);
	rg_config cfg;
	rg_error err = { 0 };
	cr_assert_eq(rg_config_load("rollguard.yaml", &cfg, NULL, &err), RG_OK, "%s", err.message);
	cr_assert_eq(chdir(cwd), 0);
	cr_assert_str_eq(cfg.path, "rollguard.yaml");
	cr_assert_str_eq(cfg.dir, real);
	cr_assert_eq(cfg.state_dir[0], '/');
	rg_config_release(&cfg);
}

Test(config_load, lookups_and_names)
{
	cfg_loaded L;
	cfg_load_ok(&L, design_example);
	cr_assert_null(rg_config_env(&L.cfg, "prod"));
	cr_assert_null(rg_config_env(&L.cfg, NULL));
	cr_assert_null(rg_config_check(&L.cfg, "nope"));
	cr_assert_null(rg_config_step(&L.cfg, "nope"));
	cr_assert_null(rg_config_step(NULL, "app"));
	cr_assert_str_eq(rg_config_step(&L.cfg, "smoke")->name, "smoke");
	cr_assert_str_eq(rg_severity_name(RG_SEV_P0), "P0");
	cr_assert_str_eq(rg_severity_name(RG_SEV_P3), "P3");
	cr_assert_str_eq(rg_severity_name(RG_SEV_COUNT), "P?");
	cr_assert_str_eq(rg_action_name(RG_ACTION_ROLLBACK), "rollback");
	cr_assert_str_eq(rg_action_name(RG_ACTION_ROLLBACK_AFTER_APPROVAL), "rollback-after-approval");
	cr_assert_str_eq(rg_action_name(RG_ACTION_NOTIFY), "notify");
	cfg_release(&L);
}

Test(config_load, starter_lints_clean_and_shows_every_section)
{
	cfg_loaded L;
	cfg_load_ok(&L, rg_config_starter);
	const rg_config *c = &L.cfg;
	cr_assert_not_null(rg_config_env(c, "staging"));
	const rg_env *p = rg_config_env(c, "production");
	cr_assert(p && p->monitor_ms > 0 && p->post_rollback_monitor_ms > 0 && p->n_vars > 0);
	bool undo = false, retries = false, checks = false, http = false, command = false;
	for (size_t i = 0; i < c->n_deploy; i++) {
		undo |= c->deploy[i].undo != NULL;
		retries |= c->deploy[i].retries > 0;
		checks |= c->deploy[i].kind == RG_STEP_CHECKS;
	}
	for (size_t i = 0; i < c->n_checks; i++) {
		http |= c->checks[i].kind == RG_CHECK_HTTP;
		command |= c->checks[i].kind == RG_CHECK_COMMAND;
	}
	cr_assert(undo && retries && checks && http && command);
	cr_assert(c->n_triggers > 0 && c->triggers[0].kind == RG_TRIGGER_CHECK);
	cr_assert_not_null(strstr(rg_config_starter, "actions:"));
	cfg_release(&L);
}

/* ---------------------------------------------------------------- problems */

Test(config_errors, unknown_key_did_you_mean)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "    timout: 5m\n");
	cfg_expect_only(&L, 8, 5, "unknown key 'timout' in step (did you mean 'timeout'?)");
	cfg_release(&L);
	cfg_load(&L, "service: shop\nservr: {}\nenvironments: { s: {} }\ndeploy: [ { name: a, run: a } ]\n");
	cfg_expect_only(&L, 2, 1, "unknown key 'servr' at the top level (did you mean 'server'?)");
	cfg_release(&L);
}

Test(config_errors, unknown_key_lists_valid_keys)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "metrics: { grafana: x }\n");
	cfg_expect_only(&L, 8, 12, "unknown key 'grafana' in metrics (valid keys: prometheus)");
	cfg_release(&L);
}

Test(config_errors, wrong_types)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "server: [a]\nchecks: x\ntriggers: {}\n");
	cfg_expect(&L, 8, 9, "expected a mapping for 'server' (got a sequence)");
	cfg_expect(&L, 9, 9, "expected a mapping for 'checks' (got a string)");
	cfg_expect(&L, 10, 11, "expected a sequence for 'triggers' (got a mapping)");
	cr_assert_eq(L.diags.n, 3, "%s", L.all);
	cfg_release(&L);
	cfg_load(&L, "service: shop\nenvironments: { s: {} }\ndeploy:\n");
	cfg_expect_only(&L, 3, 8, "expected a sequence for 'deploy' (got an empty value)");
	cfg_release(&L);
	cfg_load(&L, CFG_BASE "    timeout: { a: 1 }\n    retries: many\n    rerun: yes\n    run2: x\n");
	cfg_expect(&L, 8, 14, "expected a duration like '10s' for 'timeout' (got a mapping)");
	cfg_expect(&L, 9, 14, "expected an integer for 'retries' (got 'many')");
	cfg_expect(&L, 10, 12, "expected true or false for 'rerun' (got 'yes')");
	cfg_release(&L);
}

Test(config_errors, bad_duration)
{
	cfg_loaded L;
	cfg_load(&L, "service: shop\nenvironments:\n  staging:\n    monitor: 5x\n"
		     "deploy: [ { name: a, run: a, timeout: 0 } ]\n");
	cfg_expect(&L, 4, 14, "invalid duration '5x' (use 500ms, 10s, 5m, 2h or 1d)");
	cfg_expect(&L, 5, 39, "'timeout' must be longer than 0");
	cr_assert_eq(L.diags.n, 2, "%s", L.all);
	cfg_release(&L);
	cfg_load(&L, CFG_BASE "    retry_backoff: 10\n");
	cfg_expect_only(&L, 8, 20, "invalid duration '10' (use 500ms, 10s, 5m, 2h or 1d)");
	cfg_release(&L);
}

Test(config_errors, bad_percentage)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "triggers:\n  - { name: e, metric: error_rate, above: 150% }\n"
			      "  - { name: f, metric: error_rate, above: 5 }\n"
			      "  - { name: g, command: ./x, below: 1.5x% }\n");
	cfg_expect(&L, 9, 43, "invalid percentage '150%' (use 1% or 0.01, at most 100%)");
	cfg_expect(&L, 10, 43, "invalid percentage '5' (use 1% or 0.01, at most 100%)");
	cfg_expect(&L, 11, 37, "invalid percentage '1.5x%' (use 1% or 0.01, at most 100%)");
	cfg_release(&L);
}

Test(config_errors, duplicate_keys)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "    run: ./again\nservice: other\n");
	cfg_expect(&L, 8, 5, "duplicate key 'run' (first at 7:5)");
	cfg_expect(&L, 9, 1, "duplicate key 'service' (first at 1:1)");
	cr_assert_eq(L.diags.n, 2, "%s", L.all);
	cfg_release(&L);
	cfg_load(&L, "service: shop\nenvironments:\n  staging: {}\n  staging: {}\n"
		     "deploy: [ { name: a, run: a } ]\n");
	cfg_expect_only(&L, 4, 3, "duplicate key 'staging' (first at 3:3)");
	cfg_release(&L);
}

Test(config_errors, duplicate_step_names)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "  - name: db\n    run: ./db\n  - name: app\n    run: ./app2\n");
	cfg_expect_only(&L, 10, 11, "duplicate step name 'app' (first at 6:5)");
	cfg_release(&L);
	cfg_load(&L, CFG_BASE "rollback:\n  - { name: app, run: a }\n  - { name: app, run: b }\n");
	cfg_expect_only(&L, 10, 13, "duplicate step name 'app' (first at 9:5)");
	cfg_release(&L);
}

Test(config_errors, missing_required_keys)
{
	cfg_loaded L;
	cfg_load(&L, "server: {}\n");
	cfg_expect(&L, 1, 1, "missing required key 'service' at the top level");
	cfg_expect(&L, 1, 1, "missing required key 'environments' at the top level");
	cfg_expect(&L, 1, 1, "missing required key 'deploy' at the top level");
	cr_assert_eq(L.diags.n, 3, "%s", L.all);
	cfg_release(&L);
	cfg_load(&L, ROUTED "  - run: ./x\n  - name: c\n    traffic: { steps: [10] }\n");
	cfg_expect(&L, 8, 5, "missing required key 'name' in step");
	cfg_expect(&L, 10, 14, "missing required key 'backend' in traffic");
	cr_assert_eq(L.diags.n, 2, "%s", L.all);
	cfg_release(&L);
	cfg_load(&L, CFG_BASE "triggers: [ { check: h } ]\nchecks: { h: { run: x } }\n");
	cfg_expect_only(&L, 8, 13, "missing required key 'name' in trigger");
	cfg_release(&L);
}

Test(config_errors, empty_sections)
{
	cfg_loaded L;
	cfg_load(&L, "service: shop\nenvironments: {}\ndeploy: []\n");
	cfg_expect(&L, 2, 15, "'environments' must define at least one environment");
	cfg_expect(&L, 3, 9, "'deploy' must have at least one step");
	cfg_release(&L);
}

Test(config_errors, yaml_syntax_error_has_its_mark)
{
	cfg_loaded L;
	cfg_load(&L, "service: shop\nenvironments:\n  staging: {a: 1\ndeploy: []\n");
	cr_assert_eq(L.rc, RG_EINVAL);
	cr_assert_eq(L.diags.n, 1, "%s", L.all);
	cr_assert_eq(L.diags.items[0].line, 4);
	cr_assert_eq(L.diags.items[0].col, 7);
	cr_assert_not_null(strstr(L.diags.items[0].message, "yaml syntax error: "), "%s", L.all);
	cfg_release(&L);
	cfg_load(&L, "service: shop\n\tenvironments: {}\n");
	cr_assert_eq(L.diags.items[0].line, 2, "%s", L.all);
	cfg_expect_has(&L, "tab");
	cfg_release(&L);
}

Test(config_errors, odd_documents)
{
	cfg_loaded L;
	cfg_load(&L, "");
	cfg_expect_only(&L, 1, 1, "the file is empty (run 'rollguard init' to write a starter)");
	cfg_release(&L);
	cfg_load(&L, "# only a comment\n");
	cfg_expect_only(&L, 1, 1, "the file is empty (run 'rollguard init' to write a starter)");
	cfg_release(&L);
	cfg_load(&L, "- a\n");
	cfg_expect_only(&L, 1, 1, "expected a mapping at the top level (got a sequence)");
	cfg_release(&L);
	cfg_load(&L, CFG_BASE "---\nservice: x\n");
	cfg_expect_only(&L, 8, 1, "a config is one YAML document; found a second one");
	cfg_release(&L);
	cfg_load(&L, "service: &s shop\nenvironments: { *s : {} }\n");
	cfg_expect_only(&L, 2, 17, "aliases are not supported ('*s'); write the value out");
	cfg_release(&L);
	cfg_load(&L, "service: \"a\\0b\"\n");
	cfg_expect_only(&L, 1, 10, "strings must not contain NUL bytes");
	cfg_release(&L);
}

Test(config_errors, deep_nesting_is_refused)
{
	char yaml[256] = "service: ";
	for (int i = 0; i < 40; i++)
		strcat(yaml, "[");
	cfg_loaded L;
	cfg_load(&L, yaml);
	cfg_expect_has(&L, "nesting is too deep");
	cfg_release(&L);
}

Test(config_errors, names)
{
	cfg_loaded L;
	cfg_load(&L, "service: $(x)\nenvironments:\n  .hidden: {}\n  \"v1;touch x\": {}\n"
		     "deploy:\n  - name: -rf\n    run: x\n");
	cfg_expect(&L, 1, 10, "invalid service name '$(x)' (use letters, digits, '.', '_', '+' and '-', "
			      "starting with a letter or digit, at most 64)");
	cfg_expect_has(&L, "invalid environment name '.hidden'");
	cfg_expect_has(&L, "invalid environment name 'v1;touch x'");
	cfg_expect(&L, 6, 11, "invalid step name '-rf' (use letters, digits, '_', '.' and '-', starting "
			      "with a letter or '_', at most 64)");
	cr_assert_eq(L.diags.n, 4, "%s", L.all);
	cfg_release(&L);
}

Test(config_errors, bad_choices)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "    severity: P5\n    on_failure: rolback\n"
			      "actions: { P4: notify, P2: rollbak }\n");
	cfg_expect(&L, 8, 15, "invalid severity 'P5' (use P0, P1, P2 or P3)");
	cfg_expect(&L, 9, 17, "invalid on_failure 'rolback' (did you mean 'rollback'?)");
	cfg_expect(&L, 10, 12, "unknown key 'P4' in actions (valid keys: P0, P1, P2, P3, approval_timeout, max_auto_rollbacks, loop_window)");
	cfg_expect(&L, 10, 28, "invalid action 'rollbak' (did you mean 'rollback'?)");
	cr_assert_eq(L.diags.n, 4, "%s", L.all);
	cfg_release(&L);
}

Test(config_errors, numbers_out_of_range)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "    retries: -1\nchecks: { h: { http: \"http://x/\", expect_status: 700 } }\n");
	cfg_expect(&L, 8, 14, "'retries' must be between 0 and 100 (got -1)");
	cfg_expect(&L, 9, 50, "'expect_status' must be between 100 and 599 (got 700)");
	cfg_release(&L);
}

Test(config_errors, env_vars)
{
	cfg_loaded L;
	cfg_load(&L, "service: shop\nenvironments:\n  s:\n    vars:\n      1X: a\n"
		     "      ROLLGUARD_ENV: b\n      A-B: c\n      OK: [x]\n      NIL:\n"
		     "deploy: [ { name: a, run: a } ]\n");
	cfg_expect(&L, 5, 7, "invalid variable name '1X' (use [A-Za-z_][A-Za-z0-9_]*)");
	cfg_expect(&L, 6, 7, "variable name 'ROLLGUARD_ENV' is reserved (ROLLGUARD_* is set by rollguard)");
	cfg_expect(&L, 7, 7, "invalid variable name 'A-B' (use [A-Za-z_][A-Za-z0-9_]*)");
	cfg_expect(&L, 8, 11, "expected a string for 'OK' (got a sequence)");
	cfg_expect(&L, 9, 11, "expected a string for 'NIL' (got an empty value)");
	cr_assert_eq(L.diags.n, 5, "%s", L.all);
	cfg_release(&L);
}

Test(config_errors, addresses_and_urls)
{
	cfg_loaded L;
	cfg_load(&L, "service: shop\nserver: { listen: localhost }\nenvironments:\n"
		     "  s: { proxy: { listen: \"h:0\" } }\n  t: { proxy: { threads: 2 } }\n"
		     "metrics: { prometheus: \"ftp://x\" }\ndeploy: [ { name: a, run: a } ]\n");
	cfg_expect(&L, 2, 19, "invalid listen address 'localhost' (expected HOST:PORT, e.g. "
			      "127.0.0.1:8080 or [::1]:8080)");
	cfg_expect(&L, 4, 25, "invalid listen address 'h:0' (host must be an IPv4 address, a "
			      "bracketed IPv6 address or localhost)");
	cfg_expect(&L, 5, 15, "missing required key 'listen' in proxy");
	cfg_expect(&L, 6, 24, "invalid URL 'ftp://x' for 'prometheus' (use http://host[:port]/path or "
			      "https://…)");
	cr_assert_eq(L.diags.n, 4, "%s", L.all);
	cfg_release(&L);
}

Test(config_errors, step_kinds)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "  - name: both\n    run: x\n    checks: [h]\n"
			      "  - name: neither\n    timeout: 1m\n"
			      "  - name: c\n    checks: [h]\n    undo: ./u\n"
			      "checks: { h: { run: ./h } }\n");
	cfg_expect(&L, 10, 5, "step 'both' has both 'run' and 'checks' (use one)");
	cfg_expect(&L, 11, 5, "step 'neither' needs 'run', 'checks', 'traffic', 'backup' or 'migrate'");
	cfg_expect(&L, 15, 5, "'undo' is only valid with 'run'");
	cr_assert_eq(L.diags.n, 3, "%s", L.all);
	cfg_release(&L);
}

Test(config_errors, rollback_steps_only_run)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "rollback:\n  - name: r\n    checks: [h]\n  - name: s\n    run: x\n"
			      "    undo: y\nchecks: { h: { run: ./h } }\n");
	cfg_expect(&L, 10, 5, "rollback steps may only use 'run' (found 'checks')");
	cfg_expect(&L, 13, 5, "'undo' is not valid in a rollback step");
	cr_assert_eq(L.diags.n, 2, "%s", L.all);
	cfg_release(&L);
}

Test(config_errors, check_kinds)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "checks:\n  a: { run: x, http: \"http://h/\" }\n  b: { timeout: 1s }\n"
			      "  c: { run: x, expect_status: 200, contains: ok }\n  \"bad name\": { run: x }\n");
	cfg_expect(&L, 9, 16, "check 'a' has both 'run' and 'http' (use one)");
	cfg_expect(&L, 10, 6, "check 'b' needs 'http' (a URL) or 'run' (a command)");
	cfg_expect(&L, 11, 16, "'expect_status' is only valid with 'http'");
	cfg_expect(&L, 11, 36, "'contains' is only valid with 'http'");
	cfg_expect_has(&L, "invalid check name 'bad name'");
	cr_assert_eq(L.diags.n, 5, "%s", L.all);
	cfg_release(&L);
}

Test(config_errors, collects_every_problem_in_order)
{
	cfg_loaded L;
	cfg_load(&L, "service: shop\nenvironments:\n  staging: { timout: 1m, monitor: 5x }\n"
		     "deploy:\n  - name: a\n    run: x\n    retries: -2\n  - name: a\n    checks: [nope]\n"
		     "triggers: [ { name: t, metric: cpu, above: 1 } ]\n");
	cr_assert_eq(L.diags.n, 6, "%s", L.all);
	for (size_t i = 1; i < L.diags.n; i++) {
		const rg_diag *a = &L.diags.items[i - 1], *b = &L.diags.items[i];
		cr_assert(a->line < b->line || (a->line == b->line && a->col <= b->col), "%s", L.all);
	}
	cr_assert_not_null(strstr(L.err.message, "has 6 problems"), "%s", L.err.message);
	cfg_release(&L);
}

Test(config_errors, failure_leaves_cfg_zeroed_and_diags_optional)
{
	char path[256];
	snprintf(path, sizeof path, "%s/bad.yaml", cfg_dir);
	cfg_write(path, CFG_BASE "    timout: 1m\n");
	rg_config cfg;
	memset(&cfg, 0xab, sizeof cfg);
	rg_error err = { 0 };
	cr_assert_eq(rg_config_load(path, &cfg, NULL, &err), RG_EINVAL);
	cr_assert_null(cfg.service);
	cr_assert_null(cfg.deploy);
	cr_assert_eq(cfg.n_deploy, 0);
	cr_assert_not_null(strstr(err.message, "has 1 problem"), "%s", err.message);
	rg_config_release(&cfg);
}

Test(config_errors, missing_file)
{
	char path[256];
	snprintf(path, sizeof path, "%s/none.yaml", cfg_dir);
	rg_config cfg;
	rg_diags d = { 0 };
	rg_error err = { 0 };
	cr_assert_eq(rg_config_load(path, &cfg, &d, &err), RG_ENOTFOUND);
	cr_assert_eq(d.n, 0);
	cr_assert_not_null(strstr(err.message, "cannot open"), "%s", err.message);
	cr_assert_eq(rg_config_load(cfg_dir, &cfg, &d, &err), RG_EIO, "a directory is not a config");
	rg_diags_release(&d);
}

/* ---------------------------------------------------------------- references */

Test(config_refs, undefined_check_in_step)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "  - name: smoke\n    checks: [health, helth, zzz]\n"
			      "checks:\n  health: { http: \"http://x/h\" }\n");
	cfg_expect(&L, 9, 22, "undefined check 'helth' (did you mean 'health'?)");
	cfg_expect(&L, 9, 29, "undefined check 'zzz' (defined: health)");
	cr_assert_eq(L.diags.n, 2, "%s", L.all);
	cfg_release(&L);
	cfg_load(&L, CFG_BASE "  - name: smoke\n    checks: [health]\n");
	cfg_expect_only(&L, 9, 14, "undefined check 'health' (none are defined)");
	cfg_release(&L);
}

Test(config_refs, undefined_check_in_trigger)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "checks: { health: { run: ./h } }\ntriggers:\n  - name: h\n    check: helth\n");
	cfg_expect_only(&L, 11, 12, "undefined check 'helth' (did you mean 'health'?)");
	cfg_release(&L);
}

Test(config_refs, checks_may_be_defined_after_use)
{
	cfg_loaded L;
	cfg_load_ok(&L, "triggers: [ { name: t, check: late } ]\n" CFG_BASE
			"  - name: smoke\n    checks: [late]\nchecks: { late: { run: ./l } }\n");
	cfg_release(&L);
}

Test(config_refs, unknown_environment)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "    environments: [prodution, staging, qa]\n");
	cfg_expect(&L, 8, 20, "unknown environment 'prodution' (did you mean 'production'?)");
	cfg_expect(&L, 8, 40, "unknown environment 'qa' (defined: staging, production)");
	cr_assert_eq(L.diags.n, 2, "%s", L.all);
	cfg_release(&L);
}

Test(config_refs, step_output_must_come_from_an_earlier_run_step)
{
	cfg_loaded L;
	cfg_load(&L, ROUTED "  - name: c1\n    traffic: { backend: appp.backend, steps: [10] }\n"
			  "  - name: c2\n    traffic: { backend: late.backend, steps: [10] }\n"
			  "  - name: c3\n    traffic: { backend: c1.backend, steps: [10] }\n"
			  "  - name: c4\n    traffic: { backend: app, steps: [10] }\n"
			  "  - name: late\n    run: ./late\n");
	cfg_expect(&L, 9, 25, "undefined step output 'appp.backend' (did you mean step 'app'?)");
	cfg_expect(&L, 11, 25, "undefined step output 'late.backend' (no earlier 'run' step is named 'late')");
	cfg_expect(&L, 13, 25, "undefined step output 'c1.backend' (step 'c1' does not run a command)");
	cfg_expect(&L, 15, 25, "invalid backend 'app' (use STEP.KEY: output KEY of an earlier step)");
	cr_assert_eq(L.diags.n, 4, "%s", L.all);
	cfg_release(&L);
}

Test(config_refs, step_names_with_dots_resolve_to_the_longest)
{
	cfg_loaded L;
	cfg_load_ok(&L, ROUTED "  - name: app.v2\n    run: ./x\n"
			     "  - name: c\n    traffic: { backend: app.v2.backend, steps: [10%, 100%] }\n");
	const rg_traffic *t = &L.cfg.deploy[2].traffic;
	cr_assert_str_eq(t->backend, "app.v2.backend");
	cr_assert_eq(t->steps[0], 10);
	cr_assert_eq(t->steps[1], 100);
	cfg_release(&L);
}

Test(config_refs, traffic_steps)
{
	cfg_loaded L;
	cfg_load(&L, ROUTED "  - name: c\n    traffic: { backend: app.b, steps: [10, 10, 0, 101, x, [1]], "
			  "pause: 1x }\n  - name: d\n    traffic: { backend: app.b, steps: [] }\n");
	cfg_expect(&L, 9, 44, "traffic steps must increase (10 after 10)");
	cfg_expect(&L, 9, 48, "traffic steps are whole percentages from 1 to 100 (got '0')");
	cfg_expect(&L, 9, 51, "traffic steps are whole percentages from 1 to 100 (got '101')");
	cfg_expect(&L, 9, 56, "traffic steps are whole percentages from 1 to 100 (got 'x')");
	cfg_expect(&L, 9, 59, "traffic steps are whole percentages from 1 to 100 (got a sequence)");
	cfg_expect(&L, 9, 72, "invalid duration '1x' (use 500ms, 10s, 5m, 2h or 1d)");
	cfg_expect(&L, 11, 39, "'steps' must not be empty");
	cr_assert_eq(L.diags.n, 7, "%s", L.all);
	cfg_release(&L);
}

/* ---------------------------------------------------------------- triggers */

Test(config_triggers, keys_of_other_kinds_are_errors)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "checks: { h: { run: ./h } }\ntriggers:\n"
			      "  - { name: a, metric: latency_p95, above: 1s, failures: 3 }\n"
			      "  - { name: b, check: h, for: 1m, alpha: 0.1 }\n"
			      "  - { name: c, analysis: sequential, window: 5s }\n"
			      "  - { name: d, check: h, abve: 1 }\n");
	cfg_expect(&L, 10, 48, "'failures' is not valid in a metric trigger");
	cfg_expect(&L, 11, 26, "'for' is not valid in a check trigger");
	cfg_expect(&L, 11, 35, "'alpha' is not valid in a check trigger");
	cfg_expect(&L, 12, 38, "'window' is not valid in an analysis trigger");
	cfg_expect(&L, 13, 26, "unknown key 'abve' in trigger (did you mean 'above'?)");
	cr_assert_eq(L.diags.n, 5, "%s", L.all);
	cfg_release(&L);
}

Test(config_triggers, kinds_and_names)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "triggers:\n  - { name: a }\n  - { name: b, metric: error_rate, command: x, above: 1% }\n"
			      "  - { name: a, command: ./x, above: 1 }\n  - { name: c, command: ./x }\n");
	cfg_expect(&L, 9, 5, "trigger 'a' needs one of 'check', 'metric', 'query', 'command' or 'analysis'");
	cfg_expect(&L, 10, 36, "trigger 'b' has both 'metric' and 'command' (use one)");
	cfg_expect(&L, 11, 13, "duplicate trigger name 'a' (first at 9:5)");
	cfg_expect(&L, 12, 5, "trigger 'c' needs 'above' or 'below'");
	cr_assert_eq(L.diags.n, 4, "%s", L.all);
	cfg_release(&L);
}

Test(config_triggers, values)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "triggers:\n"
			      "  - { name: a, metric: error-rate, above: 1% }\n"
			      "  - { name: b, metric: latency_p99, above: 0.5 }\n"
			      "  - { name: c, metric: request_rate, below: lots }\n"
			      "  - { name: d, command: ./x, above: abc, on_no_data: maybe }\n"
			      "  - { name: e, analysis: bayes, alpha: 0.5, beta: 0 }\n"
			      "  - { name: f, query: up, above: 1 }\n");
	cfg_expect(&L, 9, 24, "invalid metric 'error-rate' (did you mean 'error_rate'?)");
	cfg_expect(&L, 10, 44, "expected a duration like '500ms' for 'above' of latency_p99 (got '0.5')");
	cfg_expect(&L, 11, 45, "expected a number of requests per second for 'below' (got 'lots')");
	cfg_expect(&L, 12, 37, "invalid threshold 'abc' (use a number, a percentage like 1% or a duration "
			       "like 500ms)");
	cfg_expect(&L, 12, 54, "invalid on_no_data 'maybe' (use ignore or fire)");
	cfg_expect(&L, 13, 26, "invalid analysis 'bayes' (use sequential)");
	cfg_expect(&L, 13, 40, "'alpha' must be a rate between 0 and 0.5, exclusive, like 0.05 (got '0.5')");
	cfg_expect(&L, 13, 51, "'beta' must be a rate between 0 and 0.5, exclusive, like 0.05 (got '0')");
	cfg_expect(&L, 14, 16, "'query' needs metrics.prometheus to be set");
	cr_assert_eq(L.diags.n, 9, "%s", L.all);
	cfg_release(&L);
}

Test(config_triggers, check_trigger_numbers)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "checks: { h: { run: ./h } }\n"
			      "triggers: [ { name: a, check: h, failures: 0, every: 0s } ]\n");
	cfg_expect(&L, 9, 44, "'failures' must be between 1 and 1000 (got 0)");
	cfg_expect(&L, 9, 54, "'every' must be longer than 0");
	cr_assert_eq(L.diags.n, 2, "%s", L.all);
	cfg_release(&L);
}

/* ---------------------------------------------------------------- lint and init */

static int run_cmd(int (*fn)(int, char **), const char *a1, const char *a2, const char *a3)
{
	char *argv[] = { "cmd", (char *)a1, (char *)a2, (char *)a3, NULL };
	int argc = 1 + (a1 != NULL) + (a2 != NULL) + (a3 != NULL);
	int code = fn(argc, argv);
	fflush(stdout);
	fflush(stderr);
	return code;
}

Test(config_cmd, lint_prints_every_problem)
{
	char path[256], want[1024];
	snprintf(path, sizeof path, "%s/bad.yaml", cfg_dir);
	cfg_write(path, CFG_BASE "    timout: 5m\n    severity: P9\n");
	cr_assert_eq(run_cmd(cmd_lint, "-c", path, NULL), 1);
	snprintf(want, sizeof want,
		 "%s:8:5: unknown key 'timout' in step (did you mean 'timeout'?)\n"
		 "%s:9:15: invalid severity 'P9' (use P0, P1, P2 or P3)\n",
		 path, path);
	cr_assert_stderr_eq_str(want);
}

Test(config_cmd, lint_clean_file)
{
	char path[256], want[300];
	snprintf(path, sizeof path, "%s/ok.yaml", cfg_dir);
	cfg_write(path, CFG_BASE);
	cr_assert_eq(run_cmd(cmd_lint, "--config", path, NULL), 0);
	snprintf(want, sizeof want, "%s: ok\n", path);
	cr_assert_stdout_eq_str(want);
}

Test(config_cmd, lint_missing_file_and_usage)
{
	char path[256];
	snprintf(path, sizeof path, "%s/none.yaml", cfg_dir);
	cr_assert_eq(run_cmd(cmd_lint, "-c", path, NULL), 2);
	cr_assert_eq(run_cmd(cmd_lint, "--bogus", NULL, NULL), 2);
	cr_assert_eq(run_cmd(cmd_lint, "-c", path, "extra"), 2);
	cr_assert_eq(run_cmd(cmd_lint, "-c", NULL, NULL), 2);
	cr_assert_eq(run_cmd(cmd_lint, "--help", NULL, NULL), 0);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	static char buf[65536];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

Test(config_cmd, init_writes_the_starter_once)
{
	char path[256];
	snprintf(path, sizeof path, "%s/rollguard.yaml", cfg_dir);
	cr_assert_eq(run_cmd(cmd_init, "-c", path, NULL), 0);
	cr_assert_str_eq(read_all(path), rg_config_starter);
	cr_assert_eq(run_cmd(cmd_lint, "-c", path, NULL), 0);
	cfg_write(path, "mine\n");
	cr_assert_eq(run_cmd(cmd_init, "-c", path, NULL), 2, "no overwrite without --force");
	cr_assert_str_eq(read_all(path), "mine\n");
	cr_assert_eq(run_cmd(cmd_init, "-c", path, "--force"), 0);
	cr_assert_str_eq(read_all(path), rg_config_starter);
}

Test(config_cmd, init_into_a_missing_directory_fails)
{
	char path[256];
	snprintf(path, sizeof path, "%s/no/such/dir/rollguard.yaml", cfg_dir);
	cr_assert_eq(run_cmd(cmd_init, "-c", path, NULL), 1);
	cr_assert_eq(run_cmd(cmd_init, "-c", path, "--force"), 1);
	cr_assert_eq(run_cmd(cmd_init, "--bogus", NULL, NULL), 2);
}

/* ---------------------------------------------------------------- kill_grace */

Test(config_load, kill_grace_defaults_and_overrides)
{
	cfg_loaded L;
	cfg_load_ok(&L, "service: shop\nenvironments:\n  staging:\n  prod:\n    kill_grace: 30s\n"
			"deploy:\n  - { name: a, run: ./a }\n  - { name: b, run: ./b, kill_grace: 2s }\n");
	cr_assert_eq(rg_config_env(&L.cfg, "staging")->kill_grace_ms, 10000,
		     "a bare environment waits 10s");
	cr_assert_eq(rg_config_env(&L.cfg, "prod")->kill_grace_ms, 30000);
	cr_assert_eq(rg_config_step(&L.cfg, "a")->kill_grace_ms, 0, "unset: the environment's");
	cr_assert_eq(rg_config_step(&L.cfg, "b")->kill_grace_ms, 2000);
	cfg_release(&L);
}

Test(config_errors, kill_grace)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "    kill_grace: 0\n");
	cfg_expect_only(&L, 8, 17, "'kill_grace' must be longer than 0");
	cfg_release(&L);
	cfg_load(&L, CFG_BASE "    kill_grace: soon\n");
	cfg_expect_only(&L, 8, 17, "invalid duration 'soon' (use 500ms, 10s, 5m, 2h or 1d)");
	cfg_release(&L);
	cfg_load(&L, CFG_BASE "    kill_grase: 5s\n");
	cfg_expect_only(&L, 8, 5, "unknown key 'kill_grase' in step (did you mean 'kill_grace'?)");
	cfg_release(&L);
	cfg_load(&L, "service: shop\nenvironments:\n  staging:\n    kill_grace: [1s]\n"
		     "deploy: [ { name: a, run: a } ]\n");
	cfg_expect_only(&L, 4, 17, "expected a duration like '10s' for 'kill_grace' (got a sequence)");
	cfg_release(&L);
}
