/* flags.c — feature flag evaluation (see flags.h). It must stay pure: the
 * same flag, override and targeting key give the same answer on every
 * controller, so an application's user never flips between variants. */
#include "flags/flags.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "util/timeutil.h"

static const char *const reason_names[RG_FLAG_REASON_COUNT] = {
	[RG_FLAG_STATIC] = "STATIC",     [RG_FLAG_TARGETING_MATCH] = "TARGETING_MATCH",
	[RG_FLAG_SPLIT] = "SPLIT",       [RG_FLAG_DISABLED] = "DISABLED",
	[RG_FLAG_DEFAULT] = "DEFAULT",
};

const char *rg_flag_reason_name(rg_flag_reason r)
{
	return r < RG_FLAG_REASON_COUNT ? reason_names[r] : "UNKNOWN";
}

const char *rg_flag_error_name(rg_flag_error e)
{
	return e == RG_FLAG_TARGETING_KEY_MISSING ? "TARGETING_KEY_MISSING" : "GENERAL";
}

const char *rg_flag_type_name(rg_flag_type t)
{
	return t == RG_FLAG_BOOL ? "boolean" : t == RG_FLAG_NUMBER ? "number" : "string";
}

const rg_flag_override *rg_flag_override_find(const rg_flag_override *ov, size_t n,
					      const char *key)
{
	for (size_t i = 0; ov && key && i < n; i++)
		if (strcmp(ov[i].key, key) == 0)
			return &ov[i];
	return NULL;
}

void rg_flag_setting_of(const rg_flag *f, const char *env, const rg_flag_override *ov,
			rg_flag_setting *out)
{
	const rg_flag_env *fe = rg_flag_env_of(f, env);
	memset(out, 0, sizeof *out);
	out->rollout = 100;
	if (fe) {
		out->listed = true;
		out->enabled = fe->enabled;
		out->rollout = fe->rollout;
	}
	if (ov && strcmp(ov->key, f->name) == 0 && strcmp(ov->env, env) == 0) {
		out->listed = true;
		out->enabled = ov->enabled;
		out->rollout = ov->rollout;
		out->override = ov;
	}
}

int rg_flag_bucket(const char *key, const char *targeting_key)
{
	unsigned char h[crypto_generichash_BYTES_MIN];   /* 16 bytes: 8 are used */
	crypto_generichash_state st;
	const unsigned char zero = 0;
	crypto_generichash_init(&st, NULL, 0, sizeof h);
	crypto_generichash_update(&st, (const unsigned char *)key, strlen(key));
	crypto_generichash_update(&st, &zero, 1);
	crypto_generichash_update(&st, (const unsigned char *)targeting_key, strlen(targeting_key));
	crypto_generichash_final(&st, h, sizeof h);
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | h[i];
	return (int)(v % 100);
}

static bool targeted(const rg_flag_env *fe, const char *targeting_key)
{
	for (size_t i = 0; fe && targeting_key && i < fe->n_targets; i++)
		if (fe->targets[i] && strcmp(fe->targets[i], targeting_key) == 0)
			return true;
	return false;
}

static void answer(rg_flag_result *out, rg_flag_reason reason, bool on, const rg_flag *f,
		   const char *variant)
{
	out->error = RG_FLAG_OK;
	out->reason = reason;
	out->value_json = on ? f->on_json : f->off_json;
	out->variant = variant ? variant : on ? "on" : "off";
}

/* In order: not listed → DEFAULT; off → DISABLED; a target → TARGETING_MATCH;
 * 100 % (or 0 %) → STATIC; otherwise the key's bucket → SPLIT. */
void rg_flag_eval(const rg_flag *f, const char *env, const rg_flag_override *ov,
		  const char *targeting_key, rg_flag_result *out)
{
	rg_flag_setting s;
	rg_flag_setting_of(f, env, ov, &s);
	if (targeting_key && !*targeting_key)
		targeting_key = NULL;
	if (!s.listed)
		return answer(out, RG_FLAG_DEFAULT, false, f, "default");
	if (!s.enabled)
		return answer(out, RG_FLAG_DISABLED, false, f, NULL);
	if (targeted(rg_flag_env_of(f, env), targeting_key))
		return answer(out, RG_FLAG_TARGETING_MATCH, true, f, NULL);
	if (s.rollout >= 100 || s.rollout <= 0)
		return answer(out, RG_FLAG_STATIC, s.rollout >= 100, f, NULL);
	if (!targeting_key) {
		answer(out, RG_FLAG_SPLIT, false, f, NULL);
		out->error = RG_FLAG_TARGETING_KEY_MISSING;
		return;
	}
	answer(out, RG_FLAG_SPLIT, rg_flag_bucket(f->name, targeting_key) < s.rollout, f, NULL);
}

json_t *rg_flag_result_json(const rg_flag *f, const rg_flag_result *r)
{
	if (r->error)
		return json_pack("{s:s, s:s, s:s}", "key", f->name, "errorCode",
				 rg_flag_error_name(r->error), "errorDetails",
				 "flag has a percentage rollout here: the context needs a targetingKey");
	json_t *value = json_loads(r->value_json, JSON_DECODE_ANY, NULL);
	if (!value)
		return NULL;
	return json_pack("{s:s, s:o, s:s, s:s, s:{s:s}}", "key", f->name, "value", value, "reason",
			 rg_flag_reason_name(r->reason), "variant", r->variant, "metadata", "type",
			 rg_flag_type_name(f->type));
}

void rg_flag_etag(const char *body, size_t len, char *out)
{
	unsigned char h[16];
	char hex[33];
	crypto_generichash(h, sizeof h, (const unsigned char *)body, len, NULL, 0);
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	snprintf(out, RG_FLAG_ETAG_LEN, "\"%s\"", hex);
}

/* If-None-Match is "*", or a comma-separated list of tags, each maybe W/. */
bool rg_flag_etag_matches(const char *inm, const char *etag)
{
	size_t n = strlen(etag);
	for (const char *p = inm; p && *p;) {
		p += strspn(p, " \t,");
		if (!strncmp(p, "W/", 2))
			p += 2;
		size_t len = strcspn(p, ",");
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if ((len == 1 && *p == '*') || (len == n && strncmp(p, etag, n) == 0))
			return true;
		p += strcspn(p, ",");
	}
	return false;
}

json_t *rg_flag_state_json(const rg_flag *f, const char *env, const rg_flag_override *ov)
{
	rg_flag_setting s;
	rg_flag_setting_of(f, env, ov, &s);
	const rg_flag_env *fe = rg_flag_env_of(f, env);
	json_t *targets = json_array();
	for (size_t i = 0; targets && fe && i < fe->n_targets; i++)
		if (json_array_append_new(targets, json_string(fe->targets[i])) != 0) {
			json_decref(targets);
			return NULL;
		}
	json_t *def = json_loads(f->off_json, JSON_DECODE_ANY, NULL);
	json_t *val = json_loads(f->on_json, JSON_DECODE_ANY, NULL);
	json_t *o = targets && def && val
			    ? json_pack("{s:s, s:s, s:s, s:O, s:O, s:b, s:b, s:i, s:O, s:s}", "key", f->name,
					"env", env, "type", rg_flag_type_name(f->type), "default", def,
					"value", val, "listed", s.listed, "enabled", s.listed && s.enabled,
					"rollout", s.rollout, "targets", targets, "source",
					s.override ? "override" : "config")
			    : NULL;
	json_decref(targets);
	json_decref(def);
	json_decref(val);
	char at[40];
	if (s.override)
		rg_time_format_iso(s.override->at, at, sizeof at);
	/* times as the rest of the API gives them: ISO-8601 "at", raw "at_ms" */
	if (o && s.override &&
	    json_object_update_new(o, json_pack("{s:s, s:s, s:s, s:I, s:I}", "actor", s.override->actor,
						"reason", s.override->reason, "at", at, "at_ms",
						(json_int_t)s.override->at, "run",
						(json_int_t)s.override->run_id)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}
