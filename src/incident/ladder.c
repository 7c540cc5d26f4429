/* ladder.c — the escalation ladder's arithmetic (ladder.h). Pure: no I/O,
 * no clock; the caller passes now. */
#include "incident/ladder.h"

#include <string.h>

bool rg_ladder_escalates(const rg_incident_cfg *ic, const char *kind, const char *severity)
{
	for (size_t i = 0; i < ic->n_escalate; i++) {
		const char *w = ic->escalate[i];
		if (w && ((kind && strcmp(w, kind) == 0) || (severity && strcmp(w, severity) == 0)))
			return true;
	}
	return false;
}

int64_t rg_ladder_next_at(const rg_incident_cfg *ic, int64_t start, int level)
{
	if (level < 0 || (size_t)level >= ic->n_levels)
		return 0;
	int64_t at = start + ic->levels[level].after_ms;
	return at > 0 ? at : 1;   /* 0 means "none" */
}

int64_t rg_ladder_start_at(const rg_incident_cfg *ic, int first, int64_t now, int *level_before)
{
	if (first > (int)ic->n_levels)
		first = (int)ic->n_levels;
	if (first < 1)
		first = 1;
	*level_before = first - 1;
	return ic->n_levels ? now - ic->levels[first - 1].after_ms : now;
}

int rg_ladder_level_at(const rg_incident_cfg *ic, int64_t start, int level, int64_t now)
{
	while ((size_t)level < ic->n_levels && start + ic->levels[level].after_ms <= now)
		level++;
	return level;
}
