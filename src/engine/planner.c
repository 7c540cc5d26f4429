/* planner.c — rollback plans: which commands, in which order.
 * It never runs anything and never reads the store: the caller supplies what
 * completed, which keeps every plan reproducible from the persisted JSON. */
#include "engine/planner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

bool rg_step_applies(const rg_step *s, const char *env)
{
	if (s->n_environments == 0)
		return true;
	for (size_t i = 0; i < s->n_environments; i++)
		if (strcmp(s->environments[i], env) == 0)
			return true;
	return false;
}

static rg_err plan_push(rg_plan *p, rg_plan_action action, int step, rg_error *err)
{
	rg_plan_entry *grown = realloc(p->entries, (p->n + 1) * sizeof *grown);
	if (!grown)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	p->entries = grown;
	p->entries[p->n++] = (rg_plan_entry){ action, step };
	return RG_OK;
}

static void plan_init(rg_plan *p, const char *removed, const char *target)
{
	memset(p, 0, sizeof *p);
	snprintf(p->removed, sizeof p->removed, "%s", removed ? removed : "");
	snprintf(p->target, sizeof p->target, "%s", target ? target : "");
}

static rg_err plan_pipeline(const rg_config *cfg, rg_plan *p, rg_error *err)
{
	for (size_t i = 0; i < cfg->n_rollback; i++) {
		rg_err rc = plan_push(p, RG_PLAN_PIPELINE, (int)i, err);
		if (rc)
			return rc;
	}
	return RG_OK;
}

/* The deploy step whose output a traffic step routes to ("app" of
 * backend: app.backend), or -1. */
static int backend_step(const rg_config *cfg, const rg_step *traffic)
{
	const char *ref = traffic->traffic.backend;
	const char *dot = ref ? strrchr(ref, '.') : NULL;
	for (size_t i = 0; dot && i < cfg->n_deploy; i++)
		if (strlen(cfg->deploy[i].name) == (size_t)(dot - ref) &&
		    strncmp(cfg->deploy[i].name, ref, (size_t)(dot - ref)) == 0)
			return (int)i;
	return -1;
}

/* A release that left the router (retired after a traffic step's drain)
 * must run again before traffic can go back to it: its backend step is
 * redeployed for the target first, and the router switches to it as soon
 * as that is done (reverse.c), before anything of the removed release is
 * undone. */
static rg_err plan_restart_target(const rg_config *cfg, const rg_step *traffic, rg_plan *p,
				  rg_error *err)
{
	int b = backend_step(cfg, traffic);
	if (b < 0 || !p->target[0])
		return RG_OK;
	return plan_push(p, RG_PLAN_REDEPLOY, b, err);
}

int rg_plan_backend_step(const rg_config *cfg, const char *env)
{
	for (size_t i = 0; i < cfg->n_deploy; i++)
		if (cfg->deploy[i].kind == RG_STEP_TRAFFIC && rg_step_applies(&cfg->deploy[i], env))
			return backend_step(cfg, &cfg->deploy[i]);
	return -1;
}

rg_err rg_plan_automatic(const rg_config *cfg, const int *completed, size_t n,
			 const char *removed, const char *target, rg_plan *out, rg_error *err)
{
	plan_init(out, removed, target);
	rg_err rc = RG_OK;
	for (size_t i = 0; i < n && !rc; i++)
		if (cfg->deploy[completed[i]].kind == RG_STEP_TRAFFIC)
			rc = plan_restart_target(cfg, &cfg->deploy[completed[i]], out, err);
	if (!rc && cfg->n_rollback > 0)
		rc = plan_pipeline(cfg, out, err);
	for (size_t i = n; cfg->n_rollback == 0 && i-- > 0 && !rc;)
		if (cfg->deploy[completed[i]].undo)
			rc = plan_push(out, RG_PLAN_UNDO, completed[i], err);
	if (rc)
		rg_plan_release(out);
	return rc;
}

rg_err rg_plan_manual(const rg_config *cfg, const char *env, const char *removed,
		      const char *target, rg_plan *out, rg_error *err)
{
	plan_init(out, removed, target);
	rg_err rc = RG_OK;
	int b = rg_plan_backend_step(cfg, env);
	if (b >= 0 && target && target[0])
		rc = plan_push(out, RG_PLAN_REDEPLOY, b, err);
	if (!rc && cfg->n_rollback > 0)
		rc = plan_pipeline(cfg, out, err);
	for (size_t i = cfg->n_deploy; cfg->n_rollback == 0 && i-- > 0 && !rc;) {
		const rg_step *s = &cfg->deploy[i];
		if (s->kind == RG_STEP_EXEC && s->undo && rg_step_applies(s, env))
			rc = plan_push(out, RG_PLAN_UNDO, (int)i, err);
	}
	for (size_t i = 0; cfg->n_rollback == 0 && i < cfg->n_deploy && !rc; i++) {
		const rg_step *s = &cfg->deploy[i];
		/* a backup is taken for a deploy, never redone for a rollback */
		/* nor a migration: its schema goes back by downgrade or restore */
		if (s->kind == RG_STEP_EXEC && !s->undo && !s->backup && !s->migrate &&
		    rg_step_applies(s, env))
			rc = plan_push(out, RG_PLAN_REDEPLOY, (int)i, err);
	}
	if (rc)
		rg_plan_release(out);
	return rc;
}

void rg_plan_release(rg_plan *p)
{
	free(p->entries);
	p->entries = NULL;
	p->n = 0;
}

int rg_plan_migrate_step(const rg_config *cfg, const char *env)
{
	for (size_t i = 0; i < cfg->n_deploy; i++)
		if (cfg->deploy[i].migrate && rg_step_applies(&cfg->deploy[i], env))
			return (int)i;
	return -1;
}

static int backup_step_named(const rg_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_deploy; i++)
		if (cfg->deploy[i].backup && strcmp(cfg->deploy[i].name, name) == 0)
			return (int)i;
	return -1;
}

static bool listed(const int *list, size_t n, int v)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == v)
			return true;
	return false;
}

static rg_err plan_insert(rg_plan *p, size_t at, rg_plan_action action, int step, rg_error *err)
{
	rg_err rc = plan_push(p, action, step, err);
	if (rc)
		return rc;
	memmove(&p->entries[at + 1], &p->entries[at], (p->n - 1 - at) * sizeof *p->entries);
	p->entries[at] = (rg_plan_entry){ action, step };
	return RG_OK;
}

/* Where the migrate step's undo would stand: before the first undo of a
 * step that ran before it, or the first redeploy after the plan's start
 * (a leading redeploy brings the target's backend back first). */
static size_t schema_slot(const rg_plan *p, int migrate)
{
	for (size_t i = 0; i < p->n; i++) {
		const rg_plan_entry *e = &p->entries[i];
		if (e->action == RG_PLAN_UNDO && e->step < migrate)
			return i;
		if (e->action == RG_PLAN_REDEPLOY && i > 0)
			return i;
	}
	return p->n;
}

rg_err rg_plan_schema(const rg_config *cfg, const char *env, const int *completed, size_t n,
		      const rg_plan_data *d, rg_plan *p, rg_error *err)
{
	snprintf(p->schema_from, sizeof p->schema_from, "%s", d->removed_schema);
	snprintf(p->schema_to, sizeof p->schema_to, "%s", d->target_schema);
	int backup = d->backup_id > 0 ? backup_step_named(cfg, d->backup_step) : -1;
	p->backup_id = backup >= 0 ? d->backup_id : 0;
	p->backup_at = backup >= 0 ? d->backup_at : 0;
	int m = rg_plan_migrate_step(cfg, env);
	if (m < 0 || (completed && !listed(completed, n, m)) || !p->target[0] ||
	    !d->removed_schema[0] || !d->target_schema[0] ||
	    strcmp(d->removed_schema, d->target_schema) == 0)
		return RG_OK;
	size_t at = schema_slot(p, m);
	if (cfg->deploy[m].migrate->reversible)
		return plan_insert(p, at, RG_PLAN_DOWNGRADE, m, err);
	if (backup < 0)
		return RG_OK;
	return plan_insert(p, at, RG_PLAN_RESTORE, backup, err);
}

bool rg_plan_restore_after(const rg_config *cfg, rg_plan *p, size_t at, rg_error *err)
{
	if (p->backup_id <= 0 || rg_plan_restore_index(p) >= 0)
		return false;
	int backup = -1;
	for (size_t i = 0; i < cfg->n_deploy && backup < 0; i++)
		if (cfg->deploy[i].backup)
			backup = (int)i;
	return backup >= 0 && plan_insert(p, at + 1, RG_PLAN_RESTORE, backup, err) == RG_OK;
}

int rg_plan_restore_index(const rg_plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->entries[i].action == RG_PLAN_RESTORE)
			return (int)i;
	return -1;
}

static const char *const action_names[] = { "undo", "run", "redeploy", "downgrade", "restore" };

const char *rg_plan_action_name(rg_plan_action a)
{
	return action_names[a];
}

const rg_step *rg_plan_step(const rg_config *cfg, const rg_plan_entry *e)
{
	return e->action == RG_PLAN_PIPELINE ? &cfg->rollback[e->step] : &cfg->deploy[e->step];
}

const char *rg_plan_command(const rg_config *cfg, const rg_plan_entry *e)
{
	const rg_step *s = rg_plan_step(cfg, e);
	if (e->action == RG_PLAN_DOWNGRADE)
		return s->migrate ? s->migrate->down : NULL;
	if (e->action == RG_PLAN_RESTORE)
		return s->backup ? s->backup->restore : NULL;
	return e->action == RG_PLAN_UNDO ? s->undo : s->run;
}

json_t *rg_plan_to_json(const rg_config *cfg, const rg_plan *p)
{
	json_t *entries = json_array();
	for (size_t i = 0; i < p->n; i++)
		json_array_append_new(entries, json_pack("{s:s, s:i, s:s}",
			"action", rg_plan_action_name(p->entries[i].action),
			"step", p->entries[i].step,
			"name", rg_plan_step(cfg, &p->entries[i])->name));
	json_t *j = json_pack("{s:s, s:s, s:o, s:{s:s, s:s}, s:{s:I, s:I}}", "removed", p->removed,
			      "target", p->target, "entries", entries, "schema", "from", p->schema_from,
			      "to", p->schema_to, "backup", "id", (json_int_t)p->backup_id,
			      "at", (json_int_t)p->backup_at);
	if (j && p->config_only)
		json_object_set_new(j, "config_only", json_true());
	return j;
}

static int action_from_name(const char *name)
{
	for (int a = 0; a < 5; a++)
		if (strcmp(action_names[a], name) == 0)
			return a;
	return -1;
}

/* The persisted plan names each step; a config edited between the decision
 * and a restart must not silently run a different command. */
static rg_err entry_from_json(const rg_config *cfg, json_t *j, rg_plan_entry *e, rg_error *err)
{
	const char *action, *name;
	int step;
	if (json_unpack(j, "{s:s, s:i, s:s}", "action", &action, "step", &step, "name", &name))
		return rg_fail(err, RG_EINVAL, "plan", "malformed plan entry");
	int a = action_from_name(action);
	size_t limit = a == RG_PLAN_PIPELINE ? cfg->n_rollback : cfg->n_deploy;
	if (a < 0 || step < 0 || (size_t)step >= limit)
		return rg_fail(err, RG_EINVAL, "plan", "plan step '%s' is not in the config", name);
	*e = (rg_plan_entry){ (rg_plan_action)a, step };
	if (!rg_plan_command(cfg, e))
		return rg_fail(err, RG_EINVAL, "plan", "plan step '%s' has no %s command any more",
			       name, action);
	if (strcmp(rg_plan_step(cfg, e)->name, name) != 0)
		return rg_fail(err, RG_EINVAL, "plan",
			       "plan step '%s' no longer matches the config", name);
	return RG_OK;
}

rg_err rg_plan_from_json(const rg_config *cfg, const char *text, rg_plan *out, rg_error *err)
{
	json_error_t jerr;
	json_t *root = json_loads(text ? text : "", 0, &jerr);
	const char *removed = NULL, *target = NULL;
	json_t *entries = NULL;
	if (!root || json_unpack(root, "{s:s, s:s, s:o}", "removed", &removed, "target", &target,
				 "entries", &entries) || !json_is_array(entries)) {
		json_decref(root);
		return rg_fail(err, RG_EINVAL, "plan", "stored rollback plan is malformed");
	}
	plan_init(out, removed, target);
	const char *from = NULL, *to = NULL;
	json_int_t bid = 0, bat = 0;
	/* plans stored before schema versions have neither */
	if (!json_unpack(root, "{s:{s:s, s:s}}", "schema", "from", &from, "to", &to)) {
		snprintf(out->schema_from, sizeof out->schema_from, "%s", from);
		snprintf(out->schema_to, sizeof out->schema_to, "%s", to);
	}
	out->config_only = json_is_true(json_object_get(root, "config_only"));
	if (!json_unpack(root, "{s:{s:I, s:I}}", "backup", "id", &bid, "at", &bat)) {
		out->backup_id = bid;
		out->backup_at = bat;
	}
	rg_err rc = RG_OK;
	size_t i;
	json_t *j;
	json_array_foreach(entries, i, j) {
		rg_plan_entry e = { RG_PLAN_UNDO, 0 };
		rc = entry_from_json(cfg, j, &e, err);
		if (!rc)
			rc = plan_push(out, e.action, e.step, err);
		if (rc)
			break;
	}
	json_decref(root);
	if (rc)
		rg_plan_release(out);
	return rc;
}

static bool check_listed(const rg_check **list, size_t n, const rg_check *c)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == c)
			return true;
	return false;
}

rg_err rg_plan_verify_checks(const rg_config *cfg, const char *env, const rg_check ***out,
			     size_t *n, rg_error *err)
{
	*out = NULL;
	*n = 0;
	size_t cap = 0;
	for (size_t i = 0; i < cfg->n_deploy; i++) {
		const rg_step *s = &cfg->deploy[i];
		if (s->kind != RG_STEP_CHECKS || !rg_step_applies(s, env))
			continue;
		for (size_t k = 0; k < s->n_checks; k++) {
			const rg_check *c = rg_config_check(cfg, s->checks[k]);
			if (!c || check_listed(*out, *n, c))
				continue;
			if (RG_ALLOC_GROW(*out, *n + 1, cap)) {
				free(*out);
				*out = NULL;
				*n = 0;
				return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
			}
			(*out)[(*n)++] = c;
		}
	}
	return RG_OK;
}
