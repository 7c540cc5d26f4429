/* counters.c — the /metrics figures in memory (counters.h). Everything here
 * is arithmetic on the loop thread; the store is read at start and once per
 * finished run, never during a scrape. It must never let a gauge go
 * negative: an update it cannot place is dropped, not guessed. */
#include "api/counters.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/timeutil.h"

struct rg_counters {
	rg_store *store;                      /* borrowed */
	int64_t runs[RG_RUN_STATE_COUNT];     /* stored runs by state */
	int64_t rollbacks;
	rg_step_histogram steps;
	json_t *decisions;                    /* {env: {action: n}} since start */
};

static rg_err load_runs(rg_counters *c, const json_t *by_state, rg_error *err)
{
	const char *name;
	json_t *n;
	json_object_foreach((json_t *)by_state, name, n) {
		rg_run_state st;
		if (!json_is_integer(n))
			return rg_fail(err, RG_EINTERNAL, NULL, "metrics: a run count is not an integer");
		if (rg_run_state_parse(name, &st))
			c->runs[st] = json_integer_value(n);
	}
	return RG_OK;
}

static rg_err load(rg_counters *c, rg_error *err)
{
	json_t *m = NULL;
	rg_err rc = rg_store_metrics_json(c->store, &m, err);
	if (rc)
		return rc;
	rc = load_runs(c, json_object_get(m, "runs_by_state"), err);
	if (!rc)
		c->rollbacks = json_integer_value(json_object_get(m, "rollbacks_total"));
	if (!rc)
		rc = rg_step_histogram_add_json(&c->steps, json_object_get(m, "step_durations"), err);
	json_decref(m);
	return rc;
}

rg_err rg_counters_load(rg_store *store, rg_counters **out, rg_error *err)
{
	*out = NULL;
	rg_counters *c = calloc(1, sizeof *c);
	if (!c || !(c->decisions = json_object())) {
		free(c);
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory for the metrics counters");
	}
	c->store = store;
	int64_t t0 = rg_mono_us();
	rg_err rc = load(c, err);
	if (rc) {
		rg_counters_free(c);
		return rc;
	}
	int64_t stored = 0;
	for (int st = 0; st < RG_RUN_STATE_COUNT; st++)
		stored += c->runs[st];
	rg_info("metrics: totals of %lld stored runs read in %.1f ms", (long long)stored,
		(double)(rg_mono_us() - t0) / 1000.0);
	*out = c;
	return RG_OK;
}

void rg_counters_free(rg_counters *c)
{
	if (!c)
		return;
	json_decref(c->decisions);
	free(c);
}

static bool rolled_back(rg_run_state s)
{
	return s == RG_RUN_ROLLED_BACK || s == RG_RUN_ROLLBACK_FAILED;
}

/* Its step rows are final: their durations join the histogram. */
static void add_steps_of(rg_counters *c, int64_t run_id)
{
	json_t *d = NULL;
	rg_error err = { 0 };
	rg_err rc = rg_store_run_step_durations_json(c->store, run_id, &d, &err);
	if (!rc)
		rc = rg_step_histogram_add_json(&c->steps, d, &err);
	json_decref(d);
	if (rc)
		rg_warn("metrics: step durations of run %lld not counted: %s", (long long)run_id,
			err.message);
}

static void run_state(rg_counters *c, const rg_news *n)
{
	rg_run_state to, from = RG_RUN_QUEUED;
	bool created = !n->from || !n->from[0];
	if (!n->to || !rg_run_state_parse(n->to, &to) ||
	    (!created && !rg_run_state_parse(n->from, &from)))
		return;
	bool rollback = n->run_kind && strcmp(n->run_kind, "rollback") == 0;
	c->runs[to]++;
	if (created) {
		c->rollbacks += rollback;
		return;
	}
	if (c->runs[from] > 0)
		c->runs[from]--;
	if (!rollback && rolled_back(to) && !rolled_back(from))
		c->rollbacks++;
	if (rg_run_state_terminal(to) && !rg_run_state_terminal(from))
		add_steps_of(c, n->run_id);
}

static void decision(rg_counters *c, const rg_news *n)
{
	json_t *env = json_object_get(c->decisions, n->env);
	if (!env && json_object_set_new(c->decisions, n->env, env = json_object()) != 0)
		return;
	json_t *count = json_object_get(env, n->decision->action);
	json_object_set_new(env, n->decision->action,
			    json_integer(count ? json_integer_value(count) + 1 : 1));
}

void rg_counters_news(rg_counters *c, const rg_news *n)
{
	if (!c)
		return;
	if (n->kind == RG_NEWS_RUN_STATE)
		run_state(c, n);
	else if (n->kind == RG_NEWS_DECISION && n->env && n->decision)
		decision(c, n);
}

void rg_counters_pruned(rg_counters *c, const rg_retention_result *res)
{
	if (!c)
		return;
	for (int s = 0; s < RG_RUN_STATE_COUNT; s++)
		c->runs[s] = c->runs[s] > res->by_state[s] ? c->runs[s] - res->by_state[s] : 0;
}

rg_err rg_counters_figures(const rg_counters *c, json_t **figures,
			   const rg_step_histogram **steps, rg_error *err)
{
	*figures = NULL;
	*steps = &c->steps;
	json_t *by = json_object();
	json_t *m = json_pack("{s:o?, s:I, s:O}", "runs_by_state", by, "rollbacks_total",
			      (json_int_t)c->rollbacks, "decisions", c->decisions);
	bool bad = !m;
	for (int s = 0; !bad && s < RG_RUN_STATE_COUNT; s++)
		bad = json_object_set_new(by, rg_run_state_name((rg_run_state)s),
					  json_integer(c->runs[s])) != 0;
	if (bad) {
		json_decref(m);
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory for metrics");
	}
	*figures = m;
	return RG_OK;
}
