/* test_config_approvals.c — an environment's `approvals:` gates and the
 * authority matrix in `actions:`: defaults, the map form of an action, and
 * the rules checked at their file positions (P0 never waits; a gate cannot
 * need more approvals than the people it names). */
#include <criterion/criterion.h>
#include <string.h>

#include "config/config.h"

#include "../support/config_load.h"

TestSuite(config_approvals, .init = cfg_dir_make, .fini = cfg_dir_remove);

#define GATED                                                                                  \
	"service: shop\n"                                                                      \
	"environments:\n"                                                                      \
	"  staging: {}\n"                                                                      \
	"  production:\n"                                                                      \
	"    approvals:\n"                                                                     \
	"      deploy:   { required: 2, from: [approver], wait: 5m, timeout: 48h }\n"          \
	"      rollback: { required: 1, from: [approver, lead], timeout: 1h }\n"              \
	"deploy:\n"                                                                            \
	"  - name: app\n"                                                                      \
	"    run: ./app\n"

Test(config_approvals, gates_as_written)
{
	cfg_loaded L;
	cfg_load_ok(&L, GATED);
	const rg_env *p = rg_config_env(&L.cfg, "production");
	cr_assert(p->gate_deploy.enabled);
	cr_assert_eq(p->gate_deploy.required, 2);
	cr_assert_eq(p->gate_deploy.wait_ms, 5 * 60 * 1000);
	cr_assert_eq(p->gate_deploy.timeout_ms, 48LL * 3600 * 1000);
	cr_assert_eq(p->gate_deploy.n_from, 1);
	cr_assert_str_eq(p->gate_deploy.from[0], "approver");
	cr_assert_eq(p->gate_rollback.n_from, 2);
	cr_assert_str_eq(p->gate_rollback.from[1], "lead");
	cr_assert_eq(rg_config_gate(&L.cfg, "production", "deploy"), &p->gate_deploy);
	cr_assert_null(rg_config_gate(&L.cfg, "staging", "deploy"), "staging has no gate");
	cr_assert(rg_gate_before_start("rollback"));
	cr_assert_not(rg_gate_before_start("P2"));
	cfg_release(&L);
}

Test(config_approvals, defaults_are_the_runbooks)
{
	cfg_loaded L;
	cfg_load_ok(&L, "service: shop\n"
			"environments:\n"
			"  production:\n"
			"    approvals: { deploy: {}, rollback: {} }\n"
			"deploy:\n"
			"  - name: app\n"
			"    run: ./app\n");
	const rg_env *p = rg_config_env(&L.cfg, "production");
	cr_assert_eq(p->gate_deploy.required, 1);
	cr_assert_eq(p->gate_deploy.timeout_ms, 48LL * 3600 * 1000);
	cr_assert_eq(p->gate_rollback.timeout_ms, 3600LL * 1000);
	cr_assert_str_eq(p->gate_deploy.from[0], "approver");
	/* a trigger's gate: approvers and deployers, actions.approval_timeout */
	const rg_gate *p2 = rg_config_gate(&L.cfg, "production", "P2");
	cr_assert_eq(p2->n_from, 2);
	cr_assert_str_eq(p2->from[1], "deployer");
	cr_assert_eq(p2->timeout_ms, L.cfg.approval_timeout_ms);
	cfg_release(&L);
}

Test(config_approvals, action_map_form_names_who_approves)
{
	cfg_loaded L;
	cfg_load_ok(&L, CFG_BASE "actions:\n"
				 "  P1: { action: rollback-after-approval, from: [lead], timeout: 15m }\n"
				 "  P2: notify\n");
	cr_assert_eq(L.cfg.actions[RG_SEV_P1], RG_ACTION_ROLLBACK_AFTER_APPROVAL);
	cr_assert_eq(L.cfg.actions[RG_SEV_P2], RG_ACTION_NOTIFY);
	const rg_gate *g = rg_config_gate(&L.cfg, "staging", "P1");
	cr_assert_eq(g->timeout_ms, 15 * 60 * 1000);
	cr_assert_eq(g->n_from, 1);
	cr_assert_str_eq(g->from[0], "lead");
	cfg_release(&L);
}

Test(config_approvals, p0_never_waits)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE "actions:\n  P0: rollback-after-approval\n");
	cfg_expect_only(&L, 9, 7, "P0: an automatic rollback of a P0 trigger never waits for anyone (use rollback)");
	cfg_release(&L);
	cfg_load(&L, CFG_BASE "actions:\n  P0: { action: rollback-after-approval, from: [lead] }\n");
	cfg_expect_has(&L, "P0: an automatic rollback of a P0 trigger never waits for anyone");
	cfg_release(&L);
}

Test(config_approvals, bad_gates_are_named_where_they_are)
{
	cfg_loaded L;
	cfg_load(&L, "service: shop\n"
		     "environments:\n"
		     "  production:\n"
		     "    approvals:\n"
		     "      deploy: { required: 3, from: [ann, bob] }\n"
		     "      rolback: {}\n"
		     "deploy:\n"
		     "  - name: app\n"
		     "    run: ./app\n");
	cfg_expect(&L, 5, 27, "3 approvals are required but 'from' names only 2 tokens");
	cfg_expect_has(&L, "rolback");
	cfg_release(&L);
	cfg_load(&L, "service: shop\n"
		     "environments:\n"
		     "  production:\n"
		     "    approvals:\n"
		     "      deploy: { required: 0, from: [\"no way\"], timeout: 0s }\n"
		     "deploy:\n"
		     "  - name: app\n"
		     "    run: ./app\n");
	cfg_expect_has(&L, "'required' must be between 1 and 10");
	cfg_expect_has(&L, "invalid role or token name 'no way'");
	cfg_release(&L);
	cfg_load(&L, CFG_BASE "actions:\n  P1: { action: rollback, from: [lead] }\n");
	cfg_expect_has(&L, "P1: 'from', 'required' and 'timeout' apply only to rollback-after-approval");
	cfg_release(&L);
}

/* ---- backup steps (they share this file's temp-dir suite) -------------- */

Test(config_approvals, backup_steps)
{
	cfg_loaded L;
	cfg_load_ok(&L, "service: shop\n"
			"environments:\n"
			"  production: {}\n"
			"deploy:\n"
			"  - name: backup\n"
			"    backup: { run: ./dump.sh, restore: ./restore.sh, keep: 3, verify: ./check.sh }\n"
			"  - name: app\n"
			"    run: ./app\n");
	const rg_step *b = rg_config_step(&L.cfg, "backup");
	cr_assert_eq(b->kind, RG_STEP_EXEC);
	cr_assert_not_null(b->backup);
	cr_assert_str_eq(b->run, "./dump.sh");
	cr_assert_str_eq(b->backup->restore, "./restore.sh");
	cr_assert_str_eq(b->backup->verify, "./check.sh");
	cr_assert_eq(b->backup->keep, 3);
	cr_assert(strstr(L.cfg.backups_dir, "/.rollguard/backups"), "%s", L.cfg.backups_dir);
	cfg_release(&L);
	cfg_load(&L, "service: shop\n"
		     "environments:\n"
		     "  production: {}\n"
		     "deploy:\n"
		     "  - name: backup\n"
		     "    backup: { run: ./dump.sh, keep: 0 }\n"
		     "    undo: ./nope\n");
	cfg_expect_has(&L, "missing required key 'restore' in backup");
	cfg_expect_has(&L, "'keep' must be between 1 and 1000");
	cfg_expect_has(&L, "'undo' is only valid with 'run' (a backup is put back by its 'restore'");
	cfg_release(&L);
}

Test(config_approvals, migrate_steps)
{
	cfg_loaded L;
	cfg_load_ok(&L, "service: shop\n"
			"environments:\n"
			"  production: {}\n"
			"deploy:\n"
			"  - name: migrate\n"
			"    migrate: { up: alembic upgrade head, down: alembic downgrade x, current: alembic current }\n");
	const rg_step *m = rg_config_step(&L.cfg, "migrate");
	cr_assert_eq(m->kind, RG_STEP_EXEC);
	cr_assert_not_null(m->migrate);
	cr_assert(m->migrate->reversible);
	cr_assert_str_eq(m->migrate->up, "alembic upgrade head");
	cr_assert_str_eq(m->migrate->down, "alembic downgrade x");
	cr_assert(strstr(m->run, "alembic upgrade head") && strstr(m->run, "alembic current"), "%s", m->run);
	cfg_release(&L);
	cfg_load(&L, "service: shop\n"
		     "environments:\n"
		     "  production: {}\n"
		     "deploy:\n"
		     "  - name: migrate\n"
		     "    migrate: { down: ./d, reversible: maybe, sideways: 1 }\n"
		     "    undo: ./nope\n");
	cfg_expect_has(&L, "missing required key 'up' in migrate");
	cfg_expect_has(&L, "sideways");
	cfg_expect_has(&L, "'undo' is only valid with 'run' (a migration is taken back by its 'down'");
	cfg_release(&L);
	cfg_load(&L, "service: shop\n"
		     "environments:\n"
		     "  production: {}\n"
		     "deploy:\n"
		     "  - name: migrate\n"
		     "    migrate: { up: ./u }\n");
	cfg_expect_has(&L, "missing 'down' in migrate (or say 'reversible: false'");
	cfg_release(&L);
}

Test(config_approvals, config_files_stay_inside_the_config_directory)
{
	cfg_loaded L;
	cfg_load(&L, "service: shop\n"
		     "environments:\n"
		     "  production:\n"
		     "    config_files: [.env, /etc/passwd, ../other/.env]\n"
		     "deploy:\n"
		     "  - name: app\n"
		     "    run: ./app\n");
	cfg_expect(&L, 4, 26, "config file '/etc/passwd' must be a path inside the config's directory (no '/' in front, no '..')");
	cfg_expect_has(&L, "config file '../other/.env' must be a path inside");
	cfg_release(&L);
}
