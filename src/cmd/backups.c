/* backups.c — `rollguard backups [--env E] [--json]`: the backups the
 * server recorded (GET /api/v1/backups); and `rollguard backup verify ID`:
 * the backup's files against their recorded sizes and SHA-256, then the
 * step's `verify` command — on the state directory directly, like token
 * and audit, so a backup can be checked with serve stopped. The result is
 * recorded with the backup and in the audit log. */
#include "cmd/cmd.h"

#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "auth/audit.h"
#include "backup/artifacts.h"
#include "cmd/client.h"
#include "cmd/output.h"
#include "cmd/state.h"
#include "engine/stepenv.h"
#include "util/timeutil.h"

static rg_err backup_row(rg_out_table *t, const json_t *b, rg_error *err)
{
	char id[24], run[24], taken[40], files[24], bytes[32], verified[600];
	snprintf(id, sizeof id, "%lld", (long long)rg_out_int(b, "id", 0));
	snprintf(run, sizeof run, "%lld", (long long)rg_out_int(b, "run_id", 0));
	rg_out_time(taken, sizeof taken, rg_out_ms(b, "created"));
	snprintf(files, sizeof files, "%zu", json_array_size(json_object_get(b, "files")));
	snprintf(bytes, sizeof bytes, "%lld", (long long)rg_out_int(b, "bytes", 0));
	snprintf(verified, sizeof verified, "%s", rg_out_str_or(b, "verify_result", "-"));
	const char *cells[] = { id, rg_out_str(b, "env"), rg_out_str(b, "version"), run, taken,
				files, bytes, rg_out_str(b, "state"), verified };
	return rg_out_table_add(t, cells, err);
}

static int backups_print(const json_t *list)
{
	static const char *const headers[] = { "ID", "ENV", "RELEASE", "RUN", "TAKEN", "FILES",
					       "BYTES", "STATE", "VERIFIED" };
	return rg_out_list_table(list, "no backups recorded", headers,
				 sizeof headers / sizeof *headers, backup_row);
}

int cmd_backups(int argc, char **argv)
{
	rg_cli_args a;
	rg_error e;
	int code;
	char path[160];
	if (!rg_cli_args_get("backups", argc, argv, &a, &code))
		return code;
	rg_error_clear(&e);
	if (a.env && rg_cli_check_name("environment", a.env, &e))
		return rg_out_error(&e);
	snprintf(path, sizeof path, "/backups%s%s", a.env ? "?env=" : "", a.env ? a.env : "");
	return rg_client_list(a.config, path, "backups", a.json, backups_print);
}

/* The step's verify command, as steps run: in the config's directory, the
 * values only in the environment, secrets withheld. Its output is the
 * person's to read. */
static rg_err run_verify(const rg_config *cfg, const rg_backup *b, const char *command,
			 rg_error *err)
{
	rg_envlist env = { 0 };
	char id[24];
	snprintf(id, sizeof id, "%lld", (long long)b->id);
	rg_err rc = rg_envlist_inherit(&env, cfg, err);
	const char *pairs[][2] = { { "ROLLGUARD_BACKUP_DIR", b->dir }, { "ROLLGUARD_BACKUP_ID", id },
				   { "ROLLGUARD_ENV", b->env }, { "ROLLGUARD_VERSION", b->version },
				   { "ROLLGUARD_SERVICE", cfg->service } };
	for (size_t i = 0; !rc && i < sizeof pairs / sizeof *pairs; i++)
		rc = rg_envlist_set(&env, pairs[i][0], pairs[i][1], err);
	if (rc) {
		rg_envlist_release(&env);
		return rc;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addchdir_np(&fa, cfg->dir);
	char *argv[] = { "/bin/sh", "-c", (char *)command, NULL };
	pid_t pid;
	int status = 0, e = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, env.items);
	posix_spawn_file_actions_destroy(&fa);
	rg_envlist_release(&env);
	if (e)
		return rg_fail(err, RG_EIO, NULL, "cannot run the verify command: %s", strerror(e));
	while (waitpid(pid, &status, 0) < 0)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return RG_OK;
	return rg_fail(err, RG_EINVAL, NULL, "the verify command %s %d",
		       WIFEXITED(status) ? "exited" : "was killed by signal",
		       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

static rg_err verify_backup(const rg_config *cfg, const rg_backup *b, rg_error *err)
{
	if (b->pruned)
		return rg_fail(err, RG_EINVAL, NULL, "backup %lld was pruned; its files are gone",
			       (long long)b->id);
	rg_err rc = rg_artifacts_check(b->dir, b->files, err);
	const rg_step *s = rg_config_step(cfg, b->step);
	if (!rc && s && s->backup && s->backup->verify)
		rc = run_verify(cfg, b, s->backup->verify, err);
	return rc;
}

static int backup_verify(const rg_cli_args *a, const char *id_text)
{
	rg_config cfg;
	rg_store *s = NULL;
	rg_error e = { 0 }, v = { 0 };
	rg_backup b = { 0 };
	int64_t id;
	int code;
	if (rg_cli_parse_run_id(id_text, &id, &e))
		return rg_out_error(&e);
	if ((code = rg_cmd_load_config(rg_cli_config_path(a), &cfg)))
		return code;
	if (rg_cmd_open_store(&cfg, &s, &e) || rg_store_backup_get(s, id, &b, &e)) {
		code = rg_out_error(&e);
	} else {
		rg_err rc = verify_backup(&cfg, &b, &v);
		char result[600], actor[96], target[40];
		snprintf(result, sizeof result, "%s", rc ? v.message : "ok");
		snprintf(target, sizeof target, "backup %lld", (long long)id);
		rg_cmd_local_actor(actor, sizeof actor);
		rg_audit_entry entry = { .actor = actor, .address = "local", .action = "backup_verify",
					 .env = b.env, .target = target, .result = rc ? "failed" : "accepted",
					 .detail = result };
		if (rg_store_backup_verified(s, id, rg_now_ms(), result, &e) ||
		    rg_audit_append(s, &entry, &e))
			fprintf(stderr, "warning: cannot record the verification: %s\n", e.message);
		printf(rc ? "backup %lld is NOT usable: %s\n" : "backup %lld verified: %s\n",
		       (long long)id, result);
		code = rc ? RG_EXIT_RUN_FAILED : RG_EXIT_OK;
	}
	rg_backup_release(&b);
	rg_store_free(s);
	rg_config_release(&cfg);
	return code;
}

int cmd_backup(int argc, char **argv)
{
	rg_cli_args a;
	rg_error e = { 0 };
	int code;
	if (!rg_cli_args_get("backup", argc, argv, &a, &code))
		return code;
	if (strcmp(a.operands[0], "verify") != 0 || a.noperands != 2) {
		rg_fail(&e, RG_EINVAL, NULL, "usage: rollguard backup verify ID");
		rg_help_usage("backup", stderr);
		return rg_out_error(&e);
	}
	return backup_verify(&a, a.operands[1]);
}
