/* Unit tests for the run state transition table. */
#include <criterion/criterion.h>
#include <signal.h>

#include "engine/transitions.h"

Test(transitions, happy_path_of_a_deploy)
{
	cr_assert(rg_transition_allowed("queued", "running"));
	cr_assert(rg_transition_allowed("running", "running"));
	cr_assert(rg_transition_allowed("running", "monitoring"));
	cr_assert(rg_transition_allowed("monitoring", "succeeded"));
}

Test(transitions, the_way_back)
{
	cr_assert(rg_transition_allowed("running", "rolling_back"));
	cr_assert(rg_transition_allowed("monitoring", "rolling_back"));
	cr_assert(rg_transition_allowed("rolling_back", "verifying"));
	cr_assert(rg_transition_allowed("verifying", "monitoring"));
	cr_assert(rg_transition_allowed("monitoring", "rolled_back"));
	cr_assert(rg_transition_allowed("rolling_back", "rollback_failed"));
	cr_assert(rg_transition_allowed("queued", "rolling_back"), "manual rollback starts here");
}

Test(transitions, terminal_states_have_no_way_out)
{
	const char *terminal[] = { "succeeded", "failed", "rolled_back", "rollback_failed", "aborted" };
	const char *any[] = { "queued", "running", "monitoring", "rolling_back", "succeeded" };
	for (size_t i = 0; i < 5; i++)
		for (size_t k = 0; k < 5; k++)
			cr_assert_not(rg_transition_allowed(terminal[i], any[k]), "%s -> %s", terminal[i], any[k]);
}

Test(transitions, forbidden_shortcuts)
{
	cr_assert_not(rg_transition_allowed("queued", "succeeded"));
	cr_assert_not(rg_transition_allowed("running", "succeeded"), "must pass the monitor window");
	cr_assert_not(rg_transition_allowed("rolling_back", "running"), "no way forward from a rollback");
	cr_assert_not(rg_transition_allowed("rolling_back", "aborted"), "a rollback is not abortable");
	cr_assert_not(rg_transition_allowed("running", "runn"), "whole words only");
	cr_assert_not(rg_transition_allowed("nonsense", "running"));
}

Test(transitions, assert_aborts_on_a_bad_transition, .signal = SIGABRT)
{
	rg_transition_assert("succeeded", "running");
}
