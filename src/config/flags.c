/* flags.c — the `flags:` section: feature flags and how each stands in each
 * environment. A flag has one type, taken from its `default` (a plain
 * true/false is boolean, a plain number is a number, anything else a
 * string), and its `value` must have the same type: an application asking
 * for a boolean must never be handed "true" as text. */
#include "config/config_internal.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/duration.h"
#include "util/names.h"

static const char *const flag_keys[] = { "default", "value", "description", "envs", NULL };
static const char *const flag_env_keys[] = { "enabled", "rollout", "targets", NULL };
static const char *const type_names[] = { "boolean", "string", "number" };

/* The scalar v as the JSON text of its value and its type; false (and
 * reported) for a mapping, a sequence or a null. */
static bool flag_value(rg_loader *l, const rg_ynode *v, const char *key, rg_flag_type *type,
		       char **json)
{
	const char *text;
	if (!rg_ld_text(l, v, key, &text))
		return false;
	double num;
	json_t *j;
	if (v->plain && (!strcmp(text, "true") || !strcmp(text, "false"))) {
		*type = RG_FLAG_BOOL;
		j = json_boolean(text[0] == 't');
	} else if (v->plain && rg_number_parse(text, &num) == 0) {
		*type = RG_FLAG_NUMBER;
		j = num == floor(num) && fabs(num) < 9e15 ? json_integer((json_int_t)num) : json_real(num);
	} else {
		*type = RG_FLAG_STRING;
		j = json_string(text);
	}
	*json = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	json_decref(j);
	if (!*json)
		l->oom = true;
	return *json != NULL;
}

/* rollout: a whole percentage, since a targeting key falls in one of 100
 * buckets ("20%" or "0.2"). */
static void load_rollout(rg_loader *l, const rg_ynode *map, rg_flag_env *fe)
{
	const rg_ynode *v = rg_ld_value(map, "rollout");
	const char *s;
	double d;
	if (!v || !rg_ld_text(l, v, "rollout", &s))
		return;
	if (rg_percent_parse(s, &d) != 0 || fabs(d * 100 - round(d * 100)) > 1e-9) {
		rg_problem(l, v, "invalid rollout '%s' (use a whole percentage from 0%% to 100%%, like 20%%)",
			   s);
		return;
	}
	fe->rollout = (int)round(d * 100);
}

static void load_targets(rg_loader *l, const rg_ynode *map, rg_flag_env *fe)
{
	if (!rg_ld_strings(l, map, "targets", &fe->targets, &fe->n_targets))
		return;
	const rg_ynode *seq = rg_ld_value(map, "targets");
	for (size_t i = 0; i < fe->n_targets; i++)
		if (fe->targets[i] && strlen(fe->targets[i]) > 256)
			rg_problem(l, seq->kids[i], "a target must be at most 256 characters");
}

static void load_flag_env(rg_loader *l, const rg_ynode *k, const rg_ynode *v, rg_flag_env *fe)
{
	fe->line = k->line;
	fe->col = k->col;
	fe->enabled = true;
	fe->rollout = 100;
	if (!(fe->env = rg_ld_strdup(l, k->text)))
		return;
	if (!rg_config_env(l->cfg, k->text)) {
		const char **defined = rg_ld_calloc(l, l->cfg->n_envs + 1, sizeof *defined);
		for (size_t i = 0; defined && i < l->cfg->n_envs; i++)
			defined[i] = l->cfg->envs[i].name ? l->cfg->envs[i].name : "";
		if (defined)
			rg_ld_undefined(l, k, "unknown environment", k->text, defined);
		free(defined);
	}
	if (rg_ynode_is_null(v))
		return;   /* "staging:" alone: on for everyone */
	if (!rg_ld_expect(l, v, RG_YMAP, k->text))
		return;
	rg_ld_check_keys(l, v, "in a flag's environment", flag_env_keys);
	rg_ld_bool(l, v, "enabled", &fe->enabled);
	load_rollout(l, v, fe);
	load_targets(l, v, fe);
}

static void load_flag_envs(rg_loader *l, const rg_ynode *v, rg_flag *f)
{
	if (!rg_ld_expect(l, v, RG_YMAP, "envs"))
		return;
	rg_ld_check_keys(l, v, "in envs", NULL);
	if (!(f->envs = rg_ld_calloc(l, v->n / 2, sizeof *f->envs)))
		return;
	for (size_t i = 0; i < v->n; i += 2) {
		const rg_ynode *k = v->kids[i];
		if (k->type == RG_YSCALAR && rg_ld_key(v, k->text) == k)
			load_flag_env(l, k, v->kids[i + 1], &f->envs[f->n_envs++]);
	}
}

/* default gives the type; value must agree, and is required unless boolean. */
static void load_values(rg_loader *l, const rg_ynode *v, rg_flag *f)
{
	if (!rg_ld_require(l, v, "default", "in flag") ||
	    !flag_value(l, rg_ld_value(v, "default"), "default", &f->type, &f->off_json))
		return;
	const rg_ynode *on = rg_ld_value(v, "value");
	if (!on) {
		if (f->type == RG_FLAG_BOOL)
			f->on_json = rg_ld_strdup(l, "true");
		else
			rg_problem(l, v, "flag '%s' needs 'value' (the %s served when it is on)", f->name,
				   type_names[f->type]);
		return;
	}
	rg_flag_type on_type;
	if (!flag_value(l, on, "value", &on_type, &f->on_json))
		return;
	if (on_type != f->type)
		rg_problem(l, on, "'value' of flag '%s' must be a %s like its default (got a %s)",
			   f->name, type_names[f->type], type_names[on_type]);
}

static void load_flag(rg_loader *l, const rg_ynode *k, const rg_ynode *v, rg_flag *f)
{
	f->line = k->line;
	f->col = k->col;
	if (!(f->name = rg_ld_strdup(l, k->text)))
		return;
	if (!rg_name_valid(k->text))
		rg_problem(l, k, "invalid flag name '%s' (use %s)", k->text, RG_NAME_RULE);
	if (!rg_ld_expect(l, v, RG_YMAP, k->text))
		return;
	rg_ld_check_keys(l, v, "in flag", flag_keys);
	load_values(l, v, f);
	rg_ld_string(l, v, "description", &f->description);
	if (rg_ld_value(v, "envs"))
		load_flag_envs(l, rg_ld_value(v, "envs"), f);
}

void rg_ld_flags(rg_loader *l, const rg_ynode *map)
{
	rg_config *cfg = l->cfg;
	if (!rg_ld_expect(l, map, RG_YMAP, "flags"))
		return;
	rg_ld_check_keys(l, map, "in flags", NULL);
	if (!(cfg->flags = rg_ld_calloc(l, map->n / 2, sizeof *cfg->flags)))
		return;
	for (size_t i = 0; i < map->n; i += 2) {
		const rg_ynode *k = map->kids[i];
		if (k->type == RG_YSCALAR && rg_ld_key(map, k->text) == k)
			load_flag(l, k, map->kids[i + 1], &cfg->flags[cfg->n_flags++]);
	}
}

void rg_flags_cfg_release(rg_config *cfg)
{
	for (size_t i = 0; cfg->flags && i < cfg->n_flags; i++) {
		rg_flag *f = &cfg->flags[i];
		for (size_t j = 0; f->envs && j < f->n_envs; j++) {
			free(f->envs[j].env);
			for (size_t t = 0; f->envs[j].targets && t < f->envs[j].n_targets; t++)
				free(f->envs[j].targets[t]);
			free(f->envs[j].targets);
		}
		free(f->envs);
		free(f->name);
		free(f->off_json);
		free(f->on_json);
		free(f->description);
	}
	free(cfg->flags);
	cfg->flags = NULL;
	cfg->n_flags = 0;
}

const rg_flag *rg_config_flag(const rg_config *cfg, const char *name)
{
	for (size_t i = 0; cfg && name && i < cfg->n_flags; i++)
		if (cfg->flags[i].name && strcmp(cfg->flags[i].name, name) == 0)
			return &cfg->flags[i];
	return NULL;
}

const rg_flag_env *rg_flag_env_of(const rg_flag *f, const char *env)
{
	for (size_t i = 0; f && env && i < f->n_envs; i++)
		if (f->envs[i].env && strcmp(f->envs[i].env, env) == 0)
			return &f->envs[i];
	return NULL;
}
