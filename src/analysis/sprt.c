/* sprt.c — Wald's sequential probability ratio test of a canary against its
 * baseline, conditional on bad events (see sprt.h, docs/analysis.md). Pure
 * arithmetic on the caller's counts: no allocation, no clock, no I/O. It must
 * never turn a batch that carries no information into evidence. */
#include "analysis/sprt.h"

#include <assert.h>
#include <math.h>

static bool opts_valid(const rg_sprt_opts *o)
{
	/* Written so that NaN fails every comparison and is rejected. */
	return o && o->alpha > 0 && o->alpha < 0.5 && o->beta > 0 && o->beta < 0.5 &&
	       o->min_effect > 1 && isfinite(o->min_effect);
}

/* The log-likelihood ratio added by one bad event at canary share s, for
 * an event on the canary (*canary) and on the baseline (*base):
 *   ln(p1/p0)         = ln R − ln(1 + s(R − 1))
 *   ln((1−p1)/(1−p0)) =     − ln(1 + s(R − 1))
 * with p0 = s and p1 = sR / (sR + 1 − s). Written with log1p, the steps
 * stay accurate for a tiny share (where both tend to ln R and 0) and never
 * divide by 1 − s. */
static void event_steps(double R, double s, double *canary, double *base)
{
	double m = log1p(s * (R - 1.0));
	*canary = log(R) - m;
	*base = -m;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

bool rg_sprt_init(rg_sprt *t, const rg_sprt_opts *o)
{
	if (!opts_valid(o))
		return false;
	*t = (rg_sprt){
		.o = *o,
		.llr = 0.0,
		.upper = log1p(-o->beta) - log(o->alpha),  /* ln((1−β)/α) > 0 */
		.lower = log(o->beta) - log1p(-o->alpha),  /* ln(β/(1−α)) < 0 */
		.verdict = RG_SPRT_CONTINUE,
	};
	return true;
}

/* A batch's share comes from its own request counts, so a split that moves
 * between batches is accounted exactly: given the requests each side took
 * in the batch, an event is the canary's with probability s under H0
 * whatever the baseline's (unknown) rate. A batch where one side took no
 * request has s = 0 or 1, where p0 = p1: its events say nothing. */
rg_sprt_verdict rg_sprt_update(rg_sprt *t, uint64_t canary_requests, uint64_t canary_events,
			       uint64_t base_requests, uint64_t base_events)
{
	assert(t->upper > 0 && t->lower < 0); /* initialised by rg_sprt_init */
	t->canary_requests = add_sat(t->canary_requests, canary_requests);
	t->canary_events = add_sat(t->canary_events, canary_events);
	t->base_requests = add_sat(t->base_requests, base_requests);
	t->base_events = add_sat(t->base_events, base_events);
	if (t->verdict != RG_SPRT_CONTINUE)
		return t->verdict; /* sticky: the decision is the evidence as it stood */
	if (canary_requests == 0 || base_requests == 0 || (canary_events == 0 && base_events == 0))
		return t->verdict;

	double s = (double)canary_requests / ((double)canary_requests + (double)base_requests);
	double step_canary, step_base;
	event_steps(t->o.min_effect, s, &step_canary, &step_base);
	t->llr += (double)canary_events * step_canary + (double)base_events * step_base;
	if (t->llr >= t->upper)
		t->verdict = RG_SPRT_FAIL;
	else if (t->llr <= t->lower)
		t->verdict = RG_SPRT_PASS;
	return t->verdict;
}

/* ln(e^a + e^b) without overflow. */
static double log_add_exp(double a, double b)
{
	double hi = a > b ? a : b, lo = a > b ? b : a;
	return hi + log1p(exp(lo - hi));
}

/* Wald's h ≠ 0 with E[e^{hZ}] = 1 for the per-event step Z (c with
 * probability q, d < 0 < c otherwise) and mean step z ≠ 0. ψ(h) =
 * ln E[e^{hZ}] is convex with ψ(0) = 0 and ψ'(0) = z, so the other root
 * lies on the side opposite to z: bracket it by doubling, then bisect. */
static double wald_h(double q, double c, double d, double z)
{
	double lq = log(q), lr = log1p(-q);
	double sign = z > 0 ? -1.0 : 1.0;
	double inner = 0.0, outer = sign;
	for (int i = 0; i < 2000 && log_add_exp(lq + outer * c, lr + outer * d) <= 0; i++) {
		inner = outer;
		outer *= 2.0;
	}
	for (int i = 0; i < 200; i++) {
		double mid = 0.5 * (inner + outer);
		if (mid == inner || mid == outer)
			break;
		if (log_add_exp(lq + mid * c, lr + mid * d) > 0)
			outer = mid;
		else
			inner = mid;
	}
	return 0.5 * (inner + outer);
}

/* Wald's operating characteristic, as the probability of failing the canary:
 * P(fail) = (1 − e^{hB}) / (e^{hA} − e^{hB}), written so that neither
 * exponential overflows for either sign of h. */
static double wald_fail_probability(double h, double A, double B)
{
	if (h > 0)
		return exp(-h * A) * expm1(h * B) / expm1(h * (B - A));
	return expm1(-h * B) / expm1(h * (A - B));
}

/* Wald's average sample number, in events, then in canary requests:
 *   E[N_events] ≈ [P(fail)·A + (1 − P(fail))·B] / E[Z]
 * where A and B are the two boundaries, E[Z] the mean step of one event
 * under the true rates, and P(fail) Wald's operating characteristic at the
 * true rates (exact at the hypotheses: α under H0, 1 − β under H1). Each
 * canary request comes with (1 − s)/s baseline requests, so it brings
 * rc + rb·(1 − s)/s events on average. The approximation ignores the
 * overshoot of the last step over the boundary, so the real mean is larger
 * by about E[overshoot] / E[Z] events. */
double rg_sprt_expected_canary_requests(const rg_sprt_opts *o, double canary_rate,
					double base_rate, double share)
{
	if (!opts_valid(o) || !(canary_rate >= 0 && canary_rate <= 1) ||
	    !(base_rate >= 0 && base_rate <= 1) || !(share > 0 && share < 1))
		return NAN;
	double events_per_request = canary_rate + base_rate * (1.0 - share) / share;
	if (events_per_request <= 0)
		return INFINITY; /* no events ever: the test never moves */

	double A = log1p(-o->beta) - log(o->alpha), B = log(o->beta) - log1p(-o->alpha);
	double c, d;
	event_steps(o->min_effect, share, &c, &d);
	double q = share * canary_rate / (share * canary_rate + (1.0 - share) * base_rate);
	double z = q * c + (1.0 - q) * d;
	double z2 = q * c * c + (1.0 - q) * d * d;
	double events;
	if (q >= 1.0) {
		events = A / c; /* only canary events: the ratio only climbs */
	} else if (q <= 0.0) {
		events = B / d; /* only baseline events: it only falls */
	} else if (fabs(z) <= 1e-9 * sqrt(z2)) {
		/* The canary sits where the test has no drift: Wald's limit of the
		 * formula below as E[Z] → 0. */
		events = -A * B / z2;
	} else {
		double p_fail = wald_fail_probability(wald_h(q, c, d, z), A, B);
		events = (p_fail * A + (1.0 - p_fail) * B) / z;
	}
	return events / events_per_request;
}
