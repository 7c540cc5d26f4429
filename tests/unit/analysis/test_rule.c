/* test_rule.c — a threshold rule over time: above and below, `for` held
 * across evaluations, what no data does either way, the clock starting
 * again after a break, and the text a decision quotes. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "analysis/rule.h"

static rg_rule r;

static void arm(rg_rule_opts o)
{
	rg_rule_init(&r, &o);
}

static rg_rule_verdict at(int64_t now_ms, double v)
{
	return rg_rule_eval(&r, now_ms, true, v);
}

static rg_rule_verdict none_at(int64_t now_ms)
{
	return rg_rule_eval(&r, now_ms, false, 0);
}

TestSuite(rule_threshold);
TestSuite(rule_for);
TestSuite(rule_no_data);
TestSuite(rule_describe);

/* ---- thresholds --------------------------------------------------------------------- */

Test(rule_threshold, init_starts_clean)
{
	arm((rg_rule_opts){ .has_above = true, .above = 0.01 });
	cr_assert_not(r.breaching);
	cr_assert(isnan(r.last));
	cr_assert_not(r.last_had_data);
	cr_assert_eq(r.o.above, 0.01);
}

Test(rule_threshold, above_is_strict_and_fires_at_once_without_for)
{
	arm((rg_rule_opts){ .has_above = true, .above = 0.01 });
	cr_assert_eq(at(0, 0.005), RG_RULE_OK);
	cr_assert_eq(at(1000, 0.01), RG_RULE_OK);
	cr_assert_eq(at(2000, 0.0101), RG_RULE_FIRE);
	cr_assert_eq(r.last, 0.0101);
	cr_assert(r.last_had_data);
	cr_assert_eq(at(3000, 0.5), RG_RULE_FIRE);
	cr_assert_eq(at(4000, -1), RG_RULE_OK);
	cr_assert_not(r.breaching);
}

Test(rule_threshold, below_is_strict)
{
	arm((rg_rule_opts){ .has_below = true, .below = 5 });
	cr_assert_eq(at(0, 5), RG_RULE_OK);
	cr_assert_eq(at(1, 1e9), RG_RULE_OK);
	cr_assert_eq(at(2, 4.999), RG_RULE_FIRE);
	cr_assert_eq(at(3, -INFINITY), RG_RULE_FIRE);
}

Test(rule_threshold, above_and_below_form_a_band)
{
	arm((rg_rule_opts){ .has_above = true, .above = 100, .has_below = true, .below = 10 });
	cr_assert_eq(at(0, 50), RG_RULE_OK);
	cr_assert_eq(at(1, 101), RG_RULE_FIRE);
	cr_assert_eq(at(2, 10), RG_RULE_OK);
	cr_assert_eq(at(3, 9), RG_RULE_FIRE);
}

Test(rule_threshold, no_threshold_never_breaches)
{
	arm((rg_rule_opts){ 0 });
	cr_assert_eq(at(0, 1e300), RG_RULE_OK);
	cr_assert_eq(at(1, -1e300), RG_RULE_OK);
}

Test(rule_threshold, re_init_with_its_own_options_starts_over)
{
	arm((rg_rule_opts){ .has_above = true, .above = 1, .for_ms = 1000 });
	cr_assert_eq(at(0, 2), RG_RULE_PENDING);
	cr_assert_eq(at(1000, 2), RG_RULE_FIRE);
	rg_rule_init(&r, &r.o); /* the engine re-arms a fired rule this way */
	cr_assert_eq(r.o.above, 1);
	cr_assert_eq(r.o.for_ms, 1000);
	cr_assert_eq(at(1500, 2), RG_RULE_PENDING);
	cr_assert_eq(at(2500, 2), RG_RULE_FIRE);
}

/* ---- for ------------------------------------------------------------------------------ */

Test(rule_for, holds_from_the_first_breaching_evaluation)
{
	/* every 10s, for 30s: fires on the fourth breaching evaluation. */
	arm((rg_rule_opts){ .has_above = true, .above = 0.01, .for_ms = 30000 });
	cr_assert_eq(at(0, 0), RG_RULE_OK);
	cr_assert_eq(at(10000, 0.02), RG_RULE_PENDING);
	cr_assert_eq(r.since_ms, 10000);
	cr_assert_eq(at(20000, 0.02), RG_RULE_PENDING);
	cr_assert_eq(at(30000, 0.02), RG_RULE_PENDING);
	cr_assert_eq(at(39999, 0.02), RG_RULE_PENDING);
	cr_assert_eq(at(40000, 0.02), RG_RULE_FIRE);
	cr_assert_eq(at(50000, 0.03), RG_RULE_FIRE);
	cr_assert_eq(r.since_ms, 10000);
}

Test(rule_for, a_value_within_bounds_resets_the_clock)
{
	arm((rg_rule_opts){ .has_above = true, .above = 1, .for_ms = 30000 });
	cr_assert_eq(at(0, 2), RG_RULE_PENDING);
	cr_assert_eq(at(20000, 2), RG_RULE_PENDING);
	cr_assert_eq(at(25000, 1), RG_RULE_OK);
	cr_assert_eq(at(30000, 2), RG_RULE_PENDING);
	cr_assert_eq(r.since_ms, 30000);
	cr_assert_eq(at(59000, 2), RG_RULE_PENDING);
	cr_assert_eq(at(60000, 2), RG_RULE_FIRE);
}

Test(rule_for, above_and_below_breaches_count_as_one)
{
	/* Leaving the band on one side, then the other, is one breach. */
	arm((rg_rule_opts){ .has_above = true, .above = 10, .has_below = true, .below = 1,
			    .for_ms = 2000 });
	cr_assert_eq(at(0, 11), RG_RULE_PENDING);
	cr_assert_eq(at(1000, 0), RG_RULE_PENDING);
	cr_assert_eq(at(2000, 12), RG_RULE_FIRE);
}

Test(rule_for, a_clock_going_back_counts_as_no_time)
{
	arm((rg_rule_opts){ .has_above = true, .above = 1, .for_ms = 1000 });
	cr_assert_eq(at(5000, 2), RG_RULE_PENDING);
	cr_assert_eq(at(4000, 2), RG_RULE_PENDING);
	cr_assert_eq(at(6000, 2), RG_RULE_FIRE);
}

Test(rule_for, negative_for_is_at_once)
{
	arm((rg_rule_opts){ .has_above = true, .above = 1, .for_ms = -5 });
	cr_assert_eq(at(0, 2), RG_RULE_FIRE);
}

/* ---- no data --------------------------------------------------------------------------- */

Test(rule_no_data, ignored_no_data_breaks_a_breach_in_progress)
{
	arm((rg_rule_opts){ .has_above = true, .above = 1, .for_ms = 20000 });
	cr_assert_eq(at(0, 2), RG_RULE_PENDING);
	cr_assert_eq(none_at(10000), RG_RULE_NO_DATA);
	cr_assert_not(r.breaching);
	cr_assert_not(r.last_had_data);
	cr_assert_eq(r.last, 2); /* the last value seen stays */
	cr_assert_eq(at(20000, 2), RG_RULE_PENDING);
	cr_assert_eq(at(30000, 2), RG_RULE_PENDING);
	cr_assert_eq(at(40000, 2), RG_RULE_FIRE);
}

Test(rule_no_data, ignored_no_data_never_fires)
{
	arm((rg_rule_opts){ .has_below = true, .below = 1 });
	for (int i = 0; i < 100; i++)
		cr_assert_eq(none_at(i * 1000), RG_RULE_NO_DATA);
	cr_assert(isnan(r.last));
}

Test(rule_no_data, fire_counts_no_data_as_a_breach)
{
	arm((rg_rule_opts){ .has_above = true, .above = 1, .fire_on_no_data = true });
	cr_assert_eq(at(0, 0), RG_RULE_OK);
	cr_assert_eq(none_at(1000), RG_RULE_FIRE);
	cr_assert_eq(at(2000, 0), RG_RULE_OK);

	/* With for: no data and breaching values make one continuous breach. */
	arm((rg_rule_opts){ .has_above = true, .above = 1, .for_ms = 30000,
			    .fire_on_no_data = true });
	cr_assert_eq(none_at(0), RG_RULE_PENDING);
	cr_assert_eq(at(10000, 5), RG_RULE_PENDING);
	cr_assert_eq(none_at(20000), RG_RULE_PENDING);
	cr_assert_eq(none_at(30000), RG_RULE_FIRE);
	cr_assert_eq(r.since_ms, 0);
}

Test(rule_no_data, a_nan_value_is_no_data)
{
	arm((rg_rule_opts){ .has_below = true, .below = 1 });
	cr_assert_eq(rg_rule_eval(&r, 0, true, NAN), RG_RULE_NO_DATA);
	cr_assert_not(r.last_had_data);
	arm((rg_rule_opts){ .has_below = true, .below = 1, .fire_on_no_data = true });
	cr_assert_eq(rg_rule_eval(&r, 0, true, NAN), RG_RULE_FIRE);
}

/* ---- describe ------------------------------------------------------------------------- */

static const char *describe(rg_rule_opts o, const char *metric)
{
	static char out[128];
	rg_rule_describe(&o, metric, out, sizeof out);
	return out;
}

Test(rule_describe, the_threshold_as_configured)
{
	cr_assert_str_eq(describe((rg_rule_opts){ .has_above = true, .above = 0.01, .for_ms = 180000 },
				  "error_rate"),
			 "error_rate > 0.01 for 3m");
	cr_assert_str_eq(describe((rg_rule_opts){ .has_below = true, .below = 5 }, "request_rate"),
			 "request_rate < 5");
	cr_assert_str_eq(describe((rg_rule_opts){ .has_above = true, .above = 500, .has_below = true,
						   .below = 1, .for_ms = 90000 },
				  "latency_p99"),
			 "latency_p99 > 500 or < 1 for 1m30s");
	cr_assert_str_eq(describe((rg_rule_opts){ .has_above = true, .above = 1000,
						   .fire_on_no_data = true },
				  "command"),
			 "command > 1000 (no data fires)");
	cr_assert_str_eq(describe((rg_rule_opts){ 0 }, NULL), "value (no threshold)");
}

Test(rule_describe, cuts_to_the_buffer)
{
	char out[8];
	rg_rule_opts o = { .has_above = true, .above = 0.01, .for_ms = 180000 };
	rg_rule_describe(&o, "error_rate", out, sizeof out);
	cr_assert_str_eq(out, "error_r");
	rg_rule_describe(&o, "error_rate", out, 0); /* nothing written, no crash */
}
