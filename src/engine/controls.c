/* controls.c — what a person can do to a run in progress: abort, pause,
 * resume, promote (which also skips a traffic step's pauses). Each is
 * refused (RG_ECONFLICT) in states where it has no meaning; none of them
 * ever undoes anything by itself. */
#include "engine/engine_internal.h"

#include <stdio.h>
#include <string.h>

#include "util/timeutil.h"

static rg_err find_active(rg_engine *e, int64_t run_id, rg_active **out, rg_error *err)
{
	*out = rg_engine_find(e, run_id);
	if (*out)
		return RG_OK;
	rg_run r;
	rg_err rc = rg_store_run_get(e->store, run_id, &r, err);
	if (rc)
		return rc;
	rc = rg_fail(err, RG_ECONFLICT, NULL, "run %lld is %s", (long long)run_id,
		     rg_run_state_name(r.state));
	rg_run_release(&r);
	return rc;
}

/* states ends with RG_RUN_STATE_COUNT. */
static bool state_in(const rg_active *a, const rg_run_state *states)
{
	for (; *states != RG_RUN_STATE_COUNT; states++)
		if (a->run.state == *states)
			return true;
	return false;
}

static rg_err refuse(const rg_active *a, const char *what, rg_error *err)
{
	return rg_fail(err, RG_ECONFLICT, NULL, "cannot %s run %lld: it is %s%s", what,
		       (long long)a->run.id, rg_run_state_name(a->run.state),
		       a->run.phase == RG_PHASE_REVERSE ? " (rolling back)" : "");
}

typedef struct abort_ctx {
	const char *step_why;         /* what the stopped step's row says */
	const rg_approval *answer;    /* a rejection that ends the run, or NULL */
} abort_ctx;

/* An aborted deploy leaves a pending release failed; a release already live
 * stays live: abort never changes what serves traffic. */
static rg_err abort_extra(rg_active *a, void *ctx, rg_error *err)
{
	const abort_ctx *c = ctx;
	rg_store *s = a->eng->store;
	rg_release rel;
	rg_step_run sr;
	if (c->answer) {
		rg_err rc = rg_store_approval_add(s, c->answer, err);
		if (rc)
			return rc;
	}
	if (rg_store_step_get(s, a->run.id, rg_run_phase_name(a->run.phase), a->run.cursor, &sr, NULL) == RG_OK &&
	    strcmp(sr.state, "running") == 0) {
		rg_step_row_finish(&sr, false, c->step_why, -1);
		rg_launch_keep_group(a, &sr);   /* until its kill grace is over */
		rg_err rc = rg_store_step_put(s, &sr, err);
		if (rc)
			return rc;
	}
	if (a->run.kind != RG_KIND_DEPLOY ||
	    rg_store_release_get(s, a->run.env, a->run.version, &rel, NULL) != RG_OK ||
	    rel.state != RG_REL_PENDING)
		return RG_OK;
	return rg_run_set_release(a, &rel, RG_REL_FAILED, err);
}

/* The abort is committed first and only then is the step stopped
 * (rg_active_release: SIGTERM, SIGKILL after its kill_grace): a refused
 * commit leaves the run going on as it was. */
rg_err rg_run_abort(rg_active *a, const char *error, const char *event, const char *message,
		    const rg_approval *answer, rg_error *err)
{
	rg_run next = a->run;
	next.state = RG_RUN_ABORTED;
	snprintf(next.error, sizeof next.error, "%s", error);
	next.ended = rg_now_ms();
	char why[160];
	snprintf(why, sizeof why, "stopped: %s", error);
	abort_ctx c = { why, answer };
	rg_err rc = rg_run_commit(a, &next, event, NULL, message, abort_extra, &c, err);
	if (rc)
		return rc;
	rg_active_release(a);
	return RG_OK;
}

rg_err rg_engine_abort(rg_engine *e, int64_t run_id, const char *actor, rg_error *err)
{
	static const rg_run_state allowed[] = { RG_RUN_QUEUED, RG_RUN_RUNNING, RG_RUN_PAUSED,
						RG_RUN_MONITORING, RG_RUN_AWAITING_APPROVAL,
						RG_RUN_STATE_COUNT };
	rg_active *a;
	rg_err rc = find_active(e, run_id, &a, err);
	if (rc)
		return rc;
	/* A rollback under way is never aborted half-done; one still waiting
	 * for its approval has done nothing yet. */
	if (!state_in(a, allowed) ||
	    (a->run.phase == RG_PHASE_REVERSE && a->run.state != RG_RUN_AWAITING_APPROVAL))
		return refuse(a, "abort", err);
	char error[160], msg[200];
	snprintf(error, sizeof error, "aborted by %s; nothing was undone", actor);
	snprintf(msg, sizeof msg, "aborted by %s at step '%s'; nothing was undone", actor,
		 a->run.step[0] ? a->run.step : "-");
	return rg_run_abort(a, error, "aborted", msg, NULL, err);
}

rg_err rg_engine_pause(rg_engine *e, int64_t run_id, const char *actor, rg_error *err)
{
	static const rg_run_state allowed[] = { RG_RUN_RUNNING, RG_RUN_STATE_COUNT };
	rg_active *a;
	rg_err rc = find_active(e, run_id, &a, err);
	if (rc)
		return rc;
	if (!state_in(a, allowed) || a->run.phase != RG_PHASE_FORWARD || a->run.paused)
		return refuse(a, "pause", err);
	rg_run next = a->run;
	next.paused = true;
	char msg[160];
	snprintf(msg, sizeof msg, "pause requested by %s: holding before the next step", actor);
	return rg_run_commit(a, &next, "pause_requested", NULL, msg, NULL, NULL, err);
}

rg_err rg_engine_resume(rg_engine *e, int64_t run_id, const char *actor, rg_error *err)
{
	rg_active *a;
	rg_err rc = find_active(e, run_id, &a, err);
	if (rc)
		return rc;
	if (a->run.state == RG_RUN_AWAITING_APPROVAL)
		return rg_gate_continue(a, actor, NULL, err);
	bool holding = a->run.state == RG_RUN_PAUSED;
	if (!holding && !a->run.paused)
		return refuse(a, "resume", err);
	rg_run next = a->run;
	next.paused = false;
	if (holding)
		next.state = RG_RUN_RUNNING;
	char msg[120];
	snprintf(msg, sizeof msg, "resumed by %s", actor);
	rc = rg_run_commit(a, &next, "resumed", NULL, msg, NULL, NULL, err);
	if (!rc && holding)
		rg_run_advance(a);
	return rc;
}

rg_err rg_engine_promote(rg_engine *e, int64_t run_id, const char *actor, rg_error *err)
{
	rg_active *a;
	rg_err rc = find_active(e, run_id, &a, err);
	if (rc)
		return rc;
	if (a->run.phase != RG_PHASE_FORWARD)
		return refuse(a, "promote", err);
	if (a->run.state != RG_RUN_MONITORING)
		return rg_traffic_promote(a, actor, err);
	char msg[160];
	snprintf(msg, sizeof msg, "promoted by %s: monitor window ended early", actor);
	rg_window_stop(a);
	rg_window_succeed(a, msg);
	return RG_OK;
}
