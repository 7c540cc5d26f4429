/* rule.h — one threshold rule of the runbooks, evaluated over time:
 * "value above X (or below Y) for D". Pure: the caller evaluates its source
 * every `every` and passes what it got, or no data (the source failed,
 * timed out or had nothing — never treated as healthy unless the config
 * says so). */
#ifndef RG_ANALYSIS_RULE_H
#define RG_ANALYSIS_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rg_rule_opts {
	bool has_above, has_below;
	double above, below;   /* breach: value > above, or value < below */
	int64_t for_ms;        /* the breach must hold this long (0: at once) */
	bool fire_on_no_data;  /* on_no_data: fire (no data counts as a breach);
	                          ignore: no data breaks a breach in progress */
} rg_rule_opts;

typedef enum {
	RG_RULE_OK = 0,     /* within bounds */
	RG_RULE_PENDING,    /* breaching, not yet for long enough */
	RG_RULE_FIRE,       /* breached for at least for_ms: the trigger fires */
	RG_RULE_NO_DATA     /* no data, ignored */
} rg_rule_verdict;

typedef struct rg_rule {
	rg_rule_opts o;
	bool breaching;
	int64_t since_ms;      /* first evaluation of the breach in progress */
	double last;           /* last value seen (NAN when none yet) */
	bool last_had_data;
} rg_rule;

void rg_rule_init(rg_rule *r, const rg_rule_opts *o);
/* now_ms is the evaluation time (any monotonic clock, not going back). */
rg_rule_verdict rg_rule_eval(rg_rule *r, int64_t now_ms, bool has_value, double value);
/* "error_rate 0.052 > 0.01 for 3m" style text of the threshold, for
 * decisions; value formatting is the caller's. */
void rg_rule_describe(const rg_rule_opts *o, const char *metric, char *out, size_t size);

#endif
