/* alerts.h — POST /api/v1/alerts: firing alerts from Prometheus
 * Alertmanager (its webhook payload, version 4) or rollguard's small form,
 * signed with the shared secret of `alerts:` (HMAC-SHA256 of the raw body).
 * Checking the signature, reading a payload and matching its alerts to this
 * service are pure functions; only rg_api_alerts talks to the engine. The
 * secret and the signature must never reach a log, a message or an answer. */
#ifndef RG_API_ALERTS_H
#define RG_API_ALERTS_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "util/err.h"
#include "util/names.h"

#define RG_ALERTS_SIGNATURE_HEADER "X-Rollguard-Signature"
#define RG_ALERT_NAME_MAX 128      /* characters of an alert's name kept */
#define RG_ALERT_SUMMARY_MAX 200   /* characters of its summary kept */

/* The secret as loaded when the API starts. */
typedef struct rg_alerts_key {
	bool loaded;
	char secret[RG_ALERTS_SECRET_MAX];
	size_t len;
	char problem[512];         /* why it is not loaded: names the source, not the secret */
} rg_alerts_key;

/* Loads a's secret into k (rg_alerts_secret_load); on failure k->loaded is
 * false and k->problem says why. Never fails otherwise. */
void rg_alerts_key_load(const rg_alerts_cfg *a, rg_alerts_key *k);
/* Overwrites the secret (call before k's memory is freed). */
void rg_alerts_key_wipe(rg_alerts_key *k);

typedef enum {
	RG_ALERTS_AUTH_OK = 0,
	RG_ALERTS_AUTH_MISSING,    /* no signature header */
	RG_ALERTS_AUTH_MALFORMED,  /* not "sha256=" and 64 hex digits */
	RG_ALERTS_AUTH_MISMATCH    /* well-formed, but not this body's under this secret */
} rg_alerts_auth;

/* header is the X-Rollguard-Signature value (may be NULL). The comparison
 * takes the same time wherever the first difference is. */
rg_alerts_auth rg_alerts_verify(const rg_alerts_key *k, const char *header, const char *body,
				size_t len);
/* What a 401 says for a: names the header, never its value. */
const char *rg_alerts_auth_message(rg_alerts_auth a);

/* One alert of a payload, matched against the config. Texts from the
 * payload are one line, control characters masked, cut to their limits. */
typedef struct rg_alert_item {
	char env[4 * RG_NAME_MAX + 1];           /* "" when the alert names none */
	char name[4 * RG_ALERT_NAME_MAX + 1];    /* alertname; "" when it has none */
	char summary[4 * RG_ALERT_SUMMARY_MAX + 1];
	rg_severity severity;
	bool ignored;
	char reason[256];                        /* ignored: why ("resolved", …) */
} rg_alert_item;

typedef struct rg_alert_list {
	rg_alert_item *items;      /* owned */
	size_t n;
	const char *source;        /* "alertmanager" or "api" (static) */
} rg_alert_list;

/* Reads body (Alertmanager's payload when it has an "alerts" field, else
 * rollguard's form) and matches each alert to cfg: a firing alert of
 * cfg->service for a known environment is to be fired, any other is
 * ignored with a reason. A malformed payload is RG_EINVAL with err->field
 * naming the field ("alerts[2].labels"). Pure. */
rg_err rg_alerts_read(const rg_config *cfg, const char *body, size_t len, rg_alert_list *out,
		      rg_error *err);
void rg_alert_list_release(rg_alert_list *l);

/* The handler of POST /api/v1/alerts (routes.c): 404 when alerts are not
 * configured, 503 when the secret could not be loaded, 401 for a missing or
 * wrong signature, 400 for a bad payload, else 202
 * {"accepted":[{"env","alert","severity","run"}],"ignored":[{"env","alert","reason"}]}. */
struct rg_api_ctx;
struct rg_request;
struct rg_reply;
rg_err rg_api_alerts(struct rg_api_ctx *ctx, const struct rg_request *req, struct rg_reply *reply,
		     rg_error *err);

#endif
