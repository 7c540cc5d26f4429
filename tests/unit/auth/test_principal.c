/* Roles and what they allow. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "auth/principal.h"

static rg_principal who(const char *name, unsigned roles, const char *env)
{
	rg_principal p = { .roles = roles };
	snprintf(p.name, sizeof p.name, "%s", name);
	if (env) {
		snprintf(p.envs[0], sizeof p.envs[0], "%s", env);
		p.n_envs = 1;
	}
	return p;
}

Test(principal, roles_parse_and_print)
{
	unsigned r;
	rg_error err = { 0 };
	char text[64];
	cr_assert_eq(rg_roles_parse("approver,deployer", &r, &err), RG_OK);
	cr_assert_eq(r, RG_ROLE_APPROVER | RG_ROLE_DEPLOYER);
	rg_roles_text(r, text, sizeof text);
	cr_assert_str_eq(text, "deployer,approver");
	cr_assert_eq(rg_roles_parse("deployer,boss", &r, &err), RG_EINVAL);
	cr_assert(strstr(err.message, "'boss'"), "%s", err.message);
	cr_assert_str_eq(err.field, "role");
	cr_assert_eq(rg_roles_parse("", &r, &err), RG_EINVAL);
	cr_assert_eq(rg_roles_parse("viewer,", &r, &err), RG_EINVAL);
}

Test(principal, each_role_allows_its_actions_only)
{
	rg_principal viewer = who("v", RG_ROLE_VIEWER, NULL);
	rg_principal deployer = who("d", RG_ROLE_DEPLOYER, NULL);
	rg_principal alerts = who("am", RG_ROLE_ALERTS, NULL);
	rg_principal admin = who("root", RG_ROLE_ADMIN, NULL);
	cr_assert(rg_principal_may(&viewer, RG_PERM_READ, "production"));
	cr_assert_not(rg_principal_may(&viewer, RG_PERM_DEPLOY, "production"));
	cr_assert(rg_principal_may(&deployer, RG_PERM_DEPLOY, "staging"));
	cr_assert(rg_principal_may(&deployer, RG_PERM_READ, NULL));
	cr_assert_not(rg_principal_may(&deployer, RG_PERM_APPROVE, "staging"));
	cr_assert_not(rg_principal_may(&deployer, RG_PERM_EMERGENCY, "staging"));
	cr_assert_not(rg_principal_may(&alerts, RG_PERM_READ, NULL));
	cr_assert(rg_principal_may(&alerts, RG_PERM_ALERT, NULL));
	cr_assert_not(rg_principal_may(&deployer, RG_PERM_TOKENS, NULL));
	for (int p = 0; p < RG_PERM_COUNT; p++)
		cr_assert(rg_principal_may(&admin, (rg_permission)p, "production"));
}

Test(principal, env_limits)
{
	rg_principal staging = who("ci", RG_ROLE_DEPLOYER, "staging");
	cr_assert(rg_principal_may(&staging, RG_PERM_DEPLOY, "staging"));
	cr_assert_not(rg_principal_may(&staging, RG_PERM_DEPLOY, "production"));
	cr_assert_not(rg_principal_env_allowed(&staging, "production"));
}

Test(principal, listed_by_role_or_name)
{
	rg_principal ann = who("ann", RG_ROLE_APPROVER, NULL);
	const char *roles[] = { "approver" }, *names[] = { "bob", "ann" }, *lead[] = { "lead" };
	cr_assert(rg_principal_listed(&ann, roles, 1));
	cr_assert(rg_principal_listed(&ann, names, 2));
	cr_assert_not(rg_principal_listed(&ann, lead, 1));
}

/* An application's token (flags) reads flags and nothing else; setting one
 * is a deployer's or on-call's. */
Test(principal, flags_role_reads_flags_only)
{
	rg_principal app = who("shop-app", RG_ROLE_FLAGS, "production");
	rg_principal viewer = who("v", RG_ROLE_VIEWER, NULL);
	rg_principal oncall = who("o", RG_ROLE_ONCALL, NULL);
	rg_principal approver = who("a", RG_ROLE_APPROVER, NULL);
	cr_assert(rg_principal_may(&app, RG_PERM_FLAGS, "production"));
	cr_assert_not(rg_principal_may(&app, RG_PERM_FLAGS, "staging"));
	for (int p = 0; p < RG_PERM_COUNT; p++)
		if (p != RG_PERM_FLAGS)
			cr_assert_not(rg_principal_may(&app, (rg_permission)p, "production"),
				      "flags may not %s", rg_permission_name((rg_permission)p));
	cr_assert(rg_principal_may(&viewer, RG_PERM_FLAGS, NULL));
	cr_assert_not(rg_principal_may(&viewer, RG_PERM_FLAG_SET, "staging"));
	cr_assert(rg_principal_may(&oncall, RG_PERM_FLAG_SET, "production"));
	cr_assert_not(rg_principal_may(&approver, RG_PERM_FLAG_SET, "production"));
	unsigned r;
	rg_error err = { 0 };
	char text[96];
	cr_assert_eq(rg_roles_parse("flags", &r, &err), RG_OK);
	cr_assert_eq(r, RG_ROLE_FLAGS);
	rg_roles_text(RG_ROLE_ALL, text, sizeof text);
	cr_assert_str_eq(text, "viewer,deployer,approver,oncall,alerts,admin,flags");
}
