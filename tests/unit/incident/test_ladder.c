/* test_ladder.c — the escalation ladder's arithmetic: when each level is
 * due, which levels an overdue climb fires (in order, once), where a climb
 * that starts at level 2 begins, and which incidents climb. */
#include <criterion/criterion.h>

#include "incident/ladder.h"

static rg_escalation_level levels[] = {
	{ .level = 1, .after_ms = 0 },
	{ .level = 2, .after_ms = 2000 },
	{ .level = 3, .after_ms = 7000 },
};
static char *escalate[] = { "rollback_failed", "P0" };
static const rg_incident_cfg ic = { .levels = levels, .n_levels = 3, .escalate = escalate,
				    .n_escalate = 2 };

Test(ladder, next_due)
{
	cr_assert_eq(rg_ladder_next_at(&ic, 1000, 0), 1000);
	cr_assert_eq(rg_ladder_next_at(&ic, 1000, 1), 3000);
	cr_assert_eq(rg_ladder_next_at(&ic, 1000, 2), 8000);
	cr_assert_eq(rg_ladder_next_at(&ic, 1000, 3), 0, "no level after the last");
}

Test(ladder, overdue_levels_fire_in_order_once)
{
	cr_assert_eq(rg_ladder_level_at(&ic, 1000, 0, 1000), 1);
	cr_assert_eq(rg_ladder_level_at(&ic, 1000, 1, 2999), 1);
	cr_assert_eq(rg_ladder_level_at(&ic, 1000, 1, 3000), 2);
	cr_assert_eq(rg_ladder_level_at(&ic, 1000, 0, 60000), 3, "a long outage: every level, once");
	cr_assert_eq(rg_ladder_level_at(&ic, 1000, 3, 60000), 3);
}

Test(ladder, start_at_level_two)
{
	int before = -1;
	int64_t start = rg_ladder_start_at(&ic, 2, 50000, &before);
	cr_assert_eq(before, 1);
	cr_assert_eq(start, 48000);
	cr_assert_eq(rg_ladder_level_at(&ic, start, before, 50000), 2, "level 2 at once, not level 1");
	cr_assert_eq(rg_ladder_next_at(&ic, start, 2), 55000, "level 3 as far after as the ladder says");
	start = rg_ladder_start_at(&ic, 9, 50000, &before);
	cr_assert_eq(before, 2, "clamped to the ladder");
}

Test(ladder, which_climb)
{
	cr_assert(rg_ladder_escalates(&ic, "rollback_failed", "P2"));
	cr_assert(rg_ladder_escalates(&ic, "rollback", "P0"));
	cr_assert_not(rg_ladder_escalates(&ic, "rollback", "P1"));
}
