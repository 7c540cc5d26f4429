/* test_stepenv.c — what of serve's environment a command inherits: not
 * rollguard's own variables, not the variables that hold secrets. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "engine/stepenv.h"

TestSuite(stepenv);

static bool has(const rg_envlist *l, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < l->n; i++)
		if (!strncmp(l->items[i], name, n) && l->items[i][n] == '=')
			return true;
	return false;
}

Test(stepenv, secrets_and_rollguard_variables_are_withheld)
{
	char *names[] = { "DB_PASSWORD" };
	rg_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.secret_env = names;
	cfg.n_secret_env = 1;
	cfg.alerts.enabled = true;
	cfg.alerts.secret_env = "RG_HOOK_SECRET";
	setenv("DB_PASSWORD", "pw-123456", 1);
	setenv("DB_PASSWORD_HINT", "not a secret", 1);
	setenv("RG_HOOK_SECRET", "hook-123456", 1);
	setenv("ROLLGUARD_TOKEN", "tok-123456", 1);
	setenv("PLAIN", "yes", 1);

	rg_envlist l;
	rg_error err;
	cr_assert_eq(rg_envlist_inherit(&l, &cfg, &err), RG_OK);
	cr_assert_not(has(&l, "DB_PASSWORD"));
	cr_assert_not(has(&l, "RG_HOOK_SECRET"));
	cr_assert_not(has(&l, "ROLLGUARD_TOKEN"));
	cr_assert(has(&l, "DB_PASSWORD_HINT"), "only the exact name is withheld");
	cr_assert(has(&l, "PLAIN"));
	rg_envlist_release(&l);

	cr_assert_eq(rg_envlist_inherit(&l, NULL, &err), RG_OK);
	cr_assert(has(&l, "DB_PASSWORD"), "without a config only ROLLGUARD_* is withheld");
	cr_assert_not(has(&l, "ROLLGUARD_TOKEN"));
	rg_envlist_release(&l);
}
