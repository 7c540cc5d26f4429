/* sprt.h — sequential comparison of a canary against its baseline while
 * both take traffic: Wald's sequential probability ratio test on "bad
 * events" (error responses, or latency exceedances over a bound), decided
 * as soon as the evidence suffices. Pure and allocation-free; the caller
 * feeds it per batch of requests. The statistics and their guarantees are
 * explained in docs/analysis.md.
 *
 * The test is conditional on events: given that a bad event happened, it
 * came from the canary with probability p0 = s (the canary's share of the
 * batch's requests, s = nc / (nc + nb)) if the canary is no worse than the
 * baseline (H0), and with p1 = s·R / (s·R + 1 − s) if the canary's event
 * rate is R times the baseline's (H1, R = min_effect). Each event adds
 * ln(p1/p0) (canary) or ln((1−p1)/(1−p0)) (baseline) to the log-likelihood
 * ratio; the test fails the canary at ln((1−β)/α) and passes it at
 * ln(β/(1−α)). The baseline's own rate never needs estimating, and a
 * change of split between batches is handled by using each batch's share. */
#ifndef RG_ANALYSIS_SPRT_H
#define RG_ANALYSIS_SPRT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct rg_sprt_opts {
	double alpha;       /* false alarm: P(fail | canary as good), 0 < α < 0.5 */
	double beta;        /* miss: P(pass | canary R times worse), 0 < β < 0.5 */
	double min_effect;  /* R > 1: the ratio of event rates the test is tuned to detect */
} rg_sprt_opts;

typedef enum {
	RG_SPRT_CONTINUE = 0, /* not enough evidence yet */
	RG_SPRT_FAIL,         /* H1 accepted: the canary is worse */
	RG_SPRT_PASS          /* H0 accepted: the canary is no worse */
} rg_sprt_verdict;

/* The evidence so far (plain data; store it with a decision). */
typedef struct rg_sprt {
	rg_sprt_opts o;
	double llr;                      /* log-likelihood ratio, ln(L1/L0) */
	double upper;                    /* ln((1−β)/α): fail at or above */
	double lower;                    /* ln(β/(1−α)): pass at or below */
	uint64_t canary_requests, canary_events;
	uint64_t base_requests, base_events;
	rg_sprt_verdict verdict;         /* sticky once decided */
} rg_sprt;

/* false if o is out of range (then *t is untouched). */
bool rg_sprt_init(rg_sprt *t, const rg_sprt_opts *o);

/* One batch: requests and bad events on each side since the last batch.
 * A batch where either side had no request carries no information about
 * the comparison and changes only the counts. Returns t->verdict; after a
 * decision further batches only add to the counts. */
rg_sprt_verdict rg_sprt_update(rg_sprt *t, uint64_t canary_requests, uint64_t canary_events,
			       uint64_t base_requests, uint64_t base_events);

/* Wald's approximation of the expected number of canary requests the test
 * needs to decide, when the canary's true event rate is canary_rate, the
 * baseline's base_rate, and the canary gets share of the requests (the
 * average sample number of the two-sample test; the probability of each
 * outcome is Wald's operating characteristic at the true rates). It leaves
 * out the overshoot of the last step, so it is a lower estimate. Infinity
 * when no event can happen (both rates 0); when the expected step is 0 (a
 * canary exactly between the hypotheses) Wald's finite limit −A·B/E[Z²]
 * (in events). NaN when o, a rate (outside [0, 1]) or share (outside
 * (0, 1)) is out of range. */
double rg_sprt_expected_canary_requests(const rg_sprt_opts *o, double canary_rate,
					double base_rate, double share);

#endif
