/* recover.c — a run whose write the store refused (disk full, I/O error,
 * a lock held too long, no memory to build the write) is not dropped: it
 * stops what it was doing, stays in memory at its last committed state and
 * tries again with backoff, the way a restart would resume it, until the
 * store takes writes again. /health reports the refusal meanwhile.
 *
 * Two things are kept across the wait so that going on is not a step back:
 * the result of a step whose record was refused (the step is not run
 * again), and a rollback decision that could not be stored (its traffic
 * swap was already applied — the one exception to "commit, then act", in
 * the safe direction — and the decision is stored first once writes work). */
#include "engine/engine_internal.h"

#include <stdio.h>
#include <string.h>

#include "util/log.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000

static void on_retry(uv_timer_t *t);

int rg_recover_init(rg_active *a)
{
	int rc = uv_timer_init(a->eng->loop, &a->rec.timer);
	a->rec.timer.data = a;
	return rc;
}

void rg_recover_stop(rg_active *a)
{
	uv_timer_stop(&a->rec.timer);
	a->rec.holding = false;
}

void rg_run_stuck(rg_active *a, const rg_error *err)
{
	rg_recovery *r = &a->rec;
	if (a->released)
		return;
	rg_run_cancel_work(a);
	r->failures++;
	r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : BACKOFF_FIRST_MS;
	if (r->backoff_ms > BACKOFF_MAX_MS)
		r->backoff_ms = BACKOFF_MAX_MS;
	snprintf(r->why, sizeof r->why, "%s", err->message);
	r->holding = true;
	if (r->failures == 1 || r->failures % 20 == 0)
		rg_error_log("run %lld: its progress could not be recorded (%s); holding at its last "
			     "recorded state, trying again in %lld ms (%d refused so far)",
			     (long long)a->run.id, err->message, (long long)r->backoff_ms, r->failures);
	uv_timer_start(&r->timer, on_retry, (uint64_t)r->backoff_ms, 0);
}

void rg_recover_keep_result(rg_active *a, const char *phase, int idx, rg_step_outcome outcome,
			    const char *detail, int exit_code, rg_launch_done_fn done)
{
	rg_recovery *r = &a->rec;
	r->has_result = true;
	snprintf(r->phase, sizeof r->phase, "%s", phase);
	r->idx = idx;
	r->outcome = outcome;
	snprintf(r->detail, sizeof r->detail, "%s", detail ? detail : "");
	r->exit_code = exit_code;
	r->done = done;
}

void rg_recover_forget_result(rg_active *a)
{
	a->rec.has_result = false;
}

void rg_recover_keep_decision(rg_active *a, const rg_decision *d, const rg_step_run *failed,
			      const rg_error *err)
{
	rg_recovery *r = &a->rec;
	if (&r->decision != d)
		r->decision = *d;
	r->has_decision = true;
	r->has_failed = failed != NULL;
	if (failed && failed != &r->failed)
		r->failed = *failed;
	rg_run_stuck(a, err);
}

void rg_recover_forget_decision(rg_active *a)
{
	a->rec.has_decision = false;
	a->rec.has_failed = false;
}

/* The row in memory becomes the stored one again: anything changed in
 * memory since the last commit that took is forgotten. */
static rg_err reload(rg_active *a, rg_error *err)
{
	rg_run stored;
	rg_err rc = rg_store_run_get(a->eng->store, a->run.id, &stored, err);
	if (rc)
		return rc;
	rg_run_release(&a->run);
	a->run = stored;
	return RG_OK;
}

/* The kept result belongs to the step the store still shows running. */
static bool result_applies(rg_active *a)
{
	rg_recovery *r = &a->rec;
	rg_step_run sr;
	return r->has_result && strcmp(r->phase, rg_run_phase_name(a->run.phase)) == 0 &&
	       r->idx == a->run.cursor &&
	       rg_store_step_get(a->eng->store, a->run.id, r->phase, r->idx, &sr, NULL) == RG_OK &&
	       strcmp(sr.state, "running") == 0;
}

static void on_retry(uv_timer_t *t)
{
	rg_active *a = t->data;
	rg_recovery *r = &a->rec;
	rg_error err;
	r->holding = false;
	if (a->released || a->eng->shutting_down)
		return;
	if (reload(a, &err))
		return rg_run_stuck(a, &err);
	if (rg_run_state_terminal(a->run.state))
		return rg_active_release(a);
	rg_info("run %lld: trying again after %d refused write%s", (long long)a->run.id, r->failures,
		r->failures == 1 ? "" : "s");
	if (r->has_decision && a->run.phase == RG_PHASE_FORWARD)
		return rg_forward_decide_rollback(a, &r->decision, r->has_failed ? &r->failed : NULL);
	rg_recover_forget_decision(a);
	if (result_applies(a)) {
		rg_launch_done_fn done = r->done;
		char detail[512];
		snprintf(detail, sizeof detail, "%s", r->detail);
		return done(a, r->outcome, detail, r->exit_code);
	}
	rg_recover_forget_result(a);
	rg_run_start_deadline(a);
	rg_run_advance(a);
}

/* Called by rg_run_commit after a write that took. */
void rg_recover_written(rg_active *a)
{
	if (a->rec.failures)
		rg_info("run %lld: the store takes writes again after %d refused", (long long)a->run.id,
			a->rec.failures);
	a->rec.failures = 0;
	a->rec.backoff_ms = 0;
	a->rec.why[0] = '\0';
}

bool rg_engine_store_trouble(rg_engine *e, char *why, size_t size)
{
	for (rg_active *a = e->runs; a; a = a->next)
		if (!a->released && a->rec.failures > 0) {
			snprintf(why, size, "run %lld cannot record its progress: %s (trying again every %lld ms)",
				 (long long)a->run.id, a->rec.why, (long long)a->rec.backoff_ms);
			return true;
		}
	return false;
}
