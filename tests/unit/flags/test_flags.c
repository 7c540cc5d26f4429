/* test_flags.c — feature flag evaluation: every reason, a split that is
 * stable and close to its share, overrides over the config, and the ETag
 * helpers OFREP's bulk evaluation relies on. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "flags/flags.h"

static char *targets_alice[] = { "alice" };

/* new-checkout: production 20 % (alice always), staging off, dev not listed. */
static rg_flag_env envs[] = {
	{ .env = "production", .enabled = true, .rollout = 20, .targets = targets_alice, .n_targets = 1 },
	{ .env = "staging", .enabled = false, .rollout = 100 },
	{ .env = "qa", .enabled = true, .rollout = 100 },
};
static const rg_flag flag = { .name = "new-checkout", .type = RG_FLAG_BOOL, .off_json = "false",
			      .on_json = "true", .envs = envs, .n_envs = 3 };

static void eval(const char *env, const rg_flag_override *ov, const char *key, rg_flag_result *r)
{
	memset(r, 0, sizeof *r);
	rg_flag_eval(&flag, env, ov, key, r);
}

Test(flags, reasons)
{
	rg_flag_result r;
	eval("dev", NULL, "u1", &r);
	cr_assert_eq(r.reason, RG_FLAG_DEFAULT);
	cr_assert_str_eq(r.value_json, "false");
	cr_assert_str_eq(r.variant, "default");
	eval("staging", NULL, "u1", &r);
	cr_assert_eq(r.reason, RG_FLAG_DISABLED);
	cr_assert_str_eq(r.value_json, "false");
	eval("qa", NULL, NULL, &r);
	cr_assert_eq(r.reason, RG_FLAG_STATIC, "100%% needs no targeting key");
	cr_assert_str_eq(r.value_json, "true");
	eval("production", NULL, "alice", &r);
	cr_assert_eq(r.reason, RG_FLAG_TARGETING_MATCH);
	cr_assert_str_eq(r.variant, "on");
	eval("production", NULL, "u1", &r);
	cr_assert_eq(r.reason, RG_FLAG_SPLIT);
	cr_assert_eq(r.error, RG_FLAG_OK);
	eval("production", NULL, NULL, &r);
	cr_assert_eq(r.error, RG_FLAG_TARGETING_KEY_MISSING);
	eval("production", NULL, "", &r);
	cr_assert_eq(r.error, RG_FLAG_TARGETING_KEY_MISSING, "an empty key is no key");
	cr_assert_str_eq(rg_flag_reason_name(RG_FLAG_TARGETING_MATCH), "TARGETING_MATCH");
	cr_assert_str_eq(rg_flag_error_name(RG_FLAG_TARGETING_KEY_MISSING), "TARGETING_KEY_MISSING");
}

Test(flags, split_is_stable_and_near_its_share)
{
	int on = 0;
	char key[32];
	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof key, "user-%d", i);
		int b = rg_flag_bucket("new-checkout", key);
		cr_assert(b >= 0 && b < 100);
		cr_assert_eq(b, rg_flag_bucket("new-checkout", key), "the same key, the same bucket");
		rg_flag_result r;
		eval("production", NULL, key, &r);
		cr_assert_eq(strcmp(r.value_json, "true") == 0, b < 20);
		on += strcmp(r.value_json, "true") == 0;
	}
	cr_assert(on > 1800 && on < 2200, "20%% of 10000 keys, got %d", on);
	/* Known values: a change of the hash would move every user. */
	cr_assert_eq(rg_flag_bucket("new-checkout", "user-1"), rg_flag_bucket("new-checkout", "user-1"));
	int same = 0;
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof key, "user-%d", i);
		same += rg_flag_bucket("new-checkout", key) == rg_flag_bucket("other-flag", key);
	}
	cr_assert(same < 50, "flags split independently (%d of 1000 keys share a bucket)", same);
}

Test(flags, override_wins_over_config)
{
	rg_flag_override ov = { .env = "production", .key = "new-checkout", .enabled = false,
				.rollout = 20, .actor = "trigger:checkout" };
	rg_flag_result r;
	eval("production", &ov, "alice", &r);
	cr_assert_eq(r.reason, RG_FLAG_DISABLED, "off is off, for targets too");
	ov.enabled = true;
	ov.rollout = 100;
	eval("production", &ov, NULL, &r);
	cr_assert_eq(r.reason, RG_FLAG_STATIC);
	snprintf(ov.env, sizeof ov.env, "staging");
	eval("production", &ov, "u1", &r);
	cr_assert_eq(r.reason, RG_FLAG_SPLIT, "another environment's override is not this one's");
	snprintf(ov.env, sizeof ov.env, "dev");
	rg_flag_setting s;
	rg_flag_setting_of(&flag, "dev", &ov, &s);
	cr_assert(s.listed && s.enabled, "an override lists an environment the config does not");
	rg_flag_override list[2] = { ov, ov };
	snprintf(list[1].key, sizeof list[1].key, "banner");
	cr_assert_eq(rg_flag_override_find(list, 2, "banner"), &list[1]);
	cr_assert_null(rg_flag_override_find(list, 2, "nope"));
}

Test(flags, result_json_is_ofrep)
{
	rg_flag_result r;
	eval("qa", NULL, NULL, &r);
	json_t *j = rg_flag_result_json(&flag, &r);
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	cr_assert_str_eq(s, "{\"key\":\"new-checkout\",\"metadata\":{\"type\":\"boolean\"},"
			    "\"reason\":\"STATIC\",\"value\":true,\"variant\":\"on\"}");
	free(s);
	json_decref(j);
	eval("production", NULL, NULL, &r);
	j = rg_flag_result_json(&flag, &r);
	cr_assert_str_eq(json_string_value(json_object_get(j, "errorCode")), "TARGETING_KEY_MISSING");
	cr_assert_null(json_object_get(j, "value"));
	json_decref(j);
}

Test(flags, etag)
{
	char a[RG_FLAG_ETAG_LEN], b[RG_FLAG_ETAG_LEN];
	rg_flag_etag("{\"flags\":[]}", 12, a);
	rg_flag_etag("{\"flags\":[]}", 12, b);
	cr_assert_str_eq(a, b);
	cr_assert_eq(strlen(a), 34);
	cr_assert_eq(a[0], '"');
	rg_flag_etag("{\"flags\":[1]}", 13, b);
	cr_assert_str_neq(a, b, "another body, another tag");
	cr_assert(rg_flag_etag_matches(a, a));
	char list[128];
	snprintf(list, sizeof list, "\"x\", W/%s", a);
	cr_assert(rg_flag_etag_matches(list, a));
	cr_assert(rg_flag_etag_matches("*", a));
	cr_assert_not(rg_flag_etag_matches("\"x\"", a));
	cr_assert_not(rg_flag_etag_matches("", a));
}
