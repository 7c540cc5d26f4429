/* detect.c — bench/detect.sh's driver: how fast the sequential test
 * (src/analysis/sprt.h) catches a bad canary and how often it fails a
 * healthy one, on simulated request streams with fixed seeds, next to a
 * fixed-interval checker of the usual kind (one look a minute at the
 * canary's success rate, 99 % threshold, roll back after 1 or 5 failed
 * looks). Pure simulation: no network, no clock, bounded run time.
 *
 * The streams: the baseline fails 0.1 % of its requests, the canary takes
 * 10 % of the traffic (split 10/90) and fails 0.1 % (healthy), 2 % or 5 %
 * of its requests. Requests arrive steadily: each 100 ms batch holds
 * exactly λ/10 canary and 9λ/10 baseline requests for a canary at λ req/s,
 * and each request fails independently with its side's rate (the batch's
 * failures are drawn Binomial). The test sees one update per batch, as
 * rollguard's analysis trigger sees one per `every`; the fixed-interval
 * checker sees the same requests summed per minute.
 *
 *   detect-bench [--runs N] [--healthy N] [--horizon-min M] [--seed S] */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/sprt.h"

#define BATCH_MS 100
#define LOOK_MS 60000
#define BASE_RATE 0.001
#define SHARE 0.1
#define SUCCESS_MIN 0.99             /* a look fails below 99 % success */
#define CAP_MS (24LL * 3600 * 1000)  /* a healthy test still open after 24 h is "undecided" */

static const int canary_rps[] = { 10, 100, 1000 };
static const double bad_rates[] = { 0.02, 0.05 };
#define N_RPS (sizeof canary_rps / sizeof *canary_rps)
#define N_BAD (sizeof bad_rates / sizeof *bad_rates)

/* ---- seeded randomness: xoshiro256**, seeded through splitmix64 ---------------- */

typedef struct rng {
	uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static void rng_seed(rng *g, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		g->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng *g)
{
	uint64_t *s = g->s, r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

static double rng_unit(rng *g) /* [0, 1) */
{
	return (double)(rng_next(g) >> 11) / 9007199254740992.0;
}

/* ---- one side of the stream: n requests a batch, each bad with p ----------------- */

typedef struct side {
	uint64_t n;
	double p0;    /* P(no bad request in a batch) = (1 − p)^n */
	double odds;  /* p / (1 − p) */
} side;

static side side_make(uint64_t n, double p)
{
	return (side){ .n = n, .p0 = exp((double)n * log1p(-p)), .odds = p / (1.0 - p) };
}

/* Binomial(n, p) by inversion: walk the distribution from 0 until it passes
 * a uniform draw. Exact, and about 1 + n·p steps (n·p ≤ 5 here). */
static uint64_t side_draw(rng *g, const side *sd)
{
	double u = rng_unit(g), pk = sd->p0, cdf = pk;
	uint64_t k = 0;
	while (u >= cdf && k < sd->n) {
		pk *= (double)(sd->n - k) / (double)(k + 1) * sd->odds;
		k++;
		cdf += pk;
		if (pk == 0)
			break;
	}
	return k;
}

typedef struct stream {
	int rps;             /* canary requests per second */
	double canary_rate;
	side canary, base;
} stream;

static stream stream_make(int rps, double canary_rate)
{
	uint64_t nc = (uint64_t)rps * BATCH_MS / 1000;
	return (stream){ .rps = rps, .canary_rate = canary_rate, .canary = side_make(nc, canary_rate),
			 .base = side_make(9 * nc, BASE_RATE) };
}

/* ---- the fixed-interval checker: one look a minute --------------------------------- */

typedef struct looker {
	uint64_t requests, errors;  /* this minute's canary figures */
	int failed;                 /* failed looks so far */
	int64_t first_ms, fifth_ms; /* when the 1st / 5th look failed; −1: not yet */
} looker;

static void looker_add(looker *l, int64_t now_ms, uint64_t requests, uint64_t errors)
{
	l->requests += requests;
	l->errors += errors;
	if (now_ms % LOOK_MS != 0)
		return;
	double success = l->requests ? 1.0 - (double)l->errors / (double)l->requests : 1.0;
	if (success < SUCCESS_MIN) {
		l->failed++;
		if (l->failed == 1)
			l->first_ms = now_ms;
		if (l->failed == 5)
			l->fifth_ms = now_ms;
	}
	l->requests = l->errors = 0;
}

/* ---- one simulated canary ------------------------------------------------------------ */

#define MAX_TESTS 6

typedef struct outcome {
	rg_sprt_verdict verdict[MAX_TESTS];
	int64_t decided_ms[MAX_TESTS];   /* −1: undecided at the cap */
	int64_t first_ms, fifth_ms;      /* fixed-interval checker; −1: not within the horizon */
} outcome;

/* Feeds one stream to n tests and the looker until every test has decided
 * and the looker has fired twice or the horizon has passed. */
static void simulate(rng *g, const stream *st, const rg_sprt_opts *opts, int n, int64_t horizon_ms,
		     outcome *out)
{
	rg_sprt t[MAX_TESTS];
	int open = n;
	for (int i = 0; i < n; i++) {
		if (!rg_sprt_init(&t[i], &opts[i]))
			abort();
		out->decided_ms[i] = -1;
		out->verdict[i] = RG_SPRT_CONTINUE;
	}
	looker l = { .first_ms = -1, .fifth_ms = -1 };
	for (int64_t now = BATCH_MS; now <= CAP_MS; now += BATCH_MS) {
		uint64_t kc = side_draw(g, &st->canary), kb = side_draw(g, &st->base);
		for (int i = 0; i < n; i++) {
			if (t[i].verdict != RG_SPRT_CONTINUE)
				continue;
			if (rg_sprt_update(&t[i], st->canary.n, kc, st->base.n, kb) != RG_SPRT_CONTINUE) {
				out->verdict[i] = t[i].verdict;
				out->decided_ms[i] = now;
				open--;
			}
		}
		if (now <= horizon_ms)
			looker_add(&l, now, st->canary.n, kc);
		if (open == 0 && (l.fifth_ms >= 0 || now >= horizon_ms))
			break;
	}
	out->first_ms = l.first_ms;
	out->fifth_ms = l.fifth_ms;
}

/* ---- figures --------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

typedef struct summary {
	int n;              /* samples (detections) */
	double mean, p95;   /* seconds */
} summary;

static summary summarise(double *v, int n)
{
	summary s = { .n = n };
	if (n == 0)
		return s;
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += v[i];
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	s.mean = sum / n;
	int rank = (int)ceil(0.95 * n); /* nearest rank */
	s.p95 = v[(rank < 1 ? 1 : rank) - 1];
	return s;
}

/* The one-sided 99.9 % binomial bound on an observed rate when the true
 * rate is p (normal approximation): what the observed false-alarm rate may
 * reach by chance alone when the real one is exactly Wald's bound. */
static double noise_bound(double p, int n)
{
	return p + 3.09 * sqrt(p * (1.0 - p) / n);
}

static void fmt_time(char *buf, size_t size, const summary *s, bool with_p95)
{
	if (s->n == 0)
		snprintf(buf, size, "%s", "-");
	else if (with_p95)
		snprintf(buf, size, "%.2f", s->p95);
	else
		snprintf(buf, size, "%.2f", s->mean);
}

/* ---- the bad canaries: time to detect -------------------------------------------------- */

typedef struct tally {
	int rows, within;   /* rows meeting "mean ≤ 2 × Wald" */
	int batch_bound;    /* rows where Wald's figure is shorter than one batch */
	double design;      /* mean canary requests to detect 5 % at 10 req/s, R = 50 */
} tally;

/* Times to detect of one row's runs, in seconds: the two tests, then the
 * fixed-interval checker's first and fifth failed look. */
typedef struct samples {
	double *t[4];
	int n[4];
} samples;

/* One SPRT line of the table, and its share of the targets. */
static void sprt_line(const rg_sprt_opts *o, double rc, int rps, samples *sm, int k, int runs,
		      tally *ty)
{
	summary s = summarise(sm->t[k], sm->n[k]);
	double wald = rg_sprt_expected_canary_requests(o, rc, BASE_RATE, SHARE) / rps;
	double ratio = s.n ? s.mean / wald : NAN;
	bool within = ratio <= 2.0, batch = !within && wald < BATCH_MS / 1000.0;
	ty->rows++;
	ty->within += within;
	ty->batch_bound += batch;
	if (rc == 0.05 && rps == 10 && o->min_effect == 50)
		ty->design = s.mean * rps;
	printf("%6.1f%% %6d %5g %5d/%-4d %8.2f %8.2f %8.3f %10.2f %9s\n", rc * 100, rps, o->min_effect,
	       sm->n[k], runs, s.mean, s.p95, wald, ratio, within ? "yes" : batch ? "batch*" : "no");
}

/* One (canary rate, req/s) row: runs streams through both tests and the
 * fixed-interval checker, prints the tests' lines and leaves the checker's
 * line in fixed (printed in its own table). */
static void bad_row(int runs, int64_t horizon_ms, uint64_t seed, int row, double rc, int rps,
		    samples *sm, tally *ty, char *fixed, size_t size)
{
	stream st = stream_make(rps, rc);
	rg_sprt_opts o[2] = { { .alpha = 0.01, .beta = 0.01, .min_effect = 2 },
			      { .alpha = 0.01, .beta = 0.01, .min_effect = rc / BASE_RATE } };
	memset(sm->n, 0, sizeof sm->n);
	for (int i = 0; i < runs; i++) {
		rng g;
		rng_seed(&g, seed ^ ((uint64_t)row << 32) ^ (uint64_t)i);
		outcome oc;
		simulate(&g, &st, o, 2, horizon_ms, &oc);
		for (int k = 0; k < 2; k++)
			if (oc.verdict[k] == RG_SPRT_FAIL)
				sm->t[k][sm->n[k]++] = (double)oc.decided_ms[k] / 1000.0;
		if (oc.first_ms >= 0)
			sm->t[2][sm->n[2]++] = (double)oc.first_ms / 1000.0;
		if (oc.fifth_ms >= 0)
			sm->t[3][sm->n[3]++] = (double)oc.fifth_ms / 1000.0;
	}
	for (int k = 0; k < 2; k++)
		sprt_line(&o[k], rc, rps, sm, k, runs, ty);
	summary f1 = summarise(sm->t[2], sm->n[2]), f5 = summarise(sm->t[3], sm->n[3]);
	char m1[16], p1[16], m5[16], p5[16];
	fmt_time(m1, sizeof m1, &f1, false);
	fmt_time(p1, sizeof p1, &f1, true);
	fmt_time(m5, sizeof m5, &f5, false);
	fmt_time(p5, sizeof p5, &f5, true);
	snprintf(fixed, size, "%6.1f%% %6d %5d/%-4d %8s %8s %5d/%-4d %8s %8s", rc * 100, rps, f1.n, runs,
		 m1, p1, f5.n, runs, m5, p5);
}

static void bad_canaries(int runs, int64_t horizon_ms, uint64_t seed, tally *ty)
{
	samples sm;
	for (int k = 0; k < 4; k++)
		if (!(sm.t[k] = malloc(sizeof(double) * (size_t)runs)))
			abort();
	printf("Bad canaries: time to detect, %d runs per row, alpha = beta = 0.01\n", runs);
	printf("%-7s %6s %5s %10s %8s %8s %8s %10s %9s\n", "canary", "req/s", "R", "detected",
	       "mean_s", "p95_s", "wald_s", "mean/wald", "<=2x");
	char fixed[N_BAD * N_RPS][160];
	int row = 0;
	for (size_t b = 0; b < N_BAD; b++)
		for (size_t r = 0; r < N_RPS; r++, row++)
			bad_row(runs, horizon_ms, seed, row, bad_rates[b], canary_rps[r], &sm, ty,
				fixed[row], sizeof fixed[row]);

	rg_sprt_opts tuned = { .alpha = 0.01, .beta = 0.01, .min_effect = 50 };
	printf("DESIGN §4 check (5 %% vs 0.1 %%, R = 50, 10 req/s): simulated mean %.1f canary requests\n"
	       "to detect (Wald %.1f, which leaves out the overshoot and the batching)\n",
	       ty->design, rg_sprt_expected_canary_requests(&tuned, 0.05, BASE_RATE, SHARE));
	printf("\nSame streams, fixed-interval checker: one look a minute at the canary's success rate\n"
	       "over that minute, failed below %g %%; 'detected' = rolled back within %lld min\n",
	       SUCCESS_MIN * 100, (long long)(horizon_ms / 60000));
	printf("%-7s %6s | %-28s | %-28s\n", "", "", "after 1 failed look", "after 5 failed looks");
	printf("%-7s %6s %10s %8s %8s %10s %8s %8s\n", "canary", "req/s", "detected", "mean_s", "p95_s",
	       "detected", "mean_s", "p95_s");
	for (int i = 0; i < row; i++)
		printf("%s\n", fixed[i]);
	for (int k = 0; k < 4; k++)
		free(sm.t[k]);
}

/* ---- healthy canaries: false alarms ------------------------------------------------------- */

static const double fa_alpha[] = { 0.01, 0.05 };
static const double fa_R[] = { 2, 20, 50 };
#define N_FA (sizeof fa_alpha / sizeof *fa_alpha * (sizeof fa_R / sizeof *fa_R))

typedef struct fa_count {
	int fails, passes, undecided;
	double pass_s;  /* summed time to pass */
} fa_count;

static bool healthy_canaries(int runs, int64_t horizon_ms, uint64_t seed)
{
	rg_sprt_opts o[N_FA];
	size_t n = 0;
	for (size_t a = 0; a < sizeof fa_alpha / sizeof *fa_alpha; a++)
		for (size_t r = 0; r < sizeof fa_R / sizeof *fa_R; r++)
			o[n++] = (rg_sprt_opts){ .alpha = fa_alpha[a], .beta = fa_alpha[a], .min_effect = fa_R[r] };
	fa_count all[N_FA];
	memset(all, 0, sizeof all);
	int fixed1_all = 0, fixed5_all = 0;

	printf("\nHealthy canaries (canary 0.1 %% = baseline): false alarms, %d runs per req/s, each\n"
	       "test run to its decision (at most 24 h simulated); beta = alpha\n", runs);
	printf("%6s %6s %5s %12s %8s %11s %11s %12s\n", "req/s", "alpha", "R", "false_alarms", "rate",
	       "wald_bound", "noise_limit", "mean_pass_s");
	for (size_t r = 0; r < N_RPS; r++) {
		stream st = stream_make(canary_rps[r], BASE_RATE);
		fa_count c[N_FA];
		memset(c, 0, sizeof c);
		int fixed1 = 0, fixed5 = 0;
		for (int i = 0; i < runs; i++) {
			rng g;
			rng_seed(&g, seed ^ (UINT64_C(0xF00D) << 40) ^ ((uint64_t)r << 32) ^ (uint64_t)i);
			outcome oc;
			simulate(&g, &st, o, (int)N_FA, horizon_ms, &oc);
			for (size_t k = 0; k < N_FA; k++) {
				c[k].fails += oc.verdict[k] == RG_SPRT_FAIL;
				c[k].undecided += oc.verdict[k] == RG_SPRT_CONTINUE;
				if (oc.verdict[k] == RG_SPRT_PASS) {
					c[k].passes++;
					c[k].pass_s += (double)oc.decided_ms[k] / 1000.0;
				}
			}
			fixed1 += oc.first_ms >= 0;
			fixed5 += oc.fifth_ms >= 0;
		}
		for (size_t k = 0; k < N_FA; k++) {
			double a = o[k].alpha, wald = a / (1 - o[k].beta);
			printf("%6d %6g %5g %7d/%-4d %8.4f %11.4f %11.4f %12.1f%s\n", canary_rps[r], a,
			       o[k].min_effect, c[k].fails, runs, (double)c[k].fails / runs, wald,
			       noise_bound(wald, runs), c[k].passes ? c[k].pass_s / c[k].passes : NAN,
			       c[k].undecided ? "  (some undecided)" : "");
			all[k].fails += c[k].fails;
			all[k].undecided += c[k].undecided;
		}
		printf("%6d fixed-interval checker within %lld min: after 1 failed look %d/%d, after 5 %d/%d\n",
		       canary_rps[r], (long long)(horizon_ms / 60000), fixed1, runs, fixed5, runs);
		fixed1_all += fixed1;
		fixed5_all += fixed5;
	}

	int total = runs * (int)N_RPS;
	bool ok = true;
	printf("\nFalse alarms pooled over the %d healthy canaries (the test is conditional on events,\n"
	       "so the canary's request rate changes only how long it takes, not how often it fails):\n",
	       total);
	for (size_t k = 0; k < N_FA; k++) {
		double a = o[k].alpha, rate = (double)all[k].fails / total;
		double limit = noise_bound(a / (1 - o[k].beta), total);
		const char *verdict = rate <= a ? "<= alpha: yes" : rate <= limit ? "within noise" : "NO";
		ok = ok && rate <= limit;
		printf("  alpha %-5g R %-3g %5d/%d = %.4f   %s\n", a, o[k].min_effect, all[k].fails, total,
		       rate, verdict);
	}
	printf("  fixed-interval checker: after 1 failed look %d/%d, after 5 failed looks %d/%d\n",
	       fixed1_all, total, fixed5_all, total);
	return ok;
}

/* ---- main ------------------------------------------------------------------------------------- */

static long arg_long(int argc, char **argv, int *i, const char *name)
{
	if (*i + 1 >= argc) {
		fprintf(stderr, "detect-bench: %s needs a value\n", name);
		exit(2);
	}
	char *end;
	long v = strtol(argv[++*i], &end, 10);
	if (*end || v <= 0) {
		fprintf(stderr, "detect-bench: invalid %s '%s'\n", name, argv[*i]);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	int runs = 1000, healthy = 1000;
	int64_t horizon_ms = 30LL * 60000;
	uint64_t seed = 20240601;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--runs"))
			runs = (int)arg_long(argc, argv, &i, "--runs");
		else if (!strcmp(argv[i], "--healthy"))
			healthy = (int)arg_long(argc, argv, &i, "--healthy");
		else if (!strcmp(argv[i], "--horizon-min"))
			horizon_ms = arg_long(argc, argv, &i, "--horizon-min") * 60000LL;
		else if (!strcmp(argv[i], "--seed"))
			seed = (uint64_t)arg_long(argc, argv, &i, "--seed");
		else {
			fprintf(stderr, "usage: detect-bench [--runs N] [--healthy N] [--horizon-min M] [--seed S]\n");
			return 2;
		}
	}

	printf("detect bench: baseline %.1f %% errors, canary share %.0f %% (split 10/90), canary at\n"
	       "10 / 100 / 1000 req/s (total 10x), one test update per %d ms batch; seed %llu\n",
	       BASE_RATE * 100, SHARE * 100, BATCH_MS, (unsigned long long)seed);
	printf("SPRT R (min_effect): 2 = rollguard's default, and tuned to the effect = canary rate / "
	       "baseline rate (20 for 2 %%, 50 for 5 %%)\n");
	rg_sprt_opts d50 = { .alpha = 0.01, .beta = 0.01, .min_effect = 50 };
	rg_sprt_opts d2 = { .alpha = 0.01, .beta = 0.01, .min_effect = 2 };
	printf("Wald's ASN for DESIGN §4 (5 %% vs 0.1 %%, 10/90, alpha = beta = 0.01): %.1f canary requests "
	       "at R = 50, %.1f at R = 2\n\n",
	       rg_sprt_expected_canary_requests(&d50, 0.05, BASE_RATE, SHARE),
	       rg_sprt_expected_canary_requests(&d2, 0.05, BASE_RATE, SHARE));

	tally ty = { 0 };
	bad_canaries(runs, horizon_ms, seed, &ty);
	bool fa_ok = healthy_canaries(healthy, horizon_ms, seed);

	printf("\nTargets\n");
	printf("  mean time to detect within 2x Wald's ASN: %d/%d rows\n", ty.within, ty.rows);
	if (ty.batch_bound)
		printf("    and %d more row(s) marked batch*: Wald's ASN is shorter than one %d ms batch,\n"
		       "    the earliest a decision can come, so the batch bounds the time there\n",
		       ty.batch_bound, BATCH_MS);
	printf("  false alarms <= alpha (Wald: <= alpha/(1-beta), up to binomial noise): %s\n",
	       fa_ok ? "met" : "NOT met");
	return ty.within + ty.batch_bound == ty.rows && fa_ok ? 0 : 1;
}
