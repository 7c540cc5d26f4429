/* exec.h — one shell command as a child process on the loop.
 * The command runs as `/bin/sh -c CMD` in its own process group, in cwd, with
 * exactly the environment given (values reach commands only as environment
 * variables, never spliced into command text). stdout and stderr go into a
 * bounded log that keeps the tail. A timeout sends SIGTERM to the group, then
 * SIGKILL after a grace period.
 * A child may be spawned held: it exists (its group can be recorded) but runs
 * nothing until rg_exec_release, and if this process dies first it exits
 * without running the command. */
#ifndef RG_EXEC_H
#define RG_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "util/err.h"
#include "util/secrets.h"

typedef struct rg_exec rg_exec;

/* What identifies a process group's leader beyond its pid, which the kernel
 * hands out again: when it started (clock ticks since boot, field 22 of
 * /proc/PID/stat) and during which boot (/proc/sys/kernel/random/boot_id). */
#define RG_BOOT_ID_MAX 40
typedef struct rg_proc_id {
	int64_t pgid;                  /* 0 = none */
	int64_t start_ticks;           /* 0 = unknown */
	char boot_id[RG_BOOT_ID_MAX];  /* "" = unknown */
} rg_proc_id;

typedef struct rg_exec_result {
	int exit_code;        /* exit status, or -1 when ended by a signal */
	int term_signal;      /* signal that ended it, 0 if none */
	bool timed_out;       /* the timeout fired */
	int64_t duration_ms;
} rg_exec_result;

/* Called once on the loop when the child has exited and its pipes are
 * drained. The rg_exec is still valid during the callback; free it with
 * rg_exec_free() afterwards (from the callback is fine). */
typedef void (*rg_exec_done_fn)(rg_exec *x, const rg_exec_result *res, void *ctx);

typedef struct rg_exec_opts {
	const char *command;   /* shell text, from the config only */
	const char *cwd;
	char **env;            /* NULL-terminated "K=V" list; copied */
	int64_t timeout_ms;    /* 0 = none */
	int64_t kill_grace_ms; /* SIGTERM → SIGKILL; 0 = 5000 */
	size_t log_limit;      /* bytes of log kept (the tail); 0 = 256 KiB */
	bool held;             /* spawn it waiting for rg_exec_release */
	rg_secrets *mask;      /* values masked in the log as output arrives, even
				  split across reads; NULL = none. Borrowed: it
				  must outlive the rg_exec */
} rg_exec_opts;

/* Spawns the command. On success *out is owned by the caller. */
rg_err rg_exec_start(uv_loop_t *loop, const rg_exec_opts *opts, rg_exec_done_fn done,
		     void *ctx, rg_exec **out, rg_error *err);
/* Process group id of the child (for recording; killed again after a crash). */
int64_t rg_exec_pgid(const rg_exec *x);
/* The child's identity, read when it was spawned (start_ticks and boot_id
 * stay unknown where /proc cannot be read). Valid as long as x. */
const rg_proc_id *rg_exec_id(const rg_exec *x);
/* Lets a held child run its command; its timeout starts now. Nothing
 * happens to a child that was not held. RG_EIO when the child is gone; x
 * stays the caller's either way (rg_exec_free it on failure). */
rg_err rg_exec_release(rg_exec *x, rg_error *err);
/* The log so far (tail when truncated, with a "[… N bytes dropped …]" first
 * line). Pointer valid until the next loop iteration or rg_exec_free. */
const char *rg_exec_log(const rg_exec *x, size_t *len);
/* SIGTERM to the group now, SIGKILL after the grace; done still fires. */
void rg_exec_kill(rg_exec *x);
/* The owner is done with x but the child may still run: SIGTERM to the
 * group now, SIGKILL after the grace unless the group is gone first. done
 * never fires; on_gone(ctx) (may be NULL) runs once nothing of x is left
 * on the loop and x is freed. A child never released is killed at once (it
 * ran nothing); one that already exited by itself gets no signal. */
void rg_exec_stop(rg_exec *x, void (*on_gone)(void *ctx), void *ctx);
/* Frees x. If the child still runs it is killed (SIGKILL to the group) and
 * done never fires. Handles are closed asynchronously. */
void rg_exec_free(rg_exec *x);
/* rg_exec_free, then on_closed(ctx) once every handle is closed and x is
 * freed, for owners that must know nothing of theirs is left on the loop. */
void rg_exec_close(rg_exec *x, void (*on_closed)(void *ctx), void *ctx);

/* Reads the identity of process pid now; false if it is gone or /proc
 * cannot tell (then *out has what could be read). */
bool rg_exec_read_id(int64_t pid, rg_proc_id *out);
/* Kills (SIGKILL) a process group left from before a crash, but only while
 * its leader is still the process recorded in id (same boot, same start
 * time): a pgid alone may by now name somebody else's processes. Logs what
 * it did; true when it sent the signal. */
bool rg_exec_kill_stale_group(const rg_proc_id *id);

/* Reads key=value lines of a $ROLLGUARD_OUTPUT file. Keys must match
 * rg_ident_valid; other lines are reported in err (RG_EINVAL, naming the
 * line). *keys and *values are owned arrays of owned strings; free with
 * rg_exec_outputs_free. A missing file is no outputs. */
rg_err rg_exec_read_outputs(const char *path, char ***keys, char ***values, size_t *n,
			    rg_error *err);
void rg_exec_outputs_free(char **keys, char **values, size_t n);

#endif
