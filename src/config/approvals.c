/* approvals.c — who must say yes before something happens: an
 * environment's `approvals: {deploy, rollback}` and the authority matrix of
 * `actions:` (each severity's action, and for rollback-after-approval who
 * approves, how many, within how long). The runbooks' rules are checked
 * here, where a mistake has a file position: a P0 trigger's rollback never
 * waits, and a gate cannot ask for more approvals than the people it names. */
#include "config/config_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/principal.h"
#include "util/names.h"

#define RG_MS_HOUR (60 * RG_MS_MINUTE)
#define MAX_REQUIRED 10

static const char *const approvals_keys[] = { "deploy", "rollback", NULL };
static const char *const gate_keys[] = { "required", "from", "wait", "timeout", NULL };
static const char *const action_names[] = { "rollback", "rollback-after-approval", "notify",
					    NULL };
static const char *const actions_keys[] = { "P0", "P1", "P2", "P3", "approval_timeout",
					    "max_auto_rollbacks", "loop_window", NULL };
static const char *const action_keys[] = { "action", "from", "required", "timeout", NULL };

void rg_gate_release(rg_gate *g)
{
	for (size_t i = 0; g->from && i < g->n_from; i++)
		free(g->from[i]);
	free(g->from);
	g->from = NULL;
	g->n_from = 0;
}

static bool is_role(const char *name)
{
	return rg_role_parse(name) != 0;
}

const char *rg_action_name(rg_action a)
{
	return (int)a >= 0 && a <= RG_ACTION_NOTIFY ? action_names[a] : "unknown";
}

/* `from` entries are role or token names; naming only people, a gate
 * cannot need more approvals than it names. */
static void check_from(rg_loader *l, const rg_ynode *map, rg_gate *g)
{
	const rg_ynode *v = rg_ld_value(map, "from");
	size_t people = 0;
	bool any_role = false;
	for (size_t i = 0; i < g->n_from; i++) {
		if (!g->from[i])
			continue;
		if (!rg_name_valid(g->from[i]))
			rg_problem(l, v->kids[i], "invalid role or token name '%s' (use %s)", g->from[i],
				   RG_NAME_RULE);
		else if (is_role(g->from[i]))
			any_role = true;
		else
			people++;
	}
	if (g->n_from && !any_role && people < (size_t)g->required)
		rg_problem(l, rg_ld_value(map, "required") ? rg_ld_value(map, "required") : v,
			   "%d approvals are required but 'from' names only %zu token%s", g->required,
			   people, people == 1 ? "" : "s");
}

/* A gate that names no one takes the runbooks' default: approvers, and for
 * a trigger's rollback also deployers (who could roll back by hand). */
static void default_from(rg_loader *l, rg_gate *g, bool deployers)
{
	if (g->n_from)
		return;
	if (!(g->from = rg_ld_calloc(l, 2, sizeof *g->from)))
		return;
	g->from[g->n_from++] = rg_ld_strdup(l, "approver");
	if (deployers)
		g->from[g->n_from++] = rg_ld_strdup(l, "deployer");
}

static void load_gate(rg_loader *l, const rg_ynode *k, const rg_ynode *v, const char *what,
		      bool with_wait, rg_gate *g)
{
	g->enabled = true;
	g->line = k->line;
	g->col = k->col;
	if (!rg_ld_expect(l, v, RG_YMAP, what))
		return;
	rg_ld_check_keys(l, v, "in an approval gate", gate_keys);
	rg_ld_int(l, v, "required", 1, MAX_REQUIRED, &g->required);
	rg_ld_strings(l, v, "from", &g->from, &g->n_from);
	if (with_wait)
		rg_ld_duration(l, v, "wait", &g->wait_ms);
	rg_ld_positive_duration(l, v, "timeout", &g->timeout_ms);
	check_from(l, v, g);
}

void rg_ld_approvals(rg_loader *l, const rg_ynode *v, rg_env *e)
{
	e->gate_deploy = (rg_gate){ .required = 1, .timeout_ms = 48 * RG_MS_HOUR };
	e->gate_rollback = (rg_gate){ .required = 1, .timeout_ms = RG_MS_HOUR };
	if (!rg_ld_expect(l, v, RG_YMAP, "approvals"))
		return;
	rg_ld_check_keys(l, v, "in approvals", approvals_keys);
	const rg_ynode *k;
	if ((k = rg_ld_key(v, "deploy")))
		load_gate(l, k, rg_ld_value(v, "deploy"), "deploy", true, &e->gate_deploy);
	if ((k = rg_ld_key(v, "rollback")))
		load_gate(l, k, rg_ld_value(v, "rollback"), "rollback", true, &e->gate_rollback);
	default_from(l, &e->gate_deploy, false);
	default_from(l, &e->gate_rollback, false);
}

/* `P1: rollback` or `P1: { action: rollback-after-approval, from: [lead] }`. */
static void load_action(rg_loader *l, const rg_ynode *actions, rg_severity s)
{
	rg_config *cfg = l->cfg;
	const char *key = rg_severity_names[s];
	const rg_ynode *v = rg_ld_value(actions, key);
	rg_gate *g = &cfg->action_gates[s];
	int a = (int)cfg->actions[s];
	const rg_ynode *at = v;
	if (v && v->type == RG_YMAP) {
		rg_ld_check_keys(l, v, "in an action", action_keys);
		if (!rg_ld_require(l, v, "action", "in an action"))
			return;
		at = rg_ld_value(v, "action");
		if (!rg_ld_choice_of(l, v, "action", "action", action_names, &a))
			return;
		rg_ld_int(l, v, "required", 1, MAX_REQUIRED, &g->required);
		rg_ld_strings(l, v, "from", &g->from, &g->n_from);
		rg_ld_positive_duration(l, v, "timeout", &g->timeout_ms);
		check_from(l, v, g);
		if (a != RG_ACTION_ROLLBACK_AFTER_APPROVAL &&
		    (rg_ld_key(v, "from") || rg_ld_key(v, "required") || rg_ld_key(v, "timeout")))
			rg_problem(l, v, "%s: 'from', 'required' and 'timeout' apply only to rollback-after-approval",
				   key);
	} else if (!rg_ld_choice_of(l, actions, key, "action", action_names, &a)) {
		return;
	}
	cfg->actions[s] = (rg_action)a;
	if (s == RG_SEV_P0 && a == RG_ACTION_ROLLBACK_AFTER_APPROVAL)
		rg_problem(l, at, "P0: an automatic rollback of a P0 trigger never waits for anyone (use rollback)");
}

void rg_ld_actions(rg_loader *l, const rg_ynode *root)
{
	rg_config *cfg = l->cfg;
	for (int s = 0; s < RG_SEV_COUNT; s++)
		cfg->action_gates[s] = (rg_gate){ .enabled = true, .required = 1 };
	const rg_ynode *v = rg_ld_value(root, "actions");
	if (v && rg_ld_expect(l, v, RG_YMAP, "actions")) {
		rg_ld_check_keys(l, v, "in actions", actions_keys);
		/* How long rollback-after-approval waits for a person before
		 * it rolls back anyway, unless a severity says otherwise. */
		rg_ld_positive_duration(l, v, "approval_timeout", &cfg->approval_timeout_ms);
		/* The rollback-loop guard (engine/decide.c): 0 turns it off. */
		rg_ld_int(l, v, "max_auto_rollbacks", 0, 1000, &cfg->max_auto_rollbacks);
		rg_ld_positive_duration(l, v, "loop_window", &cfg->loop_window_ms);
		for (int s = 0; s < RG_SEV_COUNT; s++) {
			cfg->action_gates[s].timeout_ms = cfg->approval_timeout_ms;
			load_action(l, v, (rg_severity)s);
		}
	}
	for (int s = 0; s < RG_SEV_COUNT; s++) {
		rg_gate *g = &cfg->action_gates[s];
		if (g->timeout_ms == 0)
			g->timeout_ms = cfg->approval_timeout_ms;
		default_from(l, g, true);
	}
	/* on_insufficient_data: hold waits as a trigger's gate does. */
	cfg->hold_gate = (rg_gate){ .enabled = true, .required = 1,
				    .timeout_ms = cfg->approval_timeout_ms };
	default_from(l, &cfg->hold_gate, true);
	/* A restore loses data: without approvals.rollback it still needs one
	 * approval, from an approver or an admin (docs/rollback-data.md). */
	cfg->restore_gate = (rg_gate){ .enabled = true, .required = 1,
				       .timeout_ms = cfg->approval_timeout_ms };
	if ((cfg->restore_gate.from = rg_ld_calloc(l, 2, sizeof *cfg->restore_gate.from))) {
		cfg->restore_gate.from[cfg->restore_gate.n_from++] = rg_ld_strdup(l, "approver");
		cfg->restore_gate.from[cfg->restore_gate.n_from++] = rg_ld_strdup(l, "admin");
	}
}

const rg_gate *rg_config_gate(const rg_config *cfg, const char *env, const char *gate)
{
	const rg_env *e = rg_config_env(cfg, env);
	if (!gate || !e)
		return NULL;
	if (strcmp(gate, "deploy") == 0)
		return e->gate_deploy.enabled ? &e->gate_deploy : NULL;
	if (strcmp(gate, "rollback") == 0)
		return e->gate_rollback.enabled ? &e->gate_rollback : NULL;
	if (strcmp(gate, "hold") == 0)
		return &cfg->hold_gate;
	if (strcmp(gate, "restore") == 0)
		return e->gate_rollback.enabled ? &e->gate_rollback : &cfg->restore_gate;
	for (int s = 0; s < RG_SEV_COUNT; s++)
		if (strcmp(gate, rg_severity_names[s]) == 0)
			return &cfg->action_gates[s];
	return NULL;
}

bool rg_gate_before_start(const char *gate)
{
	return gate && (strcmp(gate, "deploy") == 0 || strcmp(gate, "rollback") == 0);
}

void rg_gate_from_text(const rg_gate *g, char *out, size_t size)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < g->n_from && used < size; i++)
		used += (size_t)snprintf(out + used, size - used, "%s%s", i ? ", " : "", g->from[i]);
}

void rg_gate_describe(const rg_gate *g, char *out, size_t size)
{
	char from[300];
	rg_gate_from_text(g, from, sizeof from);
	snprintf(out, size, "%d approval%s from %s", g->required, g->required == 1 ? "" : "s", from);
}
