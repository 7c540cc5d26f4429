/* launch.c — starting one step's work: its command as a child process, or
 * its checks, with the environment of DESIGN §7. The result comes back
 * through a->launch.done once, with the log kept in a->launch.log.
 * A command never runs before its process group is in the store, and a
 * stopped command's group is gone before the run's next command starts. */
#include "engine/engine_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/duration.h"
#include "util/log.h"
#include "util/timeutil.h"

const char *rg_step_outcome_name(rg_step_outcome o)
{
	static const char *const names[] = { "succeeded", "failed", "timed_out", "killed" };
	return (unsigned)o < sizeof names / sizeof names[0] ? names[o] : "?";
}

void rg_launch_keep_log(rg_active *a, const char *text, size_t len)
{
	free(a->launch.log);
	a->launch.log = strndup(text ? text : "", len);
	a->launch.log_len = a->launch.log ? strlen(a->launch.log) : 0;
}

static rg_err set_outputs(rg_active *a, rg_envlist *l, const char *version, const char *prefix,
			  rg_error *err)
{
	if (!version || !version[0])
		return RG_OK;
	rg_output *o = NULL;
	size_t n = 0;
	rg_err rc = rg_store_outputs_get(a->eng->store, a->run.env, version, &o, &n, err);
	if (!rc)
		rc = rg_envlist_set_outputs(l, prefix, o, n, err);
	rg_outputs_free(o, n);
	return rc;
}

rg_err rg_launch_env(rg_active *a, const char *step, const char *version,
		     const char *previous, rg_envlist *out, rg_error *err)
{
	char run_id[24];
	snprintf(run_id, sizeof run_id, "%lld", (long long)a->run.id);
	rg_err rc = rg_envlist_inherit(out, a->eng->cfg, err);
	for (size_t i = 0; !rc && i < a->env->n_vars; i++)
		rc = rg_envlist_set(out, a->env->vars[i].key, a->env->vars[i].value, err);
	const char *pairs[][2] = {
		{ "ROLLGUARD_SERVICE", a->eng->cfg->service },
		{ "ROLLGUARD_ENV", a->run.env },
		{ "ROLLGUARD_VERSION", version },
		{ "ROLLGUARD_PREVIOUS_VERSION", previous },
		{ "ROLLGUARD_RUN_ID", run_id },
		{ "ROLLGUARD_STEP", step },
		{ "ROLLGUARD_OUTPUT", a->launch.output_path },
	};
	for (size_t i = 0; !rc && i < sizeof pairs / sizeof pairs[0]; i++)
		rc = rg_envlist_set(out, pairs[i][0], pairs[i][1], err);
	if (!rc)
		rc = set_outputs(a, out, previous, "PREV", err);
	if (!rc)
		rc = set_outputs(a, out, version, "OUT", err);
	if (rc)
		rg_envlist_release(out);
	return rc;
}

static rg_err make_dir(const char *path, rg_error *err)
{
	if (mkdir(path, 0750) == 0 || errno == EEXIST)
		return RG_OK;
	return rg_fail(err, RG_EIO, NULL, "cannot create '%s': %s", path, strerror(errno));
}

/* Each attempt gets a fresh, empty output file so a retry never sees the
 * outputs of the attempt before it (and a backup step a fresh directory). */
static rg_err prepare_output(rg_active *a, const rg_step *s, const char *phase, int idx,
			     rg_error *err)
{
	rg_err brc = strcmp(phase, "forward") == 0 ? rg_backup_prepare(a, s, err) : RG_OK;
	if (brc)
		return brc;
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/runs", a->eng->cfg->state_dir);
	rg_err rc = make_dir(dir, err);
	snprintf(dir, sizeof dir, "%s/runs/%lld", a->eng->cfg->state_dir, (long long)a->run.id);
	if (!rc)
		rc = make_dir(dir, err);
	if (rc)
		return rc;
	snprintf(a->launch.output_path, sizeof a->launch.output_path, "%s/%s-%d.out", dir, phase, idx);
	if (unlink(a->launch.output_path) != 0 && errno != ENOENT)
		return rg_fail(err, RG_EIO, NULL, "cannot reset '%s': %s", a->launch.output_path, strerror(errno));
	return RG_OK;
}

static void last_line(const char *log, size_t len, char *out, size_t size)
{
	while (len > 0 && (log[len - 1] == '\n' || log[len - 1] == '\r' || log[len - 1] == ' '))
		len--;
	size_t start = len;
	while (start > 0 && log[start - 1] != '\n')
		start--;
	size_t n = len - start < size - 1 ? len - start : size - 1;
	memcpy(out, log + start, n);
	out[n] = '\0';
}

static void describe_exit(const rg_exec_result *res, int64_t timeout_ms, const char *log,
			  size_t len, char *out, size_t size)
{
	char what[80], tail[200];
	if (res->timed_out) {
		char d[32];
		rg_duration_format(timeout_ms, d, sizeof d);
		snprintf(what, sizeof what, "timed out after %s", d);
	} else if (res->term_signal) {
		snprintf(what, sizeof what, "killed by signal %d", res->term_signal);
	} else {
		snprintf(what, sizeof what, "exit %d", res->exit_code);
	}
	last_line(log, len, tail, sizeof tail);
	snprintf(out, size, tail[0] ? "%s: %s" : "%s", what, tail);
}

static rg_err put_outputs(rg_active *a, const char *version, const char *step, rg_error *err)
{
	char **keys = NULL, **values = NULL;
	size_t n = 0;
	rg_err rc = rg_exec_read_outputs(a->launch.output_path, &keys, &values, &n, err);
	for (size_t i = 0; !rc && i < n; i++)
		rc = rg_store_output_put(a->eng->store, a->run.env, version, step, keys[i],
					 values[i], err);
	rg_exec_outputs_free(keys, values, n);
	return rc;
}

rg_err rg_step_record_extra(rg_active *a, void *ctx, rg_error *err)
{
	rg_step_record *r = ctx;
	rg_store *s = a->eng->store;
	rg_launch_keep_group(a, r->sr);
	rg_err rc = rg_store_step_put(s, r->sr, err);
	if (!rc && r->with_log)
		rc = rg_store_step_set_log(s, a->run.id, r->sr->phase, r->sr->idx,
					   a->launch.log ? a->launch.log : "", a->launch.log_len, err);
	if (!rc && r->outputs_for)
		rc = put_outputs(a, r->outputs_for, r->sr->name, err);
	return rc;
}

bool rg_step_kill_stale(const rg_step_run *sr)
{
	if (sr->pgid == 0)
		return false;   /* stopped before its command was spawned */
	rg_proc_id id = { .pgid = sr->pgid, .start_ticks = sr->pgid_start };
	snprintf(id.boot_id, sizeof id.boot_id, "%s", sr->pgid_boot);
	return rg_exec_kill_stale_group(&id);
}

void rg_step_row(rg_active *a, const char *phase, int idx, const char *name, const char *action,
		 rg_step_run *sr, bool *interrupted)
{
	*interrupted = false;
	if (rg_store_step_get(a->eng->store, a->run.id, phase, idx, sr, NULL) == RG_OK) {
		*interrupted = strcmp(sr->state, "running") == 0;
		if (*interrupted)
			rg_step_kill_stale(sr);
		return;
	}
	memset(sr, 0, sizeof *sr);
	sr->run_id = a->run.id;
	snprintf(sr->phase, sizeof sr->phase, "%s", phase);
	sr->idx = idx;
	snprintf(sr->name, sizeof sr->name, "%s", name);
	snprintf(sr->action, sizeof sr->action, "%s", action);
}

void rg_step_row_finish(rg_step_run *sr, bool ok, const char *detail, int exit_code)
{
	snprintf(sr->state, sizeof sr->state, ok ? "succeeded" : "failed");
	sr->exit_code = exit_code;
	sr->ended = rg_now_ms();
	sr->pgid = 0;
	sr->pgid_start = 0;
	sr->pgid_boot[0] = '\0';
	snprintf(sr->error, sizeof sr->error, "%s", ok ? "" : detail);
}

void rg_step_retry(rg_active *a, rg_step_run *sr, const rg_step *s, uv_timer_cb again)
{
	int64_t backoff = s->retry_backoff_ms << (sr->attempts - 1 < 10 ? sr->attempts - 1 : 10);
	char d[32], msg[700];
	rg_duration_format(backoff, d, sizeof d);
	snprintf(msg, sizeof msg, "attempt %d of %s '%s' failed (%s); retrying in %s", sr->attempts,
		 sr->action, sr->name, sr->error, d);
	rg_step_record rec = { sr, true, NULL };
	rg_run next = a->run;
	rg_error err;
	if (rg_run_commit(a, &next, "step_retry", sr->name, msg, rg_step_record_extra, &rec, &err))
		return rg_run_stuck(a, &err);
	uv_timer_start(&a->timer, again, (uint64_t)backoff, 0);
}

static void on_exec_done(rg_exec *x, const rg_exec_result *res, void *ctx)
{
	rg_active *a = ctx;
	size_t len = 0;
	const char *log = rg_exec_log(x, &len);
	rg_launch_keep_log(a, log, len);
	rg_step_outcome outcome = res->timed_out     ? RG_OUTCOME_TIMED_OUT
				  : res->term_signal ? RG_OUTCOME_KILLED
				  : res->exit_code   ? RG_OUTCOME_FAILED
						     : RG_OUTCOME_SUCCEEDED;
	char detail[512] = "exit 0";
	if (outcome != RG_OUTCOME_SUCCEEDED)
		describe_exit(res, a->launch.timeout_ms, a->launch.log, a->launch.log_len, detail, sizeof detail);
	rg_exec_free(x);
	a->launch.exec = NULL;
	a->launch.done(a, outcome, detail, res->timed_out || res->term_signal ? -1 : res->exit_code);
}

/* The held child's group goes into its step row before it may run, so a
 * crash at any point leaves either nothing running (a held child exits when
 * this process dies) or a group the store knows about. The row's start was
 * committed already; this write only adds the group to it. */
/* x's group and what identifies its leader, into the step row sr. */
static void group_into(const rg_exec *x, rg_step_run *sr)
{
	const rg_proc_id *id = rg_exec_id(x);
	sr->pgid = id->pgid;
	sr->pgid_start = id->start_ticks;
	snprintf(sr->pgid_boot, sizeof sr->pgid_boot, "%s", id->boot_id);
}

static rg_err record_group(rg_active *a, const char *phase, int idx, rg_error *err)
{
	rg_step_run sr;
	rg_err rc = rg_store_step_get(a->eng->store, a->run.id, phase, idx, &sr, err);
	if (rc)
		return rc;
	group_into(a->launch.exec, &sr);
	return rg_store_step_put(a->eng->store, &sr, err);
}

/* The output of a command is masked as it arrives when secrets are known
 * (the store masks it again when it keeps it, which covers a secret
 * learnt while the command runs). */
static rg_secrets *output_mask(rg_active *a)
{
	rg_secrets *s = rg_store_secrets(a->eng->store);
	return rg_secrets_count(s) ? s : NULL;
}

/* Spawns command held, as the run's command in flight for row (phase, idx). */
static rg_err spawn_held(rg_active *a, const char *command, int64_t timeout_ms, int64_t grace_ms,
			 const char *phase, int idx, char **env, rg_error *err)
{
	rg_exec_opts o = { .command = command, .cwd = a->eng->cfg->dir, .env = env,
			   .timeout_ms = timeout_ms, .kill_grace_ms = grace_ms, .held = true,
			   .mask = output_mask(a) };
	a->launch.timeout_ms = timeout_ms;
	snprintf(a->launch.phase, sizeof a->launch.phase, "%s", phase);
	a->launch.idx = idx;
	rg_err rc = rg_exec_start(a->eng->loop, &o, on_exec_done, a, &a->launch.exec, err);
	if (rc)
		a->launch.exec = NULL;
	return rc;
}

/* A command waiting for the run's stopped command to be gone. */
struct rg_launch_later {
	const char *command;     /* config-owned */
	int64_t timeout_ms, kill_grace_ms;
	char phase[16];
	int idx;
	rg_envlist env;
};

static void exec_now(rg_active *a, const char *command, int64_t timeout_ms, int64_t grace_ms,
		     const char *phase, int idx, char **env)
{
	rg_error err;
	rg_err rc = spawn_held(a, command, timeout_ms, grace_ms, phase, idx, env, &err);
	if (!rc && record_group(a, phase, idx, &err) != RG_OK) {
		/* The store refused the group: the held child runs nothing, and
		 * the run holds until the store takes writes (recover.c); the
		 * row's pgid 0 says the command never ran. */
		rg_exec_free(a->launch.exec);
		a->launch.exec = NULL;
		return rg_run_stuck(a, &err);
	}
	if (!rc)
		rc = rg_exec_release(a->launch.exec, &err);
	if (rc) {
		rg_exec_free(a->launch.exec);   /* NULL-safe; a held child runs nothing */
		a->launch.exec = NULL;
		rg_launch_keep_log(a, err.message, strlen(err.message));
		a->launch.done(a, RG_OUTCOME_FAILED, err.message, -1);
	}
}

/* The stopped group is gone: its row, if it ended, names it no more. */
static void forget_group(rg_store *s, int64_t run_id, const char *phase, int idx)
{
	rg_step_run sr;
	rg_error err;
	if (rg_store_step_get(s, run_id, phase, idx, &sr, NULL) != RG_OK || sr.pgid == 0 ||
	    strcmp(sr.state, "running") == 0)
		return;
	sr.pgid = 0;
	sr.pgid_start = 0;
	sr.pgid_boot[0] = '\0';
	if (rg_store_step_put(s, &sr, &err) != RG_OK)
		rg_warn("run %lld: cannot forget the stopped process group: %s", (long long)run_id,
			err.message);
}

static void on_stopped(void *ctx)
{
	rg_active *a = ctx;
	struct rg_launch_later *l = a->launch.later;
	forget_group(a->eng->store, a->run.id, a->launch.phase, a->launch.idx);
	a->launch.stopping = NULL;
	a->launch.later = NULL;
	if (l && !a->released && !a->eng->shutting_down)
		exec_now(a, l->command, l->timeout_ms, l->kill_grace_ms, l->phase, l->idx,
			 l->env.items);
	if (l)
		rg_envlist_release(&l->env);
	free(l);
	rg_active_unref(a);
}

/* The child gets SIGTERM and its grace; the run does not wait here (its
 * state was committed), but it stays in memory, and its next command stays
 * unstarted, until the group is gone. Serve's shutdown waits the same way,
 * so the grace also bounds how long a stop takes. */
void rg_launch_stop(rg_active *a)
{
	if (a->launch.later) {
		rg_envlist_release(&a->launch.later->env);
		free(a->launch.later);
		a->launch.later = NULL;
	}
	a->launch.held = false;   /* a held child is killed at once: it ran nothing */
	if (!a->launch.exec)
		return;
	rg_exec *x = a->launch.exec;
	a->launch.exec = NULL;
	a->launch.stopping = x;
	a->open_handles++;   /* released in on_stopped */
	rg_exec_stop(x, on_stopped, a);
}

/* A live command whose row ends is about to be stopped (nothing else ends
 * the row of a command still running); a stopping one is in its grace. */
void rg_launch_keep_group(rg_active *a, rg_step_run *sr)
{
	rg_exec *x = a->launch.stopping ? a->launch.stopping : a->launch.exec;
	if (!x || strcmp(sr->state, "running") == 0 || sr->run_id != a->run.id ||
	    sr->idx != a->launch.idx || strcmp(sr->phase, a->launch.phase) != 0)
		return;
	group_into(x, sr);
}

void rg_launch_reap_stopped(rg_engine *e)
{
	rg_step_run *rows = NULL;
	size_t n = 0;
	rg_error err;
	if (rg_store_steps_stopping(e->store, &rows, &n, &err) != RG_OK) {
		rg_warn("cannot look for stopped commands left running: %s", err.message);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		rg_info("run %lld: step '%s' was being stopped when the server died",
			(long long)rows[i].run_id, rows[i].name);
		rg_step_kill_stale(&rows[i]);
		forget_group(e->store, rows[i].run_id, rows[i].phase, rows[i].idx);
	}
	free(rows);
}

/* A step's environment: rg_launch_env, and a backup step's directory. */
static rg_err step_env(rg_active *a, const rg_step *s, const char *version, const char *previous,
		       rg_envlist *env, rg_error *err)
{
	rg_err rc = rg_launch_env(a, s->name, version, previous, env, err);
	if (rc)
		return rc;   /* released already */
	if (a->backup.dir[0])
		rc = rg_envlist_set(env, "ROLLGUARD_BACKUP_DIR", a->backup.dir, err);
	if (!rc && a->target_schema[0])
		rc = rg_envlist_set(env, "ROLLGUARD_TARGET_SCHEMA", a->target_schema, err);
	if (!rc && a->current_schema[0])
		rc = rg_envlist_set(env, "ROLLGUARD_CURRENT_SCHEMA", a->current_schema, err);
	if (rc)
		rg_envlist_release(env);
	return rc;
}

static int64_t kill_grace(const rg_active *a, const rg_step *s)
{
	return s->kill_grace_ms > 0 ? s->kill_grace_ms : a->env->kill_grace_ms;
}

static void launch_exec(rg_active *a, const rg_step *s, const char *command, const char *phase,
			int idx, rg_envlist *env)
{
	if (!a->launch.stopping)
		return exec_now(a, command, s->timeout_ms, kill_grace(a, s), phase, idx, env->items);
	struct rg_launch_later *l = calloc(1, sizeof *l);
	if (!l) {
		rg_launch_keep_log(a, "out of memory", 13);
		return a->launch.done(a, RG_OUTCOME_FAILED, "out of memory", -1);
	}
	*l = (struct rg_launch_later){ .command = command, .timeout_ms = s->timeout_ms,
				       .kill_grace_ms = kill_grace(a, s), .idx = idx, .env = *env };
	snprintf(l->phase, sizeof l->phase, "%s", phase);
	memset(env, 0, sizeof *env);   /* moved: the caller's release frees nothing */
	a->launch.later = l;
	rg_info("run %lld: step '%s' waits for the stopped command's process group to exit",
		(long long)a->run.id, s->name);
}

static void on_batch_done(rg_active *a, rg_step_outcome outcome, const char *detail)
{
	a->launch.done(a, outcome, detail, outcome == RG_OUTCOME_SUCCEEDED ? 0 : 1);
}

static void launch_checks(rg_active *a, const rg_step *s, rg_envlist *env)
{
	rg_error err;
	const rg_check **list = calloc(s->n_checks + 1, sizeof *list);
	size_t n = 0;
	for (size_t i = 0; list && i < s->n_checks; i++)
		if ((list[n] = rg_config_check(a->eng->cfg, s->checks[i])) != NULL)
			n++;
	rg_err rc = list ? rg_batch_start(a, list, n, s->timeout_ms, env->items, on_batch_done, &err)
			 : rg_fail(&err, RG_ENOMEM, NULL, "out of memory");
	free(list);
	if (rc) {
		rg_launch_keep_log(a, err.message, strlen(err.message));
		a->launch.done(a, RG_OUTCOME_FAILED, err.message, -1);
	}
}

/* The common path records the group in the step's own start transaction:
 * the child is spawned held before the commit (it runs nothing until
 * released, and exits unrun if serve dies first), its group goes into the
 * row the caller commits, and rg_launch_go releases it. Anything else —
 * checks, traffic, a command that must wait for a stopped group, a spawn
 * that fails — leaves nothing held, and rg_launch_go takes the ordinary
 * path (rg_launch_step: spawn, record the group, release). */
void rg_launch_hold(rg_active *a, const rg_step *s, const char *command, const char *phase,
		    int idx, const char *version, const char *previous, rg_step_run *sr)
{
	if (s->kind != RG_STEP_EXEC || a->launch.exec || a->launch.stopping || a->launch.later)
		return;
	rg_error err;
	rg_envlist env;
	if (prepare_output(a, s, phase, idx, &err) || step_env(a, s, version, previous, &env, &err))
		return;
	rg_err rc = spawn_held(a, command, s->timeout_ms, kill_grace(a, s), phase, idx, env.items, &err);
	rg_envlist_release(&env);
	if (rc)
		return;
	a->launch.held = true;
	group_into(a->launch.exec, sr);
}

void rg_launch_go(rg_active *a, const rg_step *s, const char *command, const char *phase,
		  int idx, const char *version, const char *previous, rg_launch_done_fn done)
{
	if (!a->launch.held)
		return rg_launch_step(a, s, command, phase, idx, version, previous, done);
	a->launch.held = false;
	a->launch.done = done;
	rg_recover_forget_result(a);
	rg_error err;
	if (rg_exec_release(a->launch.exec, &err) != RG_OK) {
		rg_exec_free(a->launch.exec);
		a->launch.exec = NULL;
		rg_launch_keep_log(a, err.message, strlen(err.message));
		done(a, RG_OUTCOME_FAILED, err.message, -1);
	}
}

void rg_launch_step(rg_active *a, const rg_step *s, const char *command, const char *phase,
		    int idx, const char *version, const char *previous, rg_launch_done_fn done)
{
	a->launch.done = done;
	rg_recover_forget_result(a);
	if (s->kind == RG_STEP_TRAFFIC)
		return rg_traffic_run(a, s, done);
	rg_error err;
	rg_envlist env;
	rg_err rc = prepare_output(a, s, phase, idx, &err);
	if (!rc)
		rc = step_env(a, s, version, previous, &env, &err);
	if (rc) {
		rg_launch_keep_log(a, err.message, strlen(err.message));
		done(a, RG_OUTCOME_FAILED, err.message, -1);
		return;
	}
	if (s->kind == RG_STEP_CHECKS)
		launch_checks(a, s, &env);
	else
		launch_exec(a, s, command, phase, idx, &env);
	rg_envlist_release(&env);
}
