/* principal.c — roles and what they allow (see principal.h). */
#include "auth/principal.h"

#include <stdio.h>
#include <string.h>

static const char *const role_names[] = {
	"viewer", "deployer", "approver", "oncall", "alerts", "admin", "flags",
};
#define N_ROLES (sizeof role_names / sizeof role_names[0])

static const char *const permission_names[RG_PERM_COUNT] = {
	[RG_PERM_READ] = "read",         [RG_PERM_DEPLOY] = "deploy",
	[RG_PERM_ROLLBACK] = "rollback", [RG_PERM_CONTROL] = "control",
	[RG_PERM_APPROVE] = "approve",   [RG_PERM_EMERGENCY] = "emergency",
	[RG_PERM_ALERT] = "alert",       [RG_PERM_TOKENS] = "tokens",
	[RG_PERM_FLAGS] = "read flags",  [RG_PERM_FLAG_SET] = "set flags",
	[RG_PERM_INCIDENT] = "incident",
};

/* Which roles grant each permission. Reading comes with every role that
 * acts on runs (a deployer follows the run it started); an alerts token is
 * a machine's and may do nothing but post alerts. */
static const unsigned granted_by[RG_PERM_COUNT] = {
	[RG_PERM_READ] = RG_ROLE_VIEWER | RG_ROLE_DEPLOYER | RG_ROLE_APPROVER | RG_ROLE_ONCALL,
	[RG_PERM_DEPLOY] = RG_ROLE_DEPLOYER,
	[RG_PERM_ROLLBACK] = RG_ROLE_DEPLOYER,
	[RG_PERM_CONTROL] = RG_ROLE_DEPLOYER,
	[RG_PERM_APPROVE] = RG_ROLE_APPROVER,
	[RG_PERM_EMERGENCY] = RG_ROLE_ONCALL,
	[RG_PERM_ALERT] = RG_ROLE_ALERTS,
	[RG_PERM_TOKENS] = 0,
	/* An application's token (flags) reads flags and nothing else; every
	 * role that reads runs reads flags too. Changing one is a deployer's
	 * act, or on-call's turning a feature off at night. */
	[RG_PERM_FLAGS] = RG_ROLE_VIEWER | RG_ROLE_DEPLOYER | RG_ROLE_APPROVER | RG_ROLE_ONCALL |
			  RG_ROLE_FLAGS,
	[RG_PERM_FLAG_SET] = RG_ROLE_DEPLOYER | RG_ROLE_ONCALL,
	/* whoever answers pages: the on-call engineer (admin may do everything) */
	[RG_PERM_INCIDENT] = RG_ROLE_ONCALL,
};

unsigned rg_role_parse(const char *name)
{
	for (size_t i = 0; name && i < N_ROLES; i++)
		if (strcmp(name, role_names[i]) == 0)
			return 1u << i;
	return 0;
}

const char *rg_role_name(unsigned role_bit)
{
	for (size_t i = 0; i < N_ROLES; i++)
		if (role_bit == 1u << i)
			return role_names[i];
	return "?";
}

rg_err rg_roles_parse(const char *list, unsigned *roles, rg_error *err)
{
	char one[32];
	*roles = 0;
	for (const char *p = list ? list : ""; ; ) {
		size_t n = strcspn(p, ",");
		snprintf(one, sizeof one, "%.*s", (int)(n < sizeof one ? n : sizeof one - 1), p);
		unsigned bit = n < sizeof one ? rg_role_parse(one) : 0;
		if (!bit)
			return rg_fail(err, RG_EINVAL, "role",
				       "unknown role '%.*s' (roles: viewer, deployer, approver, "
				       "oncall, alerts, admin, flags)", (int)(n > 40 ? 40 : n), p);
		*roles |= bit;
		if (!p[n])
			return RG_OK;
		p += n + 1;
	}
}

void rg_roles_text(unsigned roles, char *out, size_t size)
{
	size_t used = 0;
	if (size)
		out[0] = '\0';
	for (size_t i = 0; i < N_ROLES && size; i++) {
		if (!(roles & (1u << i)))
			continue;
		int w = snprintf(out + used, size - used, "%s%s", used ? "," : "", role_names[i]);
		if (w < 0 || (size_t)w >= size - used)
			return;
		used += (size_t)w;
	}
}

const char *rg_permission_name(rg_permission p)
{
	return p < RG_PERM_COUNT ? permission_names[p] : "?";
}

bool rg_principal_env_allowed(const rg_principal *p, const char *env)
{
	if (p->n_envs == 0)
		return true;
	for (size_t i = 0; env && i < p->n_envs; i++)
		if (strcmp(p->envs[i], env) == 0)
			return true;
	return false;
}

bool rg_principal_may(const rg_principal *p, rg_permission perm, const char *env)
{
	if (perm >= RG_PERM_COUNT)
		return false;
	bool role_ok = (p->roles & RG_ROLE_ADMIN) || (p->roles & granted_by[perm]);
	return role_ok && (!env || rg_principal_env_allowed(p, env));
}

bool rg_principal_listed(const rg_principal *p, const char *const *from, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned bit = rg_role_parse(from[i]);
		/* admin is every role, as it may do everything */
		if (bit ? (p->roles & (bit | RG_ROLE_ADMIN)) != 0 : strcmp(from[i], p->name) == 0)
			return true;
	}
	return false;
}
