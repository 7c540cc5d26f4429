/* cmd.h — one function per subcommand, each in src/cmd/<name>.c.
 * argv[0] is the subcommand's name; the return value is the exit code
 * (DESIGN §7: 0 done, 1 run ended otherwise, 2 usage, 3 no server, 4 refused). */
#ifndef RG_CMD_H
#define RG_CMD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"

int cmd_init(int argc, char **argv);
int cmd_lint(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_proxy(int argc, char **argv);   /* hidden: the data-plane process */
int cmd_deploy(int argc, char **argv);
int cmd_rollback(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_abort(int argc, char **argv);
int cmd_promote(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_approve(int argc, char **argv);
int cmd_reject(int argc, char **argv);
int cmd_flags(int argc, char **argv);
int cmd_flag(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_backups(int argc, char **argv);
int cmd_notifications(int argc, char **argv);
int cmd_incidents(int argc, char **argv);   /* incidents.c: incidents, incident, ack, note, */
int cmd_incident(int argc, char **argv);    /* resolve, checklist, postmortem */
int cmd_ack(int argc, char **argv);
int cmd_note(int argc, char **argv);
int cmd_resolve(int argc, char **argv);
int cmd_checklist(int argc, char **argv);
int cmd_postmortem(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_help(int argc, char **argv);

/* ---- help.c: what every command accepts, its usage text, and the parser
 * that enforces it (so the help and the parser cannot disagree). ---- */

/* One parsed command line; strings point into argv. */
#define RG_CLI_MAX_ENVS 16

typedef struct rg_cli_args {
	const char *env, *to, *reason, *limit, *comment, *before;
	const char *role, *expires;        /* token create */
	const char *note, *tick;           /* ack/resolve --note, checklist --tick */
	bool open;                         /* incidents --open */
	const char *envs[RG_CLI_MAX_ENVS]; /* token create --env, repeatable */
	int n_envs;                        /* may exceed RG_CLI_MAX_ENVS: refuse then */
	const char *config, *log_format;   /* -c/--config FILE, --log-format text|json */
	bool wait, watch, json, dry_run, force, help, emergency, skip_monitor;
	bool failed;                       /* notifications --failed */
	const char *operands[3];
	int noperands;
} rg_cli_args;

/* Parses argv (argv[0] is the command's name) against the options and
 * operands the help table gives cmd. RG_EINVAL names the offending argument:
 * "unknown option '--foo'", "unexpected argument 'x'", "missing --env". */
rg_err rg_cli_parse(const char *cmd, int argc, char **argv, rg_cli_args *out, rg_error *err);
/* rg_cli_parse for a command's entry point: true to go on; false when the
 * command is over with *exit_code (usage error printed: 2; --help shown: 0). */
bool rg_cli_args_get(const char *cmd, int argc, char **argv, rg_cli_args *out, int *exit_code);
/* The configuration a command reads or writes: -c FILE, else rollguard.yaml. */
const char *rg_cli_config_path(const rg_cli_args *a);

/* Checks of user input, before anything is sent (exit 2 on failure). */
rg_err rg_cli_check_name(const char *what, const char *value, rg_error *err);
rg_err rg_cli_check_step(const char *value, rg_error *err);
rg_err rg_cli_check_text(const char *what, const char *value, size_t max, rg_error *err);
rg_err rg_cli_parse_run_id(const char *s, int64_t *id, rg_error *err);
rg_err rg_cli_parse_limit(const char *s, int *limit, rg_error *err);

/* The full help of cmd; -1 when there is no such command. */
int rg_help_print(const char *cmd, FILE *out);
/* "usage: rollguard deploy VERSION --env E [--wait] [--json]" */
void rg_help_usage(const char *cmd, FILE *out);
/* Every command, grouped, one line each. */
void rg_help_overview(FILE *out);
/* The command name closest to word ("deplyo" → "deploy"), NULL if none is close. */
const char *rg_help_suggest(const char *word);
/* Says on stderr that word is no command (with a suggestion); returns 2. */
int rg_help_unknown(const char *word);

#endif
