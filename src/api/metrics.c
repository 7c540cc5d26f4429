/* metrics.c — Prometheus text exposition (format 0.0.4) of the controller's
 * figures. Pure: takes a json_t (and the step histogram), returns text. Must never emit a malformed line: label
 * values are escaped and every sample has its HELP and TYPE lines. */
#include "api/metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every run state is exported, zero or not, so a dashboard query for a
 * state that has no runs yet returns 0 rather than nothing. */
static const char *const run_states[] = {
	"queued", "awaiting_approval", "running", "paused", "verifying", "monitoring",
	"rolling_back", "succeeded", "failed", "rolled_back", "rollback_failed", "aborted",
};
#define N_RUN_STATES (sizeof run_states / sizeof run_states[0])

/* Steps range from sub-second checks to hour-long infrastructure changes. */
static const double buckets[RG_METRICS_STEP_BUCKETS] = { 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600 };
#define N_BUCKETS (sizeof buckets / sizeof buckets[0])

static rg_err shape_error(rg_error *err, const char *what)
{
	return rg_fail(err, RG_EINTERNAL, NULL, "metrics: %s", what);
}

/* Label value escaping of the exposition format: \\, \" and \n. */
static void put_label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static bool known_state(const char *s)
{
	for (size_t i = 0; i < N_RUN_STATES; i++)
		if (strcmp(run_states[i], s) == 0)
			return true;
	return false;
}

static rg_err render_runs(FILE *f, const json_t *by_state, rg_error *err)
{
	if (by_state && !json_is_object(by_state))
		return shape_error(err, "'runs_by_state' is not an object");
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)by_state, key, v)
		if (!json_is_integer(v))
			return shape_error(err, "a count in 'runs_by_state' is not an integer");
	fputs("# HELP rollguard_runs Runs by state.\n# TYPE rollguard_runs gauge\n", f);
	for (size_t i = 0; i < N_RUN_STATES; i++)
		fprintf(f, "rollguard_runs{state=\"%s\"} %lld\n", run_states[i],
			(long long)json_integer_value(json_object_get(by_state, run_states[i])));
	/* A state this file does not know yet is still worth showing. */
	json_object_foreach((json_t *)by_state, key, v) {
		if (known_state(key))
			continue;
		fputs("rollguard_runs{state=\"", f);
		put_label_value(f, key);
		fprintf(f, "\"} %lld\n", (long long)json_integer_value(v));
	}
	return RG_OK;
}

static rg_err render_rollbacks(FILE *f, const json_t *total, rg_error *err)
{
	if (total && !json_is_integer(total))
		return shape_error(err, "'rollbacks_total' is not an integer");
	fprintf(f, "# HELP rollguard_rollbacks_total Rollback runs started.\n"
		   "# TYPE rollguard_rollbacks_total counter\n"
		   "rollguard_rollbacks_total %lld\n",
		(long long)json_integer_value(total));
	return RG_OK;
}

void rg_step_histogram_add(rg_step_histogram *h, double s, uint64_t times)
{
	if (isnan(s))
		return;
	if (s < 0)
		s = 0;   /* a wall-clock step backwards, not a negative duration */
	size_t b = 0;
	while (b < N_BUCKETS && s > buckets[b])
		b++;
	h->counts[b] += times;
	h->sum += s * (double)times;
	h->count += times;
}

rg_err rg_step_histogram_add_json(rg_step_histogram *h, const json_t *durations, rg_error *err)
{
	if (durations && !json_is_array(durations))
		return shape_error(err, "'step_durations' is not an array");
	size_t i;
	json_t *d;
	json_array_foreach(durations, i, d) {
		json_t *secs = json_object_get(d, "seconds");
		if (!json_is_number(secs))
			return shape_error(err, "a step duration has no number 'seconds'");
		json_t *n = json_object_get(d, "count");
		uint64_t times = json_is_integer(n) && json_integer_value(n) > 0 ?
				 (uint64_t)json_integer_value(n) : 1;
		rg_step_histogram_add(h, json_number_value(secs), times);
	}
	return RG_OK;
}

static void render_histogram(FILE *f, const rg_step_histogram *h)
{
	uint64_t cum = 0;
	fputs("# HELP rollguard_step_duration_seconds Duration of finished step runs.\n"
	      "# TYPE rollguard_step_duration_seconds histogram\n", f);
	for (size_t b = 0; b < N_BUCKETS; b++) {
		cum += h->counts[b];
		fprintf(f, "rollguard_step_duration_seconds_bucket{le=\"%g\"} %llu\n", buckets[b],
			(unsigned long long)cum);
	}
	fprintf(f, "rollguard_step_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
		(unsigned long long)h->count);
	fprintf(f, "rollguard_step_duration_seconds_sum %.9g\n", h->sum);
	fprintf(f, "rollguard_step_duration_seconds_count %llu\n", (unsigned long long)h->count);
}

/* {env: {action: n}}: decisions since serve started. */
static rg_err render_decisions(FILE *f, const json_t *by_env, rg_error *err)
{
	if (!by_env)
		return RG_OK;
	if (!json_is_object(by_env))
		return shape_error(err, "'decisions' is not an object");
	fputs("# HELP rollguard_decisions_total Decisions taken since serve started, by environment and action.\n"
	      "# TYPE rollguard_decisions_total counter\n", f);
	const char *env, *action;
	json_t *actions, *n;
	json_object_foreach((json_t *)by_env, env, actions) {
		if (!json_is_object(actions))
			return shape_error(err, "a 'decisions' entry is not an object");
		json_object_foreach(actions, action, n) {
			if (!json_is_integer(n))
				return shape_error(err, "a decision count is not an integer");
			fputs("rollguard_decisions_total{env=\"", f);
			put_label_value(f, env);
			fputs("\",action=\"", f);
			put_label_value(f, action);
			fprintf(f, "\"} %lld\n", (long long)json_integer_value(n));
		}
	}
	return RG_OK;
}

rg_err rg_metrics_render_with(const json_t *m, const rg_step_histogram *steps, char **out,
			      size_t *len, rg_error *err)
{
	*out = NULL;
	*len = 0;
	if (!json_is_object(m))
		return shape_error(err, "figures are not an object");
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	if (!f)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory for metrics");
	rg_err rc = render_runs(f, json_object_get(m, "runs_by_state"), err);
	if (!rc)
		rc = render_rollbacks(f, json_object_get(m, "rollbacks_total"), err);
	if (!rc)
		render_histogram(f, steps);
	if (!rc)
		rc = render_decisions(f, json_object_get(m, "decisions"), err);
	bool failed = ferror(f);
	if (fclose(f) != 0 || failed) {
		if (!rc)
			rc = rg_fail(err, RG_ENOMEM, NULL, "out of memory for metrics");
	}
	if (rc) {
		free(buf);
		return rc;
	}
	*out = buf;
	*len = n;
	return RG_OK;
}

rg_err rg_metrics_render(const json_t *m, char **out, size_t *len, rg_error *err)
{
	*out = NULL;
	*len = 0;
	rg_step_histogram h = { 0 };
	if (!json_is_object(m))
		return shape_error(err, "figures are not an object");
	rg_err rc = rg_step_histogram_add_json(&h, json_object_get(m, "step_durations"), err);
	return rc ? rc : rg_metrics_render_with(m, &h, out, len, err);
}
