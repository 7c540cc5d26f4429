/* test_config_alerts.c — the `alerts:` section, actions.approval_timeout,
 * the analysis triggers' min_effect / promote_on_pass / every and the
 * metric triggers' window, and reading the alerts secret at serve start.
 * Each test writes its YAML to a fresh temp directory. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/config.h"

#include "../support/config_load.h"

TestSuite(config_alerts_section, .init = cfg_dir_make, .fini = cfg_dir_remove);
TestSuite(config_alerts_actions, .init = cfg_dir_make, .fini = cfg_dir_remove);
TestSuite(config_alerts_triggers, .init = cfg_dir_make, .fini = cfg_dir_remove);
TestSuite(config_alerts_secret, .init = cfg_dir_make, .fini = cfg_dir_remove);

static const char *severity_of(const rg_alerts_cfg *a, const char *value)
{
	for (size_t i = 0; i < a->n_severities; i++)
		if (strcmp(a->severities[i].key, value) == 0)
			return a->severities[i].value;
	return NULL;
}

/* ---------------------------------------------------------------- alerts: */

Test(config_alerts_section, absent_means_disabled)
{
	cfg_loaded L;
	cfg_load_ok(&L, CFG_BASE);
	cr_assert_not(L.cfg.alerts.enabled);
	cr_assert_null(L.cfg.alerts.secret_env);
	cr_assert_null(L.cfg.alerts.secret_file);
	cr_assert_eq(L.cfg.alerts.n_severities, 0);
	cfg_release(&L);
}

Test(config_alerts_section, defaults)
{
	cfg_loaded L;
	cfg_load_ok(&L, CFG_BASE "alerts:\n  secret_env: RG_ALERTS_SECRET\n");
	const rg_alerts_cfg *a = &L.cfg.alerts;
	cr_assert(a->enabled);
	cr_assert_str_eq(a->secret_env, "RG_ALERTS_SECRET");
	cr_assert_null(a->secret_file);
	cr_assert_str_eq(a->service_label, "service");
	cr_assert_str_eq(a->env_label, "env");
	cr_assert_str_eq(a->severity_label, "severity");
	cr_assert_eq(a->n_severities, 4);
	cr_assert_str_eq(severity_of(a, "critical"), "P0");
	cr_assert_str_eq(severity_of(a, "error"), "P1");
	cr_assert_str_eq(severity_of(a, "warning"), "P2");
	cr_assert_str_eq(severity_of(a, "info"), "P3");
	cr_assert_eq(a->default_severity, RG_SEV_P1);
	cfg_release(&L);
}

Test(config_alerts_section, every_key)
{
	cfg_loaded L;
	cfg_load_ok(&L, CFG_BASE "alerts:\n"
				 "  secret_file: secrets/alerts.key\n"
				 "  service_label: app\n"
				 "  env_label: environment\n"
				 "  severity_label: priority\n"
				 "  severities: { page: P0, ticket: P2, \"low prio\": P3 }\n"
				 "  default_severity: P2\n");
	const rg_alerts_cfg *a = &L.cfg.alerts;
	char want[512];
	snprintf(want, sizeof want, "%s/secrets/alerts.key", L.cfg.dir);
	cr_assert(a->enabled);
	cr_assert_null(a->secret_env);
	cr_assert_str_eq(a->secret_file, want);
	cr_assert_str_eq(a->service_label, "app");
	cr_assert_str_eq(a->env_label, "environment");
	cr_assert_str_eq(a->severity_label, "priority");
	/* written, the map replaces the default one */
	cr_assert_eq(a->n_severities, 3);
	cr_assert_str_eq(severity_of(a, "page"), "P0");
	cr_assert_str_eq(severity_of(a, "ticket"), "P2");
	cr_assert_str_eq(severity_of(a, "low prio"), "P3");
	cr_assert_null(severity_of(a, "critical"));
	cr_assert_eq(a->default_severity, RG_SEV_P2);
	cfg_release(&L);
}

Test(config_alerts_section, absolute_secret_file_and_empty_map)
{
	cfg_loaded L;
	cfg_load_ok(&L, CFG_BASE "alerts: { secret_file: /run/secrets/rg, severities: {} }\n");
	cr_assert_str_eq(L.cfg.alerts.secret_file, "/run/secrets/rg");
	cr_assert_eq(L.cfg.alerts.n_severities, 0);
	cfg_release(&L);
}

Test(config_alerts_section, secret_is_optional_and_once)
{
	cfg_loaded L;
	/* without a secret, posts need a token with the alerts role */
	cfg_load_ok(&L, CFG_BASE "alerts:\n  service_label: service\n");
	cr_assert_null(L.cfg.alerts.secret_env);
	cr_assert_null(L.cfg.alerts.secret_file);
	cfg_release(&L);
	cfg_load(&L, CFG_BASE "alerts:\n  secret_env: S\n  secret_file: ./s\n");
	cfg_expect_only(&L, 10, 3, "alerts has both 'secret_env' and 'secret_file' (use one)");
	cfg_release(&L);
	cfg_load(&L, CFG_BASE "alerts:\n");
	cfg_expect_only(&L, 8, 8, "expected a mapping for 'alerts' (got an empty value)");
	cfg_release(&L);
}

Test(config_alerts_section, bad_values)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "alerts:\n"
			      "  secret_env: rg-secret\n"
			      "  service_label: app.name\n"
			      "  env_label: \"\"\n"
			      "  severity_label: 1sev\n"
			      "  severities: { critical: P5, page: rollback }\n"
			      "  default_severity: P9\n");
	cfg_expect(&L, 9, 15, "invalid environment variable name 'rg-secret' (use [A-Z_][A-Z0-9_]*)");
	cfg_expect(&L, 10, 18, "invalid label name 'app.name' for 'service_label' (use [a-zA-Z_][a-zA-Z0-9_]*)");
	cfg_expect(&L, 11, 14, "'env_label' must not be empty");
	cfg_expect(&L, 12, 19, "invalid label name '1sev' for 'severity_label' (use [a-zA-Z_][a-zA-Z0-9_]*)");
	cfg_expect(&L, 13, 27, "invalid severity 'P5' (use P0, P1, P2 or P3)");
	cfg_expect(&L, 13, 37, "invalid severity 'rollback' (use P0, P1, P2 or P3)");
	cfg_expect(&L, 14, 21, "invalid default_severity 'P9' (use P0, P1, P2 or P3)");
	cr_assert_eq(L.diags.n, 7, "%s", L.all);
	cfg_release(&L);
}

Test(config_alerts_section, unknown_and_duplicate_keys)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "alerts:\n"
			      "  secret_env: S\n"
			      "  env_lable: stage\n"
			      "  severities:\n"
			      "    critical: P0\n"
			      "    critical: P1\n"
			      "  webhook: x\n"
			      "alert: {}\n");
	cfg_expect(&L, 10, 3, "unknown key 'env_lable' in alerts (did you mean 'env_label'?)");
	cfg_expect(&L, 13, 5, "duplicate key 'critical' (first at 12:5)");
	cfg_expect(&L, 14, 3, "unknown key 'webhook' in alerts (valid keys: secret_env, secret_file, "
			      "service_label, env_label, severity_label, severities, default_severity)");
	cfg_expect(&L, 15, 1, "unknown key 'alert' at the top level (did you mean 'alerts'?)");
	cr_assert_eq(L.diags.n, 4, "%s", L.all);
	cfg_release(&L);
}

Test(config_alerts_section, wrong_types)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "alerts:\n"
			      "  secret_env: [A]\n"
			      "  severities: [critical]\n");
	cfg_expect(&L, 9, 15, "expected a string for 'secret_env' (got a sequence)");
	cfg_expect(&L, 10, 15, "expected a mapping for 'severities' (got a sequence)");
	cr_assert_eq(L.diags.n, 2, "%s", L.all);
	cfg_release(&L);
}

/* ---------------------------------------------------------------- actions */

Test(config_alerts_actions, approval_timeout)
{
	cfg_loaded L;
	cfg_load_ok(&L, CFG_BASE);
	cr_assert_eq(L.cfg.approval_timeout_ms, 60 * 60 * 1000);
	cfg_release(&L);
	cfg_load_ok(&L, CFG_BASE "actions: { P2: rollback-after-approval, approval_timeout: 15m }\n");
	cr_assert_eq(L.cfg.approval_timeout_ms, 15 * 60 * 1000);
	cr_assert_eq(L.cfg.actions[RG_SEV_P2], RG_ACTION_ROLLBACK_AFTER_APPROVAL);
	cfg_release(&L);
}

Test(config_alerts_actions, bad_approval_timeout)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "actions:\n  approval_timeout: 0\n  approval_timout: 1h\n  P1: 1h\n");
	cfg_expect(&L, 9, 21, "'approval_timeout' must be longer than 0");
	cfg_expect(&L, 10, 3, "unknown key 'approval_timout' in actions (did you mean 'approval_timeout'?)");
	cfg_expect(&L, 11, 7, "invalid action '1h' (use rollback, rollback-after-approval or notify)");
	cr_assert_eq(L.diags.n, 3, "%s", L.all);
	cfg_release(&L);
	cfg_load(&L, CFG_BASE "actions: { approval_timeout: soon }\n");
	cfg_expect_only(&L, 8, 30, "invalid duration 'soon' (use 500ms, 10s, 5m, 2h or 1d)");
	cfg_release(&L);
}

/* ---------------------------------------------------------------- triggers */

Test(config_alerts_triggers, defaults)
{
	cfg_loaded L;
	cfg_load_ok(&L, CFG_BASE "triggers:\n"
				 "  - { name: s, analysis: sequential }\n"
				 "  - { name: e, metric: error_rate, above: 1% }\n"
				 "  - { name: q, command: ./n, above: 1 }\n");
	const rg_trigger *s = &L.cfg.triggers[0], *e = &L.cfg.triggers[1], *q = &L.cfg.triggers[2];
	cr_assert_eq(s->every_ms, 250);
	cr_assert_eq(s->min_effect, 2.0);
	cr_assert_not(s->promote_on_pass);
	cr_assert_eq(e->every_ms, 10000);
	cr_assert_eq(e->window_ms, 60000);
	cr_assert_eq(q->every_ms, 10000);
	cfg_release(&L);
}

Test(config_alerts_triggers, new_keys)
{
	cfg_loaded L;
	cfg_load_ok(&L, CFG_BASE "triggers:\n"
				 "  - { name: s, analysis: sequential, min_effect: 1.5, promote_on_pass: true, "
				 "every: 50ms }\n"
				 "  - { name: t, analysis: sequential, min_effect: 3, every: 1s }\n"
				 "  - { name: e, metric: error_rate, above: 1%, window: 30s, every: 5s }\n"
				 "  - { name: l, metric: latency_p95, above: 300ms, window: 1s }\n");
	const rg_trigger *t = L.cfg.triggers;
	cr_assert_eq(t[0].min_effect, 1.5);
	cr_assert(t[0].promote_on_pass);
	cr_assert_eq(t[0].every_ms, 50);
	cr_assert_eq(t[1].min_effect, 3.0);
	cr_assert_not(t[1].promote_on_pass);
	cr_assert_eq(t[1].every_ms, 1000);
	cr_assert_eq(t[2].window_ms, 30000);
	cr_assert_eq(t[2].every_ms, 5000);
	cr_assert_eq(t[3].window_ms, 1000);
	cfg_release(&L);
}

Test(config_alerts_triggers, bad_values)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "triggers:\n"
			      "  - { name: a, analysis: sequential, min_effect: 1 }\n"
			      "  - { name: b, analysis: sequential, min_effect: lots, promote_on_pass: yes }\n"
			      "  - { name: c, analysis: sequential, every: 10ms }\n"
			      "  - { name: d, metric: error_rate, above: 1%, window: 90s }\n"
			      "  - { name: e, metric: error_rate, above: 1%, window: 1500ms }\n"
			      "  - { name: f, metric: error_rate, above: 1%, window: 0 }\n");
	cfg_expect(&L, 9, 50, "'min_effect' must be a number greater than 1, like 2 (got '1')");
	cfg_expect(&L, 10, 50, "'min_effect' must be a number greater than 1, like 2 (got 'lots')");
	cfg_expect(&L, 10, 73, "expected true or false for 'promote_on_pass' (got 'yes')");
	cfg_expect(&L, 11, 45, "'every' of an analysis trigger must be at least 50ms (got '10ms')");
	cfg_expect(&L, 12, 55, "'window' must be whole seconds from 1s to 60s (got '90s')");
	cfg_expect(&L, 13, 55, "'window' must be whole seconds from 1s to 60s (got '1500ms')");
	cfg_expect(&L, 14, 55, "'window' must be whole seconds from 1s to 60s (got '0')");
	cr_assert_eq(L.diags.n, 7, "%s", L.all);
	cfg_release(&L);
}

Test(config_alerts_triggers, keys_of_other_kinds)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "checks: { h: { run: ./h } }\ntriggers:\n"
			      "  - { name: a, query: up, above: 1, window: 30s }\n"
			      "  - { name: b, analysis: sequential, window: 30s }\n"
			      "  - { name: c, check: h, min_effect: 2, promote_on_pass: true }\n"
			      "  - { name: d, metric: error_rate, above: 1%, promote_on_pass: true }\n"
			      "  - { name: e, command: ./x, above: 1, windw: 5s }\n"
			      "metrics: { prometheus: \"http://127.0.0.1:9090\" }\n");
	cfg_expect(&L, 10, 37, "'window' is not valid in a query trigger");
	cfg_expect(&L, 11, 38, "'window' is not valid in an analysis trigger");
	cfg_expect(&L, 12, 26, "'min_effect' is not valid in a check trigger");
	cfg_expect(&L, 12, 41, "'promote_on_pass' is not valid in a check trigger");
	cfg_expect(&L, 13, 47, "'promote_on_pass' is not valid in a metric trigger");
	cfg_expect(&L, 14, 40, "unknown key 'windw' in trigger (did you mean 'window'?)");
	cr_assert_eq(L.diags.n, 6, "%s", L.all);
	cfg_release(&L);
}

/* ---------------------------------------------------------------- the secret */

static rg_alerts_cfg from_env(char *name)
{
	return (rg_alerts_cfg){ .enabled = true, .secret_env = name };
}

/* A secret file as it should be: readable by its owner only (a file others
 * can read is refused; test_config_server.c shows that). */
static void secret_write(const char *path, const char *text)
{
	cfg_write(path, text);
	cr_assert_eq(chmod(path, 0600), 0);
}

static rg_alerts_cfg from_file(char *path)
{
	return (rg_alerts_cfg){ .enabled = true, .secret_file = path };
}

Test(config_alerts_secret, from_the_environment)
{
	char out[RG_ALERTS_SECRET_MAX];
	size_t len = 99;
	rg_error err;
	rg_alerts_cfg a = from_env("RG_TEST_ALERTS_SECRET");
	cr_assert_eq(setenv("RG_TEST_ALERTS_SECRET", "s3cr3t value", 1), 0);
	cr_assert_eq(rg_alerts_secret_load(&a, out, sizeof out, &len, &err), RG_OK);
	cr_assert_str_eq(out, "s3cr3t value");
	cr_assert_eq(len, 12);

	cr_assert_eq(setenv("RG_TEST_ALERTS_SECRET", "", 1), 0);
	cr_assert_eq(rg_alerts_secret_load(&a, out, sizeof out, &len, &err), RG_EINVAL);
	cr_assert_str_eq(err.message, "environment variable 'RG_TEST_ALERTS_SECRET' is empty");

	cr_assert_eq(unsetenv("RG_TEST_ALERTS_SECRET"), 0);
	cr_assert_eq(rg_alerts_secret_load(&a, out, sizeof out, &len, &err), RG_ENOTFOUND);
	cr_assert_str_eq(err.message, "environment variable 'RG_TEST_ALERTS_SECRET' is not set");
	cr_assert_eq(len, 0);
}

Test(config_alerts_secret, too_long_for_the_buffer)
{
	char out[8];
	size_t len;
	rg_error err;
	rg_alerts_cfg a = from_env("RG_TEST_ALERTS_LONG");
	cr_assert_eq(setenv("RG_TEST_ALERTS_LONG", "0123456789", 1), 0);
	cr_assert_eq(rg_alerts_secret_load(&a, out, sizeof out, &len, &err), RG_ETOOLARGE);
	cr_assert_null(strstr(err.message, "0123"), "%s", err.message);
	unsetenv("RG_TEST_ALERTS_LONG");

	char path[128];
	snprintf(path, sizeof path, "%s/long", cfg_dir);
	secret_write(path, "0123456789\n");
	a = from_file(path);
	cr_assert_eq(rg_alerts_secret_load(&a, out, sizeof out, &len, &err), RG_ETOOLARGE);
	cr_assert_null(strstr(err.message, "0123"), "%s", err.message);
	for (size_t i = 0; i < sizeof out; i++)
		cr_assert_eq(out[i], 0, "the buffer keeps nothing of a refused secret");
	secret_write(path, "0123456\n");   /* exactly size - 1 bytes fit */
	cr_assert_eq(rg_alerts_secret_load(&a, out, sizeof out, &len, &err), RG_OK, "%s",
		     err.message);
	cr_assert_str_eq(out, "0123456");
}

Test(config_alerts_secret, from_a_file)
{
	char path[128], out[RG_ALERTS_SECRET_MAX];
	size_t len;
	rg_error err;
	snprintf(path, sizeof path, "%s/secret", cfg_dir);
	rg_alerts_cfg a = from_file(path);

	secret_write(path, "topsecret\n");
	cr_assert_eq(rg_alerts_secret_load(&a, out, sizeof out, &len, &err), RG_OK, "%s",
		     err.message);
	cr_assert_str_eq(out, "topsecret");
	cr_assert_eq(len, 9);

	secret_write(path, "topsecret");   /* no newline at all */
	cr_assert_eq(rg_alerts_secret_load(&a, out, sizeof out, &len, &err), RG_OK);
	cr_assert_str_eq(out, "topsecret");

	secret_write(path, "top secret\r\nsecond line\n");   /* the first line only */
	cr_assert_eq(rg_alerts_secret_load(&a, out, sizeof out, &len, &err), RG_OK);
	cr_assert_str_eq(out, "top secret");
	cr_assert_eq(len, 10);
}

Test(config_alerts_secret, unusable_files)
{
	char path[128], out[RG_ALERTS_SECRET_MAX], want[256];
	size_t len;
	rg_error err;
	snprintf(path, sizeof path, "%s/secret", cfg_dir);
	rg_alerts_cfg a = from_file(path);

	cr_assert_eq(rg_alerts_secret_load(&a, out, sizeof out, &len, &err), RG_ENOTFOUND);
	snprintf(want, sizeof want, "cannot read secret file '%s': No such file or directory", path);
	cr_assert_str_eq(err.message, want);

	secret_write(path, "\n");
	cr_assert_eq(rg_alerts_secret_load(&a, out, sizeof out, &len, &err), RG_EINVAL);
	snprintf(want, sizeof want, "secret file '%s' is empty", path);
	cr_assert_str_eq(err.message, want);
	secret_write(path, "");
	cr_assert_eq(rg_alerts_secret_load(&a, out, sizeof out, &len, &err), RG_EINVAL);

	a = from_file(cfg_dir);   /* a directory */
	cr_assert_eq(rg_alerts_secret_load(&a, out, sizeof out, &len, &err), RG_EIO);
	cr_assert(strstr(err.message, cfg_dir), "%s", err.message);

	rg_alerts_cfg off = { 0 };
	cr_assert_eq(rg_alerts_secret_load(&off, out, sizeof out, &len, &err), RG_ENOTFOUND);
}

/* The whole chain: a loaded config's relative secret_file is read. */
Test(config_alerts_secret, through_the_config)
{
	cfg_loaded L;
	char path[128], out[64];
	size_t len;
	rg_error err;
	snprintf(path, sizeof path, "%s/alerts.key", cfg_dir);
	secret_write(path, "k3y\n");
	cfg_load_ok(&L, CFG_BASE "alerts: { secret_file: ./alerts.key }\n");
	cr_assert_eq(rg_alerts_secret_load(&L.cfg.alerts, out, sizeof out, &len, &err), RG_OK,
		     "%s", err.message);
	cr_assert_str_eq(out, "k3y");
	cfg_release(&L);
}
