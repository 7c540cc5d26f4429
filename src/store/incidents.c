/* incidents.c — the rows of incidents (see store.h): the incident, the runs
 * it covers, its own timeline entries and its checklist, and the JSON the
 * API shows of them. What opens, joins and escalates an incident is
 * incident/incident.c's business; this file only keeps and reads rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "util/alloc.h"
#include "util/jsontext.h"
#include "util/timeutil.h"

#define INCIDENT_COLUMNS                                                                   \
	"id, env, severity, kind, failed_version, restored_version, \"trigger\", decision, " \
	"state, escalating, level, ladder_start, next_escalation_at, opened, opened_by, "   \
	"acked, acked_by, resolved, resolved_by"

static const char *const state_names[RG_INCIDENT_STATE_COUNT] = {
	[RG_INCIDENT_OPEN] = "open", [RG_INCIDENT_ACKNOWLEDGED] = "acknowledged",
	[RG_INCIDENT_RESOLVED] = "resolved",
};

const char *rg_incident_state_name(rg_incident_state s)
{
	return (unsigned)s < RG_INCIDENT_STATE_COUNT ? state_names[s] : "?";
}

static rg_incident_state state_parse(const char *name)
{
	for (int i = 0; i < RG_INCIDENT_STATE_COUNT; i++)
		if (name && strcmp(state_names[i], name) == 0)
			return (rg_incident_state)i;
	return RG_INCIDENT_OPEN;
}

/* Binds every column but id as ?2.. in INCIDENT_COLUMNS' order. */
static void bind_incident(sqlite3_stmt *st, const rg_incident *i, int *rc)
{
	rg_sq_bind_buf(st, 2, i->env, sizeof i->env, rc);
	rg_sq_bind_buf(st, 3, i->severity, sizeof i->severity, rc);
	rg_sq_bind_buf(st, 4, i->kind, sizeof i->kind, rc);
	rg_sq_bind_buf(st, 5, i->failed_version, sizeof i->failed_version, rc);
	rg_sq_bind_buf(st, 6, i->restored_version, sizeof i->restored_version, rc);
	rg_sq_bind_buf(st, 7, i->trigger, sizeof i->trigger, rc);
	rg_sq_bind_buf(st, 8, i->decision, sizeof i->decision, rc);
	rg_sq_bind_str(st, 9, rg_incident_state_name(i->state), rc);
	rg_sq_bind_int(st, 10, i->escalating, rc);
	rg_sq_bind_int(st, 11, i->level, rc);
	rg_sq_bind_int(st, 12, i->ladder_start, rc);
	rg_sq_bind_int(st, 13, i->next_escalation_at, rc);
	rg_sq_bind_int(st, 14, i->opened, rc);
	rg_sq_bind_buf(st, 15, i->opened_by, sizeof i->opened_by, rc);
	rg_sq_bind_int(st, 16, i->acked, rc);
	rg_sq_bind_buf(st, 17, i->acked_by, sizeof i->acked_by, rc);
	rg_sq_bind_int(st, 18, i->resolved, rc);
	rg_sq_bind_buf(st, 19, i->resolved_by, sizeof i->resolved_by, rc);
}

static void incident_read(sqlite3_stmt *st, rg_incident *i)
{
	char state[24];
	memset(i, 0, sizeof *i);
	i->id = sqlite3_column_int64(st, 0);
	rg_sq_text(st, 1, i->env, sizeof i->env);
	rg_sq_text(st, 2, i->severity, sizeof i->severity);
	rg_sq_text(st, 3, i->kind, sizeof i->kind);
	rg_sq_text(st, 4, i->failed_version, sizeof i->failed_version);
	rg_sq_text(st, 5, i->restored_version, sizeof i->restored_version);
	rg_sq_text(st, 6, i->trigger, sizeof i->trigger);
	rg_sq_text(st, 7, i->decision, sizeof i->decision);
	rg_sq_text(st, 8, state, sizeof state);
	i->state = state_parse(state);
	i->escalating = sqlite3_column_int64(st, 9) != 0;
	i->level = (int)sqlite3_column_int64(st, 10);
	i->ladder_start = sqlite3_column_int64(st, 11);
	i->next_escalation_at = sqlite3_column_int64(st, 12);
	i->opened = sqlite3_column_int64(st, 13);
	rg_sq_text(st, 14, i->opened_by, sizeof i->opened_by);
	i->acked = sqlite3_column_int64(st, 15);
	rg_sq_text(st, 16, i->acked_by, sizeof i->acked_by);
	i->resolved = sqlite3_column_int64(st, 17);
	rg_sq_text(st, 18, i->resolved_by, sizeof i->resolved_by);
}

static rg_err incident_row(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	incident_read(st, ctx);
	return RG_OK;
}

rg_err rg_store_incident_add(rg_store *s, rg_incident *inc, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_INC_ADD,
			      "INSERT INTO incidents(env, severity, kind, failed_version, restored_version,"
			      " \"trigger\", decision, state, escalating, level, ladder_start,"
			      " next_escalation_at, opened, opened_by, acked, acked_by, resolved, resolved_by)"
			      " VALUES (?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19)",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	bind_incident(st, inc, &rc);
	e = rg_sq_exec(s, st, rc, "add incident", err);
	if (!e)
		inc->id = sqlite3_last_insert_rowid(s->db);
	return e;
}

rg_err rg_store_incident_update(rg_store *s, const rg_incident *inc, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_INC_UPDATE,
			      "UPDATE incidents SET env=?2, severity=?3, kind=?4, failed_version=?5,"
			      " restored_version=?6, \"trigger\"=?7, decision=?8, state=?9, escalating=?10,"
			      " level=?11, ladder_start=?12, next_escalation_at=?13, opened=?14,"
			      " opened_by=?15, acked=?16, acked_by=?17, resolved=?18, resolved_by=?19"
			      " WHERE id=?1",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, inc->id, &rc);
	bind_incident(st, inc, &rc);
	return rg_sq_exec(s, st, rc, "update incident", err);
}

rg_err rg_store_incident_get(rg_store *s, int64_t id, rg_incident *out, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	memset(out, 0, sizeof *out);
	rg_err e = rg_sq_stmt(s, RG_SQ_INC_GET, "SELECT " INCIDENT_COLUMNS " FROM incidents WHERE id=?1",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	bool found;
	rg_sq_bind_int(st, 1, id, &rc);
	e = rg_sq_first_row(s, st, rc, incident_row, out, &found, "get incident", err);
	if (!e && !found)
		return rg_fail(err, RG_ENOTFOUND, "id", "no incident %lld", (long long)id);
	return e;
}

rg_err rg_store_incident_open_of(rg_store *s, const char *env, const char *failed_version,
				 rg_incident *out, bool *found, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	memset(out, 0, sizeof *out);
	rg_err e = rg_sq_stmt(s, RG_SQ_INC_OPEN_OF,
			      "SELECT " INCIDENT_COLUMNS " FROM incidents WHERE env=?1 AND failed_version=?2"
			      " AND state != 'resolved' ORDER BY id DESC LIMIT 1",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_str(st, 1, env, &rc);
	rg_sq_bind_str(st, 2, failed_version, &rc);
	return rg_sq_first_row(s, st, rc, incident_row, out, found, "open incident of a release", err);
}

rg_err rg_store_incident_run_add(rg_store *s, int64_t incident_id, int64_t run_id, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_INC_RUN_ADD,
			      "INSERT OR IGNORE INTO incident_runs(incident_id, run_id) VALUES (?1,?2)", &st,
			      err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, incident_id, &rc);
	rg_sq_bind_int(st, 2, run_id, &rc);
	return rg_sq_exec(s, st, rc, "add a run to an incident", err);
}

rg_err rg_store_incident_entry_add(rg_store *s, int64_t incident_id, const char *type,
				   const char *actor, const char *message, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_INC_ENTRY_ADD,
			      "INSERT INTO incident_entries(incident_id, at, type, actor, message)"
			      " VALUES (?1,?2,?3,?4,?5)",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, incident_id, &rc);
	rg_sq_bind_int(st, 2, rg_now_ms(), &rc);
	rg_sq_bind_str(st, 3, type, &rc);
	rg_sq_bind_str(st, 4, actor ? actor : "", &rc);
	rg_sq_bind_str(st, 5, message ? message : "", &rc);
	return rg_sq_exec(s, st, rc, "add an incident entry", err);
}

static rg_err first_int(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	(void)err;
	*(int64_t *)ctx = sqlite3_column_int64(st, 0);
	return RG_OK;
}

rg_err rg_store_incident_next_due(rg_store *s, int64_t *at, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	*at = 0;
	rg_err e = rg_sq_stmt(s, RG_SQ_INC_NEXT_DUE,
			      "SELECT COALESCE(MIN(next_escalation_at), 0) FROM incidents"
			      " WHERE next_escalation_at != 0",
			      &st, err);
	return e ? e : rg_sq_each_row(s, st, SQLITE_OK, first_int, at, "next escalation", err);
}

typedef struct ids_out {
	int64_t *ids;
	size_t n, cap;
} ids_out;

static rg_err id_row(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	ids_out *o = ctx;
	if (RG_ALLOC_GROW(o->ids, o->n + 1, o->cap))
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	o->ids[o->n++] = sqlite3_column_int64(st, 0);
	return RG_OK;
}

rg_err rg_store_incidents_due(rg_store *s, int64_t now, int64_t **ids, size_t *n, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	*ids = NULL;
	*n = 0;
	rg_err e = rg_sq_stmt(s, RG_SQ_INC_DUE,
			      "SELECT id FROM incidents WHERE next_escalation_at != 0"
			      " AND next_escalation_at <= ?1 ORDER BY next_escalation_at, id",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, now, &rc);
	ids_out o = { 0 };
	e = rg_sq_each_row(s, st, rc, id_row, &o, "incidents due", err);
	if (e) {
		free(o.ids);
		return e;
	}
	*ids = o.ids;
	*n = o.n;
	return RG_OK;
}

rg_err rg_store_incident_item_add(rg_store *s, int64_t incident_id, int item, const char *text,
				  rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_INC_ITEM_ADD,
			      "INSERT INTO incident_checklist(incident_id, item, text) VALUES (?1,?2,?3)", &st,
			      err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, incident_id, &rc);
	rg_sq_bind_int(st, 2, item, &rc);
	rg_sq_bind_str(st, 3, text, &rc);
	return rg_sq_exec(s, st, rc, "add a checklist item", err);
}

rg_err rg_store_incident_tick(rg_store *s, int64_t incident_id, int item, const char *by,
			      int64_t at, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	int64_t ticked = -1;
	rg_err e = rg_sq_stmt(s, RG_SQ_INC_TICKED,
			      "SELECT ticked FROM incident_checklist WHERE incident_id=?1 AND item=?2", &st,
			      err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, incident_id, &rc);
	rg_sq_bind_int(st, 2, item, &rc);
	if ((e = rg_sq_each_row(s, st, rc, first_int, &ticked, "checklist item", err)))
		return e;
	if (ticked < 0)
		return rg_fail(err, RG_ENOTFOUND, "item", "incident %lld has no checklist item %d",
			       (long long)incident_id, item);
	if (ticked > 0)
		return rg_fail(err, RG_ECONFLICT, "item", "checklist item %d is ticked already", item);
	if ((e = rg_sq_stmt(s, RG_SQ_INC_TICK,
			    "UPDATE incident_checklist SET ticked=?3, ticked_by=?4"
			    " WHERE incident_id=?1 AND item=?2",
			    &st, err)))
		return e;
	rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, incident_id, &rc);
	rg_sq_bind_int(st, 2, item, &rc);
	rg_sq_bind_int(st, 3, at, &rc);
	rg_sq_bind_str(st, 4, by, &rc);
	return rg_sq_exec(s, st, rc, "tick a checklist item", err);
}

rg_err rg_store_auto_rollbacks_since(rg_store *s, const char *env, int64_t since, int *n,
				     rg_error *err)
{
	sqlite3_stmt *st = NULL;
	int64_t count = 0;
	rg_err e = rg_sq_stmt(s, RG_SQ_INC_AUTO_ROLLBACKS,
			      "SELECT COUNT(DISTINCT d.run_id) FROM decisions d JOIN runs r ON r.id = d.run_id"
			      " WHERE r.env=?1 AND r.kind='deploy' AND d.\"action\"='rollback'"
			      " AND d.\"trigger\" != 'approved' AND d.at >= ?2",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_str(st, 1, env, &rc);
	rg_sq_bind_int(st, 2, since, &rc);
	e = rg_sq_each_row(s, st, rc, first_int, &count, "automatic rollbacks", err);
	*n = (int)count;
	return e;
}

/* ---- read side ------------------------------------------------------------- */

static void put(json_t *o, const char *key, json_t *v, bool *bad)
{
	if (!v || json_object_set_new(o, key, v) != 0)
		*bad = true;
}

/* "name": ISO-8601 UTC or null when 0, and "name_ms". */
static void put_time(json_t *o, const char *name, int64_t ms, bool *bad)
{
	char key[48];
	put(o, name, rg_json_time_or_null(ms), bad);
	snprintf(key, sizeof key, "%s_ms", name);
	put(o, key, json_integer(ms), bad);
}

static json_t *incident_object(const rg_incident *i)
{
	json_t *o = json_object();
	bool bad = !o;
	if (bad)
		return NULL;
	put(o, "id", json_integer(i->id), &bad);
	put(o, "env", rg_json_text(i->env), &bad);
	put(o, "severity", rg_json_text(i->severity), &bad);
	put(o, "kind", rg_json_text(i->kind), &bad);
	put(o, "state", rg_json_text(rg_incident_state_name(i->state)), &bad);
	put(o, "escalating", json_boolean(i->escalating), &bad);
	put(o, "level", json_integer(i->level), &bad);
	put(o, "failed_version", rg_json_text_or_null(i->failed_version), &bad);
	put(o, "restored_version", rg_json_text_or_null(i->restored_version), &bad);
	put(o, "trigger", rg_json_text_or_null(i->trigger), &bad);
	put_time(o, "next_escalation_at", i->next_escalation_at, &bad);
	put_time(o, "opened", i->opened, &bad);
	put(o, "opened_by", rg_json_text_or_null(i->opened_by), &bad);
	put_time(o, "acked", i->acked, &bad);
	put(o, "acked_by", rg_json_text_or_null(i->acked_by), &bad);
	put_time(o, "resolved", i->resolved, &bad);
	put(o, "resolved_by", rg_json_text_or_null(i->resolved_by), &bad);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static rg_err incident_json_row(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	rg_incident i;
	incident_read(st, &i);
	json_t *o = incident_object(&i);
	if (!o || json_array_append_new(ctx, o) != 0)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory listing incidents");
	return RG_OK;
}

rg_err rg_store_incidents_json(rg_store *s, const char *env, bool open_only, int64_t before,
			       int limit, json_t **out, rg_error *err)
{
	*out = NULL;
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_Q_INCIDENTS,
			      "SELECT " INCIDENT_COLUMNS " FROM incidents WHERE (?1 IS NULL OR env=?1)"
			      " AND (?4 = 0 OR state != 'resolved') AND id < ?3 ORDER BY id DESC LIMIT ?2",
			      &st, err);
	if (e)
		return e;
	json_t *arr = json_array();
	int rc = arr ? SQLITE_OK : SQLITE_NOMEM;
	rg_sq_bind_str(st, 1, env, &rc);
	rg_sq_bind_int(st, 2, limit > 0 ? limit : 100, &rc);
	rg_sq_bind_int(st, 3, before > 0 ? before : INT64_MAX, &rc);
	rg_sq_bind_int(st, 4, open_only, &rc);
	e = rg_sq_each_row(s, st, rc, incident_json_row, arr, "list incidents", err);
	if (e) {
		json_decref(arr);
		return e;
	}
	*out = arr;
	return RG_OK;
}

/* The covered runs as {"id","kind","version","from_version","state","plan",
 * "decisions"}: what the post-mortem says was undone and why. */
static rg_err runs_of(rg_store *s, int64_t id, json_t *arr, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	ids_out c = { 0 };
	rg_err e = rg_sq_stmt(s, RG_SQ_Q_INC_RUNS,
			      "SELECT run_id FROM incident_runs WHERE incident_id=?1 ORDER BY run_id", &st,
			      err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, id, &rc);
	e = rg_sq_each_row(s, st, rc, id_row, &c, "runs of an incident", err);
	for (size_t k = 0; !e && k < c.n; k++) {
		json_t *full = NULL;
		rg_run r;
		memset(&r, 0, sizeof r);
		if ((e = rg_store_run_json(s, c.ids[k], &full, err)))
			break;
		if ((e = rg_store_run_get(s, c.ids[k], &r, err))) {
			json_decref(full);
			break;
		}
		json_t *plan = r.plan ? json_loads(r.plan, 0, NULL) : NULL;
		rg_run_release(&r);
		json_t *o = json_pack("{s:O, s:O, s:O, s:O, s:O, s:o, s:O}", "id",
				      json_object_get(full, "id"), "kind", json_object_get(full, "kind"),
				      "version", json_object_get(full, "version"), "from_version",
				      json_object_get(full, "from_version"), "state",
				      json_object_get(full, "state"), "plan", plan ? plan : json_null(),
				      "decisions", json_object_get(full, "decisions"));
		json_decref(full);
		if (!o || json_array_append_new(arr, o) != 0)
			e = rg_fail(err, RG_ENOMEM, NULL, "out of memory reading an incident");
	}
	free(c.ids);
	return e;
}

static rg_err timeline_row(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	bool bad = false;
	json_t *o = json_object();
	int64_t at = sqlite3_column_int64(st, 0);
	const char *text[5];
	for (int k = 0; k < 5; k++)
		text[k] = (const char *)sqlite3_column_text(st, k + 1);
	if (!o)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory reading an incident");
	put_time(o, "at", at, &bad);
	put(o, "source", rg_json_text(text[0]), &bad);
	put(o, "run_id", json_integer(sqlite3_column_int64(st, 6)), &bad);
	put(o, "type", rg_json_text(text[1]), &bad);
	put(o, "step", rg_json_text_or_null(text[2]), &bad);
	put(o, "actor", rg_json_text_or_null(text[3]), &bad);
	put(o, "message", rg_json_text(text[4] ? text[4] : ""), &bad);
	if (bad || json_array_append_new(ctx, o) != 0)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory reading an incident");
	return RG_OK;
}

static rg_err timeline_of(rg_store *s, int64_t id, json_t *arr, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(
		s, RG_SQ_Q_INC_TIMELINE,
		"SELECT at, src, type, step, actor, message, run_id FROM ("
		" SELECT e.at AS at, 'run' AS src, e.type AS type, COALESCE(e.step, '') AS step,"
		"  '' AS actor, e.message AS message, e.run_id AS run_id, 0 AS o, e.id AS seq"
		"  FROM events e JOIN incident_runs ir ON ir.run_id = e.run_id WHERE ir.incident_id=?1"
		" UNION ALL"
		" SELECT at, 'incident', type, '', actor, message, 0, 1, id"
		"  FROM incident_entries WHERE incident_id=?1"
		") ORDER BY at, o, seq",
		&st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, id, &rc);
	return rg_sq_each_row(s, st, rc, timeline_row, arr, "timeline of an incident", err);
}

static rg_err item_row(sqlite3_stmt *st, void *ctx, rg_error *err)
{
	int64_t at = sqlite3_column_int64(st, 2);
	json_t *o = json_pack("{s:I, s:o, s:b, s:o, s:o}", "item", (json_int_t)sqlite3_column_int64(st, 0),
			      "text", rg_json_text((const char *)sqlite3_column_text(st, 1)),
			      "ticked", at != 0, "by",
			      rg_json_text_or_null((const char *)sqlite3_column_text(st, 3)), "at",
			      rg_json_time_or_null(at));
	if (!o || json_array_append_new(ctx, o) != 0)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory reading a checklist");
	return RG_OK;
}

static rg_err checklist_of(rg_store *s, int64_t id, json_t *arr, rg_error *err)
{
	sqlite3_stmt *st = NULL;
	rg_err e = rg_sq_stmt(s, RG_SQ_Q_INC_CHECKLIST,
			      "SELECT item, text, ticked, ticked_by FROM incident_checklist"
			      " WHERE incident_id=?1 ORDER BY item",
			      &st, err);
	if (e)
		return e;
	int rc = SQLITE_OK;
	rg_sq_bind_int(st, 1, id, &rc);
	return rg_sq_each_row(s, st, rc, item_row, arr, "checklist of an incident", err);
}

rg_err rg_store_incident_json(rg_store *s, int64_t id, json_t **out, rg_error *err)
{
	rg_incident i;
	*out = NULL;
	rg_err e = rg_store_incident_get(s, id, &i, err);
	if (e)
		return e;
	json_t *o = incident_object(&i);
	json_t *runs = json_array(), *timeline = json_array(), *checklist = json_array();
	json_t *decision = i.decision[0] ? json_loads(i.decision, 0, NULL) : NULL;
	bool bad = !o || !runs || !timeline || !checklist;
	if (!bad) {
		put(o, "decision", decision ? decision : json_null(), &bad);
		decision = NULL;
		put(o, "runs", json_incref(runs), &bad);
		put(o, "timeline", json_incref(timeline), &bad);
		put(o, "checklist", json_incref(checklist), &bad);
	}
	if (bad)
		e = rg_fail(err, RG_ENOMEM, NULL, "out of memory reading an incident");
	if (!e)
		e = runs_of(s, id, runs, err);
	if (!e)
		e = timeline_of(s, id, timeline, err);
	if (!e)
		e = checklist_of(s, id, checklist, err);
	json_decref(decision);
	json_decref(runs);
	json_decref(timeline);
	json_decref(checklist);
	if (e) {
		json_decref(o);
		return e;
	}
	*out = o;
	return RG_OK;
}
