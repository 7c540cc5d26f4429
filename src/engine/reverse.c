/* reverse.c — the way back: run the rollback plan entry by entry (undo
 * newest first, or the rollback pipeline), verify the restored release with
 * the smoke checks, watch it, and report. An undo that fails does not stop
 * the others: the report names every step that could not be undone. */
#include "engine/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/artifacts.h"
#include "util/duration.h"
#include "util/log.h"
#include "util/timeutil.h"

static const rg_plan_entry *current_entry(const rg_active *a)
{
	return &a->plan.entries[a->run.cursor];
}

static bool redeploy(const rg_plan_entry *e)
{
	return e->action == RG_PLAN_REDEPLOY;
}

static void on_entry_done(rg_active *a, rg_step_outcome outcome, const char *detail, int exit_code);
static void rollback_failed(rg_active *a, const char *why, const rg_decision *d);

/* ---- the schema's way back: downgrade, or restore once approved ---------- */

/* A restore loses data: it runs in an emergency, or once the run passed
 * its rollback gate (a manual rollback approved before it started) or the
 * restore gate it held at. */
static bool restore_allowed(const rg_active *a)
{
	return a->run.emergency ||
	       (a->run.gate_passed && (strcmp(a->run.gate, "rollback") == 0 ||
				       strcmp(a->run.gate, "restore") == 0));
}

static rg_err held_extra(rg_active *a, void *ctx, rg_error *err)
{
	return rg_decide_store(a, ctx, err);
}

static bool downgrade_failed(const rg_active *a)
{
	for (size_t i = 0; i < a->plan.n; i++)
		if (a->plan.entries[i].action == RG_PLAN_DOWNGRADE)
			return true;
	return false;
}

/* The run stops before the restore and waits for a person (gates.c). The
 * release is out of traffic already: the swap came before any undo. */
static void hold_restore(rg_active *a)
{
	rg_run next = a->run;
	rg_gate_arm(a, &next, "restore");
	const rg_gate *g = rg_config_gate(a->eng->cfg, a->run.env, "restore");
	char need[360], loss[400], why[300], msg[1400];
	rg_gate_describe(g, need, sizeof need);
	rg_migrate_loss(&a->plan, rg_now_ms(), loss, sizeof loss);
	snprintf(why, sizeof why, "schema %s cannot be downgraded to %s (%s)", a->plan.schema_from,
		 a->plan.schema_to, downgrade_failed(a) ? "the downgrade failed" : "the migration is irreversible");
	rg_decision d;
	memset(&d, 0, sizeof d);
	snprintf(d.trigger, sizeof d.trigger, "restore");
	snprintf(d.severity, sizeof d.severity, "-");
	snprintf(d.action, sizeof d.action, "hold");
	snprintf(d.observed, sizeof d.observed, "%s", why);
	snprintf(d.window, sizeof d.window, "rolling_back");
	snprintf(d.reason, sizeof d.reason, "restore needs approval: %s; %s", why, loss);
	snprintf(msg, sizeof msg,
		 "restore held: %s; %s. It needs %s: `rollguard approve %lld` restores, "
		 "`rollguard reject %lld --reason …` leaves the schema as it is (the run ends rollback_failed)",
		 why, loss, need, (long long)a->run.id, (long long)a->run.id);
	rg_error err;
	if (rg_run_commit(a, &next, "restore_held", NULL, msg, held_extra, &d, &err))
		return rg_run_stuck(a, &err);
	rg_info("run %lld: %s", (long long)a->run.id, d.reason);
	rg_decide_published(a, &d);
	rg_gate_resume(a);
}

void rg_reverse_restore_approved(rg_active *a, const char *who)
{
	rg_run next = a->run;
	next.state = RG_RUN_ROLLING_BACK;
	next.gate_passed = rg_now_ms();
	next.window_until = 0;
	char msg[600];
	snprintf(msg, sizeof msg, "%s approved the restore of backup #%lld", who,
		 (long long)a->plan.backup_id);
	rg_error err;
	if (rg_run_commit(a, &next, "restore_approved", NULL, msg, NULL, NULL, &err))
		return rg_run_stuck(a, &err);
	rg_run_advance(a);
}

typedef struct check_job {
	uv_work_t req;
	rg_active *a;
	rg_backup b;
	rg_err rc;
	rg_error err;
} check_job;

static void check_work(uv_work_t *req)
{
	check_job *j = req->data;
	j->rc = rg_artifacts_check(j->b.dir, j->b.files, &j->err);
}

static void check_done(uv_work_t *req, int status)
{
	check_job *j = req->data;
	rg_active *a = j->a;
	if (!a->released && !a->eng->shutting_down) {
		char why[800];
		if (status == 0 && !j->rc) {
			a->restore_checked = true;
			snprintf(a->backup.dir, sizeof a->backup.dir, "%s", j->b.dir);
			rg_reverse_start_entry(a);
		} else {
			snprintf(why, sizeof why, "backup #%lld does not match its checksums (%s); nothing was restored",
				 (long long)j->b.id, status ? "cannot check" : j->err.message);
			rollback_failed(a, why, NULL);
		}
	}
	rg_backup_release(&j->b);
	free(j);
	rg_active_unref(a);
}

/* Only an artifact whose checksums still match is restored (on the pool). */
static void check_backup(rg_active *a)
{
	check_job *j = calloc(1, sizeof *j);
	rg_error err;
	if (!j)
		return rollback_failed(a, "out of memory checking the backup", NULL);
	if (rg_store_backup_get(a->eng->store, a->plan.backup_id, &j->b, &err)) {
		free(j);
		char why[700];
		snprintf(why, sizeof why, "backup #%lld: %s", (long long)a->plan.backup_id, err.message);
		return rollback_failed(a, why, NULL);
	}
	j->req.data = j;
	j->a = a;
	a->open_handles++;
	if (uv_queue_work(a->eng->loop, &j->req, check_work, check_done) != 0) {
		a->open_handles--;
		rg_backup_release(&j->b);
		free(j);
		rollback_failed(a, "cannot queue the backup's checksums", NULL);
	}
}

void rg_reverse_start_entry(rg_active *a)
{
	const rg_plan_entry *e = current_entry(a);
	const rg_step *s = rg_plan_step(a->eng->cfg, e);
	if (e->action == RG_PLAN_RESTORE && !restore_allowed(a))
		return hold_restore(a);
	if (e->action == RG_PLAN_RESTORE && !a->restore_checked)
		return check_backup(a);
	a->target_schema[0] = a->current_schema[0] = '\0';
	if (e->action == RG_PLAN_DOWNGRADE) {
		snprintf(a->target_schema, sizeof a->target_schema, "%s", a->plan.schema_to);
		snprintf(a->current_schema, sizeof a->current_schema, "%s", a->plan.schema_from);
	}
	const char *action = rg_plan_action_name(e->action);
	rg_step_run sr;
	bool interrupted;
	rg_step_row(a, "reverse", a->run.cursor, s->name, action, &sr, &interrupted);
	if (a->run.cursor == 0 && sr.attempts == 0)
		rg_configsnap_restore(a);   /* the target's config, before its steps */
	rg_engine_crash_point(a->eng, "undo_start", s->name);
	sr.attempts++;
	snprintf(sr.state, sizeof sr.state, "running");
	sr.started = rg_now_ms();
	sr.ended = 0;
	sr.exit_code = -1;
	sr.error[0] = '\0';
	sr.pgid = 0;
	sr.pgid_start = 0;
	sr.pgid_boot[0] = '\0';
	rg_run next = a->run;
	snprintf(next.step, sizeof next.step, "%s", s->name);
	int allowed = sr.attempts > s->retries + 1 ? sr.attempts : s->retries + 1;
	char msg[400];
	snprintf(msg, sizeof msg, "%s%s '%s' (%d/%d) for %s, attempt %d of %d",
		 interrupted ? "interrupted by a server stop, running it again: " : "", action, s->name,
		 a->run.cursor + 1, (int)a->plan.n, redeploy(e) ? a->plan.target : a->plan.removed,
		 sr.attempts, allowed);
	rg_step_record rec = { &sr, false, NULL };
	rg_error err;
	char event[32];
	snprintf(event, sizeof event, "%s_started", action);
	/* Undo is told about the release it removes and the one it restores;
	 * a redeploy runs the step as if deploying the restored release. */
	const char *version = redeploy(e) ? a->plan.target : a->plan.removed;
	const char *previous = redeploy(e) ? a->plan.removed : a->plan.target;
	const char *command = rg_plan_command(a->eng->cfg, e);
	rg_launch_hold(a, s, command, "reverse", a->run.cursor, version, previous, &sr);
	if (rg_run_commit(a, &next, event, s->name, msg, rg_step_record_extra, &rec, &err))
		return rg_run_stuck(a, &err);
	rg_launch_go(a, s, command, "reverse", a->run.cursor, version, previous, on_entry_done);
}

static void on_backoff(uv_timer_t *t)
{
	rg_reverse_start_entry(t->data);
}

static void append_error(rg_run *next, const rg_step_run *sr)
{
	size_t used = strlen(next->error);
	snprintf(next->error + used, sizeof next->error - used, "%s%s of '%s' failed: %s",
		 used ? "; " : "", sr->action, sr->name, sr->error);
}

static void on_entry_done(rg_active *a, rg_step_outcome outcome, const char *detail, int exit_code)
{
	bool ok = outcome == RG_OUTCOME_SUCCEEDED;
	const rg_plan_entry *e = current_entry(a);
	const rg_step *s = rg_plan_step(a->eng->cfg, e);
	rg_recover_keep_result(a, "reverse", a->run.cursor, outcome, detail, exit_code, on_entry_done);
	rg_step_run sr;
	rg_error err;
	if (rg_store_step_get(a->eng->store, a->run.id, "reverse", a->run.cursor, &sr, &err))
		return rg_run_stuck(a, &err);
	rg_step_row_finish(&sr, ok, detail, exit_code);
	if (!ok && sr.attempts <= s->retries)
		return rg_step_retry(a, &sr, s, on_backoff);
	a->target_schema[0] = a->current_schema[0] = '\0';
	if (e->action == RG_PLAN_RESTORE) {
		a->restore_checked = false;
		a->backup.dir[0] = '\0';
	}
	rg_run next = a->run;
	next.cursor++;
	/* A downgrade that fails gives way to the restore of the backup
	 * (which waits for its approval like any restore). */
	bool restoring = !ok && e->action == RG_PLAN_DOWNGRADE &&
			 rg_plan_restore_after(a->eng->cfg, &a->plan, (size_t)a->run.cursor, &err);
	if (restoring) {
		json_t *pj = rg_plan_to_json(a->eng->cfg, &a->plan);
		next.plan = pj ? json_dumps(pj, JSON_COMPACT) : NULL;
		json_decref(pj);
		next.total = (int)a->plan.n;
		if (!next.plan)
			restoring = false;
	}
	if (!ok && !restoring)
		append_error(&next, &sr);
	char msg[900], event[32];
	snprintf(event, sizeof event, "%s_%s", sr.action, ok ? "succeeded" : "failed");
	snprintf(msg, sizeof msg, "%s '%s' %s%s%s%s", sr.action, sr.name, ok ? "succeeded" : "failed: ",
		 ok ? "" : detail, restoring ? "; the backup is restored instead (it needs approval)" : "",
		 ok || restoring || a->run.cursor + 1 >= (int)a->plan.n ? "" : "; going on with the rest");
	rg_step_record rec = { &sr, true, ok && redeploy(e) ? a->plan.target : NULL };
	if (rg_run_commit(a, &next, event, sr.name, msg, rg_step_record_extra, &rec, &err))
		return rg_run_stuck(a, &err);
	/* The restored release runs again: traffic goes to it before anything
	 * of the removed release is undone. */
	if (ok && redeploy(e) && e->step == rg_plan_backend_step(a->eng->cfg, a->run.env))
		return rg_traffic_restore(a, rg_run_advance);
	rg_run_advance(a);
}

/* ---- after the plan: verify, watch, report ------------------------------- */

typedef struct run_end {
	rg_release_state removed_state; /* of the release taken away; RG_REL_NONE: unchanged */
	bool restore_target;         /* the target becomes known good */
	const rg_decision *decision; /* found the restored release unhealthy, or NULL */
	const rg_approval *answer;   /* the rejection of a restore that ends the run, or NULL */
} run_end;

static rg_err set_state(rg_active *a, const char *version, rg_release_state state, rg_error *err)
{
	rg_release rel;
	if (!version[0] || rg_store_release_get(a->eng->store, a->run.env, version, &rel, NULL) != RG_OK)
		return RG_OK;
	return rg_run_set_release(a, &rel, state, err);
}

static rg_err run_end_extra(rg_active *a, void *ctx, rg_error *err)
{
	const run_end *o = ctx;
	rg_err rc = RG_OK;
	if (o->removed_state != RG_REL_NONE)
		rc = set_state(a, a->plan.removed, o->removed_state, err);
	if (!rc && o->restore_target)
		rc = set_state(a, a->plan.target, RG_REL_KNOWN_GOOD, err);
	if (!rc && o->decision)
		rc = rg_decide_store(a, o->decision, err);
	if (!rc && o->answer)
		rc = rg_store_approval_add(a->eng->store, o->answer, err);
	return rc;
}

static void end_run(rg_active *a, rg_run_state state, const char *msg, const char *warning,
		    const run_end *o)
{
	rg_run next = a->run;
	if (warning)
		snprintf(next.warning, sizeof next.warning, "%s", warning);
	next.state = state;
	next.ended = rg_now_ms();
	next.window_until = 0;
	next.step[0] = '\0';
	rg_error err;
	if (rg_run_commit(a, &next, rg_run_state_name(state), NULL, msg, run_end_extra, (void *)o, &err))
		return rg_run_stuck(a, &err);
	if (o->decision)
		rg_decide_published(a, o->decision);
	rg_info("run %lld: %s", (long long)a->run.id, msg);
	rg_active_release(a);
}

/* A failed rollback changes nothing about what serves: a pending release
 * is marked failed, a live one stays live, and the report says what is left. */
static rg_err rollback_failed_with(rg_active *a, const char *why, const rg_decision *d,
				   const rg_approval *answer, rg_error *err);

static void rollback_failed(rg_active *a, const char *why, const rg_decision *d)
{
	rg_error err;
	if (rollback_failed_with(a, why, d, NULL, &err))
		rg_run_stuck(a, &err);
}

rg_err rg_reverse_restore_refused(rg_active *a, const char *why, const rg_approval *answer,
				  rg_error *err)
{
	return rollback_failed_with(a, why, NULL, answer, err);
}

static rg_err rollback_failed_with(rg_active *a, const char *why, const rg_decision *d,
				   const rg_approval *answer, rg_error *err)
{
	rg_run next = a->run;
	if (why && why != a->run.error) {
		size_t used = strlen(next.error);
		snprintf(next.error + used, sizeof next.error - used, "%s%s", used ? "; " : "", why);
	}
	rg_release rel;
	bool pending = rg_store_release_get(a->eng->store, a->run.env, a->plan.removed, &rel, NULL) == RG_OK &&
		       rel.state == RG_REL_PENDING;
	run_end o = { pending ? RG_REL_FAILED : RG_REL_NONE, false, d, answer };
	next.state = RG_RUN_ROLLBACK_FAILED;
	next.ended = rg_now_ms();
	next.window_until = 0;
	next.step[0] = '\0';
	char msg[1200];
	snprintf(msg, sizeof msg, "rollback failed: %s", next.error);
	rg_err rc = rg_run_commit(a, &next, "rollback_failed", NULL, msg, run_end_extra, &o, err);
	if (rc)
		return rc;
	if (d)
		rg_decide_published(a, d);
	rg_error_log("run %lld: %s", (long long)a->run.id, msg);
	rg_active_release(a);
	return RG_OK;
}

static void enter_post_window(rg_active *a)
{
	char d[32], msg[300];
	rg_duration_format(a->env->post_rollback_monitor_ms, d, sizeof d);
	snprintf(msg, sizeof msg, "watching restored release %s for %s",
		 a->plan.target[0] ? a->plan.target : "(none)", d);
	rg_window_enter(a, a->env->post_rollback_monitor_ms, msg, NULL);
}

static void on_verified(rg_active *a, bool ok, const char *detail)
{
	rg_step_run sr;
	rg_error err;
	int idx = (int)a->plan.n;
	if (rg_store_step_get(a->eng->store, a->run.id, "reverse", idx, &sr, &err) == RG_OK) {
		rg_step_row_finish(&sr, ok, detail, ok ? 0 : 1);
		rg_step_record rec = { &sr, true, NULL };
		const char *event = ok ? "verified" : "verify_failed";
		rg_change c = { .run = &a->run, .from = a->run.state, .event = event,
				.step = "verify", .message = detail };
		if (rg_store_begin(a->eng->store, &err) || rg_step_record_extra(a, &rec, &err) ||
		    rg_store_event_add(a->eng->store, a->run.id, event, "verify", detail, &err) ||
		    rg_engine_changed(a->eng, &c, &err) || rg_store_commit(a->eng->store, &err)) {
			rg_store_abandon(a->eng->store);
			return rg_run_stuck(a, &err);
		}
	}
	if (!ok) {
		char why[700];
		snprintf(why, sizeof why, "restored release %s failed verification: %s", a->plan.target, detail);
		return rollback_failed(a, why, NULL);
	}
	enter_post_window(a);
}

static void verify_done_adapter(rg_active *a, rg_step_outcome outcome, const char *detail,
				int exit_code)
{
	rg_recover_keep_result(a, "reverse", (int)a->plan.n, outcome, detail, exit_code,
			       verify_done_adapter);
	on_verified(a, outcome == RG_OUTCOME_SUCCEEDED, detail);
}

static rg_err verify_check_names(rg_active *a, char ***names, size_t *n, rg_error *err)
{
	const rg_check **checks = NULL;
	*names = NULL;
	*n = 0;
	rg_err rc = rg_plan_verify_checks(a->eng->cfg, a->run.env, &checks, n, err);
	if (!rc && *n > 0 && !(*names = calloc(*n, sizeof **names)))
		rc = rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; !rc && i < *n; i++)
		(*names)[i] = checks[i]->name;
	free(checks);
	return rc;
}

/* The smoke checks of the deploy pipeline, run again against the target. */
void rg_reverse_verify(rg_active *a)
{
	char **names;
	size_t n;
	rg_error err;
	if (!a->plan.target[0])
		return rg_reverse_finish(a, NULL, NULL);
	if (verify_check_names(a, &names, &n, &err))
		return rg_run_stuck(a, &err);
	if (n == 0)
		return enter_post_window(a);
	char vname[] = "verify";
	rg_step verify = { .name = vname, .kind = RG_STEP_CHECKS, .checks = names, .n_checks = n };
	int idx = (int)a->plan.n;
	rg_step_run sr;
	bool interrupted;
	rg_step_row(a, "reverse", idx, "verify", "verify", &sr, &interrupted);
	sr.attempts++;
	snprintf(sr.state, sizeof sr.state, "running");
	sr.started = rg_now_ms();
	rg_run next = a->run;
	snprintf(next.step, sizeof next.step, "verify");
	char msg[200];
	snprintf(msg, sizeof msg, "running %d check%s against %s", (int)n, n == 1 ? "" : "s",
		 a->plan.target);
	rg_step_record rec = { &sr, false, NULL };
	if (rg_run_commit(a, &next, "verify_started", "verify", msg, rg_step_record_extra, &rec, &err)) {
		free(names);
		return rg_run_stuck(a, &err);
	}
	rg_launch_step(a, &verify, NULL, "reverse", idx, a->plan.target, a->plan.removed,
		       verify_done_adapter);
	free(names);
}

static void enter_verifying(rg_active *a)
{
	rg_run next = a->run;
	next.state = RG_RUN_VERIFYING;
	next.step[0] = '\0';
	char msg[200];
	snprintf(msg, sizeof msg, "plan done; verifying %s", a->plan.target[0] ? a->plan.target : "(no release to verify)");
	rg_error err;
	if (rg_run_commit(a, &next, "verifying", NULL, msg, NULL, NULL, &err))
		return rg_run_stuck(a, &err);
	rg_reverse_verify(a);
}

/* Everything goes to the restored release before it is verified. */
void rg_reverse_plan_done(rg_active *a)
{
	if (a->plan.config_only) {
		/* `config restore`: the files, and nothing about releases */
		rg_configsnap_restore(a);
		run_end o = { RG_REL_NONE, false, NULL, NULL };
		char msg[300];
		snprintf(msg, sizeof msg, "config files of %s restored as kept with %s", a->run.env,
			 a->plan.target);
		return end_run(a, RG_RUN_SUCCEEDED, msg, NULL, &o);
	}
	if (a->plan.n == 0)
		rg_configsnap_restore(a);   /* no steps: the config goes back all the same */
	if (a->run.error[0])
		return rollback_failed(a, NULL, NULL);
	rg_traffic_restore(a, enter_verifying);
}

void rg_reverse_finish(rg_active *a, const char *warning, const rg_decision *d)
{
	bool manual = a->run.kind == RG_KIND_ROLLBACK;
	if (warning && manual)
		return rollback_failed(a, warning, d);
	run_end o = { RG_REL_ROLLED_BACK, a->plan.target[0] != '\0', d, NULL };
	char msg[700];
	if (manual)
		snprintf(msg, sizeof msg, "%s is live and verified again in %s", a->plan.target, a->run.env);
	else
		snprintf(msg, sizeof msg, "rolled back: %s%s%s", a->plan.target[0] ? a->plan.target : "no release",
			 a->plan.target[0] ? " is live again" : " was known good before",
			 warning ? " (warning: it is unhealthy)" : "");
	end_run(a, manual ? RG_RUN_SUCCEEDED : RG_RUN_ROLLED_BACK, msg, warning, &o);
}
