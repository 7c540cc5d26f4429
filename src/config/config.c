/* config.c — rg_config_load and the lookups every module uses.
 * A config with any problem is released before the caller sees it: nothing
 * may ever run from a half-understood rollguard.yaml. */
#include "config/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

#define DEFAULT_LISTEN "127.0.0.1:7070"
#define DEFAULT_STATE ".rollguard"

static void set_defaults(rg_loader *l)
{
	rg_config *cfg = l->cfg;
	cfg->listen = rg_ld_strdup(l, DEFAULT_LISTEN);
	cfg->actions[RG_SEV_P0] = RG_ACTION_ROLLBACK;
	cfg->actions[RG_SEV_P1] = RG_ACTION_ROLLBACK;
	cfg->actions[RG_SEV_P2] = RG_ACTION_ROLLBACK_AFTER_APPROVAL;
	cfg->actions[RG_SEV_P3] = RG_ACTION_NOTIFY;
	cfg->approval_timeout_ms = 60 * RG_MS_MINUTE;
	cfg->max_auto_rollbacks = 3;
	cfg->loop_window_ms = 60 * RG_MS_MINUTE;
}

/* dir/rel without "./" in front or "/" behind: state paths end up in logs
 * and messages, where "/srv/shop/./.rollguard/" would only distract. */
char *rg_join_path(const char *dir, const char *rel)
{
	while (rel[0] == '.' && rel[1] == '/') {
		rel += 2;
		while (*rel == '/')
			rel++;
	}
	size_t n = strlen(rel);
	while (n > 1 && rel[n - 1] == '/')
		n--;
	if (n == 0 || (n == 1 && rel[0] == '.'))
		return strdup(dir);
	if (rel[0] == '/')
		return strndup(rel, n);
	char *out = NULL;
	if (asprintf(&out, "%s%s%.*s", dir, strcmp(dir, "/") ? "/" : "", (int)n, rel) < 0)
		return NULL;
	return out;
}

/* Commands run in the config file's directory, and relative paths in the
 * file (state, a HAProxy socket) mean "next to the config", whatever the
 * caller's cwd is. The directory is known before the sections are read. */
static rg_err resolve_dir(rg_config *cfg, const char *path, rg_error *err)
{
	char *copy = strdup(path);
	if (!copy || !(cfg->path = strdup(path))) {
		free(copy);
		return rg_fail(err, RG_ENOMEM, "config", "out of memory");
	}
	char *slash = strrchr(copy, '/');
	const char *dir = copy;
	if (!slash)
		dir = ".";
	else if (slash == copy)
		dir = "/";
	else
		*slash = '\0';
	cfg->dir = realpath(dir, NULL);
	free(copy);
	if (!cfg->dir)
		return rg_fail(err, RG_EIO, "config", "cannot resolve the directory of '%s'", path);
	return RG_OK;
}

static rg_err resolve_state(rg_config *cfg, rg_error *err)
{
	char *state = rg_join_path(cfg->dir, cfg->state_dir ? cfg->state_dir : DEFAULT_STATE);
	if (!state)
		return rg_fail(err, RG_ENOMEM, "config", "out of memory");
	free(cfg->state_dir);
	cfg->state_dir = state;
	/* Backups live in the state directory unless server.backups says where. */
	char *backups = cfg->backups_dir ? rg_join_path(cfg->dir, cfg->backups_dir)
					 : rg_join_path(state, "backups");
	if (!backups)
		return rg_fail(err, RG_ENOMEM, "config", "out of memory");
	free(cfg->backups_dir);
	cfg->backups_dir = backups;
	return RG_OK;
}

static rg_err load_tree(const char *path, const rg_ynode *root, rg_config *cfg, rg_diags *d,
			rg_error *err)
{
	rg_loader l = { .cfg = cfg, .diags = d };
	size_t first = d->n;
	rg_err rc = resolve_dir(cfg, path, err);
	if (rc != RG_OK)
		return rc;
	set_defaults(&l);
	rg_ld_config(&l, root);
	if (l.oom)
		return rg_fail(err, RG_ENOMEM, "config", "out of memory loading '%s'", path);
	size_t problems = d->n - first;
	if (problems)
		return rg_fail(err, RG_EINVAL, "config", "'%s' has %zu problem%s", path, problems,
			       problems == 1 ? "" : "s");
	return resolve_state(cfg, err);
}

rg_err rg_config_load(const char *path, rg_config *cfg, rg_diags *diags, rg_error *err)
{
	rg_diags local = { 0 };
	rg_diags *d = diags ? diags : &local;
	size_t first = d->n;
	rg_ynode *root = NULL;
	memset(cfg, 0, sizeof *cfg);
	rg_err rc = rg_yaml_read(path, &root, d, err);
	if (rc == RG_OK)
		rc = load_tree(path, root, cfg, d, err);
	rg_ynode_free(root);
	rg_diags_sort(d, first);
	if (rc != RG_OK)
		rg_config_release(cfg);
	rg_diags_release(&local);
	return rc;
}

static void free_strings(char **list, size_t n)
{
	for (size_t i = 0; list && i < n; i++)
		free(list[i]);
	free(list);
}

static void release_steps(rg_step *steps, size_t n)
{
	for (size_t i = 0; steps && i < n; i++) {
		rg_step *s = &steps[i];
		free(s->name);
		free(s->run);
		free(s->undo);
		free_strings(s->checks, s->n_checks);
		free(s->traffic.backend);
		free(s->traffic.steps);
		free(s->traffic.retire);
		free_strings(s->environments, s->n_environments);
		if (s->backup) {
			free(s->backup->restore);
			free(s->backup->verify);
			free(s->backup);
		}
		if (s->migrate) {
			free(s->migrate->up);
			free(s->migrate->down);
			free(s->migrate->current);
			free(s->migrate);
		}
	}
	free(steps);
}

static void release_envs(rg_env *envs, size_t n)
{
	for (size_t i = 0; envs && i < n; i++) {
		for (size_t k = 0; k < envs[i].n_vars; k++) {
			free(envs[i].vars[k].key);
			free(envs[i].vars[k].value);
		}
		free(envs[i].vars);
		free(envs[i].name);
		free(envs[i].proxy_listen);
		free(envs[i].proxy_sticky_header);
		free(envs[i].proxy_sticky_cookie);
		free(envs[i].proxy_force_header);
		free(envs[i].proxy_force_from);
		free(envs[i].proxy_trusted);
		free(envs[i].haproxy_socket);
		free(envs[i].haproxy_backend);
		free(envs[i].haproxy_stable);
		free(envs[i].haproxy_canary);
		free(envs[i].router_command);
		free_strings(envs[i].config_files, envs[i].n_config_files);
		free_strings(envs[i].secret_keys, envs[i].n_secret_keys);
		rg_gate_release(&envs[i].gate_deploy);
		rg_gate_release(&envs[i].gate_rollback);
	}
	free(envs);
}

static void release_checks_triggers(rg_config *cfg)
{
	for (size_t i = 0; cfg->checks && i < cfg->n_checks; i++) {
		rg_check *c = &cfg->checks[i];
		free(c->name);
		free(c->url);
		free(c->contains);
		free(c->run);
	}
	free(cfg->checks);
	for (size_t i = 0; cfg->triggers && i < cfg->n_triggers; i++) {
		rg_trigger *t = &cfg->triggers[i];
		free(t->name);
		free(t->check);
		free(t->metric);
		free(t->query);
		free(t->command);
		free(t->disable_flag);
	}
	free(cfg->triggers);
}

void rg_config_release(rg_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	free(cfg->dir);
	free(cfg->service);
	free(cfg->listen);
	free(cfg->state_dir);
	free(cfg->backups_dir);
	free(cfg->prometheus);
	release_envs(cfg->envs, cfg->n_envs);
	release_steps(cfg->deploy, cfg->n_deploy);
	release_steps(cfg->rollback, cfg->n_rollback);
	release_checks_triggers(cfg);
	rg_alerts_cfg_release(&cfg->alerts);
	for (int s = 0; s < RG_SEV_COUNT; s++)
		rg_gate_release(&cfg->action_gates[s]);
	rg_gate_release(&cfg->hold_gate);
	rg_gate_release(&cfg->restore_gate);
	rg_server_cfg_release(cfg);
	rg_flags_cfg_release(cfg);
	rg_notify_cfg_release(cfg);
	rg_incident_cfg_release(cfg);
	memset(cfg, 0, sizeof *cfg);
}

const rg_env *rg_config_env(const rg_config *cfg, const char *name)
{
	for (size_t i = 0; cfg && name && i < cfg->n_envs; i++)
		if (cfg->envs[i].name && strcmp(cfg->envs[i].name, name) == 0)
			return &cfg->envs[i];
	return NULL;
}

const rg_check *rg_config_check(const rg_config *cfg, const char *name)
{
	for (size_t i = 0; cfg && name && i < cfg->n_checks; i++)
		if (cfg->checks[i].name && strcmp(cfg->checks[i].name, name) == 0)
			return &cfg->checks[i];
	return NULL;
}

const rg_step *rg_config_step(const rg_config *cfg, const char *name)
{
	for (size_t i = 0; cfg && name && i < cfg->n_deploy; i++)
		if (cfg->deploy[i].name && strcmp(cfg->deploy[i].name, name) == 0)
			return &cfg->deploy[i];
	return NULL;
}

const char *rg_severity_name(rg_severity s)
{
	return (int)s >= 0 && s < RG_SEV_COUNT ? rg_severity_names[s] : "P?";
}
