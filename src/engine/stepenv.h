/* stepenv.h — the environment a step command runs with.
 * This is the only way values reach commands: as environment variables,
 * never spliced into command text. The server's own ROLLGUARD_* variables
 * (tokens, test hooks) and the variables that hold secrets
 * (server.secret_env, the alerts secret) are never passed on. */
#ifndef RG_STEPENV_H
#define RG_STEPENV_H

#include <stddef.h>

#include "config/config.h"
#include "store/store.h"
#include "util/err.h"

typedef struct rg_envlist {
	char **items;   /* owned "K=V" strings, NULL-terminated when n > 0 */
	size_t n, cap;
} rg_envlist;

/* Starts from the server's environment, less any ROLLGUARD_* variable and
 * any variable cfg knows to hold a secret (rg_config_secret_var). */
rg_err rg_envlist_inherit(rg_envlist *l, const rg_config *cfg, rg_error *err);
/* Sets key=value, replacing an earlier value of key. */
rg_err rg_envlist_set(rg_envlist *l, const char *key, const char *value, rg_error *err);
/* ROLLGUARD_<prefix>_<STEP>_<KEY>=value for every output. */
rg_err rg_envlist_set_outputs(rg_envlist *l, const char *prefix, const rg_output *o, size_t n,
			      rg_error *err);
void rg_envlist_release(rg_envlist *l);

#endif
