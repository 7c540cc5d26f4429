/* window.c — monitor windows: after the last step (`monitor`) and after a
 * rollback (`post_rollback_monitor`), and the watch of every trigger in them
 * and in a traffic step's pauses. Health-check triggers are evaluated on
 * their `every` interval; `failures` consecutive failures fire the trigger;
 * the other kinds (rules, the sequential test) are evaluated by triggers.c.
 * A fired trigger's severity picks the action through `actions:` (decide.c). */
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

static void monitor_passed(rg_active *a)
{
	rg_window_stop(a);
	rg_window_succeed(a, "monitor window passed: no trigger called for a rollback");
}

static void on_window_end(uv_timer_t *t)
{
	rg_active *a = t->data;
	if (!reverse(a))
		return rg_evidence_wait_end(a, rg_evidence_for_monitor(a), a->env->monitor_ms,
					    monitor_passed);
	rg_window_stop(a);
	rg_reverse_finish(a, NULL, NULL);
}

static void on_trigger_done(const rg_check *check, const rg_check_result *res, void *ctx);

static void start_trigger(rg_active *a, size_t i)
{
	const rg_config *cfg = a->eng->cfg;
	const rg_trigger *t = &cfg->triggers[i];
	const rg_check *c = rg_config_check(cfg, t->check);
	const char *version = reverse(a) ? a->plan.target : a->run.version;
	rg_envlist env;
	rg_error err;
	rg_trigger_slot *slot = &a->watch.triggers[i];
	slot->due = (int64_t)uv_now(a->eng->loop) + t->every_ms;
	if (!c || rg_launch_env(a, t->name, version, "", &env, &err) != RG_OK)
		return;
	if (rg_check_start(a->eng->checker, c, cfg->dir, env.items, on_trigger_done, slot,
			   &slot->run, &err) != RG_OK) {
		slot->run = NULL;
		rg_warn("run %lld: trigger '%s' could not start: %s", (long long)a->run.id, t->name,
			err.message);
	}
	rg_envlist_release(&env);
}

static void on_tick(uv_timer_t *timer)
{
	rg_active *a = timer->data;
	int64_t now = (int64_t)uv_now(a->eng->loop);
	const rg_config *cfg = a->eng->cfg;
	for (size_t i = 0; i < cfg->n_triggers; i++)
		if (cfg->triggers[i].kind == RG_TRIGGER_CHECK && !a->watch.triggers[i].run &&
		    a->watch.triggers[i].due <= now)
			start_trigger(a, i);
	if (uv_is_active((uv_handle_t *)&a->watch.tick))
		rg_triggers_tick(a, now);
}

/* A check trigger fired: its decision, through the matrix (decide.c). */
static void fire(rg_active *a, size_t i, const char *detail)
{
	const rg_trigger *t = &a->eng->cfg->triggers[i];
	char every[32], what[300];
	rg_duration_format(t->every_ms, every, sizeof every);
	a->watch.triggers[i].failures = 0;
	if (!rg_decide_allowed(a, t->name))
		return;
	rg_decision d;
	memset(&d, 0, sizeof d);
	snprintf(d.trigger, sizeof d.trigger, "%s", t->name);
	snprintf(d.severity, sizeof d.severity, "%s", rg_severity_name(t->severity));
	snprintf(d.observed, sizeof d.observed, "%d consecutive failures; last: %s", t->failures, detail);
	snprintf(d.threshold, sizeof d.threshold, "%d failures of check '%s' every %s", t->failures,
		 t->check, every);
	snprintf(what, sizeof what, "trigger '%s' fired (%s): check '%s' failed %d times in a row",
		 t->name, d.severity, t->check, t->failures);
	rg_decide_trigger(a, &d, t, what);
}

static void on_trigger_done(const rg_check *check, const rg_check_result *res, void *ctx)
{
	rg_trigger_slot *slot = ctx;
	rg_active *a = slot->a;
	const rg_trigger *t = &a->eng->cfg->triggers[slot->i];
	slot->run = NULL;
	if (res->ok) {
		slot->failures = 0;
		return;
	}
	slot->failures++;
	char msg[700];
	snprintf(msg, sizeof msg, "trigger '%s': check '%s' failed (%d of %d): %s", t->name,
		 check->name, slot->failures, t->failures, res->detail);
	rg_error err;
	if (rg_store_event_add(a->eng->store, a->run.id, "check_failed", NULL, msg, &err))
		rg_warn("run %lld: %s", (long long)a->run.id, err.message);
	rg_engine_notify(a->eng, a->run.id);
	if (slot->failures >= t->failures)
		fire(a, slot->i, res->detail);
}

static uint64_t tick_interval(const rg_config *cfg)
{
	int64_t every = rg_triggers_interval(cfg);
	for (size_t i = 0; i < cfg->n_triggers; i++)
		if (cfg->triggers[i].kind == RG_TRIGGER_CHECK &&
		    (every == 0 || cfg->triggers[i].every_ms < every))
			every = cfg->triggers[i].every_ms;
	return every > 0 ? (uint64_t)(every < 50 ? 50 : every) : 0;
}

/* Health triggers are evaluated from now on, every `every`, until
 * rg_window_stop: during a monitor window, and during a traffic step's
 * pauses (traffic.c). */
void rg_window_watch(rg_active *a)
{
	uint64_t every = tick_interval(a->eng->cfg);
	if (every == 0)
		return;
	int64_t now = (int64_t)uv_now(a->eng->loop);
	for (size_t i = 0; i < a->eng->cfg->n_triggers; i++)
		a->watch.triggers[i].due = now;
	rg_triggers_start(a);
	uv_timer_start(&a->watch.tick, on_tick, 0, every);
}

/* With evidence required (evidence.c) the committed end of the forward
 * window is the longest it may last; the timer fires at its ordinary end. */
void rg_window_resume(rg_active *a)
{
	const rg_evidence *r = reverse(a) ? NULL : rg_evidence_for_monitor(a);
	int64_t left = r ? rg_evidence_ordinary_left(a, r, a->env->monitor_ms) : rg_run_window_left(a);
	uv_timer_start(&a->timer, on_window_end, left > 0 ? (uint64_t)left : 0, 0);
	if (rg_run_window_left(a) > 0) {
		rg_evidence_begin(a);
		rg_window_watch(a);
	}
}

void rg_window_enter(rg_active *a, int64_t length_ms, const char *message, rg_txn_extra_fn extra)
{
	rg_run next = a->run;
	next.state = RG_RUN_MONITORING;
	next.step[0] = '\0';
	next.window_until = rg_now_ms() + length_ms;
	rg_error err;
	if (rg_run_commit(a, &next, "monitoring", NULL, message, extra, NULL, &err))
		return rg_run_stuck(a, &err);
	rg_window_resume(a);
}

void rg_window_stop(rg_active *a)
{
	uv_timer_stop(&a->watch.tick);
	uv_timer_stop(&a->timer);
	rg_triggers_stop(a);
	for (size_t i = 0; i < a->eng->cfg->n_triggers; i++) {
		if (a->watch.triggers[i].run)
			rg_check_cancel(a->watch.triggers[i].run);
		a->watch.triggers[i].run = NULL;
		a->watch.triggers[i].failures = 0;
	}
}

static rg_err known_good(rg_active *a, void *ctx, rg_error *err)
{
	rg_release rel;
	rg_err rc = rg_store_release_get(a->eng->store, a->run.env, a->run.version, &rel, err);
	return rc ? rc : rg_run_set_release(a, &rel, RG_REL_KNOWN_GOOD, err);
}

void rg_window_succeed(rg_active *a, const char *message)
{
	rg_run next = a->run;
	next.state = RG_RUN_SUCCEEDED;
	next.ended = rg_now_ms();
	next.window_until = 0;
	char msg[400];
	snprintf(msg, sizeof msg, "%s; %s is known good", message, a->run.version);
	rg_error err;
	if (rg_run_commit(a, &next, "succeeded", NULL, msg, known_good, NULL, &err))
		return rg_run_stuck(a, &err);
	rg_info("run %lld: %s is known good in %s", (long long)a->run.id, a->run.version, a->run.env);
	rg_active_release(a);
}
