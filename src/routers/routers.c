/* routers.c — one front for every environment's router, and the queue that
 * keeps one environment's operations in order: two route states racing to
 * HAProxy could land in either order, and the older one would win.
 * It must never call a done callback from inside rg_routers_apply, except
 * for the built-in proxy, whose apply is a synchronous table swap. */
#include "routers/routers.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routers/routers_internal.h"

rg_err rg_routers_new(uv_loop_t *loop, const rg_config *cfg, rg_dataplane *dp,
		      rg_routers **out, rg_error *err)
{
	*out = NULL;
	rg_routers *r = calloc(1, sizeof *r);
	if (!r || !(r->queues = calloc(cfg->n_envs ? cfg->n_envs : 1, sizeof *r->queues))) {
		free(r);
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	}
	r->loop = loop;
	r->cfg = cfg;
	r->dp = dp;
	for (size_t i = 0; i < cfg->n_envs; i++)
		r->queues[i].env = &cfg->envs[i];
	*out = r;
	return RG_OK;
}

static rg_route_queue *queue_of(const rg_routers *r, const char *env)
{
	for (size_t i = 0; r && env && i < r->cfg->n_envs; i++)
		if (r->queues[i].env->name && !strcmp(r->queues[i].env->name, env))
			return &r->queues[i];
	return NULL;
}

const char *rg_routers_kind(const rg_routers *r, const char *env)
{
	const rg_route_queue *q = queue_of(r, env);
	switch (q ? q->env->router : RG_ROUTER_NONE) {
	case RG_ROUTER_PROXY:
		return "proxy";
	case RG_ROUTER_HAPROXY:
		return "haproxy";
	case RG_ROUTER_COMMAND:
		return "command";
	default:
		return NULL;
	}
}

/* ---- an op's life: queued, running, finished or cancelled, closed ---------- */

static void op_free(rg_route_op *op)
{
	free(op->line);
	rg_strbuf_release(&op->answer);
	free(op);
}

static void op_handle_closed(uv_handle_t *h)
{
	rg_route_op *op = h->data;
	if (--op->closing == 0)
		op_free(op);
}

static void op_exec_closed(void *ctx)
{
	rg_route_op *op = ctx;
	if (--op->closing == 0)
		op_free(op);
}

/* Detaches op and closes what it holds; it frees itself when all is closed
 * (at once when it holds nothing). Pending connect and write callbacks see
 * op->r == NULL and return. */
static void op_close(rg_route_op *op)
{
	op->r = NULL;
	op->done = NULL;
	op->closing = 1; /* held until every close below is asked for */
	if (op->exec) {
		op->closing++;
		rg_exec_close(op->exec, op_exec_closed, op);
		op->exec = NULL;
	}
	if (op->open & RG_OP_TIMER) {
		op->closing++;
		uv_close((uv_handle_t *)&op->timer, op_handle_closed);
	}
	if (op->open & RG_OP_CONN) {
		op->closing++;
		uv_close((uv_handle_t *)&op->conn.stream, op_handle_closed);
	}
	op->open = 0;
	if (--op->closing == 0)
		op_free(op);
}

static void queue_remove(rg_route_queue *q, rg_route_op *op)
{
	rg_route_op **p = &q->head, *prev = NULL;
	while (*p && *p != op) {
		prev = *p;
		p = &(*p)->next;
	}
	if (!*p)
		return;
	*p = op->next;
	if (q->tail == op)
		q->tail = prev;
	op->next = NULL;
}

static void start_next(rg_route_queue *q)
{
	rg_route_op *op = q->head;
	if (!op || op->running)
		return;
	op->running = true;
	if (q->env->router == RG_ROUTER_HAPROXY)
		rg_haproxy_start(op);
	else
		rg_command_start(op);
}

static void destroy(rg_routers *r)
{
	free(r->queues);
	free(r);
}

/* A done callback may free the routers; they go once the last one returns. */
static void call_done(rg_routers *r, rg_route_done_fn done, void *ctx, rg_err rc,
		      const char *msg, int64_t us)
{
	r->busy++;
	if (done)
		done(ctx, rc, msg, us);
	r->busy--;
}

void rg_route_finish(rg_route_op *op, rg_err rc, const char *fmt, ...)
{
	rg_routers *r = op->r;
	if (!r || op->finished)
		return;
	char msg[RG_ROUTE_MSG_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	rg_route_queue *q = op->q;
	rg_route_done_fn done = op->done;
	void *ctx = op->ctx;
	int64_t us = (int64_t)((uv_hrtime() - op->asked_ns) / 1000u);
	/* Finished and out of the queue, but alive during done: a cancel of it
	 * from there is a no-op, not a use after free. */
	op->finished = true;
	queue_remove(q, op);
	call_done(r, done, ctx, rc, msg, us);
	op_close(op); /* op may be gone from here on */
	if (r->dying) {
		if (r->busy == 0)
			destroy(r);
		return;
	}
	start_next(q);
}

static void deadline_fired(uv_timer_t *t)
{
	rg_route_op *op = t->data;
	rg_route_finish(op, op->deadline_rc, "%s", op->deadline_msg);
}

void rg_route_deadline(rg_route_op *op, int64_t ms, rg_err rc, const char *fmt, ...)
{
	if (!(op->open & RG_OP_TIMER)) {
		uv_timer_init(op->r->loop, &op->timer);
		op->timer.data = op;
		op->open |= RG_OP_TIMER;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(op->deadline_msg, sizeof op->deadline_msg, fmt, ap);
	va_end(ap);
	op->deadline_rc = rc;
	uv_timer_start(&op->timer, deadline_fired, (uint64_t)(ms > 0 ? ms : 0), 0);
}

void rg_route_op_cancel(rg_route_op *op)
{
	if (!op || !op->r || op->finished)
		return;
	rg_route_queue *q = op->q;
	bool was_running = op->running;
	queue_remove(q, op);
	op_close(op);
	if (was_running)
		start_next(q);
}

void rg_routers_free(rg_routers *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->cfg->n_envs; i++) {
		rg_route_queue *q = &r->queues[i];
		while (q->head) {
			rg_route_op *op = q->head;
			queue_remove(q, op);
			op_close(op);
		}
	}
	if (r->busy)
		r->dying = true;
	else
		destroy(r);
}

/* ---- apply ------------------------------------------------------------------ */

/* The built-in proxy swaps its table in microseconds: no queue, no op. */
static rg_err apply_proxy(rg_routers *r, const rg_env *env, const rg_route_state *st,
			  rg_route_done_fn done, void *ctx, rg_error *err)
{
	if (!r->dp)
		return rg_fail(err, RG_EUNAVAILABLE, "env",
			       "environment '%s': the built-in proxy is not running", env->name);
	int64_t swap_us = 0;
	rg_error e = { 0 };
	char msg[RG_ROUTE_MSG_LEN];
	rg_err rc = rg_dataplane_apply(r->dp, st, &swap_us, &e);
	if (rc != RG_OK)
		snprintf(msg, sizeof msg, "proxy %s: %s", env->proxy_listen, e.message);
	else
		snprintf(msg, sizeof msg, "proxy %s: routing table swapped", env->proxy_listen);
	call_done(r, done, ctx, rc, msg, swap_us);
	if (r->dying && r->busy == 0)
		destroy(r);
	return RG_OK;
}

rg_err rg_routers_apply(rg_routers *r, const rg_route_state *st, rg_route_done_fn done,
			void *ctx, rg_route_op **out, rg_error *err)
{
	if (out)
		*out = NULL;
	if (r->dying)
		return rg_fail(err, RG_EINTERNAL, NULL, "routers are being freed");
	rg_route_queue *q = queue_of(r, st->env);
	if (!q || q->env->router == RG_ROUTER_NONE)
		return rg_fail(err, RG_ENOTFOUND, "env", "environment '%s' has no proxy or router",
			       st->env);
	if (q->env->router == RG_ROUTER_PROXY)
		return apply_proxy(r, q->env, st, done, ctx, err);
	if (q->env->router == RG_ROUTER_HAPROXY) {
		rg_err rc = rg_haproxy_check(q->env, st, err);
		if (rc != RG_OK)
			return rc;
	}
	rg_route_op *op = calloc(1, sizeof *op);
	if (!op)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	op->r = r;
	op->q = q;
	op->st = *st;
	op->done = done;
	op->ctx = ctx;
	op->asked_ns = uv_hrtime();
	if (q->tail)
		q->tail->next = op;
	else
		q->head = op;
	q->tail = op;
	start_next(q);
	if (out)
		*out = op;
	return RG_OK;
}
