/* principal.h — who is asking, and what their roles allow.
 * A principal is what a valid token names (auth/tokens.h): a person or a
 * system, its roles and the environments it is limited to. Nothing here
 * does I/O; the API decides with rg_principal_may() before a handler runs,
 * and the engine's approval gates ask rg_principal_listed() whether a
 * person is one of those an environment's gate accepts. */
#ifndef RG_AUTH_PRINCIPAL_H
#define RG_AUTH_PRINCIPAL_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"
#include "util/names.h"

/* Roles, as bits. viewer: every read, flags included. deployer: deploy,
 * rollback, pause, resume, promote, abort, flag set. approver: approve,
 * reject. oncall: emergency deploys and rollbacks, flag set, incidents (ack,
 * note, resolve, checklist). alerts: POST
 * /api/v1/alerts only. flags: reading flags only (OFREP and GET
 * /api/v1/flags) — the token an application holds. admin: tokens, and
 * everything else. */
enum {
	RG_ROLE_VIEWER   = 1u << 0,
	RG_ROLE_DEPLOYER = 1u << 1,
	RG_ROLE_APPROVER = 1u << 2,
	RG_ROLE_ONCALL   = 1u << 3,
	RG_ROLE_ALERTS   = 1u << 4,
	RG_ROLE_ADMIN    = 1u << 5,
	RG_ROLE_FLAGS    = 1u << 6,
};
#define RG_ROLE_ALL 0x7fu

/* What a request wants to do; each route names one. */
typedef enum rg_permission {
	RG_PERM_READ = 0,     /* every GET */
	RG_PERM_DEPLOY,       /* POST /deploys */
	RG_PERM_ROLLBACK,     /* POST /rollbacks */
	RG_PERM_CONTROL,      /* pause, resume, promote, abort */
	RG_PERM_APPROVE,      /* approve, reject */
	RG_PERM_EMERGENCY,    /* a deploy or rollback with "emergency": true */
	RG_PERM_ALERT,        /* POST /alerts */
	RG_PERM_TOKENS,       /* token administration */
	RG_PERM_FLAGS,        /* reading flags: OFREP evaluations, GET /flags */
	RG_PERM_FLAG_SET,     /* turning a flag on, off or to a rollout */
	RG_PERM_INCIDENT,     /* ack, note, resolve an incident, tick its checklist */
	RG_PERM_COUNT
} rg_permission;

#define RG_PRINCIPAL_MAX_ENVS 16

typedef struct rg_principal {
	char name[RG_NAME_MAX + 1];   /* the token's name: the actor of what it does */
	unsigned roles;               /* RG_ROLE_* */
	size_t n_envs;                /* 0: every environment */
	char envs[RG_PRINCIPAL_MAX_ENVS][RG_NAME_MAX + 1];
} rg_principal;

/* "viewer" → RG_ROLE_VIEWER; 0 for an unknown name. */
unsigned rg_role_parse(const char *name);
const char *rg_role_name(unsigned role_bit);
/* "deployer,approver" → bits. RG_EINVAL naming the unknown role (field
 * "role") for a bad or empty list. */
rg_err rg_roles_parse(const char *list, unsigned *roles, rg_error *err);
/* bits → "deployer,approver" in the order above; out is always terminated. */
void rg_roles_text(unsigned roles, char *out, size_t size);
const char *rg_permission_name(rg_permission p);   /* "deploy", "approve", … */

/* Whether p may do perm in env (NULL: a request that names no environment,
 * e.g. GET /runs across environments — allowed by the role alone). */
bool rg_principal_may(const rg_principal *p, rg_permission perm, const char *env);
/* Whether p may see env at all: listed, or not limited. */
bool rg_principal_env_allowed(const rg_principal *p, const char *env);
/* Whether p is one of from[0..n): entries are role names or token names. */
bool rg_principal_listed(const rg_principal *p, const char *const *from, size_t n);

#endif
