/* state.h — what the commands that own the state directory share: serve,
 * and token and audit, which work on it directly (with or without a
 * running serve; SQLite serialises the writers). */
#ifndef RG_CMD_STATE_H
#define RG_CMD_STATE_H

#include "config/config.h"
#include "store/store.h"
#include "util/err.h"

/* Loads path into *cfg, printing its problems as FILE:LINE:COL; returns 0
 * or the exit code for a config that cannot be used (2). */
int rg_cmd_load_config(const char *path, rg_config *cfg);
/* Makes the state directory (0750) if needed and opens its store. */
rg_err rg_cmd_open_store(const rg_config *cfg, rg_store **out, rg_error *err);
/* "local:USER" for what a person at this machine does without a token:
 * the account the process runs as, not a variable they can set. */
void rg_cmd_local_actor(char *out, size_t size);

#endif
