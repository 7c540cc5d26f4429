/* decide.c — the one decision path. Every decision — a failed or timed-out
 * step, a trigger (check, rule, sequential test), an alert, the run
 * timeout, an approval or its timeout, missing evidence — goes through
 * rg_decide, which stores it with the change it causes and, once that is
 * committed, publishes it to the engine's subscribers (RG_NEWS_DECISION).
 * A fired trigger's severity maps through `actions:` to what happens:
 *   rollback                 at once (forward.c takes it from there);
 *   rollback-after-approval  the run waits at the severity's approval gate
 *                            (gates.c), holding where it is, until the
 *                            people it names approve (roll back) or one
 *                            rejects (go on), or its timeout passes
 *                            (roll back);
 *   notify                   recorded, nothing else.
 * A trigger with disable_flag decides "disable-flag" instead, whatever its
 * severity: the flag is turned off in the run's environment (an override
 * stored with the decision), the release stays and the watch goes on — the
 * partial rollback of runbook procedure 4. It is taken in a post-rollback
 * window too: turning a feature off is always the safe direction.
 * In a rollback's post-rollback window nothing rolls back again: the run is
 * marked (the restored release is unhealthy). Every decision is stored. */
#include "engine/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flags/flags.h"
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
	ACT_DISABLE_FLAG,
	ACT_COUNT
} decision_action;

static const char *const action_names[ACT_COUNT] = {
	[ACT_ROLLBACK] = "rollback", [ACT_ROLLBACK_AFTER_APPROVAL] = "rollback-after-approval",
	[ACT_NOTIFY] = "notify",     [ACT_HALT] = "halt",
	[ACT_HOLD] = "hold",         [ACT_PROMOTE] = "promote",
	[ACT_DISABLE_FLAG] = "disable-flag",
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

rg_err rg_decide_store(rg_active *a, const rg_decision *d, rg_error *err)
{
	rg_err rc = rg_store_decision_put(a->eng->store, a->run.id, d, err);
	if (!rc)
		a->deciding = d;
	return rc;
}

/* A decision committed on its own, with one event and no state change. */
static rg_err store_alone(rg_active *a, const rg_decision *d, const char *event, const char *msg,
			  rg_error *err)
{
	rg_change c = { .run = &a->run, .from = a->run.state, .event = event, .message = msg,
			.decision = d };
	rg_err rc = rg_store_decision_put(a->eng->store, a->run.id, d, err);
	if (!rc)
		rc = rg_store_event_add(a->eng->store, a->run.id, event, NULL, msg, err);
	if (!rc)
		rc = rg_engine_changed(a->eng, &c, err);
	return rc;
}

/* notify (and promote without evidence): stored and told, the watch goes on. */
static void record(rg_active *a, const rg_decision *d)
{
	rg_error err;
	char msg[700];
	snprintf(msg, sizeof msg, "%s; recorded, no automatic action", d->reason);
	if (rg_store_begin(a->eng->store, &err) || store_alone(a, d, "trigger_fired", msg, &err) ||
	    rg_store_commit(a->eng->store, &err)) {
		rg_store_abandon(a->eng->store);
		rg_warn("run %lld: the decision could not be stored: %s", (long long)a->run.id, err.message);
		return;
	}
	rg_engine_notify(a->eng, a->run.id);
	rg_decide_published(a, d);
}

rg_err rg_decide_extra(rg_active *a, void *ctx, rg_error *err)
{
	const rg_decision *d = ctx;
	rg_err rc = rg_decide_store(a, d, err);
	if (!rc)
		rc = rg_store_event_add(a->eng->store, a->run.id, "decision", NULL, d->reason, err);
	return rc;
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

static const rg_trigger *trigger_named(const rg_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_triggers; i++)
		if (cfg->triggers[i].name && strcmp(cfg->triggers[i].name, name) == 0)
			return &cfg->triggers[i];
	return NULL;
}

/* The release under watch: the new one, or the restored one after a rollback. */
static const char *watched_version(const rg_active *a)
{
	return reverse(a) ? a->plan.target : a->run.version;
}

/* The override that turns f off in the run's environment, written with the
 * decision and its event in one transaction: the OFREP answers read the
 * store, so the commit is the moment applications see the flag off. A
 * flag already off is left alone (the trigger fires again while the
 * feature stays broken; one decision says it). */
static void disable_flag(rg_active *a, rg_decision *d, const rg_flag *f)
{
	rg_store *s = a->eng->store;
	uint64_t t0 = uv_hrtime();
	rg_flag_override *ov = NULL, o;
	size_t n = 0;
	rg_error err;
	if (rg_store_flags_get(s, a->run.env, &ov, &n, &err)) {
		rg_warn("run %lld: flag '%s' cannot be read: %s", (long long)a->run.id, f->name, err.message);
		return;
	}
	rg_flag_setting st;
	rg_flag_setting_of(f, a->run.env, rg_flag_override_find(ov, n, f->name), &st);
	free(ov);
	if (!st.listed || !st.enabled) {
		rg_debug("run %lld: trigger '%s': flag '%s' is already off in %s", (long long)a->run.id,
			 d->trigger, f->name, a->run.env);
		return;
	}
	memset(&o, 0, sizeof o);
	snprintf(o.env, sizeof o.env, "%s", a->run.env);
	snprintf(o.key, sizeof o.key, "%s", f->name);
	snprintf(o.actor, sizeof o.actor, "trigger:%s", d->trigger);
	snprintf(o.reason, sizeof o.reason, "%s", d->reason);
	o.rollout = st.rollout;
	o.run_id = a->run.id;
	o.at = rg_now_ms();
	char msg[700];
	snprintf(msg, sizeof msg, "flag '%s' turned off in %s by trigger '%s'; release %s stays",
		 f->name, a->run.env, d->trigger, watched_version(a));
	if (rg_store_begin(s, &err) || rg_store_flag_put(s, &o, &err) ||
	    store_alone(a, d, "flag_disabled", msg, &err) || rg_store_commit(s, &err)) {
		rg_store_abandon(s);
		rg_warn("run %lld: flag '%s' could not be turned off (it fires again on the next "
			"breach): %s", (long long)a->run.id, f->name, err.message);
		return;
	}
	rg_info("run %lld: %s (%.2f ms from the trigger to the stored override)",
		(long long)a->run.id, msg, (double)(uv_hrtime() - t0) / 1e6);
	rg_engine_notify(a->eng, a->run.id);
	rg_decide_published(a, d);
}

/* The rollback-loop guard. A release that keeps failing after rollbacks
 * (or a trigger that fires on every release) would otherwise roll back
 * without end: after actions.max_auto_rollbacks automatic rollbacks in the
 * environment within actions.loop_window, the next trigger that would roll
 * back holds at the hold gate for a person, and its incident escalates at
 * level 2 (incident/incident.c reads the reason's prefix). A store that
 * cannot count lets the rollback happen: rolling back is the safe side. */
static bool loop_guarded(rg_active *a, rg_decision *d, const char *what)
{
	const rg_config *cfg = a->eng->cfg;
	int n = 0;
	rg_error err;
	if (cfg->max_auto_rollbacks <= 0)
		return false;
	if (rg_store_auto_rollbacks_since(a->eng->store, a->run.env, rg_now_ms() - cfg->loop_window_ms,
					  &n, &err)) {
		rg_warn("run %lld: the rollback-loop guard cannot count rollbacks: %s", (long long)a->run.id,
			err.message);
		return false;
	}
	if (n < cfg->max_auto_rollbacks)
		return false;
	char window[32];
	rg_duration_format(cfg->loop_window_ms, window, sizeof window);
	snprintf(d->action, sizeof d->action, "%s", action_names[ACT_HOLD]);
	snprintf(d->reason, sizeof d->reason,
		 RG_LOOP_GUARD_REASON ": %d automatic rollbacks in %s within %s "
		 "(actions.max_auto_rollbacks: %d); holding for a person instead of rolling back: %s",
		 n, a->run.env, window, cfg->max_auto_rollbacks, what);
	return true;
}

void rg_decide_trigger(rg_active *a, rg_decision *d, const rg_trigger *t, const char *what)
{
	if (!t->disable_flag && !reverse(a) && a->eng->cfg->actions[t->severity] == RG_ACTION_ROLLBACK &&
	    loop_guarded(a, d, what))
		return rg_decide(a, d, NULL);
	if (t->disable_flag) {
		snprintf(d->action, sizeof d->action, "%s", action_names[ACT_DISABLE_FLAG]);
		snprintf(d->reason, sizeof d->reason, "%s; turning flag '%s' off in %s, release %s stays",
			 what, t->disable_flag, a->run.env, watched_version(a));
	} else {
		rg_decide_reason(a, d, a->eng->cfg->actions[t->severity], what);
	}
	rg_decide(a, d, NULL);
}

void rg_decide(rg_active *a, rg_decision *d, rg_step_run *failed)
{
	if (!d->window[0])
		rg_decide_window(a, d->window, sizeof d->window);
	if (action_of(d) == ACT_DISABLE_FLAG) {
		const rg_trigger *t = trigger_named(a->eng->cfg, d->trigger);
		const rg_flag *f = t ? rg_config_flag(a->eng->cfg, t->disable_flag) : NULL;
		if (f)
			return disable_flag(a, d, f);
		rg_error_log("BUG: decision disable-flag of trigger '%s' names no flag; recording it",
			     d->trigger);
		return record(a, d);
	}
	if (reverse(a))
		return restored_unhealthy(a, d);
	switch (action_of(d)) {
	case ACT_NOTIFY:
	case ACT_PROMOTE:
		return record(a, d);
	case ACT_ROLLBACK_AFTER_APPROVAL:
	case ACT_HOLD:
		return rg_gate_hold(a, d);
	case ACT_HALT:
		return rg_forward_halt(a, d, failed);
	case ACT_DISABLE_FLAG:   /* taken above */
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
