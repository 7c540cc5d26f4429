/* notify.c — the notifier and its outbox side: which channels a notice
 * goes to (its own list, else the routes), one row per channel rendered
 * into the store inside the caller's transaction. It never sends: the
 * sender (sender.c) does, after the commit. */
#include "notify/notify_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/timeutil.h"

bool rg_notify_routed(const rg_config *cfg, const char *event, const char *env,
		      const char *channel)
{
	for (size_t i = 0; i < cfg->n_notify_routes; i++) {
		const rg_notify_route *r = &cfg->notify_routes[i];
		bool ev = false, in_env = r->n_envs == 0, to = false;
		for (size_t j = 0; j < r->n_events; j++)
			ev |= r->events[j] && !strcmp(r->events[j], event);
		for (size_t j = 0; env && j < r->n_envs; j++)
			in_env |= r->envs[j] && !strcmp(r->envs[j], env);
		for (size_t j = 0; j < r->n_to; j++)
			to |= r->to[j] && !strcmp(r->to[j], channel);
		if (ev && in_env && to)
			return true;
	}
	return false;
}

/* Stable for the row, unguessable, and the same in every retry. */
static void new_key(char *out, size_t size)
{
	unsigned char raw[16];
	char hex[2 * sizeof raw + 1];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
	snprintf(out, size, "rollguard-%s", hex);
}

static rg_err enqueue_one(rg_notifier *n, rg_store *st, const rg_channel *c,
			  const rg_notice *notice, rg_error *err)
{
	rg_outbox_row r = { .created = rg_now_ms(), .run_id = notice->run_id,
			    .incident_id = notice->incident_id };
	snprintf(r.channel, sizeof r.channel, "%s", c->name);
	snprintf(r.event, sizeof r.event, "%s", notice->event);
	snprintf(r.env, sizeof r.env, "%s", notice->env ? notice->env : "");
	new_key(r.key, sizeof r.key);
	rg_err rc = rg_notify_render(n->cfg, c, notice, r.key, r.created, &r.payload, err);
	if (!rc)
		rc = rg_store_outbox_add(st, &r, err);
	free(r.payload);
	if (!rc)
		n->enqueued = true;
	return rc;
}

rg_err rg_notify_enqueue(rg_notifier *n, rg_store *st, const rg_notice *notice, rg_error *err)
{
	if (!notice || !notice->event || !notice->title)
		return rg_fail(err, RG_EINVAL, "notice", "a notice needs an event and a title");
	for (size_t i = 0; notice->to && i < notice->n_to; i++)
		if (!rg_config_channel(n->cfg, notice->to[i]))
			return rg_fail(err, RG_EINVAL, "to", "unknown channel '%s'", notice->to[i]);
	rg_err rc = RG_OK;
	if (notice->to) {
		for (size_t i = 0; !rc && i < notice->n_to; i++)
			rc = enqueue_one(n, st, rg_config_channel(n->cfg, notice->to[i]), notice, err);
		return rc;
	}
	for (size_t i = 0; !rc && i < n->cfg->n_channels; i++) {
		const rg_channel *c = &n->cfg->channels[i];
		if (rg_notify_routed(n->cfg, notice->event, notice->env, c->name))
			rc = enqueue_one(n, st, c, notice, err);
	}
	return rc;
}

void rg_notifier_kick(rg_notifier *n)
{
	if (!n || n->closing)
		return;
	n->enqueued = false;
	uv_timer_start(&n->timer, rg_notify_timer_cb, 0, 0);
}

rg_err rg_notifier_new(uv_loop_t *loop, const rg_config *cfg, rg_store *st, rg_notifier **out,
		       rg_error *err)
{
	if (sodium_init() < 0)
		return rg_fail(err, RG_EINTERNAL, NULL, "libsodium cannot start");
	rg_notifier *n = calloc(1, sizeof *n);
	if (!n)
		return rg_fail(err, RG_ENOMEM, NULL, "notify: out of memory");
	n->loop = loop;
	n->cfg = cfg;
	n->st = st;
	rg_err rc = rg_http_new(loop, &n->http, err);
	if (rc) {
		free(n);
		return rc;
	}
	uv_timer_init(loop, &n->timer);
	n->timer.data = n;
	uv_unref((uv_handle_t *)&n->timer);   /* a retry due later never holds serve's exit */
	*out = n;
	rg_notifier_kick(n);   /* what an earlier serve left pending */
	return RG_OK;
}

void rg_notifier_close(rg_notifier *n)
{
	if (!n || n->closing)
		return;
	n->closing = true;
	rg_sender_close(n);
}
