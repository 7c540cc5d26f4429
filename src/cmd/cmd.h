/* cmd.h — one function per subcommand, each in src/cmd/<name>.c.
 * argv[0] is the subcommand's name; the return value is the exit code
 * (DESIGN §7: 0 done, 1 run ended otherwise, 2 usage, 3 no server, 4 refused). */
#ifndef RG_CMD_H
#define RG_CMD_H

int cmd_init(int argc, char **argv);
int cmd_lint(int argc, char **argv);
int cmd_serve(int argc, char **argv);
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
int cmd_version(int argc, char **argv);
int cmd_help(int argc, char **argv);

#endif
