/* incidents.c — the incident routes (incidents.h). Every input is checked
 * here before it reaches incident/ or the store; a note is bounded text. */
#include "api/incidents.h"

#include <stdio.h>
#include <string.h>

#include "api/access.h"
#include "api/request.h"
#include "incident/incident.h"
#include "incident/postmortem.h"
#include "util/names.h"

#define NOTE_MAX_CHARS 500
#define LIST_DEFAULT 20
#define LIST_MAX 1000

static const char *query(const rg_request *req, const char *key)
{
	const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
	return v && *v ? v : NULL;
}

static rg_err list(rg_api_ctx *ctx, const rg_request *req, rg_reply *reply, rg_error *err)
{
	const char *env = query(req, "env"), *open = query(req, "open");
	const char *limit_text = query(req, "limit"), *before_text = query(req, "before");
	int64_t limit = LIST_DEFAULT, before = 0;
	rg_err rc = RG_OK;
	if (env && !rg_config_env(ctx->cfg, env))
		rc = rg_fail(err, RG_EINVAL, "env", "unknown environment '%s'", env);
	if (!rc && env)
		rc = rg_access_env(req, RG_PERM_READ, env, err);
	if (!rc && open && strcmp(open, "true") && strcmp(open, "false"))
		rc = rg_fail(err, RG_EINVAL, "open", "'open' must be true or false");
	if (!rc && limit_text)
		rc = rg_parse_int(limit_text, 1, LIST_MAX, "limit", &limit, err);
	if (!rc && before_text)
		rc = rg_parse_int(before_text, 1, INT64_MAX, "before", &before, err);
	json_t *items = NULL;
	if (!rc)
		rc = rg_store_incidents_json(ctx->store, env, open && !strcmp(open, "true"), before,
					     (int)limit, &items, err);
	if (rc)
		return rc;
	json_t *last = json_array_get(items, json_array_size(items) - 1);
	json_int_t next = json_array_size(items) == (size_t)limit && last
				  ? json_integer_value(json_object_get(last, "id")) : 0;
	for (size_t i = json_array_size(items); req->who && i-- > 0;) {
		const char *e = json_string_value(json_object_get(json_array_get(items, i), "env"));
		if (!rg_principal_env_allowed(req->who, e))
			json_array_remove(items, i);
	}
	json_t *doc = json_pack("{s:o}", "incidents", items);
	if (doc && next)
		json_object_set_new(doc, "next_before", json_integer(next));
	return rg_reply_json(reply, 200, doc, err);
}

static const rg_json_field note_fields[] = { { "note", RG_JSON_STRING, false, NOTE_MAX_CHARS } };
static const rg_json_field tick_fields[] = { { "tick", RG_JSON_STRING, true, 200 } };

static rg_err answer(rg_api_ctx *ctx, const rg_request *req, const char *route, int64_t id,
		    rg_error *err)
{
	bool tick = strcmp(route, "incident_checklist") == 0;
	bool note_required = strcmp(route, "incident_note") == 0;
	json_t *in = NULL;
	rg_err rc = rg_json_parse_checked(req->body, req->body_len, tick ? tick_fields : note_fields,
					  1, &in, err);
	const char *text = rc ? NULL : rg_json_get_str(in, tick ? "tick" : "note");
	if (!rc && note_required && (!text || !*text))
		rc = rg_fail(err, RG_EINVAL, "note", "missing field 'note'");
	if (!rc && text && *text == '\0')
		text = NULL;
	if (!rc && tick && !text)
		rc = rg_fail(err, RG_EINVAL, "tick", "missing field 'tick'");
	int item = 0;
	if (!rc && !ctx->incidents)
		rc = rg_fail(err, RG_EUNAVAILABLE, NULL, "incidents are not kept by this server");
	if (!rc && tick)
		rc = rg_incidents_tick(ctx->incidents, id, text, req->actor, &item, err);
	else if (!rc && !strcmp(route, "incident_ack"))
		rc = rg_incidents_ack(ctx->incidents, id, req->actor, text, err);
	else if (!rc && note_required)
		rc = rg_incidents_note(ctx->incidents, id, req->actor, text, err);
	else if (!rc)
		rc = rg_incidents_resolve(ctx->incidents, id, req->actor, text, err);
	json_decref(in);
	return rc;
}

/* The draft `rollguard postmortem` prints, for the dashboard: the same
 * renderer over the same JSON. doc is released. */
static rg_err postmortem(json_t *doc, rg_reply *reply, rg_error *err)
{
	rg_strbuf sb;
	rg_strbuf_init(&sb);
	rg_err rc = rg_postmortem_render(doc, &sb, err);
	json_decref(doc);
	if (rc) {
		rg_strbuf_release(&sb);
		return rc;
	}
	reply->content_type = "text/markdown; charset=utf-8";
	reply->body = rg_strbuf_detach(&sb, &reply->body_len);
	if (!reply->body)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory for the draft");
	reply->status = 200;
	return RG_OK;
}

rg_err rg_api_incidents(rg_api_ctx *ctx, const rg_request *req, const char *route, int64_t id,
			rg_reply *reply, rg_error *err)
{
	if (!strcmp(route, "incidents"))
		return list(ctx, req, reply, err);
	rg_incident inc;
	rg_err rc = rg_store_incident_get(ctx->store, id, &inc, err);
	bool reading = !strcmp(route, "incident") || !strcmp(route, "incident_postmortem");
	if (!rc) {
		snprintf(reply->audit_env, sizeof reply->audit_env, "%s", inc.env);
		snprintf(reply->audit_target, sizeof reply->audit_target, "incident %lld", (long long)id);
		rc = rg_access_env(req, reading ? RG_PERM_READ : RG_PERM_INCIDENT, inc.env, err);
	}
	if (!rc && !reading)
		rc = answer(ctx, req, route, id, err);
	json_t *doc = NULL;
	if (!rc)
		rc = rg_store_incident_json(ctx->store, id, &doc, err);
	if (!rc && !strcmp(route, "incident_postmortem"))
		return postmortem(doc, reply, err);
	return rc ? rc : rg_reply_json(reply, 200, doc, err);
}
