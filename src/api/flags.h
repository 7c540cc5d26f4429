/* flags.h — feature flags over HTTP: the OpenFeature Remote Evaluation
 * Protocol for applications (POST /ofrep/v1/evaluate/flags[/{key}]) and
 * rollguard's own listing and setting (GET /api/v1/flags, POST
 * /api/v1/flags/{key}). Evaluation itself is flags/flags.h's.
 *
 * Which environment an evaluation is in: the context attribute "env" when
 * given, else the token's one environment (a token limited to a single
 * environment), else the service's only environment; otherwise the request
 * is INVALID_CONTEXT. OFREP answers use OFREP's shapes ({"key","errorCode",
 * "errorDetails"}), never rollguard's {"error":{…}}, except for 401 and 403,
 * which come before the handler. */
#ifndef RG_API_FLAGS_H
#define RG_API_FLAGS_H

#include "api/routes.h"

rg_err rg_api_ofrep_one(rg_api_ctx *ctx, const rg_request *req, const char *key,
			rg_reply *reply, rg_error *err);
/* With ETag; If-None-Match naming it → 304 with no body. */
rg_err rg_api_ofrep_bulk(rg_api_ctx *ctx, const rg_request *req, rg_reply *reply,
			 rg_error *err);
/* env NULL: every environment the token may see. */
rg_err rg_api_flags_list(rg_api_ctx *ctx, const rg_request *req, const char *env,
			 rg_reply *reply, rg_error *err);
/* {"env","state":"on"|"off"|"N%","reason"}: the override is stored before
 * the answer; the audit names the flag and the reason. */
rg_err rg_api_flag_set(rg_api_ctx *ctx, const rg_request *req, const char *key,
		       rg_reply *reply, rg_error *err);

/* "on", "off", "20%" (or "20") → enabled and rollout; RG_EINVAL otherwise. */
rg_err rg_flag_state_parse(const char *s, bool *enabled, int *rollout, rg_error *err);

#endif
