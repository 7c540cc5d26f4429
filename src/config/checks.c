/* checks.c — the `checks:` section: named health checks, HTTP or command.
 * A check is one probe and nothing else; when it runs and what a failure
 * means is decided by the step or trigger that names it. */
#include "config/config_internal.h"

#include <stdio.h>
#include <string.h>

#include "util/names.h"

static const char *const check_keys[] = { "http", "run", "expect_status", "contains", "timeout",
					  NULL };

static const char *const check_kinds[] = { "http", "run", NULL };

static bool check_kind(rg_loader *l, const rg_ynode *v, rg_check *c)
{
	char what[128];
	snprintf(what, sizeof what, "check '%s'", c->name);
	int kind = rg_ld_which(l, v, check_kinds, what);
	if (kind == -1)
		rg_problem(l, v, "check '%s' needs 'http' (a URL) or 'run' (a command)", c->name);
	if (kind < 0)
		return false;
	c->kind = kind == 0 ? RG_CHECK_HTTP : RG_CHECK_COMMAND;
	return true;
}

static void only_with_http(rg_loader *l, const rg_ynode *v, const char *key)
{
	const rg_ynode *k = rg_ld_key(v, key);
	if (k)
		rg_problem(l, k, "'%s' is only valid with 'http'", key);
}

static void load_check(rg_loader *l, const rg_ynode *k, const rg_ynode *v, rg_check *c)
{
	c->line = k->line;
	c->col = k->col;
	c->expect_status = 200;
	c->timeout_ms = 10 * RG_MS_SECOND;
	if (!(c->name = rg_ld_strdup(l, k->text)))
		return;
	if (!rg_ident_valid(k->text))
		rg_problem(l, k, "invalid check name '%s' (use %s)", k->text, RG_IDENT_RULE);
	if (!rg_ld_expect(l, v, RG_YMAP, k->text))
		return;
	rg_ld_check_keys(l, v, "in check", check_keys);
	rg_ld_positive_duration(l, v, "timeout", &c->timeout_ms);
	if (!check_kind(l, v, c))
		return;
	if (c->kind == RG_CHECK_HTTP) {
		rg_ld_url(l, v, "http", &c->url);
		rg_ld_int(l, v, "expect_status", 100, 599, &c->expect_status);
		rg_ld_string(l, v, "contains", &c->contains);
	} else {
		rg_ld_string(l, v, "run", &c->run);
		only_with_http(l, v, "expect_status");
		only_with_http(l, v, "contains");
	}
}

void rg_ld_checks(rg_loader *l, const rg_ynode *map)
{
	rg_config *cfg = l->cfg;
	if (!rg_ld_expect(l, map, RG_YMAP, "checks"))
		return;
	rg_ld_check_keys(l, map, "in checks", NULL);
	if (!(cfg->checks = rg_ld_calloc(l, map->n / 2, sizeof *cfg->checks)))
		return;
	for (size_t i = 0; i < map->n; i += 2) {
		const rg_ynode *k = map->kids[i];
		if (k->type == RG_YSCALAR && rg_ld_key(map, k->text) == k)
			load_check(l, k, map->kids[i + 1], &cfg->checks[cfg->n_checks++]);
	}
}
