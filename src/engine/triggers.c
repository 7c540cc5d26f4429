/* triggers.c — the triggers other than health checks, evaluated while a run
 * is watched (traffic pauses, monitor windows, the post-rollback window):
 *   metric   the built-in proxy's figures of the release under watch
 *            (error_rate, latency_p50/p95/p99, request_rate over `window`);
 *   query    a PromQL query through the Prometheus HTTP API;
 *   command  a command that prints one number;
 *   analysis the sequential test of the canary against its baseline while
 *            both take traffic (analysis/sprt.h), per batch of requests.
 * Rules hold their breach state in analysis/rule.h; a source that fails,
 * times out or has nothing is no data — never healthy unless configured.
 * A fired trigger goes through the decision matrix (decide.c). */
#include "engine/engine_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/duration.h"
#include "util/log.h"
#include "util/timeutil.h"

#define COMMAND_TIMEOUT_MS 10000
#define QUERY_TIMEOUT_MS 5000

static bool reverse(const rg_active *a)
{
	return a->run.phase == RG_PHASE_REVERSE;
}

/* The release under watch: the new one going forward, the restored one
 * after a rollback. */
static const char *watched_version(const rg_active *a)
{
	return reverse(a) ? a->plan.target : a->run.version;
}

static const rg_trigger *trigger_of(const rg_trigger_slot *slot)
{
	return &slot->a->eng->cfg->triggers[slot->i];
}

static bool is_rule(const rg_trigger *t)
{
	return t->kind == RG_TRIGGER_METRIC || t->kind == RG_TRIGGER_QUERY || t->kind == RG_TRIGGER_COMMAND;
}

static void rule_opts(const rg_trigger *t, rg_rule_opts *o)
{
	*o = (rg_rule_opts){ .has_above = t->has_above, .has_below = t->has_below, .above = t->above,
			     .below = t->below, .for_ms = t->for_ms, .fire_on_no_data = t->fire_on_no_data };
}

static rg_sprt_opts sprt_opts(const rg_trigger *t)
{
	return (rg_sprt_opts){ .alpha = t->alpha, .beta = t->beta,
			       .min_effect = t->min_effect > 1 ? t->min_effect : 2.0 };
}

/* ---- firing ---------------------------------------------------------------------- */

static void fire(rg_trigger_slot *slot, rg_decision *d, const char *what)
{
	const rg_trigger *t = trigger_of(slot);
	rg_active *a = slot->a;
	/* Ready to fire again only after a fresh breach (a notify must not
	 * repeat on every evaluation). */
	rule_opts(t, &slot->rule.o);
	rg_rule_init(&slot->rule, &slot->rule.o);
	slot->testing = false;
	if (!rg_decide_allowed(a, t->name))
		return;
	snprintf(d->trigger, sizeof d->trigger, "%s", t->name);
	snprintf(d->severity, sizeof d->severity, "%s", rg_severity_name(t->severity));
	char line[400];
	snprintf(line, sizeof line, "trigger '%s' fired (%s): %s", t->name, d->severity, what);
	rg_decide_trigger(a, d, t, line);
}

/* ---- rules ------------------------------------------------------------------------- */

static void value_text(const rg_trigger *t, double v, char *out, size_t size)
{
	bool percent = t->kind == RG_TRIGGER_METRIC && strcmp(t->metric, "error_rate") == 0;
	bool ms = t->kind == RG_TRIGGER_METRIC && strncmp(t->metric, "latency_", 8) == 0;
	if (percent)
		snprintf(out, size, "%.3g%%", v * 100.0);
	else if (ms)
		snprintf(out, size, "%.4gms", v);
	else
		snprintf(out, size, "%.6g", v);
}

static const char *subject(const rg_trigger *t)
{
	return t->kind == RG_TRIGGER_METRIC ? t->metric : t->kind == RG_TRIGGER_QUERY ? "query" : "command";
}

static void rule_result(rg_trigger_slot *slot, bool has_value, double value, const char *why)
{
	const rg_trigger *t = trigger_of(slot);
	rg_active *a = slot->a;
	rg_rule_verdict v = rg_rule_eval(&slot->rule, (int64_t)uv_now(a->eng->loop), has_value, value);
	if (v != RG_RULE_FIRE)
		return;
	rg_decision d;
	memset(&d, 0, sizeof d);
	char val[64], what[300];
	if (has_value) {
		value_text(t, value, val, sizeof val);
		snprintf(d.observed, sizeof d.observed, "%s %s (%s)", subject(t), val, why);
	} else {
		snprintf(val, sizeof val, "no data");
		snprintf(d.observed, sizeof d.observed, "%s: no data (%s)", subject(t), why);
	}
	rg_rule_describe(&slot->rule.o, subject(t), d.threshold, sizeof d.threshold);
	snprintf(what, sizeof what, "%s is %s, against %s", subject(t), val, d.threshold);
	fire(slot, &d, what);
}

/* metric: the proxy's figures of the watched release over the window. */
static void eval_metric(rg_trigger_slot *slot)
{
	const rg_trigger *t = trigger_of(slot);
	rg_active *a = slot->a;
	const char *version = watched_version(a);
	int window_s = (int)((t->window_ms > 0 ? t->window_ms : 60000) / 1000);
	if (window_s < 1)
		window_s = 1;
	if (window_s > RG_STATS_WINDOW_SLOTS)
		window_s = RG_STATS_WINDOW_SLOTS;
	rg_stats_summary s;
	rg_error err;
	char why[200];
	if (!a->eng->dp || rg_dataplane_release_stats(a->eng->dp, a->run.env, version, window_s, &s, &err)) {
		snprintf(why, sizeof why, "the proxy has no figures of %s", version);
		return rule_result(slot, false, 0, why);
	}
	snprintf(why, sizeof why, "last %ds of %s on the proxy, %llu requests", window_s, version,
		 (unsigned long long)s.requests);
	const char *m = t->metric;
	if (strcmp(m, "request_rate") == 0)
		return rule_result(slot, true, (double)s.requests / window_s, why);
	if (s.requests == 0)
		return rule_result(slot, false, 0, why);
	if (strcmp(m, "error_rate") == 0)
		return rule_result(slot, true, (double)s.responses[4] / (double)s.requests, why);
	double q = strcmp(m, "latency_p50") == 0 ? 0.50 : strcmp(m, "latency_p95") == 0 ? 0.95 : 0.99;
	rule_result(slot, true, (double)rg_hist_quantile(&s.latency, q) / 1000.0, why);
}

static void on_query(void *ctx, bool has_value, double value, const char *why)
{
	rg_trigger_slot *slot = ctx;
	slot->query = NULL;
	char text[300];
	snprintf(text, sizeof text, "Prometheus%s%s", why && *why ? ": " : "", why ? why : "");
	rule_result(slot, has_value, value, text);
}

static void eval_query(rg_trigger_slot *slot)
{
	const rg_trigger *t = trigger_of(slot);
	rg_active *a = slot->a;
	rg_error err;
	int64_t timeout = t->every_ms < QUERY_TIMEOUT_MS ? (t->every_ms > 1000 ? t->every_ms : 1000) : QUERY_TIMEOUT_MS;
	if (!a->eng->http || !a->eng->cfg->prometheus)
		return rule_result(slot, false, 0, "no Prometheus server configured (metrics.prometheus)");
	if (rg_prom_query_start(a->eng->http, a->eng->cfg->prometheus, t->query, timeout, on_query, slot,
				&slot->query, &err) != RG_OK) {
		slot->query = NULL;
		rule_result(slot, false, 0, err.message);
	}
}

/* The last line of the command's output that is a number. */
static bool parse_number(const char *log, size_t len, double *out)
{
	bool found = false;
	const char *p = log, *end = log + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		char line[64];
		if (n > 0 && n < sizeof line) {
			memcpy(line, p, n);
			line[n] = '\0';
			char *tail;
			double v = strtod(line, &tail);
			while (*tail == ' ' || *tail == '\t' || *tail == '\r')
				tail++;
			if (tail != line && *tail == '\0' && !isnan(v)) {
				*out = v;
				found = true;
			}
		}
		p = nl ? nl + 1 : end;
	}
	return found;
}

static void on_command(rg_exec *x, const rg_exec_result *res, void *ctx)
{
	rg_trigger_slot *slot = ctx;
	size_t len = 0;
	const char *log = rg_exec_log(x, &len);
	double v = 0;
	char why[160];
	bool ok = res->exit_code == 0 && !res->timed_out && parse_number(log, len, &v);
	if (res->timed_out)
		snprintf(why, sizeof why, "command timed out");
	else if (res->exit_code != 0)
		snprintf(why, sizeof why, "command exited %d", res->exit_code);
	else
		snprintf(why, sizeof why, ok ? "command output" : "command printed no number");
	rg_exec_free(x);
	slot->exec = NULL;
	rule_result(slot, ok, v, why);
}

static void eval_command(rg_trigger_slot *slot)
{
	const rg_trigger *t = trigger_of(slot);
	rg_active *a = slot->a;
	rg_envlist env;
	rg_error err;
	if (rg_launch_env(a, t->name, watched_version(a), "", &env, &err) != RG_OK)
		return rule_result(slot, false, 0, err.message);
	int64_t timeout = t->every_ms < COMMAND_TIMEOUT_MS ? (t->every_ms > 1000 ? t->every_ms : 1000) : COMMAND_TIMEOUT_MS;
	rg_exec_opts o = { .command = t->command, .cwd = a->eng->cfg->dir, .env = env.items,
			   .timeout_ms = timeout, .kill_grace_ms = 1000, .log_limit = 4096 };
	rg_err rc = rg_exec_start(a->eng->loop, &o, on_command, slot, &slot->exec, &err);
	rg_envlist_release(&env);
	if (rc) {
		slot->exec = NULL;
		rule_result(slot, false, 0, err.message);
	}
}

/* ---- the sequential test ----------------------------------------------------------- */

/* Whole-life counts of one release on the proxy: requests, 5xx answers,
 * and answers slower than bound_us (0: not counted). */
static bool side_counts(rg_active *a, const char *version, uint64_t bound_us, rg_side_counts *out)
{
	rg_stats_summary s;
	rg_error err;
	if (!a->eng->dp || rg_dataplane_release_stats(a->eng->dp, a->run.env, version, 0, &s, &err))
		return false;
	out->requests = s.requests;
	out->errors = s.responses[4];
	out->slow = 0;
	if (bound_us) {
		rg_hist_iter it;
		rg_hist_iter_init(&it);
		while (rg_hist_next(&s.latency, &it))
			if (it.lower >= bound_us)
				out->slow += it.count;
	}
	return true;
}

/* The canary and its baseline when both take traffic now: a traffic
 * step's share strictly between 0 and 100 %. */
static bool comparison(rg_active *a, char *canary, char *base, size_t size)
{
	rg_route_state st;
	rg_error err;
	if (reverse(a) || rg_store_route_get(a->eng->store, a->run.env, &st, &err) != RG_OK ||
	    !st.canary[0] || !st.stable[0] || st.canary_weight <= 0 || st.canary_weight >= 100 ||
	    strcmp(st.canary_version, a->run.version) != 0)
		return false;
	snprintf(canary, size, "%s", st.canary_version);
	snprintf(base, size, "%s", st.stable_version);
	return true;
}

static void test_begin(rg_trigger_slot *slot, const char *canary, const char *base)
{
	const rg_trigger *t = trigger_of(slot);
	rg_active *a = slot->a;
	rg_sprt_opts o = sprt_opts(t);
	uint64_t bound = t->latency_bound_ms > 0 ? (uint64_t)t->latency_bound_ms * 1000 : 0;
	snprintf(slot->canary, sizeof slot->canary, "%s", canary);
	snprintf(slot->base, sizeof slot->base, "%s", base);
	slot->stage = a->run.traffic_stage;
	slot->testing = rg_sprt_init(&slot->errors, &o) && rg_sprt_init(&slot->slow, &o) &&
			side_counts(a, canary, bound, &slot->last_canary) &&
			side_counts(a, base, bound, &slot->last_base);
}

static void evidence_json(const rg_trigger_slot *slot, const rg_sprt *s, const char *test,
			  char *out, size_t size)
{
	snprintf(out, size,
		 "{\"test\":\"%s\",\"canary\":{\"version\":\"%s\",\"requests\":%llu,\"events\":%llu},"
		 "\"baseline\":{\"version\":\"%s\",\"requests\":%llu,\"events\":%llu},"
		 "\"llr\":%.6g,\"upper\":%.6g,\"lower\":%.6g,\"alpha\":%g,\"beta\":%g,\"min_effect\":%g}",
		 test, slot->canary, (unsigned long long)s->canary_requests,
		 (unsigned long long)s->canary_events, slot->base, (unsigned long long)s->base_requests,
		 (unsigned long long)s->base_events, s->llr, s->upper, s->lower, s->o.alpha, s->o.beta,
		 s->o.min_effect);
}

static double rate(uint64_t events, uint64_t requests)
{
	return requests ? 100.0 * (double)events / (double)requests : 0.0;
}

static void test_failed(rg_trigger_slot *slot, const rg_sprt *s, bool latency)
{
	const rg_trigger *t = trigger_of(slot);
	const char *kind = latency ? "answers slower than the bound" : "errors";
	rg_decision d;
	memset(&d, 0, sizeof d);
	snprintf(d.observed, sizeof d.observed, "canary %s: %llu/%llu %s (%.3g%%); baseline %s: %llu/%llu (%.3g%%)",
		 slot->canary, (unsigned long long)s->canary_events, (unsigned long long)s->canary_requests,
		 kind, rate(s->canary_events, s->canary_requests), slot->base,
		 (unsigned long long)s->base_events, (unsigned long long)s->base_requests,
		 rate(s->base_events, s->base_requests));
	char bound[48] = "";
	if (latency)
		snprintf(bound, sizeof bound, ", latency bound %lldms", (long long)t->latency_bound_ms);
	snprintf(d.threshold, sizeof d.threshold,
		 "sequential test: log-likelihood ratio >= %.3g (alpha %g, beta %g, min_effect %g%s)",
		 s->upper, s->o.alpha, s->o.beta, s->o.min_effect, bound);
	evidence_json(slot, s, latency ? "latency" : "errors", d.evidence, sizeof d.evidence);
	char what[400];
	snprintf(what, sizeof what,
		 "the sequential test found %s's %s more frequent than %s's (log-likelihood ratio %.3g >= %.3g after %llu canary requests)",
		 slot->canary, latency ? "slow answers" : "errors", slot->base, s->llr, s->upper,
		 (unsigned long long)s->canary_requests);
	fire(slot, &d, what);
}

static void test_passed(rg_trigger_slot *slot)
{
	const rg_trigger *t = trigger_of(slot);
	rg_active *a = slot->a;
	const rg_sprt *s = &slot->errors;
	char why[400];
	snprintf(why, sizeof why,
		 "analysis '%s' passed %s against %s: %llu/%llu canary errors, %llu/%llu baseline (log-likelihood ratio %.3g <= %.3g)",
		 t->name, slot->canary, slot->base, (unsigned long long)s->canary_events,
		 (unsigned long long)s->canary_requests, (unsigned long long)s->base_events,
		 (unsigned long long)s->base_requests, s->llr, s->lower);
	slot->testing = false;
	rg_evidence_passed(a);
	if (t->promote_on_pass)
		rg_traffic_end_pause(a, why);
}

static void eval_analysis(rg_trigger_slot *slot)
{
	const rg_trigger *t = trigger_of(slot);
	rg_active *a = slot->a;
	char canary[72], base[72];
	if (!comparison(a, canary, base, sizeof canary)) {
		slot->testing = false;
		return;
	}
	bool fresh = !slot->testing || slot->stage != a->run.traffic_stage ||
		     strcmp(slot->canary, canary) != 0 || strcmp(slot->base, base) != 0;
	if (fresh) {
		if (slot->errors.verdict == RG_SPRT_PASS && slot->stage == a->run.traffic_stage &&
		    strcmp(slot->canary, canary) == 0)
			return; /* passed at this share: nothing more to test until it moves */
		return test_begin(slot, canary, base);
	}
	uint64_t bound = t->latency_bound_ms > 0 ? (uint64_t)t->latency_bound_ms * 1000 : 0;
	rg_side_counts c, b;
	if (!side_counts(a, canary, bound, &c) || !side_counts(a, base, bound, &b))
		return;
	uint64_t cr = c.requests - slot->last_canary.requests, br = b.requests - slot->last_base.requests;
	rg_sprt_verdict ve = rg_sprt_update(&slot->errors, cr, c.errors - slot->last_canary.errors, br,
					    b.errors - slot->last_base.errors);
	rg_sprt_verdict vs = RG_SPRT_PASS;
	if (bound)
		vs = rg_sprt_update(&slot->slow, cr, c.slow - slot->last_canary.slow, br,
				    b.slow - slot->last_base.slow);
	slot->last_canary = c;
	slot->last_base = b;
	if (ve == RG_SPRT_FAIL)
		return test_failed(slot, &slot->errors, false);
	if (vs == RG_SPRT_FAIL)
		return test_failed(slot, &slot->slow, true);
	if (ve == RG_SPRT_PASS && vs == RG_SPRT_PASS)
		test_passed(slot);
}

/* ---- the watch ----------------------------------------------------------------------- */

int64_t rg_triggers_interval(const rg_config *cfg)
{
	int64_t every = 0;
	for (size_t i = 0; i < cfg->n_triggers; i++) {
		const rg_trigger *t = &cfg->triggers[i];
		if (t->kind == RG_TRIGGER_CHECK)
			continue;
		if (every == 0 || t->every_ms < every)
			every = t->every_ms;
	}
	return every;
}

void rg_triggers_start(rg_active *a)
{
	const rg_config *cfg = a->eng->cfg;
	int64_t now = (int64_t)uv_now(a->eng->loop);
	for (size_t i = 0; i < cfg->n_triggers; i++) {
		rg_trigger_slot *slot = &a->watch.triggers[i];
		const rg_trigger *t = &cfg->triggers[i];
		if (is_rule(t)) {
			rg_rule_opts o;
			rule_opts(t, &o);
			rg_rule_init(&slot->rule, &o);
		}
		slot->testing = false;
		memset(&slot->errors, 0, sizeof slot->errors);
		slot->due = now;
	}
}

void rg_triggers_tick(rg_active *a, int64_t now)
{
	const rg_config *cfg = a->eng->cfg;
	for (size_t i = 0; i < cfg->n_triggers && !a->released; i++) {
		rg_trigger_slot *slot = &a->watch.triggers[i];
		const rg_trigger *t = &cfg->triggers[i];
		if (t->kind == RG_TRIGGER_CHECK || slot->due > now || slot->query || slot->exec)
			continue;
		slot->due = now + t->every_ms;
		switch (t->kind) {
		case RG_TRIGGER_METRIC: eval_metric(slot); break;
		case RG_TRIGGER_QUERY: eval_query(slot); break;
		case RG_TRIGGER_COMMAND: eval_command(slot); break;
		case RG_TRIGGER_ANALYSIS: eval_analysis(slot); break;
		default: break;
		}
		if (!uv_is_active((uv_handle_t *)&a->watch.tick))
			return; /* the watch ended (a decision): leave the rest alone */
	}
}

void rg_triggers_stop(rg_active *a)
{
	for (size_t i = 0; i < a->eng->cfg->n_triggers; i++) {
		rg_trigger_slot *slot = &a->watch.triggers[i];
		if (slot->query)
			rg_prom_query_cancel(slot->query);
		slot->query = NULL;
		if (slot->exec)
			rg_exec_free(slot->exec);
		slot->exec = NULL;
		slot->testing = false;
	}
}
