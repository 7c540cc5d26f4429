/* events.c — the run events and their messages, in the runbooks' words.
 * A change hook maps each run change to an event (a deploy's start, its
 * success, a failed run, a rollback's start, success or failure, an
 * approval asked for) and enqueues its notice in the change's own
 * transaction, so the message is as durable as the change; a subscriber
 * kicks the sender once the change committed. It only writes rows. */
#include "notify/notify_internal.h"

#include <stdio.h>
#include <string.h>

#include "engine/engine.h"
#include "util/duration.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

/* The event a change is, or NULL. A rollback is "started" when a run
 * enters rolling_back (an automatic rollback of a deploy, or a manual
 * rollback run) and ends rolled_back (a deploy undone) or succeeded (a
 * rollback run). */
static const char *event_of(const rg_change *c)
{
	const rg_run *r = c->run;
	bool deploy = r->kind == RG_KIND_DEPLOY;
	if (c->created)
		return NULL;
	if (r->state == c->from)
		return NULL;
	switch (r->state) {
	case RG_RUN_RUNNING:
		return deploy && r->phase == RG_PHASE_FORWARD && r->cursor == 0 &&
				       (c->from == RG_RUN_QUEUED || c->from == RG_RUN_AWAITING_APPROVAL)
			       ? "deploy_started"
			       : NULL;
	case RG_RUN_ROLLING_BACK: return "rollback_started";
	case RG_RUN_SUCCEEDED: return deploy ? "deploy_succeeded" : "rollback_succeeded";
	case RG_RUN_ROLLED_BACK: return "rollback_succeeded";
	case RG_RUN_ROLLBACK_FAILED: return "rollback_failed";
	case RG_RUN_FAILED: return "run_failed";
	case RG_RUN_AWAITING_APPROVAL: return "approval_requested";
	case RG_RUN_QUEUED:
	case RG_RUN_PAUSED:
	case RG_RUN_VERIFYING:
	case RG_RUN_MONITORING:
	case RG_RUN_ABORTED:
	case RG_RUN_STATE_COUNT: return NULL;
	}
	return NULL;
}

typedef struct message {
	char title[160];
	rg_strbuf text;
	const char *severity;
} message;

static void line(message *m, const char *label, const char *value)
{
	if (value && *value)
		(void)rg_strbuf_addf(&m->text, "%s%s: %s", m->text.len ? "\n" : "", label, value);
}

static void link_line(message *m, const rg_config *cfg, const rg_run *r, const char *label)
{
	char url[512];
	if (!cfg->public_url)
		return;
	size_t n = strlen(cfg->public_url);
	snprintf(url, sizeof url, "%.*s/api/v1/runs/%lld", (int)(n && cfg->public_url[n - 1] == '/' ? n - 1 : n),
		 cfg->public_url, (long long)r->id);
	line(m, label, url);
}

static void rollback_started(message *m, const rg_config *cfg, const rg_change *c)
{
	const rg_run *r = c->run;
	bool automatic = r->kind == RG_KIND_DEPLOY;
	snprintf(m->title, sizeof m->title, "🚨 %s ROLLBACK IN PROGRESS", automatic ? "AUTOMATIC" : "MANUAL");
	m->severity = c->decision && c->decision->severity[0] ? c->decision->severity : "P1";
	line(m, "Environment", r->env);
	line(m, "Reason", c->decision && c->decision->reason[0] ? c->decision->reason : r->reason);
	line(m, "Previous Version", automatic ? r->from_version : r->version);
	line(m, "Failed Version", automatic ? r->version : r->from_version);
	link_line(m, cfg, r, "Status");
}

static void rollback_succeeded(message *m, rg_store *st, const rg_config *cfg, const rg_change *c)
{
	const rg_run *r = c->run;
	bool automatic = r->kind == RG_KIND_DEPLOY;
	char dur[32];
	int64_t at = 0;
	rg_error ignored;
	if (rg_store_run_decided_at(st, r->id, &at, &ignored) || !at)
		at = r->started ? r->started : r->created;
	rg_duration_format(rg_now_ms() - at, dur, sizeof dur);
	const rg_env *e = rg_config_env(cfg, r->env);
	snprintf(m->title, sizeof m->title, "✅ %s ROLLBACK COMPLETED", automatic ? "AUTOMATIC" : "MANUAL");
	m->severity = "P3";
	line(m, "Environment", r->env);
	line(m, "Rolled back to", automatic ? r->from_version : r->version);
	line(m, "Duration", dur);
	line(m, "Verification", "All checks passed ✅");
	line(m, "Metrics", e && e->post_rollback_monitor_ms ? "All normal ✅"
							   : "not watched (no post_rollback_monitor)");
	line(m, "Action Required", "Investigate failure and create hotfix");
	link_line(m, cfg, r, "Status");
}

static void approval_requested(message *m, const rg_config *cfg, const rg_change *c)
{
	const rg_run *r = c->run;
	const rg_gate *g = rg_config_gate(cfg, r->env, r->gate);
	bool deploy_gate = !strcmp(r->gate, "deploy");
	char env[RG_VNAME_LEN], timeout[32] = "";
	snprintf(env, sizeof env, "%s", r->env);
	if (env[0] >= 'a' && env[0] <= 'z')
		env[0] = (char)(env[0] - 'a' + 'A');
	snprintf(m->title, sizeof m->title, "⏳ %s %s Awaiting Approval", env,
		 deploy_gate ? "Deploy" : "Rollback");
	m->severity = "P2";
	if (g && g->timeout_ms)
		rg_duration_format(g->timeout_ms, timeout, sizeof timeout);
	else if (!g && cfg->approval_timeout_ms)
		rg_duration_format(cfg->approval_timeout_ms, timeout, sizeof timeout);
	line(m, "Environment", r->env);
	bool rollback_run = r->kind == RG_KIND_ROLLBACK;
	line(m, "Current Version", rollback_run || deploy_gate ? r->from_version : r->version);
	line(m, "Target Version", rollback_run || deploy_gate ? r->version : r->from_version);
	line(m, "Reason", c->decision && c->decision->reason[0] ? c->decision->reason : r->reason);
	link_line(m, cfg, r, "Approve");
	line(m, "Timeout", timeout);
}

static void plain(message *m, const rg_config *cfg, const rg_change *c, const char *event)
{
	const rg_run *r = c->run;
	if (!strcmp(event, "deploy_started")) {
		snprintf(m->title, sizeof m->title, "🚀 Deploy of %s to %s started", r->version, r->env);
		m->severity = "P3";
	} else if (!strcmp(event, "deploy_succeeded")) {
		snprintf(m->title, sizeof m->title, "✅ %s is live and verified in %s", r->version, r->env);
		m->severity = "P3";
	} else if (!strcmp(event, "rollback_failed")) {
		snprintf(m->title, sizeof m->title, "🔥 ROLLBACK FAILED");
		m->severity = "P0";
	} else {
		snprintf(m->title, sizeof m->title, "❌ %s %s FAILED",
			 r->kind == RG_KIND_DEPLOY ? "DEPLOY" : "ROLLBACK", r->version);
		m->severity = "P1";
	}
	line(m, "Environment", r->env);
	line(m, "Version", r->version);
	line(m, "Previous Version", r->from_version);
	line(m, "By", r->actor);
	line(m, "Error", r->error);
	if (!strcmp(event, "rollback_failed"))
		line(m, "Action Required", "Manual intervention: see what is left in the run");
	link_line(m, cfg, r, "Status");
}

static json_t *details_of(const rg_change *c)
{
	const rg_run *r = c->run;
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", rg_run_kind_name(r->kind),
			      "state", rg_run_state_name(r->state), "from_state",
			      rg_run_state_name(c->from), "version", r->version, "from_version",
			      r->from_version);
	const rg_decision *d = c->decision;
	if (o && d) {
		json_t *ev = d->evidence[0] ? json_loads(d->evidence, 0, NULL) : NULL;
		json_object_set_new(o, "decision",
				    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o?}", "trigger",
					      d->trigger, "severity", d->severity, "action", d->action,
					      "observed", d->observed, "threshold", d->threshold,
					      "window", d->window, "reason", d->reason, "evidence", ev));
	}
	return o;
}

static rg_err on_change(void *ctx, rg_store *st, const rg_change *c, rg_error *err)
{
	rg_notifier *n = ctx;
	const char *event = event_of(c);
	bool routed = false;
	for (size_t i = 0; event && i < n->cfg->n_channels; i++)
		routed |= rg_notify_routed(n->cfg, event, c->run->env, n->cfg->channels[i].name);
	if (!routed)   /* nothing to write: the change costs nothing more */
		return RG_OK;
	message m = { .text = RG_STRBUF_INIT };
	if (!strcmp(event, "rollback_started"))
		rollback_started(&m, n->cfg, c);
	else if (!strcmp(event, "rollback_succeeded"))
		rollback_succeeded(&m, st, n->cfg, c);
	else if (!strcmp(event, "approval_requested"))
		approval_requested(&m, n->cfg, c);
	else
		plain(&m, n->cfg, c, event);
	json_t *details = details_of(c);
	rg_notice notice = { .event = event, .env = c->run->env, .run_id = c->run->id,
			     .severity = m.severity, .title = m.title,
			     .text = m.text.len ? m.text.buf : NULL, .details = details };
	rg_err rc = details ? rg_notify_enqueue(n, st, &notice, err)
			    : rg_fail(err, RG_ENOMEM, NULL, "out of memory for a notice");
	json_decref(details);
	rg_strbuf_release(&m.text);
	return rc;
}

static void on_news(void *ctx, const rg_news *news)
{
	rg_notifier *n = ctx;
	if (n->enqueued)
		rg_notifier_kick(n);
}

rg_err rg_notify_watch(rg_notifier *n, rg_engine *e, rg_error *err)
{
	rg_err rc = rg_engine_hook_changes(e, on_change, n, err);
	return rc ? rc : rg_engine_subscribe(e, on_news, n, err);
}
