/* lint.c — `rollguard lint [-c FILE]`: every problem of a config as
 * FILE:LINE:COL: message, the form editors and CI jump to.
 * It only reads the file: it never runs a command, writes or contacts a server. */
#include "cmd/cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"

static int usage(FILE *to, int code)
{
	fputs("usage: rollguard lint [-c FILE]\n"
	      "\n"
	      "Checks a configuration and prints every problem as FILE:LINE:COL: message.\n"
	      "Exit 0 when it is valid, 1 when it has problems, 2 when it cannot be read.\n"
	      "\n"
	      "  -c, --config FILE   the configuration (default rollguard.yaml)\n"
	      "  -h, --help          this help\n",
	      to);
	return code;
}

/* Returns -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, const char **path)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	opterr = 0;
	optind = 0; /* glibc: a full reset, so a second call parses afresh */
	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		if (c == 'c') {
			*path = optarg;
		} else if (c == 'h') {
			return usage(stdout, RG_EXIT_OK);
		} else {
			if (optopt == 'c' || (optopt == 0 && !strncmp(argv[optind - 1], "--config", 8)))
				fprintf(stderr, "error: '%s' needs a file name\n", argv[optind - 1]);
			else
				fprintf(stderr, "error: unknown option '%s'\n", argv[optind - 1]);
			return usage(stderr, RG_EXIT_USAGE);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "error: unexpected argument '%s'\n", argv[optind]);
		return usage(stderr, RG_EXIT_USAGE);
	}
	return -1;
}

int cmd_lint(int argc, char **argv)
{
	const char *path = "rollguard.yaml";
	int code = parse_args(argc, argv, &path);
	if (code >= 0)
		return code;
	rg_config cfg;
	rg_diags diags = { 0 };
	rg_error err = { 0 };
	rg_err rc = rg_config_load(path, &cfg, &diags, &err);
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
