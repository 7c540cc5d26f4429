/* Unit tests for the rollback planner: order, pipeline, redeploy, JSON. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/planner.h"

static rg_step steps[5];
static rg_config cfg;

static void make_step(int i, const char *name, const char *run, const char *undo)
{
	steps[i] = (rg_step){ .name = (char *)name, .kind = RG_STEP_EXEC, .run = (char *)run,
			      .undo = (char *)undo };
}

static void setup(void)
{
	memset(&cfg, 0, sizeof cfg);
	make_step(0, "validate", "./validate.sh", NULL);
	make_step(1, "infra", "./infra.sh", "./infra-undo.sh");
	make_step(2, "app", "./app.sh", "./app-undo.sh");
	make_step(3, "frontend", "./fe.sh", NULL);
	make_step(4, "switch", "./switch.sh", "./switch-undo.sh");
	cfg.deploy = steps;
	cfg.n_deploy = 5;
}

TestSuite(planner, .init = setup);

Test(planner, automatic_undoes_completed_steps_newest_first)
{
	int completed[] = { 0, 1, 2, 3 };
	rg_plan p;
	cr_assert_eq(rg_plan_automatic(&cfg, completed, 4, "v2", "v1", &p, NULL), RG_OK);
	cr_assert_eq(p.n, 2, "only steps with an undo");
	cr_assert_str_eq(rg_plan_step(&cfg, &p.entries[0])->name, "app");
	cr_assert_str_eq(rg_plan_step(&cfg, &p.entries[1])->name, "infra");
	cr_assert_str_eq(rg_plan_command(&cfg, &p.entries[0]), "./app-undo.sh");
	cr_assert_str_eq(p.removed, "v2");
	cr_assert_str_eq(p.target, "v1");
	rg_plan_release(&p);
}

Test(planner, automatic_with_nothing_completed_is_empty)
{
	rg_plan p;
	cr_assert_eq(rg_plan_automatic(&cfg, NULL, 0, "v2", "", &p, NULL), RG_OK);
	cr_assert_eq(p.n, 0);
	rg_plan_release(&p);
}

Test(planner, pipeline_replaces_undo)
{
	rg_step rb[2] = { { .name = "restore", .kind = RG_STEP_EXEC, .run = "./restore.sh" },
			  { .name = "notify", .kind = RG_STEP_EXEC, .run = "./notify.sh" } };
	cfg.rollback = rb;
	cfg.n_rollback = 2;
	int completed[] = { 0, 1, 2 };
	rg_plan p;
	cr_assert_eq(rg_plan_automatic(&cfg, completed, 3, "v2", "v1", &p, NULL), RG_OK);
	cr_assert_eq(p.n, 2);
	cr_assert_eq(p.entries[0].action, RG_PLAN_PIPELINE);
	cr_assert_str_eq(rg_plan_command(&cfg, &p.entries[0]), "./restore.sh");
	cr_assert_str_eq(rg_plan_command(&cfg, &p.entries[1]), "./notify.sh");
	rg_plan_release(&p);
}

Test(planner, manual_undoes_everything_then_redeploys_steps_without_undo)
{
	rg_plan p;
	cr_assert_eq(rg_plan_manual(&cfg, "production", "v2", "v1", &p, NULL), RG_OK);
	cr_assert_eq(p.n, 5);
	const char *want[] = { "switch", "app", "infra", "validate", "frontend" };
	rg_plan_action acts[] = { RG_PLAN_UNDO, RG_PLAN_UNDO, RG_PLAN_UNDO, RG_PLAN_REDEPLOY,
				  RG_PLAN_REDEPLOY };
	for (int i = 0; i < 5; i++) {
		cr_assert_str_eq(rg_plan_step(&cfg, &p.entries[i])->name, want[i]);
		cr_assert_eq(p.entries[i].action, acts[i]);
	}
	cr_assert_str_eq(rg_plan_command(&cfg, &p.entries[3]), "./validate.sh");
	rg_plan_release(&p);
}

Test(planner, manual_skips_steps_of_other_environments)
{
	char *only[] = { "staging" };
	steps[2].environments = only;
	steps[2].n_environments = 1;
	rg_plan p;
	cr_assert_eq(rg_plan_manual(&cfg, "production", "v2", "v1", &p, NULL), RG_OK);
	for (size_t i = 0; i < p.n; i++)
		cr_assert_str_neq(rg_plan_step(&cfg, &p.entries[i])->name, "app");
	rg_plan_release(&p);
	cr_assert(rg_step_applies(&steps[2], "staging"));
	cr_assert_not(rg_step_applies(&steps[2], "production"));
}

Test(planner, json_round_trip)
{
	rg_plan p, q;
	cr_assert_eq(rg_plan_manual(&cfg, "production", "v2", "v1", &p, NULL), RG_OK);
	json_t *j = rg_plan_to_json(&cfg, &p);
	char *text = json_dumps(j, JSON_COMPACT);
	cr_assert_eq(rg_plan_from_json(&cfg, text, &q, NULL), RG_OK);
	cr_assert_eq(q.n, p.n);
	for (size_t i = 0; i < p.n; i++) {
		cr_assert_eq(q.entries[i].action, p.entries[i].action);
		cr_assert_eq(q.entries[i].step, p.entries[i].step);
	}
	cr_assert_str_eq(q.target, "v1");
	free(text);
	json_decref(j);
	rg_plan_release(&p);
	rg_plan_release(&q);
}

Test(planner, stored_plan_that_no_longer_matches_the_config_is_refused)
{
	rg_error err;
	rg_plan q;
	const char *text = "{\"removed\":\"v2\",\"target\":\"v1\",\"entries\":"
			   "[{\"action\":\"undo\",\"step\":2,\"name\":\"renamed\"}]}";
	cr_assert_eq(rg_plan_from_json(&cfg, text, &q, &err), RG_EINVAL);
	cr_assert(strstr(err.message, "renamed"));
	cr_assert_eq(rg_plan_from_json(&cfg, "{\"removed\":1}", &q, &err), RG_EINVAL);
	const char *range = "{\"removed\":\"v2\",\"target\":\"v1\",\"entries\":"
			    "[{\"action\":\"undo\",\"step\":99,\"name\":\"x\"}]}";
	cr_assert_eq(rg_plan_from_json(&cfg, range, &q, &err), RG_EINVAL);
}

/* ---- schema: downgrade or restore --------------------------------------- */

static rg_backup_cfg bcfg = { .restore = "./restore.sh" };
static rg_migrate_cfg mcfg = { .up = "./up", .down = "./down", .reversible = true };

static void schema_setup(void)
{
	setup();
	steps[0] = (rg_step){ .name = "backup", .kind = RG_STEP_EXEC, .run = "./dump", .backup = &bcfg };
	steps[2] = (rg_step){ .name = "migrate", .kind = RG_STEP_EXEC, .run = "./up", .migrate = &mcfg };
	mcfg.reversible = true;
}

static rg_plan_data data(const char *from, const char *to, int64_t backup)
{
	rg_plan_data d = { .backup_id = backup, .backup_at = 1000 };
	snprintf(d.removed_schema, sizeof d.removed_schema, "%s", from);
	snprintf(d.target_schema, sizeof d.target_schema, "%s", to);
	snprintf(d.backup_step, sizeof d.backup_step, "backup");
	return d;
}

Test(planner, reversible_schema_change_plans_a_downgrade_in_the_migrations_place)
{
	schema_setup();
	int completed[] = { 0, 1, 2, 3, 4 };
	rg_plan p;
	rg_plan_data d = data("s2", "s1", 7);
	cr_assert_eq(rg_plan_automatic(&cfg, completed, 5, "v2", "v1", &p, NULL), RG_OK);
	cr_assert_eq(rg_plan_schema(&cfg, "production", completed, 5, &d, &p, NULL), RG_OK);
	cr_assert_eq(p.n, 3);
	cr_assert_str_eq(rg_plan_step(&cfg, &p.entries[0])->name, "switch");
	cr_assert_eq(p.entries[1].action, RG_PLAN_DOWNGRADE, "after the undo of later steps");
	cr_assert_str_eq(rg_plan_command(&cfg, &p.entries[1]), "./down");
	cr_assert_str_eq(rg_plan_step(&cfg, &p.entries[2])->name, "infra", "before earlier ones");
	cr_assert_str_eq(p.schema_to, "s1");
	cr_assert_eq(p.backup_id, 7, "kept for a failing downgrade");
	cr_assert_eq(rg_plan_restore_index(&p), -1);
	cr_assert(rg_plan_restore_after(&cfg, &p, 1, NULL));
	cr_assert_eq(rg_plan_restore_index(&p), 2, "the restore follows the failed downgrade");
	cr_assert_str_eq(rg_plan_command(&cfg, &p.entries[2]), "./restore.sh");
	rg_plan_release(&p);
}

Test(planner, irreversible_schema_change_plans_the_restore)
{
	schema_setup();
	mcfg.reversible = false;
	int completed[] = { 0, 1, 2 };
	rg_plan p;
	rg_plan_data d = data("s2", "s1", 7);
	cr_assert_eq(rg_plan_automatic(&cfg, completed, 3, "v2", "v1", &p, NULL), RG_OK);
	cr_assert_eq(rg_plan_schema(&cfg, "production", completed, 3, &d, &p, NULL), RG_OK);
	cr_assert_eq(p.entries[0].action, RG_PLAN_RESTORE);
	cr_assert_eq(rg_plan_restore_index(&p), 0);
	json_t *j = rg_plan_to_json(&cfg, &p);
	char *text = json_dumps(j, 0);
	rg_plan back;
	cr_assert_eq(rg_plan_from_json(&cfg, text, &back, NULL), RG_OK);
	cr_assert_eq(back.backup_id, 7);
	cr_assert_str_eq(back.schema_from, "s2");
	cr_assert_eq(back.entries[0].action, RG_PLAN_RESTORE);
	free(text);
	json_decref(j);
	rg_plan_release(&back);
	rg_plan_release(&p);
	mcfg.reversible = true;
}

Test(planner, same_or_unknown_schema_or_no_migration_plans_nothing_more)
{
	schema_setup();
	int completed[] = { 0, 1 };   /* the migration did not complete */
	rg_plan p;
	rg_plan_data d = data("s2", "s1", 7);
	cr_assert_eq(rg_plan_automatic(&cfg, completed, 2, "v2", "v1", &p, NULL), RG_OK);
	size_t n = p.n;
	cr_assert_eq(rg_plan_schema(&cfg, "production", completed, 2, &d, &p, NULL), RG_OK);
	cr_assert_eq(p.n, n);
	d = data("s1", "s1", 7);
	cr_assert_eq(rg_plan_schema(&cfg, "production", NULL, 0, &d, &p, NULL), RG_OK);
	cr_assert_eq(p.n, n, "same schema");
	d = data("s2", "", 7);
	cr_assert_eq(rg_plan_schema(&cfg, "production", NULL, 0, &d, &p, NULL), RG_OK);
	cr_assert_eq(p.n, n, "target's schema unknown");
	mcfg.reversible = false;
	d = data("s2", "s1", 0);
	cr_assert_eq(rg_plan_schema(&cfg, "production", NULL, 0, &d, &p, NULL), RG_OK);
	cr_assert_eq(p.n, n, "irreversible without a backup: nothing to restore");
	mcfg.reversible = true;
	rg_plan_release(&p);
}

Test(planner, manual_never_reruns_a_migration)
{
	schema_setup();
	rg_plan p;
	cr_assert_eq(rg_plan_manual(&cfg, "production", "v2", "v1", &p, NULL), RG_OK);
	for (size_t i = 0; i < p.n; i++)
		cr_assert_str_neq(rg_plan_step(&cfg, &p.entries[i])->name, "migrate");
	rg_plan_release(&p);
}
