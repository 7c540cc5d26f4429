/* main.c — rollguard's table of contents: one line per command, each in
 * src/cmd/<name>.c as cmd_<name>. Besides finding the command it does only
 * what every command shares: the options before the command (--url, --help,
 * --version), `CMD --help` read as `help CMD`, and for the clients of the
 * API, ROLLGUARD_URL and libcurl's global setup. A command's own logic never
 * lives here. */
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"

#define NEEDS_SERVER (1u << 0)   /* a client of the API: --url / ROLLGUARD_URL apply */

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	unsigned flags;
} commands[] = {
	{ "init",     cmd_init,     0 },
	{ "lint",     cmd_lint,     0 },
	{ "serve",    cmd_serve,    0 },
	{ "proxy",    cmd_proxy,    0 },   /* hidden: the data plane serve starts */
	{ "deploy",   cmd_deploy,   NEEDS_SERVER },
	{ "rollback", cmd_rollback, NEEDS_SERVER },
	{ "status",   cmd_status,   NEEDS_SERVER },
	{ "history",  cmd_history,  NEEDS_SERVER },
	{ "show",     cmd_show,     NEEDS_SERVER },
	{ "logs",     cmd_logs,     NEEDS_SERVER },
	{ "abort",    cmd_abort,    NEEDS_SERVER },
	{ "promote",  cmd_promote,  NEEDS_SERVER },
	{ "pause",    cmd_pause,    NEEDS_SERVER },
	{ "resume",   cmd_resume,   NEEDS_SERVER },
	{ "approve",  cmd_approve,  NEEDS_SERVER },
	{ "reject",   cmd_reject,   NEEDS_SERVER },
	{ "backups",  cmd_backups,  NEEDS_SERVER },
	{ "notifications", cmd_notifications, NEEDS_SERVER },
	{ "incidents", cmd_incidents, NEEDS_SERVER },
	{ "incident", cmd_incident, NEEDS_SERVER },
	{ "ack",      cmd_ack,      NEEDS_SERVER },
	{ "note",     cmd_note,     NEEDS_SERVER },
	{ "resolve",  cmd_resolve,  NEEDS_SERVER },
	{ "checklist", cmd_checklist, NEEDS_SERVER },
	{ "postmortem", cmd_postmortem, NEEDS_SERVER },
	{ "backup",   cmd_backup,   0 },
	{ "config",   cmd_config,   NEEDS_SERVER },
	{ "flags",    cmd_flags,    NEEDS_SERVER },
	{ "flag",     cmd_flag,     NEEDS_SERVER },
	{ "token",    cmd_token,    0 },
	{ "audit",    cmd_audit,    0 },
	{ "version",  cmd_version,  0 },
	{ "help",     cmd_help,     0 },
};

static const struct command *command_find(const char *name)
{
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* `rollguard CMD --help` is `rollguard help CMD`, for every command alike. */
static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--help") || (argc == 2 && !strcmp(argv[i], "-h")))
			return true;
	return false;
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	rg_help_overview(stderr);
	return RG_EXIT_USAGE;
}

/* Options before the command: --url URL, --help, --version. Returns the
 * index of the command, or -1 with *code set when main is done. */
static int global_options(int argc, char **argv, const char **url, int *code)
{
	char *help[] = { "help", NULL }, *version[] = { "version", NULL };
	int i = 1;
	for (*code = -1; i < argc && argv[i][0] == '-' && *code < 0; i++) {
		if (!strcmp(argv[i], "--url") && i + 1 < argc)
			*url = argv[++i];
		else if (!strncmp(argv[i], "--url=", 6))
			*url = argv[i] + 6;
		else if (!strcmp(argv[i], "--url"))
			*code = usage_error("option '%s' needs a value (URL)", argv[i]);
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			*code = cmd_help(1, help);
		else if (!strcmp(argv[i], "--version"))
			*code = cmd_version(1, version);
		else
			*code = usage_error("unknown option '%s'", argv[i]);
	}
	if (*code < 0 && i == argc) {
		rg_help_overview(stderr);
		*code = RG_EXIT_USAGE;
	}
	return *code < 0 ? i : -1;
}

static int run(const struct command *cmd, int argc, char **argv, const char *url)
{
	if (url && !(cmd->flags & NEEDS_SERVER)) {
		fprintf(stderr, "error: --url does not apply to '%s'\n", cmd->name);
		return RG_EXIT_USAGE;
	}
	if (url && setenv("ROLLGUARD_URL", url, 1) != 0) {
		fprintf(stderr, "error: cannot set ROLLGUARD_URL\n");
		return RG_EXIT_RUN_FAILED;
	}
	if (!(cmd->flags & NEEDS_SERVER))
		return cmd->fn(argc, argv);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "error: cannot start the http client\n");
		return RG_EXIT_RUN_FAILED;
	}
	int code = cmd->fn(argc, argv);
	curl_global_cleanup();
	return code;
}

int main(int argc, char **argv)
{
	const char *url = NULL;
	int code = 0;
	int i = global_options(argc, argv, &url, &code);
	if (i < 0)
		return code;
	const struct command *cmd = command_find(argv[i]);
	if (!cmd)
		return rg_help_unknown(argv[i]);
	if (wants_help(argc - i, argv + i))
		return rg_help_print(cmd->name, stdout) == 0 ? RG_EXIT_OK : RG_EXIT_USAGE;
	return run(cmd, argc - i, argv + i, url);
}
