/* decide.c — the one decision path. Every decision — a failed or timed-out
 * step, a trigger (check, rule, sequential test), an alert, the run
 * timeout, an approval or its timeout, missing evidence — goes through
 * rg_decide, which stores it with the change it causes and, once that is
 * committed, publishes it to the engine's subscribers (RG_NEWS_DECISION).
 * A fired trigger's severity maps through `actions:` to what happens:
 *   rollback                 at once (forward.c takes it from there);
 *   rollback-after-approval  the run waits in awaiting_approval, holding
 *                            where it is, until a person runs
 *                            `rollguard rollback` (roll back) or
 *                            `rollguard resume` (go on), or until
 *                            actions.approval_timeout passes (roll back);
 *   notify                   recorded, nothing else.
 * In a rollback's post-rollback window nothing rolls back again: the run is
 * marked (the restored release is unhealthy). Every decision is stored. */
#include "engine/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/duration.h"
#include "util/log.h"
#include "util/timeutil.h"

static bool reverse(const rg_active *a)
{
	return a->run.phase == RG_PHASE_REVERSE;
}

void rg_decide_window(const rg_active *a, char *out, size_t size)
{
	if (reverse(a)) {
		snprintf(out, size, "post_rollback_monitor");
		return;
	}
	if (a->run.state == RG_RUN_MONITORING || (size_t)a->run.cursor >= a->n_fwd) {
		snprintf(out, size, "monitor");
		return;
	}
	const rg_step *s = &a->eng->cfg->deploy[a->fwd[a->run.cursor]];
	int k = a->run.traffic_stage;
	if (s->kind == RG_STEP_TRAFFIC && k >= 1 && (size_t)k <= s->traffic.n_steps)
		snprintf(out, size, "traffic %d%%", s->traffic.steps[k - 1]);
	else if (s->kind == RG_STEP_TRAFFIC && k > 0)
		snprintf(out, size, "traffic drain");
	else
		snprintf(out, size, "step '%s'", s->name);
}

/* The decisions and what each does; the strings are what the store,
 * the API and the logs say (rg_decision.action). */
typedef enum decision_action {
	ACT_ROLLBACK = 0,
	ACT_ROLLBACK_AFTER_APPROVAL,
	ACT_NOTIFY,
	ACT_HALT,
	ACT_HOLD,
	ACT_PROMOTE,
	ACT_COUNT
} decision_action;

static const char *const action_names[ACT_COUNT] = {
	[ACT_ROLLBACK] = "rollback", [ACT_ROLLBACK_AFTER_APPROVAL] = "rollback-after-approval",
	[ACT_NOTIFY] = "notify",     [ACT_HALT] = "halt",
	[ACT_HOLD] = "hold",         [ACT_PROMOTE] = "promote",
};

static decision_action action_of(const rg_decision *d)
{
	for (int i = 0; i < ACT_COUNT; i++)
		if (strcmp(action_names[i], d->action) == 0)
			return (decision_action)i;
	rg_error_log("BUG: unknown decision action '%s'; rolling back", d->action);
	return ACT_ROLLBACK;
}

void rg_decide_published(rg_active *a, const rg_decision *d)
{
	rg_news n = { .kind = RG_NEWS_DECISION, .run_id = a->run.id, .env = a->run.env,
		      .version = a->run.version, .run_kind = rg_run_kind_name(a->run.kind),
		      .decision = d };
	rg_engine_publish(a->eng, &n);
}

/* notify (and promote without evidence): stored and told, the watch goes on. */
static void record(rg_active *a, const rg_decision *d)
{
	rg_error err;
	char msg[700];
	snprintf(msg, sizeof msg, "%s; recorded, no automatic action", d->reason);
	if (rg_store_begin(a->eng->store, &err) || rg_store_decision_put(a->eng->store, a->run.id, d, &err) ||
	    rg_store_event_add(a->eng->store, a->run.id, "trigger_fired", NULL, msg, &err) ||
	    rg_store_commit(a->eng->store, &err)) {
		rg_store_abandon(a->eng->store);
		rg_warn("run %lld: the decision could not be stored: %s", (long long)a->run.id, err.message);
		return;
	}
	rg_engine_notify(a->eng, a->run.id);
	rg_decide_published(a, d);
}

static rg_err decision_extra(rg_active *a, void *ctx, rg_error *err)
{
	const rg_decision *d = ctx;
	rg_err rc = rg_store_decision_put(a->eng->store, a->run.id, d, err);
	if (!rc)
		rc = rg_store_event_add(a->eng->store, a->run.id, "decision", NULL, d->reason, err);
	return rc;
}

static void on_approval_timeout(uv_timer_t *t);

/* rollback-after-approval and hold: the run waits for a person. */
static void hold(rg_active *a, const rg_decision *d)
{
	rg_run_cancel_work(a);
	rg_run next = a->run;
	next.state = RG_RUN_AWAITING_APPROVAL;
	next.window_until = rg_now_ms() + a->eng->cfg->approval_timeout_ms;
	char limit[32], msg[900];
	rg_duration_format(a->eng->cfg->approval_timeout_ms, limit, sizeof limit);
	snprintf(msg, sizeof msg,
		 "waiting for a person: `rollguard rollback --env %s` rolls back, `rollguard resume %lld` goes on; "
		 "with no answer within %s it rolls back",
		 a->run.env, (long long)a->run.id, limit);
	rg_error err;
	if (rg_run_commit(a, &next, "awaiting_approval", NULL, msg, decision_extra, (void *)d, &err))
		return rg_run_stuck(a, &err);
	rg_info("run %lld: %s", (long long)a->run.id, d->reason);
	rg_decide_published(a, d);
	rg_approval_resume(a);
}

bool rg_decide_allowed(const rg_active *a, const char *trigger)
{
	return !a->approval.refused_trigger[0] || strcmp(a->approval.refused_trigger, trigger) != 0 ||
	       a->approval.refused_stage != a->run.traffic_stage || a->run.phase == RG_PHASE_REVERSE;
}

/* After a rollback nothing rolls back again: the run ends marked, and the
 * decision says so (stored with the run's end). */
static void restored_unhealthy(rg_active *a, rg_decision *d)
{
	char warning[512];
	snprintf(warning, sizeof warning,
		 "restored release %s is unhealthy: trigger '%s' fired after the rollback (%s)",
		 a->plan.target, d->trigger, d->observed);
	snprintf(d->action, sizeof d->action, "%s", action_names[ACT_NOTIFY]);
	snprintf(d->reason, sizeof d->reason, "%s; the rollback is not repeated", warning);
	rg_window_stop(a);
	rg_reverse_finish(a, warning, d);
}

void rg_decide(rg_active *a, rg_decision *d, rg_step_run *failed)
{
	if (!d->window[0])
		rg_decide_window(a, d->window, sizeof d->window);
	if (reverse(a))
		return restored_unhealthy(a, d);
	switch (action_of(d)) {
	case ACT_NOTIFY:
	case ACT_PROMOTE:
		return record(a, d);
	case ACT_ROLLBACK_AFTER_APPROVAL:
	case ACT_HOLD:
		return hold(a, d);
	case ACT_HALT:
		return rg_forward_halt(a, d, failed);
	case ACT_ROLLBACK:
	case ACT_COUNT:
		break;
	}
	rg_forward_decide_rollback(a, d, failed);
}

void rg_decide_reason(rg_active *a, rg_decision *d, rg_action action, const char *what)
{
	snprintf(d->action, sizeof d->action, "%s", rg_action_name(action));
	const char *target = a->prev_version[0] ? a->prev_version : "nothing (no known-good release)";
	if (action == RG_ACTION_ROLLBACK)
		snprintf(d->reason, sizeof d->reason, "%s; rolling back to %s", what, target);
	else if (action == RG_ACTION_ROLLBACK_AFTER_APPROVAL)
		snprintf(d->reason, sizeof d->reason, "%s; rolling back to %s once a person approves", what,
			 target);
	else
		snprintf(d->reason, sizeof d->reason, "%s; notifying only", what);
}

/* ---- awaiting approval ------------------------------------------------------ */

static void on_approval_timeout(uv_timer_t *t)
{
	rg_active *a = t->data;
	char limit[32];
	rg_duration_format(a->eng->cfg->approval_timeout_ms, limit, sizeof limit);
	rg_decision d = { .trigger = "approval_timeout", .action = "rollback" };
	snprintf(d.severity, sizeof d.severity, "-");
	snprintf(d.observed, sizeof d.observed, "no answer within %s", limit);
	snprintf(d.threshold, sizeof d.threshold, "actions.approval_timeout %s", limit);
	snprintf(d.window, sizeof d.window, "awaiting_approval");
	snprintf(d.reason, sizeof d.reason,
		 "no one approved or refused the rollback within %s; rolling back to %s", limit,
		 a->prev_version[0] ? a->prev_version : "nothing (no known-good release)");
	rg_decide(a, &d, NULL);
}

void rg_approval_resume(rg_active *a)
{
	int64_t left = rg_run_window_left(a);
	uv_timer_start(&a->timer, on_approval_timeout, left > 0 ? (uint64_t)left : 0, 0);
}

rg_err rg_approval_rollback(rg_active *a, const char *actor, const char *reason, rg_error *err)
{
	if (a->run.state != RG_RUN_AWAITING_APPROVAL)
		return rg_fail(err, RG_ECONFLICT, NULL, "run %lld is %s, not awaiting approval",
			       (long long)a->run.id, rg_run_state_name(a->run.state));
	uv_timer_stop(&a->timer);
	rg_decision d = { .action = "rollback" };
	snprintf(d.trigger, sizeof d.trigger, "approved");
	snprintf(d.severity, sizeof d.severity, "-");
	snprintf(d.observed, sizeof d.observed, "rollback approved by %s", actor);
	snprintf(d.window, sizeof d.window, "awaiting_approval");
	snprintf(d.reason, sizeof d.reason, "%s approved the rollback%s%s; rolling back to %s", actor,
		 reason && *reason ? ": " : "", reason && *reason ? reason : "",
		 a->prev_version[0] ? a->prev_version : "nothing (no known-good release)");
	rg_decide(a, &d, NULL);
	return RG_OK;
}

/* `resume` on a run awaiting approval: a person judged the release good
 * enough to go on. The watch starts again where it was — a traffic step's
 * pause or the monitor window, each from its full length. */
rg_err rg_approval_continue(rg_active *a, const char *actor, rg_error *err)
{
	uv_timer_stop(&a->timer);
	json_t *run = NULL;
	/* The trigger that asked: the newest decision waiting for approval. */
	if (rg_store_run_json(a->eng->store, a->run.id, &run, NULL) == RG_OK) {
		const char *t = json_string_value(json_object_get(json_object_get(run, "decision"), "trigger"));
		snprintf(a->approval.refused_trigger, sizeof a->approval.refused_trigger, "%s", t ? t : "");
		a->approval.refused_stage = a->run.traffic_stage;
	}
	json_decref(run);
	bool monitoring = (size_t)a->run.cursor >= a->n_fwd;
	rg_run next = a->run;
	next.state = monitoring ? RG_RUN_MONITORING : RG_RUN_RUNNING;
	int64_t length = rg_evidence_length(rg_evidence_for_monitor(a), a->env->monitor_ms);
	if (!monitoring) {
		const rg_step *s = &a->eng->cfg->deploy[a->fwd[a->run.cursor]];
		length = a->run.traffic_stage > (int)s->traffic.n_steps
				 ? s->traffic.drain_ms
				 : rg_evidence_length(rg_evidence_for_share(a, s), s->traffic.pause_ms);
	}
	next.window_until = rg_now_ms() + length;
	char msg[200];
	snprintf(msg, sizeof msg, "%s refused the rollback and resumed the run: watching again", actor);
	rg_err rc = rg_run_commit(a, &next, "resumed", NULL, msg, NULL, NULL, err);
	if (rc)
		return rc;
	rg_run_advance(a);
	return RG_OK;
}
