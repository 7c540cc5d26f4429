/* migrate.c — schema versions: what a migrate step reports is checked and
 * recorded with the release, and what a rollback needs to decide between
 * downgrade and restore is looked up here (the planner stays pure). */
#include "engine/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/names.h"
#include "util/timeutil.h"

/* The `schema=` output of the step just run into out ("" if none). */
static rg_err reported(rg_active *a, char *out, size_t size, rg_error *err)
{
	char **keys = NULL, **values = NULL;
	size_t n = 0;
	out[0] = '\0';
	rg_err rc = rg_exec_read_outputs(a->launch.output_path, &keys, &values, &n, err);
	for (size_t i = 0; !rc && i < n; i++)
		if (strcmp(keys[i], "schema") == 0)
			snprintf(out, size, "%s", values[i]);
	rg_exec_outputs_free(keys, values, n);
	return rc;
}

rg_err rg_migrate_check(rg_active *a, const rg_step *s, rg_error *err)
{
	if (!s->migrate)
		return RG_OK;
	char schema[RG_VNAME_LEN];
	rg_err rc = reported(a, schema, sizeof schema, err);
	if (!rc && schema[0] && !rg_name_valid(schema))
		rc = rg_fail(err, RG_EINVAL, "schema",
			     "migrate: schema version '%.80s' is not valid (letters, digits, '.', '_', '+', '-'; at most 64)",
			     schema);
	return rc;
}

rg_err rg_migrate_record(rg_active *a, const rg_step *s, rg_error *err)
{
	if (!s->migrate)
		return RG_OK;
	char schema[RG_VNAME_LEN], msg[300];
	rg_err rc = reported(a, schema, sizeof schema, err);
	if (rc || !schema[0] || !rg_name_valid(schema))
		return rc;
	rc = rg_store_schema_put(a->eng->store, a->run.env, a->run.version, s->name, schema,
				 rg_now_ms(), err);
	snprintf(msg, sizeof msg, "release %s has schema %s", a->run.version, schema);
	if (!rc)
		rc = rg_store_event_add(a->eng->store, a->run.id, "schema_recorded", s->name, msg, err);
	return rc;
}

rg_err rg_migrate_plan_data(rg_engine *e, const char *env, const char *removed,
			    const char *target, int64_t run_id, rg_plan_data *out, rg_error *err)
{
	memset(out, 0, sizeof *out);
	rg_err rc = rg_store_schema_get(e->store, env, removed, out->removed_schema,
					sizeof out->removed_schema, err);
	if (!rc && target && target[0])
		rc = rg_store_schema_get(e->store, env, target, out->target_schema,
					 sizeof out->target_schema, err);
	if (rc)
		return rc;
	rg_backup b;
	bool found = false;
	if (run_id <= 0) {
		rg_release rel;
		if (rg_store_release_get(e->store, env, removed, &rel, NULL) == RG_OK)
			run_id = rel.run_id;
	}
	rc = rg_store_backup_before(e->store, env, removed, run_id, &b, &found, err);
	if (!rc && found) {
		out->backup_id = b.id;
		out->backup_at = b.created;
		snprintf(out->backup_step, sizeof out->backup_step, "%s", b.step);
	}
	rg_backup_release(&b);
	return rc;
}

void rg_migrate_clock(int64_t ms, char *out, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!localtime_r(&t, &tm) || !strftime(out, size, "%H:%M:%S", &tm))
		snprintf(out, size, "?");
}

void rg_migrate_loss(const rg_plan *p, int64_t now, char *out, size_t size)
{
	char at[16];
	rg_migrate_clock(p->backup_at, at, sizeof at);
	int64_t mins = (now - p->backup_at) / 60000;
	char ago[48];
	if (mins < 1)
		snprintf(ago, sizeof ago, "under a minute");
	else if (mins < 120)
		snprintf(ago, sizeof ago, "%lld min", (long long)mins);
	else
		snprintf(ago, sizeof ago, "%lld h", (long long)(mins / 60));
	snprintf(out, size,
		 "restore backup #%lld taken %s before deploy of %s: writes since %s \xe2\x80\x94 %s \xe2\x80\x94 are lost",
		 (long long)p->backup_id, at, p->removed, at, ago);
}
