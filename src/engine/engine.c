/* engine.c — the engine object: runs in memory, start-up resume, the public
 * requests that create or feed a run (deploy, manual rollback, an alert,
 * a step's log) and shutdown; the controls of a run are in controls.c.
 * Requests are validated completely before anything is written; a refused
 * request changes nothing. */
#include "engine/engine_internal.h"

#include "routers/routers.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/transitions.h"
#include "util/log.h"
#include "util/names.h"
#include "util/timeutil.h"

/* Only the test build (RG_TEST_HOOKS, `make test`) reads the crash hook: a
 * release binary must never kill itself because of its environment. */
static void read_crash_point(rg_engine *e)
{
#ifndef RG_TEST_HOOKS
	(void)e;
#else
	const char *spec = getenv("ROLLGUARD_CRASH_AT");
	const char *colon = spec ? strchr(spec, ':') : NULL;
	if (!colon || (size_t)(colon - spec) >= sizeof e->crash_point)
		return;
	snprintf(e->crash_point, sizeof e->crash_point, "%.*s", (int)(colon - spec), spec);
	snprintf(e->crash_step, sizeof e->crash_step, "%s", colon + 1);
#endif
}

rg_err rg_engine_new(uv_loop_t *loop, const rg_config *cfg, rg_store *store,
		     rg_routers *routers, rg_dataplane *dp, rg_engine **out, rg_error *err)
{
	rg_engine *e = calloc(1, sizeof *e);
	if (!e)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	e->loop = loop;
	e->cfg = cfg;
	e->store = store;
	e->routers = routers;
	e->dp = dp;
	rg_err rc = rg_checker_new(loop, &e->checker, err);
	if (rc) {
		free(e);
		return rc;
	}
	rc = rg_http_new(loop, &e->http, err);
	if (rc) {
		rg_checker_free(e->checker, NULL, NULL);
		free(e);
		return rc;
	}
	read_crash_point(e);
	*out = e;
	return RG_OK;
}

rg_err rg_engine_subscribe(rg_engine *e, rg_news_fn fn, void *ctx, rg_error *err)
{
	if (e->n_subscribers >= RG_ENGINE_MAX_SUBSCRIBERS)
		return rg_fail(err, RG_ECONFLICT, NULL, "the engine has %d subscribers already",
			       RG_ENGINE_MAX_SUBSCRIBERS);
	e->subscribers[e->n_subscribers].fn = fn;
	e->subscribers[e->n_subscribers].ctx = ctx;
	e->n_subscribers++;
	return RG_OK;
}

void rg_engine_unsubscribe(rg_engine *e, rg_news_fn fn, void *ctx)
{
	for (size_t i = 0; i < e->n_subscribers; i++) {
		if (e->subscribers[i].fn != fn || e->subscribers[i].ctx != ctx)
			continue;
		memmove(&e->subscribers[i], &e->subscribers[i + 1],
			(e->n_subscribers - i - 1) * sizeof e->subscribers[0]);
		e->n_subscribers--;
		return;
	}
}

rg_err rg_engine_hook_changes(rg_engine *e, rg_change_fn fn, void *ctx, rg_error *err)
{
	if (e->n_hooks >= RG_ENGINE_MAX_HOOKS)
		return rg_fail(err, RG_ECONFLICT, NULL, "the engine has %d change hooks already",
			       RG_ENGINE_MAX_HOOKS);
	e->hooks[e->n_hooks].fn = fn;
	e->hooks[e->n_hooks].ctx = ctx;
	e->n_hooks++;
	return RG_OK;
}

rg_err rg_engine_changed(rg_engine *e, const rg_change *c, rg_error *err)
{
	for (size_t i = 0; i < e->n_hooks; i++) {
		rg_err rc = e->hooks[i].fn(e->hooks[i].ctx, e->store, c, err);
		if (rc)
			return rc;
	}
	return RG_OK;
}

const char *rg_news_kind_name(rg_news_kind k)
{
	static const char *const names[] = { "timeline", "run_state", "release_state", "decision" };
	return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

void rg_engine_publish(rg_engine *e, const rg_news *news)
{
	for (size_t i = 0; i < e->n_subscribers; i++)
		e->subscribers[i].fn(e->subscribers[i].ctx, news);
}

void rg_engine_notify(rg_engine *e, int64_t run_id)
{
	rg_news n = { .kind = RG_NEWS_TIMELINE, .run_id = run_id };
	rg_engine_publish(e, &n);
}

/* Tests kill the server at exact points of a run's life to prove that a
 * restart resumes it; this is a real SIGKILL, nothing is flushed. */
void rg_engine_crash_point(rg_engine *e, const char *point, const char *step)
{
	if (e->crash_point[0] && strcmp(e->crash_point, point) == 0 &&
	    strcmp(e->crash_step, step) == 0) {
		rg_warn("crash point %s:%s reached: killing the server", point, step);
		raise(SIGKILL);
	}
}

rg_active *rg_engine_find(rg_engine *e, int64_t run_id)
{
	for (rg_active *a = e->runs; a; a = a->next)
		if (a->run.id == run_id)
			return a;
	return NULL;
}

void rg_engine_each_run(rg_engine *e, void (*fn)(void *ctx, const rg_run *run), void *ctx)
{
	for (rg_active *a = e->runs; a; a = a->next)
		if (!a->released)
			fn(ctx, &a->run);
}

/* Nothing will ever record the result of a stranded run's step, so its
 * command must not go on unobserved. */
static void stop_stranded_step(rg_engine *e, int64_t run_id)
{
	rg_run r;
	rg_step_run sr;
	if (rg_store_run_get(e->store, run_id, &r, NULL) != RG_OK)
		return;
	if (rg_store_step_get(e->store, run_id, rg_run_phase_name(r.phase), r.cursor, &sr, NULL) == RG_OK &&
	    strcmp(sr.state, "running") == 0)
		rg_step_kill_stale(&sr);
	rg_run_release(&r);
}

static void on_route_reapplied(void *ctx, rg_err rc, const char *message, int64_t apply_us)
{
	const rg_env *env = ctx;
	if (rc)
		rg_error_log("environment '%s': the stored route could not be applied: %s", env->name,
			     message);
	else
		rg_info("environment '%s': stored route applied (%lld us)", env->name, (long long)apply_us);
}

/* What the store says each router should do, told again: the router may
 * have restarted, or serve may have stopped between a commit and its apply. */
static void reapply_routes(rg_engine *e)
{
	for (size_t i = 0; e->routers && i < e->cfg->n_envs; i++) {
		const rg_env *env = &e->cfg->envs[i];
		rg_route_state st;
		rg_error err;
		if (!rg_routers_kind(e->routers, env->name) ||
		    rg_store_route_get(e->store, env->name, &st, &err) != RG_OK)
			continue;
		if (rg_routers_apply(e->routers, &st, on_route_reapplied, (void *)env, NULL, &err))
			rg_error_log("environment '%s': %s", env->name, err.message);
	}
}

rg_err rg_engine_resume_all(rg_engine *e, rg_error *err)
{
	int64_t *ids = NULL;
	size_t n = 0;
	reapply_routes(e);
	rg_launch_reap_stopped(e);
	rg_err rc = rg_store_runs_unfinished(e->store, &ids, &n, err);
	for (size_t i = 0; !rc && i < n; i++) {
		rg_active *a;
		rg_error why;
		/* One run that cannot be resumed (its environment or a planned
		 * step left the config) must not keep the others from going on:
		 * it stays as it is, for a person to look at. */
		if (rg_active_new(e, ids[i], &a, &why) != RG_OK) {
			stop_stranded_step(e, ids[i]);
			rg_error_log("run %lld cannot be resumed: %s; its running step, if any, was stopped",
				     (long long)ids[i], why.message);
			continue;
		}
		rg_info("resuming run %lld (%s %s in %s, state %s)", (long long)a->run.id,
			rg_run_kind_name(a->run.kind), a->run.version, a->run.env,
			rg_run_state_name(a->run.state));
		rg_run_start_deadline(a);
		if (a->run.state == RG_RUN_MONITORING)
			rg_window_resume(a);
		else
			rg_run_advance(a);
	}
	free(ids);
	return rc;
}

static rg_err check_env(const rg_engine *e, const char *env, rg_error *err)
{
	if (!rg_name_valid(env))
		return rg_fail(err, RG_EINVAL, "env", "invalid environment name '%.80s'", env ? env : "");
	if (!rg_config_env(e->cfg, env))
		return rg_fail(err, RG_ENOTFOUND, "env", "unknown environment '%s'", env);
	return RG_OK;
}

/* The news of a run just created: its state, its release's, a manual decision. */
static void publish_created(rg_engine *e, const rg_run *r, const rg_release *rel,
			    rg_release_state rel_from, const rg_decision *d)
{
	const char *kind = rg_run_kind_name(r->kind);
	rg_news n = { .kind = RG_NEWS_RUN_STATE, .run_id = r->id, .env = r->env,
		      .version = r->version, .run_kind = kind, .from = "",
		      .to = rg_run_state_name(r->state) };
	rg_engine_publish(e, &n);
	if (rel && rel_from != rel->state) {
		n.kind = RG_NEWS_RELEASE_STATE;
		n.from = rg_release_state_name(rel_from);
		n.to = rg_release_state_name(rel->state);
		rg_engine_publish(e, &n);
	}
	if (d) {
		n = (rg_news){ .kind = RG_NEWS_DECISION, .run_id = r->id, .env = r->env,
			       .version = r->version, .run_kind = kind, .decision = d };
		rg_engine_publish(e, &n);
	}
}

/* rel (with rel_from, its state before) and d may be NULL. */
static rg_err create_run(rg_engine *e, rg_run *r, const rg_release *rel, rg_release_state rel_from,
			 bool clear_outputs, const rg_decision *d, const char *message, rg_error *err)
{
	rg_err rc = rg_store_begin(e->store, err);
	if (!rc)
		rc = rg_store_run_insert(e->store, r, err);
	if (!rc && rel)
		rc = rg_store_release_put(e->store, rel, err);
	if (!rc && clear_outputs)
		rc = rg_store_outputs_clear(e->store, r->env, r->version, err);
	if (!rc && d)
		rc = rg_store_decision_put(e->store, r->id, d, err);
	if (!rc)
		rc = rg_store_event_add(e->store, r->id, "queued", NULL, message, err);
	if (!rc) {
		rg_change c = { .run = r, .created = true, .event = "queued", .message = message,
				.decision = d };
		rc = rg_engine_changed(e, &c, err);
	}
	if (!rc)
		rc = rg_store_commit(e->store, err);
	if (rc) {
		rg_store_abandon(e->store);
		return rc;
	}
	publish_created(e, r, rel, rel_from, d);
	return RG_OK;
}

static void on_first_turn(uv_timer_t *t)
{
	rg_run_advance(t->data);
}

static rg_err active_make(rg_engine *e, rg_run *r, rg_active **out, rg_error *err);

/* A new run: its memory is made first and its row committed then, so that
 * no run is ever stored without the engine driving it (a failed allocation
 * refuses the request and stores nothing). It begins on the loop's next
 * turn, so the request that created it is answered (with the run's id)
 * before any step starts. */
static rg_err start_new_run(rg_engine *e, rg_run *r, const rg_release *rel,
			    rg_release_state rel_from, bool clear_outputs, const rg_decision *d,
			    const char *message, rg_error *err)
{
	rg_run mem = *r;
	mem.plan = r->plan ? strdup(r->plan) : NULL;
	if (r->plan && !mem.plan)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	rg_active *a;
	rg_err rc = active_make(e, &mem, &a, err);
	if (!rc)
		rc = create_run(e, r, rel, rel_from, clear_outputs, d, message, err);
	if (rc) {
		if (a)
			rg_active_release(a);
		return rc;
	}
	a->run.id = r->id;
	rg_engine_notify(e, r->id);
	rg_run_start_deadline(a);
	uv_timer_start(&a->timer, on_first_turn, 0, 0);
	return RG_OK;
}

/* An emergency names its reason; skipping the monitor is an emergency's. */
static rg_err check_emergency(bool emergency, const char *reason, bool skip_monitor,
			      rg_error *err)
{
	if (emergency && (!reason || !*reason))
		return rg_fail(err, RG_EINVAL, "reason", "an emergency needs a reason (--reason TEXT)");
	if (skip_monitor && !emergency)
		return rg_fail(err, RG_EINVAL, "skip_monitor",
			       "skipping the monitor window is only for an emergency deploy (--emergency)");
	return RG_OK;
}

static void deploy_message(const rg_run *r, const char *gate_note, char *msg, size_t size)
{
	if (r->emergency)
		snprintf(msg, size, "EMERGENCY deploy of %s to %s requested by %s: %s; approval gates skipped%s",
			 r->version, r->env, r->actor, r->reason,
			 r->skip_monitor ? ", monitor window skipped" : "");
	else
		snprintf(msg, size, "deploy of %s to %s requested by %s%s", r->version, r->env, r->actor,
			 gate_note);
}

rg_err rg_engine_deploy(rg_engine *e, const rg_deploy_request *req, int64_t *run_id,
			rg_error *err)
{
	const char *env = req->env, *version = req->version;
	if (e->shutting_down)
		return rg_fail(err, RG_EUNAVAILABLE, NULL, "server is shutting down");
	rg_err rc = check_env(e, env, err);
	if (!rc && !rg_name_valid(version))
		rc = rg_fail(err, RG_EINVAL, "version", "invalid version '%.80s'", version ? version : "");
	if (!rc)
		rc = check_emergency(req->emergency, req->reason, req->skip_monitor, err);
	if (rc)
		return rc;
	const rg_env *en = rg_config_env(e->cfg, env);
	rg_release cur, rel;
	bool has_cur = rg_store_release_current(e->store, env, &cur, NULL) == RG_OK;
	bool is_cur = has_cur && strcmp(cur.version, version) == 0;
	bool gated = en->gate_deploy.enabled && !req->emergency;
	rg_run r;
	memset(&r, 0, sizeof r);
	snprintf(r.env, sizeof r.env, "%s", env);
	r.kind = RG_KIND_DEPLOY;
	snprintf(r.version, sizeof r.version, "%s", version);
	snprintf(r.from_version, sizeof r.from_version, "%s", has_cur ? cur.version : "");
	r.state = RG_RUN_QUEUED;
	r.phase = RG_PHASE_FORWARD;
	snprintf(r.actor, sizeof r.actor, "%s", req->actor ? req->actor : "api");
	r.created = rg_now_ms();
	/* A gated deploy's timeout runs from when it starts (run.c). */
	r.deadline = en->timeout_ms > 0 && !gated ? r.created + en->timeout_ms : 0;
	if (gated)
		snprintf(r.gate, sizeof r.gate, "deploy");
	r.emergency = req->emergency;
	r.skip_monitor = req->skip_monitor;
	snprintf(r.reason, sizeof r.reason, "%s", req->emergency ? req->reason : "");
	/* A redeploy of the live release keeps it live until the new run
	 * makes it live again; any other release starts over as pending. */
	if (rg_store_release_get(e->store, env, version, &rel, NULL) != RG_OK) {
		memset(&rel, 0, sizeof rel);
		snprintf(rel.env, sizeof rel.env, "%s", env);
		snprintf(rel.version, sizeof rel.version, "%s", version);
		rel.created = r.created;
	}
	rg_release_state rel_from = rel.state;
	if (!is_cur)
		rel.state = RG_REL_PENDING;
	rel.updated = r.created;
	char msg[800];
	deploy_message(&r, gated ? "; it waits for approval" : "", msg, sizeof msg);
	rc = start_new_run(e, &r, &rel, rel_from, !is_cur, NULL, msg, err);
	if (rc)
		return rc;
	rg_info("run %lld: %s", (long long)r.id, msg);
	*run_id = r.id;
	return RG_OK;
}

/* ---- manual rollback ----------------------------------------------------- */

typedef struct rollback_target {
	rg_release live;
	rg_release target;
} rollback_target;

static rg_err pick_target(rg_engine *e, const rg_rollback_request *req, rollback_target *t,
			  rg_error *err)
{
	if (rg_store_release_current(e->store, req->env, &t->live, NULL) != RG_OK)
		return rg_fail(err, RG_ECONFLICT, "env", "environment '%s' has no live release to roll back",
			       req->env);
	if (!req->to) {
		if (rg_store_release_last_known_good(e->store, req->env, t->live.version, &t->target,
						     NULL) != RG_OK)
			return rg_fail(err, RG_ENOTFOUND, "to",
				       "no earlier known-good release in '%s' to roll back to", req->env);
		return RG_OK;
	}
	if (rg_store_release_get(e->store, req->env, req->to, &t->target, NULL) != RG_OK)
		return rg_fail(err, RG_ENOTFOUND, "to", "unknown release '%s' in '%s'", req->to, req->env);
	if (strcmp(req->to, t->live.version) == 0)
		return rg_fail(err, RG_ECONFLICT, "to", "release '%s' is already live in '%s'", req->to,
			       req->env);
	if (t->target.verified_at == 0 && !req->force)
		return rg_fail(err, RG_EFORBIDDEN, "to",
			       "release '%s' never became known good (use --force to roll back to it anyway)",
			       req->to);
	return RG_OK;
}

static json_t *outputs_json(rg_engine *e, const char *env, const char *version, const char *prefix)
{
	json_t *o = json_object();
	rg_output *outs = NULL;
	size_t n = 0;
	if (rg_store_outputs_get(e->store, env, version, &outs, &n, NULL) != RG_OK)
		return o;
	for (size_t i = 0; i < n; i++) {
		char name[256];
		if (rg_env_var_name(name, sizeof name, prefix, outs[i].step, outs[i].key) == 0)
			json_object_set_new(o, name, json_string(outs[i].value));
	}
	rg_outputs_free(outs, n);
	return o;
}

static json_t *entry_preview(rg_engine *e, const char *env, const rg_plan *p, size_t i)
{
	const rg_plan_entry *en = &p->entries[i];
	bool redeploy = en->action == RG_PLAN_REDEPLOY;
	const char *version = redeploy ? p->target : p->removed;
	const char *previous = redeploy ? p->removed : p->target;
	json_t *vars = outputs_json(e, env, previous, "PREV");
	json_t *outs = outputs_json(e, env, version, "OUT");
	json_object_update(vars, outs);
	json_decref(outs);
	json_object_set_new(vars, "ROLLGUARD_VERSION", json_string(version));
	json_object_set_new(vars, "ROLLGUARD_PREVIOUS_VERSION", json_string(previous));
	if (en->action == RG_PLAN_DOWNGRADE) {
		json_object_set_new(vars, "ROLLGUARD_TARGET_SCHEMA", json_string(p->schema_to));
		json_object_set_new(vars, "ROLLGUARD_CURRENT_SCHEMA", json_string(p->schema_from));
	}
	rg_backup b;
	bool found = false;
	if (en->action == RG_PLAN_RESTORE &&
	    rg_store_backup_get(e->store, p->backup_id, &b, NULL) == RG_OK && (found = true))
		json_object_set_new(vars, "ROLLGUARD_BACKUP_DIR", json_string(b.dir));
	if (found)
		rg_backup_release(&b);
	return json_pack("{s:s, s:s, s:s, s:o}", "name", rg_plan_step(e->cfg, en)->name,
			 "action", rg_plan_action_name(en->action),
			 "command", rg_plan_command(e->cfg, en), "env", vars);
}

/* What happens to the data: a downgrade, a restore and what it loses (and
 * who must approve it), or a schema left as it is. */
static void schema_risks(rg_engine *e, const char *env, const rg_plan *p, json_t *risks)
{
	char line[600], need[360];
	int r = rg_plan_restore_index(p);
	bool down = false;
	for (size_t i = 0; i < p->n; i++)
		down |= p->entries[i].action == RG_PLAN_DOWNGRADE;
	if (down) {
		snprintf(line, sizeof line, "schema %s is downgraded to %s (migrate down)%s", p->schema_from,
			 p->schema_to, p->backup_id ? "; if the downgrade fails, the backup is restored (needs approval)" : "");
		json_array_append_new(risks, json_string(line));
	}
	if (r >= 0) {
		rg_migrate_loss(p, rg_now_ms(), line, sizeof line);
		json_array_append_new(risks, json_string(line));
		rg_gate_describe(rg_config_gate(e->cfg, env, "restore"), need, sizeof need);
		snprintf(line, sizeof line,
			 "the restore needs %s (or --emergency --reason): schema %s cannot be downgraded to %s",
			 need, p->schema_from, p->schema_to);
		json_array_append_new(risks, json_string(line));
	}
	if (!down && r < 0 && p->schema_from[0] && p->schema_to[0] &&
	    strcmp(p->schema_from, p->schema_to) != 0) {
		snprintf(line, sizeof line,
			 "schema stays at %s (%s has %s): the migration is irreversible and no backup was found",
			 p->schema_from, p->target, p->schema_to);
		json_array_append_new(risks, json_string(line));
	}
}

static json_t *plan_risks(rg_engine *e, const char *env, const rollback_target *t,
			  const rg_plan *p, size_t n_checks)
{
	json_t *risks = json_array();
	char line[400];
	if (t->target.verified_at == 0) {
		snprintf(line, sizeof line, "release '%s' never became known good (forced)", p->target);
		json_array_append_new(risks, json_string(line));
	}
	for (size_t i = 0; i < p->n; i++) {
		if (p->entries[i].action != RG_PLAN_REDEPLOY)
			continue;
		const rg_step *st = rg_plan_step(e->cfg, &p->entries[i]);
		if (st->undo)
			snprintf(line, sizeof line,
				 "step '%s' runs again for %s first: its release may have been retired, and traffic moves to it once it runs",
				 st->name, p->target);
		else
			snprintf(line, sizeof line, "step '%s' has no undo: it will be run again for %s",
				 st->name, p->target);
		json_array_append_new(risks, json_string(line));
	}
	schema_risks(e, env, p, risks);
	if (n_checks == 0)
		json_array_append_new(risks, json_string("no checks verify the restored release"));
	return risks;
}

static json_t *plan_preview(rg_engine *e, const char *env, const rollback_target *t,
			    const rg_plan *p)
{
	const rg_check **checks = NULL;
	size_t n_checks = 0;
	json_t *names = json_array(), *steps = json_array();
	if (rg_plan_verify_checks(e->cfg, env, &checks, &n_checks, NULL) == RG_OK)
		for (size_t i = 0; i < n_checks; i++)
			json_array_append_new(names, json_string(checks[i]->name));
	free(checks);
	for (size_t i = 0; i < p->n; i++)
		json_array_append_new(steps, entry_preview(e, env, p, i));
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "env", env, "from", p->removed,
			 "to", p->target, "steps", steps, "checks", names,
			 "risks", plan_risks(e, env, t, p, n_checks));
}

/* The plan says when a person must approve it first. */
static void gate_risk(rg_engine *e, const rg_rollback_request *req, json_t *plan)
{
	const rg_gate *g = &rg_config_env(e->cfg, req->env)->gate_rollback;
	if (!g->enabled || req->emergency || !plan)
		return;
	char line[400], need[360];
	rg_gate_describe(g, need, sizeof need);
	snprintf(line, sizeof line, "it waits for %s before it starts (approvals.rollback)", need);
	json_array_append_new(json_object_get(plan, "risks"), json_string(line));
}

static rg_err insert_rollback_run(rg_engine *e, const rg_rollback_request *req,
				  const rollback_target *t, const rg_plan *p, int64_t *run_id,
				  rg_error *err)
{
	rg_run r;
	memset(&r, 0, sizeof r);
	snprintf(r.env, sizeof r.env, "%s", req->env);
	r.kind = RG_KIND_ROLLBACK;
	snprintf(r.version, sizeof r.version, "%s", t->target.version);
	snprintf(r.from_version, sizeof r.from_version, "%s", t->live.version);
	r.state = RG_RUN_QUEUED;
	r.phase = RG_PHASE_REVERSE;
	snprintf(r.actor, sizeof r.actor, "%s", req->actor ? req->actor : "api");
	snprintf(r.reason, sizeof r.reason, "%s", req->reason ? req->reason : "");
	r.force = req->force;
	r.emergency = req->emergency;
	const rg_env *en = rg_config_env(e->cfg, req->env);
	if (en->gate_rollback.enabled && !req->emergency)
		snprintf(r.gate, sizeof r.gate, "rollback");
	r.total = (int)p->n;
	r.created = rg_now_ms();
	json_t *pj = rg_plan_to_json(e->cfg, p);
	r.plan = pj ? json_dumps(pj, JSON_COMPACT) : NULL;
	json_decref(pj);
	if (!r.plan)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory writing the rollback plan");
	rg_decision d;
	memset(&d, 0, sizeof d);
	snprintf(d.trigger, sizeof d.trigger, "manual");
	d.severity[0] = '\0';  /* a person decided: no severity */
	snprintf(d.action, sizeof d.action, "rollback");
	snprintf(d.observed, sizeof d.observed, "%s live", t->live.version);
	snprintf(d.reason, sizeof d.reason, "%s%s asked to %s %s %s %s%s%s%s",
		 r.emergency ? "EMERGENCY: " : "", r.actor,
		 p->config_only ? "restore the config files of" : "roll", req->env,
		 p->config_only ? "as kept with" : "back from",
		 p->config_only ? t->target.version : t->live.version,
		 r.reason[0] ? ": " : "", r.reason,
		 r.emergency ? " (approval gate skipped)" : r.gate[0] ? " (it waits for approval)" : "");
	if (!p->config_only) {
		size_t used = strlen(d.reason);
		snprintf(d.reason + used, sizeof d.reason - used, " (to %s)", t->target.version);
	}
	rg_err rc = start_new_run(e, &r, NULL, RG_REL_NONE, false, &d, d.reason, err);
	free(r.plan);
	if (!rc)
		*run_id = r.id;
	return rc;
}

/* The run of env that holds for approval of its rollback, or NULL (a run
 * waiting before it starts has nothing to roll back). */
static rg_active *awaiting(rg_engine *e, const char *env)
{
	for (rg_active *a = e->runs; a; a = a->next)
		if (!a->released && strcmp(a->run.env, env) == 0 &&
		    a->run.state == RG_RUN_AWAITING_APPROVAL && !rg_gate_before_start(a->run.gate))
			return a;
	return NULL;
}

/* `rollguard rollback` while a deploy waits for approval of its rollback:
 * the person approves it; that run rolls back (to its last known good). */
static rg_err approve_rollback(rg_engine *e, rg_active *a, const rg_rollback_request *req,
			       int64_t *run_id, json_t **plan, rg_error *err)
{
	if (req->to && strcmp(req->to, a->prev_version) != 0)
		return rg_fail(err, RG_ECONFLICT, "to",
			       "run %lld waits for approval to roll back to %s; approve that (without --to) or abort it first",
			       (long long)a->run.id, a->prev_version[0] ? a->prev_version : "(none)");
	*run_id = a->run.id;
	if (req->dry_run) {
		rg_plan p;
		size_t done = (size_t)a->run.cursor < a->n_fwd ? (size_t)a->run.cursor : a->n_fwd;
		rg_err rc = rg_plan_automatic(e->cfg, a->fwd, done, a->run.version, a->prev_version, &p, err);
		if (rc)
			return rc;
		rg_plan_data pd;
		rc = rg_migrate_plan_data(e, a->run.env, a->run.version, a->prev_version, a->run.id, &pd, err);
		if (!rc)
			rc = rg_plan_schema(e->cfg, a->run.env, a->fwd, done, &pd, &p, err);
		if (rc) {
			rg_plan_release(&p);
			return rc;
		}
		*plan = rg_plan_to_json(e->cfg, &p);
		rg_plan_release(&p);
		json_object_set_new(*plan, "approves_run", json_integer(a->run.id));
		return *plan ? RG_OK : rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	}
	const char *actor = req->actor ? req->actor : "api";
	rg_err rc = req->emergency ? rg_gate_rollback_now(a, actor, req->reason, err)
				   : rg_gate_answer(a, req->who, actor, true, req->reason, err);
	if (rc)
		return rc;
	if (a->run.state == RG_RUN_AWAITING_APPROVAL) {   /* more approvals needed */
		*plan = json_pack("{s:I, s:b}", "approves_run", (json_int_t)*run_id, "waiting", 1);
		return *plan ? RG_OK : rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	}
	*plan = rg_plan_to_json(e->cfg, &a->plan);
	if (*plan)
		json_object_set_new(*plan, "approves_run", json_integer(*run_id));
	return *plan ? RG_OK : rg_fail(err, RG_ENOMEM, NULL, "out of memory");
}

rg_err rg_engine_rollback(rg_engine *e, const rg_rollback_request *req, int64_t *run_id,
			  json_t **plan, rg_error *err)
{
	if (e->shutting_down)
		return rg_fail(err, RG_EUNAVAILABLE, NULL, "server is shutting down");
	rg_err rc = check_env(e, req->env, err);
	if (rc)
		return rc;
	if (req->to && !rg_name_valid(req->to))
		return rg_fail(err, RG_EINVAL, "to", "invalid version '%.80s'", req->to);
	if ((rc = check_emergency(req->emergency, req->reason, false, err)))
		return rc;
	rg_active *held = awaiting(e, req->env);
	if (held)
		return approve_rollback(e, held, req, run_id, plan, err);
	rollback_target t;
	rc = pick_target(e, req, &t, err);
	rg_plan p;
	if (!rc)
		rc = rg_plan_manual(e->cfg, req->env, t.live.version, t.target.version, &p, err);
	if (rc)
		return rc;
	rg_plan_data pd;
	rc = rg_migrate_plan_data(e, req->env, t.live.version, t.target.version, 0, &pd, err);
	if (!rc)
		rc = rg_plan_schema(e->cfg, req->env, NULL, 0, &pd, &p, err);
	if (rc) {
		rg_plan_release(&p);
		return rc;
	}
	*plan = plan_preview(e, req->env, &t, &p);
	gate_risk(e, req, *plan);
	if (!req->dry_run)
		rc = insert_rollback_run(e, req, &t, &p, run_id, err);
	rg_plan_release(&p);
	if (rc) {
		json_decref(*plan);
		*plan = NULL;
		return rc;
	}
	if (req->dry_run)
		return RG_OK;
	rg_info("run %lld: rolling %s back from %s to %s", (long long)*run_id, req->env,
		t.live.version, t.target.version);
	return RG_OK;
}

rg_err rg_engine_config_restore(rg_engine *e, const rg_rollback_request *req, int64_t *run_id,
				rg_error *err)
{
	if (e->shutting_down)
		return rg_fail(err, RG_EUNAVAILABLE, NULL, "server is shutting down");
	rg_err rc = check_env(e, req->env, err);
	if (!rc && (!req->to || !rg_name_valid(req->to)))
		rc = rg_fail(err, RG_EINVAL, "to", "config restore needs a valid 'to' (a release)");
	if (!rc)
		rc = check_emergency(req->emergency, req->reason, false, err);
	if (rc)
		return rc;
	rollback_target t;
	if (rg_store_release_current(e->store, req->env, &t.live, NULL) != RG_OK)
		return rg_fail(err, RG_ECONFLICT, "env", "environment '%s' has no live release", req->env);
	if (rg_store_release_get(e->store, req->env, req->to, &t.target, NULL) != RG_OK)
		return rg_fail(err, RG_ENOTFOUND, "to", "unknown release '%s' in '%s'", req->to, req->env);
	rg_config_file *files = NULL;
	size_t n = 0;
	if ((rc = rg_store_release_config_get(e->store, req->env, req->to, &files, &n, err)))
		return rc;
	rg_config_files_free(files, n);
	if (n == 0)
		return rg_fail(err, RG_ENOTFOUND, "to", "release '%s' has no config snapshot in '%s'",
			       req->to, req->env);
	rg_plan p;
	memset(&p, 0, sizeof p);
	snprintf(p.removed, sizeof p.removed, "%s", t.live.version);
	snprintf(p.target, sizeof p.target, "%s", t.target.version);
	p.config_only = true;
	rc = insert_rollback_run(e, req, &t, &p, run_id, err);
	if (!rc)
		rg_info("run %lld: restoring the config files of %s as kept with %s", (long long)*run_id,
			req->env, req->to);
	return rc;
}

/* ---- approval gates ------------------------------------------------------ */

static rg_err answer(rg_engine *e, int64_t run_id, const rg_principal *who, const char *name,
		     bool approve, const char *text, rg_error *err)
{
	rg_active *a = rg_engine_find(e, run_id);
	if (!a) {
		rg_run r;
		rg_err rc = rg_store_run_get(e->store, run_id, &r, err);
		if (rc)
			return rc;
		rc = rg_fail(err, RG_ECONFLICT, NULL, "run %lld is %s, not waiting for approval",
			     (long long)run_id, rg_run_state_name(r.state));
		rg_run_release(&r);
		return rc;
	}
	if (!approve && (!text || !*text))
		return rg_fail(err, RG_EINVAL, "reason", "a rejection needs a reason (--reason TEXT)");
	return rg_gate_answer(a, who, name, approve, text, err);
}

rg_err rg_engine_approve(rg_engine *e, int64_t run_id, const rg_principal *who, const char *name,
			 const char *comment, rg_error *err)
{
	return answer(e, run_id, who, name, true, comment, err);
}

rg_err rg_engine_reject(rg_engine *e, int64_t run_id, const rg_principal *who, const char *name,
			const char *reason, rg_error *err)
{
	return answer(e, run_id, who, name, false, reason, err);
}

/* ---- runs in memory ----------------------------------------------------- */

static rg_err forward_steps(rg_active *a, rg_error *err)
{
	const rg_config *cfg = a->eng->cfg;
	a->fwd = calloc(cfg->n_deploy + 1, sizeof *a->fwd);
	a->watch.triggers = calloc(cfg->n_triggers + 1, sizeof *a->watch.triggers);
	if (!a->fwd || !a->watch.triggers)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < cfg->n_triggers; i++)
		a->watch.triggers[i] = (rg_trigger_slot){ .a = a, .i = i };
	for (size_t i = 0; i < cfg->n_deploy; i++)
		if (rg_step_applies(&cfg->deploy[i], a->run.env))
			a->fwd[a->n_fwd++] = (int)i;
	return RG_OK;
}

static void active_free(rg_active *a)
{
	rg_run_release(&a->run);
	rg_plan_release(&a->plan);
	free(a->fwd);
	free(a->watch.triggers);
	free(a->launch.log);
	rg_backup_forget(a);
	free(a->backup.pruned);
	free(a);
}

static rg_err load_plan(rg_active *a, rg_error *err)
{
	if (!a->run.plan)
		return RG_OK;
	return rg_plan_from_json(a->eng->cfg, a->run.plan, &a->plan, err);
}

rg_err rg_active_new(rg_engine *e, int64_t run_id, rg_active **out, rg_error *err)
{
	rg_run r;
	rg_err rc = rg_store_run_get(e->store, run_id, &r, err);
	return rc ? rc : active_make(e, &r, out, err);
}

/* Takes r (and its plan, freed on failure). */
static rg_err active_make(rg_engine *e, rg_run *r, rg_active **out, rg_error *err)
{
	*out = NULL;
	rg_active *a = calloc(1, sizeof *a);
	if (!a) {
		rg_run_release(r);
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	}
	a->eng = e;
	a->run = *r;
	rg_err rc = RG_OK;
	if (!(a->env = rg_config_env(e->cfg, a->run.env)))
		rc = rg_fail(err, RG_EINVAL, "env", "run %lld: environment '%s' is no longer in the config",
			     (long long)a->run.id, a->run.env);
	if (!rc)
		rc = forward_steps(a, err);
	if (!rc)
		rc = load_plan(a, err);
	if (rc) {
		active_free(a);
		return rc;
	}
	rg_release prev;
	/* A deploy falls back to what served when it began, if that was ever
 * known good (after a manual rollback it is not the most recently
 * verified release); otherwise to the most recently verified one. */
	const char *from = a->run.from_version;
	if (a->run.kind == RG_KIND_DEPLOY && from[0] && strcmp(from, a->run.version) != 0 &&
	    rg_store_release_get(e->store, a->run.env, from, &prev, NULL) == RG_OK && prev.verified_at > 0)
		snprintf(a->prev_version, sizeof a->prev_version, "%s", prev.version);
	else if (rg_store_release_last_known_good(e->store, a->run.env, a->run.version, &prev, NULL) == RG_OK)
		snprintf(a->prev_version, sizeof a->prev_version, "%s", prev.version);
	uv_timer_init(e->loop, &a->timer);
	uv_timer_init(e->loop, &a->deadline);
	uv_timer_init(e->loop, &a->watch.tick);
	rg_recover_init(a);
	a->timer.data = a->deadline.data = a->watch.tick.data = a;
	a->open_handles = 4;
	a->next = e->runs;
	e->runs = a;
	*out = a;
	return RG_OK;
}

static void on_http_freed(void *ctx)
{
	rg_engine *e = ctx;
	rg_checker_free(e->checker, e->shutdown_done, e->shutdown_ctx);
}

/* Once no run is left on the loop: the HTTP clients, then done. */
static void free_clients(rg_engine *e)
{
	if (e->http)
		rg_http_free(e->http, on_http_freed, e);
	else
		on_http_freed(e);
	e->http = NULL;
}

void rg_active_unref(rg_active *a)
{
	rg_engine *e = a->eng;
	if (--a->open_handles > 0)
		return;
	active_free(a);
	if (e->shutting_down && --e->closing == 0)
		free_clients(e);
}

static void on_active_closed(uv_handle_t *h)
{
	rg_active_unref(h->data);
}

void rg_active_release(rg_active *a)
{
	if (a->released)
		return;
	a->released = true;
	rg_run_cancel_work(a);
	for (rg_active **p = &a->eng->runs; *p; p = &(*p)->next) {
		if (*p == a) {
			*p = a->next;
			break;
		}
	}
	uv_close((uv_handle_t *)&a->timer, on_active_closed);
	uv_close((uv_handle_t *)&a->deadline, on_active_closed);
	uv_close((uv_handle_t *)&a->watch.tick, on_active_closed);
	rg_recover_stop(a);
	uv_close((uv_handle_t *)&a->rec.timer, on_active_closed);
}

rg_err rg_engine_step_log(rg_engine *e, int64_t run_id, const char *step, char **log,
			  rg_error *err)
{
	rg_active *a = rg_engine_find(e, run_id);
	if (a && a->launch.exec && strcmp(a->run.step, step) == 0) {
		size_t len;
		const char *live = rg_exec_log(a->launch.exec, &len);
		/* masked as the stored log will be */
		return rg_secrets_redact_dup(rg_store_secrets(e->store), live ? live : "",
					     live ? len : 0, log, NULL, err);
	}
	rg_run r;
	rg_err rc = rg_store_run_get(e->store, run_id, &r, err);
	if (rc)
		return rc;
	rg_run_release(&r);
	rc = rg_store_step_log(e->store, run_id, step, log, err);
	if (rc == RG_ENOTFOUND)
		rg_fail(err, RG_ENOTFOUND, "step", "run %lld has no step '%s'", (long long)run_id, step);
	return rc;
}

void rg_engine_shutdown(rg_engine *e, void (*done)(void *ctx), void *ctx)
{
	e->shutting_down = true;
	e->shutdown_done = done;
	e->shutdown_ctx = ctx;
	e->closing = 0;
	for (rg_active *a = e->runs; a; a = a->next)
		e->closing++;
	if (e->closing == 0) {
		free_clients(e);
		return;
	}
	while (e->runs)
		rg_active_release(e->runs);
}

void rg_engine_free(rg_engine *e)
{
	free(e);
}

/* ---- alarms from outside ------------------------------------------------------ */

/* A run whose release an alarm can speak about: a deploy going forward
 * (its steps, pauses, monitor window), or a rollback's post-rollback window. */
static bool watched(const rg_active *a)
{
	rg_run_state st = a->run.state;
	if (a->run.phase == RG_PHASE_REVERSE)
		return st == RG_RUN_MONITORING;
	return a->run.kind == RG_KIND_DEPLOY &&
	       (st == RG_RUN_RUNNING || st == RG_RUN_PAUSED || st == RG_RUN_MONITORING);
}

rg_err rg_engine_alert(rg_engine *e, const rg_alert_in *in, int64_t *run_id, rg_error *err)
{
	rg_err rc = check_env(e, in->env, err);
	if (rc)
		return rc;
	rg_active *a = NULL;
	for (rg_active *r = e->runs; r && !a; r = r->next)
		if (!r->released && strcmp(r->run.env, in->env) == 0)
			a = r;
	if (!a)
		return rg_fail(err, RG_ENOTFOUND, "env", "nothing is being watched in '%s'", in->env);
	if (!watched(a))
		return rg_fail(err, RG_ENOTFOUND, "env", "run %lld in '%s' is %s: an alert changes nothing now",
			       (long long)a->run.id, in->env, rg_run_state_name(a->run.state));
	*run_id = a->run.id;
	rg_decision d;
	memset(&d, 0, sizeof d);
	snprintf(d.trigger, sizeof d.trigger, "alert:%s", in->name && *in->name ? in->name : "unnamed");
	snprintf(d.severity, sizeof d.severity, "%s", rg_severity_name(in->severity));
	snprintf(d.observed, sizeof d.observed, "alert '%s' firing (%s)%s%s",
		 in->name && *in->name ? in->name : "unnamed", in->source ? in->source : "api",
		 in->summary && *in->summary ? ": " : "", in->summary ? in->summary : "");
	snprintf(d.threshold, sizeof d.threshold, "a firing alert for %s/%s", e->cfg->service, in->env);
	char what[300];
	snprintf(what, sizeof what, "alert '%s' fired (%s) from %s", in->name && *in->name ? in->name : "unnamed",
		 d.severity, in->source ? in->source : "api");
	rg_decide_reason(a, &d, e->cfg->actions[in->severity], what);
	rg_decide(a, &d, NULL);
	return RG_OK;
}
