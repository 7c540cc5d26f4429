/* render.c — what each kind of channel is sent for a notice, rendered
 * once when the notice is enqueued and stored as the row's payload: Slack
 * incoming-webhook JSON, a PagerDuty Events API v2 event (its routing key
 * is added when sending, never stored), a CloudEvents 1.0 structured
 * event, an RFC 5322 e-mail, the command channel's JSON. Pure. */
#include "notify/notify.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/strbuf.h"
#include "util/timeutil.h"

static const char *pd_severity(const char *sev)
{
	if (sev && !strcmp(sev, "P0"))
		return "critical";
	if (sev && !strcmp(sev, "P1"))
		return "error";
	if (sev && !strcmp(sev, "P3"))
		return "info";
	return "warning";
}

/* CDEvents where one fits, else rollguard's own type. */
static void cloudevent_type(const char *event, char *out, size_t size)
{
	static const char *const map[][2] = {
		{ "deploy_succeeded", "dev.cdevents.service.deployed.0.1.1" },
		{ "rollback_succeeded", "dev.cdevents.service.rolledback.0.1.1" },
		{ "incident_opened", "dev.cdevents.incident.detected.0.1.0" },
		{ "incident_escalated", "dev.cdevents.incident.reported.0.1.0" },
		{ "incident_resolved", "dev.cdevents.incident.resolved.0.1.0" },
	};
	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if (!strcmp(map[i][0], event)) {
			snprintf(out, size, "%s", map[i][1]);
			return;
		}
	snprintf(out, size, "dev.rollguard.%s", event);
}

static json_t *details_copy(const rg_notice *n)
{
	return n->details ? json_deep_copy(n->details) : json_object();
}

static json_t *slack_json(const rg_notice *n)
{
	char *text = NULL;
	if (asprintf(&text, "%s%s%s", n->title, n->text ? "\n" : "", n->text ? n->text : "") < 0)
		return NULL;
	json_t *blocks = json_pack("[{s:s, s:{s:s, s:s, s:b}}]", "type", "header", "text", "type",
				   "plain_text", "text", n->title, "emoji", 1);
	if (blocks && n->text && *n->text)
		json_array_append_new(blocks, json_pack("{s:s, s:{s:s, s:s}}", "type", "section", "text",
							"type", "mrkdwn", "text", n->text));
	json_t *o = blocks ? json_pack("{s:s, s:o}", "text", text, "blocks", blocks) : NULL;
	free(text);
	return o;
}

static json_t *pagerduty_json(const rg_config *cfg, const rg_notice *n)
{
	char dedup[64];
	const char *action = !strcmp(n->event, "incident_acknowledged") ? "acknowledge"
			     : !strcmp(n->event, "incident_resolved")   ? "resolve"
									: "trigger";
	if (n->incident_id)
		snprintf(dedup, sizeof dedup, "rollguard-incident-%lld", (long long)n->incident_id);
	else
		snprintf(dedup, sizeof dedup, "rollguard-run-%lld", (long long)n->run_id);
	json_t *details = details_copy(n);
	if (details && n->text)
		json_object_set_new(details, "text", json_string(n->text));
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s?, s:o}}", "event_action", action,
			 "dedup_key", dedup, "payload", "summary", n->title, "source",
			 cfg->service, "severity", pd_severity(n->severity), "component", n->env,
			 "custom_details", details ? details : json_object());
}

/* The fields every structured body shares (the command's JSON, a CloudEvent's data). */
static json_t *event_json(const rg_notice *n, const char *key)
{
	return json_pack("{s:s, s:s?, s:I, s:I, s:s, s:s, s:s?, s:o, s:s}", "event", n->event, "env",
			 n->env, "run_id", (json_int_t)n->run_id, "incident_id",
			 (json_int_t)n->incident_id, "severity", n->severity ? n->severity : "P2",
			 "title", n->title, "text", n->text, "details", details_copy(n),
			 "idempotency_key", key);
}

static json_t *cloudevent_json(const rg_config *cfg, const rg_notice *n, const char *key,
			       int64_t now)
{
	char type[96], time[40], source[160], subject[64];
	cloudevent_type(n->event, type, sizeof type);
	rg_time_format_iso(now, time, sizeof time);
	snprintf(source, sizeof source, "/rollguard/%s%s%s", cfg->service, n->env ? "/" : "",
		 n->env ? n->env : "");
	if (n->incident_id)
		snprintf(subject, sizeof subject, "incident/%lld", (long long)n->incident_id);
	else
		snprintf(subject, sizeof subject, "run/%lld", (long long)n->run_id);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "specversion", "1.0", "id",
			 key, "source", source, "type", type, "time", time, "subject", subject,
			 "datacontenttype", "application/json", "data", event_json(n, key));
}

/* Plain text over SMTP; the subject is the title (UTF-8, RFC 2047 encoded
 * when it is not ASCII), lines end in CRLF. */
static rg_err email_text(const rg_channel *c, const rg_notice *n, const char *key, int64_t now,
			 char **out, rg_error *err)
{
	rg_strbuf b = RG_STRBUF_INIT;
	char date[64], *subject = NULL;
	time_t t = (time_t)(now / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	size_t tl = strlen(n->title);
	char *b64 = malloc(sodium_base64_ENCODED_LEN(tl, sodium_base64_VARIANT_ORIGINAL));
	if (!b64)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory for an e-mail");
	sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(tl, sodium_base64_VARIANT_ORIGINAL),
			  (const unsigned char *)n->title, tl, sodium_base64_VARIANT_ORIGINAL);
	int r = asprintf(&subject, "=?UTF-8?B?%s?=", b64);
	free(b64);
	if (r < 0)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory for an e-mail");
	rg_err rc = rg_strbuf_addf(&b, "From: %s\r\nTo: ", c->from);
	for (size_t i = 0; !rc && i < c->n_to; i++)
		rc = rg_strbuf_addf(&b, "%s%s", i ? ", " : "", c->to[i]);
	if (!rc)
		rc = rg_strbuf_addf(&b, "\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@rollguard>\r\n"
				    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
				    "Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\n",
				    subject, date, key, n->title);
	free(subject);
	/* body lines: bare LF becomes CRLF; a leading '.' is doubled by curl */
	for (const char *p = n->text; !rc && p && *p; p++)
		rc = *p == '\n' ? rg_strbuf_add(&b, "\r\n", 2) : rg_strbuf_add(&b, p, 1);
	if (!rc)
		rc = rg_strbuf_add(&b, "\r\n", 2);
	if (rc) {
		rg_strbuf_release(&b);
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory for an e-mail");
	}
	*out = rg_strbuf_detach(&b, NULL);
	return RG_OK;
}

rg_err rg_notify_render(const rg_config *cfg, const rg_channel *c, const rg_notice *n,
			const char *key, int64_t now, char **out, rg_error *err)
{
	*out = NULL;
	json_t *o = NULL;
	switch (c->kind) {
	case RG_CHANNEL_EMAIL: return email_text(c, n, key, now, out, err);
	case RG_CHANNEL_SLACK: o = slack_json(n); break;
	case RG_CHANNEL_PAGERDUTY: o = pagerduty_json(cfg, n); break;
	case RG_CHANNEL_WEBHOOK: o = cloudevent_json(cfg, n, key, now); break;
	case RG_CHANNEL_COMMAND: o = event_json(n, key); break;
	case RG_CHANNEL_KIND_COUNT: break;
	}
	*out = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(o);
	return *out ? RG_OK : rg_fail(err, RG_ENOMEM, NULL, "out of memory rendering a notice");
}

void rg_notify_sign(const char *secret, const char *timestamp, const char *body, size_t len,
		    char *out, size_t size)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)timestamp, strlen(timestamp));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	char hex[2 * sizeof mac + 1];
	sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
	snprintf(out, size, "sha256=%s", hex);
	sodium_memzero(&st, sizeof st);
}
