/* configdiff.c — the config diff between two releases' snapshots. Both
 * sides are masked before they are compared, so a changed password shows
 * as a changed line with *** on both sides and never as its value. */
#include "api/configdiff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/textdiff.h"

static rg_err pick(rg_store *s, const rg_env *env, const char **from, const char **to,
		   rg_release *live, rg_release *before, rg_error *err)
{
	if (!*to) {
		if (rg_store_release_current(s, env->name, live, NULL) != RG_OK)
			return rg_fail(err, RG_ENOTFOUND, "to", "environment '%s' has no live release", env->name);
		*to = live->version;
	}
	if (!*from) {
		if (rg_store_release_last_known_good(s, env->name, *to, before, NULL) != RG_OK)
			return rg_fail(err, RG_ENOTFOUND, "from", "no known-good release before %s in '%s'",
				       *to, env->name);
		*from = before->version;
	}
	rg_release r;
	const char *names[] = { *from, *to };
	for (int i = 0; i < 2; i++)
		if (rg_store_release_get(s, env->name, names[i], &r, NULL) != RG_OK)
			return rg_fail(err, RG_ENOTFOUND, i ? "to" : "from", "unknown release '%s' in '%s'",
				       names[i], env->name);
	return RG_OK;
}

static const rg_config_file *find(const rg_config_file *f, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(f[i].path, path) == 0)
			return &f[i];
	return NULL;
}

/* The masked text of f (empty for a file the release did not have). */
static char *masked(rg_store *s, const rg_env *env, const rg_config_file *f)
{
	char *plain = NULL;
	if (rg_secrets_redact_dup(rg_store_secrets(s), f ? (const char *)f->content : "",
				  f ? f->len : 0, &plain, NULL, NULL) != RG_OK)
		return NULL;
	char *out = rg_mask_secret_values(plain, (const char *const *)env->secret_keys, env->n_secret_keys);
	free(plain);
	return out;
}

static rg_err diff_file(rg_store *s, const rg_env *env, const char *path, const char *from,
			const char *to, const rg_config_file *a, const rg_config_file *b,
			rg_strbuf *out, rg_error *err)
{
	char *ta = masked(s, env, a), *tb = masked(s, env, b), la[400], lb[400];
	snprintf(la, sizeof la, "%s/%s%s", from, path, a ? "" : " (absent)");
	snprintf(lb, sizeof lb, "%s/%s%s", to, path, b ? "" : " (absent)");
	rg_err rc = ta && tb ? rg_text_diff(ta, tb, la, lb, out, err)
			     : rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	free(ta);
	free(tb);
	return rc;
}

rg_err rg_api_config_diff(rg_store *s, const rg_env *env, const char *from, const char *to,
			  json_t **out, rg_error *err)
{
	rg_release live, before;
	rg_config_file *fa = NULL, *fb = NULL;
	size_t na = 0, nb = 0;
	rg_strbuf diff;
	rg_strbuf_init(&diff);
	rg_err rc = pick(s, env, &from, &to, &live, &before, err);
	if (!rc)
		rc = rg_store_release_config_get(s, env->name, from, &fa, &na, err);
	if (!rc)
		rc = rg_store_release_config_get(s, env->name, to, &fb, &nb, err);
	if (!rc && !na && !nb)
		rc = rg_fail(err, RG_ENOTFOUND, NULL, "neither %s nor %s has a config snapshot in '%s'",
			     from, to, env->name);
	json_t *paths = json_array();
	for (size_t i = 0; !rc && i < env->n_config_files; i++) {
		const char *p = env->config_files[i];
		json_array_append_new(paths, json_string(p));
		rc = diff_file(s, env, p, from, to, find(fa, na, p), find(fb, nb, p), &diff, err);
	}
	if (!rc && rg_strbuf_addstr(&diff, ""))
		rc = rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	if (!rc)
		*out = json_pack("{s:s, s:s, s:s, s:O, s:s}", "env", env->name, "from", from, "to", to,
				 "files", paths, "diff", diff.buf ? diff.buf : "");
	json_decref(paths);
	rg_strbuf_release(&diff);
	rg_config_files_free(fa, na);
	rg_config_files_free(fb, nb);
	if (!rc && !*out)
		rc = rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	return rc;
}
