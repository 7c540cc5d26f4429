/* state.c — loading the config and opening the state store (see state.h). */
#include "cmd/state.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"

int rg_cmd_load_config(const char *path, rg_config *cfg)
{
	rg_diags diags = { 0 };
	rg_error err = { 0 };
	rg_err rc = rg_config_load(path, cfg, &diags, &err);
	rg_diags_print(stderr, path, &diags);
	if (rc && diags.n == 0)
		fprintf(stderr, "error: %s\n", err.message);
	rg_diags_release(&diags);
	return rc ? RG_EXIT_USAGE : 0;
}

rg_err rg_cmd_open_store(const rg_config *cfg, rg_store **out, rg_error *err)
{
	char path[4096];
	if (mkdir(cfg->state_dir, 0750) != 0 && errno != EEXIST)
		return rg_fail(err, RG_EIO, "server.state", "cannot create '%s': %s", cfg->state_dir,
			       strerror(errno));
	snprintf(path, sizeof path, "%s/state.db", cfg->state_dir);
	return rg_store_open(path, out, err);
}

void rg_cmd_local_actor(char *out, size_t size)
{
	struct passwd *pw = getpwuid(geteuid());
	if (pw && pw->pw_name)
		snprintf(out, size, "local:%s", pw->pw_name);
	else
		snprintf(out, size, "local:uid %u", (unsigned)geteuid());
}
