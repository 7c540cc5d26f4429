/* rule.c — one threshold rule over time: "value above X (or below Y) for D"
 * (see rule.h). Pure state machine fed by the caller's evaluations. It must
 * never count missing data as healthy unless the rule says on_no_data: fire
 * is off and the data is simply ignored. */
#include "analysis/rule.h"

#include <math.h>
#include <stdio.h>

#include "util/duration.h"

void rg_rule_init(rg_rule *r, const rg_rule_opts *o)
{
	/* o may point into r (a re-arm with the rule's own options). */
	rg_rule_opts copy = *o;
	*r = (rg_rule){ .o = copy, .breaching = false, .since_ms = 0, .last = NAN,
			.last_had_data = false };
}

static bool breached(const rg_rule_opts *o, double v)
{
	return (o->has_above && v > o->above) || (o->has_below && v < o->below);
}

/* The breach clock starts at the first breaching evaluation, not at the
 * one before it: a rule evaluated every 10 s with `for: 30s` fires on the
 * fourth breaching evaluation in a row (0, 10, 20, 30 s), and `for: 0`
 * fires on the first. Anything that is not a breach (a value within
 * bounds, or no data when it is ignored) stops the clock; the next breach
 * starts it again. A NaN value is no data, never a value within bounds. */
rg_rule_verdict rg_rule_eval(rg_rule *r, int64_t now_ms, bool has_value, double value)
{
	if (has_value && isnan(value))
		has_value = false;
	r->last_had_data = has_value;
	bool breach;
	if (has_value) {
		r->last = value;
		breach = breached(&r->o, value);
	} else if (r->o.fire_on_no_data) {
		breach = true;
	} else {
		r->breaching = false;
		return RG_RULE_NO_DATA;
	}
	if (!breach) {
		r->breaching = false;
		return RG_RULE_OK;
	}
	if (!r->breaching) {
		r->breaching = true;
		r->since_ms = now_ms;
	}
	/* A clock that went back (a caller's bug) counts as no time held. */
	int64_t held = now_ms > r->since_ms ? now_ms - r->since_ms : 0;
	int64_t need = r->o.for_ms > 0 ? r->o.for_ms : 0;
	return held >= need ? RG_RULE_FIRE : RG_RULE_PENDING;
}

/* "error_rate > 0.01 for 3m", "latency_p99 > 500 or < 1", "query < 5 for 1m
 * (no data fires)": the threshold as configured, with the numbers in %g
 * (units are the caller's, as for the value). */
void rg_rule_describe(const rg_rule_opts *o, const char *metric, char *out, size_t size)
{
	if (!out || size == 0)
		return;
	char bounds[96] = "", dur[32] = "";
	if (o->has_above && o->has_below)
		snprintf(bounds, sizeof bounds, " > %g or < %g", o->above, o->below);
	else if (o->has_above)
		snprintf(bounds, sizeof bounds, " > %g", o->above);
	else if (o->has_below)
		snprintf(bounds, sizeof bounds, " < %g", o->below);
	else
		snprintf(bounds, sizeof bounds, " (no threshold)");
	if (o->for_ms > 0) {
		char d[24];
		rg_duration_format(o->for_ms, d, sizeof d);
		snprintf(dur, sizeof dur, " for %s", d);
	}
	snprintf(out, size, "%s%s%s%s", metric && *metric ? metric : "value", bounds, dur,
		 o->fire_on_no_data ? " (no data fires)" : "");
}
