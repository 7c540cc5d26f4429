/* steps.c — the `deploy:` and `rollback:` pipelines: ordered, named steps.
 * A step does exactly one thing (run a command, run checks, or shift
 * traffic); a rollback step may only run a command, since it must work when
 * everything else is broken. */
#include "config/config_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/names.h"

static const char *const step_keys[] = { "name",     "run",        "undo",          "checks",
					 "traffic",  "timeout",    "retries",       "retry_backoff",
					 "severity", "on_failure", "rerun",         "environments",
					 "kill_grace", "backup", "migrate", NULL };
static const char *const step_kinds[] = { "run", "checks", "traffic", "backup", "migrate", NULL };
static const char *const backup_keys[] = { "run", "restore", "keep", "verify", NULL };
static const char *const migrate_keys[] = { "up", "down", "current", "reversible", NULL };
static const char *const on_failure_names[] = { "rollback", "halt", NULL };

static void defaults(rg_step *s, const rg_ynode *v)
{
	s->line = v->line;
	s->col = v->col;
	s->timeout_ms = 10 * RG_MS_MINUTE;
	s->retry_backoff_ms = RG_MS_SECOND;
	s->severity = RG_SEV_P1;
	s->on_failure = RG_ON_FAILURE_ROLLBACK;
	s->rerun = true;
}

/* The step's name, reported at the name; duplicates point at the first. */
static void load_name(rg_loader *l, const rg_ynode *v, rg_step *s, const rg_step *earlier,
		      size_t n_earlier)
{
	if (!rg_ld_require(l, v, "name", "in step") || !rg_ld_string(l, v, "name", &s->name))
		return;
	const rg_ynode *at = rg_ld_value(v, "name");
	if (!rg_ident_valid(s->name)) {
		rg_problem(l, at, "invalid step name '%s' (use %s)", s->name, RG_IDENT_RULE);
		return;
	}
	for (size_t i = 0; i < n_earlier; i++) {
		if (earlier[i].name && strcmp(earlier[i].name, s->name) == 0) {
			rg_problem(l, at, "duplicate step name '%s' (first at %d:%d)", s->name,
				   earlier[i].line, earlier[i].col);
			return;
		}
	}
}

static void load_environments(rg_loader *l, const rg_ynode *v, rg_step *s)
{
	const rg_config *cfg = l->cfg;
	rg_ld_strings(l, v, "environments", &s->environments, &s->n_environments);
	if (!s->environments)
		return;
	const char **defined = rg_ld_calloc(l, cfg->n_envs + 1, sizeof *defined);
	if (!defined)
		return;
	for (size_t i = 0; i < cfg->n_envs; i++)
		defined[i] = cfg->envs[i].name ? cfg->envs[i].name : "";
	const rg_ynode *list = rg_ld_value(v, "environments");
	for (size_t i = 0; i < s->n_environments; i++)
		if (s->environments[i] && !rg_config_env(cfg, s->environments[i]))
			rg_ld_undefined(l, list->kids[i], "unknown environment", s->environments[i],
					defined);
	free(defined);
}

static void load_checks(rg_loader *l, const rg_ynode *v, rg_step *s)
{
	const rg_config *cfg = l->cfg;
	rg_ld_strings(l, v, "checks", &s->checks, &s->n_checks);
	if (!s->checks)
		return;
	const char **defined = rg_ld_calloc(l, cfg->n_checks + 1, sizeof *defined);
	if (!defined)
		return;
	for (size_t i = 0; i < cfg->n_checks; i++)
		defined[i] = cfg->checks[i].name ? cfg->checks[i].name : "";
	const rg_ynode *list = rg_ld_value(v, "checks");
	for (size_t i = 0; i < s->n_checks; i++)
		if (s->checks[i] && !rg_config_check(cfg, s->checks[i]))
			rg_ld_undefined(l, list->kids[i], "undefined check", s->checks[i], defined);
	free(defined);
}

/* A backup step is a command rollguard knows the artifacts of: it must say
 * how to put them back (restore), and is never undone itself. */
static void load_backup(rg_loader *l, const rg_ynode *v, rg_step *s)
{
	if (!rg_ld_expect(l, v, RG_YMAP, "backup") || !(s->backup = rg_ld_calloc(l, 1, sizeof *s->backup)))
		return;
	s->backup->keep = 10;
	rg_ld_check_keys(l, v, "in backup", backup_keys);
	if (rg_ld_require(l, v, "run", "in backup"))
		rg_ld_string(l, v, "run", &s->run);
	if (rg_ld_require(l, v, "restore", "in backup"))
		rg_ld_string(l, v, "restore", &s->backup->restore);
	rg_ld_string(l, v, "verify", &s->backup->verify);
	rg_ld_int(l, v, "keep", 1, 1000, &s->backup->keep);
}

/* The step's command: `up`, then — unless `up` wrote `schema=` itself —
 * the first word of the first line `current` prints, appended to
 * $ROLLGUARD_OUTPUT as `schema=` (checked against the version pattern when
 * the step ends, engine/forward.c). Both are the file's own commands;
 * each stands on lines of its own so a trailing comment ends with it. */
static char *migrate_command(rg_loader *l, const rg_migrate_cfg *m)
{
	static const char fmt[] =
		"{\n%s\n} && if ! grep -q '^schema=' \"$ROLLGUARD_OUTPUT\" 2>/dev/null; then"
		" rg_schema=$(\n%s\n) && printf 'schema=%%s\\n' \"$(printf '%%s\\n' \"$rg_schema\""
		" | awk 'NR==1{print $1}')\" >> \"$ROLLGUARD_OUTPUT\"; fi";
	if (!m->current)
		return rg_ld_strdup(l, m->up);
	size_t n = sizeof fmt + strlen(m->up) + strlen(m->current);
	char *out = rg_ld_calloc(l, n, 1);
	if (out)
		snprintf(out, n, fmt, m->up, m->current);
	return out;
}

/* A migrate step changes the schema; a rollback takes it back with `down`
 * (reversible) or by restoring the pre-deploy backup, never by `undo`. */
static void load_migrate(rg_loader *l, const rg_ynode *v, rg_step *s)
{
	if (!rg_ld_expect(l, v, RG_YMAP, "migrate") ||
	    !(s->migrate = rg_ld_calloc(l, 1, sizeof *s->migrate)))
		return;
	s->migrate->reversible = true;
	rg_ld_check_keys(l, v, "in migrate", migrate_keys);
	if (rg_ld_require(l, v, "up", "in migrate"))
		rg_ld_string(l, v, "up", &s->migrate->up);
	rg_ld_bool(l, v, "reversible", &s->migrate->reversible);
	if (s->migrate->reversible && !rg_ld_value(v, "down"))
		rg_problem(l, v, "missing 'down' in migrate (or say 'reversible: false': a rollback then restores the backup)");
	rg_ld_string(l, v, "down", &s->migrate->down);
	rg_ld_string(l, v, "current", &s->migrate->current);
	if (s->migrate->up)
		s->run = migrate_command(l, s->migrate);
}

/* Reads what the step does; returns false when that cannot be known. */
static bool load_kind(rg_loader *l, const rg_ynode *v, rg_step *s, bool rollback,
		      const rg_step *earlier, size_t n_earlier)
{
	char what[96];
	if (s->name)
		snprintf(what, sizeof what, "step '%s'", s->name);
	else
		snprintf(what, sizeof what, "step");
	int kind = rg_ld_which(l, v, step_kinds, what);
	if (kind == -1)
		rg_problem(l, v, "%s needs 'run', 'checks', 'traffic', 'backup' or 'migrate'", what);
	if (kind < 0)
		return false;
	if (rollback && kind != 0) {
		rg_problem(l, rg_ld_key(v, step_kinds[kind]),
			   "rollback steps may only use 'run' (found '%s')", step_kinds[kind]);
		return false;
	}
	s->kind = kind == 0 || kind >= 3 ? RG_STEP_EXEC : kind == 1 ? RG_STEP_CHECKS : RG_STEP_TRAFFIC;
	if (kind == 3)
		load_backup(l, rg_ld_value(v, "backup"), s);
	else if (kind == 4)
		load_migrate(l, rg_ld_value(v, "migrate"), s);
	else if (s->kind == RG_STEP_EXEC)
		rg_ld_string(l, v, "run", &s->run);
	else if (s->kind == RG_STEP_CHECKS)
		load_checks(l, v, s);
	else
		rg_ld_traffic(l, rg_ld_value(v, "traffic"), earlier, n_earlier, &s->traffic);
	return true;
}

static void load_undo(rg_loader *l, const rg_ynode *v, rg_step *s, bool rollback)
{
	const rg_ynode *k = rg_ld_key(v, "undo");
	if (!k)
		return;
	if (rollback)
		rg_problem(l, k, "'undo' is not valid in a rollback step");
	else if (s->kind != RG_STEP_EXEC || s->backup || s->migrate)
		rg_problem(l, k, "'undo' is only valid with 'run'%s",
			   s->backup ? " (a backup is put back by its 'restore', when a rollback needs it)"
			   : s->migrate ? " (a migration is taken back by its 'down', or by restoring the backup)" : "");
	else
		rg_ld_string(l, v, "undo", &s->undo);
}

/* A traffic step needs something to shift traffic with in every
 * environment it runs in; finding out at the canary would be too late. */
static void check_routed(rg_loader *l, const rg_ynode *v, const rg_step *s)
{
	const rg_config *cfg = l->cfg;
	if (rg_ld_value(v, "environments") && !s->environments)
		return; /* a broken list is reported already; "all" would be a guess */
	for (size_t i = 0; i < cfg->n_envs; i++) {
		const rg_env *e = &cfg->envs[i];
		bool applies = s->n_environments == 0;
		for (size_t k = 0; k < s->n_environments && !applies; k++)
			applies = s->environments[k] && e->name && !strcmp(s->environments[k], e->name);
		if (applies && e->name && e->router == RG_ROUTER_NONE)
			rg_problem(l, rg_ld_key(v, "traffic"),
				   "step '%s' shifts traffic, but environment '%s' has no proxy or router",
				   s->name ? s->name : "?", e->name);
	}
}

static void load_step(rg_loader *l, const rg_ynode *v, rg_step *s, bool rollback,
		      const rg_step *earlier, size_t n_earlier)
{
	defaults(s, v);
	if (!rg_ld_expect(l, v, RG_YMAP, "step"))
		return;
	rg_ld_check_keys(l, v, "in step", step_keys);
	load_name(l, v, s, earlier, n_earlier);
	if (load_kind(l, v, s, rollback, earlier, n_earlier))
		load_undo(l, v, s, rollback);
	rg_ld_positive_duration(l, v, "timeout", &s->timeout_ms);
	if (rg_ld_value(v, "kill_grace"))   /* absent: 0, the environment's grace */
		rg_ld_positive_duration(l, v, "kill_grace", &s->kill_grace_ms);
	rg_ld_int(l, v, "retries", 0, 100, &s->retries);
	rg_ld_duration(l, v, "retry_backoff", &s->retry_backoff_ms);
	rg_ld_severity(l, v, "severity", &s->severity);
	int f = (int)s->on_failure;
	if (rg_ld_choice(l, v, "on_failure", on_failure_names, &f))
		s->on_failure = (rg_on_failure)f;
	rg_ld_bool(l, v, "rerun", &s->rerun);
	if (rg_ld_value(v, "environments"))
		load_environments(l, v, s);
	if (s->kind == RG_STEP_TRAFFIC && !rollback)
		check_routed(l, v, s);
}

void rg_ld_pipeline(rg_loader *l, const rg_ynode *seq, bool rollback, rg_step **out,
		    size_t *n)
{
	const char *key = rollback ? "rollback" : "deploy";
	if (!rg_ld_expect(l, seq, RG_YSEQ, key))
		return;
	if (seq->n == 0) {
		rg_problem(l, seq, "'%s' must have at least one step", key);
		return;
	}
	if (!(*out = rg_ld_calloc(l, seq->n, sizeof **out)))
		return;
	for (size_t i = 0; i < seq->n; i++) {
		load_step(l, seq->kids[i], &(*out)[i], rollback, *out, i);
		*n = i + 1;
	}
}
