/* transitions.h — the table of allowed run state transitions.
 * Every state change the engine persists is checked against it first; a
 * transition outside the table is a bug and aborts loudly. */
#ifndef RG_TRANSITIONS_H
#define RG_TRANSITIONS_H

#include <stdbool.h>

bool rg_transition_allowed(const char *from, const char *to);
/* Aborts the process when from → to is not in the table. */
void rg_transition_assert(const char *from, const char *to);
/* The table as rows for docs and tests: NULL-terminated list of
 * {from, "to1 to2 …"} pairs. */
extern const char *const rg_transition_table[][2];

#endif
