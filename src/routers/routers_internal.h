/* routers_internal.h — what routers.c (the per-environment queue) shares
 * with the two asynchronous routers, haproxy.c and command.c.
 * Never include it outside src/routers/: routers.h is the interface. */
#ifndef RG_ROUTERS_INTERNAL_H
#define RG_ROUTERS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "engine/exec.h"
#include "routers/routers.h"
#include "util/strbuf.h"

#define RG_ROUTE_MSG_LEN 512

/* One environment's operations, oldest first; only the head runs. */
typedef struct rg_route_queue {
	const rg_env *env;
	rg_route_op *head, *tail;
} rg_route_queue;

struct rg_routers {
	uv_loop_t *loop;
	const rg_config *cfg;
	rg_dataplane *dp;
	rg_route_queue *queues;  /* one per cfg->envs[i], same order */
	int busy;                /* done callbacks on the stack */
	bool dying;              /* rg_routers_free ran inside a done callback */
};

/* Handles an op may own, one bit each: an op that failed half way through
 * its start is torn down by the same code as a finished one. */
enum { RG_OP_TIMER = 1, RG_OP_CONN = 2 };

/* One apply. It lives in its environment's queue until it finishes or is
 * cancelled; then it is detached (r = NULL), its handles are closed and it
 * frees itself when the last close callback has run. */
struct rg_route_op {
	rg_routers *r;           /* NULL once detached */
	rg_route_queue *q;
	rg_route_op *next;
	rg_route_state st;
	rg_route_done_fn done;
	void *ctx;
	uint64_t asked_ns;       /* when rg_routers_apply was called */
	bool running, finished;
	unsigned open;           /* RG_OP_* handles to close */
	int closing;             /* uv_close calls not yet called back */
	uv_timer_t timer;        /* rg_route_deadline */
	rg_err deadline_rc;      /* what the timer reports when it fires */
	char deadline_msg[RG_ROUTE_MSG_LEN];
	/* haproxy */
	union {
		uv_stream_t stream;
		uv_pipe_t pipe;
		uv_tcp_t tcp;
	} conn;
	uv_connect_t connect_req;
	uv_write_t write_req;
	char *line;              /* the commands, ';'-separated, '\n'-terminated */
	size_t n_commands;
	rg_strbuf answer;        /* what the router said so far */
	/* command */
	rg_exec *exec;
};

/* Ends a running op: reports rc and message to its done (unless it was
 * cancelled), closes its handles and starts the next op of its queue. */
void rg_route_finish(rg_route_op *op, rg_err rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Finishes op with rc and the message after ms on the loop, unless it
 * finishes otherwise first; a later call replaces an earlier one. ms = 0
 * reports a failed start from the loop, never from inside
 * rg_routers_apply: these routers always call done later on the loop. */
void rg_route_deadline(rg_route_op *op, int64_t ms, rg_err rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* haproxy.c */
/* Checks st against HAProxy's one-backend-per-side model before it is queued. */
rg_err rg_haproxy_check(const rg_env *env, const rg_route_state *st, rg_error *err);
void rg_haproxy_start(rg_route_op *op);

/* command.c */
void rg_command_start(rg_route_op *op);

#endif
