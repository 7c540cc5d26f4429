/* lint.c — `rollguard lint [-c FILE]`: every problem of a config as
 * FILE:LINE:COL: message, the form editors and CI jump to.
 * It only reads the file: it never runs a command, writes or contacts a server. */
#include "cmd/cmd.h"

#include <stdio.h>
#include <string.h>

#include "config/config.h"

int cmd_lint(int argc, char **argv)
{
	rg_cli_args a;
	int code;
	if (!rg_cli_args_get("lint", argc, argv, &a, &code))
		return code;
	const char *path = rg_cli_config_path(&a);
	rg_config cfg;
	rg_diags diags = { 0 };
	rg_error err = { 0 };
	rg_err rc = rg_config_load(path, &cfg, &diags, &err);
	/* serve reads the channels' secrets when it starts: say now which are missing */
	if (rc == RG_OK)
		rc = rg_notify_secrets_load(&cfg, &diags, &err);
	rg_diags_print(stderr, path, &diags);
	if (rc == RG_OK) {
		printf("%s: ok\n", path);
		code = RG_EXIT_OK;
	} else if (rc == RG_EINVAL && diags.n > 0) {
		code = RG_EXIT_RUN_FAILED;
	} else if (rc == RG_ENOTFOUND) {
		fprintf(stderr, "error: %s (write a starter with 'rollguard init')\n", err.message);
		code = RG_EXIT_USAGE;
	} else {
		fprintf(stderr, "error: %s\n", err.message);
		code = rc == RG_ENOMEM ? RG_EXIT_RUN_FAILED : RG_EXIT_USAGE;
	}
	rg_diags_release(&diags);
	rg_config_release(&cfg);
	return code;
}
