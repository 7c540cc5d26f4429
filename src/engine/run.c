/* run.c — the driver of a run's life:
 *   queued [→ awaiting_approval (gates.c)] → running (steps) → monitoring → succeeded
 *   on failure: rolling_back (undo) → verifying → monitoring → rolled_back
 * Every change goes through rg_run_commit: the row is compare-and-set and an
 * event appended in one transaction, and only then is the change acted on. */
#include "engine/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/transitions.h"
#include "util/log.h"
#include "util/timeutil.h"

/* After a commit: the run's state change and the releases it changed. */
static void publish_changes(rg_active *a, rg_run_state from)
{
	rg_news n = { .run_id = a->run.id, .env = a->run.env,
		      .run_kind = rg_run_kind_name(a->run.kind) };
	for (int i = 0; i < a->n_release_news; i++) {
		n.kind = RG_NEWS_RELEASE_STATE;
		n.version = a->release_news[i].version;
		n.from = rg_release_state_name(a->release_news[i].from);
		n.to = rg_release_state_name(a->release_news[i].to);
		rg_engine_publish(a->eng, &n);
	}
	a->n_release_news = 0;
	if (from == a->run.state)
		return;
	n.kind = RG_NEWS_RUN_STATE;
	n.version = a->run.version;
	n.from = rg_run_state_name(from);
	n.to = rg_run_state_name(a->run.state);
	rg_engine_publish(a->eng, &n);
}

rg_err rg_run_commit(rg_active *a, rg_run *next, const char *event, const char *step,
		     const char *message, rg_txn_extra_fn extra, void *ctx, rg_error *err)
{
	rg_store *s = a->eng->store;
	rg_transition_assert(a->run.state, next->state);
	a->n_release_news = 0;
	a->deciding = NULL;
	rg_err rc = rg_store_begin(s, err);
	if (!rc)
		rc = rg_store_run_update(s, next, a->run.state, err);
	if (!rc && extra)
		rc = extra(a, ctx, err);
	if (!rc && event)
		rc = rg_store_event_add(s, a->run.id, event, step, message, err);
	if (!rc) {
		rg_change c = { .run = next, .from = a->run.state, .event = event, .step = step,
				.message = message, .decision = a->deciding };
		rc = rg_engine_changed(a->eng, &c, err);
	}
	a->deciding = NULL;
	if (!rc)
		rc = rg_store_commit(s, err);
	if (rc) {
		rg_store_abandon(s);
		if (next->plan != a->run.plan)
			free(next->plan);
		next->plan = a->run.plan;
		return rc;
	}
	if (a->run.plan != next->plan)
		free(a->run.plan);
	rg_run_state from = a->run.state;
	a->run = *next;
	rg_recover_written(a);
	publish_changes(a, from);
	rg_engine_notify(a->eng, a->run.id);
	return RG_OK;
}

rg_err rg_run_set_release(rg_active *a, rg_release *rel, rg_release_state state, rg_error *err)
{
	rg_release_state from = rel->state;
	rel->state = state;
	rel->updated = rg_now_ms();
	rel->run_id = a->run.id;
	if (state == RG_REL_KNOWN_GOOD && rel->verified_at == 0)
		rel->verified_at = rel->updated;
	rg_err rc = rg_store_release_put(a->eng->store, rel, err);
	int n = a->n_release_news;
	if (!rc && from != state && n < (int)(sizeof a->release_news / sizeof a->release_news[0])) {
		snprintf(a->release_news[n].version, sizeof a->release_news[n].version, "%s", rel->version);
		a->release_news[n].from = from;
		a->release_news[n].to = state;
		a->n_release_news++;
	}
	return rc;
}

void rg_run_note(rg_active *a, const char *type, const char *step, const char *message)
{
	rg_error err;
	if (rg_store_event_add(a->eng->store, a->run.id, type, step, message, &err))
		rg_warn("run %lld: %s", (long long)a->run.id, err.message);
	rg_engine_notify(a->eng, a->run.id);
}

void rg_run_cancel_work(rg_active *a)
{
	rg_traffic_cancel(a);
	a->traffic.done = NULL;
	rg_launch_stop(a);
	rg_batch_cancel(a);
	rg_window_stop(a);
	uv_timer_stop(&a->timer);
	uv_timer_stop(&a->deadline);
}

static int64_t left_of(rg_wait_clock *c, int64_t wall_end)
{
	int64_t mono_now = rg_mono_ms();
	if (c->wall != wall_end || c->mono == 0) {
		c->wall = wall_end;
		c->mono = mono_now + (wall_end - rg_now_ms());
	}
	return c->mono - mono_now;
}

int64_t rg_run_window_left(rg_active *a)
{
	return a->run.window_until ? left_of(&a->window_clock, a->run.window_until) : 0;
}

int64_t rg_run_deadline_left(rg_active *a)
{
	return left_of(&a->deadline_clock, a->run.deadline);
}

static void on_deadline(uv_timer_t *t)
{
	rg_forward_run_timeout(t->data);
}

/* The whole-run timeout bounds the deploy steps (the runbooks' "deployment
 * timeout"); the monitor window and a rollback have their own clocks. */
void rg_run_start_deadline(rg_active *a)
{
	if (a->run.deadline == 0 || a->run.phase != RG_PHASE_FORWARD ||
	    a->run.state == RG_RUN_MONITORING)
		return;
	int64_t left = rg_run_deadline_left(a);
	uv_timer_start(&a->deadline, on_deadline, left > 0 ? (uint64_t)left : 0, 0);
}

void rg_run_begin(rg_active *a)
{
	bool manual = a->run.kind == RG_KIND_ROLLBACK;
	rg_run next = a->run;
	next.state = manual ? RG_RUN_ROLLING_BACK : RG_RUN_RUNNING;
	next.started = rg_now_ms();
	next.window_until = 0;
	if (!manual)
		next.total = (int)a->n_fwd;
	/* A deploy that waited for approval has its whole-run timeout from now. */
	if (!manual && next.deadline == 0 && a->env->timeout_ms > 0)
		next.deadline = next.started + a->env->timeout_ms;
	char msg[300];
	if (manual && a->plan.config_only)
		snprintf(msg, sizeof msg, "restoring the config files as kept with %s", a->plan.target);
	else if (manual)
		snprintf(msg, sizeof msg, "rolling back from %s to %s: %d steps",
			 a->plan.removed, a->plan.target, (int)a->plan.n);
	else
		snprintf(msg, sizeof msg, "deploying %s to %s: %d steps", a->run.version,
			 a->run.env, (int)a->n_fwd);
	rg_error err;
	if (rg_run_commit(a, &next, manual ? "rollback_started" : "run_started", NULL, msg,
			  NULL, NULL, &err))
		return rg_run_stuck(a, &err);
	rg_run_start_deadline(a);
	rg_run_advance(a);
}

static void hold(rg_active *a)
{
	rg_run next = a->run;
	next.state = RG_RUN_PAUSED;
	rg_error err;
	if (rg_run_commit(a, &next, "paused", NULL, "paused before the next step", NULL, NULL, &err))
		rg_run_stuck(a, &err);
}

/* What comes next is decided by the committed state alone; the compiler
 * checks that every state has its case. */
void rg_run_advance(rg_active *a)
{
	if (a->released || a->eng->shutting_down)
		return;
	switch (a->run.state) {
	case RG_RUN_QUEUED:
		if (a->run.gate[0] && a->run.gate_round == 0)
			return rg_gate_open(a);
		return rg_run_begin(a);
	case RG_RUN_RUNNING:
		if (a->run.paused)
			return hold(a);
		if ((size_t)a->run.cursor >= a->n_fwd)
			return rg_forward_steps_done(a);
		return rg_forward_start_step(a);
	case RG_RUN_ROLLING_BACK:
		if ((size_t)a->run.cursor >= a->plan.n)
			return rg_reverse_plan_done(a);
		return rg_reverse_start_entry(a);
	case RG_RUN_VERIFYING:
		return rg_reverse_verify(a);
	case RG_RUN_MONITORING:
		return rg_window_resume(a);
	case RG_RUN_AWAITING_APPROVAL:
		return rg_gate_resume(a);
	case RG_RUN_PAUSED:
		return; /* wait for a person */
	case RG_RUN_SUCCEEDED:
	case RG_RUN_FAILED:
	case RG_RUN_ROLLED_BACK:
	case RG_RUN_ROLLBACK_FAILED:
	case RG_RUN_ABORTED:
	case RG_RUN_STATE_COUNT:
		return rg_active_release(a);
	}
}
