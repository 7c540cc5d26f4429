/* transitions.c — which run state may follow which.
 * Self-transitions (running → running) record progress inside a state, e.g.
 * the next step starting; they are listed explicitly like the others. */
#include "engine/transitions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const rg_transition_table[][2] = {
	{ "queued",            "running rolling_back failed aborted" },
	{ "running",           "running paused monitoring rolling_back awaiting_approval failed aborted" },
	{ "paused",            "running rolling_back awaiting_approval failed aborted" },
	{ "awaiting_approval", "running monitoring rolling_back aborted" },
	{ "monitoring",        "monitoring succeeded rolling_back awaiting_approval aborted "
	                       "rolled_back rollback_failed" },
	{ "rolling_back",      "rolling_back verifying monitoring rolled_back rollback_failed succeeded" },
	{ "verifying",         "verifying monitoring rolled_back rollback_failed succeeded" },
	{ NULL, NULL },
};

static bool word_in(const char *word, const char *list)
{
	size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)) != NULL; p += n) {
		bool starts = p == list || p[-1] == ' ';
		bool ends = p[n] == '\0' || p[n] == ' ';
		if (starts && ends)
			return true;
	}
	return false;
}

bool rg_transition_allowed(const char *from, const char *to)
{
	for (size_t i = 0; rg_transition_table[i][0]; i++)
		if (strcmp(rg_transition_table[i][0], from) == 0)
			return word_in(to, rg_transition_table[i][1]);
	return false; /* terminal states have no way out */
}

void rg_transition_assert(const char *from, const char *to)
{
	if (rg_transition_allowed(from, to))
		return;
	fprintf(stderr, "rollguard: BUG: run transition %s -> %s is not allowed\n", from, to);
	abort();
}
