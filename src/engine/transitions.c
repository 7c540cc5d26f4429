/* transitions.c — which run state may follow which.
 * Self-transitions (running → running) record progress inside a state, e.g.
 * the next step starting; they are listed explicitly like the others.
 * docs/ARCHITECTURE.md shows this table; a unit test holds the two equal. */
#include "engine/transitions.h"

#include <stdio.h>
#include <stdlib.h>

#define TO(s) (1u << (s))

static const unsigned next_states[RG_RUN_STATE_COUNT] = {
	[RG_RUN_QUEUED] = TO(RG_RUN_RUNNING) | TO(RG_RUN_ROLLING_BACK) | TO(RG_RUN_FAILED) |
			  TO(RG_RUN_ABORTED) | TO(RG_RUN_AWAITING_APPROVAL),
	[RG_RUN_RUNNING] = TO(RG_RUN_RUNNING) | TO(RG_RUN_PAUSED) | TO(RG_RUN_MONITORING) |
			   TO(RG_RUN_ROLLING_BACK) | TO(RG_RUN_AWAITING_APPROVAL) | TO(RG_RUN_FAILED) |
			   TO(RG_RUN_ABORTED),
	[RG_RUN_PAUSED] = TO(RG_RUN_RUNNING) | TO(RG_RUN_ROLLING_BACK) | TO(RG_RUN_AWAITING_APPROVAL) |
			  TO(RG_RUN_FAILED) | TO(RG_RUN_ABORTED),
	[RG_RUN_AWAITING_APPROVAL] = TO(RG_RUN_AWAITING_APPROVAL) | TO(RG_RUN_RUNNING) |
				     TO(RG_RUN_MONITORING) | TO(RG_RUN_ROLLING_BACK) |
				     TO(RG_RUN_ABORTED) | TO(RG_RUN_ROLLBACK_FAILED),
	[RG_RUN_MONITORING] = TO(RG_RUN_MONITORING) | TO(RG_RUN_SUCCEEDED) | TO(RG_RUN_ROLLING_BACK) |
			      TO(RG_RUN_AWAITING_APPROVAL) | TO(RG_RUN_ABORTED) | TO(RG_RUN_ROLLED_BACK) |
			      TO(RG_RUN_ROLLBACK_FAILED),
	[RG_RUN_ROLLING_BACK] = TO(RG_RUN_ROLLING_BACK) | TO(RG_RUN_VERIFYING) | TO(RG_RUN_MONITORING) |
				TO(RG_RUN_ROLLED_BACK) | TO(RG_RUN_ROLLBACK_FAILED) | TO(RG_RUN_SUCCEEDED) |
				TO(RG_RUN_AWAITING_APPROVAL),
	[RG_RUN_VERIFYING] = TO(RG_RUN_VERIFYING) | TO(RG_RUN_MONITORING) | TO(RG_RUN_ROLLED_BACK) |
			     TO(RG_RUN_ROLLBACK_FAILED) | TO(RG_RUN_SUCCEEDED),
	/* the terminal states have no way out */
};

bool rg_transition_allowed(rg_run_state from, rg_run_state to)
{
	if ((unsigned)from >= RG_RUN_STATE_COUNT || (unsigned)to >= RG_RUN_STATE_COUNT)
		return false;
	return (next_states[from] & TO(to)) != 0;
}

bool rg_transition_allowed_names(const char *from, const char *to)
{
	rg_run_state f, t;
	return rg_run_state_parse(from, &f) && rg_run_state_parse(to, &t) &&
	       rg_transition_allowed(f, t);
}

void rg_transition_assert(rg_run_state from, rg_run_state to)
{
	if (rg_transition_allowed(from, to))
		return;
	fprintf(stderr, "rollguard: BUG: run transition %s -> %s is not allowed\n",
		rg_run_state_name(from), rg_run_state_name(to));
	abort();
}
