/* command.c — the command router: the environment's `router: {command}`
 * runs with the route state in its environment and applies it however the
 * team's load balancer wants. It must never splice a value into the command
 * text, and the command sees exactly the variables listed here: nothing of
 * the server's own environment but PATH. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routers/routers_internal.h"
#include "util/duration.h"

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#define LOG_LIMIT (64 * 1024)
#define FIXED_VARS 10

static void free_env(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

static bool add(char **env, size_t *n, const char *key, const char *value)
{
	if (asprintf(&env[*n], "%s=%s", key, value) < 0) {
		env[*n] = NULL;
		return false;
	}
	(*n)++;
	return true;
}

/* NULL when out of memory. A `vars` entry named PATH replaces the server's. */
static char **build_env(const rg_config *cfg, const rg_env *e, const rg_route_state *st)
{
	char **env = calloc(FIXED_VARS + e->n_vars + 1, sizeof *env);
	if (!env)
		return NULL;
	size_t n = 0;
	bool own_path = false;
	for (size_t i = 0; i < e->n_vars; i++)
		own_path |= !strcmp(e->vars[i].key, "PATH");
	const char *path = getenv("PATH");
	char weight[16];
	snprintf(weight, sizeof weight, "%d", st->canary_weight);
	bool ok = (own_path || add(env, &n, "PATH", path && *path ? path : DEFAULT_PATH)) &&
		  add(env, &n, "ROLLGUARD_SERVICE", cfg->service ? cfg->service : "") &&
		  add(env, &n, "ROLLGUARD_ENV", e->name) &&
		  add(env, &n, "ROLLGUARD_CANARY_WEIGHT", weight) &&
		  add(env, &n, "ROLLGUARD_STABLE_VERSION", st->stable_version) &&
		  add(env, &n, "ROLLGUARD_STABLE_BACKENDS", st->stable) &&
		  add(env, &n, "ROLLGUARD_CANARY_VERSION", st->canary_version) &&
		  add(env, &n, "ROLLGUARD_CANARY_BACKENDS", st->canary) &&
		  add(env, &n, "ROLLGUARD_STANDBY_VERSION", st->standby_version) &&
		  add(env, &n, "ROLLGUARD_STANDBY_BACKENDS", st->standby);
	for (size_t i = 0; ok && i < e->n_vars; i++)
		ok = add(env, &n, e->vars[i].key, e->vars[i].value);
	if (!ok) {
		free_env(env);
		return NULL;
	}
	return env;
}

/* The last non-empty line of the command's output, for the error. */
static void last_line(const char *log, size_t len, char *buf, size_t size)
{
	while (len && (log[len - 1] == '\n' || log[len - 1] == '\r'))
		len--;
	size_t start = len;
	while (start && log[start - 1] != '\n')
		start--;
	size_t n = len - start;
	snprintf(buf, size, "%.*s", (int)(n > 200 ? 200 : n), log + start);
}

static void command_exited(rg_exec *x, const rg_exec_result *res, void *ctx)
{
	rg_route_op *op = ctx;
	size_t len = 0;
	const char *log = rg_exec_log(x, &len);
	char last[256], limit[32];
	last_line(log, len, last, sizeof last);
	rg_exec_free(x);
	op->exec = NULL;
	const char *sep = last[0] ? ": " : "";
	if (res->timed_out) {
		rg_duration_format(op->q->env->router_timeout_ms, limit, sizeof limit);
		rg_route_finish(op, RG_EIO, "command router: timed out after %s%s%s", limit, sep,
				last);
	} else if (res->term_signal) {
		rg_route_finish(op, RG_EIO, "command router: killed by signal %d%s%s",
				res->term_signal, sep, last);
	} else if (res->exit_code != 0) {
		rg_route_finish(op, RG_EIO, "command router: exit code %d%s%s", res->exit_code,
				last[0] ? sep : "", last[0] ? last : " (no output)");
	} else {
		rg_route_finish(op, RG_OK, "command router: applied");
	}
}

void rg_command_start(rg_route_op *op)
{
	const rg_config *cfg = op->r->cfg;
	const rg_env *e = op->q->env;
	char **env = build_env(cfg, e, &op->st);
	if (!env) {
		rg_route_deadline(op, 0, RG_ENOMEM, "command router: out of memory");
		return;
	}
	rg_exec_opts opts = {
		.command = e->router_command,
		.cwd = cfg->dir,
		.env = env,
		.timeout_ms = e->router_timeout_ms,
		.log_limit = LOG_LIMIT,
	};
	rg_error err = { 0 };
	rg_err rc = rg_exec_start(op->r->loop, &opts, command_exited, op, &op->exec, &err);
	free_env(env);
	if (rc != RG_OK) {
		op->exec = NULL;
		rg_route_deadline(op, 0, rc, "command router: %s", err.message);
	}
}
