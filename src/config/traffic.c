/* traffic.c — a `traffic:` step: canary percentages and the backend to shift to.
 * The backend is never written literally: it is an output of an earlier
 * command step ("STEP.KEY"), so a rollback can find the previous one again. */
#include "config/config_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/names.h"

static const char *const traffic_keys[] = { "backend", "steps", "pause", "drain", "retire",
					    "min_requests", "max_pause", "on_insufficient_data", NULL };

/* Long enough for ordinary requests to finish on the old release, short
 * enough that a rollback soon after the shift still finds it registered. */
#define DEFAULT_DRAIN_MS (10 * RG_MS_SECOND)

/* Step names may contain dots, so every earlier step whose name is followed
 * by '.' in ref is a candidate; the longest name wins. */
static const rg_step *output_step(const char *ref, const rg_step *earlier, size_t n)
{
	const rg_step *best = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *name = earlier[i].name;
		size_t len = name ? strlen(name) : 0;
		if (len && !strncmp(ref, name, len) && ref[len] == '.' &&
		    (!best || len > strlen(best->name)))
			best = &earlier[i];
	}
	return best;
}

static void undefined_output(rg_loader *l, const rg_ynode *at, const char *ref,
			     const rg_step *earlier, size_t n)
{
	const char **exec = rg_ld_calloc(l, n + 1, sizeof *exec);
	if (!exec)
		return;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (earlier[i].name && earlier[i].kind == RG_STEP_EXEC)
			exec[k++] = earlier[i].name;
	char step[128];
	snprintf(step, sizeof step, "%.*s", (int)(strrchr(ref, '.') - ref), ref);
	const char *s = rg_suggest(step, exec);
	if (s)
		rg_problem(l, at, "undefined step output '%s' (did you mean step '%s'?)", ref, s);
	else
		rg_problem(l, at, "undefined step output '%s' (no earlier 'run' step is named '%s')",
			   ref, step);
	free(exec);
}

static void load_backend(rg_loader *l, const rg_ynode *v, const rg_step *earlier, size_t n,
			 rg_traffic *t)
{
	if (!rg_ld_require(l, v, "backend", "in traffic") ||
	    !rg_ld_string(l, v, "backend", &t->backend))
		return;
	const rg_ynode *at = rg_ld_value(v, "backend");
	const char *dot = strrchr(t->backend, '.');
	if (!dot || dot == t->backend || !dot[1]) {
		rg_problem(l, at, "invalid backend '%s' (use STEP.KEY: output KEY of an earlier step)",
			   t->backend);
		return;
	}
	const rg_step *s = output_step(t->backend, earlier, n);
	if (!s)
		undefined_output(l, at, t->backend, earlier, n);
	else if (s->kind != RG_STEP_EXEC)
		rg_problem(l, at, "undefined step output '%s' (step '%s' does not run a command)",
			   t->backend, s->name);
	else if (!rg_ident_valid(t->backend + strlen(s->name) + 1))
		rg_problem(l, at, "invalid output key '%s' in backend '%s' (use %s)",
			   t->backend + strlen(s->name) + 1, t->backend, RG_IDENT_RULE);
}

/* A whole percentage, "10" or "10%". */
static bool percent_step(const rg_ynode *item, int *out)
{
	if (item->type != RG_YSCALAR)
		return false;
	const char *s = item->text;
	int v = 0;
	size_t i = 0;
	for (; s[i] >= '0' && s[i] <= '9' && i < 4; i++)
		v = v * 10 + (s[i] - '0');
	if (i == 0 || !(s[i] == '\0' || (s[i] == '%' && s[i + 1] == '\0')))
		return false;
	*out = v;
	return v >= 1 && v <= 100;
}

static void load_steps(rg_loader *l, const rg_ynode *v, rg_traffic *t)
{
	const rg_ynode *seq = rg_ld_value(v, "steps");
	if (!rg_ld_require(l, v, "steps", "in traffic") || !rg_ld_expect(l, seq, RG_YSEQ, "steps"))
		return;
	if (seq->n == 0) {
		rg_problem(l, seq, "'steps' must not be empty");
		return;
	}
	if (!(t->steps = rg_ld_calloc(l, seq->n, sizeof *t->steps)))
		return;
	for (size_t i = 0; i < seq->n; i++) {
		const rg_ynode *item = seq->kids[i];
		int pct;
		if (!percent_step(item, &pct)) {
			char got[128];
			rg_problem(l, item, "traffic steps are whole percentages from 1 to 100 (got %s)",
				   rg_ld_got(item, got, sizeof got));
			continue;
		}
		if (t->n_steps > 0 && pct <= t->steps[t->n_steps - 1]) {
			rg_problem(l, item, "traffic steps must increase (%d after %d)", pct,
				   t->steps[t->n_steps - 1]);
			continue;
		}
		t->steps[t->n_steps++] = pct;
	}
}

void rg_ld_traffic(rg_loader *l, const rg_ynode *v, const rg_step *earlier, size_t n,
		   rg_traffic *t)
{
	if (!rg_ld_expect(l, v, RG_YMAP, "traffic"))
		return;
	rg_ld_check_keys(l, v, "in traffic", traffic_keys);
	load_backend(l, v, earlier, n, t);
	load_steps(l, v, t);
	rg_ld_duration(l, v, "pause", &t->pause_ms);
	t->drain_ms = DEFAULT_DRAIN_MS;
	rg_ld_duration(l, v, "drain", &t->drain_ms);
	rg_ld_string(l, v, "retire", &t->retire);
	rg_ld_evidence(l, v, "max_pause", "pause", t->pause_ms, &t->evidence);
}
