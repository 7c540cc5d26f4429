/* forward.c — the deploy steps of a run, one after another:
 * record the start, run it, record the result (and its outputs), next.
 * A failure is retried as configured, then decided: roll back or halt. */
#include "engine/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/duration.h"
#include "util/log.h"
#include "util/timeutil.h"

static const rg_step *current_step(const rg_active *a)
{
	return &a->eng->cfg->deploy[a->fwd[a->run.cursor]];
}

static void on_step_done(rg_active *a, rg_step_outcome outcome, const char *detail, int exit_code);

static void begin_attempt(rg_active *a, rg_step_run *sr, const char *note)
{
	const rg_step *s = current_step(a);
	rg_engine_crash_point(a->eng, "step_start", s->name);
	sr->attempts++;
	snprintf(sr->state, sizeof sr->state, "running");
	sr->started = rg_now_ms();
	sr->ended = 0;
	sr->pgid = 0;
	sr->pgid_start = 0;
	sr->pgid_boot[0] = '\0';
	sr->exit_code = -1;
	sr->error[0] = '\0';
	rg_run next = a->run;
	snprintf(next.step, sizeof next.step, "%s", s->name);
	/* A rerun after a server stop is an extra attempt beyond `retries`. */
	int allowed = sr->attempts > s->retries + 1 ? sr->attempts : s->retries + 1;
	char msg[400];
	snprintf(msg, sizeof msg, "%sstep %d/%d '%s', attempt %d of %d", note, a->run.cursor + 1,
		 (int)a->n_fwd, s->name, sr->attempts, allowed);
	rg_step_record rec = { sr, false, NULL };
	rg_error err;
	rg_launch_hold(a, s, s->run, "forward", a->run.cursor, a->run.version, a->prev_version, sr);
	if (rg_run_commit(a, &next, "step_started", s->name, msg, rg_step_record_extra, &rec, &err))
		return rg_run_stuck(a, &err);
	rg_launch_go(a, s, s->run, "forward", a->run.cursor, a->run.version, a->prev_version,
		     on_step_done);
}

void rg_forward_start_step(rg_active *a)
{
	const rg_step *s = current_step(a);
	rg_step_run sr;
	bool interrupted;
	rg_step_row(a, "forward", a->run.cursor, s->name, s->kind == RG_STEP_CHECKS ? "checks" : s->kind == RG_STEP_TRAFFIC ? "traffic" : "run",
		    &sr, &interrupted);
	/* A traffic step is rollguard's own doing and knows how far it got
	 * (traffic_stage): after a restart or a resume it simply goes on. */
	if (interrupted && s->kind == RG_STEP_TRAFFIC)
		return rg_traffic_run(a, s, on_step_done);
	/* A command whose group was never recorded never ran (it is held until
	 * then): running it now is its first time, rerun: false or not. */
	bool never_ran = s->kind == RG_STEP_EXEC && sr.pgid == 0;
	if (interrupted && !s->rerun && !never_ran) {
		rg_decision d = { .action = "rollback" };
		snprintf(d.trigger, sizeof d.trigger, "step_interrupted:%s", s->name);
		snprintf(d.severity, sizeof d.severity, "%s", rg_severity_name(s->severity));
		snprintf(d.observed, sizeof d.observed, "server stopped during attempt %d", sr.attempts);
		snprintf(d.threshold, sizeof d.threshold, "rerun: false");
		snprintf(d.reason, sizeof d.reason,
			 "step '%s' was interrupted by a server stop and must not run twice (rerun: false); rolling back",
			 s->name);
		rg_step_row_finish(&sr, false, "interrupted by a server stop (rerun: false)", -1);
		rg_launch_keep_log(a, "", 0);
		return rg_decide(a, &d, &sr);
	}
	begin_attempt(a, &sr, interrupted ? "interrupted by a server stop, running it again: " : "");
}

/* A step's success: its row, log and outputs, and a backup's record. */
static rg_err success_extra(rg_active *a, void *ctx, rg_error *err)
{
	rg_err rc = rg_step_record_extra(a, ctx, err);
	if (!rc)
		rc = rg_migrate_record(a, current_step(a), err);
	return rc ? rc : rg_backup_record(a, current_step(a), err);
}

static void step_succeeded(rg_active *a, rg_step_run *sr)
{
	rg_run next = a->run;
	next.cursor++;
	next.traffic_stage = 0;
	char msg[300];
	snprintf(msg, sizeof msg, "step '%s' succeeded in %.3fs", sr->name,
		 (double)(sr->ended - sr->started) / 1000.0);
	/* Only a command publishes outputs ($ROLLGUARD_OUTPUT). */
	bool command = current_step(a)->kind == RG_STEP_EXEC;
	rg_step_record rec = { sr, true, command ? a->run.version : NULL };
	rg_error err;
	bool backup = current_step(a)->backup != NULL;
	if (rg_run_commit(a, &next, "step_succeeded", sr->name, msg, success_extra, &rec, &err))
		return rg_run_stuck(a, &err);
	if (backup)
		rg_backup_recorded(a);
	rg_run_advance(a);
}

static void on_backoff(uv_timer_t *t)
{
	rg_forward_start_step(t->data);
}

typedef struct decided {
	const rg_decision *d;
	rg_step_run *failed;     /* may be NULL */
	rg_route_state *swap;    /* the route taking the release out of traffic, or NULL */
} decided;

/* The failed step's row and the decision are written with the run's change. */
static rg_err decided_extra(rg_active *a, void *ctx, rg_error *err)
{
	decided *x = ctx;
	rg_err rc = RG_OK;
	if (x->failed) {
		rg_step_record rec = { x->failed, true, NULL };
		rc = rg_step_record_extra(a, &rec, err);
	}
	if (!rc && x->swap)
		rc = rg_traffic_route_extra(a, x->swap, err);
	if (!rc)
		rc = rg_decide_store(a, x->d, err);
	if (!rc)
		rc = rg_store_event_add(a->eng->store, a->run.id, "decision", NULL, x->d->reason, err);
	return rc;
}

/* Halt: stop where we are, undo nothing, leave the release failed. */
static rg_err halt_extra(rg_active *a, void *ctx, rg_error *err)
{
	rg_release rel;
	rg_err rc = decided_extra(a, ctx, err);
	if (!rc && rg_store_release_get(a->eng->store, a->run.env, a->run.version, &rel, NULL) == RG_OK &&
	    rel.state == RG_REL_PENDING)
		rc = rg_run_set_release(a, &rel, RG_REL_FAILED, err);
	return rc;
}

void rg_forward_halt(rg_active *a, const rg_decision *d, rg_step_run *sr)
{
	rg_error err;
	decided x = { d, sr, NULL };
	rg_run next = a->run;
	next.state = RG_RUN_FAILED;
	if (sr)
		snprintf(next.error, sizeof next.error,
			 "step '%s' failed (%s); halted without undoing (on_failure: halt)", sr->name, sr->error);
	else
		snprintf(next.error, sizeof next.error, "%s; halted without undoing", d->reason);
	next.ended = rg_now_ms();
	if (rg_run_commit(a, &next, "halted", sr ? sr->name : NULL, next.error, halt_extra, &x, &err))
		return rg_run_stuck(a, &err);
	rg_decide_published(a, d);
	rg_active_release(a);
}

static void failure_decision(const rg_active *a, const rg_step *s, const rg_step_run *sr,
			     bool timed_out, rg_decision *d)
{
	char t[32];
	memset(d, 0, sizeof *d);
	snprintf(d->trigger, sizeof d->trigger, "%s:%s", timed_out ? "step_timeout" : "step_failed", s->name);
	snprintf(d->severity, sizeof d->severity, "%s", rg_severity_name(s->severity));
	snprintf(d->action, sizeof d->action, s->on_failure == RG_ON_FAILURE_HALT ? "halt" : "rollback");
	snprintf(d->observed, sizeof d->observed, "%s", sr->error);
	rg_duration_format(s->timeout_ms, t, sizeof t);
	snprintf(d->threshold, sizeof d->threshold, "%s within %s",
		 s->kind == RG_STEP_CHECKS ? "all checks pass" : "exit 0", t);
	snprintf(d->reason, sizeof d->reason, "step '%s' failed after %d attempt%s (%s)%s%s", s->name,
		 sr->attempts, sr->attempts == 1 ? "" : "s", sr->error,
		 s->on_failure == RG_ON_FAILURE_HALT ? "; halting for a person" : "; rolling back to ",
		 s->on_failure == RG_ON_FAILURE_HALT ? "" : (a->prev_version[0] ? a->prev_version : "nothing (no known-good release)"));
}

static void on_step_done(rg_active *a, rg_step_outcome outcome, const char *detail, int exit_code)
{
	bool ok = outcome == RG_OUTCOME_SUCCEEDED;
	const rg_step *s = current_step(a);
	if (ok && s->backup && !a->backup.sealed)
		return rg_backup_seal(a, exit_code, on_step_done);   /* checksums first */
	rg_error merr;
	if (ok && s->migrate && rg_migrate_check(a, s, &merr)) {
		return on_step_done(a, RG_OUTCOME_FAILED, merr.message, exit_code);
	}
	rg_engine_crash_point(a->eng, "step_end", s->name);
	rg_recover_keep_result(a, "forward", a->run.cursor, outcome, detail, exit_code, on_step_done);
	rg_step_run sr;
	rg_error err;
	if (rg_store_step_get(a->eng->store, a->run.id, "forward", a->run.cursor, &sr, &err))
		return rg_run_stuck(a, &err);
	rg_step_row_finish(&sr, ok, detail, exit_code);
	if (ok)
		return step_succeeded(a, &sr);
	if (sr.attempts <= s->retries)
		return rg_step_retry(a, &sr, s, on_backoff);
	rg_decision d;
	failure_decision(a, s, &sr, outcome == RG_OUTCOME_TIMED_OUT, &d);
	rg_decide(a, &d, &sr);
}

/* The rollback plan of what the run did so far, as the run row will store
 * it; RG_ENOMEM when it cannot be written out (never stored as NULL). */
static rg_err rollback_plan(rg_active *a, rg_plan *plan, char **text, rg_error *err)
{
	size_t done = (size_t)a->run.cursor < a->n_fwd ? (size_t)a->run.cursor : a->n_fwd;
	rg_err rc = rg_plan_automatic(a->eng->cfg, a->fwd, done, a->run.version, a->prev_version, plan, err);
	if (rc)
		return rc;
	rg_plan_data pd;
	rc = rg_migrate_plan_data(a->eng, a->run.env, a->run.version, a->prev_version, a->run.id, &pd, err);
	if (!rc)
		rc = rg_plan_schema(a->eng->cfg, a->run.env, a->fwd, done, &pd, plan, err);
	if (rc) {
		rg_plan_release(plan);
		return rc;
	}
	json_t *pj = rg_plan_to_json(a->eng->cfg, plan);
	*text = pj ? json_dumps(pj, JSON_COMPACT) : NULL;
	json_decref(pj);
	if (*text)
		return RG_OK;
	rg_plan_release(plan);
	return rg_fail(err, RG_ENOMEM, NULL, "out of memory writing the rollback plan");
}

/* The decision could not be stored: the failing release leaves traffic
 * anyway (the safe direction), and the decision is stored once the store
 * takes writes again (recover.c). */
static void decision_refused(rg_active *a, const rg_decision *d, const rg_step_run *failed,
			     const rg_route_state *swap, const rg_error *err)
{
	if (!a->rec.has_decision)
		rg_error_log("run %lld: %s; the decision could not be stored (%s)", (long long)a->run.id,
			     d->reason, err->message);
	rg_recover_keep_decision(a, d, failed, err);
	if (swap && !a->rec.early_swap_us) {
		a->rec.early_swap_us = rg_mono_us();
		rg_traffic_swap_early(a, swap);
	}
}

void rg_forward_decide_rollback(rg_active *a, const rg_decision *d, rg_step_run *failed)
{
	rg_error err;
	rg_plan plan;
	rg_step_run cut;
	if (!a->rec.has_decision)
		a->traffic.decided_us = rg_mono_us();
	/* A trigger may fire while a step is under way (a traffic step's
	 * pause): that step ends failed, stopped by the decision. */
	if (!failed && (size_t)a->run.cursor < a->n_fwd &&
	    rg_store_step_get(a->eng->store, a->run.id, "forward", a->run.cursor, &cut, NULL) == RG_OK &&
	    strcmp(cut.state, "running") == 0) {
		rg_launch_keep_log(a, d->reason, strlen(d->reason));
		rg_step_row_finish(&cut, false, "stopped: rollback decided", -1);
		failed = &cut;
	}
	/* The failed release leaves traffic first: a routing swap, committed
	 * with the decision and applied before any undo runs. */
	rg_route_state swap;
	bool swapping = rg_traffic_swap_plan(a, &swap);
	rg_run next = a->run;
	if (rollback_plan(a, &plan, &next.plan, &err))
		return decision_refused(a, d, failed, swapping ? &swap : NULL, &err);
	next.state = RG_RUN_ROLLING_BACK;
	next.phase = RG_PHASE_REVERSE;
	snprintf(next.reason, sizeof next.reason, "%s", d->reason);
	next.step[0] = '\0';
	next.cursor = 0;
	next.total = (int)plan.n;
	next.window_until = 0;
	char msg[300];
	snprintf(msg, sizeof msg, "rolling back %s: %d undo step%s, newest first%s%s", a->run.version,
		 (int)plan.n, plan.n == 1 ? "" : "s", a->prev_version[0] ? "; restoring " : "",
		 a->prev_version);
	decided x = { d, failed, swapping ? &swap : NULL };
	if (rg_run_commit(a, &next, "rollback_started", NULL, msg, decided_extra, &x, &err)) {
		rg_plan_release(&plan);
		return decision_refused(a, d, failed, swapping ? &swap : NULL, &err);
	}
	rg_recover_forget_decision(a);
	rg_run_cancel_work(a);
	rg_plan_release(&a->plan);
	a->plan = plan;
	rg_info("run %lld: %s", (long long)a->run.id, d->reason);
	rg_decide_published(a, d);
	if (swapping)
		return rg_traffic_swap_apply(a, &swap);
	rg_run_advance(a);
}

void rg_forward_run_timeout(rg_active *a)
{
	rg_run_state st = a->run.state;
	if (a->released || a->run.phase != RG_PHASE_FORWARD ||
	    !(st == RG_RUN_RUNNING || st == RG_RUN_PAUSED))
		return;
	char limit[32];
	rg_duration_format(a->env->timeout_ms, limit, sizeof limit);
	rg_decision d = { .trigger = "run_timeout", .severity = "P1", .action = "rollback" };
	snprintf(d.observed, sizeof d.observed, "still at step '%s' after %s",
		 a->run.step[0] ? a->run.step : "-", limit);
	snprintf(d.threshold, sizeof d.threshold, "%s", limit);
	snprintf(d.reason, sizeof d.reason, "deploy of %s to %s exceeded its %s timeout; rolling back%s%s",
		 a->run.version, a->run.env, limit, a->prev_version[0] ? " to " : "", a->prev_version);
	rg_step_run sr;
	bool in_step = (size_t)a->run.cursor < a->n_fwd &&
		       rg_store_step_get(a->eng->store, a->run.id, "forward", a->run.cursor, &sr, NULL) == RG_OK &&
		       strcmp(sr.state, "running") == 0;
	if (in_step) {
		size_t len = 0;
		const char *log = a->launch.exec ? rg_exec_log(a->launch.exec, &len) : "";
		rg_launch_keep_log(a, log, len);
		char why[80];
		snprintf(why, sizeof why, "stopped by the run timeout (%s)", limit);
		rg_step_row_finish(&sr, false, why, -1);
	}
	rg_decide(a, &d, in_step ? &sr : NULL);
}

/* The new release takes over: live now, known good once its window passes.
 * The release it replaces stays restorable as the last known good. */
static rg_err go_live(rg_active *a, void *ctx, rg_error *err)
{
	rg_store *s = a->eng->store;
	rg_release cur, rel;
	rg_err rc = RG_OK;
	if (rg_store_release_current(s, a->run.env, &cur, NULL) == RG_OK &&
	    strcmp(cur.version, a->run.version) != 0)
		rc = rg_run_set_release(a, &cur, RG_REL_SUPERSEDED, err);
	if (!rc)
		rc = rg_store_release_get(s, a->run.env, a->run.version, &rel, err);
	if (!rc)
		rc = rg_run_set_release(a, &rel, RG_REL_LIVE, err);
	if (!rc)
		rc = rg_configsnap_take(a, err);
	return rc;
}

void rg_forward_steps_done(rg_active *a)
{
	uv_timer_stop(&a->deadline);
	char d[32], msg[200];
	if (a->run.skip_monitor) {
		snprintf(msg, sizeof msg, "all %d steps done; %s is live; monitor window skipped (emergency deploy)",
			 (int)a->n_fwd, a->run.version);
		return rg_window_enter(a, 0, msg, go_live);
	}
	rg_duration_format(a->env->monitor_ms, d, sizeof d);
	snprintf(msg, sizeof msg, "all %d steps done; %s is live; watching it for %s", (int)a->n_fwd,
		 a->run.version, d);
	rg_window_enter(a, rg_evidence_length(rg_evidence_for_monitor(a), a->env->monitor_ms), msg, go_live);
}
