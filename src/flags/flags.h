/* flags.h — how a feature flag evaluates, for OFREP (api/ofrep.c) and for
 * `rollguard flags`. Pure: config, an optional stored override and the
 * caller's targeting key in; value, variant and reason out. No I/O, no
 * allocation except the JSON a caller asks for (owned by the caller). */
#ifndef RG_FLAGS_H
#define RG_FLAGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "store/store.h"

/* OpenFeature's resolution reasons (the spec's words, upper case on the wire). */
typedef enum rg_flag_reason {
	RG_FLAG_STATIC = 0,      /* enabled for everyone: no context needed */
	RG_FLAG_TARGETING_MATCH, /* the targeting key is one of the environment's targets */
	RG_FLAG_SPLIT,           /* a rollout below 100 %: the key's bucket decided */
	RG_FLAG_DISABLED,        /* turned off (config, a person or a trigger) */
	RG_FLAG_DEFAULT,         /* the environment is not listed: the default */
	RG_FLAG_REASON_COUNT
} rg_flag_reason;

typedef enum rg_flag_error {
	RG_FLAG_OK = 0,
	RG_FLAG_TARGETING_KEY_MISSING,  /* a split needs a targetingKey */
} rg_flag_error;

/* How a flag stands in one environment: config, then the override. */
typedef struct rg_flag_setting {
	bool listed;                 /* the environment is in the flag's envs, or overridden */
	bool enabled;
	int rollout;                 /* 0..100 */
	const rg_flag_override *override;  /* borrowed; NULL = as written */
} rg_flag_setting;

typedef struct rg_flag_result {
	rg_flag_error error;
	rg_flag_reason reason;
	const char *value_json;      /* borrowed from the flag: its on or off value */
	const char *variant;         /* "on", "off" or "default" (static strings) */
} rg_flag_result;

const char *rg_flag_reason_name(rg_flag_reason r);   /* "STATIC" … */
const char *rg_flag_error_name(rg_flag_error e);     /* "TARGETING_KEY_MISSING" */
const char *rg_flag_type_name(rg_flag_type t);       /* "boolean", "string", "number" */

/* f's setting in env with ov (NULL: none stored, or ov->key is another flag's). */
void rg_flag_setting_of(const rg_flag *f, const char *env, const rg_flag_override *ov,
			rg_flag_setting *out);
/* The override among ov[0..n) for key, or NULL. */
const rg_flag_override *rg_flag_override_find(const rg_flag_override *ov, size_t n,
					      const char *key);

/* Which of 100 buckets a targeting key falls in for flag key: the first 8
 * bytes of BLAKE2b(key ‖ 0 ‖ targeting_key), mod 100. Stable across
 * restarts, releases and machines; independent between flags, so the same
 * 20 % of users do not get every new feature first. */
int rg_flag_bucket(const char *key, const char *targeting_key);

/* Evaluates f in env for targeting_key (NULL: none given). */
void rg_flag_eval(const rg_flag *f, const char *env, const rg_flag_override *ov,
		  const char *targeting_key, rg_flag_result *out);

/* OFREP's success object {"key","value","reason","variant","metadata"} or,
 * for an error, {"key","errorCode","errorDetails"}; NULL when out of memory. */
json_t *rg_flag_result_json(const rg_flag *f, const rg_flag_result *r);

/* A strong ETag for a response body: "\"<32 hex digits>\"" (BLAKE2b-128),
 * into out (at least RG_FLAG_ETAG_LEN bytes). */
#define RG_FLAG_ETAG_LEN 40
void rg_flag_etag(const char *body, size_t len, char *out);
/* Whether an If-None-Match header value names etag ("*" or one of a list). */
bool rg_flag_etag_matches(const char *if_none_match, const char *etag);

/* What `rollguard flags` shows of f in env: {"key","env","type","default",
 * "value","enabled","rollout","targets","source":"config"|"override"
 * ,"actor"?,"reason"?,"at"? (ISO-8601),"at_ms"?,"run"?}; NULL when out of memory. */
json_t *rg_flag_state_json(const rg_flag *f, const char *env, const rg_flag_override *ov);

#endif
