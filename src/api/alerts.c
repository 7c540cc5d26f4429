/* alerts.c — POST /api/v1/alerts: check the signature, read the payload,
 * match each alert to this service and fire it through the engine.
 * Nothing reaches the engine before the signature is checked, and neither
 * the secret nor the signature is ever logged or echoed. */
#include "api/alerts.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/access.h"
#include "api/request.h"
#include "api/routes.h"
#include "util/log.h"

/* ---- the secret and the signature ------------------------------------------ */

void rg_alerts_key_load(const rg_alerts_cfg *a, rg_alerts_key *k)
{
	rg_error err;
	rg_alerts_key_wipe(k);
	if (sodium_init() < 0) {
		snprintf(k->problem, sizeof k->problem, "libsodium did not initialise");
		return;
	}
	if (rg_alerts_secret_load(a, k->secret, sizeof k->secret, &k->len, &err)) {
		snprintf(k->problem, sizeof k->problem, "%s", err.message);
		return;
	}
	k->loaded = true;
}

void rg_alerts_key_wipe(rg_alerts_key *k)
{
	sodium_memzero(k->secret, sizeof k->secret);
	k->len = 0;
	k->loaded = false;
	k->problem[0] = '\0';
}

#define SIGNATURE_PREFIX "sha256="
#define SIGNATURE_HEX (2 * crypto_auth_hmacsha256_BYTES)

rg_alerts_auth rg_alerts_verify(const rg_alerts_key *k, const char *header, const char *body,
				size_t len)
{
	if (!header || !*header)
		return RG_ALERTS_AUTH_MISSING;
	size_t plen = strlen(SIGNATURE_PREFIX);
	if (strncmp(header, SIGNATURE_PREFIX, plen) != 0 || strlen(header + plen) != SIGNATURE_HEX)
		return RG_ALERTS_AUTH_MALFORMED;
	unsigned char got[crypto_auth_hmacsha256_BYTES], want[crypto_auth_hmacsha256_BYTES];
	size_t n = 0;
	const char *end = NULL;
	if (sodium_hex2bin(got, sizeof got, header + plen, SIGNATURE_HEX, NULL, &n, &end) != 0 ||
	    n != sizeof got || end != header + plen + SIGNATURE_HEX)
		return RG_ALERTS_AUTH_MALFORMED;
	if (!k || !k->loaded || sodium_init() < 0)
		return RG_ALERTS_AUTH_MISMATCH;
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)k->secret, k->len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)(body ? body : ""), body ? len : 0);
	crypto_auth_hmacsha256_final(&st, want);
	int diff = sodium_memcmp(want, got, sizeof want);
	sodium_memzero(&st, sizeof st);
	sodium_memzero(want, sizeof want);
	return diff == 0 ? RG_ALERTS_AUTH_OK : RG_ALERTS_AUTH_MISMATCH;
}

const char *rg_alerts_auth_message(rg_alerts_auth a)
{
	switch (a) {
	case RG_ALERTS_AUTH_OK: return "signature ok";
	case RG_ALERTS_AUTH_MISSING:
		return "missing X-Rollguard-Signature header (sha256= and the HMAC-SHA256 of the "
		       "body under the alerts secret, in hex)";
	case RG_ALERTS_AUTH_MALFORMED:
		return "malformed X-Rollguard-Signature header (expected sha256= and 64 hex digits)";
	case RG_ALERTS_AUTH_MISMATCH: return "X-Rollguard-Signature does not match the body";
	}
	return "unauthorized";
}

/* ---- text from a payload ------------------------------------------------------ */

/* The first non-blank line of s, at most max_chars UTF-8 characters that fit
 * in size, control characters as spaces, trailing spaces cut: what a
 * decision, a log line and an answer can quote safely. */
static void one_line(char *out, size_t size, const char *s, size_t max_chars)
{
	size_t o = 0, chars = 0;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	for (; *s && *s != '\n' && *s != '\r'; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c & 0xC0) != 0x80) {
			size_t clen = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
			if (chars == max_chars || o + clen >= size)
				break;
			chars++;
		} else if (o + 1 >= size) {
			break;
		}
		out[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* A label value through alerts.severities, or P0…P3 as written. */
static bool severity_of(const rg_alerts_cfg *a, const char *value, rg_severity *out)
{
	for (size_t i = 0; value && i < a->n_severities; i++) {
		if (strcmp(a->severities[i].key, value) != 0)
			continue;
		for (int s = 0; s < RG_SEV_COUNT; s++) {
			if (strcmp(a->severities[i].value, rg_severity_name((rg_severity)s)) == 0) {
				*out = (rg_severity)s;
				return true;
			}
		}
	}
	for (int s = 0; value && s < RG_SEV_COUNT; s++) {
		if (strcmp(value, rg_severity_name((rg_severity)s)) == 0) {
			*out = (rg_severity)s;
			return true;
		}
	}
	return false;
}

static const char *label_name(const char *configured, const char *dflt)
{
	return configured && *configured ? configured : dflt;
}

/* ---- Alertmanager's payload: shape ------------------------------------------- */

typedef enum { K_STRING = 0, K_INT, K_STRINGS, K_ARRAY } field_kind;

typedef struct am_field {
	const char *name;
	field_kind kind;
	bool required;
} am_field;

/* Version 4 of Alertmanager's webhook payload; a field it does not list is
 * refused, like everywhere else in the API. */
static const am_field payload_fields[] = {
	{ "version", K_STRING, true },          { "groupKey", K_STRING, false },
	{ "truncatedAlerts", K_INT, false },    { "status", K_STRING, false },
	{ "receiver", K_STRING, false },        { "groupLabels", K_STRINGS, false },
	{ "commonLabels", K_STRINGS, false },   { "commonAnnotations", K_STRINGS, false },
	{ "externalURL", K_STRING, false },     { "alerts", K_ARRAY, true },
};
static const am_field alert_fields[] = {
	{ "status", K_STRING, true },       { "labels", K_STRINGS, true },
	{ "annotations", K_STRINGS, false }, { "startsAt", K_STRING, false },
	{ "endsAt", K_STRING, false },      { "generatorURL", K_STRING, false },
	{ "fingerprint", K_STRING, false },
};
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *kind_words(field_kind k)
{
	switch (k) {
	case K_STRING: return "a string";
	case K_INT: return "a non-negative integer";
	case K_STRINGS: return "an object of strings";
	case K_ARRAY: return "an array";
	}
	return "?";
}

static void path_of(char *out, size_t size, const char *where, const char *name)
{
	snprintf(out, size, "%s%s%.64s", where, *where ? "." : "", name);
}

static rg_err check_value(const am_field *f, const json_t *v, const char *path, rg_error *err)
{
	bool ok = f->kind == K_STRING    ? json_is_string(v)
		  : f->kind == K_INT     ? json_is_integer(v) && json_integer_value(v) >= 0
		  : f->kind == K_STRINGS ? json_is_object(v)
					 : json_is_array(v);
	if (!ok)
		return rg_fail(err, RG_EINVAL, path, "field '%s' must be %s", path, kind_words(f->kind));
	if (f->kind != K_STRINGS)
		return RG_OK;
	const char *key;
	json_t *item;
	json_object_foreach((json_t *)v, key, item) {
		if (!json_is_string(item)) {
			char sub[160];
			path_of(sub, sizeof sub, path, key);
			return rg_fail(err, RG_EINVAL, sub, "field '%s' must be a string", sub);
		}
	}
	return RG_OK;
}

static const am_field *field_find(const am_field *fields, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(fields[i].name, name) == 0)
			return &fields[i];
	return NULL;
}

/* obj against fields; where ("" or "alerts[3]") prefixes field names. */
static rg_err check_object(const json_t *obj, const am_field *fields, size_t n,
			   const char *where, rg_error *err)
{
	char path[160];
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		const am_field *f = field_find(fields, n, key);
		path_of(path, sizeof path, where, key);
		if (!f)
			return rg_fail(err, RG_EINVAL, path, "unknown field '%s'", path);
		if (json_is_null(v) && !f->required)
			continue;
		rg_err rc = check_value(f, v, path, err);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < n; i++) {
		if (fields[i].required && !json_object_get(obj, fields[i].name)) {
			path_of(path, sizeof path, where, fields[i].name);
			return rg_fail(err, RG_EINVAL, path, "missing field '%s'", path);
		}
	}
	return RG_OK;
}

static rg_err check_status(const json_t *obj, const char *path, bool required, rg_error *err)
{
	const char *s = json_string_value(json_object_get(obj, "status"));
	if ((!s && !required) || (s && (!strcmp(s, "firing") || !strcmp(s, "resolved"))))
		return RG_OK;
	return rg_fail(err, RG_EINVAL, path, "field '%s' must be \"firing\" or \"resolved\"", path);
}

static rg_err check_payload(const json_t *root, rg_error *err)
{
	rg_err rc = check_object(root, payload_fields, N_OF(payload_fields), "", err);
	if (rc)
		return rc;
	const char *version = json_string_value(json_object_get(root, "version"));
	if (strcmp(version, "4") != 0)
		return rg_fail(err, RG_EINVAL, "version",
			       "unsupported Alertmanager webhook version '%.16s' (rollguard reads "
			       "version 4)", version);
	rc = check_status(root, "status", false, err);
	size_t i;
	json_t *alert;
	json_array_foreach(json_object_get(root, "alerts"), i, alert) {
		char where[32], path[48];
		if (rc)
			break;
		snprintf(where, sizeof where, "alerts[%zu]", i);
		if (!rc && !json_is_object(alert))
			rc = rg_fail(err, RG_EINVAL, where, "field '%s' must be an object", where);
		if (!rc)
			rc = check_object(alert, alert_fields, N_OF(alert_fields), where, err);
		snprintf(path, sizeof path, "%s.status", where);
		if (!rc)
			rc = check_status(alert, path, true, err);
	}
	return rc;
}

/* ---- Alertmanager's payload: matching ---------------------------------------- */

static const char *label(const json_t *labels, const char *name)
{
	return json_string_value(json_object_get(labels, name));
}

static void ignore(rg_alert_item *it, const char *fmt, const char *arg)
{
	it->ignored = true;
	snprintf(it->reason, sizeof it->reason, fmt, arg);
}

/* Whether an alert of this service names an environment of the config. */
static void match_target(const rg_config *cfg, const json_t *labels, rg_alert_item *it)
{
	const rg_alerts_cfg *a = &cfg->alerts;
	const char *service_label = label_name(a->service_label, "service");
	const char *env_label = label_name(a->env_label, "env");
	const char *service = label(labels, service_label);
	const char *env = label(labels, env_label);
	char shown[4 * RG_NAME_MAX + 1];
	if (env)
		one_line(it->env, sizeof it->env, env, RG_NAME_MAX);
	if (!service)
		return ignore(it, "no '%s' label", service_label);
	if (!cfg->service || strcmp(service, cfg->service) != 0) {
		one_line(shown, sizeof shown, service, RG_NAME_MAX);
		return ignore(it, "for service '%s'", shown);
	}
	if (!env)
		return ignore(it, "no '%s' label", env_label);
	if (!rg_name_valid(env))
		return ignore(it, "invalid environment name '%s'", it->env);
	if (!rg_config_env(cfg, env))
		return ignore(it, "unknown environment '%s'", it->env);
}

static void match_alert(const rg_config *cfg, const json_t *alert, rg_alert_item *it)
{
	const rg_alerts_cfg *a = &cfg->alerts;
	const json_t *labels = json_object_get(alert, "labels");
	const json_t *notes = json_object_get(alert, "annotations");
	const char *name = label(labels, "alertname");
	const char *summary = label(notes, "summary");
	if (!summary || !*summary)
		summary = label(notes, "description");
	if (name)
		one_line(it->name, sizeof it->name, name, RG_ALERT_NAME_MAX);
	if (summary)
		one_line(it->summary, sizeof it->summary, summary, RG_ALERT_SUMMARY_MAX);
	it->severity = a->default_severity;
	severity_of(a, label(labels, label_name(a->severity_label, "severity")), &it->severity);
	match_target(cfg, labels, it);
	/* Resolved wins as the reason: whoever reads the answer learns first
	 * that nothing needed doing. */
	if (strcmp(json_string_value(json_object_get(alert, "status")), "resolved") == 0) {
		it->ignored = true;
		snprintf(it->reason, sizeof it->reason, "resolved");
	}
}

static rg_err read_alertmanager(const rg_config *cfg, const json_t *root, rg_alert_list *out,
				rg_error *err)
{
	rg_err rc = check_payload(root, err);
	if (rc)
		return rc;
	const json_t *alerts = json_object_get(root, "alerts");
	size_t n = json_array_size(alerts);
	out->source = "alertmanager";
	if (!(out->items = calloc(n ? n : 1, sizeof *out->items)))
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	for (out->n = 0; out->n < n; out->n++)
		match_alert(cfg, json_array_get(alerts, out->n), &out->items[out->n]);
	return RG_OK;
}

/* ---- rollguard's form -------------------------------------------------------- */

static const rg_json_field form_fields[] = {
	{ "env", RG_JSON_STRING, true, 0 },
	{ "name", RG_JSON_STRING, true, RG_ALERT_NAME_MAX },
	{ "severity", RG_JSON_STRING, false, 0 },
	{ "summary", RG_JSON_STRING, false, RG_ALERT_SUMMARY_MAX },
};

static rg_err form_severity(const rg_alerts_cfg *a, const char *s, rg_severity *out,
			    rg_error *err)
{
	*out = a->default_severity;
	if (!s || severity_of(a, s, out))
		return RG_OK;
	char known[256] = "";
	size_t pos = 0;
	for (size_t i = 0; i < a->n_severities && pos < sizeof known; i++)
		pos += (size_t)snprintf(known + pos, sizeof known - pos, ", %s", a->severities[i].key);
	return rg_fail(err, RG_EINVAL, "severity", "unknown severity '%.64s' (use P0, P1, P2, P3%s)",
		       s, known);
}

/* A client writes this form itself: what is wrong is refused, not mended. */
static rg_err check_form(const rg_config *cfg, const json_t *in, rg_alert_item *it,
			 rg_error *err)
{
	const char *env = rg_json_get_str(in, "env");
	const char *name = rg_json_get_str(in, "name");
	const char *summary = rg_json_get_str(in, "summary");
	if (!rg_name_valid(env))
		return rg_fail(err, RG_EINVAL, "env",
			       "invalid environment name '%.64s': use letters, digits and . _ + - "
			       "(at most 64, starting with a letter or digit)", env);
	if (!rg_config_env(cfg, env))
		return rg_fail(err, RG_EINVAL, "env", "unknown environment '%s'", env);
	if (!*name)
		return rg_fail(err, RG_EINVAL, "name", "field 'name' must not be empty");
	if (has_control(name))
		return rg_fail(err, RG_EINVAL, "name", "field 'name' must not contain control characters");
	if (summary && has_control(summary))
		return rg_fail(err, RG_EINVAL, "summary",
			       "field 'summary' must be one line without control characters");
	rg_err rc = form_severity(&cfg->alerts, rg_json_get_str(in, "severity"), &it->severity, err);
	if (rc)
		return rc;
	snprintf(it->env, sizeof it->env, "%s", env);
	one_line(it->name, sizeof it->name, name, RG_ALERT_NAME_MAX);
	if (summary)
		one_line(it->summary, sizeof it->summary, summary, RG_ALERT_SUMMARY_MAX);
	return RG_OK;
}

static rg_err read_form(const rg_config *cfg, const json_t *in, rg_alert_list *out,
			rg_error *err)
{
	rg_err rc = rg_json_check(in, form_fields, N_OF(form_fields), err);
	if (rc)
		return rc;
	out->source = "api";
	if (!(out->items = calloc(1, sizeof *out->items)))
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	rc = check_form(cfg, in, &out->items[0], err);
	if (rc)
		return rc;
	out->n = 1;
	return RG_OK;
}

rg_err rg_alerts_read(const rg_config *cfg, const char *body, size_t len, rg_alert_list *out,
		      rg_error *err)
{
	json_t *root = NULL;
	memset(out, 0, sizeof *out);
	rg_err rc = rg_json_parse_object(body, len, &root, err);
	if (rc)
		return rc;
	if (json_object_get(root, "alerts"))
		rc = read_alertmanager(cfg, root, out, err);
	else
		rc = read_form(cfg, root, out, err);
	json_decref(root);
	if (rc)
		rg_alert_list_release(out);
	return rc;
}

void rg_alert_list_release(rg_alert_list *l)
{
	free(l->items);
	memset(l, 0, sizeof *l);
}

/* ---- the handler ------------------------------------------------------------- */

static json_t *text_or_null(const char *s)
{
	return *s ? json_string(s) : json_null();
}

static int add_ignored(json_t *ignored, const rg_alert_item *it)
{
	rg_debug("api: alert '%s' for '%s' ignored: %s", it->name, it->env, it->reason);
	return json_array_append_new(ignored, json_pack("{s:o, s:o, s:s}", "env",
							text_or_null(it->env), "alert",
							text_or_null(it->name), "reason", it->reason));
}

/* Fires one matched alert. An environment with nothing watched (or an env
 * the engine does not know) is an ignored alert, not a failed batch. */
static rg_err fire(rg_api_ctx *ctx, const rg_alert_list *list, rg_alert_item *it,
		   json_t *accepted, json_t *ignored, rg_error *err)
{
	rg_alert_in in = { .env = it->env, .name = it->name, .severity = it->severity,
			   .summary = it->summary, .source = list->source };
	int64_t run = 0;
	rg_error e;
	rg_error_clear(&e);
	rg_err rc = rg_engine_alert(ctx->engine, &in, &run, &e);
	if (rc == RG_ENOTFOUND || rc == RG_EINVAL) {
		it->ignored = true;
		snprintf(it->reason, sizeof it->reason, "%s", e.message);
		return add_ignored(ignored, it) ? rg_fail(err, RG_ENOMEM, NULL, "out of memory")
						: RG_OK;
	}
	if (rc) {
		*err = e;
		return rc;
	}
	rg_info("api: alert '%s' (%s, %s) fired for run %lld in '%s'", it->name,
		rg_severity_name(it->severity), list->source, (long long)run, it->env);
	json_t *one = json_pack("{s:s, s:o, s:s, s:I}", "env", it->env, "alert",
				text_or_null(it->name), "severity", rg_severity_name(it->severity),
				"run", (json_int_t)run);
	return json_array_append_new(accepted, one) ? rg_fail(err, RG_ENOMEM, NULL, "out of memory")
						    : RG_OK;
}

static rg_err answer(rg_api_ctx *ctx, rg_alert_list *list, rg_reply *reply, rg_error *err)
{
	json_t *accepted = json_array(), *ignored = json_array();
	rg_err rc = accepted && ignored ? RG_OK : rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; !rc && i < list->n; i++) {
		rg_alert_item *it = &list->items[i];
		if (!it->ignored)
			rc = fire(ctx, list, it, accepted, ignored, err);
		else if (add_ignored(ignored, it))
			rc = rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	}
	if (rc) {
		json_decref(accepted);
		json_decref(ignored);
		return rc;
	}
	return rg_reply_json(reply, 202,
			     json_pack("{s:o, s:o}", "accepted", accepted, "ignored", ignored), err);
}

static rg_err unauthorized(rg_alerts_auth auth, rg_error *err)
{
	rg_info("api: POST /api/v1/alerts refused: %s", rg_alerts_auth_message(auth));
	return rg_fail(err, RG_EUNAUTH, RG_ALERTS_SIGNATURE_HEADER, "%s",
		       rg_alerts_auth_message(auth));
}

/* A post that came with a token was admitted by its alerts role
 * (api/access.c); one that came signed instead is checked here. */
static rg_err check_signature(rg_api_ctx *ctx, const rg_request *req, rg_error *err)
{
	const rg_alerts_key *key = ctx->alerts_key;
	if (!rg_access_by_signature(req))
		return RG_OK;
	if (!key || !key->loaded)
		return rg_fail(err, RG_EUNAVAILABLE, NULL, "alerts secret unavailable: %s",
			       key && key->problem[0] ? key->problem : "not configured");
	const char *signature = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
							    RG_ALERTS_SIGNATURE_HEADER);
	rg_alerts_auth auth = rg_alerts_verify(key, signature, req->body, req->body_len);
	return auth == RG_ALERTS_AUTH_OK ? RG_OK : unauthorized(auth, err);
}

rg_err rg_api_alerts(rg_api_ctx *ctx, const rg_request *req, rg_reply *reply, rg_error *err)
{
	if (!ctx->cfg->alerts.enabled)
		return rg_fail(err, RG_ENOTFOUND, NULL, "alerts are not configured");
	rg_err rc = check_signature(ctx, req, err);
	if (rc)
		return rc;
	rg_alert_list list;
	rc = rg_alerts_read(ctx->cfg, req->body, req->body_len, &list, err);
	if (!rc)
		rc = answer(ctx, &list, reply, err);
	rg_alert_list_release(&list);
	return rc;
}
