/* stepenv.c — building "K=V" lists for child processes.
 * Keys are validated names; values are copied verbatim and never
 * interpreted, so a version like '$(touch x)' stays inert text. */
#include "engine/stepenv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/names.h"

extern char **environ;

static rg_err push(rg_envlist *l, char *kv, rg_error *err)
{
	/* One more slot than items: the list stays NULL-terminated for exec. */
	if (RG_ALLOC_GROW(l->items, l->n + 2, l->cap)) {
		free(kv);
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	}
	l->items[l->n++] = kv;
	l->items[l->n] = NULL;
	return RG_OK;
}

/* What commands never see of serve's environment: rollguard's own
 * variables and those holding secrets. */
static bool withheld(const rg_config *cfg, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t name_len = eq ? (size_t)(eq - kv) : strlen(kv);
	return strncmp(kv, "ROLLGUARD_", 10) == 0 || (cfg && rg_config_secret_var(cfg, kv, name_len));
}

rg_err rg_envlist_inherit(rg_envlist *l, const rg_config *cfg, rg_error *err)
{
	memset(l, 0, sizeof *l);
	for (char **e = environ; e && *e; e++) {
		if (withheld(cfg, *e))
			continue;
		char *copy = strdup(*e);
		rg_err rc = copy ? push(l, copy, err) : rg_fail(err, RG_ENOMEM, NULL, "out of memory");
		if (rc)
			return rc;
	}
	return RG_OK;
}

rg_err rg_envlist_set(rg_envlist *l, const char *key, const char *value, rg_error *err)
{
	char *kv;
	if (asprintf(&kv, "%s=%s", key, value ? value : "") < 0)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	size_t klen = strlen(key) + 1;
	for (size_t i = 0; i < l->n; i++) {
		if (strncmp(l->items[i], kv, klen) == 0) {
			free(l->items[i]);
			l->items[i] = kv;
			return RG_OK;
		}
	}
	return push(l, kv, err);
}

rg_err rg_envlist_set_outputs(rg_envlist *l, const char *prefix, const rg_output *o, size_t n,
			      rg_error *err)
{
	for (size_t i = 0; i < n; i++) {
		char name[256];
		if (rg_env_var_name(name, sizeof name, prefix, o[i].step, o[i].key) < 0)
			continue;
		rg_err rc = rg_envlist_set(l, name, o[i].value, err);
		if (rc)
			return rc;
	}
	return RG_OK;
}

void rg_envlist_release(rg_envlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	memset(l, 0, sizeof *l);
}
