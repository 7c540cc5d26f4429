/* notify.h — notices to people through the channels of `notify:`, written
 * to a durable outbox inside the transaction of the change that caused
 * them and delivered by a sender on the loop. The `notify` branch owns this
 * interface and its implementation; other modules only enqueue. */
#ifndef RG_NOTIFY_NOTIFY_H
#define RG_NOTIFY_NOTIFY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "store/store.h"
#include "util/err.h"

typedef struct rg_notifier rg_notifier;
typedef struct rg_notice {
	const char *event;        /* incident_opened, incident_escalated, incident_acknowledged, incident_resolved (and run events) */
	const char *env;          /* may be NULL */
	int64_t run_id;           /* 0: none */
	int64_t incident_id;      /* 0: none; PagerDuty dedup_key "rollguard-incident-<id>" */
	const char *severity;     /* "P0".."P3"; NULL: P2 */
	const char *title;        /* one line */
	const char *text;         /* the body lines, may be NULL */
	json_t *details;          /* borrowed, may be NULL */
	const char *const *to;    /* channel names (notify.channels); NULL: routes decide by event and env */
	size_t n_to;
} rg_notice;
rg_err rg_notifier_new(uv_loop_t *loop, const rg_config *cfg, rg_store *st, rg_notifier **out, rg_error *err);
/* Inside an open store transaction: one outbox row per channel. */
rg_err rg_notify_enqueue(rg_notifier *n, rg_store *st, const rg_notice *notice, rg_error *err);
void rg_notifier_kick(rg_notifier *n);   /* after a commit that enqueued */
void rg_notifier_close(rg_notifier *n);

#endif
