/* test_config_incident.c — `escalation:`, `incident:` and the loop guard's
 * keys of `actions:`: the runbooks' defaults, the ladder as written, and
 * the problems reported at their positions. */
#include <criterion/criterion.h>
#include <string.h>

#include "config/config.h"

#include "../support/config_load.h"

TestSuite(config_incident, .init = cfg_dir_make, .fini = cfg_dir_remove);

Test(config_incident, defaults_are_the_runbooks)
{
	cfg_loaded L;
	cfg_load_ok(&L, CFG_BASE);
	const rg_incident_cfg *ic = &L.cfg.incident;
	cr_assert_eq(ic->n_levels, 3);
	cr_assert_eq(ic->levels[1].after_ms, 15 * 60 * 1000);
	cr_assert_eq(ic->levels[2].after_ms, 20 * 60 * 1000);
	cr_assert_eq(ic->levels[0].n_to, 0, "the routes decide");
	cr_assert_eq(ic->n_checklist, 12);
	cr_assert_str_eq(ic->checklist[0], "Service stability verified (30+ minutes)");
	cr_assert_str_eq(ic->checklist[8], "Post-mortem scheduled");
	cr_assert_eq(ic->n_escalate, 4);
	cr_assert_str_eq(ic->escalate[0], "rollback_failed");
	cr_assert_eq(L.cfg.max_auto_rollbacks, 3);
	cr_assert_eq(L.cfg.loop_window_ms, 3600 * 1000);
	cfg_release(&L);
}

Test(config_incident, ladder_as_written)
{
	cfg_loaded L;
	cfg_load_ok(&L, CFG_BASE
		    "notify:\n"
		    "  channels:\n"
		    "    devops: { run: ./page devops }\n"
		    "    oncall: { run: ./page oncall }\n"
		    "    pager: { run: ./page pager }\n"
		    "escalation:\n"
		    "  - { level: 1, to: [devops], after: 0s }\n"
		    "  - { level: 2, to: [oncall, pager], after: 15m }\n"
		    "incident:\n"
		    "  escalate: [P0, rollback_failed]\n"
		    "  checklist: [one, two]\n"
		    "actions: { max_auto_rollbacks: 5, loop_window: 30m }\n");
	const rg_incident_cfg *ic = &L.cfg.incident;
	cr_assert_eq(ic->n_levels, 2);
	cr_assert_str_eq(ic->levels[1].to[1], "pager");
	cr_assert_eq(ic->n_checklist, 2);
	cr_assert_str_eq(ic->escalate[0], "P0");
	cr_assert_eq(L.cfg.max_auto_rollbacks, 5);
	cr_assert_eq(L.cfg.loop_window_ms, 30 * 60 * 1000);
	cfg_release(&L);
}

Test(config_incident, problems_at_their_keys)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE
		 "escalation:\n"
		 "  - { level: 2, to: [devops], after: 0s }\n"
		 "  - { level: 2, to: ['bad name'], after: 1s, when: x }\n"
		 "incident:\n"
		 "  escalate: [rolback_failed]\n"
		 "  colour: red\n");
	cfg_expect_has(&L, "levels must be 1, 2, 3, … in order (expected 1, got 2)");
	cfg_expect_has(&L, "invalid channel name 'bad name'");
	cfg_expect_has(&L, "'when'");
	cfg_expect_has(&L, "rolback_failed");
	cfg_expect_has(&L, "'colour'");
	cfg_release(&L);
}

Test(config_incident, after_goes_up)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE
		 "escalation:\n"
		 "  - { level: 1, to: [devops], after: 10m }\n"
		 "  - { level: 2, to: [oncall], after: 5m }\n");
	cfg_expect_has(&L, "level 2's 'after' is earlier than level 1's");
	cfg_release(&L);
}

/* A climb's notice must never fail for want of a channel: a level naming
 * one that notify.channels lacks is refused where it is written. */
Test(config_incident, level_names_a_defined_channel)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE
		 "notify:\n"
		 "  channels:\n"
		 "    devops: { run: ./page devops }\n"
		 "escalation:\n"
		 "  - { level: 1, to: [devops], after: 0s }\n"
		 "  - { level: 2, to: [oncal], after: 15m }\n");
	cfg_expect(&L, 13, 22,
		   "unknown channel 'oncal' in an escalation level (define it under notify.channels)");
	cfg_release(&L);
}
