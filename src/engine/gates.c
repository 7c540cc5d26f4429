/* gates.c — approval gates: a run that waits for people (awaiting_approval).
 *
 * Two kinds, one mechanism (config.h rg_gate: required, from, wait, timeout):
 *   before a run starts   `approvals: {deploy, rollback}` of the environment.
 *                         The run waits until `required` different people
 *                         named by `from` approve — never the person who
 *                         asked for it — then the `wait` timer runs (the run
 *                         can still be aborted), then it starts. A rejection
 *                         or the timeout ends it aborted; nothing was done.
 *   while a run holds     a trigger's rollback-after-approval (the gate of
 *                         its severity in `actions:`, the authority matrix)
 *                         or on_insufficient_data: hold. Approvals roll back;
 *                         a rejection (or `resume`) goes on watching; the
 *                         timeout rolls back.
 * Every answer is a row (store approvals.c) written with the change it
 * causes; the run's row holds the gate, its round and when it passed, so
 * a restart picks up every wait where it was. */
#include "engine/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/duration.h"
#include "util/jsontext.h"
#include "util/log.h"
#include "util/timeutil.h"

static const rg_gate *gate_of(const rg_active *a)
{
	return rg_config_gate(a->eng->cfg, a->run.env, a->run.gate);
}

static bool before_start(const rg_active *a)
{
	return rg_gate_before_start(a->run.gate);
}

/* A rollback held before its restore (reverse.c): approvals restore the
 * backup; a rejection or the timeout ends it rollback_failed. */
static bool restore_gate(const rg_active *a)
{
	return strcmp(a->run.gate, "restore") == 0;
}

static void restore_refused(rg_active *a, const char *why, const rg_approval *row)
{
	rg_error err;
	uv_timer_stop(&a->timer);
	if (rg_reverse_restore_refused(a, why, row, &err))
		rg_run_stuck(a, &err);
}

static const char *target_of(const rg_active *a)
{
	return a->prev_version[0] ? a->prev_version : "nothing (no known-good release)";
}


/* The answers given in the current round: approvals counted, names listed. */
typedef struct tally {
	int approvals;
	char names[400];
} tally;

static rg_err count(rg_active *a, tally *t, rg_error *err)
{
	rg_approval *rows = NULL;
	size_t n = 0;
	memset(t, 0, sizeof *t);
	rg_err rc = rg_store_approvals_get(a->eng->store, a->run.id, a->run.gate_round, &rows, &n, err);
	size_t used = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		if (!rows[i].approve)
			continue;
		t->approvals++;
		if (used < sizeof t->names)
			used += (size_t)snprintf(t->names + used, sizeof t->names - used, "%s%s",
						 used ? ", " : "", rows[i].who);
	}
	free(rows);
	return rc;
}

/* ---- opening a gate ---------------------------------------------------------- */

void rg_gate_arm(rg_active *a, rg_run *next, const char *gate)
{
	snprintf(next->gate, sizeof next->gate, "%s", gate);
	next->gate_round = a->run.gate_round + 1;
	next->gate_passed = 0;
	next->state = RG_RUN_AWAITING_APPROVAL;
	const rg_gate *g = rg_config_gate(a->eng->cfg, a->run.env, gate);
	next->window_until = rg_now_ms() + (g ? g->timeout_ms : a->eng->cfg->approval_timeout_ms);
}

/* A gated run's first turn: it waits before anything is done. */
void rg_gate_open(rg_active *a)
{
	rg_run next = a->run;
	rg_gate_arm(a, &next, a->run.gate);
	const rg_gate *g = rg_config_gate(a->eng->cfg, a->run.env, next.gate);
	char need[360], limit[32], msg[700];
	rg_gate_describe(g, need, sizeof need);
	rg_duration_format(g->timeout_ms, limit, sizeof limit);
	if (a->run.kind == RG_KIND_DEPLOY)
		snprintf(msg, sizeof msg,
			 "deploy of %s to %s needs %s before it starts (not %s, who asked): "
			 "`rollguard approve %lld`; with no decision within %s it is aborted",
			 a->run.version, a->run.env, need, a->run.actor, (long long)a->run.id, limit);
	else
		snprintf(msg, sizeof msg,
			 "rollback of %s to %s needs %s before it starts (not %s, who asked): "
			 "`rollguard approve %lld`; with no decision within %s it is aborted",
			 a->run.env, a->run.version, need, a->run.actor, (long long)a->run.id, limit);
	rg_error err;
	if (rg_run_commit(a, &next, "approval_requested", NULL, msg, NULL, NULL, &err))
		return rg_run_stuck(a, &err);
	rg_info("run %lld: waiting for %s", (long long)a->run.id, need);
	rg_gate_resume(a);
}

/* rollback-after-approval and hold: the run holds where it is. */
void rg_gate_hold(rg_active *a, const rg_decision *d)
{
	rg_run_cancel_work(a);
	rg_run next = a->run;
	rg_severity sev;
	bool by_severity = false;
	for (int s = 0; s < RG_SEV_COUNT; s++)
		if (strcmp(d->severity, rg_severity_name((rg_severity)s)) == 0) {
			sev = (rg_severity)s;
			by_severity = strcmp(d->action, "hold") != 0;
		}
	rg_gate_arm(a, &next, by_severity ? rg_severity_name(sev) : "hold");
	const rg_gate *g = rg_config_gate(a->eng->cfg, a->run.env, next.gate);
	char need[360], limit[32], msg[900];
	rg_gate_describe(g, need, sizeof need);
	rg_duration_format(g->timeout_ms, limit, sizeof limit);
	snprintf(msg, sizeof msg,
		 "waiting for a person (%s): `rollguard approve %lld` or `rollguard rollback --env %s` "
		 "rolls back, `rollguard reject %lld --reason …` or `rollguard resume %lld` goes on; "
		 "with no answer within %s it rolls back",
		 need, (long long)a->run.id, a->run.env, (long long)a->run.id, (long long)a->run.id,
		 limit);
	rg_error err;
	if (rg_run_commit(a, &next, "awaiting_approval", NULL, msg, rg_decide_extra, (void *)d, &err))
		return rg_run_stuck(a, &err);
	rg_info("run %lld: %s", (long long)a->run.id, d->reason);
	rg_decide_published(a, d);
	rg_gate_resume(a);
}

/* ---- the clocks ------------------------------------------------------------------ */

static void begin_now(rg_active *a)
{
	rg_run_begin(a);
}

static void on_wait_over(uv_timer_t *t)
{
	begin_now(t->data);
}

static void rollback_approved(rg_active *a, const char *who, const char *comment)
{
	rg_decision d = { .action = "rollback" };
	snprintf(d.trigger, sizeof d.trigger, "approved");
	snprintf(d.severity, sizeof d.severity, "-");
	snprintf(d.observed, sizeof d.observed, "rollback approved by %s", who);
	snprintf(d.window, sizeof d.window, "awaiting_approval");
	snprintf(d.reason, sizeof d.reason, "%s approved the rollback%s%s; rolling back to %s", who,
		 comment && *comment ? ": " : "", comment && *comment ? comment : "", target_of(a));
	rg_decide(a, &d, NULL);
}

static void timed_out_before(rg_active *a, const rg_gate *g)
{
	tally t;
	rg_error err;
	if (count(a, &t, &err))
		return rg_run_stuck(a, &err);
	char limit[32], error[700];
	rg_duration_format(g->timeout_ms, limit, sizeof limit);
	snprintf(error, sizeof error, "no decision within %s (%d of %d approvals%s%s); nothing was done",
		 limit, t.approvals, g->required, t.approvals ? ": " : "", t.names);
	if (rg_run_abort(a, error, "approval_timeout", error, NULL, &err))
		rg_run_stuck(a, &err);
}

static void timed_out_holding(rg_active *a, const rg_gate *g)
{
	char limit[32];
	rg_duration_format(g->timeout_ms, limit, sizeof limit);
	rg_decision d = { .trigger = "approval_timeout", .action = "rollback" };
	snprintf(d.severity, sizeof d.severity, "-");
	snprintf(d.observed, sizeof d.observed, "no answer within %s", limit);
	if (strcmp(a->run.gate, "hold") == 0)
		snprintf(d.threshold, sizeof d.threshold, "actions.approval_timeout %s", limit);
	else
		snprintf(d.threshold, sizeof d.threshold, "actions.%s timeout %s", a->run.gate, limit);
	snprintf(d.window, sizeof d.window, "awaiting_approval");
	snprintf(d.reason, sizeof d.reason,
		 "no one approved or refused the rollback within %s; rolling back to %s", limit,
		 target_of(a));
	rg_decide(a, &d, NULL);
}

static void on_timeout(uv_timer_t *t)
{
	rg_active *a = t->data;
	const rg_gate *g = gate_of(a);
	if (restore_gate(a)) {
		char limit[32], why[200];
		rg_duration_format(g->timeout_ms, limit, sizeof limit);
		snprintf(why, sizeof why, "no one approved the restore within %s; nothing was restored", limit);
		return restore_refused(a, why, NULL);
	}
	if (before_start(a))
		return timed_out_before(a, g);
	timed_out_holding(a, g);
}

/* awaiting_approval, after the commit that entered it or after a restart. */
void rg_gate_resume(rg_active *a)
{
	const rg_gate *g = gate_of(a);
	int64_t left = rg_run_window_left(a);
	uint64_t due = left > 0 ? (uint64_t)left : 0;
	if (!g) {
		/* a run stored before gates had names waits as `hold` did */
		snprintf(a->run.gate, sizeof a->run.gate, "hold");
		g = gate_of(a);
	}
	if (before_start(a) && a->run.gate_passed) {
		uv_timer_start(&a->timer, on_wait_over, due, 0);
		return;
	}
	tally t;
	rg_error err;
	if (!before_start(a) && count(a, &t, &err) == RG_OK && t.approvals >= g->required)
		return restore_gate(a) ? rg_reverse_restore_approved(a, t.names)
				       : rollback_approved(a, t.names, NULL);   /* approved before a restart */
	uv_timer_start(&a->timer, on_timeout, due, 0);
}

/* ---- answers ---------------------------------------------------------------------- */

static rg_err answer_extra(rg_active *a, void *ctx, rg_error *err)
{
	return rg_store_approval_add(a->eng->store, ctx, err);
}

static rg_err may_answer(rg_active *a, const rg_principal *who, const char *name, bool approve,
			 const rg_gate *g, rg_error *err)
{
	if (a->run.state != RG_RUN_AWAITING_APPROVAL)
		return rg_fail(err, RG_ECONFLICT, NULL, "run %lld is %s, not waiting for approval",
			       (long long)a->run.id, rg_run_state_name(a->run.state));
	if (before_start(a) && a->run.gate_passed)
		return rg_fail(err, RG_ECONFLICT, NULL,
			       "run %lld is approved already and starts when its wait ends (abort it to stop it)",
			       (long long)a->run.id);
	if (approve && before_start(a) && strcmp(name, a->run.actor) == 0)
		return rg_fail(err, RG_EFORBIDDEN, NULL,
			       "rule: the person who requested run %lld (%s) cannot approve it",
			       (long long)a->run.id, name);
	if (who && !rg_principal_listed(who, (const char *const *)g->from, g->n_from)) {
		char from[300];
		rg_gate_from_text(g, from, sizeof from);
		return rg_fail(err, RG_EFORBIDDEN, NULL,
			       "rule: the %s gate of run %lld takes answers from %s; %s is none of them",
			       a->run.gate, (long long)a->run.id, from, name);
	}
	return RG_OK;
}

static void answer_row(const rg_active *a, const char *name, bool approve, const char *text,
		       rg_approval *row)
{
	memset(row, 0, sizeof *row);
	row->run_id = a->run.id;
	row->round = a->run.gate_round;
	snprintf(row->gate, sizeof row->gate, "%s", a->run.gate);
	snprintf(row->who, sizeof row->who, "%s", name);
	row->approve = approve;
	snprintf(row->comment, sizeof row->comment, "%s", text ? text : "");
	row->at = rg_now_ms();
}

static rg_err approve_before(rg_active *a, const rg_gate *g, rg_approval *row, const tally *t,
			     rg_error *err)
{
	rg_run next = a->run;
	int have = t->approvals + 1;
	char msg[900], wait[32];
	bool passed = have >= g->required;
	if (passed) {
		next.gate_passed = row->at;
		next.window_until = row->at + g->wait_ms;
	}
	rg_duration_format(g->wait_ms, wait, sizeof wait);
	int n = snprintf(msg, sizeof msg, "%s approved (%d of %d)%s%s", row->who, have, g->required,
			 row->comment[0] ? ": " : "", row->comment);
	if (passed && g->wait_ms > 0)
		snprintf(msg + n, sizeof msg - (size_t)n, "; approved, starting in %s", wait);
	else if (passed)
		snprintf(msg + n, sizeof msg - (size_t)n, "; approved, starting now");
	rg_err rc = rg_run_commit(a, &next, "approved", NULL, msg, answer_extra, row, err);
	if (rc)
		return rc;
	uv_timer_stop(&a->timer);
	rg_gate_resume(a);
	return RG_OK;
}

static rg_err approve_holding(rg_active *a, const rg_gate *g, rg_approval *row, const tally *t,
			      rg_error *err)
{
	rg_run next = a->run;
	int have = t->approvals + 1;
	char msg[700];
	snprintf(msg, sizeof msg, "%s approved the %s (%d of %d)%s%s", row->who,
		 restore_gate(a) ? "restore" : "rollback", have, g->required,
		 row->comment[0] ? ": " : "", row->comment);
	rg_err rc = rg_run_commit(a, &next, "approved", NULL, msg, answer_extra, row, err);
	if (rc || have < g->required)
		return rc;
	uv_timer_stop(&a->timer);
	char names[460];
	snprintf(names, sizeof names, "%s%s%s", t->names, t->names[0] ? ", " : "", row->who);
	if (restore_gate(a))
		rg_reverse_restore_approved(a, names);
	else
		rollback_approved(a, names, row->comment);
	return RG_OK;
}

static rg_err reject_before(rg_active *a, rg_approval *row, rg_error *err)
{
	char error[700];
	snprintf(error, sizeof error, "rejected by %s: %s; nothing was done", row->who, row->comment);
	uv_timer_stop(&a->timer);
	rg_err rc = rg_run_abort(a, error, "rejected", error, row, err);
	if (rc)
		rg_gate_resume(a);
	return rc;
}

rg_err rg_gate_answer(rg_active *a, const rg_principal *who, const char *name, bool approve,
		      const char *text, rg_error *err)
{
	const rg_gate *g = gate_of(a);
	if (!g && a->run.state == RG_RUN_AWAITING_APPROVAL) {
		rg_gate_resume(a);   /* names the gate of an older stored run */
		g = gate_of(a);
	}
	rg_err rc = g ? may_answer(a, who, name, approve, g, err)
		      : rg_fail(err, RG_ECONFLICT, NULL, "run %lld is %s, not waiting for approval",
				(long long)a->run.id, rg_run_state_name(a->run.state));
	if (rc)
		return rc;
	rg_approval row;
	answer_row(a, name, approve, text, &row);
	tally t;
	if ((rc = count(a, &t, err)))
		return rc;
	if (!approve && before_start(a))
		return reject_before(a, &row, err);
	if (!approve && restore_gate(a)) {
		char why[700];
		snprintf(why, sizeof why, "%s refused the restore: %s; nothing was restored", name, text ? text : "");
		uv_timer_stop(&a->timer);
		return rg_reverse_restore_refused(a, why, &row, err);
	}
	if (!approve)
		return rg_gate_continue(a, name, &row, err);
	if (before_start(a))
		return approve_before(a, g, &row, &t, err);
	return approve_holding(a, g, &row, &t, err);
}

rg_err rg_gate_rollback_now(rg_active *a, const char *actor, const char *reason, rg_error *err)
{
	if (a->run.state != RG_RUN_AWAITING_APPROVAL || before_start(a))
		return rg_fail(err, RG_ECONFLICT, NULL, "run %lld is %s, not awaiting approval of a rollback",
			       (long long)a->run.id, rg_run_state_name(a->run.state));
	uv_timer_stop(&a->timer);
	if (restore_gate(a))
		rg_reverse_restore_approved(a, actor);
	else
		rollback_approved(a, actor, reason);
	return RG_OK;
}

/* A person refused the rollback (reject, or `resume`): the watch starts
 * again where it was — a traffic step's pause or the monitor window, each
 * from its full length — and the trigger that asked stays quiet until the
 * traffic stage moves. */
rg_err rg_gate_continue(rg_active *a, const char *actor, rg_approval *row, rg_error *err)
{
	if (before_start(a)) {
		if (row)
			return reject_before(a, row, err);
		return rg_fail(err, RG_ECONFLICT, NULL,
			       "run %lld waits for approval before it starts: approve, reject or abort it",
			       (long long)a->run.id);
	}
	if (restore_gate(a))
		return rg_fail(err, RG_ECONFLICT, NULL,
			       "run %lld waits for approval of a restore: approve or reject it",
			       (long long)a->run.id);
	uv_timer_stop(&a->timer);
	json_t *run = NULL;
	/* The trigger that asked: the newest decision waiting for approval. */
	if (rg_store_run_json(a->eng->store, a->run.id, &run, NULL) == RG_OK) {
		const char *t = json_string_value(json_object_get(json_object_get(run, "decision"), "trigger"));
		snprintf(a->approval.refused_trigger, sizeof a->approval.refused_trigger, "%s", t ? t : "");
		a->approval.refused_stage = a->run.traffic_stage;
	}
	json_decref(run);
	bool monitoring = (size_t)a->run.cursor >= a->n_fwd;
	rg_run next = a->run;
	next.state = monitoring ? RG_RUN_MONITORING : RG_RUN_RUNNING;
	int64_t length = rg_evidence_length(rg_evidence_for_monitor(a), a->env->monitor_ms);
	if (!monitoring) {
		const rg_step *s = &a->eng->cfg->deploy[a->fwd[a->run.cursor]];
		length = a->run.traffic_stage > (int)s->traffic.n_steps
				 ? s->traffic.drain_ms
				 : rg_evidence_length(rg_evidence_for_share(a, s), s->traffic.pause_ms);
	}
	next.window_until = rg_now_ms() + length;
	char msg[700];
	if (row)
		snprintf(msg, sizeof msg, "%s rejected the rollback and resumed the run%s%s: watching again",
			 actor, row->comment[0] ? ": " : "", row->comment);
	else
		snprintf(msg, sizeof msg, "%s refused the rollback and resumed the run: watching again", actor);
	rg_err rc = rg_run_commit(a, &next, row ? "rejected" : "resumed", NULL, msg,
				  row ? answer_extra : NULL, row, err);
	if (rc) {
		rg_gate_resume(a);
		return rc;
	}
	rg_run_advance(a);
	return RG_OK;
}

/* ---- what show and status tell ----------------------------------------------------- */

static json_t *answers_json(const rg_approval *rows, size_t n, bool approve)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		if (rows[i].approve != approve)
			continue;
		char at[40];
		rg_time_format_iso(rows[i].at, at, sizeof at);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "by", rows[i].who, "at", at,
						     approve ? "comment" : "reason", rows[i].comment));
	}
	return arr;
}

/* A gated run just created (queued) waits already: its gate opens on its
 * first turn. */
static bool waiting_at(const rg_run *r)
{
	return r->state == RG_RUN_AWAITING_APPROVAL || (r->state == RG_RUN_QUEUED && r->gate_round == 0);
}

static const char *gate_status(const rg_run *r, const rg_gate *g, int approvals, bool rejected)
{
	if (waiting_at(r))
		return r->gate_passed ? "approved" : "waiting";
	if (rejected)
		return "rejected";
	if (approvals >= g->required)
		return "approved";
	return "ended";
}

rg_err rg_gate_json(const rg_config *cfg, rg_store *store, const rg_run *r, json_t **out,
		    rg_error *err)
{
	const rg_gate *g = rg_config_gate(cfg, r->env, r->gate);
	*out = NULL;
	if (!g || (r->gate_round == 0 && !waiting_at(r)))
		return RG_OK;
	rg_approval *rows = NULL;
	size_t n = 0;
	rg_err rc = rg_store_approvals_get(store, r->id, r->gate_round, &rows, &n, err);
	if (rc)
		return rc;
	int approvals = 0;
	bool rejected = false;
	for (size_t i = 0; i < n; i++) {
		approvals += rows[i].approve;
		rejected |= !rows[i].approve;
	}
	json_t *from = json_array();
	for (size_t i = 0; i < g->n_from; i++)
		json_array_append_new(from, json_string(g->from[i]));
	bool waiting = waiting_at(r);
	int needed = waiting && !r->gate_passed ? g->required - approvals : 0;
	*out = json_pack("{s:s, s:s, s:i, s:o, s:i, s:o, s:o, s:o, s:o, s:b}", "gate", r->gate,
			 "status", gate_status(r, g, approvals, rejected), "required", g->required,
			 "from", from, "needed", needed < 0 ? 0 : needed,
			 "approved_by", answers_json(rows, n, true),
			 "rejected_by", answers_json(rows, n, false),
			 "timeout_at", rg_json_time_or_null(waiting && !r->gate_passed
							     ? (r->window_until ? r->window_until : r->created + g->timeout_ms)
							     : 0),
			 "starts_at", rg_json_time_or_null(waiting && r->gate_passed ? r->window_until : 0),
			 "requester_may_approve", !rg_gate_before_start(r->gate));
	free(rows);
	return *out ? RG_OK : rg_fail(err, RG_ENOMEM, NULL, "out of memory");
}
