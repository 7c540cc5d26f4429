/* test_render.c — what each channel is sent: Slack's text and blocks,
 * PagerDuty's event (no routing key stored), the CloudEvent, the e-mail
 * headers; and the webhook signature against a known HMAC-SHA256. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "notify/notify.h"

static rg_config cfg;
static rg_channel ch;

static void setup(void)
{
	memset(&cfg, 0, sizeof cfg);
	memset(&ch, 0, sizeof ch);
	cfg.service = "shop";
}

TestSuite(notify_render, .init = setup);

static const rg_notice notice = {
	.event = "rollback_started", .env = "production", .run_id = 7, .severity = "P1",
	.title = "🚨 AUTOMATIC ROLLBACK IN PROGRESS",
	.text = "Environment: production\nFailed Version: v2",
};

static json_t *render(rg_channel_kind k)
{
	char *out = NULL;
	rg_error err = { 0 };
	ch.kind = k;
	cr_assert_eq(rg_notify_render(&cfg, &ch, &notice, "rollguard-abc", 1700000000000, &out, &err),
		     RG_OK);
	json_t *j = json_loads(out, 0, NULL);
	free(out);
	cr_assert_not_null(j);
	return j;
}

Test(notify_render, slack)
{
	json_t *j = render(RG_CHANNEL_SLACK);
	cr_assert(strstr(json_string_value(json_object_get(j, "text")), "Failed Version: v2"));
	cr_assert_eq(json_array_size(json_object_get(j, "blocks")), 2);
	json_decref(j);
}

Test(notify_render, pagerduty)
{
	json_t *j = render(RG_CHANNEL_PAGERDUTY);
	cr_assert_str_eq(json_string_value(json_object_get(j, "event_action")), "trigger");
	cr_assert_str_eq(json_string_value(json_object_get(j, "dedup_key")), "rollguard-run-7");
	json_t *p = json_object_get(j, "payload");
	cr_assert_str_eq(json_string_value(json_object_get(p, "severity")), "error");
	cr_assert_str_eq(json_string_value(json_object_get(p, "source")), "shop");
	cr_assert_null(json_object_get(j, "routing_key"), "the key is added when sending");
	json_decref(j);
}

Test(notify_render, pagerduty_incident_actions)
{
	rg_notice n = notice;
	n.event = "incident_resolved";
	n.incident_id = 3;
	char *out = NULL;
	ch.kind = RG_CHANNEL_PAGERDUTY;
	cr_assert_eq(rg_notify_render(&cfg, &ch, &n, "k", 0, &out, NULL), RG_OK);
	json_t *j = json_loads(out, 0, NULL);
	cr_assert_str_eq(json_string_value(json_object_get(j, "event_action")), "resolve");
	cr_assert_str_eq(json_string_value(json_object_get(j, "dedup_key")), "rollguard-incident-3");
	json_decref(j);
	free(out);
}

Test(notify_render, cloudevent)
{
	json_t *j = render(RG_CHANNEL_WEBHOOK);
	cr_assert_str_eq(json_string_value(json_object_get(j, "specversion")), "1.0");
	cr_assert_str_eq(json_string_value(json_object_get(j, "id")), "rollguard-abc");
	cr_assert_str_eq(json_string_value(json_object_get(j, "type")), "dev.rollguard.rollback_started");
	cr_assert_str_eq(json_string_value(json_object_get(j, "source")), "/rollguard/shop/production");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "data"), "run_id")), 7);
	json_decref(j);
}

Test(notify_render, email)
{
	char *to[] = { "cto@example.com" };
	ch.kind = RG_CHANNEL_EMAIL;
	ch.from = "rg@example.com";
	ch.to = to;
	ch.n_to = 1;
	char *out = NULL;
	cr_assert_eq(rg_notify_render(&cfg, &ch, &notice, "rollguard-abc", 1700000000000, &out, NULL),
		     RG_OK);
	cr_assert(strstr(out, "From: rg@example.com\r\nTo: cto@example.com\r\n"));
	cr_assert(strstr(out, "Message-ID: <rollguard-abc@rollguard>\r\n"));
	cr_assert(strstr(out, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
	cr_assert(strstr(out, "Subject: =?UTF-8?B?"));
	cr_assert(strstr(out, "\r\n\r\n"));
	cr_assert(strstr(out, "Environment: production\r\nFailed Version: v2"));
	free(out);
}

/* python3 -c 'import hmac,hashlib; print(hmac.new(b"s3cret", b"1700000000.{}", hashlib.sha256).hexdigest())' */
Test(notify_render, signature)
{
	char sig[80];
	rg_notify_sign("s3cret", "1700000000", "{}", 2, sig, sizeof sig);
	cr_assert_str_eq(sig, "sha256=97926816e98fbb41ccb1673225ff29a2f35369099990e1b1561651e7bd097ebf");
}
