/* transitions.h — the table of allowed run state transitions.
 * Every state change the engine persists is checked against it first; a
 * transition outside the table is a bug and aborts loudly. */
#ifndef RG_TRANSITIONS_H
#define RG_TRANSITIONS_H

#include <stdbool.h>

#include "store/model.h"

bool rg_transition_allowed(rg_run_state from, rg_run_state to);
/* The same by state names (docs, tests); false for a name that is no state. */
bool rg_transition_allowed_names(const char *from, const char *to);
/* Aborts the process when from → to is not in the table. */
void rg_transition_assert(rg_run_state from, rg_run_state to);

#endif
