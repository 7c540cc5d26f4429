/* test_store_incidents.c — the incident rows: the unresolved incident of a
 * release is found to join, a resolved one is not; the due list and the
 * next due time; checklist ticks once; the JSON's timeline merges the
 * runs' events with the incident's own entries by time; paging. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"

#include "../support/store_dir.h"

static store_dir tmp;
static rg_store *s;
static rg_error err;

static void setup(void)
{
	store_dir_make(&tmp);
	cr_assert_eq(rg_store_open(tmp.path, &s, &err), RG_OK, "%s", err.message);
}

static void teardown(void)
{
	rg_store_free(s);
	s = NULL;
	store_dir_remove(&tmp);
}

TestSuite(store_incidents, .init = setup, .fini = teardown);

static int64_t add(const char *env, const char *failed, int64_t next_at)
{
	rg_incident i;
	memset(&i, 0, sizeof i);
	snprintf(i.env, sizeof i.env, "%s", env);
	snprintf(i.severity, sizeof i.severity, "P1");
	snprintf(i.kind, sizeof i.kind, "rollback");
	snprintf(i.failed_version, sizeof i.failed_version, "%s", failed);
	i.opened = 1000;
	i.next_escalation_at = next_at;
	cr_assert_eq(rg_store_incident_add(s, &i, &err), RG_OK, "%s", err.message);
	return i.id;
}

Test(store_incidents, open_of_and_resolved)
{
	int64_t a = add("production", "v2", 0);
	rg_incident i;
	bool found;
	cr_assert_eq(rg_store_incident_open_of(s, "production", "v2", &i, &found, &err), RG_OK);
	cr_assert(found);
	cr_assert_eq(i.id, a);
	cr_assert_eq(rg_store_incident_open_of(s, "staging", "v2", &i, &found, &err), RG_OK);
	cr_assert_not(found, "another environment");
	cr_assert_eq(rg_store_incident_get(s, a, &i, &err), RG_OK);
	i.state = RG_INCIDENT_RESOLVED;
	cr_assert_eq(rg_store_incident_update(s, &i, &err), RG_OK);
	cr_assert_eq(rg_store_incident_open_of(s, "production", "v2", &i, &found, &err), RG_OK);
	cr_assert_not(found, "a resolved incident is not joined");
	cr_assert_eq(rg_store_incident_get(s, 99, &i, &err), RG_ENOTFOUND);
}

Test(store_incidents, due_in_order)
{
	add("production", "v1", 5000);
	int64_t b = add("production", "v2", 3000);
	add("production", "v3", 0);
	int64_t at, *ids;
	size_t n;
	cr_assert_eq(rg_store_incident_next_due(s, &at, &err), RG_OK);
	cr_assert_eq(at, 3000);
	cr_assert_eq(rg_store_incidents_due(s, 4000, &ids, &n, &err), RG_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(ids[0], b);
	free(ids);
	cr_assert_eq(rg_store_incidents_due(s, 9000, &ids, &n, &err), RG_OK);
	cr_assert_eq(n, 2);
	cr_assert_eq(ids[0], b, "the oldest due first");
	free(ids);
}

Test(store_incidents, checklist_ticks_once)
{
	int64_t a = add("production", "v2", 0);
	cr_assert_eq(rg_store_incident_item_add(s, a, 1, "Root cause identified", &err), RG_OK);
	cr_assert_eq(rg_store_incident_tick(s, a, 1, "olga", 2000, &err), RG_OK);
	cr_assert_eq(rg_store_incident_tick(s, a, 1, "olga", 2000, &err), RG_ECONFLICT);
	cr_assert_eq(rg_store_incident_tick(s, a, 2, "olga", 2000, &err), RG_ENOTFOUND);
	json_t *o;
	cr_assert_eq(rg_store_incident_json(s, a, &o, &err), RG_OK, "%s", err.message);
	json_t *it = json_array_get(json_object_get(o, "checklist"), 0);
	cr_assert(json_is_true(json_object_get(it, "ticked")));
	cr_assert_str_eq(json_string_value(json_object_get(it, "by")), "olga");
	json_decref(o);
}

Test(store_incidents, timeline_merges_run_events_and_entries)
{
	rg_run r;
	memset(&r, 0, sizeof r);
	snprintf(r.env, sizeof r.env, "production");
	r.kind = RG_KIND_DEPLOY;
	snprintf(r.version, sizeof r.version, "v2");
	r.state = RG_RUN_RUNNING;
	r.phase = RG_PHASE_FORWARD;
	cr_assert_eq(rg_store_run_insert(s, &r, &err), RG_OK, "%s", err.message);
	int64_t a = add("production", "v2", 0);
	cr_assert_eq(rg_store_event_add(s, r.id, "queued", NULL, "deploy", &err), RG_OK);
	cr_assert_eq(rg_store_incident_run_add(s, a, r.id, &err), RG_OK);
	cr_assert_eq(rg_store_incident_run_add(s, a, r.id, &err), RG_OK, "joining twice is once");
	cr_assert_eq(rg_store_incident_entry_add(s, a, "note", "olga", "looking", &err), RG_OK);
	json_t *o;
	cr_assert_eq(rg_store_incident_json(s, a, &o, &err), RG_OK, "%s", err.message);
	json_t *tl = json_object_get(o, "timeline");
	cr_assert_eq(json_array_size(tl), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(tl, 0), "source")), "run");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(tl, 1), "actor")), "olga");
	cr_assert_eq(json_array_size(json_object_get(o, "runs")), 1);
	json_decref(o);
	cr_assert_eq(rg_store_incidents_json(s, NULL, true, a, 10, &o, &err), RG_OK);
	cr_assert_eq(json_array_size(o), 0, "before the first id: nothing");
	json_decref(o);
}
