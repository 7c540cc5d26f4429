/* notify.h — messages to people: notification channels behind a durable
 * outbox. A notice is enqueued inside the store transaction of the change
 * it tells of (one row per channel); a sender on the loop delivers the rows
 * after the commit, with retries, at least once. Enqueueing never waits for
 * a channel, so a failing channel never holds up a run.
 * All functions run on the loop thread. */
#ifndef RG_NOTIFY_H
#define RG_NOTIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "store/store.h"
#include "util/err.h"

typedef struct rg_notifier rg_notifier;
/* A message to send. Strings borrowed for the call. */
typedef struct rg_notice {
	const char *event;        /* run events: deploy_started, deploy_succeeded, run_failed,
	                             rollback_started, rollback_succeeded, rollback_failed,
	                             approval_requested; incident events: incident_opened,
	                             incident_escalated, incident_acknowledged, incident_resolved */
	const char *env;          /* may be NULL */
	int64_t run_id;           /* 0: none */
	int64_t incident_id;      /* 0: none; PagerDuty dedup_key "rollguard-incident-<id>" (else "rollguard-run-<id>") */
	const char *severity;     /* "P0".."P3"; NULL: P2 (P0→critical, P1→error, P2→warning, P3→info) */
	const char *title;        /* one line, e.g. "🚨 AUTOMATIC ROLLBACK IN PROGRESS" */
	const char *text;         /* the body lines, may be NULL */
	json_t *details;          /* borrowed, may be NULL: PagerDuty custom_details, CloudEvent data */
	const char *const *to;    /* channel names (notify.channels); NULL: the routes decide by event and env */
	size_t n_to;
} rg_notice;
/* cfg (with its channel secrets loaded: rg_notify_secrets_load) and st are
 * borrowed and outlive the notifier. Pending rows left by an earlier serve
 * are picked up at once. */
rg_err rg_notifier_new(uv_loop_t *loop, const rg_config *cfg, rg_store *st, rg_notifier **out, rg_error *err);
/* Inside an open store transaction: one outbox row per channel the notice goes to
 * (unknown channel names → RG_EINVAL). Delivered by the sender after the commit. */
rg_err rg_notify_enqueue(rg_notifier *n, rg_store *st, const rg_notice *notice, rg_error *err);
/* Tells the sender rows may be waiting (call after a commit that enqueued). */
void rg_notifier_kick(rg_notifier *n);
void rg_notifier_close(rg_notifier *n);   /* stops timers and transfers; frees on close */

/* ---- what is inside (for the files of src/notify/ and tests) ---- */

/* The payload stored for channel c: the rendered body, never a secret.
 * key is the row's idempotency key, now the time of the notice. *out is
 * the caller's (free). */
rg_err rg_notify_render(const rg_config *cfg, const rg_channel *c, const rg_notice *notice,
			const char *key, int64_t now, char **out, rg_error *err);
/* "sha256=<hex HMAC-SHA256(secret, timestamp "." body)>" into out (≥ 72 bytes). */
void rg_notify_sign(const char *secret, const char *timestamp, const char *body, size_t len,
		    char *out, size_t size);
/* Whether the routes send event (of env, may be NULL) to channel. */
bool rg_notify_routed(const rg_config *cfg, const char *event, const char *env,
		      const char *channel);

/* Maps the engine's run changes to the run events (events.c): a change
 * hook enqueues their notices in the change's transaction, a subscriber
 * kicks the sender once it committed. e is borrowed and outlives n's use. */
struct rg_engine;
rg_err rg_notify_watch(rg_notifier *n, struct rg_engine *e, rg_error *err);

#endif
