/* ladder.h — the arithmetic of the escalation ladder (pure): which
 * incidents climb, when each level is due, where a climb that starts at a
 * later level begins. Level k (1-based) is due at start + after(k); an
 * incident that has notified `level` levels waits for level + 1. */
#ifndef RG_INCIDENT_LADDER_H
#define RG_INCIDENT_LADDER_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"

/* Whether an incident of kind and severity climbs (incident.escalate names
 * either). */
bool rg_ladder_escalates(const rg_incident_cfg *ic, const char *kind, const char *severity);
/* When the level after `level` is due; 0 when the ladder has no more. */
int64_t rg_ladder_next_at(const rg_incident_cfg *ic, int64_t start, int level);
/* The start of a climb whose level `first` (1-based, clamped to the ladder)
 * is due at now; *level_before is what has been notified before it. */
int64_t rg_ladder_start_at(const rg_incident_cfg *ic, int first, int64_t now, int *level_before);
/* How many levels are notified at now on a ladder started at start: the
 * levels due, in order, never fewer than `level`. */
int rg_ladder_level_at(const rg_incident_cfg *ic, int64_t start, int level, int64_t now);

#endif
