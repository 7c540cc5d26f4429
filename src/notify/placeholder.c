/* placeholder.c — PLACEHOLDER for the notifier of notify.h, until the
 * `notify` branch replaces it with the real channels and outbox: it only
 * records each notice about an incident as an entry of that incident's
 * timeline ("notified devops: …"), in the caller's transaction, and sends
 * nothing. It must never be mistaken for delivery. */
#include "notify/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rg_notifier {
	int unused;
};

rg_err rg_notifier_new(uv_loop_t *loop, const rg_config *cfg, rg_store *st, rg_notifier **out,
		       rg_error *err)
{
	(void)loop, (void)cfg, (void)st;
	if (!(*out = calloc(1, sizeof **out)))
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	return RG_OK;
}

rg_err rg_notify_enqueue(rg_notifier *n, rg_store *st, const rg_notice *notice, rg_error *err)
{
	char to[512] = "", msg[1024];
	size_t used = 0;
	(void)n;
	if (!notice->incident_id)
		return RG_OK;
	for (size_t i = 0; i < notice->n_to && used < sizeof to; i++)
		used += (size_t)snprintf(to + used, sizeof to - used, "%s%s", i ? "," : "", notice->to[i]);
	snprintf(msg, sizeof msg, "notified %s: %s: %s", notice->to ? to : "(routes)", notice->event,
		 notice->title ? notice->title : "");
	return rg_store_incident_entry_add(st, notice->incident_id, "notified", NULL, msg, err);
}

void rg_notifier_kick(rg_notifier *n)
{
	(void)n;
}

void rg_notifier_close(rg_notifier *n)
{
	free(n);
}
