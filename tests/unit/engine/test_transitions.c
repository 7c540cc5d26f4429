/* Unit tests for the run state transition table. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "engine/transitions.h"

Test(transitions, happy_path_of_a_deploy)
{
	cr_assert(rg_transition_allowed_names("queued", "running"));
	cr_assert(rg_transition_allowed_names("running", "running"));
	cr_assert(rg_transition_allowed_names("running", "monitoring"));
	cr_assert(rg_transition_allowed_names("monitoring", "succeeded"));
}

Test(transitions, the_way_back)
{
	cr_assert(rg_transition_allowed_names("running", "rolling_back"));
	cr_assert(rg_transition_allowed_names("monitoring", "rolling_back"));
	cr_assert(rg_transition_allowed_names("rolling_back", "verifying"));
	cr_assert(rg_transition_allowed_names("verifying", "monitoring"));
	cr_assert(rg_transition_allowed_names("monitoring", "rolled_back"));
	cr_assert(rg_transition_allowed_names("rolling_back", "rollback_failed"));
	cr_assert(rg_transition_allowed_names("queued", "rolling_back"), "manual rollback starts here");
}

Test(transitions, terminal_states_have_no_way_out)
{
	const char *terminal[] = { "succeeded", "failed", "rolled_back", "rollback_failed", "aborted" };
	const char *any[] = { "queued", "running", "monitoring", "rolling_back", "succeeded" };
	for (size_t i = 0; i < 5; i++)
		for (size_t k = 0; k < 5; k++)
			cr_assert_not(rg_transition_allowed_names(terminal[i], any[k]), "%s -> %s", terminal[i], any[k]);
}

Test(transitions, forbidden_shortcuts)
{
	cr_assert_not(rg_transition_allowed_names("queued", "succeeded"));
	cr_assert_not(rg_transition_allowed_names("running", "succeeded"), "must pass the monitor window");
	cr_assert_not(rg_transition_allowed_names("rolling_back", "running"), "no way forward from a rollback");
	cr_assert_not(rg_transition_allowed_names("rolling_back", "aborted"), "a rollback is not abortable");
	cr_assert_not(rg_transition_allowed_names("running", "runn"), "whole words only");
	cr_assert_not(rg_transition_allowed_names("nonsense", "running"));
}

Test(transitions, assert_aborts_on_a_bad_transition, .signal = SIGABRT)
{
	rg_transition_assert(RG_RUN_SUCCEEDED, RG_RUN_RUNNING);
}

/* docs/ARCHITECTURE.md shows the table; it must be the table in the code.
 * Rows look like "| from | to, to, … |" or "| a, b, c | (terminal) |". */
static void doc_row(char *line, bool doc[RG_RUN_STATE_COUNT][RG_RUN_STATE_COUNT], int *rows)
{
	char *from = strtok(line + 1, "|"), *to = strtok(NULL, "|");
	if (!from || !to)
		return;
	rg_run_state f[RG_RUN_STATE_COUNT];
	int nf = 0;
	for (char *name = strtok(from, ", "); name; name = strtok(NULL, ", "))
		if (rg_run_state_parse(name, &f[nf]))
			nf++;
	if (nf == 0)
		return;   /* the header */
	(*rows)++;
	char *save = NULL;
	for (char *name = strtok_r(to, ", ", &save); name; name = strtok_r(NULL, ", ", &save)) {
		rg_run_state t;
		if (strcmp(name, "(terminal)") == 0)
			continue;
		cr_assert(rg_run_state_parse(name, &t), "docs/ARCHITECTURE.md names no state '%s'", name);
		for (int i = 0; i < nf; i++)
			doc[f[i]][t] = true;
	}
}

Test(transitions, the_architecture_doc_shows_the_table_in_the_code)
{
	FILE *fp = fopen("docs/ARCHITECTURE.md", "r");
	cr_assert_not_null(fp, "run the unit tests from the repository's top directory");
	bool doc[RG_RUN_STATE_COUNT][RG_RUN_STATE_COUNT] = { { false } };
	char line[512];
	bool in_table = false;
	int rows = 0;
	while (fgets(line, sizeof line, fp)) {
		if (strstr(line, "### Allowed transitions"))
			in_table = true;
		else if (in_table && strncmp(line, "###", 3) == 0)
			break;
		else if (in_table && line[0] == '|' && !strstr(line, "---"))
			doc_row(line, doc, &rows);
	}
	fclose(fp);
	cr_assert_gt(rows, 5, "no transition table found in docs/ARCHITECTURE.md");
	for (int f = 0; f < RG_RUN_STATE_COUNT; f++)
		for (int t = 0; t < RG_RUN_STATE_COUNT; t++)
			cr_assert_eq(doc[f][t], rg_transition_allowed((rg_run_state)f, (rg_run_state)t),
				     "%s -> %s: docs/ARCHITECTURE.md says %s, the code %s",
				     rg_run_state_name((rg_run_state)f), rg_run_state_name((rg_run_state)t),
				     doc[f][t] ? "allowed" : "not allowed",
				     doc[f][t] ? "not" : "does");
}
