/* configdiff.h — GET /api/v1/config/diff: what changed in an environment's
 * config_files between two releases, as a unified diff, values of keys
 * that look secret (or are in secret_keys) and known secrets masked. */
#ifndef RG_API_CONFIGDIFF_H
#define RG_API_CONFIGDIFF_H

#include <jansson.h>

#include "config/config.h"
#include "store/store.h"
#include "util/err.h"

/* from and to may be NULL: to is the live release, from the last known
 * good one before it. *out (caller's): {"env","from","to","files":[paths],
 * "diff": text ("" when nothing changed)}. RG_ENOTFOUND for a release that
 * has no snapshot. */
rg_err rg_api_config_diff(rg_store *s, const rg_env *env, const char *from, const char *to,
			  json_t **out, rg_error *err);

#endif
