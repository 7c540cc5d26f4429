/* batch.c — several named checks at once, one verdict: ok when all pass.
 * The first failure names the check and why; the log lists every check. */
#include "engine/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct slot {
	rg_batch *b;
	const rg_check *check;
	rg_check_run *run;
} slot;

struct rg_batch {
	rg_active *a;
	slot *slots;
	size_t n, pending;
	bool failed;
	bool timed_out;           /* the first failure was a timeout */
	char detail[512];
	char log[4096];
	rg_batch_done_fn done;
};

static void batch_free(rg_batch *b)
{
	free(b->slots);
	free(b);
}

static void batch_finish(rg_batch *b)
{
	rg_active *a = b->a;
	uv_timer_stop(&a->timer);
	a->launch.batch = NULL;
	rg_launch_keep_log(a, b->log, strlen(b->log));
	bool ok = !b->failed;
	rg_step_outcome outcome = ok ? RG_OUTCOME_SUCCEEDED : b->timed_out ? RG_OUTCOME_TIMED_OUT
								: RG_OUTCOME_FAILED;
	char detail[512];
	snprintf(detail, sizeof detail, "%s", ok ? "all checks passed" : b->detail);
	rg_batch_done_fn done = b->done;
	batch_free(b);
	done(a, outcome, detail);
}

static void note(rg_batch *b, const char *name, bool ok, bool timed_out, const char *what)
{
	size_t used = strlen(b->log);
	snprintf(b->log + used, sizeof b->log - used, "%s: %s%s%s\n", name,
		 ok ? "ok" : timed_out ? "TIMED OUT" : "FAILED", what[0] ? " — " : "", what);
	if (!ok && !b->failed) {
		snprintf(b->detail, sizeof b->detail, "check %s %s: %s", name,
			 timed_out ? "timed out" : "failed", what);
		b->timed_out = timed_out;
	}
	b->failed |= !ok;
}

static void on_check_done(const rg_check *check, const rg_check_result *res, void *ctx)
{
	slot *s = ctx;
	rg_batch *b = s->b;
	s->run = NULL;
	note(b, check->name, res->ok, res->timed_out, res->detail);
	if (--b->pending == 0)
		batch_finish(b);
}

static void on_timeout(uv_timer_t *t)
{
	rg_active *a = t->data;
	rg_batch *b = a->launch.batch;
	const char *what = "the step timed out before this check answered";
	for (size_t i = 0; i < b->n; i++) {
		if (!b->slots[i].run)
			continue;
		rg_check_cancel(b->slots[i].run);
		b->slots[i].run = NULL;
		note(b, b->slots[i].check->name, false, true, what);
	}
	batch_finish(b);
}

static void on_all_done_now(uv_timer_t *t)
{
	rg_active *a = t->data;
	batch_finish(a->launch.batch);
}

rg_err rg_batch_start(rg_active *a, const rg_check **checks, size_t n, int64_t timeout_ms,
		      char **env, rg_batch_done_fn done, rg_error *err)
{
	rg_batch *b = calloc(1, sizeof *b);
	if (b)
		b->slots = calloc(n + 1, sizeof *b->slots);
	if (!b || !b->slots) {
		free(b);
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	}
	*b = (rg_batch){ .a = a, .slots = b->slots, .n = n, .pending = n, .done = done };
	a->launch.batch = b;
	for (size_t i = 0; i < n; i++) {
		rg_error cerr;
		b->slots[i].b = b;
		b->slots[i].check = checks[i];
		if (rg_check_start(a->eng->checker, checks[i], a->eng->cfg->dir, env, on_check_done,
				   &b->slots[i], &b->slots[i].run, &cerr) != RG_OK) {
			b->slots[i].run = NULL;
			note(b, checks[i]->name, false, false, cerr.message);
			b->pending--;
		}
	}
	/* Always answer from the loop, never from inside the caller. */
	if (b->pending == 0)
		uv_timer_start(&a->timer, on_all_done_now, 0, 0);
	else if (timeout_ms > 0)
		uv_timer_start(&a->timer, on_timeout, (uint64_t)timeout_ms, 0);
	return RG_OK;
}

void rg_batch_cancel(rg_active *a)
{
	rg_batch *b = a->launch.batch;
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		if (b->slots[i].run)
			rg_check_cancel(b->slots[i].run);
	uv_timer_stop(&a->timer);
	a->launch.batch = NULL;
	batch_free(b);
}
