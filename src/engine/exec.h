/* exec.h — one shell command as a child process on the loop.
 * The command runs as `/bin/sh -c CMD` in its own process group, in cwd, with
 * exactly the environment given (values reach commands only as environment
 * variables, never spliced into command text). stdout and stderr go into a
 * bounded log that keeps the tail. A timeout sends SIGTERM to the group, then
 * SIGKILL after a grace period. */
#ifndef RG_EXEC_H
#define RG_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "util/err.h"

typedef struct rg_exec rg_exec;

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
} rg_exec_opts;

/* Spawns the command. On success *out is owned by the caller. */
rg_err rg_exec_start(uv_loop_t *loop, const rg_exec_opts *opts, rg_exec_done_fn done,
		     void *ctx, rg_exec **out, rg_error *err);
/* Process group id of the child (for recording; killed again after a crash). */
int64_t rg_exec_pgid(const rg_exec *x);
/* The log so far (tail when truncated, with a "[… N bytes dropped …]" first
 * line). Pointer valid until the next loop iteration or rg_exec_free. */
const char *rg_exec_log(const rg_exec *x, size_t *len);
/* SIGTERM to the group now, SIGKILL after the grace; done still fires. */
void rg_exec_kill(rg_exec *x);
/* Frees x. If the child still runs it is killed (SIGKILL to the group) and
 * done never fires. Handles are closed asynchronously. */
void rg_exec_free(rg_exec *x);
/* rg_exec_free, then on_closed(ctx) once every handle is closed and x is
 * freed, for owners that must know nothing of theirs is left on the loop. */
void rg_exec_close(rg_exec *x, void (*on_closed)(void *ctx), void *ctx);

/* Kills a process group left from before a crash (SIGKILL; no error if gone). */
void rg_exec_kill_stale_group(int64_t pgid);

/* Reads key=value lines of a $ROLLGUARD_OUTPUT file. Keys must match
 * rg_ident_valid; other lines are reported in err (RG_EINVAL, naming the
 * line). *keys and *values are owned arrays of owned strings; free with
 * rg_exec_outputs_free. A missing file is no outputs. */
rg_err rg_exec_read_outputs(const char *path, char ***keys, char ***values, size_t *n,
			    rg_error *err);
void rg_exec_outputs_free(char **keys, char **values, size_t n);

#endif
