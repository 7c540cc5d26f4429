/* routes.c — the routing table of the JSON API and its handlers.
 * Every name from a request is checked (rg_name_valid, the config) before it
 * reaches the engine, the store or a log; a handler must never pass on input
 * it has not validated, and never answers anything but JSON or plain text. */
#include "api/routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/access.h"
#include "api/alerts.h"
#include "api/configdiff.h"
#include "api/flags.h"
#include "api/incidents.h"
#include "auth/audit.h"
#include "api/counters.h"
#include "api/metrics.h"
#include "api/request.h"
#include "api/session.h"
#include "api/traffic.h"
#include "api/ui.h"
#include "util/jsontext.h"
#include "util/log.h"

#define RUNS_DEFAULT_LIMIT 20
#define RUNS_MAX_LIMIT 1000
#define REASON_MAX_CHARS 500

typedef rg_err (*route_fn)(rg_api_ctx *ctx, const rg_request *req, const rg_route_match *m,
			   rg_reply *reply, rg_error *err);
typedef rg_err (*control_fn)(rg_engine *e, int64_t run_id, const char *actor, rg_error *err);

static rg_err h_health(rg_api_ctx *, const rg_request *, const rg_route_match *, rg_reply *,
		       rg_error *);
static rg_err h_session(rg_api_ctx *, const rg_request *, const rg_route_match *, rg_reply *,
			rg_error *);
static rg_err h_metrics(rg_api_ctx *, const rg_request *, const rg_route_match *, rg_reply *,
			rg_error *);
static rg_err h_deploy(rg_api_ctx *, const rg_request *, const rg_route_match *, rg_reply *,
		       rg_error *);
static rg_err h_rollback(rg_api_ctx *, const rg_request *, const rg_route_match *, rg_reply *,
			 rg_error *);
static rg_err h_status(rg_api_ctx *, const rg_request *, const rg_route_match *, rg_reply *,
		       rg_error *);
static rg_err h_runs(rg_api_ctx *, const rg_request *, const rg_route_match *, rg_reply *,
		     rg_error *);
static rg_err h_run(rg_api_ctx *, const rg_request *, const rg_route_match *, rg_reply *,
		    rg_error *);
static rg_err h_backups(rg_api_ctx *, const rg_request *, const rg_route_match *, rg_reply *,
			rg_error *);
static rg_err h_notifications(rg_api_ctx *, const rg_request *, const rg_route_match *,
			      rg_reply *, rg_error *);
static rg_err h_config_restore(rg_api_ctx *, const rg_request *, const rg_route_match *, rg_reply *,
			       rg_error *);
static rg_err h_config_diff(rg_api_ctx *, const rg_request *, const rg_route_match *, rg_reply *,
			    rg_error *);
static rg_err h_events(rg_api_ctx *, const rg_request *, const rg_route_match *, rg_reply *,
		       rg_error *);
static rg_err h_figures(rg_api_ctx *, const rg_request *, const rg_route_match *, rg_reply *,
			rg_error *);
static rg_err h_step_log(rg_api_ctx *, const rg_request *, const rg_route_match *, rg_reply *,
			 rg_error *);
static rg_err h_traffic(rg_api_ctx *, const rg_request *, const rg_route_match *, rg_reply *,
			rg_error *);
static rg_err h_answer(rg_api_ctx *, const rg_request *, const rg_route_match *, rg_reply *,
			rg_error *);
static rg_err h_control(rg_api_ctx *, const rg_request *, const rg_route_match *, rg_reply *,
			rg_error *);
static rg_err h_audit(rg_api_ctx *, const rg_request *, const rg_route_match *, rg_reply *,
		      rg_error *);
static rg_err h_alerts(rg_api_ctx *, const rg_request *, const rg_route_match *, rg_reply *,
		       rg_error *);
static rg_err h_flags(rg_api_ctx *, const rg_request *, const rg_route_match *, rg_reply *,
		      rg_error *);
static rg_err h_incidents(rg_api_ctx *, const rg_request *, const rg_route_match *, rg_reply *,
			  rg_error *);

/* The whole API in one table. In patterns, {id} is one path segment holding
 * a positive run id and {name} one non-empty segment. query lists the
 * accepted query arguments; any other is refused. */
static const struct route {
	const char *name;
	const char *method;
	const char *pattern;
	const char *query;
	rg_permission perm;     /* what the token must allow (api/access.h) */
	route_fn fn;
	control_fn control;
} routes[] = {
#define PUBLIC RG_ACCESS_PUBLIC
	{ "health",      "GET",  "/health",                            "",          PUBLIC,           h_health,   NULL },
	{ "session_open", "POST", "/api/v1/session",                   "",          PUBLIC,           h_session,  NULL },
	{ "session",     "GET",  "/api/v1/session",                    "",          RG_PERM_READ,     h_session,  NULL },
	{ "session_end", "POST", "/api/v1/session/end",                "",          RG_PERM_READ,     h_session,  NULL },
	{ "metrics",     "GET",  "/metrics",                           "",          RG_PERM_READ,     h_metrics,  NULL },
	{ "deploys",     "POST", "/api/v1/deploys",                    "",          RG_PERM_DEPLOY,   h_deploy,   NULL },
	{ "rollbacks",   "POST", "/api/v1/rollbacks",                  "",          RG_PERM_ROLLBACK, h_rollback, NULL },
	{ "status",      "GET",  "/api/v1/status",                     "env",       RG_PERM_READ,     h_status,   NULL },
	{ "runs",        "GET",  "/api/v1/runs",                       "env limit before", RG_PERM_READ,     h_runs,     NULL },
	{ "run",         "GET",  "/api/v1/runs/{id}",                  "",          RG_PERM_READ,     h_run,      NULL },
	{ "run_events",  "GET",  "/api/v1/runs/{id}/events",           "after",     RG_PERM_READ,     h_events,   NULL },
	{ "run_figures", "GET",  "/api/v1/runs/{id}/figures",          "after",     RG_PERM_READ,     h_figures,  NULL },
	{ "step_log",    "GET",  "/api/v1/runs/{id}/steps/{name}/log", "",          RG_PERM_READ,     h_step_log, NULL },
	{ "traffic",     "GET",  "/api/v1/traffic",                    "env",       RG_PERM_READ,     h_traffic,  NULL },
	{ "backups",     "GET",  "/api/v1/backups",                    "env limit before", RG_PERM_READ,     h_backups,  NULL },
	{ "notifications", "GET", "/api/v1/notifications",            "env limit before failed", RG_PERM_READ, h_notifications, NULL },
	{ "config_diff", "GET",  "/api/v1/config/diff",                "env from to", RG_PERM_READ,   h_config_diff, NULL },
	{ "config_restore", "POST", "/api/v1/config/restore",          "",          RG_PERM_ROLLBACK, h_config_restore, NULL },
	{ "audit",       "GET",  "/api/v1/audit",                      "env limit", RG_PERM_TOKENS,   h_audit,    NULL },
	{ "run_abort",   "POST", "/api/v1/runs/{id}/abort",            "",          RG_PERM_CONTROL,  h_control,  rg_engine_abort },
	{ "run_promote", "POST", "/api/v1/runs/{id}/promote",          "",          RG_PERM_CONTROL,  h_control,  rg_engine_promote },
	{ "run_pause",   "POST", "/api/v1/runs/{id}/pause",            "",          RG_PERM_CONTROL,  h_control,  rg_engine_pause },
	{ "run_resume",  "POST", "/api/v1/runs/{id}/resume",           "",          RG_PERM_CONTROL,  h_control,  rg_engine_resume },
	{ "run_approve", "POST", "/api/v1/runs/{id}/approve",          "",          RG_PERM_APPROVE,  h_answer,   NULL },
	{ "run_reject",  "POST", "/api/v1/runs/{id}/reject",           "",          RG_PERM_APPROVE,  h_answer,   NULL },
	{ "alerts",      "POST", "/api/v1/alerts",                     "",          RG_PERM_ALERT,    h_alerts,   NULL },
	{ "incidents",   "GET",  "/api/v1/incidents",                  "env open limit before", RG_PERM_READ, h_incidents, NULL },
	{ "incident",    "GET",  "/api/v1/incidents/{id}",             "",          RG_PERM_READ,     h_incidents, NULL },
	{ "incident_postmortem", "GET", "/api/v1/incidents/{id}/postmortem", "",    RG_PERM_READ,     h_incidents, NULL },
	{ "incident_ack", "POST", "/api/v1/incidents/{id}/ack",        "",          RG_PERM_INCIDENT, h_incidents, NULL },
	{ "incident_note", "POST", "/api/v1/incidents/{id}/note",      "",          RG_PERM_INCIDENT, h_incidents, NULL },
	{ "incident_resolve", "POST", "/api/v1/incidents/{id}/resolve", "",         RG_PERM_INCIDENT, h_incidents, NULL },
	{ "incident_checklist", "POST", "/api/v1/incidents/{id}/checklist", "",     RG_PERM_INCIDENT, h_incidents, NULL },
	{ "flags",       "GET",  "/api/v1/flags",                      "env",       RG_PERM_FLAGS,    h_flags,    NULL },
	{ "flag_set",    "POST", "/api/v1/flags/{name}",               "",          RG_PERM_FLAG_SET, h_flags,    NULL },
	{ "ofrep_one",   "POST", "/ofrep/v1/evaluate/flags/{name}",    "",          RG_PERM_FLAGS,    h_flags,    NULL },
	{ "ofrep_bulk",  "POST", "/ofrep/v1/evaluate/flags",           "",          RG_PERM_FLAGS,    h_flags,    NULL },
#undef PUBLIC
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

/* ---- matching (pure) --------------------------------------------------------- */

/* Segment text of path starting at p (after a '/'), copied into buf. */
static size_t segment(const char *p, char *buf, size_t size)
{
	size_t n = strcspn(p, "/");
	snprintf(buf, size, "%.*s", (int)n, p);
	return n;
}

/* Matches path against pattern segment by segment. With lax, {id} takes
 * any segment, so a path like /api/v1/runs/abc can be told apart from an
 * unknown path. Captures go to m; the raw {id} text to id_text. */
static bool path_match(const char *pattern, const char *path, bool lax, rg_route_match *m,
		       char *id_text, size_t id_size)
{
	while (*pattern == '/' && *path == '/') {
		pattern++;
		path++;
		size_t plen = strcspn(pattern, "/");
		char seg[256];
		size_t slen = segment(path, seg, sizeof seg);
		if (plen == 4 && strncmp(pattern, "{id}", 4) == 0) {
			rg_error ignored;
			if (slen == 0 || slen >= sizeof seg)
				return false;
			size_t keep = slen < id_size ? slen : id_size - 1;   /* for the message */
			memcpy(id_text, seg, keep);
			id_text[keep] = '\0';
			if (!lax && rg_parse_int(seg, 1, INT64_MAX, "id", &m->run_id, &ignored))
				return false;
		} else if (plen == 6 && strncmp(pattern, "{name}", 6) == 0) {
			if (slen == 0 || slen >= sizeof m->step)
				return false;
			memcpy(m->step, seg, slen + 1);
		} else if (plen != slen || strncmp(pattern, path, plen) != 0) {
			return false;
		}
		pattern += plen;
		path += slen;
	}
	return *pattern == '\0' && *path == '\0';
}

static void allow_add(char *allow, size_t size, const char *method)
{
	if (strstr(allow, method))
		return;
	size_t n = strlen(allow);
	snprintf(allow + n, size - n, "%s%s", n ? ", " : "", method);
}

rg_route_result rg_route_find(const char *method, const char *path, rg_route_match *m,
			      rg_error *err)
{
	char id_text[64] = "";
	memset(m, 0, sizeof *m);
	for (size_t i = 0; i < N_ROUTES; i++) {
		rg_route_match cand = { 0 };
		if (!path_match(routes[i].pattern, path, false, &cand, id_text, sizeof id_text))
			continue;
		if (strcmp(routes[i].method, method) == 0) {
			*m = cand;
			m->index = (int)i;
			m->name = routes[i].name;
			return RG_ROUTE_FOUND;
		}
		allow_add(m->allow, sizeof m->allow, routes[i].method);
	}
	if (m->allow[0]) {
		rg_fail(err, RG_EINVAL, NULL, "method %.16s is not allowed here (allowed: %s)",
			method, m->allow);
		return RG_ROUTE_BAD_METHOD;
	}
	for (size_t i = 0; i < N_ROUTES; i++) {
		rg_route_match cand = { 0 };
		if (path_match(routes[i].pattern, path, true, &cand, id_text, sizeof id_text)) {
			rg_fail(err, RG_ENOTFOUND, NULL, "no run '%s'", id_text);
			return RG_ROUTE_NOT_FOUND;
		}
	}
	rg_fail(err, RG_ENOTFOUND, NULL, "no such endpoint '%.128s'", path);
	return RG_ROUTE_NOT_FOUND;
}

/* ---- replies ----------------------------------------------------------------- */

void rg_reply_release(rg_reply *r)
{
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
	if (r->stream)
		MHD_destroy_response(r->stream);
	r->stream = NULL;
}

json_t *rg_api_error_json(const char *code, const char *message, const char *field)
{
	json_t *inner = json_pack("{s:s, s:s}", "code", code, "message", message);
	if (inner && field && *field &&
	    json_object_set_new(inner, "field", json_string(field)) != 0) {
		json_decref(inner);
		return NULL;
	}
	return inner ? json_pack("{s:o}", "error", inner) : NULL;
}

rg_err rg_reply_json(rg_reply *reply, unsigned status, json_t *v, rg_error *err)
{
	size_t n = 0;
	char *body = rg_json_frame(v, "", "\n", &n);
	json_decref(v);
	if (!body)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory for the response");
	free(reply->body);
	reply->body = body;
	reply->body_len = n;
	reply->status = status;
	reply->content_type = RG_JSON_CONTENT_TYPE;
	return RG_OK;
}

rg_err rg_reply_error(rg_reply *reply, unsigned status, const char *code, const rg_error *e)
{
	rg_reply_release(reply);
	reply->status = 500;
	reply->content_type = RG_JSON_CONTENT_TYPE;
	json_t *v = rg_api_error_json(code, e->message, e->field);
	return rg_reply_json(reply, status, v, NULL);
}

/* ---- request helpers --------------------------------------------------------- */

static const char *query_get(const rg_request *req, const char *key)
{
	const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
	return v && *v ? v : NULL;   /* "?env=" means no env */
}

static const char *header_get(const rg_request *req, const char *key)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, key);
}

typedef struct query_check {
	const char *allowed;
	char unknown[64];
	bool bad;
} query_check;

static bool word_in(const char *list, const char *w)
{
	size_t n = strlen(w);
	for (const char *p = list; *p; p += strcspn(p, " "), p += strspn(p, " "))
		if (strncmp(p, w, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

static enum MHD_Result query_visit(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	query_check *q = cls;
	if (*key && word_in(q->allowed, key))
		return MHD_YES;
	snprintf(q->unknown, sizeof q->unknown, "%s", key);
	q->bad = true;
	return MHD_NO;
}

/* Unknown query arguments are refused like unknown JSON fields. */
static rg_err check_query(const rg_request *req, const char *allowed, rg_error *err)
{
	query_check q = { .allowed = allowed };
	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_visit, &q);
	if (q.bad)
		return rg_fail(err, RG_EINVAL, q.unknown, "unknown query argument '%s'", q.unknown);
	return RG_OK;
}

static rg_err check_name(const char *v, const char *field, const char *what, rg_error *err)
{
	if (!rg_name_valid(v))
		return rg_fail(err, RG_EINVAL, field,
			       "invalid %s '%.64s': use letters, digits and . _ + - (at most 64, "
			       "starting with a letter or digit)", what, v);
	return RG_OK;
}

/* An environment named in a request body: a bad or unknown name is invalid
 * input (400), as the engine would say. */
static rg_err check_body_env(const rg_api_ctx *ctx, const char *env, rg_error *err)
{
	rg_err rc = check_name(env, "env", "environment name", err);
	if (rc)
		return rc;
	if (!rg_config_env(ctx->cfg, env))
		return rg_fail(err, RG_EINVAL, "env", "unknown environment '%s'", env);
	return RG_OK;
}

/* An environment named in a URL: an unknown one is a missing resource (404). */
static rg_err check_query_env(const rg_api_ctx *ctx, const char *env, rg_error *err)
{
	rg_err rc = check_name(env, "env", "environment name", err);
	if (rc)
		return rc;
	if (!rg_config_env(ctx->cfg, env))
		return rg_fail(err, RG_ENOTFOUND, "env", "unknown environment '%s'", env);
	return RG_OK;
}

/* The store's and engine's "not found" for a run id, worded as the router's. */
static rg_err run_not_found(rg_err rc, int64_t id, rg_error *err)
{
	if (rc == RG_ENOTFOUND)
		rg_fail(err, RG_ENOTFOUND, NULL, "no run '%lld'", (long long)id);
	return rc;
}

/* Run id exists and the request's token may do perm in its environment;
 * the audit names the run. */
static rg_err run_access(rg_api_ctx *ctx, const rg_request *req, rg_permission perm, int64_t id,
			 rg_reply *reply, rg_error *err)
{
	rg_run run;
	memset(&run, 0, sizeof run);
	rg_err rc = run_not_found(rg_store_run_get(ctx->store, id, &run, err), id, err);
	if (!rc) {
		snprintf(reply->audit_env, sizeof reply->audit_env, "%s", run.env);
		snprintf(reply->audit_target, sizeof reply->audit_target, "run %lld", (long long)id);
		rc = rg_access_env(req, perm, run.env, err);
	}
	rg_run_release(&run);
	return rc;
}

/* An environment a request acts on: named in the audit, allowed for perm. */
static rg_err env_access(const rg_request *req, rg_permission perm, const char *env,
			 rg_reply *reply, rg_error *err)
{
	snprintf(reply->audit_env, sizeof reply->audit_env, "%s", env);
	return rg_access_env(req, perm, env, err);
}

/* The run's JSON plus "approval" (engine/gates.c; null for a run with no
 * gate): who approved and who is still needed is config and rows together. */
static rg_err run_json(rg_api_ctx *ctx, int64_t id, json_t **out, rg_error *err)
{
	rg_run r;
	json_t *gate = NULL;
	rg_err rc = rg_store_run_json(ctx->store, id, out, err);
	if (rc)
		return run_not_found(rc, id, err);
	if ((rc = rg_store_run_get(ctx->store, id, &r, err)) == RG_OK)
		rc = rg_gate_json(ctx->cfg, ctx->store, &r, &gate, err);
	rg_run_release(&r);
	if (!rc && json_object_set_new(*out, "approval", gate ? gate : json_null()) != 0)
		rc = rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	if (rc) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

/* {"run": <run json>} (plus "plan" if given, stolen) with status. */
static rg_err reply_run(rg_api_ctx *ctx, rg_reply *reply, unsigned status, int64_t id,
			json_t *plan, rg_error *err)
{
	json_t *run = NULL;
	rg_err rc = run_json(ctx, id, &run, err);
	if (rc) {
		json_decref(plan);
		return rc;
	}
	json_t *v = plan ? json_pack("{s:o, s:o}", "run", run, "plan", plan)
			 : json_pack("{s:o}", "run", run);
	if (status == 201)
		snprintf(reply->location, sizeof reply->location, "/api/v1/runs/%lld",
			 (long long)id);
	return rg_reply_json(reply, status, v, err);
}

/* ---- handlers: service ------------------------------------------------------- */

static rg_err h_health(rg_api_ctx *ctx, const rg_request *req, const rg_route_match *m,
		       rg_reply *reply, rg_error *err)
{
	const char *service = ctx->cfg->service ? ctx->cfg->service : "";
	char why[700];
	if (ctx->engine && rg_engine_store_trouble(ctx->engine, why, sizeof why))
		return rg_reply_json(reply, 503, json_pack("{s:s, s:s, s:s}", "status", "store_failing",
							   "service", service, "reason", why), err);
	return rg_reply_json(reply, 200, json_pack("{s:s, s:s}", "status", "ok", "service", service),
			  err);
}

static rg_err h_session(rg_api_ctx *ctx, const rg_request *req, const rg_route_match *m,
			rg_reply *reply, rg_error *err)
{
	if (!strcmp(m->name, "session_open"))
		return rg_api_session_open(ctx, req, reply, err);
	if (!strcmp(m->name, "session_end"))
		return rg_api_session_end(ctx, req, reply, err);
	return rg_api_session_show(ctx, req, reply, err);
}

static rg_err h_metrics(rg_api_ctx *ctx, const rg_request *req, const rg_route_match *m,
			rg_reply *reply, rg_error *err)
{
	/* From memory: a scrape never reads the store (api/counters.h). */
	json_t *figures = NULL;
	const rg_step_histogram *steps = NULL;
	if (!ctx->counters)
		return rg_fail(err, RG_EUNAVAILABLE, NULL, "metrics are not kept by this server");
	rg_err rc = rg_counters_figures(ctx->counters, &figures, &steps, err);
	if (rc)
		return rc;
	rc = rg_metrics_render_with(figures, steps, &reply->body, &reply->body_len, err);
	json_decref(figures);
	if (!rc && ctx->dp)   /* the built-in proxies' series after the store's */
		rc = rg_dataplane_metrics(ctx->dp, &reply->body, &reply->body_len, err);
	if (rc)
		return rc;
	reply->status = 200;
	reply->content_type = RG_METRICS_CONTENT_TYPE;
	return RG_OK;
}

/* ---- handlers: starting runs ------------------------------------------------- */

static const rg_json_field deploy_fields[] = {
	{ "env", RG_JSON_STRING, true, 0 },
	{ "version", RG_JSON_STRING, true, 0 },
	{ "emergency", RG_JSON_BOOL, false, 0 },
	{ "reason", RG_JSON_STRING, false, REASON_MAX_CHARS },
	{ "skip_monitor", RG_JSON_BOOL, false, 0 },
};

static rg_err check_reason(const char *reason, rg_error *err);

/* An emergency is the oncall role's, on top of the route's own permission;
 * the audit entry says it was one and why. */
static rg_err emergency_access(const rg_request *req, bool emergency, const char *env,
			       const char *reason, rg_reply *reply, rg_error *err)
{
	if (!emergency)
		return RG_OK;
	snprintf(reply->audit_detail, sizeof reply->audit_detail, "EMERGENCY: %s", reason ? reason : "");
	return rg_access_env(req, RG_PERM_EMERGENCY, env, err);
}

static rg_err h_deploy(rg_api_ctx *ctx, const rg_request *req, const rg_route_match *m,
		       rg_reply *reply, rg_error *err)
{
	json_t *in = NULL;
	rg_err rc = rg_json_parse_checked(req->body, req->body_len, deploy_fields, 5, &in, err);
	if (rc)
		return rc;
	rg_deploy_request dr = {
		.env = rg_json_get_str(in, "env"),
		.version = rg_json_get_str(in, "version"),
		.actor = req->actor,
		.emergency = rg_json_get_bool(in, "emergency"),
		.reason = rg_json_get_str(in, "reason"),
		.skip_monitor = rg_json_get_bool(in, "skip_monitor"),
	};
	int64_t id = 0;
	rc = check_body_env(ctx, dr.env, err);
	if (!rc)
		rc = check_name(dr.version, "version", "version", err);
	if (!rc)
		rc = check_reason(dr.reason, err);
	if (!rc) {
		snprintf(reply->audit_target, sizeof reply->audit_target, "%s", dr.version);
		rc = env_access(req, RG_PERM_DEPLOY, dr.env, reply, err);
	}
	if (!rc)
		rc = emergency_access(req, dr.emergency, dr.env, dr.reason, reply, err);
	if (!rc)
		rc = rg_engine_deploy(ctx->engine, &dr, &id, err);
	json_decref(in);
	return rc ? rc : reply_run(ctx, reply, 201, id, NULL, err);
}

static const rg_json_field rollback_fields[] = {
	{ "env", RG_JSON_STRING, true, 0 },
	{ "to", RG_JSON_STRING, false, 0 },
	{ "reason", RG_JSON_STRING, false, REASON_MAX_CHARS },
	{ "dry_run", RG_JSON_BOOL, false, 0 },
	{ "force", RG_JSON_BOOL, false, 0 },
	{ "emergency", RG_JSON_BOOL, false, 0 },
};

/* The reason reaches logs, notifications and reports: one line of text. */
static rg_err check_reason(const char *reason, rg_error *err)
{
	for (const char *p = reason; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return rg_fail(err, RG_EINVAL, "reason",
				       "field 'reason' must not contain control characters");
	return RG_OK;
}

static rg_err rollback_validate(rg_api_ctx *ctx, const rg_rollback_request *rr, rg_error *err)
{
	rg_err rc = check_body_env(ctx, rr->env, err);
	if (!rc && rr->to)
		rc = check_name(rr->to, "to", "version", err);
	if (!rc)
		rc = check_reason(rr->reason, err);
	return rc;
}

/* A rollback's or config restore's request: checked, named in its audit
 * entry, and allowed (the rollback permission in env; an emergency's role). */
static rg_err rollback_access(rg_api_ctx *ctx, const rg_request *req, const rg_rollback_request *rr,
			      const char *target, rg_reply *reply, rg_error *err)
{
	rg_err rc = rollback_validate(ctx, rr, err);
	if (rc)
		return rc;
	snprintf(reply->audit_target, sizeof reply->audit_target, "%s%s", target,
		 rr->dry_run ? " (dry run)" : "");
	snprintf(reply->audit_detail, sizeof reply->audit_detail, "%s", rr->reason ? rr->reason : "");
	rc = env_access(req, RG_PERM_ROLLBACK, rr->env, reply, err);
	return rc ? rc : emergency_access(req, rr->emergency, rr->env, rr->reason, reply, err);
}

static rg_err h_rollback(rg_api_ctx *ctx, const rg_request *req, const rg_route_match *m,
			 rg_reply *reply, rg_error *err)
{
	json_t *in = NULL;
	rg_err rc = rg_json_parse_checked(req->body, req->body_len, rollback_fields, 6, &in, err);
	if (rc)
		return rc;
	rg_rollback_request rr = {
		.env = rg_json_get_str(in, "env"),
		.to = rg_json_get_str(in, "to"),
		.reason = rg_json_get_str(in, "reason"),
		.actor = req->actor,
		.dry_run = rg_json_get_bool(in, "dry_run"),
		.force = rg_json_get_bool(in, "force"),
		.emergency = rg_json_get_bool(in, "emergency"),
		.who = req->who,
	};
	int64_t id = 0;
	json_t *plan = NULL;
	rc = rollback_access(ctx, req, &rr, rr.to ? rr.to : "last known good", reply, err);
	if (!rc)
		rc = rg_engine_rollback(ctx->engine, &rr, &id, &plan, err);
	json_decref(in);
	if (rc) {
		json_decref(plan);
		return rc;
	}
	if (!plan)
		plan = json_null();
	if (rr.dry_run)
		return rg_reply_json(reply, 200, json_pack("{s:o}", "plan", plan), err);
	return reply_run(ctx, reply, 201, id, plan, err);
}

static const rg_json_field config_restore_fields[] = {
	{ "env", RG_JSON_STRING, true, 0 },
	{ "to", RG_JSON_STRING, true, 0 },
	{ "reason", RG_JSON_STRING, false, REASON_MAX_CHARS },
	{ "dry_run", RG_JSON_BOOL, false, 0 },
	{ "emergency", RG_JSON_BOOL, false, 0 },
};

/* A config restore is a run gated like a rollback; its dry run is the
 * diff (masked) from the live release's files to the ones it would write. */
static rg_err h_config_restore(rg_api_ctx *ctx, const rg_request *req, const rg_route_match *m,
			       rg_reply *reply, rg_error *err)
{
	json_t *in = NULL;
	rg_err rc = rg_json_parse_checked(req->body, req->body_len, config_restore_fields, 5, &in, err);
	if (rc)
		return rc;
	rg_rollback_request rr = {
		.env = rg_json_get_str(in, "env"),
		.to = rg_json_get_str(in, "to"),
		.reason = rg_json_get_str(in, "reason"),
		.actor = req->actor,
		.dry_run = rg_json_get_bool(in, "dry_run"),
		.emergency = rg_json_get_bool(in, "emergency"),
		.who = req->who,
	};
	char target[120];
	snprintf(target, sizeof target, "config of %s", rr.to);
	rc = rollback_access(ctx, req, &rr, target, reply, err);
	int64_t id = 0;
	json_t *diff = NULL;
	rg_release live;
	if (!rc && rr.dry_run && rg_store_release_current(ctx->store, rr.env, &live, NULL) != RG_OK)
		rc = rg_fail(err, RG_ECONFLICT, "env", "environment '%s' has no live release", rr.env);
	else if (!rc && rr.dry_run)
		rc = rg_api_config_diff(ctx->store, rg_config_env(ctx->cfg, rr.env), live.version, rr.to,
					&diff, err);
	else if (!rc)
		rc = rg_engine_config_restore(ctx->engine, &rr, &id, err);
	json_decref(in);
	if (rc)
		return rc;
	if (diff)
		return rg_reply_json(reply, 200, diff, err);
	return reply_run(ctx, reply, 201, id, NULL, err);
}

/* ---- handlers: reading ------------------------------------------------------- */

/* The store's status of env plus "traffic" (api/traffic.h): the route
 * state is the router's business, not a SQL view, so it is added here. */
static rg_err env_status(rg_api_ctx *ctx, const char *env, json_t **out, rg_error *err)
{
	json_t *st = NULL, *traffic = NULL;
	rg_err rc = rg_store_status_json(ctx->store, env, &st, err);
	json_t *run = rc ? NULL : json_object_get(st, "run");
	if (!rc && json_is_object(run)) {
		json_t *full = NULL;
		rc = run_json(ctx, json_integer_value(json_object_get(run, "id")), &full, err);
		if (!rc)
			json_object_set(run, "approval", json_object_get(full, "approval"));
		json_decref(full);
	}
	const rg_env *conf = rg_config_env(ctx->cfg, env);
	if (!rc)
		rc = rg_api_status_traffic(ctx->store, conf, &traffic, err);
	if (!rc && (json_object_set_new(st, "traffic", traffic) != 0 ||
		    json_object_set_new(st, "production", json_boolean(conf && conf->production)) != 0))
		rc = rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	if (rc) {
		json_decref(st);
		return rc;
	}
	*out = st;
	return RG_OK;
}

static rg_err all_status(rg_api_ctx *ctx, const rg_request *req, rg_reply *reply, rg_error *err)
{
	json_t *list = json_array();
	bool began = false;
	if (!list)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	/* Every environment from one snapshot, the read lock taken once. */
	rg_err rc = rg_store_read_begin(ctx->store, &began, err);
	for (size_t i = 0; !rc && i < ctx->cfg->n_envs; i++) {
		json_t *st = NULL;
		if (req->who && !rg_principal_env_allowed(req->who, ctx->cfg->envs[i].name))
			continue;   /* a token limited to some environments sees those */
		rc = env_status(ctx, ctx->cfg->envs[i].name, &st, err);
		if (!rc && json_array_append_new(list, st) != 0)
			rc = rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	}
	rg_store_read_end(ctx->store, began);
	if (rc) {
		json_decref(list);
		return rc;
	}
	return rg_reply_json(reply, 200, json_pack("{s:o}", "environments", list), err);
}

static rg_err h_status(rg_api_ctx *ctx, const rg_request *req, const rg_route_match *m,
		       rg_reply *reply, rg_error *err)
{
	const char *env = query_get(req, "env");
	if (!env && ctx->cfg->n_envs != 1)
		return all_status(ctx, req, reply, err);
	if (!env)
		env = ctx->cfg->envs[0].name;
	rg_err rc = check_query_env(ctx, env, err);
	if (!rc)
		rc = env_access(req, RG_PERM_READ, env, reply, err);
	json_t *st = NULL;
	if (!rc)
		rc = env_status(ctx, env, &st, err);
	return rc ? rc : rg_reply_json(reply, 200, st, err);
}

/* Drops the items (runs, backups) of environments the token may not see. */
static void runs_visible(const rg_request *req, json_t *runs)
{
	for (size_t i = json_array_size(runs); req->who && i-- > 0;) {
		const char *env = json_string_value(json_object_get(json_array_get(runs, i), "env"));
		if (!rg_principal_env_allowed(req->who, env))
			json_array_remove(runs, i);
	}
}

typedef rg_err (*env_lister)(rg_store *s, const char *env, int64_t before, int limit, json_t **out,
			   rg_error *err);

/* GET of a list that ?env= narrows, ?limit= bounds and ?before=ID pages,
 * newest first, as {key: [...], "next_before"?}: across environments, only those the token may see. */
static rg_err env_listing(rg_api_ctx *ctx, const rg_request *req, rg_reply *reply,
			  env_lister list, const char *key, rg_error *err)
{
	const char *env = query_get(req, "env");
	const char *limit_text = query_get(req, "limit"), *before_text = query_get(req, "before");
	int64_t limit = RUNS_DEFAULT_LIMIT, before = 0;
	rg_err rc = env ? check_query_env(ctx, env, err) : RG_OK;
	if (!rc && env)
		rc = env_access(req, RG_PERM_READ, env, reply, err);
	if (!rc && limit_text)
		rc = rg_parse_int(limit_text, 1, RUNS_MAX_LIMIT, "limit", &limit, err);
	if (!rc && before_text)
		rc = rg_parse_int(before_text, 1, INT64_MAX, "before", &before, err);
	json_t *items = NULL;
	if (!rc)
		rc = list(ctx->store, env, before, (int)limit, &items, err);
	/* a full page may have more behind it: the cursor of the next one,
	 * taken before items the caller may not see are dropped */
	json_t *last = rc ? NULL : json_array_get(items, json_array_size(items) - 1);
	json_int_t next = json_array_size(items) == (size_t)limit && last
				  ? json_integer_value(json_object_get(last, "id"))
				  : 0;
	if (!rc && !env)
		runs_visible(req, items);
	if (rc)
		return rc;
	json_t *doc = json_pack("{s:o}", key, items);
	if (doc && next)
		json_object_set_new(doc, "next_before", json_integer(next));
	return rg_reply_json(reply, 200, doc, err);
}

static rg_err h_runs(rg_api_ctx *ctx, const rg_request *req, const rg_route_match *m,
		     rg_reply *reply, rg_error *err)
{
	return env_listing(ctx, req, reply, rg_store_runs_json, "runs", err);
}

static rg_err h_backups(rg_api_ctx *ctx, const rg_request *req, const rg_route_match *m,
			rg_reply *reply, rg_error *err)
{
	return env_listing(ctx, req, reply, rg_store_backups_json, "backups", err);
}

/* ?failed=1 keeps what was given up or last failed. */
static rg_err h_notifications(rg_api_ctx *ctx, const rg_request *req, const rg_route_match *m,
			      rg_reply *reply, rg_error *err)
{
	const char *failed = query_get(req, "failed");
	if (failed && strcmp(failed, "1") && strcmp(failed, "0"))
		return rg_fail(err, RG_EINVAL, "failed", "invalid failed '%s' (use 1 or 0)", failed);
	bool only_failed = failed && !strcmp(failed, "1");
	return env_listing(ctx, req, reply,
			   only_failed ? rg_store_notifications_failed_json : rg_store_notifications_json,
			   "notifications", err);
}

static rg_err h_run(rg_api_ctx *ctx, const rg_request *req, const rg_route_match *m,
		    rg_reply *reply, rg_error *err)
{
	json_t *run = NULL;
	rg_err rc = run_access(ctx, req, RG_PERM_READ, m->run_id, reply, err);
	if (!rc)
		rc = run_json(ctx, m->run_id, &run, err);
	return rc ? rc : rg_reply_json(reply, 200, run, err);
}

static rg_err h_config_diff(rg_api_ctx *ctx, const rg_request *req, const rg_route_match *m,
			    rg_reply *reply, rg_error *err)
{
	const char *env = query_get(req, "env"), *from = query_get(req, "from"), *to = query_get(req, "to");
	rg_err rc = env ? check_query_env(ctx, env, err)
			: rg_fail(err, RG_EINVAL, "env", "missing query argument 'env'");
	if (!rc && from)
		rc = check_name(from, "from", "version", err);
	if (!rc && to)
		rc = check_name(to, "to", "version", err);
	if (!rc)
		rc = env_access(req, RG_PERM_READ, env, reply, err);
	json_t *diff = NULL;
	if (!rc)
		rc = rg_api_config_diff(ctx->store, rg_config_env(ctx->cfg, env), from, to, &diff, err);
	return rc ? rc : rg_reply_json(reply, 200, diff, err);
}

/* Where a stream or listing starts: Last-Event-ID (a reconnecting
 * EventSource) wins over ?after=. */
static rg_err events_after(const rg_request *req, int64_t *after, rg_error *err)
{
	const char *last = header_get(req, "Last-Event-ID");
	if (last && *last)
		return rg_parse_int(last, 0, INT64_MAX, "Last-Event-ID", after, err);
	const char *q = query_get(req, "after");
	*after = 0;
	return q ? rg_parse_int(q, 0, INT64_MAX, "after", after, err) : RG_OK;
}

static rg_err h_events(rg_api_ctx *ctx, const rg_request *req, const rg_route_match *m,
		       rg_reply *reply, rg_error *err)
{
	int64_t after = 0;
	rg_err rc = events_after(req, &after, err);
	if (!rc)
		rc = run_access(ctx, req, RG_PERM_READ, m->run_id, reply, err);
	if (rc)
		return rc;
	const char *accept = header_get(req, MHD_HTTP_HEADER_ACCEPT);
	if (accept && strstr(accept, "text/event-stream")) {
		rc = rg_sse_open(ctx->sse, req->conn, m->run_id, after, &reply->stream, err);
		reply->status = 200;
		return rc;
	}
	json_t *events = NULL;
	rc = rg_store_events_json(ctx->store, m->run_id, after, &events, err);
	return rc ? rc : rg_reply_json(reply, 200, json_pack("{s:o}", "events", events), err);
}

/* A run's figures over time, for the dashboard's charts: the samples
 * stored so far (written in batches, so the newest seconds may be missing
 * while it runs), ?after=MS only the newer ones; a run the built-in proxy
 * never routed has none. */
static rg_err h_figures(rg_api_ctx *ctx, const rg_request *req, const rg_route_match *m,
			rg_reply *reply, rg_error *err)
{
	json_t *figures = NULL;
	const char *after_text = query_get(req, "after");
	int64_t after = 0;
	rg_err rc = after_text ? rg_parse_int(after_text, 0, INT64_MAX, "after", &after, err) : RG_OK;
	if (!rc)
		rc = run_access(ctx, req, RG_PERM_READ, m->run_id, reply, err);
	if (!rc)
		rc = rg_store_figures_json(ctx->store, m->run_id, after, &figures, err);
	return rc ? rc : rg_reply_json(reply, 200, figures, err);
}

static rg_err h_step_log(rg_api_ctx *ctx, const rg_request *req, const rg_route_match *m,
			 rg_reply *reply, rg_error *err)
{
	long long id = (long long)m->run_id;
	rg_err rc = run_access(ctx, req, RG_PERM_READ, m->run_id, reply, err);
	if (rc)
		return rc;
	if (!rg_ident_valid(m->step))
		return rg_fail(err, RG_ENOTFOUND, NULL, "no step '%.64s' in run %lld", m->step, id);
	char *log = NULL;
	rc = rg_engine_step_log(ctx->engine, m->run_id, m->step, &log, err);
	if (rc == RG_ENOTFOUND || (!rc && !log))
		rc = rg_fail(err, RG_ENOTFOUND, NULL, "no log of step '%s' in run %lld", m->step,
			     id);
	if (rc) {
		free(log);
		return rc;
	}
	reply->status = 200;
	reply->content_type = "text/plain; charset=utf-8";
	reply->body = log;
	reply->body_len = strlen(log);
	return RG_OK;
}

/* The env argument is required here, even with one environment: a script
 * reading traffic should say which. */
static rg_err h_traffic(rg_api_ctx *ctx, const rg_request *req, const rg_route_match *m,
			rg_reply *reply, rg_error *err)
{
	const char *env = query_get(req, "env");
	if (!env)
		return rg_fail(err, RG_EINVAL, "env", "query argument 'env' is required");
	rg_err rc = check_query_env(ctx, env, err);
	json_t *traffic = NULL;
	if (!rc)
		rc = env_access(req, RG_PERM_READ, env, reply, err);
	if (!rc)
		rc = rg_api_traffic_json(ctx->cfg, ctx->store, ctx->dp, env, &traffic, err);
	return rc ? rc : rg_reply_json(reply, 200, traffic, err);
}

/* ---- handlers: run controls -------------------------------------------------- */

static rg_err h_control(rg_api_ctx *ctx, const rg_request *req, const rg_route_match *m,
			rg_reply *reply, rg_error *err)
{
	json_t *in = NULL;
	rg_err rc = rg_json_parse_checked(req->body, req->body_len, NULL, 0, &in, err);
	json_decref(in);
	if (!rc)
		rc = run_access(ctx, req, RG_PERM_CONTROL, m->run_id, reply, err);
	if (!rc)
		rc = routes[m->index].control(ctx->engine, m->run_id, req->actor, err);
	if (rc)
		return run_not_found(rc, m->run_id, err);
	return reply_run(ctx, reply, 200, m->run_id, NULL, err);
}

static const rg_json_field approve_fields[] = {
	{ "comment", RG_JSON_STRING, false, REASON_MAX_CHARS },
};
static const rg_json_field reject_fields[] = {
	{ "reason", RG_JSON_STRING, true, REASON_MAX_CHARS },
};

/* approve and reject: the answer is the token's principal's. */
static rg_err h_answer(rg_api_ctx *ctx, const rg_request *req, const rg_route_match *m,
		       rg_reply *reply, rg_error *err)
{
	bool approve = strcmp(routes[m->index].name, "run_approve") == 0;
	const char *key = approve ? "comment" : "reason";
	json_t *in = NULL;
	rg_err rc = rg_json_parse_checked(req->body, req->body_len, approve ? approve_fields : reject_fields,
					  1, &in, err);
	const char *text = rc ? NULL : rg_json_get_str(in, key);
	if (!rc && text)
		rc = check_reason(text, err);
	if (!rc && text)
		snprintf(reply->audit_detail, sizeof reply->audit_detail, "%s", text);
	if (!rc)
		rc = run_access(ctx, req, RG_PERM_APPROVE, m->run_id, reply, err);
	if (!rc)
		rc = approve ? rg_engine_approve(ctx->engine, m->run_id, req->who, req->actor, text, err)
			     : rg_engine_reject(ctx->engine, m->run_id, req->who, req->actor, text, err);
	json_decref(in);
	if (rc)
		return run_not_found(rc, m->run_id, err);
	return reply_run(ctx, reply, 200, m->run_id, NULL, err);
}

/* ---- handlers: the audit log --------------------------------------------------- */

static rg_err h_audit(rg_api_ctx *ctx, const rg_request *req, const rg_route_match *m,
		      rg_reply *reply, rg_error *err)
{
	const char *env = query_get(req, "env");
	const char *limit_text = query_get(req, "limit");
	int64_t limit = RUNS_DEFAULT_LIMIT;
	rg_err rc = env ? check_name(env, "env", "environment name", err) : RG_OK;
	if (!rc && limit_text)
		rc = rg_parse_int(limit_text, 1, RUNS_MAX_LIMIT, "limit", &limit, err);
	json_t *entries = NULL;
	if (!rc)
		rc = rg_audit_json(ctx->store, env, (int)limit, &entries, err);
	return rc ? rc : rg_reply_json(reply, 200, json_pack("{s:o}", "audit", entries), err);
}

/* ---- handlers: alerts from outside ------------------------------------------- */

/* Signature, payload and matching live in alerts.c. */
static rg_err h_alerts(rg_api_ctx *ctx, const rg_request *req, const rg_route_match *m,
		       rg_reply *reply, rg_error *err)
{
	return rg_api_alerts(ctx, req, reply, err);
}

/* ---- handlers: incidents (api/incidents.c) ------------------------------------ */

static rg_err h_incidents(rg_api_ctx *ctx, const rg_request *req, const rg_route_match *m,
			  rg_reply *reply, rg_error *err)
{
	return rg_api_incidents(ctx, req, routes[m->index].name, m->run_id, reply, err);
}

/* ---- handlers: feature flags (api/flags.c) ------------------------------------ */

static rg_err h_flags(rg_api_ctx *ctx, const rg_request *req, const rg_route_match *m,
		      rg_reply *reply, rg_error *err)
{
	const char *name = routes[m->index].name;
	if (!strcmp(name, "flags"))
		return rg_api_flags_list(ctx, req, query_get(req, "env"), reply, err);
	if (!strcmp(name, "flag_set"))
		return rg_api_flag_set(ctx, req, m->step, reply, err);
	if (!strcmp(name, "ofrep_one"))
		return rg_api_ofrep_one(ctx, req, m->step, reply, err);
	return rg_api_ofrep_bulk(ctx, req, reply, err);
}

/* ---- dispatch ---------------------------------------------------------------- */

void rg_request_log_text(char *out, size_t size, const char *s)
{
	size_t i = 0;
	for (; *s && i + 1 < size; s++, i++)
		out[i] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
	out[i] = '\0';
}

static void reply_failure(const rg_request *req, rg_err rc, const rg_error *err, rg_reply *reply);

/* The dashboard's files: read only, public, never audited (no write). */
static void ui_answer(rg_api_ctx *ctx, const rg_request *req, rg_reply *reply)
{
	rg_error err;
	rg_error_clear(&err);
	if (strcmp(req->method, "GET") != 0) {
		rg_fail(&err, RG_EINVAL, NULL, "method %.16s is not allowed here (GET only)",
			req->method);
		rg_reply_error(reply, 405, "method_not_allowed", &err);
		snprintf(reply->allow, sizeof reply->allow, "GET");
		rg_access_audit(ctx, req, NULL, reply, &err);
		return;
	}
	rg_err rc = rg_ui_answer(req, reply, &err);
	if (rc)
		reply_failure(req, rc, &err, reply);
}

void rg_routes_handle(rg_api_ctx *ctx, const rg_request *req, rg_reply *reply)
{
	memset(reply, 0, sizeof *reply);
	rg_error err;
	rg_error_clear(&err);
	rg_route_match m;
	if (rg_ui_path(req->path))
		return ui_answer(ctx, req, reply);
	switch (rg_route_find(req->method, req->path, &m, &err)) {
	case RG_ROUTE_NOT_FOUND:
		rg_reply_error(reply, 404, rg_err_name(RG_ENOTFOUND), &err);
		rg_access_audit(ctx, req, NULL, reply, &err);
		return;
	case RG_ROUTE_BAD_METHOD:
		rg_reply_error(reply, 405, "method_not_allowed", &err);
		snprintf(reply->allow, sizeof reply->allow, "%s", m.allow);
		rg_access_audit(ctx, req, NULL, reply, &err);
		return;
	case RG_ROUTE_FOUND:
		break;
	}
	const struct route *r = &routes[m.index];
	rg_principal who;
	rg_session session;
	rg_request admitted = *req;
	rg_err rc = RG_OK;
	if (r->perm != RG_ACCESS_PUBLIC) {
		rc = rg_access_admit(ctx, req, r->perm, &who, &session, &err);
		if (who.name[0]) {
			admitted.who = &who;
			admitted.actor = who.name;
		}
		if (session.who.name[0])
			admitted.session = &session;
	}
	if (!rc)
		rc = check_query(&admitted, r->query, &err);
	if (!rc)
		rc = r->fn(ctx, &admitted, &m, reply, &err);
	if (rc)
		reply_failure(&admitted, rc, &err, reply);
	/* OFREP evaluations are reads sent as POST, asked by applications on
	 * every request they serve: an audit row (and an fsync) each would
	 * flood the log with nothing anyone decided. */
	if (r->perm != RG_PERM_FLAGS)
		rg_access_audit(ctx, &admitted, r->name, reply, &err);
}

static void reply_failure(const rg_request *req, rg_err rc, const rg_error *err, rg_reply *reply)
{
	int status = rg_err_http_status(rc);
	if (status >= 500) {
		char path[256];
		rg_request_log_text(path, sizeof path, req->path);
		rg_error_log("api: %s %s: %s", req->method, path, err->message);
	}
	rg_reply_error(reply, (unsigned)status, rg_err_name(rc), err);
}
