/* test_config_server.c — the `server:` section: TLS files, the refusal of a
 * plain-HTTP listen address others can reach, secret_env, and the mode of
 * the alerts' secret_file. Each test writes its YAML to a fresh temp dir. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "config/config.h"

#include "../support/config_load.h"

TestSuite(config_server, .init = cfg_dir_make, .fini = cfg_dir_remove);

/* Lines 1-7 of CFG_BASE, then the server section from line 8. */

static void write_in_dir(const char *name, const char *text, mode_t mode)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", cfg_dir, name);
	cfg_write(path, text);
	cr_assert_eq(chmod(path, mode), 0);
}

Test(config_server, defaults_are_loopback_plain_http)
{
	cfg_loaded L;
	cfg_load_ok(&L, CFG_BASE);
	cr_assert_str_eq(L.cfg.listen, "127.0.0.1:7070");
	cr_assert_null(L.cfg.tls_cert);
	cr_assert_null(L.cfg.tls_key);
	cr_assert_not(L.cfg.allow_plain_http);
	cr_assert_eq(L.cfg.n_secret_env, 0);
	cfg_release(&L);
}

Test(config_server, loopback_addresses)
{
	cr_assert(rg_listen_is_loopback("127.0.0.1:7070"));
	cr_assert(rg_listen_is_loopback("127.9.8.7:1"));
	cr_assert(rg_listen_is_loopback("localhost:7070"));
	cr_assert(rg_listen_is_loopback("[::1]:7070"));
	cr_assert_not(rg_listen_is_loopback("0.0.0.0:7070"));
	cr_assert_not(rg_listen_is_loopback("10.0.0.1:7070"));
	cr_assert_not(rg_listen_is_loopback("128.0.0.1:7070"));
	cr_assert_not(rg_listen_is_loopback("[::]:7070"));
	cr_assert_not(rg_listen_is_loopback("api.example.com:7070"));
	cr_assert_not(rg_listen_is_loopback("127.0.0.1.example.com:7070"));
	cr_assert_not(rg_listen_is_loopback(NULL));
}

Test(config_server, non_loopback_plain_http_is_refused)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "server:\n  listen: 0.0.0.0:7070\n");
	cfg_expect_only(&L, 9, 11,
			"listen address '0.0.0.0:7070' is not loopback, and without TLS tokens and "
			"requests would cross the network in clear (add server.tls: {cert, key}, or "
			"server.allow_plain_http: true to accept that)");
	cfg_release(&L);
}

Test(config_server, plain_http_allowed_on_purpose)
{
	cfg_loaded L;
	cfg_load_ok(&L, CFG_BASE "server:\n  listen: 0.0.0.0:7070\n  allow_plain_http: true\n");
	cr_assert(L.cfg.allow_plain_http);
	cfg_release(&L);
	cfg_load(&L, CFG_BASE "server:\n  listen: 10.1.2.3:7070\n  allow_plain_http: false\n");
	cfg_expect_has(&L, "listen address '10.1.2.3:7070' is not loopback");
	cfg_release(&L);
	cfg_load(&L, CFG_BASE "server: { allow_plain_http: yes }\n");
	cfg_expect_has(&L, "allow_plain_http");
	cfg_release(&L);
}

Test(config_server, tls_files_resolved_next_to_the_config)
{
	write_in_dir("cert.pem", "cert\n", 0644);
	write_in_dir("key.pem", "key\n", 0600);
	cfg_loaded L;
	cfg_load_ok(&L, CFG_BASE "server:\n  listen: 0.0.0.0:7443\n"
				 "  tls: { cert: ./cert.pem, key: key.pem }\n");
	char want[256];
	snprintf(want, sizeof want, "%s/cert.pem", L.cfg.dir);
	cr_assert_str_eq(L.cfg.tls_cert, want);
	snprintf(want, sizeof want, "%s/key.pem", L.cfg.dir);
	cr_assert_str_eq(L.cfg.tls_key, want);
	cfg_release(&L);
}

Test(config_server, tls_files_missing_or_incomplete)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "server:\n  tls:\n    cert: nothere.pem\n    key: /nonexistent/k.pem\n");
	cfg_expect_has(&L, "cannot read TLS certificate '");
	cfg_expect_has(&L, "/nothere.pem': No such file or directory");
	cfg_expect(&L, 11, 10,
		   "cannot read TLS key '/nonexistent/k.pem': No such file or directory");
	cfg_release(&L);

	write_in_dir("cert.pem", "cert\n", 0644);
	cfg_load(&L, CFG_BASE "server:\n  tls: { cert: cert.pem }\n");
	cfg_expect_only(&L, 9, 8, "missing required key 'key' in tls");
	cfg_release(&L);
	cfg_load(&L, CFG_BASE "server:\n  tls: { cert: cert.pem, key: cert.pem, ca: x }\n");
	cfg_expect_has(&L, "unknown key 'ca' in tls");
	cfg_release(&L);
}

Test(config_server, secret_env_names)
{
	cfg_loaded L;
	cfg_load_ok(&L, CFG_BASE "server:\n  secret_env: [DB_PASSWORD, api_key]\n");
	cr_assert_eq(L.cfg.n_secret_env, 2);
	cr_assert_str_eq(L.cfg.secret_env[0], "DB_PASSWORD");
	cr_assert(rg_config_secret_var(&L.cfg, "DB_PASSWORD=x", 11));
	cr_assert(rg_config_secret_var(&L.cfg, "api_key", 7));
	cr_assert_not(rg_config_secret_var(&L.cfg, "DB_PASS", 7));
	cr_assert_not(rg_config_secret_var(&L.cfg, "PATH", 4));
	cfg_release(&L);

	cfg_load(&L, CFG_BASE "server:\n  secret_env: [OK, \"not-a-name\", \"\"]\n");
	cfg_expect(&L, 9, 20, "invalid environment variable name 'not-a-name' in secret_env "
			      "(use [A-Za-z_][A-Za-z0-9_]*)");
	cfg_expect_has(&L, "'secret_env' must not contain empty strings");
	cfg_release(&L);
}

Test(config_server, alerts_secret_env_is_a_secret_var)
{
	cfg_loaded L;
	cfg_load_ok(&L, CFG_BASE "alerts: { secret_env: RG_HOOK_SECRET }\n");
	cr_assert(rg_config_secret_var(&L.cfg, "RG_HOOK_SECRET", 14));
	cfg_release(&L);
}

Test(config_server, world_readable_secret_file_refused)
{
	write_in_dir("alerts.key", "k3y-value\n", 0644);
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "alerts: { secret_file: alerts.key }\n");
	cfg_expect_has(&L, "/alerts.key' is readable by everyone (mode 0644); make it private "
			   "(chmod 600 '");
	cr_assert_null(strstr(L.all, "k3y"), "%s", L.all);
	cfg_release(&L);

	char path[256], out[64];
	size_t len;
	rg_error err;
	snprintf(path, sizeof path, "%s/alerts.key", cfg_dir);
	rg_alerts_cfg a = { .enabled = true, .secret_file = path };
	cr_assert_eq(rg_alerts_secret_load(&a, out, sizeof out, &len, &err), RG_EINVAL);
	cr_assert(strstr(err.message, "readable by everyone (mode 0644)"), "%s", err.message);

	cr_assert_eq(chmod(path, 0640), 0);
	cfg_load_ok(&L, CFG_BASE "alerts: { secret_file: alerts.key }\n");
	cfg_release(&L);
	cr_assert_eq(rg_alerts_secret_load(&a, out, sizeof out, &len, &err), RG_OK, "%s",
		     err.message);
	cr_assert_str_eq(out, "k3y-value");
}

/* server.listen is read by the listeners' own parser (util/hostport.h). */
Test(config_server, ipv6_listen_needs_brackets)
{
	cfg_loaded L;
	cfg_load_ok(&L, CFG_BASE "server:\n  listen: \"[::1]:7070\"\n");
	cr_assert_str_eq(L.cfg.listen, "[::1]:7070");
	cfg_release(&L);
	cfg_load(&L, CFG_BASE "server:\n  listen: \"::1:7070\"\n");
	cfg_expect_has(&L, "invalid listen address '::1:7070' (an IPv6 address needs brackets, "
			   "e.g. [::1]:8080)");
	cfg_release(&L);
	cfg_load(&L, CFG_BASE "server:\n  listen: \"[::]:7070\"\n");
	cfg_expect_has(&L, "listen address '[::]:7070' is not loopback");
	cfg_release(&L);
}
