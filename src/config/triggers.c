/* triggers.c — the `triggers:` section: what fires a rollback decision.
 * Each trigger is one kind (check, metric, query, command, analysis) and
 * takes only that kind's keys: a stray `failures:` on a metric trigger would
 * silently do nothing, so it is an error. */
#include "config/config_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/duration.h"
#include "util/names.h"

static const char *const trigger_keys[] = {
	"name",  "check", "metric", "query",      "command", "analysis",      "every",    "failures",
	"above", "below", "for",    "on_no_data", "window",  "alpha",         "beta",     "latency_bound",
	"min_effect", "promote_on_pass", "severity", "disable_flag", NULL
};
/* Indexed by rg_trigger_kind. */
static const char *const trigger_kinds[] = { "check", "metric", "query", "command", "analysis",
					     NULL };
static const char *const check_keys[] = { "every", "failures", NULL };
static const char *const rule_keys[] = { "above", "below", "for", "every", "on_no_data", NULL };
/* window is the built-in proxy's: a query or a command has its own. */
static const char *const metric_keys[] = { "above", "below",      "for",   "every",
					   "on_no_data", "window", NULL };
static const char *const analysis_keys[] = { "alpha", "beta", "latency_bound", "min_effect",
					     "promote_on_pass", "every", NULL };
static const char *const metric_names[] = { "error_rate",  "latency_p50",  "latency_p95",
					    "latency_p99", "request_rate", NULL };
static const char *const no_data_names[] = { "ignore", "fire", NULL };
static const char *const analysis_names[] = { "sequential", NULL };

static bool listed(const char *const *list, const char *s)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* Keys of other kinds are reported rather than ignored. */
static void foreign_keys(rg_loader *l, const rg_ynode *v, rg_trigger_kind kind)
{
	const char *const *own = kind == RG_TRIGGER_CHECK    ? check_keys
				 : kind == RG_TRIGGER_ANALYSIS ? analysis_keys
				 : kind == RG_TRIGGER_METRIC   ? metric_keys
							       : rule_keys;
	for (size_t i = 0; i < v->n; i += 2) {
		const rg_ynode *k = v->kids[i];
		if (k->type != RG_YSCALAR || !listed(trigger_keys, k->text) ||
		    listed(trigger_kinds, k->text) || !strcmp(k->text, "name") ||
		    !strcmp(k->text, "severity") || !strcmp(k->text, "disable_flag") ||
		    listed(own, k->text))
			continue;
		rg_problem(l, k, "'%s' is not valid in %s %s trigger", k->text,
			   kind == RG_TRIGGER_ANALYSIS ? "an" : "a", trigger_kinds[kind]);
	}
}

static void load_name(rg_loader *l, const rg_ynode *v, rg_trigger *t, const rg_trigger *earlier,
		      size_t n_earlier)
{
	if (!rg_ld_require(l, v, "name", "in trigger") || !rg_ld_string(l, v, "name", &t->name))
		return;
	const rg_ynode *at = rg_ld_value(v, "name");
	if (!rg_ident_valid(t->name)) {
		rg_problem(l, at, "invalid trigger name '%s' (use %s)", t->name, RG_IDENT_RULE);
		return;
	}
	for (size_t i = 0; i < n_earlier; i++) {
		if (earlier[i].name && strcmp(earlier[i].name, t->name) == 0) {
			rg_problem(l, at, "duplicate trigger name '%s' (first at %d:%d)", t->name,
				   earlier[i].line, earlier[i].col);
			return;
		}
	}
}

static void load_check_trigger(rg_loader *l, const rg_ynode *v, rg_trigger *t)
{
	const rg_config *cfg = l->cfg;
	if (!rg_ld_string(l, v, "check", &t->check))
		return;
	if (!rg_config_check(cfg, t->check)) {
		const char **defined = rg_ld_calloc(l, cfg->n_checks + 1, sizeof *defined);
		if (!defined)
			return;
		for (size_t i = 0; i < cfg->n_checks; i++)
			defined[i] = cfg->checks[i].name ? cfg->checks[i].name : "";
		rg_ld_undefined(l, rg_ld_value(v, "check"), "undefined check", t->check, defined);
		free(defined);
	}
	rg_ld_positive_duration(l, v, "every", &t->every_ms);
	rg_ld_int(l, v, "failures", 1, 1000, &t->failures);
}

static bool as_duration(const char *s, double *out)
{
	int64_t ms;
	if (rg_duration_parse(s, &ms) != 0)
		return false;
	*out = (double)ms;
	return true;
}

/* What a threshold means depends on what is measured: error_rate is a
 * fraction, latencies are durations (ms), request_rate is per second; a
 * query or a command prints any number, so any of the three forms works. */
static bool parse_threshold(rg_loader *l, const rg_ynode *v, const char *key,
			    const rg_trigger *t, double *out)
{
	const char *s;
	if (!rg_ld_text(l, v, key, &s))
		return false;
	const char *metric = t->kind == RG_TRIGGER_METRIC ? t->metric : NULL;
	bool latency = metric && !strncmp(metric, "latency_", 8);
	bool fraction = metric ? !strcmp(metric, "error_rate") : s[0] && s[strlen(s) - 1] == '%';
	if (latency) {
		if (as_duration(s, out))
			return true;
		rg_problem(l, v, "expected a duration like '500ms' for '%s' of %s (got '%s')", key,
			   metric, s);
	} else if (fraction) {
		if (rg_percent_parse(s, out) == 0)
			return true;
		rg_problem(l, v, "invalid percentage '%s' (use 1%% or 0.01, at most 100%%)", s);
	} else if (metric) {
		if (rg_number_parse(s, out) == 0 && *out >= 0)
			return true;
		rg_problem(l, v, "expected a number of requests per second for '%s' (got '%s')", key, s);
	} else {
		if (rg_number_parse(s, out) == 0 || as_duration(s, out))
			return true;
		rg_problem(l, v, "invalid threshold '%s' (use a number, a percentage like 1%% "
				 "or a duration like 500ms)", s);
	}
	return false;
}

/* The duration at key replaces *ms when ok accepts it; otherwise the
 * problem is "'key' <rule> (got 'value')". */
static void load_bounded_duration(rg_loader *l, const rg_ynode *v, const char *key,
				  bool (*ok)(int64_t ms), const char *rule, int64_t *out)
{
	int64_t ms = *out;
	if (!rg_ld_duration(l, v, key, &ms))
		return;
	if (!ok(ms)) {
		const rg_ynode *at = rg_ld_value(v, key);
		rg_problem(l, at, "'%s' %s (got '%s')", key, rule, at->text);
		return;
	}
	*out = ms;
}

/* The proxy keeps one slot per second for the last 60 seconds, so a
 * window is whole seconds within that. */
static bool window_ok(int64_t ms)
{
	return ms >= RG_MS_SECOND && ms <= 60 * RG_MS_SECOND && ms % RG_MS_SECOND == 0;
}

static void load_window(rg_loader *l, const rg_ynode *v, rg_trigger *t)
{
	load_bounded_duration(l, v, "window", window_ok, "must be whole seconds from 1s to 60s",
			      &t->window_ms);
}

static void load_rule(rg_loader *l, const rg_ynode *v, rg_trigger *t)
{
	if (t->kind == RG_TRIGGER_METRIC) {
		int m = -1;
		if (rg_ld_choice(l, v, "metric", metric_names, &m) && m >= 0)
			t->metric = rg_ld_strdup(l, metric_names[m]);
	} else if (t->kind == RG_TRIGGER_QUERY) {
		if (rg_ld_string(l, v, "query", &t->query) && !l->has_prometheus)
			rg_problem(l, rg_ld_key(v, "query"), "'query' needs metrics.prometheus to be set");
	} else {
		rg_ld_string(l, v, "command", &t->command);
	}
	const rg_ynode *above = rg_ld_value(v, "above"), *below = rg_ld_value(v, "below");
	if (!above && !below)
		rg_problem(l, v, "%s%s%s needs 'above' or 'below'", t->name ? "trigger '" : "trigger",
			   t->name ? t->name : "", t->name ? "'" : "");
	if (above && parse_threshold(l, above, "above", t, &t->above))
		t->has_above = true;
	if (below && parse_threshold(l, below, "below", t, &t->below))
		t->has_below = true;
	rg_ld_duration(l, v, "for", &t->for_ms);
	rg_ld_positive_duration(l, v, "every", &t->every_ms);
	if (t->kind == RG_TRIGGER_METRIC)
		load_window(l, v, t);
	int no_data = 0;
	if (rg_ld_choice(l, v, "on_no_data", no_data_names, &no_data))
		t->fire_on_no_data = no_data == 1;
}

/* A false-alarm or miss rate: "0.01" or "1%", strictly between 0 and 0.5. */
static void load_rate(rg_loader *l, const rg_ynode *v, const char *key, double *out)
{
	const rg_ynode *n = rg_ld_value(v, key);
	const char *s;
	double d;
	if (!n || !rg_ld_text(l, n, key, &s))
		return;
	if (rg_percent_parse(s, &d) != 0 || d <= 0 || d >= 0.5) {
		rg_problem(l, n, "'%s' must be a rate between 0 and 0.5, exclusive, like 0.05 (got '%s')",
			   key, s);
		return;
	}
	*out = d;
}

/* The ratio of event rates the sequential test is tuned to detect (sprt.h's
 * R): at 1 the two hypotheses are the same and the test never ends. */
static void load_min_effect(rg_loader *l, const rg_ynode *v, rg_trigger *t)
{
	const rg_ynode *n = rg_ld_value(v, "min_effect");
	const char *s;
	double d;
	if (!n || !rg_ld_text(l, n, "min_effect", &s))
		return;
	if (rg_number_parse(s, &d) != 0 || !(d > 1)) {
		rg_problem(l, n, "'min_effect' must be a number greater than 1, like 2 (got '%s')", s);
		return;
	}
	t->min_effect = d;
}

/* An analysis trigger's every is how often the test takes a batch of the
 * proxy's counts; below 50ms it would only burn the loop. */
static bool batch_interval_ok(int64_t ms)
{
	return ms >= 50;
}

static void load_batch_interval(rg_loader *l, const rg_ynode *v, rg_trigger *t)
{
	load_bounded_duration(l, v, "every", batch_interval_ok,
			      "of an analysis trigger must be at least 50ms", &t->every_ms);
}

static void load_analysis(rg_loader *l, const rg_ynode *v, rg_trigger *t)
{
	int a = 0;
	t->every_ms = 250;
	t->min_effect = 2;
	rg_ld_choice(l, v, "analysis", analysis_names, &a);
	load_rate(l, v, "alpha", &t->alpha);
	load_rate(l, v, "beta", &t->beta);
	rg_ld_duration(l, v, "latency_bound", &t->latency_bound_ms);
	load_min_effect(l, v, t);
	rg_ld_bool(l, v, "promote_on_pass", &t->promote_on_pass);
	load_batch_interval(l, v, t);
}

/* disable_flag: the partial rollback of a feature (runbook procedure 4);
 * the flag must be one of `flags:` (read before triggers). */
static void load_disable_flag(rg_loader *l, const rg_ynode *v, rg_trigger *t)
{
	const rg_config *cfg = l->cfg;
	if (!rg_ld_string(l, v, "disable_flag", &t->disable_flag) || !t->disable_flag ||
	    rg_config_flag(cfg, t->disable_flag))
		return;
	const char **defined = rg_ld_calloc(l, cfg->n_flags + 1, sizeof *defined);
	if (!defined)
		return;
	for (size_t i = 0; i < cfg->n_flags; i++)
		defined[i] = cfg->flags[i].name ? cfg->flags[i].name : "";
	rg_ld_undefined(l, rg_ld_value(v, "disable_flag"), "undefined flag", t->disable_flag,
			defined);
	free(defined);
}

static void load_trigger(rg_loader *l, const rg_ynode *v, rg_trigger *t,
			 const rg_trigger *earlier, size_t n_earlier)
{
	t->line = v->line;
	t->col = v->col;
	t->every_ms = 10 * RG_MS_SECOND;  /* analysis: 250ms, set by load_analysis */
	t->window_ms = 60 * RG_MS_SECOND; /* read by metric triggers only */
	t->failures = 3;
	t->alpha = t->beta = 0.05;
	t->severity = RG_SEV_P1;
	if (!rg_ld_expect(l, v, RG_YMAP, "trigger"))
		return;
	rg_ld_check_keys(l, v, "in trigger", trigger_keys);
	load_name(l, v, t, earlier, n_earlier);
	rg_ld_severity(l, v, "severity", &t->severity);
	load_disable_flag(l, v, t);
	char what[96];
	if (t->name)
		snprintf(what, sizeof what, "trigger '%s'", t->name);
	else
		snprintf(what, sizeof what, "trigger");
	int kind = rg_ld_which(l, v, trigger_kinds, what);
	if (kind == -1)
		rg_problem(l, v, "%s needs one of 'check', 'metric', 'query', 'command' or 'analysis'",
			   what);
	if (kind < 0)
		return;
	t->kind = (rg_trigger_kind)kind;
	foreign_keys(l, v, t->kind);
	if (t->kind == RG_TRIGGER_CHECK)
		load_check_trigger(l, v, t);
	else if (t->kind == RG_TRIGGER_ANALYSIS)
		load_analysis(l, v, t);
	else
		load_rule(l, v, t);
}

void rg_ld_triggers(rg_loader *l, const rg_ynode *seq)
{
	rg_config *cfg = l->cfg;
	if (!rg_ld_expect(l, seq, RG_YSEQ, "triggers"))
		return;
	if (!(cfg->triggers = rg_ld_calloc(l, seq->n, sizeof *cfg->triggers)))
		return;
	for (size_t i = 0; i < seq->n; i++) {
		load_trigger(l, seq->kids[i], &cfg->triggers[i], cfg->triggers, i);
		cfg->n_triggers = i + 1;
	}
}
