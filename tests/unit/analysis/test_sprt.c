/* test_sprt.c — the sequential test of a canary against its baseline: its
 * boundaries, the step of each event, decisions both ways and their
 * stickiness, batches that carry no information, changing splits, Wald's
 * average sample number, and seeded simulations of healthy and bad canaries
 * checked against the error rates the test promises. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "analysis/sprt.h"

/* splitmix64: a seeded generator, so every run sees the same streams. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static double rng_unit(void) /* [0, 1) */
{
	return (double)(rng_next() >> 11) / 9007199254740992.0;
}

static uint64_t bad_events(uint64_t requests, double rate)
{
	uint64_t k = 0;
	for (uint64_t i = 0; i < requests; i++)
		k += rng_unit() < rate;
	return k;
}

static rg_sprt t;

static rg_sprt_opts opts(double alpha, double beta, double min_effect)
{
	return (rg_sprt_opts){ .alpha = alpha, .beta = beta, .min_effect = min_effect };
}

static void init(double alpha, double beta, double min_effect)
{
	rg_sprt_opts o = opts(alpha, beta, min_effect);
	cr_assert(rg_sprt_init(&t, &o));
}

/* The steps of one event at share s, from the definitions in sprt.h (not
 * from the simplified form the code uses). */
static double p1_of(double s, double R)
{
	return s * R / (s * R + 1.0 - s);
}

static double canary_step(double s, double R)
{
	return log(p1_of(s, R) / s);
}

static double base_step(double s, double R)
{
	return log((1.0 - p1_of(s, R)) / (1.0 - s));
}

#define close_to(a, b, rel) cr_assert(fabs((a) - (b)) <= (rel) * fabs(b), "%.17g vs %.17g", (a), (b))

TestSuite(sprt_init);
TestSuite(sprt_update);
TestSuite(sprt_asn);
TestSuite(sprt_sim);

/* ---- boundaries and options ---------------------------------------------------- */

Test(sprt_init, boundaries_are_walds)
{
	init(0.05, 0.05, 2);
	close_to(t.upper, log(0.95 / 0.05), 1e-12);
	close_to(t.lower, log(0.05 / 0.95), 1e-12);
	cr_assert_eq(t.llr, 0.0);
	cr_assert_eq(t.verdict, RG_SPRT_CONTINUE);
	cr_assert_eq(t.canary_requests + t.canary_events + t.base_requests + t.base_events, 0);

	init(0.01, 0.2, 3);
	close_to(t.upper, log(0.8 / 0.01), 1e-12);
	close_to(t.lower, log(0.2 / 0.99), 1e-12);
	cr_assert_eq(t.o.min_effect, 3.0);
}

Test(sprt_init, rejects_options_out_of_range_and_leaves_the_test_alone)
{
	const rg_sprt_opts bad[] = {
		opts(0, 0.05, 2),    opts(0.5, 0.05, 2),  opts(-0.1, 0.05, 2),  opts(NAN, 0.05, 2),
		opts(0.05, 0, 2),    opts(0.05, 0.5, 2),  opts(0.05, NAN, 2),   opts(0.05, 0.05, 1),
		opts(0.05, 0.05, 0.5), opts(0.05, 0.05, NAN), opts(0.05, 0.05, INFINITY),
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		rg_sprt x;
		memset(&x, 0xA5, sizeof x);
		rg_sprt before = x;
		cr_assert_not(rg_sprt_init(&x, &bad[i]), "options %zu accepted", i);
		cr_assert_eq(memcmp(&x, &before, sizeof x), 0, "options %zu touched the test", i);
	}
	cr_assert_not(rg_sprt_init(&t, NULL));
}

/* ---- one batch at a time ------------------------------------------------------- */

Test(sprt_update, each_event_adds_its_log_likelihood_ratio)
{
	init(0.05, 0.05, 2);
	cr_assert_eq(rg_sprt_update(&t, 10, 1, 90, 0), RG_SPRT_CONTINUE);
	close_to(t.llr, canary_step(0.1, 2), 1e-12);
	cr_assert_eq(rg_sprt_update(&t, 10, 0, 90, 1), RG_SPRT_CONTINUE);
	close_to(t.llr, canary_step(0.1, 2) + base_step(0.1, 2), 1e-12);
	/* ln(p1/p0) at s = 0.1, R = 2: p1 = 0.2/1.1 */
	close_to(canary_step(0.1, 2), log(2.0 / 1.1), 1e-12);

	init(0.05, 0.05, 2);
	rg_sprt_update(&t, 300, 3, 700, 5);
	close_to(t.llr, 3 * canary_step(0.3, 2) + 5 * base_step(0.3, 2), 1e-12);
	cr_assert_eq(t.canary_requests, 300);
	cr_assert_eq(t.canary_events, 3);
	cr_assert_eq(t.base_requests, 700);
	cr_assert_eq(t.base_events, 5);
}

Test(sprt_update, fails_a_canary_whose_events_keep_coming_from_it)
{
	init(0.05, 0.05, 2);
	double step = canary_step(0.1, 2);
	int need = (int)ceil(t.upper / step);
	for (int i = 1; i < need; i++)
		cr_assert_eq(rg_sprt_update(&t, 10, 1, 90, 0), RG_SPRT_CONTINUE, "event %d", i);
	cr_assert_eq(rg_sprt_update(&t, 10, 1, 90, 0), RG_SPRT_FAIL);
	cr_assert_geq(t.llr, t.upper);
	cr_assert_eq(t.verdict, RG_SPRT_FAIL);
}

Test(sprt_update, passes_a_canary_when_the_events_come_from_the_baseline)
{
	init(0.05, 0.05, 2);
	double step = base_step(0.1, 2);
	int need = (int)ceil(t.lower / step);
	for (int i = 1; i < need; i++)
		cr_assert_eq(rg_sprt_update(&t, 10, 0, 90, 1), RG_SPRT_CONTINUE, "event %d", i);
	cr_assert_eq(rg_sprt_update(&t, 10, 0, 90, 1), RG_SPRT_PASS);
	cr_assert_leq(t.llr, t.lower);
}

Test(sprt_update, verdicts_are_sticky_and_counts_keep_adding)
{
	init(0.05, 0.05, 2);
	cr_assert_eq(rg_sprt_update(&t, 10, 10, 90, 0), RG_SPRT_FAIL);
	double llr = t.llr;
	cr_assert_eq(rg_sprt_update(&t, 10, 0, 90, 1000), RG_SPRT_FAIL);
	cr_assert_eq(t.llr, llr);
	cr_assert_eq(t.canary_requests, 20);
	cr_assert_eq(t.base_events, 1000);

	init(0.05, 0.05, 2);
	cr_assert_eq(rg_sprt_update(&t, 10, 0, 90, 1000), RG_SPRT_PASS);
	cr_assert_eq(rg_sprt_update(&t, 10, 1000, 90, 0), RG_SPRT_PASS);
	cr_assert_eq(t.canary_events, 1000);
}

Test(sprt_update, a_batch_with_one_side_empty_carries_no_evidence)
{
	init(0.05, 0.05, 2);
	cr_assert_eq(rg_sprt_update(&t, 0, 0, 90, 50), RG_SPRT_CONTINUE);
	cr_assert_eq(rg_sprt_update(&t, 10, 50, 0, 0), RG_SPRT_CONTINUE);
	cr_assert_eq(rg_sprt_update(&t, 0, 0, 0, 0), RG_SPRT_CONTINUE);
	cr_assert_eq(rg_sprt_update(&t, 10, 0, 90, 0), RG_SPRT_CONTINUE);
	/* Events counted against an empty side (a racing snapshot) too. */
	cr_assert_eq(rg_sprt_update(&t, 0, 3, 90, 0), RG_SPRT_CONTINUE);
	cr_assert_eq(t.llr, 0.0);
	cr_assert_eq(t.canary_requests, 20);
	cr_assert_eq(t.canary_events, 53);
	cr_assert_eq(t.base_requests, 270);
	cr_assert_eq(t.base_events, 50);
}

Test(sprt_update, each_batch_uses_its_own_share)
{
	init(0.01, 0.01, 2);
	rg_sprt_update(&t, 10, 1, 90, 2);   /* s = 0.1 */
	rg_sprt_update(&t, 50, 2, 50, 1);   /* s = 0.5 */
	rg_sprt_update(&t, 1, 1, 999, 4);   /* s = 0.001 */
	double want = (1 * canary_step(0.1, 2) + 2 * base_step(0.1, 2)) +
		      (2 * canary_step(0.5, 2) + 1 * base_step(0.5, 2)) +
		      (1 * canary_step(0.001, 2) + 4 * base_step(0.001, 2));
	close_to(t.llr, want, 1e-12);

	/* A canary event at a larger share is weaker evidence: at s = 0.5 it is
	 * only as likely under H0 as a baseline event. */
	cr_assert_lt(canary_step(0.5, 2), canary_step(0.1, 2));
	/* Splitting a batch at the same share changes nothing. */
	rg_sprt u;
	rg_sprt_opts o = opts(0.01, 0.01, 2);
	rg_sprt_init(&u, &o);
	rg_sprt_update(&u, 10, 1, 90, 1);
	rg_sprt_update(&u, 20, 1, 180, 1);
	rg_sprt v;
	rg_sprt_init(&v, &o);
	rg_sprt_update(&v, 30, 2, 270, 2);
	close_to(u.llr, v.llr, 1e-12);
}

Test(sprt_update, large_counts_stay_finite)
{
	init(0.01, 0.01, 50);
	/* A huge batch with events on both sides, balanced at H0: finite and
	 * decided the right way. */
	cr_assert_eq(rg_sprt_update(&t, UINT64_C(1) << 40, UINT64_C(1) << 30, UINT64_C(9) << 40,
				    UINT64_C(9) << 30), RG_SPRT_PASS);
	cr_assert(isfinite(t.llr));
	init(0.01, 0.01, 1.0001);
	cr_assert_eq(rg_sprt_update(&t, UINT64_MAX / 2, UINT64_MAX / 4, UINT64_MAX / 2, 0),
		     RG_SPRT_FAIL);
	cr_assert(isfinite(t.llr));
	/* Counts saturate instead of wrapping. */
	rg_sprt_update(&t, UINT64_MAX, UINT64_MAX, 1, 1);
	cr_assert_eq(t.canary_requests, UINT64_MAX);
	cr_assert_eq(t.canary_events, UINT64_MAX);
}

Test(sprt_update, a_tiny_share_keeps_its_precision)
{
	/* s = 1e-12: the canary step tends to ln R, the baseline step to
	 * −s(R − 1); a naive log(1 − p1) − log(1 − p0) would lose it all. */
	init(0.05, 0.05, 2);
	rg_sprt_update(&t, 1, 0, 1000000000000ull, 1);
	close_to(t.llr, -1e-12, 1e-6);
}

/* ---- Wald's average sample number --------------------------------------------- */

/* Requests per canary request that are bad events, overall. */
static double events_per_request(double rc, double rb, double s)
{
	return rc + rb * (1 - s) / s;
}

Test(sprt_asn, at_the_hypotheses_it_is_walds_formula)
{
	/* Truth = H1 (rc/rb = R): P(fail) = 1 − β, and truth = H0: α. */
	const double s = 0.1, rb = 0.001, R = 2, a = 0.01, b = 0.01;
	rg_sprt_opts o = opts(a, b, R);
	double A = log((1 - b) / a), B = log(b / (1 - a));
	double q1 = p1_of(s, R), c = canary_step(s, R), d = base_step(s, R);
	double z1 = q1 * c + (1 - q1) * d, z0 = s * c + (1 - s) * d;
	double h1 = ((1 - b) * A + b * B) / z1 / events_per_request(R * rb, rb, s);
	double h0 = (a * A + (1 - a) * B) / z0 / events_per_request(rb, rb, s);
	close_to(rg_sprt_expected_canary_requests(&o, R * rb, rb, s), h1, 1e-6);
	close_to(rg_sprt_expected_canary_requests(&o, rb, rb, s), h0, 1e-6);
}

Test(sprt_asn, design_figure_five_percent_against_a_tenth)
{
	/* DESIGN §4: canary 5 % against 0.1 %, split 10/90, α = β = 0.01:
	 * "about 60 canary requests" with the test tuned to that effect (R =
	 * 50). Wald's approximation, without the overshoot, gives 49.6; the
	 * simulation below (sprt_sim) and bench/detect.sh measure the mean. */
	rg_sprt_opts tuned = opts(0.01, 0.01, 50), dflt = opts(0.01, 0.01, 2);
	double n50 = rg_sprt_expected_canary_requests(&tuned, 0.05, 0.001, 0.1);
	double n2 = rg_sprt_expected_canary_requests(&dflt, 0.05, 0.001, 0.1);
	cr_assert(n50 > 49 && n50 < 50, "R = 50: %g", n50);
	cr_assert(n2 > 157 && n2 < 159, "R = 2: %g", n2);
}

Test(sprt_asn, edges)
{
	rg_sprt_opts o = opts(0.05, 0.05, 2);
	cr_assert(isinf(rg_sprt_expected_canary_requests(&o, 0, 0, 0.1)));
	cr_assert(isnan(rg_sprt_expected_canary_requests(&o, 0.01, 0.01, 0)));
	cr_assert(isnan(rg_sprt_expected_canary_requests(&o, 0.01, 0.01, 1)));
	cr_assert(isnan(rg_sprt_expected_canary_requests(&o, -0.1, 0.01, 0.5)));
	cr_assert(isnan(rg_sprt_expected_canary_requests(&o, 0.01, 1.5, 0.5)));
	rg_sprt_opts bad = opts(0.6, 0.05, 2);
	cr_assert(isnan(rg_sprt_expected_canary_requests(&bad, 0.01, 0.01, 0.5)));
	/* Only canary events (baseline perfect): A / ln(p1/p0) events. */
	close_to(rg_sprt_expected_canary_requests(&o, 0.01, 0, 0.1),
		 log(0.95 / 0.05) / canary_step(0.1, 2) / 0.01, 1e-12);
	/* A perfect canary: only baseline events, it can only pass. */
	close_to(rg_sprt_expected_canary_requests(&o, 0, 0.01, 0.1),
		 log(0.05 / 0.95) / base_step(0.1, 2) / (0.01 * 9), 1e-12);
}

Test(sprt_asn, continuous_through_zero_drift)
{
	/* The canary rate where the mean step is 0: Wald's limit there, and
	 * its neighbours on both sides agree with it. */
	const double s = 0.1, rb = 0.01, R = 2;
	rg_sprt_opts o = opts(0.05, 0.05, R);
	double c = canary_step(s, R), d = base_step(s, R);
	double q = -d / (c - d);
	double rc = q * (1 - s) * rb / (s * (1 - q));
	double mid = rg_sprt_expected_canary_requests(&o, rc, rb, s);
	cr_assert(isfinite(mid) && mid > 0);
	double below = rg_sprt_expected_canary_requests(&o, rc * (1 - 1e-4), rb, s);
	double above = rg_sprt_expected_canary_requests(&o, rc * (1 + 1e-4), rb, s);
	close_to(below, mid, 1e-3);
	close_to(above, mid, 1e-3);
	/* It is the longest wait: between the hypotheses. */
	cr_assert_gt(mid, rg_sprt_expected_canary_requests(&o, rb, rb, s));
	cr_assert_gt(mid, rg_sprt_expected_canary_requests(&o, R * rb, rb, s));
}

/* ---- seeded simulations ---------------------------------------------------------- */

/* The share of a batch: fixed, or drawn anew for each batch between 5 %
 * and 50 % (a split that moves). Batches of 100 requests. */
typedef struct sim {
	double canary_rate, base_rate;
	double share;        /* < 0: random per batch */
	uint64_t canary_requests; /* at the decision */
} sim;

static rg_sprt_verdict simulate(const rg_sprt_opts *o, sim *m)
{
	rg_sprt x;
	cr_assert(rg_sprt_init(&x, o));
	for (int batch = 0; batch < 1000000; batch++) {
		double s = m->share >= 0 ? m->share : 0.05 + 0.45 * rng_unit();
		uint64_t nc = (uint64_t)llround(100 * s), nb = 100 - nc;
		rg_sprt_verdict v = rg_sprt_update(&x, nc, bad_events(nc, m->canary_rate), nb,
						   bad_events(nb, m->base_rate));
		if (v != RG_SPRT_CONTINUE) {
			m->canary_requests = x.canary_requests;
			return v;
		}
	}
	cr_assert_fail("undecided after a million batches");
	return RG_SPRT_CONTINUE;
}

/* Wald's inequalities bound the real error rates by α/(1 − β) and
 * β/(1 − α). With n seeded runs the observed rate of an event whose true
 * probability is at most p is checked against p + 3.09·sqrt(p(1 − p)/n):
 * the one-sided 99.9 % binomial bound (normal approximation), so the
 * margin is computed, not tuned, and a fixed seed makes it repeatable. */
static double bound(double p, int n)
{
	return p + 3.09 * sqrt(p * (1 - p) / n);
}

/* The test is conditional on events, so how often a healthy canary fails
 * depends on the split, not on how rare the events are: equal rates of 5 %
 * give the same answer as 0.1 %, with 50× fewer requests to simulate. */
static void false_alarms(double alpha, double beta, double R, double share, uint64_t seed)
{
	const int runs = 2000;
	rng_state = seed;
	rg_sprt_opts o = opts(alpha, beta, R);
	int fails = 0;
	for (int i = 0; i < runs; i++) {
		sim m = { .canary_rate = 0.05, .base_rate = 0.05, .share = share };
		fails += simulate(&o, &m) == RG_SPRT_FAIL;
	}
	double rate = (double)fails / runs, limit = bound(alpha / (1 - beta), runs);
	cr_log_info("false alarms alpha %g R %g share %g: %d/%d = %.4f (limit %.4f)", alpha, R,
		    share, fails, runs, rate, limit);
	cr_assert_leq(rate, limit, "alpha %g R %g share %g: %d/%d false alarms (limit %.4f)", alpha,
		      R, share, fails, runs, limit);
}

Test(sprt_sim, healthy_canaries_fail_at_most_alpha_of_the_time)
{
	false_alarms(0.01, 0.01, 2, 0.1, 1);
	false_alarms(0.05, 0.05, 2, 0.1, 2);
	false_alarms(0.01, 0.01, 50, 0.1, 3);
}

Test(sprt_sim, a_moving_split_keeps_the_false_alarm_rate)
{
	false_alarms(0.05, 0.05, 2, -1, 4);
}

static void detection(double R, double canary_rate, uint64_t seed)
{
	const int runs = 2000;
	const double a = 0.01, b = 0.01, rb = 0.001, s = 0.1;
	rng_state = seed;
	rg_sprt_opts o = opts(a, b, R);
	int fails = 0;
	double requests = 0;
	for (int i = 0; i < runs; i++) {
		sim m = { .canary_rate = canary_rate, .base_rate = rb, .share = s };
		fails += simulate(&o, &m) == RG_SPRT_FAIL;
		requests += (double)m.canary_requests;
	}
	double mean = requests / runs, asn = rg_sprt_expected_canary_requests(&o, canary_rate, rb, s);
	double missed = (double)(runs - fails) / runs;
	cr_log_info("R %g canary %g: detected %d/%d, mean %.1f canary requests, Wald %.1f", R,
		    canary_rate, fails, runs, mean, asn);
	/* The effect is at least R: misses at most β/(1 − α). */
	cr_assert_leq(missed, bound(b / (1 - a), runs), "missed %d/%d", runs - fails, runs);
	/* Wald's figure leaves out the overshoot and batches of 10 canary
	 * requests add up to 10 more: the mean lies above it, within 2×. */
	cr_assert(mean >= 0.9 * asn && mean <= 2 * asn, "mean %.1f, Wald %.1f", mean, asn);
}

Test(sprt_sim, detects_five_percent_against_a_tenth_of_a_percent)
{
	detection(50, 0.05, 11);
	detection(2, 0.05, 12);
	detection(20, 0.02, 13);
}
