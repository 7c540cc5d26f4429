/* incident.c — opening, joining, escalating, acknowledging and resolving
 * incidents (incident.h). Everything an incident learns of a run it learns
 * in that run change's transaction (the change hook), so an incident is as
 * durable as the failure it records; every notice is enqueued in the
 * transaction that records why it is sent. It never sends anything itself
 * and never blocks the loop: the ladder is one timer on the earliest
 * stored next_escalation_at. */
#include "incident/incident.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "incident/ladder.h"
#include "util/log.h"
#include "util/timeutil.h"

#define RETRY_MS 1000

struct rg_incidents {
	uv_loop_t *loop;
	const rg_config *cfg;
	rg_store *store;
	rg_engine *engine;
	rg_notifier *notifier;
	uv_timer_t timer;
	bool timer_open;
	bool dirty;          /* a hook wrote something: kick and re-arm after the commit */
	bool subscribed;
};

static void arm(rg_incidents *in);

/* ---- what a change says ----------------------------------------------------- */

static bool is_severity(const char *s)
{
	return s && s[0] == 'P' && s[1] >= '0' && s[1] <= '3' && !s[2];
}

/* The kind of incident a change shows, or NULL when it shows none. */
static const char *kind_of(const rg_change *c)
{
	const rg_run *r = c->run;
	bool entered = c->created || c->from != r->state;
	if (c->event && strcmp(c->event, "restore_held") == 0)
		return "restore_held";
	if (c->decision && strcmp(c->decision->action, "hold") == 0 &&
	    strncmp(c->decision->reason, RG_LOOP_GUARD_REASON, strlen(RG_LOOP_GUARD_REASON)) == 0)
		return "loop_guard";
	if (c->decision && strcmp(c->decision->window, "post_rollback_monitor") == 0)
		return "restored_unhealthy";
	if (!entered)
		return NULL;
	if (r->state == RG_RUN_ROLLBACK_FAILED)
		return "rollback_failed";
	if (r->state == RG_RUN_FAILED)
		return "failed";
	if (r->state == RG_RUN_ROLLING_BACK && r->kind == RG_KIND_DEPLOY)
		return "rollback";
	return NULL;
}

static const char *severity_of(const rg_change *c, const char *kind)
{
	if (c->decision && is_severity(c->decision->severity))
		return c->decision->severity;
	return strcmp(kind, "rollback_failed") == 0 ? "P1" : "P2";
}

static void decision_text(const rg_decision *d, char *out, size_t size)
{
	out[0] = '\0';
	if (!d)
		return;
	json_t *ev = d->evidence[0] ? json_loads(d->evidence, 0, NULL) : NULL;
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:I}", "trigger", d->trigger,
			      "severity", d->severity, "action", d->action, "observed", d->observed,
			      "threshold", d->threshold, "window", d->window, "evidence",
			      ev ? ev : json_null(), "reason", d->reason, "at", (json_int_t)rg_now_ms());
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (text && strlen(text) < size)
		snprintf(out, size, "%s", text);
	free(text);
	json_decref(o);
}

/* ---- notices ---------------------------------------------------------------- */

/* The timeline's record of a notice: the channels it went to (named, or
 * chosen by the routes); `rollguard notifications` says how each delivery went. */
static rg_err note_notified(const rg_incidents *in, rg_store *s, const rg_notice *n,
			    rg_error *err)
{
	char to[512] = "", msg[1024];
	size_t used = 0;
	for (size_t i = 0; i < in->cfg->n_channels && used < sizeof to; i++) {
		const char *name = in->cfg->channels[i].name;
		bool named = false;
		for (size_t k = 0; k < n->n_to; k++)
			named |= strcmp(n->to[k], name) == 0;
		if (n->to ? !named : !rg_notify_routed(in->cfg, n->event, n->env, name))
			continue;
		used += (size_t)snprintf(to + used, sizeof to - used, "%s%s", used ? "," : "", name);
	}
	if (!to[0])   /* no route sends it: nothing was told, nothing to record */
		return RG_OK;
	snprintf(msg, sizeof msg, "notified %s: %s: %s", to, n->event,
		 n->title ? n->title : "");
	return rg_store_incident_entry_add(s, n->incident_id, "notified", NULL, msg, err);
}

static rg_err notify(rg_incidents *in, rg_store *s, const rg_incident *inc, const char *event,
		     const char *title, const char *text, const char *const *to, size_t n_to,
		     rg_error *err)
{
	rg_notice n = { .event = event, .env = inc->env, .incident_id = inc->id,
			.severity = inc->severity, .title = title, .text = text,
			.to = n_to ? to : NULL, .n_to = n_to };
	in->dirty = true;
	rg_err rc = rg_notify_enqueue(in->notifier, s, &n, err);
	if (!rc)
		rc = note_notified(in, s, &n, err);
	return rc;
}

/* The channels the levels notified so far went to, each once. */
static size_t paged_channels(const rg_incidents *in, const rg_incident *inc, const char **to,
			     size_t max)
{
	size_t n = 0;
	for (int l = 0; l < inc->level && (size_t)l < in->cfg->incident.n_levels; l++) {
		const rg_escalation_level *lv = &in->cfg->incident.levels[l];
		for (size_t k = 0; k < lv->n_to; k++) {
			bool seen = false;
			for (size_t j = 0; j < n && !seen; j++)
				seen = strcmp(to[j], lv->to[k]) == 0;
			if (!seen && n < max && lv->to[k])
				to[n++] = lv->to[k];
		}
	}
	return n;
}

/* Notifies every level due at now, in order, and stores where the climb is. */
static rg_err climb(rg_incidents *in, rg_store *s, rg_incident *inc, int64_t now, rg_error *err)
{
	const rg_incident_cfg *ic = &in->cfg->incident;
	int due = rg_ladder_level_at(ic, inc->ladder_start, inc->level, now);
	rg_err rc = RG_OK;
	while (!rc && inc->level < due) {
		const rg_escalation_level *lv = &ic->levels[inc->level];
		inc->level++;
		char title[300], msg[200];
		snprintf(title, sizeof title, "%s incident %lld in %s (%s of %s), level %d",
			 inc->severity, (long long)inc->id, inc->env, inc->kind,
			 inc->failed_version[0] ? inc->failed_version : "-", inc->level);
		snprintf(msg, sizeof msg, "escalated to level %d", inc->level);
		rc = rg_store_incident_entry_add(s, inc->id, "escalated", NULL, msg, err);
		if (!rc)
			rc = notify(in, s, inc, "incident_escalated", title, NULL,
				    (const char *const *)lv->to, lv->n_to, err);
	}
	inc->next_escalation_at = inc->state == RG_INCIDENT_OPEN
					  ? rg_ladder_next_at(ic, inc->ladder_start, inc->level)
					  : 0;
	return rc ? rc : rg_store_incident_update(s, inc, err);
}

static rg_err start_climb(rg_incidents *in, rg_store *s, rg_incident *inc, int first,
			  rg_error *err)
{
	int64_t now = rg_now_ms();
	int before;
	inc->escalating = true;
	inc->ladder_start = rg_ladder_start_at(&in->cfg->incident, first, now, &before);
	if (inc->level < before)
		inc->level = before;
	return climb(in, s, inc, now, err);
}

/* ---- the change hook ----------------------------------------------------------- */

static int severity_rank(const char *s)
{
	return is_severity(s) ? s[1] - '0' : 2;
}

static rg_err open_incident(rg_incidents *in, rg_store *s, const rg_change *c, const char *kind,
			    rg_incident *inc, rg_error *err)
{
	const rg_run *r = c->run;
	bool deploy = r->kind == RG_KIND_DEPLOY;
	memset(inc, 0, sizeof *inc);
	snprintf(inc->env, sizeof inc->env, "%s", r->env);
	snprintf(inc->severity, sizeof inc->severity, "%s", severity_of(c, kind));
	snprintf(inc->kind, sizeof inc->kind, "%s", kind);
	snprintf(inc->failed_version, sizeof inc->failed_version, "%s", deploy ? r->version : r->from_version);
	snprintf(inc->restored_version, sizeof inc->restored_version, "%s", deploy ? r->from_version : r->version);
	if (c->decision)
		snprintf(inc->trigger, sizeof inc->trigger, "%s", c->decision->trigger);
	decision_text(c->decision, inc->decision, sizeof inc->decision);
	inc->state = RG_INCIDENT_OPEN;
	inc->opened = rg_now_ms();
	snprintf(inc->opened_by, sizeof inc->opened_by, "run %lld", (long long)r->id);
	rg_err rc = rg_store_incident_add(s, inc, err);
	for (size_t i = 0; !rc && i < in->cfg->incident.n_checklist; i++)
		rc = rg_store_incident_item_add(s, inc->id, (int)i + 1, in->cfg->incident.checklist[i], err);
	char title[400], msg[600];
	snprintf(title, sizeof title, "%s incident %lld in %s: %s of %s", inc->severity,
		 (long long)inc->id, inc->env, kind, inc->failed_version[0] ? inc->failed_version : "-");
	snprintf(msg, sizeof msg, "opened by run %lld (%s)%s%s", (long long)r->id, kind,
		 c->decision ? ": " : "", c->decision ? c->decision->reason : "");
	if (!rc)
		rc = rg_store_incident_entry_add(s, inc->id, "opened", NULL, msg, err);
	if (!rc)
		rc = notify(in, s, inc, "incident_opened", title, msg, NULL, 0, err);
	return rc;
}

static rg_err on_change(void *ctx, rg_store *s, const rg_change *c, rg_error *err)
{
	rg_incidents *in = ctx;
	const char *kind = kind_of(c);
	if (!kind)
		return RG_OK;
	const rg_run *r = c->run;
	const char *failed = r->kind == RG_KIND_DEPLOY ? r->version : r->from_version;
	rg_incident inc;
	bool found = false;
	rg_err rc = rg_store_incident_open_of(s, r->env, failed, &inc, &found, err);
	if (!rc && !found)
		rc = open_incident(in, s, c, kind, &inc, err);
	else if (!rc) {
		char msg[700];
		snprintf(msg, sizeof msg, "run %lld: %s%s%s", (long long)r->id, kind,
			 c->decision ? ": " : "", c->decision ? c->decision->reason : "");
		const char *sev = severity_of(c, kind);
		if (severity_rank(sev) < severity_rank(inc.severity))
			snprintf(inc.severity, sizeof inc.severity, "%s", sev);
		if (strcmp(inc.kind, "rollback") == 0 && strcmp(kind, "rollback") != 0)
			snprintf(inc.kind, sizeof inc.kind, "%s", kind);   /* the worse news names it */
		rc = rg_store_incident_entry_add(s, inc.id, "joined", NULL, msg, err);
		if (!rc)
			rc = rg_store_incident_update(s, &inc, err);
	}
	if (!rc)
		rc = rg_store_incident_run_add(s, inc.id, r->id, err);
	if (!rc && !inc.escalating && inc.state == RG_INCIDENT_OPEN &&
	    rg_ladder_escalates(&in->cfg->incident, kind, inc.severity))
		rc = start_climb(in, s, &inc, strcmp(kind, "loop_guard") == 0 ? 2 : 1, err);
	return rc;
}

/* After a commit: tell the sender, look again at the timer. */
static void on_news(void *ctx, const rg_news *news)
{
	rg_incidents *in = ctx;
	(void)news;
	if (!in->dirty)
		return;
	in->dirty = false;
	rg_notifier_kick(in->notifier);
	arm(in);
}

/* ---- the ladder's timer ---------------------------------------------------------- */

static rg_err climb_due(rg_incidents *in, rg_error *err)
{
	int64_t *ids = NULL;
	size_t n = 0;
	int64_t now = rg_now_ms();
	int64_t first = 0;
	rg_store *s = in->store;
	/* nothing due: no transaction at all (a start-up with no climb writes nothing) */
	rg_err rc = rg_store_incident_next_due(s, &first, err);
	if (rc || !first || first > now)
		return rc;
	rc = rg_store_begin(s, err);
	if (!rc)
		rc = rg_store_incidents_due(s, now, &ids, &n, err);
	for (size_t i = 0; !rc && i < n; i++) {
		rg_incident inc;
		rc = rg_store_incident_get(s, ids[i], &inc, err);
		if (!rc)
			rc = climb(in, s, &inc, now, err);
	}
	free(ids);
	if (!rc)
		rc = rg_store_commit(s, err);
	if (rc)
		rg_store_abandon(s);
	else if (n)
		rg_notifier_kick(in->notifier);
	return rc;
}

static void on_timer(uv_timer_t *t)
{
	rg_incidents *in = t->data;
	rg_error err;
	if (climb_due(in, &err)) {
		rg_warn("incidents: the escalation could not be stored (trying again in 1s): %s",
			err.message);
		uv_timer_start(&in->timer, on_timer, RETRY_MS, 0);
		return;
	}
	arm(in);
}

static void arm(rg_incidents *in)
{
	int64_t at = 0;
	rg_error err;
	if (!in->timer_open)
		return;
	if (rg_store_incident_next_due(in->store, &at, &err)) {
		rg_warn("incidents: %s", err.message);
		uv_timer_start(&in->timer, on_timer, RETRY_MS, 0);
		return;
	}
	uv_timer_stop(&in->timer);
	if (!at)
		return;
	int64_t wait = at - rg_now_ms();
	uv_timer_start(&in->timer, on_timer, wait > 0 ? (uint64_t)wait : 0, 0);
}

/* ---- people ------------------------------------------------------------------------ */

typedef rg_err (*answer_fn)(rg_incidents *in, rg_incident *inc, const char *actor,
			    const char *note, rg_error *err);

/* One person's answer in one transaction, then the sender and the timer. */
static rg_err answer(rg_incidents *in, int64_t id, const char *actor, const char *note,
		     answer_fn fn, rg_error *err)
{
	rg_incident inc;
	rg_store *s = in->store;
	rg_err rc = rg_store_begin(s, err);
	if (!rc)
		rc = rg_store_incident_get(s, id, &inc, err);
	if (!rc)
		rc = fn(in, &inc, actor, note, err);
	if (!rc)
		rc = rg_store_commit(s, err);
	if (rc) {
		rg_store_abandon(s);
		return rc;
	}
	in->dirty = false;
	rg_notifier_kick(in->notifier);
	arm(in);
	return RG_OK;
}

static rg_err tell(rg_incidents *in, rg_incident *inc, const char *event, const char *what,
		   const char *actor, const char *note, rg_error *err)
{
	const char *to[64];
	size_t n = paged_channels(in, inc, to, sizeof to / sizeof *to);
	char title[400];
	snprintf(title, sizeof title, "%s incident %lld in %s %s by %s", inc->severity,
		 (long long)inc->id, inc->env, what, actor);
	return notify(in, in->store, inc, event, title, note, to, n, err);
}

static rg_err do_ack(rg_incidents *in, rg_incident *inc, const char *actor, const char *note,
		     rg_error *err)
{
	if (inc->state != RG_INCIDENT_OPEN)
		return rg_fail(err, RG_ECONFLICT, NULL, "incident %lld is %s already", (long long)inc->id,
			       rg_incident_state_name(inc->state));
	inc->state = RG_INCIDENT_ACKNOWLEDGED;
	inc->acked = rg_now_ms();
	snprintf(inc->acked_by, sizeof inc->acked_by, "%s", actor);
	inc->next_escalation_at = 0;
	char msg[700];
	snprintf(msg, sizeof msg, "acknowledged at level %d; the climb stops%s%s", inc->level,
		 note ? ": " : "", note ? note : "");
	rg_err rc = rg_store_incident_update(in->store, inc, err);
	if (!rc)
		rc = rg_store_incident_entry_add(in->store, inc->id, "acknowledged", actor, msg, err);
	return rc ? rc : tell(in, inc, "incident_acknowledged", "acknowledged", actor, note, err);
}

static rg_err do_note(rg_incidents *in, rg_incident *inc, const char *actor, const char *note,
		      rg_error *err)
{
	return rg_store_incident_entry_add(in->store, inc->id, "note", actor, note, err);
}

static rg_err do_resolve(rg_incidents *in, rg_incident *inc, const char *actor, const char *note,
			 rg_error *err)
{
	if (inc->state == RG_INCIDENT_RESOLVED)
		return rg_fail(err, RG_ECONFLICT, NULL, "incident %lld is resolved already",
			       (long long)inc->id);
	inc->state = RG_INCIDENT_RESOLVED;
	inc->resolved = rg_now_ms();
	snprintf(inc->resolved_by, sizeof inc->resolved_by, "%s", actor);
	inc->next_escalation_at = 0;
	char msg[700];
	snprintf(msg, sizeof msg, "resolved%s%s", note ? ": " : "", note ? note : "");
	rg_err rc = rg_store_incident_update(in->store, inc, err);
	if (!rc)
		rc = rg_store_incident_entry_add(in->store, inc->id, "resolved", actor, msg, err);
	return rc ? rc : tell(in, inc, "incident_resolved", "resolved", actor, note, err);
}

rg_err rg_incidents_ack(rg_incidents *in, int64_t id, const char *actor, const char *note,
			rg_error *err)
{
	return answer(in, id, actor, note, do_ack, err);
}

rg_err rg_incidents_note(rg_incidents *in, int64_t id, const char *actor, const char *note,
			 rg_error *err)
{
	return answer(in, id, actor, note, do_note, err);
}

rg_err rg_incidents_resolve(rg_incidents *in, int64_t id, const char *actor, const char *note,
			    rg_error *err)
{
	return answer(in, id, actor, note, do_resolve, err);
}

/* The item's number from "3" or from its text (case-insensitive). */
static rg_err item_number(rg_store *s, int64_t id, const char *item, int *out, rg_error *err)
{
	char *end = NULL;
	long v = strtol(item, &end, 10);
	if (isdigit((unsigned char)item[0]) && end && !*end && v > 0 && v < 10000) {
		*out = (int)v;
		return RG_OK;
	}
	json_t *o = NULL;
	rg_err rc = rg_store_incident_json(s, id, &o, err);
	size_t i;
	json_t *it;
	*out = 0;
	json_array_foreach(json_object_get(o, "checklist"), i, it) {
		const char *t = json_string_value(json_object_get(it, "text"));
		if (t && strcasecmp(t, item) == 0)
			*out = (int)json_integer_value(json_object_get(it, "item"));
	}
	json_decref(o);
	if (!rc && !*out)
		rc = rg_fail(err, RG_ENOTFOUND, "item", "incident %lld has no checklist item '%s'",
			     (long long)id, item);
	return rc;
}

rg_err rg_incidents_tick(rg_incidents *in, int64_t id, const char *item, const char *actor,
			 int *ticked, rg_error *err)
{
	rg_store *s = in->store;
	rg_incident inc;
	char msg[600];
	rg_err rc = rg_store_begin(s, err);
	if (!rc)
		rc = rg_store_incident_get(s, id, &inc, err);
	if (!rc)
		rc = item_number(s, id, item, ticked, err);
	if (!rc)
		rc = rg_store_incident_tick(s, id, *ticked, actor, rg_now_ms(), err);
	snprintf(msg, sizeof msg, "checklist item %d ticked", *ticked);
	if (!rc)
		rc = rg_store_incident_entry_add(s, id, "checklist", actor, msg, err);
	if (!rc)
		rc = rg_store_commit(s, err);
	if (rc)
		rg_store_abandon(s);
	return rc;
}

/* ---- life ------------------------------------------------------------------------------ */

rg_err rg_incidents_new(uv_loop_t *loop, const rg_config *cfg, rg_store *store, rg_engine *engine,
			rg_notifier *notifier, rg_incidents **out, rg_error *err)
{
	rg_incidents *in = calloc(1, sizeof *in);
	if (!in)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	*in = (rg_incidents){ .loop = loop, .cfg = cfg, .store = store, .engine = engine,
			      .notifier = notifier };
	rg_err rc = rg_engine_hook_changes(engine, on_change, in, err);
	if (!rc)
		rc = rg_engine_subscribe(engine, on_news, in, err);
	if (rc) {
		free(in);
		return rc;
	}
	in->subscribed = true;
	uv_timer_init(loop, &in->timer);
	in->timer.data = in;
	in->timer_open = true;
	uv_timer_start(&in->timer, on_timer, 0, 0);   /* the overdue levels, once, in order */
	*out = in;
	return RG_OK;
}

void rg_incidents_stop(rg_incidents *in)
{
	if (!in)
		return;
	if (in->subscribed)
		rg_engine_unsubscribe(in->engine, on_news, in);
	in->subscribed = false;
	if (in->timer_open) {
		uv_timer_stop(&in->timer);
		uv_close((uv_handle_t *)&in->timer, NULL);
	}
	in->timer_open = false;
}

void rg_incidents_free(rg_incidents *in)
{
	free(in);
}
