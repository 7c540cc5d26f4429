/* test_alerts.c — POST /api/v1/alerts without an engine: the signature
 * (HMAC-SHA256 of the raw body), reading both payload forms, matching
 * alerts to the service and its environments, and the HTTP answers that
 * never reach the engine (404, 503, 401, 400, and 202 when every alert is
 * ignored), served by support/api_server.h's small MHD daemon. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/alerts.h"
#include "api/routes.h"

#include "../support/api_server.h"

#define SECRET "s3cret-for-tests"
#define SECRET_VAR "RG_TEST_ALERTS_SECRET"

/* ---- fixture: a hand-made config, a loaded key, an HTTP server ------------------ */

static rg_env envs[2];
static rg_kv severities[] = {
	{ "critical", "P0" }, { "error", "P1" }, { "warning", "P2" }, { "info", "P3" },
};
static rg_config cfg;
static rg_alerts_key key;
static rg_api_ctx ctx;

static void config_make(void)
{
	memset(envs, 0, sizeof envs);
	envs[0].name = "prod";
	envs[1].name = "staging";
	memset(&cfg, 0, sizeof cfg);
	cfg.service = "shop";
	cfg.envs = envs;
	cfg.n_envs = 2;
	cfg.alerts = (rg_alerts_cfg){
		.enabled = true,
		.secret_env = SECRET_VAR,
		.service_label = "service",
		.env_label = "env",
		.severity_label = "severity",
		.severities = severities,
		.n_severities = 4,
		.default_severity = RG_SEV_P1,
	};
}

static void key_make(void)
{
	cr_assert_eq(setenv(SECRET_VAR, SECRET, 1), 0);
	rg_alerts_key_load(&cfg.alerts, &key);
	cr_assert(key.loaded, "%s", key.problem);
}

static void pure_setup(void)
{
	config_make();
	key_make();
}

static void http_setup(void)
{
	pure_setup();
	ctx = (rg_api_ctx){ .cfg = &cfg, .alerts_key = &key };
	api_server_start(&ctx);
}

static void teardown(void)
{
	api_server_stop();
	rg_alerts_key_wipe(&key);
	unsetenv(SECRET_VAR);
}

TestSuite(api_alerts_signature, .init = pure_setup, .fini = teardown);
TestSuite(api_alerts_read, .init = pure_setup, .fini = teardown);
TestSuite(api_alerts_http, .init = http_setup, .fini = teardown);

/* ---- helpers ------------------------------------------------------------------------ */

/* "sha256=<hex>" of body under secret, as a client computes it. */
static void sign(char *out, size_t size, const char *secret, const char *body)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char hex[2 * sizeof mac + 1];
	crypto_auth_hmacsha256_state st;
	cr_assert_geq(sodium_init(), 0);
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
	snprintf(out, size, "sha256=%s", hex);
}

static rg_alerts_auth verify(const char *header, const char *body)
{
	return rg_alerts_verify(&key, header, body, strlen(body));
}

typedef struct read_result {
	rg_err rc;
	rg_error err;
	rg_alert_list list;
} read_result;

static read_result read_body(const char *body)
{
	read_result r;
	memset(&r, 0, sizeof r);
	rg_error_clear(&r.err);
	r.rc = rg_alerts_read(&cfg, body, strlen(body), &r.list, &r.err);
	return r;
}

static void expect_bad(const char *body, const char *field, const char *message)
{
	read_result r = read_body(body);
	cr_assert_eq(r.rc, RG_EINVAL, "accepted: %s", body);
	cr_assert_str_eq(r.err.field, field, "message: %s", r.err.message);
	if (message)
		cr_assert_str_eq(r.err.message, message);
	cr_assert_null(r.list.items);
}

static const rg_alert_item *item(const read_result *r, size_t i)
{
	cr_assert_lt(i, r->list.n);
	return &r->list.items[i];
}

/* One Alertmanager alert object. */
#define ALERT(status, labels, annotations)                                                     \
	"{\"status\":\"" status "\",\"labels\":{" labels "},\"annotations\":{" annotations "},"  \
	"\"startsAt\":\"2026-11-23T09:15:14.123Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","         \
	"\"generatorURL\":\"http://prometheus:9090/graph\",\"fingerprint\":\"6f3a1c2b\"}"

/* Alertmanager's payload around alerts (comma-separated ALERTs). */
#define PAYLOAD(alerts)                                                                        \
	"{\"version\":\"4\",\"groupKey\":\"{}:{alertname=\\\"X\\\"}\",\"truncatedAlerts\":0,"     \
	"\"status\":\"firing\",\"receiver\":\"rollguard\",\"groupLabels\":{\"alertname\":\"X\"}," \
	"\"commonLabels\":{\"service\":\"shop\"},\"commonAnnotations\":{},"                     \
	"\"externalURL\":\"http://alertmanager:9093\",\"alerts\":[" alerts "]}"

/* ---- the signature ------------------------------------------------------------------ */

/* RFC 4231-style reference value (also what `openssl dgst -sha256 -hmac key`
 * prints for this text), so the docs' one-liner signs what we check. */
Test(api_alerts_signature, known_vector)
{
	const char *body = "The quick brown fox jumps over the lazy dog";
	cr_assert_eq(setenv(SECRET_VAR, "key", 1), 0);
	rg_alerts_key_load(&cfg.alerts, &key);
	cr_assert(key.loaded);
	cr_assert_eq(verify("sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8",
			    body), RG_ALERTS_AUTH_OK);
	cr_assert_eq(verify("sha256=F7BC83F430538424B13298E6AA6FB143EF4D59A14946175997479DBC2D1A3CD8",
			    body), RG_ALERTS_AUTH_OK, "hex in either case");
	cr_assert_eq(verify("sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd9",
			    body), RG_ALERTS_AUTH_MISMATCH);
}

Test(api_alerts_signature, accepts_its_own_signature)
{
	char sig[80];
	const char *body = PAYLOAD(ALERT("firing", "\"service\":\"shop\"", ""));
	sign(sig, sizeof sig, SECRET, body);
	cr_assert_eq(verify(sig, body), RG_ALERTS_AUTH_OK);
	sign(sig, sizeof sig, SECRET, "");
	cr_assert_eq(rg_alerts_verify(&key, sig, NULL, 0), RG_ALERTS_AUTH_OK, "an empty body");
}

Test(api_alerts_signature, missing)
{
	cr_assert_eq(verify(NULL, "{}"), RG_ALERTS_AUTH_MISSING);
	cr_assert_eq(verify("", "{}"), RG_ALERTS_AUTH_MISSING);
}

Test(api_alerts_signature, malformed)
{
	char sig[80];
	const char *body = "{\"env\":\"prod\",\"name\":\"X\"}";
	sign(sig, sizeof sig, SECRET, body);
	char bad[96];
	snprintf(bad, sizeof bad, "%s", sig + 7);   /* no sha256= */
	cr_assert_eq(verify(bad, body), RG_ALERTS_AUTH_MALFORMED);
	snprintf(bad, sizeof bad, "sha1=%s", sig + 7);
	cr_assert_eq(verify(bad, body), RG_ALERTS_AUTH_MALFORMED);
	snprintf(bad, sizeof bad, "SHA256=%s", sig + 7);
	cr_assert_eq(verify(bad, body), RG_ALERTS_AUTH_MALFORMED);
	snprintf(bad, sizeof bad, "%.70s", sig);     /* 63 hex digits */
	cr_assert_eq(verify(bad, body), RG_ALERTS_AUTH_MALFORMED);
	snprintf(bad, sizeof bad, "%s0", sig);       /* 65 */
	cr_assert_eq(verify(bad, body), RG_ALERTS_AUTH_MALFORMED);
	snprintf(bad, sizeof bad, "%s ", sig);
	cr_assert_eq(verify(bad, body), RG_ALERTS_AUTH_MALFORMED);
	snprintf(bad, sizeof bad, "%s", sig);
	bad[20] = 'g';                               /* not hex */
	cr_assert_eq(verify(bad, body), RG_ALERTS_AUTH_MALFORMED);
	bad[20] = ':';
	cr_assert_eq(verify(bad, body), RG_ALERTS_AUTH_MALFORMED);
	cr_assert_eq(verify("sha256=", body), RG_ALERTS_AUTH_MALFORMED);
}

Test(api_alerts_signature, wrong_secret_or_changed_body)
{
	char sig[80];
	const char *body = "{\"env\":\"prod\",\"name\":\"X\",\"severity\":\"P3\"}";
	sign(sig, sizeof sig, "another secret", body);
	cr_assert_eq(verify(sig, body), RG_ALERTS_AUTH_MISMATCH);
	sign(sig, sizeof sig, SECRET, body);
	cr_assert_eq(verify(sig, "{\"env\":\"prod\",\"name\":\"X\",\"severity\":\"P0\"}"),
		     RG_ALERTS_AUTH_MISMATCH, "the body changed after signing");
	cr_assert_eq(rg_alerts_verify(&key, sig, body, strlen(body) - 1), RG_ALERTS_AUTH_MISMATCH,
		     "a byte less");
	rg_alerts_key none = { 0 };
	cr_assert_eq(rg_alerts_verify(&none, sig, body, strlen(body)), RG_ALERTS_AUTH_MISMATCH,
		     "no key loaded never authenticates");
}

Test(api_alerts_signature, messages_name_the_header_only)
{
	for (int a = RG_ALERTS_AUTH_MISSING; a <= RG_ALERTS_AUTH_MISMATCH; a++)
		cr_assert(strstr(rg_alerts_auth_message((rg_alerts_auth)a), "X-Rollguard-Signature"));
}

Test(api_alerts_signature, key_problems)
{
	rg_alerts_key k;
	memset(&k, 0, sizeof k);
	cr_assert_eq(setenv(SECRET_VAR, "", 1), 0);
	rg_alerts_key_load(&cfg.alerts, &k);
	cr_assert_not(k.loaded);
	cr_assert_str_eq(k.problem, "environment variable '" SECRET_VAR "' is empty");
	cr_assert_eq(unsetenv(SECRET_VAR), 0);
	rg_alerts_key_load(&cfg.alerts, &k);
	cr_assert_str_eq(k.problem, "environment variable '" SECRET_VAR "' is not set");
	cr_assert_eq(setenv(SECRET_VAR, SECRET, 1), 0);
	rg_alerts_key_load(&cfg.alerts, &k);
	cr_assert(k.loaded);
	cr_assert_eq(k.len, strlen(SECRET));
	rg_alerts_key_wipe(&k);
	cr_assert_not(k.loaded);
	for (size_t i = 0; i < sizeof k.secret; i++)
		cr_assert_eq(k.secret[i], 0);
}

/* ---- reading and matching: Alertmanager --------------------------------------------- */

Test(api_alerts_read, alertmanager_matching)
{
	read_result r = read_body(PAYLOAD(
		ALERT("firing", "\"alertname\":\"HighErrorRate\",\"service\":\"shop\",\"env\":\"prod\","
				"\"severity\":\"critical\"",
		      "\"summary\":\"5xx above 2% on shop\",\"description\":\"long text\"") ","
		ALERT("firing", "\"alertname\":\"SlowCheckout\",\"service\":\"shop\",\"env\":\"staging\"",
		      "\"description\":\"p95 over 800ms\"") ","
		ALERT("resolved", "\"alertname\":\"Old\",\"service\":\"shop\",\"env\":\"prod\"", "") ","
		ALERT("firing", "\"alertname\":\"Other\",\"service\":\"cart\",\"env\":\"prod\"", "") ","
		ALERT("firing", "\"alertname\":\"Qa\",\"service\":\"shop\",\"env\":\"qa\"", "") ","
		ALERT("firing", "\"alertname\":\"NoEnv\",\"service\":\"shop\"", "") ","
		ALERT("firing", "\"alertname\":\"NoService\",\"env\":\"prod\"", "") ","
		ALERT("firing", "\"alertname\":\"BadEnv\",\"service\":\"shop\",\"env\":\"../prod\"", "")));
	cr_assert_eq(r.rc, RG_OK, "%s (%s)", r.err.message, r.err.field);
	cr_assert_str_eq(r.list.source, "alertmanager");
	cr_assert_eq(r.list.n, 8);

	const rg_alert_item *a = item(&r, 0);
	cr_assert_not(a->ignored);
	cr_assert_str_eq(a->env, "prod");
	cr_assert_str_eq(a->name, "HighErrorRate");
	cr_assert_eq(a->severity, RG_SEV_P0);
	cr_assert_str_eq(a->summary, "5xx above 2% on shop", "summary wins over description");

	a = item(&r, 1);
	cr_assert_not(a->ignored);
	cr_assert_str_eq(a->env, "staging");
	cr_assert_eq(a->severity, RG_SEV_P1, "no severity label: the default");
	cr_assert_str_eq(a->summary, "p95 over 800ms");

	cr_assert(item(&r, 2)->ignored);
	cr_assert_str_eq(item(&r, 2)->reason, "resolved");
	cr_assert_str_eq(item(&r, 3)->reason, "for service 'cart'");
	cr_assert_str_eq(item(&r, 3)->env, "prod");
	cr_assert_str_eq(item(&r, 4)->reason, "unknown environment 'qa'");
	cr_assert_str_eq(item(&r, 5)->reason, "no 'env' label");
	cr_assert_str_eq(item(&r, 5)->env, "");
	cr_assert_str_eq(item(&r, 6)->reason, "no 'service' label");
	cr_assert_str_eq(item(&r, 7)->reason, "invalid environment name '../prod'");
	for (size_t i = 2; i < 8; i++)
		cr_assert(item(&r, i)->ignored, "alert %zu", i);
	rg_alert_list_release(&r.list);
}

Test(api_alerts_read, severities)
{
	read_result r = read_body(PAYLOAD(
		ALERT("firing", "\"service\":\"shop\",\"env\":\"prod\",\"severity\":\"warning\"", "") ","
		ALERT("firing", "\"service\":\"shop\",\"env\":\"prod\",\"severity\":\"P3\"", "") ","
		ALERT("firing", "\"service\":\"shop\",\"env\":\"prod\",\"severity\":\"Critical\"", "") ","
		ALERT("firing", "\"service\":\"shop\",\"env\":\"prod\",\"severity\":\"page\"", "")));
	cr_assert_eq(r.rc, RG_OK, "%s", r.err.message);
	cr_assert_eq(item(&r, 0)->severity, RG_SEV_P2, "through the map");
	cr_assert_eq(item(&r, 1)->severity, RG_SEV_P3, "P0…P3 as written");
	cr_assert_eq(item(&r, 2)->severity, RG_SEV_P1, "the map is case-sensitive: the default");
	cr_assert_eq(item(&r, 3)->severity, RG_SEV_P1, "unmapped: the default");
	cr_assert_str_eq(item(&r, 0)->name, "", "no alertname");
	rg_alert_list_release(&r.list);

	cfg.alerts.default_severity = RG_SEV_P3;
	r = read_body(PAYLOAD(ALERT("firing", "\"service\":\"shop\",\"env\":\"prod\"", "")));
	cr_assert_eq(r.rc, RG_OK);
	cr_assert_eq(item(&r, 0)->severity, RG_SEV_P3);
	rg_alert_list_release(&r.list);
}

Test(api_alerts_read, configured_label_names)
{
	cfg.alerts.service_label = "app";
	cfg.alerts.env_label = "environment";
	cfg.alerts.severity_label = "priority";
	read_result r = read_body(PAYLOAD(
		ALERT("firing", "\"alertname\":\"A\",\"app\":\"shop\",\"environment\":\"prod\","
				"\"priority\":\"info\",\"service\":\"cart\",\"env\":\"qa\"", "") ","
		ALERT("firing", "\"alertname\":\"B\",\"service\":\"shop\",\"env\":\"prod\"", "")));
	cr_assert_eq(r.rc, RG_OK, "%s", r.err.message);
	cr_assert_not(item(&r, 0)->ignored, "%s", item(&r, 0)->reason);
	cr_assert_str_eq(item(&r, 0)->env, "prod");
	cr_assert_eq(item(&r, 0)->severity, RG_SEV_P3);
	cr_assert_str_eq(item(&r, 1)->reason, "no 'app' label");
	rg_alert_list_release(&r.list);
}

Test(api_alerts_read, texts_are_one_safe_line)
{
	char body[4096], long_summary[600], accents[600];
	memset(long_summary, 'x', 450);
	long_summary[450] = '\0';
	for (int i = 0; i < 250; i++)
		memcpy(accents + 2 * i, "\xc3\xa9", 2);   /* 250 times U+00E9, two bytes each */
	accents[500] = '\0';
	snprintf(body, sizeof body, PAYLOAD(
		ALERT("firing", "\"alertname\":\"Bad\\u001b[31mName\",\"service\":\"shop\",\"env\":\"prod\"",
		      "\"summary\":\"\\n  first line\\twith tab  \\nsecond line\"") ","
		ALERT("firing", "\"alertname\":\"L\",\"service\":\"shop\",\"env\":\"prod\"",
		      "\"summary\":\"%s\"") ","
		ALERT("firing", "\"alertname\":\"U\",\"service\":\"shop\",\"env\":\"prod\"",
		      "\"description\":\"%s\"")),
		long_summary, accents);
	read_result r = read_body(body);
	cr_assert_eq(r.rc, RG_OK, "%s", r.err.message);
	cr_assert_str_eq(item(&r, 0)->name, "Bad [31mName");
	cr_assert_str_eq(item(&r, 0)->summary, "first line with tab");
	cr_assert_eq(strlen(item(&r, 1)->summary), 200, "at most 200 characters");
	cr_assert_eq(strlen(item(&r, 2)->summary), 400, "200 characters, each kept whole");
	cr_assert_eq(memcmp(item(&r, 2)->summary, accents, 400), 0);
	rg_alert_list_release(&r.list);
}

Test(api_alerts_read, empty_batch)
{
	read_result r = read_body("{\"version\":\"4\",\"alerts\":[]}");
	cr_assert_eq(r.rc, RG_OK, "%s", r.err.message);
	cr_assert_eq(r.list.n, 0);
	rg_alert_list_release(&r.list);
}

Test(api_alerts_read, alertmanager_shapes)
{
	expect_bad("{\"version\":\"4\",\"alerts\":{}}", "alerts", "field 'alerts' must be an array");
	expect_bad("{\"alerts\":[]}", "version", "missing field 'version'");
	expect_bad("{\"version\":4,\"alerts\":[]}", "version", "field 'version' must be a string");
	expect_bad("{\"version\":\"5\",\"alerts\":[]}", "version",
		   "unsupported Alertmanager webhook version '5' (rollguard reads version 4)");
	expect_bad("{\"version\":\"4\",\"alerts\":[],\"extra\":1}", "extra", "unknown field 'extra'");
	expect_bad("{\"version\":\"4\",\"alerts\":[],\"status\":\"pending\"}", "status",
		   "field 'status' must be \"firing\" or \"resolved\"");
	expect_bad("{\"version\":\"4\",\"alerts\":[],\"truncatedAlerts\":-1}", "truncatedAlerts",
		   "field 'truncatedAlerts' must be a non-negative integer");
	expect_bad("{\"version\":\"4\",\"alerts\":[],\"commonLabels\":{\"a\":1}}", "commonLabels.a",
		   "field 'commonLabels.a' must be a string");
	expect_bad(PAYLOAD(ALERT("firing", "", "") ",[]"), "alerts[1]",
		   "field 'alerts[1]' must be an object");
	expect_bad(PAYLOAD(ALERT("pending", "", "")), "alerts[0].status",
		   "field 'alerts[0].status' must be \"firing\" or \"resolved\"");
	expect_bad(PAYLOAD("{\"status\":\"firing\"}"), "alerts[0].labels",
		   "missing field 'alerts[0].labels'");
	expect_bad(PAYLOAD("{\"labels\":{}}"), "alerts[0].status", "missing field 'alerts[0].status'");
	expect_bad(PAYLOAD(ALERT("firing", "", "") "," ALERT("firing", "\"env\":7", "")),
		   "alerts[1].labels.env", "field 'alerts[1].labels.env' must be a string");
	expect_bad(PAYLOAD("{\"status\":\"firing\",\"labels\":[]}"), "alerts[0].labels",
		   "field 'alerts[0].labels' must be an object of strings");
	expect_bad(PAYLOAD("{\"status\":\"firing\",\"labels\":{},\"lables\":{}}"), "alerts[0].lables",
		   "unknown field 'alerts[0].lables'");
	expect_bad(PAYLOAD("{\"status\":\"firing\",\"labels\":{},\"annotations\":{\"summary\":null}}"),
		   "alerts[0].annotations.summary",
		   "field 'alerts[0].annotations.summary' must be a string");
	expect_bad("{\"version\":\"4\",\"alerts\":[],}", "", NULL);
	expect_bad("[]", "", "request body must be a JSON object");
}

/* ---- reading: rollguard's form ------------------------------------------------------ */

Test(api_alerts_read, form)
{
	read_result r = read_body("{\"env\":\"prod\",\"name\":\"HighErrorRate\",\"severity\":\"P0\","
				  "\"summary\":\"5xx at 4%\"}");
	cr_assert_eq(r.rc, RG_OK, "%s", r.err.message);
	cr_assert_str_eq(r.list.source, "api");
	cr_assert_eq(r.list.n, 1);
	const rg_alert_item *a = item(&r, 0);
	cr_assert_not(a->ignored);
	cr_assert_str_eq(a->env, "prod");
	cr_assert_str_eq(a->name, "HighErrorRate");
	cr_assert_eq(a->severity, RG_SEV_P0);
	cr_assert_str_eq(a->summary, "5xx at 4%");
	rg_alert_list_release(&r.list);

	r = read_body("{\"env\":\"staging\",\"name\":\"Slow\",\"severity\":\"warning\"}");
	cr_assert_eq(r.rc, RG_OK, "%s", r.err.message);
	cr_assert_eq(item(&r, 0)->severity, RG_SEV_P2, "a label value through the map");
	cr_assert_str_eq(item(&r, 0)->summary, "");
	rg_alert_list_release(&r.list);

	r = read_body("{\"env\":\"staging\",\"name\":\"Slow\",\"severity\":null}");
	cr_assert_eq(r.rc, RG_OK, "%s", r.err.message);
	cr_assert_eq(item(&r, 0)->severity, RG_SEV_P1, "the default");
	rg_alert_list_release(&r.list);
}

Test(api_alerts_read, form_shapes)
{
	expect_bad("", "env", "missing field 'env'");
	expect_bad("{\"env\":\"prod\"}", "name", "missing field 'name'");
	expect_bad("{\"env\":\"prod\",\"name\":\"X\",\"sevrity\":\"P1\"}", "sevrity",
		   "unknown field 'sevrity'");
	expect_bad("{\"env\":\"prod\",\"name\":3}", "name", "field 'name' must be a string");
	expect_bad("{\"env\":\"../x\",\"name\":\"X\"}", "env", NULL);
	expect_bad("{\"env\":\"qa\",\"name\":\"X\"}", "env", "unknown environment 'qa'");
	expect_bad("{\"env\":\"prod\",\"name\":\"\"}", "name", "field 'name' must not be empty");
	expect_bad("{\"env\":\"prod\",\"name\":\"a\\nb\"}", "name",
		   "field 'name' must not contain control characters");
	expect_bad("{\"env\":\"prod\",\"name\":\"X\",\"summary\":\"a\\u0007\"}", "summary", NULL);
	expect_bad("{\"env\":\"prod\",\"name\":\"X\",\"severity\":\"P7\"}", "severity",
		   "unknown severity 'P7' (use P0, P1, P2, P3, critical, error, warning, info)");
	char body[512], summary[220];
	memset(summary, 's', 201);
	summary[201] = '\0';
	snprintf(body, sizeof body, "{\"env\":\"prod\",\"name\":\"X\",\"summary\":\"%s\"}", summary);
	expect_bad(body, "summary", "field 'summary' is longer than 200 characters");
	expect_bad("{\"version\":\"4\",\"alerts\":null}", "alerts",
		   "field 'alerts' must be an array");
}

/* ---- over HTTP ---------------------------------------------------------------------- */

/* POSTs body with the signature header (NULL: none). */
static api_answer post(const char *method, const char *body, const char *signature)
{
	char header[160];
	const char *headers[] = { "Content-Type: application/json", NULL, NULL };
	if (signature) {
		snprintf(header, sizeof header, "X-Rollguard-Signature: %s", signature);
		headers[1] = header;
	}
	return api_call(method, "/api/v1/alerts", body, headers);
}

static api_answer post_signed(const char *body)
{
	char sig[80];
	sign(sig, sizeof sig, SECRET, body);
	return post("POST", body, sig);
}

/* The answer is status with error code, field (or none) and message. */
static void expect_error(api_answer *a, long status, const char *code, const char *field,
			 const char *message)
{
	cr_assert_eq(a->status, status, "status %ld, body %s", a->status, a->body);
	json_error_t je;
	json_t *v = json_loads(a->body, 0, &je);
	cr_assert_not_null(v, "%s", a->body);
	json_t *e = json_object_get(v, "error");
	cr_assert_str_eq(json_string_value(json_object_get(e, "code")), code);
	const char *f = json_string_value(json_object_get(e, "field"));
	if (field)
		cr_assert_str_eq(f ? f : "(none)", field, "%s", a->body);
	else
		cr_assert_null(f, "%s", a->body);
	if (message)
		cr_assert_str_eq(json_string_value(json_object_get(e, "message")), message);
	json_decref(v);
	free(a->body);
	a->body = NULL;
}

Test(api_alerts_http, not_configured)
{
	cfg.alerts.enabled = false;
	api_answer a = post_signed("{\"env\":\"prod\",\"name\":\"X\"}");
	expect_error(&a, 404, "not_found", NULL, "alerts are not configured");
}

Test(api_alerts_http, secret_unavailable)
{
	cr_assert_eq(unsetenv(SECRET_VAR), 0);
	rg_alerts_key_load(&cfg.alerts, &key);
	api_answer a = post_signed("{\"env\":\"prod\",\"name\":\"X\"}");
	expect_error(&a, 503, "unavailable", NULL,
		     "alerts secret unavailable: environment variable '" SECRET_VAR "' is not set");
	ctx.alerts_key = NULL;
	a = post_signed("{}");
	expect_error(&a, 503, "unavailable", NULL, "alerts secret unavailable: not configured");
}

Test(api_alerts_http, unauthorized)
{
	const char *body = "{\"env\":\"prod\",\"name\":\"X\"}";
	char sig[80];
	api_answer a = post("POST", body, NULL);   /* neither a token nor a signature */
	expect_error(&a, 401, "unauthorized", "Authorization",
		     "this endpoint needs a token (Authorization: Bearer TOKEN)");
	a = post("POST", body, "sha256=abc");
	expect_error(&a, 401, "unauthorized", "X-Rollguard-Signature",
		     rg_alerts_auth_message(RG_ALERTS_AUTH_MALFORMED));
	sign(sig, sizeof sig, "not the secret", body);
	a = post("POST", body, sig);
	cr_assert_null(strstr(a.body, sig + 7), "the signature is never echoed");
	cr_assert_null(strstr(a.body, SECRET), "nor the secret");
	expect_error(&a, 401, "unauthorized", "X-Rollguard-Signature",
		     rg_alerts_auth_message(RG_ALERTS_AUTH_MISMATCH));
	sign(sig, sizeof sig, SECRET, body);
	a = post("POST", "{\"env\":\"prod\",\"name\":\"Y\"}", sig);
	expect_error(&a, 401, "unauthorized", "X-Rollguard-Signature", NULL);
}

/* Signed, but wrong: 400 naming the field, before the engine is reached. */
Test(api_alerts_http, bad_payloads)
{
	api_answer a = post_signed("{\"env\":\"prod\",\"name\":\"X\",\"severity\":\"P9\"}");
	expect_error(&a, 400, "invalid_input", "severity", NULL);
	a = post_signed(PAYLOAD(ALERT("firing", "\"env\":[]", "")));
	expect_error(&a, 400, "invalid_input", "alerts[0].labels.env", NULL);
	a = post_signed("{\"env\":\"qa\",\"name\":\"X\"}");
	expect_error(&a, 400, "invalid_input", "env", "unknown environment 'qa'");
	a = post_signed("not json");
	expect_error(&a, 400, "invalid_input", NULL, NULL);
}

/* Nothing to fire: 202, and the engine (NULL here) is never called. */
Test(api_alerts_http, everything_ignored)
{
	api_answer a = post_signed(PAYLOAD(
		ALERT("resolved", "\"alertname\":\"A\",\"service\":\"shop\",\"env\":\"prod\"", "") ","
		ALERT("firing", "\"alertname\":\"B\",\"service\":\"cart\",\"env\":\"prod\"", "") ","
		ALERT("firing", "\"service\":\"shop\",\"env\":\"qa\"", "")));
	cr_assert_eq(a.status, 202, "%s", a.body);
	json_t *v = json_loads(a.body, 0, NULL);
	json_t *want = json_loads(
		"{\"accepted\":[],\"ignored\":["
		"{\"env\":\"prod\",\"alert\":\"A\",\"reason\":\"resolved\"},"
		"{\"env\":\"prod\",\"alert\":\"B\",\"reason\":\"for service 'cart'\"},"
		"{\"env\":\"qa\",\"alert\":null,\"reason\":\"unknown environment 'qa'\"}]}", 0, NULL);
	cr_assert(json_equal(v, want), "got %s", a.body);
	json_decref(v);
	json_decref(want);
	free(a.body);
}

Test(api_alerts_http, only_post)
{
	api_answer a = post("GET", NULL, NULL);
	expect_error(&a, 405, "method_not_allowed", NULL, NULL);
}
