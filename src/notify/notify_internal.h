/* notify_internal.h — what the files of src/notify/ share: the notifier.
 * notify.c enqueues, sender.c delivers, events.c maps run changes. */
#ifndef RG_NOTIFY_INTERNAL_H
#define RG_NOTIFY_INTERNAL_H

#include <stdbool.h>

#include "http/client.h"
#include "notify/notify.h"

#define RG_NOTIFY_MAX_INFLIGHT 32

struct rg_notifier {
	uv_loop_t *loop;
	const rg_config *cfg;
	rg_store *st;
	rg_http *http;           /* Slack, PagerDuty, webhooks, SMTP */
	uv_timer_t timer;        /* the next row due */
	int64_t inflight[RG_NOTIFY_MAX_INFLIGHT]; /* row ids being delivered */
	size_t n_inflight;
	int children;            /* command channels still running */
	struct attempt *cmds;    /* their attempts (sender.c), to stop them at close */
	int pending_close;       /* handles still closing */
	bool closing;
	bool enqueued;           /* rows written in the transaction under way */
	bool store_trouble;      /* the last write was refused: look again in a second, not at once */
};

/* Delivers what is due and sets the timer for what comes next (sender.c). */
void rg_sender_run(rg_notifier *n);
/* Stops transfers; the notifier is freed once every handle closed (sender.c). */
void rg_sender_close(rg_notifier *n);
/* The timer's callback: rg_sender_run. */
void rg_notify_timer_cb(uv_timer_t *t);

#endif
