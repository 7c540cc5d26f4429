/* traffic.c — the traffic step and the routing side of a rollback.
 *
 * A traffic step moves the new release's share through `steps` (10 → 50 →
 * 100), pausing `pause` after each while the triggers are watched; at 100 %
 * the new release becomes the stable one and the old one stands by for
 * `drain`, so that a rollback is still a routing swap; then the old release
 * is retired (`retire`). Each stage is committed — run row (traffic_stage,
 * window_until), route row and event in one transaction — before the router
 * is told, so a restart continues from the stage it reached and serve
 * re-applies the stored route.
 *
 * A rollback takes the failed release out of traffic before any undo runs
 * (rg_traffic_swap_*) and, once the plan is done, routes everything to the
 * restored release (rg_traffic_restore). */
#include "engine/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/routeplan.h"
#include "routers/routers.h"
#include "util/duration.h"
#include "util/log.h"
#include "util/timeutil.h"

/* ---- shared: outputs, routes, the router --------------------------------- */

/* The first traffic step of the pipeline that applies to the environment:
 * its `backend` names the output holding each release's backends. */
static const rg_step *env_traffic_step(const rg_active *a)
{
	const rg_config *cfg = a->eng->cfg;
	for (size_t i = 0; i < cfg->n_deploy; i++)
		if (cfg->deploy[i].kind == RG_STEP_TRAFFIC && rg_step_applies(&cfg->deploy[i], a->run.env))
			return &cfg->deploy[i];
	return NULL;
}

/* The backends version published as t->backend ("STEP.KEY"). */
static rg_err backends_of(rg_active *a, const rg_traffic *t, const char *version, char *out,
			  size_t size, rg_error *err)
{
	const char *dot = strrchr(t->backend, '.');
	size_t step_len = (size_t)(dot - t->backend);
	rg_output *o = NULL;
	size_t n = 0;
	out[0] = '\0';
	rg_err rc = rg_store_outputs_get(a->eng->store, a->run.env, version, &o, &n, err);
	const char *value = NULL;
	for (size_t i = 0; !rc && i < n && !value; i++)
		if (strlen(o[i].step) == step_len && strncmp(o[i].step, t->backend, step_len) == 0 &&
		    strcmp(o[i].key, dot + 1) == 0)
			value = o[i].value;
	if (!rc && !value)
		rc = rg_fail(err, RG_ENOTFOUND, "backend", "release %s has no output '%s'", version,
			     t->backend);
	if (!rc)
		rc = rg_backends_normalize(value, out, size, err);
	if (rc && rc != RG_ENOTFOUND)
		rg_fail(err, rc, "backend", "output '%s' of %s: %s", t->backend, version, err->message);
	rg_outputs_free(o, n);
	return rc;
}

static bool has_router(const rg_active *a)
{
	return a->eng->routers && rg_routers_kind(a->eng->routers, a->run.env) != NULL;
}

static rg_err current_route(rg_active *a, rg_route_state *out, rg_error *err)
{
	rg_err rc = rg_store_route_get(a->eng->store, a->run.env, out, err);
	return rc == RG_ENOTFOUND ? RG_OK : rc;
}

static rg_err put_route(rg_active *a, void *ctx, rg_error *err)
{
	return rg_store_route_put(a->eng->store, ctx, err);
}

typedef void (*applied_fn)(rg_active *a, bool ok, const char *message, int64_t apply_us);

static void on_applied(void *ctx, rg_err rc, const char *message, int64_t apply_us)
{
	rg_active *a = ctx;
	a->traffic.route_op = NULL;
	applied_fn then = a->traffic.route_then;
	a->traffic.route_then = NULL;
	if (then)
		then(a, rc == RG_OK, message ? message : "", apply_us);
}

/* Tells the router about st (already committed); then() follows, possibly
 * before this returns (the built-in proxy swaps at once). */
static void apply(rg_active *a, const rg_route_state *st, applied_fn then)
{
	rg_error err;
	a->traffic.route_then = then;
	if (rg_routers_apply(a->eng->routers, st, on_applied, a, &a->traffic.route_op, &err) != RG_OK) {
		a->traffic.route_then = NULL;
		a->traffic.route_op = NULL;
		then(a, false, err.message, 0);
	}
}

void rg_traffic_cancel(rg_active *a)
{
	if (a->traffic.route_op)
		rg_route_op_cancel(a->traffic.route_op);
	a->traffic.route_op = NULL;
	a->traffic.route_then = NULL;
}

/* ---- the traffic step ----------------------------------------------------- */

static const rg_step *step_at_cursor(const rg_active *a)
{
	return &a->eng->cfg->deploy[a->fwd[a->run.cursor]];
}

static int stage_count(const rg_traffic *t)
{
	return (int)t->n_steps;
}

/* The traffic step is rollguard's own work: it succeeds or fails. */
static void step_end(rg_active *a, bool ok, const char *detail)
{
	rg_launch_done_fn done = a->traffic.done;
	a->traffic.done = NULL;
	rg_launch_keep_log(a, detail, strlen(detail));
	if (done)
		done(a, ok ? RG_OUTCOME_SUCCEEDED : RG_OUTCOME_FAILED, detail, ok ? 0 : -1);
}

static void next_stage(rg_active *a);

/* Commits the run at stage with the route, then applies it. */
static void commit_stage(rg_active *a, int stage, int64_t wait_ms, const rg_route_state *st,
			 const char *event, const char *message, applied_fn then)
{
	rg_run next = a->run;
	next.traffic_stage = stage;
	next.window_until = rg_now_ms() + wait_ms;
	rg_error err;
	if (rg_run_commit(a, &next, event, a->run.step, message, put_route, (void *)st, &err))
		return rg_run_stuck(a, &err);
	apply(a, st, then);
}

static void on_stage_applied(rg_active *a, bool ok, const char *message, int64_t apply_us)
{
	if (!ok) {
		char why[600];
		snprintf(why, sizeof why, "router refused the change: %s", message);
		return step_end(a, false, why);
	}
	rg_info("run %lld: route applied in %lld us", (long long)a->run.id, (long long)apply_us);
	next_stage(a);
}

/* The pause (or the drain) is over: on to what comes next. */
static void pause_over(rg_active *a)
{
	rg_window_stop(a);
	a->run.window_until = 0;
	next_stage(a);
}

static void on_wait_end(uv_timer_t *t)
{
	pause_over(t->data);
}

static bool at_share(const rg_active *a)
{
	int k = a->run.traffic_stage;
	return k >= 1 && k <= stage_count(&step_at_cursor(a)->traffic);
}

/* The evidence a share's pause needs before it may end (evidence.c). */
static const rg_evidence *share_rule(const rg_active *a)
{
	return at_share(a) ? rg_evidence_for_share(a, step_at_cursor(a)) : NULL;
}

static void on_pause_end(uv_timer_t *t)
{
	rg_active *a = t->data;
	rg_evidence_wait_end(a, share_rule(a), step_at_cursor(a)->traffic.pause_ms, pause_over);
}

/* The pause after a share (or the drain): triggers are watched meanwhile.
 * With evidence required the committed end is the longest the pause may
 * last; its ordinary end is judged first. */
static void wait_until_due(rg_active *a)
{
	const rg_evidence *r = share_rule(a);
	int64_t left = r ? rg_evidence_ordinary_left(a, r, step_at_cursor(a)->traffic.pause_ms)
			 : rg_run_window_left(a);
	if (!r && left <= 0)
		return pause_over(a);
	rg_evidence_begin(a);
	rg_window_watch(a);
	uv_timer_start(&a->timer, r ? on_pause_end : on_wait_end, left > 0 ? (uint64_t)left : 0, 0);
}

static void hold_at_share(rg_active *a)
{
	rg_route_state st;
	rg_error err;
	char split[200] = "";
	if (current_route(a, &st, &err) == RG_OK)
		rg_routeplan_describe(&st, split, sizeof split);
	rg_run next = a->run;
	next.state = RG_RUN_PAUSED;
	char msg[300];
	snprintf(msg, sizeof msg, "paused at %s; `rollguard resume %lld` goes on", split,
		 (long long)a->run.id);
	if (rg_run_commit(a, &next, "paused", a->run.step, msg, NULL, NULL, &err))
		rg_run_stuck(a, &err);
}

static void go_share(rg_active *a, int stage);
static void go_promote(rg_active *a);
static void go_retire(rg_active *a);

/* Where the step stands (a->run.traffic_stage, see store.h) decides what
 * comes next; the same code resumes a step after a restart. */
static void next_stage(rg_active *a)
{
	const rg_traffic *t = &step_at_cursor(a)->traffic;
	int n = stage_count(t), k = a->run.traffic_stage;
	bool due = rg_run_window_left(a) <= 0;
	/* A pause that needs evidence is over only once judged (window_until
	 * cleared), also when a restart finds its end long passed. */
	bool judged = a->run.window_until == 0 || !share_rule(a);
	if (k == 0)
		return go_share(a, 1);
	if (k <= n && (!due || !judged))
		return wait_until_due(a);
	if (k <= n && a->run.paused)
		return hold_at_share(a);
	if (k < n)
		return go_share(a, k + 1);
	if (k == n)
		return go_promote(a);
	if (k == n + 1 && !due)
		return wait_until_due(a);
	go_retire(a);
}

static void go_share(rg_active *a, int stage)
{
	const rg_step *s = step_at_cursor(a);
	const rg_traffic *t = &s->traffic;
	int weight = t->steps[stage - 1];
	rg_route_state cur, st;
	char backends[RG_BACKENDS_LEN];
	rg_error err;
	if (current_route(a, &cur, &err) || backends_of(a, t, a->run.version, backends, sizeof backends, &err))
		return step_end(a, false, err.message);
	/* Nothing serves yet, or the last share is the whole: switch at once. */
	if (weight >= 100 || !cur.stable[0])
		return go_promote(a);
	rg_routeplan_share(&cur, a->run.version, backends, weight, a->run.id * 0x9e3779b97f4a7c15LL,
			   a->run.id, &st);
	char split[200], pause[32], msg[400];
	rg_routeplan_describe(&st, split, sizeof split);
	rg_duration_format(t->pause_ms, pause, sizeof pause);
	const rg_evidence *r = rg_evidence_for_share(a, s);
	int n = snprintf(msg, sizeof msg, "traffic %d/%d: %s; watching for %s", stage, stage_count(t), split, pause);
	if (r && n > 0 && (size_t)n < sizeof msg) {
		char longest[32];
		rg_duration_format(rg_evidence_length(r, t->pause_ms), longest, sizeof longest);
		snprintf(msg + n, sizeof msg - (size_t)n, " (until %d requests reach %s, at most %s)",
			 r->min_requests, a->run.version, longest);
	}
	commit_stage(a, stage, rg_evidence_length(r, t->pause_ms), &st, "traffic", msg, on_stage_applied);
}

static void go_promote(rg_active *a)
{
	const rg_step *s = step_at_cursor(a);
	const rg_traffic *t = &s->traffic;
	rg_route_state cur, st;
	char backends[RG_BACKENDS_LEN];
	rg_error err;
	if (current_route(a, &cur, &err) || backends_of(a, t, a->run.version, backends, sizeof backends, &err))
		return step_end(a, false, err.message);
	rg_routeplan_promote(&cur, a->run.version, backends, a->run.id, &st);
	if (!st.seed)
		st.seed = a->run.id * 0x9e3779b97f4a7c15LL;
	char drain[32], msg[400];
	rg_duration_format(t->drain_ms, drain, sizeof drain);
	if (st.standby[0])
		snprintf(msg, sizeof msg, "traffic: %s takes all traffic; %s stands by for %s (drain)",
			 a->run.version, st.standby_version, drain);
	else
		snprintf(msg, sizeof msg, "traffic: %s takes all traffic", a->run.version);
	commit_stage(a, stage_count(t) + 1, st.standby[0] ? t->drain_ms : 0, &st, "traffic", msg,
		     on_stage_applied);
}

static void on_standby_dropped(rg_active *a, bool ok, const char *message, int64_t apply_us)
{
	if (!ok)
		rg_warn("run %lld: router did not drop the retired release: %s", (long long)a->run.id, message);
	step_end(a, true, "traffic shifted; the previous release is retired");
}

static void forget_standby(rg_active *a, const char *message)
{
	rg_route_state cur, st;
	rg_error err;
	if (current_route(a, &cur, &err))
		return step_end(a, false, err.message);
	rg_routeplan_retired(&cur, a->run.id, &st);
	rg_run next = a->run;
	if (rg_run_commit(a, &next, "retired", a->run.step, message, put_route, &st, &err))
		return rg_run_stuck(a, &err);
	apply(a, &st, on_standby_dropped);
}

static void on_retire_done(rg_active *a, rg_step_outcome outcome, const char *detail, int exit_code)
{
	char msg[700];
	if (outcome == RG_OUTCOME_SUCCEEDED)
		snprintf(msg, sizeof msg, "previous release retired by `retire`");
	else
		snprintf(msg, sizeof msg, "retire failed (%s); the previous release may still run", detail);
	forget_standby(a, msg);
}

/* The drain is over: the standby release leaves the router, after its
 * `retire` command (told ROLLGUARD_VERSION = the retired release). */
static void go_retire(rg_active *a)
{
	const rg_step *s = step_at_cursor(a);
	rg_route_state cur;
	rg_error err;
	if (current_route(a, &cur, &err))
		return step_end(a, false, err.message);
	if (!cur.standby[0])
		return step_end(a, true, "traffic shifted");
	if (!s->traffic.retire)
		return forget_standby(a, "drain over; the previous release left the router (no `retire` command)");
	char msg[300];
	snprintf(msg, sizeof msg, "drain over; retiring %s", cur.standby_version);
	rg_run next = a->run;
	next.traffic_stage = stage_count(&s->traffic) + 2;
	if (rg_run_commit(a, &next, "retiring", s->name, msg, NULL, NULL, &err))
		return rg_run_stuck(a, &err);
	rg_step retire = { .name = s->name, .kind = RG_STEP_EXEC, .run = s->traffic.retire,
			   .timeout_ms = s->timeout_ms, .kill_grace_ms = s->kill_grace_ms };
	rg_launch_step(a, &retire, s->traffic.retire, "forward", a->run.cursor, cur.standby_version,
		       a->run.version, on_retire_done);
}

void rg_traffic_run(rg_active *a, const rg_step *s, rg_launch_done_fn done)
{
	a->traffic.done = done;
	if (!has_router(a))
		return step_end(a, false, "this environment has no proxy or router to shift traffic with");
	next_stage(a);
}

/* `promote` skips the remaining pauses: the new release takes all the
 * traffic now (its drain still keeps the old one standing by); during the
 * drain it ends the drain. A share held by `pause` is released too. */
rg_err rg_traffic_promote(rg_active *a, const char *actor, rg_error *err)
{
	const rg_step *s = (size_t)a->run.cursor < a->n_fwd ? step_at_cursor(a) : NULL;
	int n = s ? stage_count(&s->traffic) : 0;
	bool held = a->run.state == RG_RUN_PAUSED;
	if (!s || s->kind != RG_STEP_TRAFFIC || a->traffic.route_op || a->run.traffic_stage > n + 1 ||
	    !(held || (a->run.state == RG_RUN_RUNNING && a->traffic.done)))
		return rg_fail(err, RG_ECONFLICT, NULL,
			       "cannot promote run %lld now: it is neither in a traffic step's pause nor in its monitor window",
			       (long long)a->run.id);
	rg_run next = a->run;
	next.state = RG_RUN_RUNNING;
	next.paused = false;
	next.window_until = 0;
	/* Recorded as "last share reached", so a restart promotes too. */
	if (next.traffic_stage <= n)
		next.traffic_stage = n;
	char msg[200];
	snprintf(msg, sizeof msg, "promoted by %s: %s", actor,
		 a->run.traffic_stage <= n ? "remaining traffic pauses skipped" : "drain ended early");
	rg_err rc = rg_run_commit(a, &next, "promoted", s->name, msg, NULL, NULL, err);
	if (rc)
		return rc;
	rg_window_stop(a);
	if (held) /* the forward driver picks the step up again */
		rg_run_advance(a);
	else
		next_stage(a);
	return RG_OK;
}

bool rg_traffic_end_pause(rg_active *a, const char *why)
{
	const rg_step *s = (size_t)a->run.cursor < a->n_fwd ? step_at_cursor(a) : NULL;
	if (!s || s->kind != RG_STEP_TRAFFIC || !a->traffic.done || a->traffic.route_op ||
	    a->run.traffic_stage < 1 || a->run.traffic_stage > stage_count(&s->traffic) ||
	    !uv_is_active((uv_handle_t *)&a->timer))
		return false;
	char msg[600];
	snprintf(msg, sizeof msg, "%s; pause ended early (promote_on_pass)", why);
	rg_run_note(a, "analysis_passed", s->name, msg);
	pause_over(a);
	return true;
}

/* ---- rollback -------------------------------------------------------------- */

bool rg_traffic_swap_plan(rg_active *a, rg_route_state *out)
{
	rg_route_state cur;
	rg_error err;
	if (!has_router(a) || a->run.kind != RG_KIND_DEPLOY ||
	    rg_store_route_get(a->eng->store, a->run.env, &cur, &err) != RG_OK)
		return false;
	return rg_routeplan_without(&cur, a->run.version, a->run.id, out);
}

rg_err rg_traffic_route_extra(rg_active *a, void *ctx, rg_error *err)
{
	return put_route(a, ctx, err);
}

static void on_swapped(rg_active *a, bool ok, const char *message, int64_t apply_us)
{
	int64_t since = rg_mono_us() - a->traffic.decided_us;
	int64_t early = a->rec.early_swap_us ? a->rec.early_swap_us - a->traffic.decided_us : -1;
	a->rec.early_swap_us = 0;
	rg_route_state st;
	rg_error err;
	char split[200] = "", msg[700];
	if (current_route(a, &st, &err) == RG_OK)
		rg_routeplan_describe(&st, split, sizeof split);
	if (ok && early >= 0)
		snprintf(msg, sizeof msg,
			 "traffic swapped to %s %lld us after the decision, before the store could record it; "
			 "recorded %lld ms later, before any undo",
			 split, (long long)early, (long long)((since - early) / 1000));
	else if (ok)
		snprintf(msg, sizeof msg,
			 "traffic swapped to %s %lld us after the decision (the router took %lld us), before any undo",
			 split, (long long)since, (long long)apply_us);
	else
		snprintf(msg, sizeof msg, "traffic swap failed (%s); going on with the undo", message);
	rg_run_note(a, ok ? "traffic_swapped" : "traffic_swap_failed", NULL, msg);
	rg_info("run %lld: %s", (long long)a->run.id, msg);
	rg_run_advance(a);
}

void rg_traffic_swap_apply(rg_active *a, const rg_route_state *st)
{
	apply(a, st, on_swapped);
}

static void on_early_swap(rg_active *a, bool ok, const char *message, int64_t apply_us)
{
	if (ok)
		rg_warn("run %lld: traffic swapped away from %s (the router took %lld us) before the decision was stored",
			(long long)a->run.id, a->run.version, (long long)apply_us);
	else
		rg_error_log("run %lld: the early traffic swap failed: %s", (long long)a->run.id, message);
}

void rg_traffic_swap_early(rg_active *a, const rg_route_state *st)
{
	apply(a, st, on_early_swap);
}

/* ---- a rollback puts everything on the restored release -------------------- */

static void on_restored(rg_active *a, bool ok, const char *message, int64_t apply_us)
{
	void (*then)(rg_active *) = a->traffic.restore_then;
	a->traffic.restore_then = NULL;
	char msg[600];
	if (ok)
		snprintf(msg, sizeof msg, "traffic on restored release %s (the router took %lld us)",
			 a->plan.target, (long long)apply_us);
	else
		snprintf(msg, sizeof msg, "router did not take the restored release %s: %s",
			 a->plan.target, message);
	rg_run_note(a, ok ? "traffic_restored" : "traffic_restore_failed", NULL, msg);
	then(a);
}

void rg_traffic_restore(rg_active *a, void (*then)(rg_active *a))
{
	const rg_step *s = env_traffic_step(a);
	char backends[RG_BACKENDS_LEN];
	rg_route_state cur, st;
	rg_error err;
	if (!s || !has_router(a) || !a->plan.target[0] || current_route(a, &cur, &err) ||
	    backends_of(a, &s->traffic, a->plan.target, backends, sizeof backends, &err) != RG_OK)
		return then(a);
	rg_routeplan_only(a->run.env, a->plan.target, backends, a->run.id, &st);
	st.seed = cur.seed;
	if (strcmp(cur.stable, st.stable) == 0 && strcmp(cur.stable_version, st.stable_version) == 0 &&
	    !cur.canary[0] && !cur.standby[0])
		return then(a);
	rg_run next = a->run;
	if (rg_run_commit(a, &next, NULL, NULL, NULL, put_route, &st, &err))
		return rg_run_stuck(a, &err);
	a->traffic.restore_then = then;
	apply(a, &st, on_restored);
}
