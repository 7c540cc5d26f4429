/* test_exec.c — engine/exec.c against real child processes: exit status,
 * environment, cwd, bounded logs, timeouts that kill whole process groups,
 * and $ROLLGUARD_OUTPUT parsing. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/exec.h"

typedef struct outcome {
	int calls;
	rg_exec_result res;
	char *log;
	size_t log_len;
	int64_t pgid;
	uint64_t wall_ms;     /* start to done, as the caller sees it */
	uint64_t started_ns;
} outcome;

static void on_done(rg_exec *x, const rg_exec_result *res, void *ctx)
{
	outcome *o = ctx;
	o->calls++;
	o->res = *res;
	o->wall_ms = (uv_hrtime() - o->started_ns) / 1000000u;
	o->pgid = rg_exec_pgid(x);
	const char *log = rg_exec_log(x, &o->log_len);
	o->log = malloc(o->log_len + 1);
	memcpy(o->log, log, o->log_len + 1);
	rg_exec_free(x);   /* from inside the callback, as the engine does */
}

static outcome run_opts(rg_exec_opts *opts)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	outcome o = { .started_ns = uv_hrtime() };
	rg_exec *x = NULL;
	rg_error err = { 0 };
	rg_err rc = rg_exec_start(&loop, opts, on_done, &o, &x, &err);
	cr_assert_eq(rc, RG_OK, "start: %s", err.message);
	cr_assert_gt(rg_exec_pgid(x), 1);
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(uv_loop_close(&loop), 0, "handles left on the loop");
	cr_assert_eq(o.calls, 1);
	return o;
}

static outcome run_cmd(const char *cmd)
{
	char *env[] = { "PATH=/usr/bin:/bin", NULL };
	rg_exec_opts opts = { .command = cmd, .env = env };
	return run_opts(&opts);
}

/* Whether pid is gone: no such process, or a zombie (dead, not yet reaped
 * by whoever inherited it). */
static bool proc_gone(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
}

/* A SIGKILLed process finishes dying in the kernel a moment after the
 * signal was sent; give it up to a second. */
static bool proc_dies(pid_t pid)
{
	for (int i = 0; i < 100; i++) {
		if (proc_gone(pid))
			return true;
		usleep(10000);
	}
	return false;
}

static pid_t read_pid(const char *path)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "no pid file %s", path);
	int pid = 0;
	cr_assert_eq(fscanf(f, "%d", &pid), 1);
	fclose(f);
	return (pid_t)pid;
}

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/rg-exec-XXXXXX";
	char *d = mkdtemp(tmpl);
	cr_assert_not_null(d);
	return strdup(d);
}

Test(exec_status, exit_codes)
{
	outcome o = run_cmd("exit 3");
	cr_assert_eq(o.res.exit_code, 3);
	cr_assert_eq(o.res.term_signal, 0);
	cr_assert(!o.res.timed_out);
	free(o.log);

	o = run_cmd("true");
	cr_assert_eq(o.res.exit_code, 0);
	free(o.log);

	o = run_cmd("kill -9 $$");
	cr_assert_eq(o.res.exit_code, -1);
	cr_assert_eq(o.res.term_signal, SIGKILL);
	free(o.log);
}

Test(exec_status, stdout_and_stderr_in_one_log)
{
	outcome o = run_cmd("echo one; echo two >&2; echo three");
	cr_assert_str_eq(o.log, "one\ntwo\nthree\n");
	cr_assert_eq(o.log_len, strlen("one\ntwo\nthree\n"));
	cr_assert_geq(o.res.duration_ms, 0);
	free(o.log);
}

Test(exec_status, stdin_is_empty)
{
	outcome o = run_cmd("cat; echo done");
	cr_assert_str_eq(o.log, "done\n");
	free(o.log);
}

Test(exec_env, values_are_never_shell_text)
{
	char *dir = make_tmpdir();
	char marker[256], xval[300], env_path[] = "PATH=/usr/bin:/bin";
	snprintf(marker, sizeof marker, "%s/pwned", dir);
	snprintf(xval, sizeof xval, "X=$(touch %s)", marker);
	char *env[] = { env_path, "FOO=bar", xval, "Y=a;rm -rf /nonexistent-rg `id`", NULL };
	rg_exec_opts opts = { .command = "echo \"$FOO\"; echo \"$X\"; echo \"$Y\"; echo $X",
			      .env = env };
	outcome o = run_opts(&opts);
	char want[1024];
	snprintf(want, sizeof want, "bar\n$(touch %s)\na;rm -rf /nonexistent-rg `id`\n$(touch %s)\n",
		 marker, marker);
	cr_assert_str_eq(o.log, want);
	cr_assert_eq(access(marker, F_OK), -1, "a value was run as shell text");
	cr_assert_eq(o.res.exit_code, 0);
	free(o.log);
	rmdir(dir);
	free(dir);
}

Test(exec_env, exactly_the_given_environment)
{
	setenv("RG_TEST_PARENT_ONLY", "leak", 1);
	outcome o = run_cmd("echo \"${RG_TEST_PARENT_ONLY-unset}\"");
	cr_assert_str_eq(o.log, "unset\n");
	free(o.log);

	rg_exec_opts opts = { .command = "echo \"${HOME-none}\"", .env = NULL };
	o = run_opts(&opts);
	cr_assert_str_eq(o.log, "none\n", "NULL env must be empty, not inherited");
	free(o.log);
}

Test(exec_cwd, command_runs_in_cwd)
{
	char *dir = make_tmpdir();
	rg_exec_opts opts = { .command = "pwd; echo hi > here.txt", .cwd = dir };
	outcome o = run_opts(&opts);
	char want[300], file[300];
	snprintf(want, sizeof want, "%s\n", dir);
	cr_assert_str_eq(o.log, want);
	snprintf(file, sizeof file, "%s/here.txt", dir);
	cr_assert_eq(access(file, F_OK), 0);
	unlink(file);
	rmdir(dir);
	free(o.log);
	free(dir);
}

Test(exec_cwd, missing_cwd_fails_to_start)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	rg_exec_opts opts = { .command = "true", .cwd = "/nonexistent/rg-exec-dir" };
	outcome o = { 0 };
	rg_exec *x = NULL;
	rg_error err = { 0 };
	cr_assert_eq(rg_exec_start(&loop, &opts, on_done, &o, &x, &err), RG_EIO);
	cr_assert_null(x);
	cr_assert(strstr(err.message, "/nonexistent/rg-exec-dir"), "%s", err.message);
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(uv_loop_close(&loop), 0);
	cr_assert_eq(o.calls, 0);
}

Test(exec_log, tail_is_bounded)
{
	char *env[] = { "PATH=/usr/bin:/bin", NULL };
	rg_exec_opts opts = {
		.command = "head -c 1048576 /dev/zero | tr '\\0' a; echo; echo END",
		.env = env,
		.log_limit = 4096,
	};
	outcome o = run_opts(&opts);
	cr_assert_eq(o.res.exit_code, 0);
	/* 1 MiB + "\n" + "END\n" written, 4096 kept */
	char hdr[80];
	snprintf(hdr, sizeof hdr, "[… %d bytes dropped …]\n", 1048576 + 1 + 4 - 4096);
	cr_assert_eq(strncmp(o.log, hdr, strlen(hdr)), 0, "header: %.60s", o.log);
	cr_assert_eq(o.log_len, strlen(hdr) + 4096);
	cr_assert_eq(strlen(o.log), o.log_len);
	cr_assert_str_eq(o.log + o.log_len - 5, "\nEND\n");
	cr_assert_eq(o.log[strlen(hdr)], 'a');
	free(o.log);
}

/* A secret the command prints in two writes (two reads here) is masked
 * whole, and what it prints last, held back until the end, is kept. */
Test(exec_log, known_secrets_are_masked_as_output_arrives)
{
	char *env[] = { "PATH=/usr/bin:/bin", NULL };
	rg_secrets *secrets;
	rg_error err;
	cr_assert_eq(rg_secrets_new(&secrets, &err), RG_OK);
	cr_assert_eq(rg_secrets_add(secrets, "hunter22", 8, NULL, &err), RG_OK);
	rg_exec_opts opts = {
		.command = "printf 'pw=hunt'; sleep 0.2; printf 'er22\\n'; printf 'end hun'",
		.env = env,
		.mask = secrets,
	};
	outcome o = run_opts(&opts);
	cr_assert_eq(o.res.exit_code, 0);
	cr_assert_str_eq(o.log, "pw=***\nend hun");
	free(o.log);
	rg_secrets_free(secrets);
}

Test(exec_log, default_limit_keeps_small_output_whole)
{
	outcome o = run_cmd("seq 1 1000 | tail -n 1");
	cr_assert_str_eq(o.log, "1000\n");
	free(o.log);
}

Test(exec_timeout, kills_the_whole_group, .timeout = 20)
{
	char *dir = make_tmpdir();
	char cmd[512], pidfile[300];
	snprintf(pidfile, sizeof pidfile, "%s/grandchild.pid", dir);
	snprintf(cmd, sizeof cmd, "sleep 30 & echo $! > %s; sleep 30", pidfile);
	char *env[] = { "PATH=/usr/bin:/bin", NULL };
	rg_exec_opts opts = { .command = cmd, .env = env, .timeout_ms = 200,
			      .kill_grace_ms = 4000 };
	outcome o = run_opts(&opts);
	cr_assert(o.res.timed_out);
	cr_assert_eq(o.res.exit_code, -1);
	cr_assert_eq(o.res.term_signal, SIGTERM);
	cr_assert_lt(o.wall_ms, 4000, "took %llu ms: waited for the grace",
		     (unsigned long long)o.wall_ms);
	pid_t gc = read_pid(pidfile);
	cr_assert(proc_dies(gc), "grandchild %d survived", (int)gc);
	unlink(pidfile);
	rmdir(dir);
	free(dir);
	free(o.log);
}

Test(exec_timeout, term_ignored_then_killed_after_grace, .timeout = 20)
{
	char *env[] = { "PATH=/usr/bin:/bin", NULL };
	rg_exec_opts opts = { .command = "trap '' TERM; sleep 30", .env = env,
			      .timeout_ms = 200, .kill_grace_ms = 500 };
	outcome o = run_opts(&opts);
	cr_assert(o.res.timed_out);
	cr_assert_eq(o.res.term_signal, SIGKILL);
	cr_assert_geq(o.wall_ms, 650);
	cr_assert_lt(o.wall_ms, 5000);
	free(o.log);
}

Test(exec_timeout, grandchild_ignoring_term_is_killed, .timeout = 20)
{
	char *dir = make_tmpdir();
	char cmd[512], pidfile[300];
	snprintf(pidfile, sizeof pidfile, "%s/gc.pid", dir);
	snprintf(cmd, sizeof cmd, "sh -c \"trap '' TERM; sleep 30\" & echo $! > %s; sleep 30",
		 pidfile);
	char *env[] = { "PATH=/usr/bin:/bin", NULL };
	rg_exec_opts opts = { .command = cmd, .env = env, .timeout_ms = 200,
			      .kill_grace_ms = 600 };
	outcome o = run_opts(&opts);
	cr_assert(o.res.timed_out);
	cr_assert_eq(o.res.term_signal, SIGTERM);   /* the shell itself obeyed */
	cr_assert_geq(o.wall_ms, 750, "finished before the grace SIGKILL");
	pid_t gc = read_pid(pidfile);
	cr_assert(proc_dies(gc), "TERM-ignoring grandchild %d survived", (int)gc);
	unlink(pidfile);
	rmdir(dir);
	free(dir);
	free(o.log);
}

Test(exec_timeout, no_timeout_when_fast)
{
	char *env[] = { NULL };
	rg_exec_opts opts = { .command = "exit 0", .env = env, .timeout_ms = 5000 };
	outcome o = run_opts(&opts);
	cr_assert(!o.res.timed_out);
	cr_assert_eq(o.res.exit_code, 0);
	cr_assert_lt(o.wall_ms, 2000);
	free(o.log);
}

Test(exec_pipe, background_grandchild_does_not_hang_us, .timeout = 20)
{
	outcome o = run_cmd("sleep 10 & echo hi");
	cr_assert_eq(o.res.exit_code, 0);
	cr_assert_str_eq(o.log, "hi\n");
	cr_assert_lt(o.wall_ms, 3000, "took %llu ms", (unsigned long long)o.wall_ms);
	cr_assert_eq(kill((pid_t)-o.pgid, 0), 0, "a normal exit leaves the group alone");
	kill((pid_t)-o.pgid, SIGKILL);
	free(o.log);
}

typedef struct killer {
	rg_exec *x;
	bool free_it;
} killer;

static void on_kill_timer(uv_timer_t *t)
{
	killer *k = t->data;
	if (k->free_it)
		rg_exec_free(k->x);
	else
		rg_exec_kill(k->x);
	uv_close((uv_handle_t *)t, NULL);
}

static outcome run_and_interrupt(const char *cmd, bool free_it, uv_timer_t *t)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	char *env[] = { "PATH=/usr/bin:/bin", NULL };
	rg_exec_opts opts = { .command = cmd, .env = env, .kill_grace_ms = 300 };
	outcome o = { .started_ns = uv_hrtime() };
	killer k = { .free_it = free_it };
	rg_error err = { 0 };
	cr_assert_eq(rg_exec_start(&loop, &opts, on_done, &o, &k.x, &err), RG_OK, "%s",
		     err.message);
	o.pgid = rg_exec_pgid(k.x);
	cr_assert_eq(uv_timer_init(&loop, t), 0);
	t->data = &k;
	cr_assert_eq(uv_timer_start(t, on_kill_timer, 300, 0), 0);
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(uv_loop_close(&loop), 0);
	return o;
}

Test(exec_free, while_running_kills_and_never_calls_done, .timeout = 20)
{
	char *dir = make_tmpdir();
	char cmd[512], pidfile[300];
	snprintf(pidfile, sizeof pidfile, "%s/gc.pid", dir);
	snprintf(cmd, sizeof cmd, "sleep 30 & echo $! > %s; sleep 30", pidfile);
	uv_timer_t t;
	outcome o = run_and_interrupt(cmd, true, &t);
	cr_assert_eq(o.calls, 0);
	cr_assert_lt((uv_hrtime() - o.started_ns) / 1000000u, 5000);
	pid_t gc = read_pid(pidfile);
	cr_assert(proc_dies(gc), "grandchild %d survived rg_exec_free", (int)gc);
	unlink(pidfile);
	rmdir(dir);
	free(dir);
}

Test(exec_free, kill_sends_term_and_done_fires, .timeout = 20)
{
	uv_timer_t t;
	outcome o = run_and_interrupt("sleep 30", false, &t);
	cr_assert_eq(o.calls, 1);
	cr_assert(!o.res.timed_out);
	cr_assert_eq(o.res.term_signal, SIGTERM);
	free(o.log);
}

static void on_closed_flag(void *ctx)
{
	*(int *)ctx += 1;
}

static void on_done_close(rg_exec *x, const rg_exec_result *res, void *ctx)
{
	rg_exec_close(x, on_closed_flag, ctx);
}

Test(exec_free, close_reports_when_everything_is_closed)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	char *env[] = { NULL };
	rg_exec_opts opts = { .command = "echo hi", .env = env };
	int closed = 0;
	rg_exec *x;
	rg_error err;
	cr_assert_eq(rg_exec_start(&loop, &opts, on_done_close, &closed, &x, &err), RG_OK);
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(closed, 1);
	cr_assert_eq(uv_loop_close(&loop), 0);
}

Test(exec_stale, kills_a_leftover_group, .timeout = 20)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	char *env[] = { "PATH=/usr/bin:/bin", NULL };
	rg_exec_opts opts = { .command = "sleep 30", .env = env };
	outcome o = { .started_ns = uv_hrtime() };
	rg_exec *x;
	rg_error err;
	cr_assert_eq(rg_exec_start(&loop, &opts, on_done, &o, &x, &err), RG_OK);
	cr_assert(rg_exec_kill_stale_group(rg_exec_id(x)));
	rg_proc_id none = { .pgid = 999999999, .start_ticks = 1, .boot_id = "x" };
	cr_assert(!rg_exec_kill_stale_group(&none));   /* no such group: nothing */
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(uv_loop_close(&loop), 0);
	cr_assert_eq(o.res.term_signal, SIGKILL);
	free(o.log);
}

/* The identity is the one /proc gives for the child, read at spawn. */
Test(exec_stale, identity_is_the_leaders, .timeout = 20)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	char *env[] = { "PATH=/usr/bin:/bin", NULL };
	rg_exec_opts opts = { .command = "sleep 30", .env = env };
	outcome o = { .started_ns = uv_hrtime() };
	rg_exec *x;
	rg_error err;
	cr_assert_eq(rg_exec_start(&loop, &opts, on_done, &o, &x, &err), RG_OK);
	const rg_proc_id *id = rg_exec_id(x);
	cr_assert_eq(id->pgid, rg_exec_pgid(x));
	cr_assert_gt(id->start_ticks, 0);
	cr_assert_eq(strlen(id->boot_id), 36, "boot id '%s'", id->boot_id);
	rg_proc_id now;
	cr_assert(rg_exec_read_id(id->pgid, &now));
	cr_assert_eq(now.pgid, id->pgid);
	cr_assert_eq(now.start_ticks, id->start_ticks);
	cr_assert_str_eq(now.boot_id, id->boot_id);
	rg_exec_kill(x);
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(uv_loop_close(&loop), 0);
	free(o.log);
}

/* A record whose leader started at another time, or in another boot, or
 * that has no start time at all, names a group that may not be ours: it is
 * left alone, and the group really keeps running. */
Test(exec_stale, mismatched_record_is_refused, .timeout = 20)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	char *env[] = { "PATH=/usr/bin:/bin", NULL };
	rg_exec_opts opts = { .command = "sleep 30", .env = env };
	outcome o = { .started_ns = uv_hrtime() };
	rg_exec *x;
	rg_error err;
	cr_assert_eq(rg_exec_start(&loop, &opts, on_done, &o, &x, &err), RG_OK);
	rg_proc_id other = *rg_exec_id(x);
	other.start_ticks += 1;
	cr_assert(!rg_exec_kill_stale_group(&other), "another start time");
	other = *rg_exec_id(x);
	snprintf(other.boot_id, sizeof other.boot_id, "00000000-0000-0000-0000-000000000000");
	cr_assert(!rg_exec_kill_stale_group(&other), "another boot");
	other = (rg_proc_id){ .pgid = rg_exec_pgid(x) };
	cr_assert(!rg_exec_kill_stale_group(&other), "no identity recorded");
	usleep(100000);
	cr_assert_eq(kill((pid_t)-rg_exec_pgid(x), 0), 0, "the group was signalled");
	cr_assert(!proc_gone((pid_t)rg_exec_pgid(x)));
	rg_exec_kill(x);
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(uv_loop_close(&loop), 0);
	cr_assert_eq(o.res.term_signal, SIGTERM);
	free(o.log);
}

/* ---- held spawn ------------------------------------------------------------ */

typedef struct holder {
	rg_exec *x;
	char marker[300];
	bool ran_before_release;
} holder;

static void on_release_timer(uv_timer_t *t)
{
	holder *h = t->data;
	struct stat st;
	h->ran_before_release = stat(h->marker, &st) == 0;
	rg_error err;
	cr_assert_eq(rg_exec_release(h->x, &err), RG_OK, "%s", err.message);
	uv_close((uv_handle_t *)t, NULL);
}

Test(exec_held, runs_nothing_until_released, .timeout = 20)
{
	char *dir = make_tmpdir();
	holder h = { 0 };
	snprintf(h.marker, sizeof h.marker, "%s/ran", dir);
	char *env[] = { "PATH=/usr/bin:/bin", NULL, NULL };
	char var[400];
	snprintf(var, sizeof var, "MARKER=%s", h.marker);
	env[1] = var;
	/* A short timeout shows that it counts from the release, not the spawn. */
	rg_exec_opts opts = { .command = "touch \"$MARKER\"; echo \"$0 $#\"", .env = env,
			      .held = true, .timeout_ms = 400 };
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	outcome o = { .started_ns = uv_hrtime() };
	rg_error err;
	cr_assert_eq(rg_exec_start(&loop, &opts, on_done, &o, &h.x, &err), RG_OK, "%s", err.message);
	cr_assert_gt(rg_exec_id(h.x)->start_ticks, 0);
	uv_timer_t t;
	cr_assert_eq(uv_timer_init(&loop, &t), 0);
	t.data = &h;
	cr_assert_eq(uv_timer_start(&t, on_release_timer, 600, 0), 0);
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(uv_loop_close(&loop), 0);
	cr_assert(!h.ran_before_release, "the command ran while held");
	cr_assert_eq(o.calls, 1);
	cr_assert(!o.res.timed_out, "the timeout counted the time held");
	cr_assert_eq(o.res.exit_code, 0, "log: %s", o.log);
	/* The command runs as `sh -c CMD` would: same $0, no arguments. */
	cr_assert_str_eq(o.log, "/bin/sh 0\n");
	struct stat st;
	cr_assert_eq(stat(h.marker, &st), 0, "the command did not run after the release");
	unlink(h.marker);
	rmdir(dir);
	free(dir);
	free(o.log);
}

/* Freed before the release (the owner could not record it): the command
 * never runs. When the owner dies instead, the child reads EOF: the same
 * path, without the SIGKILL. */
Test(exec_held, freed_before_release_runs_nothing, .timeout = 20)
{
	char *dir = make_tmpdir();
	char marker[300], var[400];
	snprintf(marker, sizeof marker, "%s/ran", dir);
	snprintf(var, sizeof var, "MARKER=%s", marker);
	char *env[] = { "PATH=/usr/bin:/bin", var, NULL };
	rg_exec_opts opts = { .command = "touch \"$MARKER\"", .env = env, .held = true };
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	outcome o = { 0 };
	rg_exec *x;
	rg_error err;
	cr_assert_eq(rg_exec_start(&loop, &opts, on_done, &o, &x, &err), RG_OK, "%s", err.message);
	pid_t pid = (pid_t)rg_exec_pgid(x);
	rg_exec_free(x);
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(uv_loop_close(&loop), 0);
	cr_assert(proc_dies(pid));
	cr_assert_eq(o.calls, 0);
	struct stat st;
	cr_assert_neq(stat(marker, &st), 0, "a held command ran without a release");
	rmdir(dir);
	free(dir);
}

/* ---- stop with a grace ----------------------------------------------------- */

typedef struct stopper {
	rg_exec *x;
	int gone;
	uint64_t stopped_ns, gone_ns;
} stopper;

static void on_gone(void *ctx)
{
	stopper *st = ctx;
	st->gone++;
	st->gone_ns = uv_hrtime();
}

static void on_stop_timer(uv_timer_t *t)
{
	stopper *st = t->data;
	st->stopped_ns = uv_hrtime();
	rg_exec_stop(st->x, on_gone, st);
	uv_close((uv_handle_t *)t, NULL);
}

/* Runs cmd, stops it after 300 ms with the given grace; returns the ms
 * from the stop to on_gone. */
static uint64_t run_and_stop(const char *cmd, char **env, int64_t grace_ms, int64_t *pgid)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	rg_exec_opts opts = { .command = cmd, .env = env, .kill_grace_ms = grace_ms };
	outcome o = { 0 };
	stopper st = { 0 };
	rg_error err;
	cr_assert_eq(rg_exec_start(&loop, &opts, on_done, &o, &st.x, &err), RG_OK, "%s",
		     err.message);
	*pgid = rg_exec_pgid(st.x);
	uv_timer_t t;
	cr_assert_eq(uv_timer_init(&loop, &t), 0);
	t.data = &st;
	cr_assert_eq(uv_timer_start(&t, on_stop_timer, 300, 0), 0);
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(uv_loop_close(&loop), 0, "handles left on the loop");
	cr_assert_eq(o.calls, 0, "done fired after a stop");
	cr_assert_eq(st.gone, 1);
	return (st.gone_ns - st.stopped_ns) / 1000000u;
}

Test(exec_stop, term_trapped_gets_kill_after_grace, .timeout = 20)
{
	char *dir = make_tmpdir();
	char file[300], var[400];
	snprintf(file, sizeof file, "%s/term", dir);
	snprintf(var, sizeof var, "TERMFILE=%s", file);
	char *env[] = { "PATH=/usr/bin:/bin", var, NULL };
	int64_t pgid;
	uint64_t ms = run_and_stop("trap 'echo got-term > \"$TERMFILE\"' TERM;"
				   " while :; do sleep 0.05; done", env, 700, &pgid);
	cr_assert_geq(ms, 650, "stopped after %llu ms, before the grace", (unsigned long long)ms);
	cr_assert_lt(ms, 5000);
	FILE *f = fopen(file, "r");
	cr_assert_not_null(f, "the command never saw SIGTERM");
	char line[32] = "";
	cr_assert_not_null(fgets(line, sizeof line, f));
	fclose(f);
	cr_assert_str_eq(line, "got-term\n");
	cr_assert(proc_dies((pid_t)pgid), "the leader survived the SIGKILL");
	unlink(file);
	rmdir(dir);
	free(dir);
}

Test(exec_stop, exit_on_term_is_not_killed, .timeout = 20)
{
	char *env[] = { "PATH=/usr/bin:/bin", NULL };
	int64_t pgid;
	uint64_t ms = run_and_stop("sleep 30", env, 4000, &pgid);
	cr_assert_lt(ms, 2000, "waited %llu ms: the grace ran out although it exited",
		     (unsigned long long)ms);
	cr_assert(proc_dies((pid_t)pgid));
}

/* The shell exited by itself (done waits for a grandchild holding the
 * output): as after any normal exit, what it left running is not touched. */
Test(exec_stop, already_exited_is_closed_at_once, .timeout = 20)
{
	char *env[] = { "PATH=/usr/bin:/bin", NULL };
	int64_t pgid;
	uint64_t ms = run_and_stop("sleep 5 & exit 0", env, 4000, &pgid);
	cr_assert_lt(ms, 500);
	cr_assert_eq(kill((pid_t)-pgid, 0), 0, "a normal exit's leftovers were signalled");
	kill((pid_t)-pgid, SIGKILL);
}

static char *write_tmp(const char *content, size_t len)
{
	char tmpl[] = "/tmp/rg-out-XXXXXX";
	int fd = mkstemp(tmpl);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, content, len), (ssize_t)len);
	close(fd);
	return strdup(tmpl);
}

static const char *find(char **keys, char **values, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i], key) == 0)
			return values[i];
	return NULL;
}

Test(exec_outputs, parses_lines)
{
	const char *text = "a=1\n\n# a comment\nb=x=y\r\nc=\n  \t\nd.e-f_g=val ue\nlast=no newline";
	char *path = write_tmp(text, strlen(text));
	char **k, **v;
	size_t n;
	rg_error err = { 0 };
	cr_assert_eq(rg_exec_read_outputs(path, &k, &v, &n, &err), RG_OK, "%s", err.message);
	cr_assert_eq(n, 5);
	cr_assert_str_eq(find(k, v, n, "a"), "1");
	cr_assert_str_eq(find(k, v, n, "b"), "x=y");
	cr_assert_str_eq(find(k, v, n, "c"), "");
	cr_assert_str_eq(find(k, v, n, "d.e-f_g"), "val ue");
	cr_assert_str_eq(find(k, v, n, "last"), "no newline");
	rg_exec_outputs_free(k, v, n);
	unlink(path);
	free(path);
}

Test(exec_outputs, later_line_wins)
{
	const char *text = "backend=127.0.0.1:9001\nbackend=127.0.0.1:9002\n";
	char *path = write_tmp(text, strlen(text));
	char **k, **v;
	size_t n;
	rg_error err;
	cr_assert_eq(rg_exec_read_outputs(path, &k, &v, &n, &err), RG_OK);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(v[0], "127.0.0.1:9002");
	rg_exec_outputs_free(k, v, n);
	unlink(path);
	free(path);
}

static void expect_bad(const char *text, size_t len, rg_err code, const char *msg)
{
	char *path = write_tmp(text, len);
	char **k = (char **)1, **v = (char **)1;
	size_t n = 7;
	rg_error err = { 0 };
	cr_assert_eq(rg_exec_read_outputs(path, &k, &v, &n, &err), code, "%s", err.message);
	cr_assert_str_eq(err.message, msg);
	cr_assert_null(k);
	cr_assert_null(v);
	cr_assert_eq(n, 0);
	unlink(path);
	free(path);
}

Test(exec_outputs, bad_lines_name_the_line)
{
	const char *m3 = "ROLLGUARD_OUTPUT line 3: expected key=value";
	expect_bad("a=1\nb=2\nnot a pair\n", 19, RG_EINVAL, m3);
	expect_bad("a=1\n# c\n=value\n", 15, RG_EINVAL, m3);
	expect_bad("a=1\nb=2\n1abc=2\n", 15, RG_EINVAL, m3);
	expect_bad("a=1\nb=2\nsp ace=2\n", 17, RG_EINVAL, m3);
	expect_bad("a=1\nb=2\n$(x)=2\n", 15, RG_EINVAL, m3);
	expect_bad("a=1\nb=2\nk=v\0w\n", 14, RG_EINVAL, m3);
	expect_bad("x=1\r\nkey\r\n", 10, RG_EINVAL, "ROLLGUARD_OUTPUT line 2: expected key=value");
}

Test(exec_outputs, missing_file_is_no_outputs)
{
	char **k, **v;
	size_t n = 3;
	rg_error err;
	cr_assert_eq(rg_exec_read_outputs("/tmp/rg-no-such-output-file", &k, &v, &n, &err),
		     RG_OK);
	cr_assert_eq(n, 0);
	cr_assert_null(k);
	cr_assert_null(v);
	rg_exec_outputs_free(k, v, n);
}

Test(exec_outputs, too_large)
{
	size_t len = 64 * 1024 + 1;
	char *text = malloc(len);
	for (size_t i = 0; i < len; i++)
		text[i] = (i % 16 == 15) ? '\n' : 'a';
	memcpy(text, "a=", 2);
	expect_bad(text, len, RG_ETOOLARGE, "ROLLGUARD_OUTPUT: larger than 65536 bytes");
	free(text);
}

Test(exec_outputs, symlink_is_refused)
{
	const char *text = "a=1\n";
	char *target = write_tmp(text, strlen(text));
	char link[] = "/tmp/rg-out-link-XXXXXX";
	int fd = mkstemp(link);
	close(fd);
	unlink(link);
	cr_assert_eq(symlink(target, link), 0);
	char **k, **v;
	size_t n;
	rg_error err;
	cr_assert_neq(rg_exec_read_outputs(link, &k, &v, &n, &err), RG_OK);
	cr_assert_eq(n, 0);
	unlink(link);
	unlink(target);
	free(target);
}
