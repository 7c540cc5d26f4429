/* sections.c — the top level of rollguard.yaml: service, server,
 * environments and metrics, and the order sections are read in (server:
 * is server.c's, alerts: alerts.c's, actions: and approvals: approvals.c's).
 * Sections are read in dependency order, not file order, so a reference to
 * something defined further down the file still resolves. */
#include "config/config_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "util/names.h"

static const char *const top_keys[] = { "service", "server",   "environments", "deploy",
					"rollback", "checks", "metrics", "triggers",
					"actions", "alerts", "flags", "notify", "escalation",
					"incident", NULL };
static const char *const env_keys[] = { "timeout", "monitor", "post_rollback_monitor", "vars",
					"proxy",   "router",  "kill_grace", "min_requests", "max_monitor",
					"on_insufficient_data", "approvals", "config_files",
					"secret_keys", "production", NULL };
static const char *const metrics_keys[] = { "prometheus", NULL };

static void load_service(rg_loader *l, const rg_ynode *root)
{
	if (!rg_ld_require(l, root, "service", "at the top level") ||
	    !rg_ld_string(l, root, "service", &l->cfg->service))
		return;
	if (!rg_name_valid(l->cfg->service))
		rg_problem(l, rg_ld_value(root, "service"), "invalid service name '%s' (use %s)",
			   l->cfg->service, RG_NAME_RULE);
}

/* Variables reach commands through the environment, so their names must be
 * names a shell accepts, and ROLLGUARD_* belongs to rollguard alone. */
static void load_vars(rg_loader *l, const rg_ynode *v, rg_env *e)
{
	if (!rg_ld_expect(l, v, RG_YMAP, "vars"))
		return;
	rg_ld_check_keys(l, v, "in vars", NULL);
	if (!(e->vars = rg_ld_calloc(l, v->n / 2, sizeof *e->vars)))
		return;
	for (size_t i = 0; i < v->n; i += 2) {
		const rg_ynode *k = v->kids[i], *val = v->kids[i + 1];
		const char *text;
		if (k->type != RG_YSCALAR || rg_ld_key(v, k->text) != k)
			continue;
		if (!rg_var_name_valid(k->text))
			rg_problem(l, k, "invalid variable name '%s' (use [A-Za-z_][A-Za-z0-9_]*)",
				   k->text);
		else if (!strncmp(k->text, "ROLLGUARD_", 10))
			rg_problem(l, k, "variable name '%s' is reserved (ROLLGUARD_* is set by rollguard)",
				   k->text);
		if (!rg_ld_text(l, val, k->text, &text))
			continue;
		rg_kv *kv = &e->vars[e->n_vars++];
		kv->key = rg_ld_strdup(l, k->text);
		kv->value = rg_ld_strdup(l, text);
	}
}

/* Files a rollback puts back: inside the config's directory, named plainly
 * (no "..", no absolute path), so a snapshot can never write elsewhere. */
static void load_config_files(rg_loader *l, const rg_ynode *v, rg_env *e)
{
	rg_ld_strings(l, v, "config_files", &e->config_files, &e->n_config_files);
	rg_ld_strings(l, v, "secret_keys", &e->secret_keys, &e->n_secret_keys);
	const rg_ynode *list = rg_ld_value(v, "config_files");
	for (size_t i = 0; i < e->n_config_files; i++) {
		const char *f = e->config_files[i];
		if (f && (f[0] == '/' || strstr(f, "..") || strlen(f) > 255))
			rg_problem(l, list->kids[i],
				   "config file '%s' must be a path inside the config's directory (no '/' in front, no '..')",
				   f);
	}
}

static void load_env(rg_loader *l, const rg_ynode *k, const rg_ynode *v, rg_env *e)
{
	e->line = k->line;
	e->col = k->col;
	e->timeout_ms = 30 * RG_MS_MINUTE;
	e->kill_grace_ms = 10 * RG_MS_SECOND;
	e->router_timeout_ms = 30 * RG_MS_SECOND;
	if (!(e->name = rg_ld_strdup(l, k->text)))
		return;
	if (!rg_name_valid(k->text))
		rg_problem(l, k, "invalid environment name '%s' (use %s)", k->text, RG_NAME_RULE);
	rg_ld_evidence(l, NULL, "max_monitor", "monitor", 0, &e->monitor_evidence);
	e->production = !strcmp(k->text, "prod") || !strcmp(k->text, "production");
	if (rg_ynode_is_null(v))
		return; /* "staging:" alone: every default */
	if (!rg_ld_expect(l, v, RG_YMAP, k->text))
		return;
	rg_ld_check_keys(l, v, "in environment", env_keys);
	rg_ld_positive_duration(l, v, "timeout", &e->timeout_ms);
	rg_ld_positive_duration(l, v, "kill_grace", &e->kill_grace_ms);
	rg_ld_duration(l, v, "monitor", &e->monitor_ms);
	rg_ld_duration(l, v, "post_rollback_monitor", &e->post_rollback_monitor_ms);
	rg_ld_bool(l, v, "production", &e->production);
	rg_ld_evidence(l, v, "max_monitor", "monitor", e->monitor_ms, &e->monitor_evidence);
	if (rg_ld_value(v, "vars"))
		load_vars(l, rg_ld_value(v, "vars"), e);
	/* One environment's traffic goes through one router: two would each
	 * believe they own the split. Both are still read, so that the steps
	 * shifting traffic there are not reported as well. */
	char what[96];
	snprintf(what, sizeof what, "environment '%s'", k->text);
	rg_ld_which(l, v, (const char *const[]){ "proxy", "router", NULL }, what);
	if (rg_ld_value(v, "proxy"))
		rg_ld_proxy(l, rg_ld_value(v, "proxy"), e);
	if (rg_ld_value(v, "router"))
		rg_ld_router(l, rg_ld_value(v, "router"), e);
	if (rg_ld_value(v, "approvals"))
		rg_ld_approvals(l, rg_ld_value(v, "approvals"), e);
	load_config_files(l, v, e);
}

static void load_environments(rg_loader *l, const rg_ynode *root)
{
	rg_config *cfg = l->cfg;
	const rg_ynode *v = rg_ld_value(root, "environments");
	if (!rg_ld_require(l, root, "environments", "at the top level") ||
	    !rg_ld_expect(l, v, RG_YMAP, "environments"))
		return;
	rg_ld_check_keys(l, v, "in environments", NULL);
	if (v->n == 0) {
		rg_problem(l, v, "'environments' must define at least one environment");
		return;
	}
	if (!(cfg->envs = rg_ld_calloc(l, v->n / 2, sizeof *cfg->envs)))
		return;
	for (size_t i = 0; i < v->n; i += 2) {
		const rg_ynode *k = v->kids[i];
		if (k->type == RG_YSCALAR && rg_ld_key(v, k->text) == k)
			load_env(l, k, v->kids[i + 1], &cfg->envs[cfg->n_envs++]);
	}
}

static void load_metrics(rg_loader *l, const rg_ynode *root)
{
	const rg_ynode *v = rg_ld_value(root, "metrics");
	if (!v || !rg_ld_expect(l, v, RG_YMAP, "metrics"))
		return;
	rg_ld_check_keys(l, v, "in metrics", metrics_keys);
	l->has_prometheus = rg_ld_key(v, "prometheus") != NULL;
	rg_ld_url(l, v, "prometheus", &l->cfg->prometheus);
}

static void load_pipeline(rg_loader *l, const rg_ynode *root, const char *key)
{
	rg_config *cfg = l->cfg;
	bool rollback = strcmp(key, "rollback") == 0;
	const rg_ynode *v = rg_ld_value(root, key);
	if (!v && rollback)
		return;
	if (!rg_ld_require(l, root, key, "at the top level"))
		return;
	if (rollback)
		rg_ld_pipeline(l, v, true, &cfg->rollback, &cfg->n_rollback);
	else
		rg_ld_pipeline(l, v, false, &cfg->deploy, &cfg->n_deploy);
}

void rg_ld_config(rg_loader *l, const rg_ynode *root)
{
	if (!root) {
		rg_problem(l, NULL, "the file is empty (run 'rollguard init' to write a starter)");
		return;
	}
	if (root->type != RG_YMAP) {
		rg_problem(l, root, "expected a mapping at the top level (got %s)", rg_ynode_kind(root));
		return;
	}
	rg_ld_check_keys(l, root, "at the top level", top_keys);
	load_service(l, root);
	rg_ld_server(l, root);
	load_environments(l, root);
	load_metrics(l, root);
	if (rg_ld_value(root, "checks"))
		rg_ld_checks(l, rg_ld_value(root, "checks"));
	load_pipeline(l, root, "deploy");
	load_pipeline(l, root, "rollback");
	if (rg_ld_value(root, "flags"))   /* before triggers: disable_flag names one */
		rg_ld_flags(l, rg_ld_value(root, "flags"));
	if (rg_ld_value(root, "triggers"))
		rg_ld_triggers(l, rg_ld_value(root, "triggers"));
	rg_ld_actions(l, root);
	if (rg_ld_value(root, "alerts"))
		rg_ld_alerts(l, rg_ld_value(root, "alerts"));
	if (rg_ld_value(root, "notify"))   /* after environments: routes name them */
		rg_ld_notify(l, rg_ld_value(root, "notify"));
	rg_ld_incident(l, root);   /* after notify: the ladder names its channels */
}
