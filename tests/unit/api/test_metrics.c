/* test_metrics.c — Prometheus text rendering of the store's figures.
 * Pure: a json_t in, exposition text out; never touches a store. */
#include <criterion/criterion.h>
#include <string.h>

#include "api/metrics.h"

static char *render(const char *figures_json, rg_err want)
{
	json_error_t je;
	json_t *m = json_loads(figures_json, 0, &je);
	cr_assert_not_null(m, "%s", je.text);
	char *out = NULL;
	size_t len = 0;
	rg_error err;
	rg_error_clear(&err);
	cr_assert_eq(rg_metrics_render(m, &out, &len, &err), want, "%s", err.message);
	json_decref(m);
	if (out)
		cr_assert_eq(len, strlen(out));
	return out;
}

static void has_line(const char *text, const char *line)
{
	char want[256];
	snprintf(want, sizeof want, "\n%s\n", line);
	/* The first line has no newline before it. */
	bool first = strncmp(text, line, strlen(line)) == 0 && text[strlen(line)] == '\n';
	cr_assert(first || strstr(text, want), "missing line '%s' in:\n%s", line, text);
}

Test(api_metrics, every_run_state_is_a_gauge)
{
	char *t = render("{\"runs_by_state\":{\"running\":2,\"succeeded\":7},"
			 "\"rollbacks_total\":3,\"step_durations\":[]}", RG_OK);
	has_line(t, "# HELP rollguard_runs Runs by state.");
	has_line(t, "# TYPE rollguard_runs gauge");
	has_line(t, "rollguard_runs{state=\"running\"} 2");
	has_line(t, "rollguard_runs{state=\"succeeded\"} 7");
	const char *zero[] = { "queued", "awaiting_approval", "paused", "verifying", "monitoring",
			       "rolling_back", "failed", "rolled_back", "rollback_failed",
			       "aborted" };
	for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++) {
		char line[128];
		snprintf(line, sizeof line, "rollguard_runs{state=\"%s\"} 0", zero[i]);
		has_line(t, line);
	}
	free(t);
}

Test(api_metrics, rollbacks_counter)
{
	char *t = render("{\"runs_by_state\":{},\"rollbacks_total\":3,\"step_durations\":[]}",
			 RG_OK);
	has_line(t, "# TYPE rollguard_rollbacks_total counter");
	has_line(t, "rollguard_rollbacks_total 3");
	free(t);
}

Test(api_metrics, histogram_is_cumulative)
{
	char *t = render("{\"step_durations\":["
			 "{\"step\":\"a\",\"phase\":\"forward\",\"seconds\":0.1},"
			 "{\"step\":\"b\",\"phase\":\"forward\",\"seconds\":0.2},"
			 "{\"step\":\"c\",\"phase\":\"reverse\",\"seconds\":45},"
			 "{\"step\":\"d\",\"phase\":\"forward\",\"seconds\":5000}]}", RG_OK);
	has_line(t, "# TYPE rollguard_step_duration_seconds histogram");
	has_line(t, "rollguard_step_duration_seconds_bucket{le=\"0.1\"} 1");
	has_line(t, "rollguard_step_duration_seconds_bucket{le=\"0.5\"} 2");
	has_line(t, "rollguard_step_duration_seconds_bucket{le=\"30\"} 2");
	has_line(t, "rollguard_step_duration_seconds_bucket{le=\"60\"} 3");
	has_line(t, "rollguard_step_duration_seconds_bucket{le=\"3600\"} 3");
	has_line(t, "rollguard_step_duration_seconds_bucket{le=\"+Inf\"} 4");
	has_line(t, "rollguard_step_duration_seconds_sum 5045.3");
	has_line(t, "rollguard_step_duration_seconds_count 4");
	free(t);
}

Test(api_metrics, all_bucket_bounds_in_order)
{
	char *t = render("{}", RG_OK);
	const char *les[] = { "0.1", "0.5", "1", "5", "10", "30", "60", "300", "900", "1800",
			      "3600", "+Inf" };
	const char *at = t;
	for (size_t i = 0; i < sizeof les / sizeof les[0]; i++) {
		char line[128];
		snprintf(line, sizeof line, "rollguard_step_duration_seconds_bucket{le=\"%s\"} 0",
			 les[i]);
		const char *p = strstr(at, line);
		cr_assert_not_null(p, "bucket %s missing or out of order", les[i]);
		at = p;
	}
	has_line(t, "rollguard_step_duration_seconds_sum 0");
	has_line(t, "rollguard_rollbacks_total 0");
	cr_assert_eq(t[strlen(t) - 1], '\n');
	free(t);
}

Test(api_metrics, unknown_state_is_escaped)
{
	char *t = render("{\"runs_by_state\":{\"we\\\"ird\\n\":1}}", RG_OK);
	has_line(t, "rollguard_runs{state=\"we\\\"ird\\n\"} 1");
	free(t);
}

Test(api_metrics, negative_duration_counts_as_zero)
{
	char *t = render("{\"step_durations\":[{\"seconds\":-3}]}", RG_OK);
	has_line(t, "rollguard_step_duration_seconds_bucket{le=\"0.1\"} 1");
	has_line(t, "rollguard_step_duration_seconds_sum 0");
	free(t);
}

Test(api_metrics, wrong_shapes_are_internal_errors)
{
	cr_assert_null(render("{\"runs_by_state\":[]}", RG_EINTERNAL));
	cr_assert_null(render("{\"runs_by_state\":{\"running\":\"2\"}}", RG_EINTERNAL));
	cr_assert_null(render("{\"rollbacks_total\":\"3\"}", RG_EINTERNAL));
	cr_assert_null(render("{\"step_durations\":{}}", RG_EINTERNAL));
	cr_assert_null(render("{\"step_durations\":[{\"step\":\"a\"}]}", RG_EINTERNAL));
	cr_assert_null(render("[]", RG_EINTERNAL));
}
