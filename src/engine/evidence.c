/* evidence.c — evidence before promotion. A traffic share's pause, and the
 * monitor window after the last step, are watched by the triggers; with
 * `analysis:` triggers and the built-in proxy an empty watch proves
 * nothing, so such a wait ends only once the release under watch has served
 * `min_requests` in it or the sequential test has passed. Otherwise it
 * extends up to its maximum (`max_pause`, `max_monitor`) and then does
 * `on_insufficient_data`: hold for a person, roll back, or go on — each a
 * decision stored with the requests seen.
 *
 * The committed end of such a wait (window_until) is its maximum, so a
 * restart needs nothing more than the stored row and the config: the
 * ordinary end is window_until − (maximum − length). The count of requests
 * starts again after a restart, which can only make the rule stricter.
 *
 * A first release (nothing served before it) has no users to measure and
 * nothing to return to: its monitor window is not held. */
#include "engine/engine_internal.h"

#include <stdio.h>
#include <string.h>

#include "util/duration.h"
#include "util/log.h"
#include "util/timeutil.h"

#define POLL_MS 250
#define TRIGGER "insufficient_data"

static bool has_analysis(const rg_config *cfg)
{
	for (size_t i = 0; i < cfg->n_triggers; i++)
		if (cfg->triggers[i].kind == RG_TRIGGER_ANALYSIS)
			return true;
	return false;
}

static bool applies(const rg_active *a)
{
	return a->eng->dp && a->env->proxy_listen && has_analysis(a->eng->cfg) &&
	       a->run.kind == RG_KIND_DEPLOY && a->run.phase == RG_PHASE_FORWARD;
}

const rg_evidence *rg_evidence_for_share(const rg_active *a, const rg_step *s)
{
	return applies(a) && s->kind == RG_STEP_TRAFFIC ? &s->traffic.evidence : NULL;
}

const rg_evidence *rg_evidence_for_monitor(const rg_active *a)
{
	return applies(a) && a->run.from_version[0] && !a->run.skip_monitor ? &a->env->monitor_evidence
									   : NULL;
}

int64_t rg_evidence_length(const rg_evidence *r, int64_t base_ms)
{
	return r && r->max_wait_ms > base_ms ? r->max_wait_ms : base_ms;
}

/* The whole-life request count of version on the proxy. */
static bool requests_of(rg_active *a, const char *version, uint64_t *out)
{
	rg_stats_summary s;
	rg_error err;
	if (!a->eng->dp || rg_dataplane_release_stats(a->eng->dp, a->run.env, version, 0, &s, &err))
		return false;
	*out = s.requests;
	return true;
}

void rg_evidence_begin(rg_active *a)
{
	rg_evidence_watch *w = &a->evidence;
	w->stage = a->run.traffic_stage;
	w->passed = false;
	w->extended = false;
	w->base = 0;
	w->counting = requests_of(a, a->run.version, &w->base);
}

void rg_evidence_passed(rg_active *a)
{
	if (a->evidence.stage == a->run.traffic_stage)
		a->evidence.passed = true;
}

static uint64_t seen(rg_active *a)
{
	uint64_t now = 0;
	if (!a->evidence.counting || a->evidence.stage != a->run.traffic_stage ||
	    !requests_of(a, a->run.version, &now) || now < a->evidence.base)
		return 0;
	return now - a->evidence.base;
}

/* Enough to end the wait: the requests, a passed test, or a person who
 * already said to go on without them (resume while held). */
static bool enough(rg_active *a, const rg_evidence *r)
{
	return !rg_decide_allowed(a, TRIGGER) || a->evidence.passed ||
	       seen(a) >= (uint64_t)r->min_requests;
}

static void describe(rg_active *a, const rg_evidence *r, int64_t base_ms, rg_decision *d)
{
	char waited[32], where[64];
	rg_duration_format(rg_evidence_length(r, base_ms), waited, sizeof waited);
	rg_decide_window(a, where, sizeof where);
	memset(d, 0, sizeof *d);
	snprintf(d->trigger, sizeof d->trigger, TRIGGER);
	snprintf(d->severity, sizeof d->severity, "-");
	snprintf(d->observed, sizeof d->observed, "%s served %llu request%s in %s of %s",
		 a->run.version, (unsigned long long)seen(a), seen(a) == 1 ? "" : "s", waited, where);
	snprintf(d->threshold, sizeof d->threshold,
		 "min_requests %d within %s, or a passed sequential test", r->min_requests, waited);
	snprintf(d->window, sizeof d->window, "%s", where);
}

static void on_poll(uv_timer_t *t);

/* The ordinary end came without the evidence: keep watching, up to the
 * committed maximum, and say so once. */
static void extend(rg_active *a, const rg_evidence *r, int64_t base_ms)
{
	if (!a->evidence.extended) {
		char more[32], msg[400];
		int64_t left = rg_run_window_left(a);
		rg_duration_format(left > 0 ? left : 0, more, sizeof more);
		snprintf(msg, sizeof msg,
			 "%s served %llu of the %d requests needed to judge it; watching up to %s more",
			 a->run.version, (unsigned long long)seen(a), r->min_requests, more);
		rg_run_note(a, "watch_extended", a->run.step[0] ? a->run.step : NULL, msg);
		a->evidence.extended = true;
	}
	a->evidence.rule = r;
	a->evidence.base_ms = base_ms;
	uv_timer_start(&a->timer, on_poll, POLL_MS, 0);
}

/* The maximum passed without the evidence: on_insufficient_data. */
static void short_of_evidence(rg_active *a, const rg_evidence *r, int64_t base_ms)
{
	rg_decision d;
	describe(a, r, base_ms, &d);
	const char *target = a->prev_version[0] ? a->prev_version : "nothing (no known-good release)";
	char what[400];
	snprintf(what, sizeof what, "%s served only %llu of the %d requests needed in %s", a->run.version,
		 (unsigned long long)seen(a), r->min_requests, d.window);
	snprintf(d.action, sizeof d.action, "%s", rg_insufficient_name(r->on_insufficient));
	switch (r->on_insufficient) {
	case RG_INSUFFICIENT_ROLLBACK:
		snprintf(d.reason, sizeof d.reason, "%s; rolling back to %s (on_insufficient_data: rollback)",
			 what, target);
		return rg_decide(a, &d, NULL);
	case RG_INSUFFICIENT_PROMOTE:
		snprintf(d.reason, sizeof d.reason, "%s; going on without it (on_insufficient_data: promote)",
			 what);
		rg_decide(a, &d, NULL);
		return a->evidence.go_on(a);
	case RG_INSUFFICIENT_HOLD:
	default:
		snprintf(d.reason, sizeof d.reason,
			 "%s; holding for a person (on_insufficient_data: hold)", what);
		return rg_decide(a, &d, NULL);
	}
}

static void judge(rg_active *a)
{
	const rg_evidence *r = a->evidence.rule;
	if (enough(a, r))
		return a->evidence.go_on(a);
	if (rg_run_window_left(a) > 0)
		return extend(a, r, a->evidence.base_ms);
	short_of_evidence(a, r, a->evidence.base_ms);
}

static void on_poll(uv_timer_t *t)
{
	judge(t->data);
}

void rg_evidence_wait_end(rg_active *a, const rg_evidence *r, int64_t base_ms,
			  void (*go_on)(rg_active *a))
{
	a->evidence.rule = r;
	a->evidence.base_ms = base_ms;
	a->evidence.go_on = go_on;
	if (!r)
		return go_on(a);
	judge(a);
}

int64_t rg_evidence_ordinary_left(rg_active *a, const rg_evidence *r, int64_t base_ms)
{
	return rg_run_window_left(a) - (rg_evidence_length(r, base_ms) - base_ms);
}
