/* engine_internal.h — what the engine's files share; not an interface for
 * anyone outside src/engine/. One rg_active per run in progress: the cached
 * run row plus whatever the run has in flight (a child, checks, timers). */
#ifndef RG_ENGINE_INTERNAL_H
#define RG_ENGINE_INTERNAL_H

#include <limits.h>
#include <stdbool.h>

#include "analysis/prometheus.h"
#include "analysis/rule.h"
#include "analysis/sprt.h"
#include "auth/principal.h"
#include "dataplane/dataplane.h"
#include "engine/checks.h"
#include "http/client.h"
#include "engine/engine.h"
#include "engine/exec.h"
#include "engine/planner.h"
#include "engine/stepenv.h"

typedef struct rg_active rg_active;
typedef struct rg_batch rg_batch;
typedef struct rg_route_op rg_route_op;
typedef struct rg_routers rg_routers;
/* How a step's work ended: what step rows, events and decisions say. */
typedef enum rg_step_outcome {
	RG_OUTCOME_SUCCEEDED = 0,
	RG_OUTCOME_FAILED,        /* a non-zero exit, a failed check, a refused route */
	RG_OUTCOME_TIMED_OUT,     /* the step's timeout, or a check's own */
	RG_OUTCOME_KILLED         /* ended by a signal rollguard did not send */
} rg_step_outcome;
const char *rg_step_outcome_name(rg_step_outcome o);   /* launch.c */

/* A step (command, checks, traffic) has ended. */
typedef void (*rg_launch_done_fn)(rg_active *a, rg_step_outcome outcome, const char *detail,
				  int exit_code);

/* Counts of one release at the last batch of a sequential test. */
typedef struct rg_side_counts {
	uint64_t requests, errors, slow;
} rg_side_counts;

/* One trigger of a run while it is watched: what is in flight and what it
 * has seen. Check triggers use run/failures; rules (metric, query,
 * command) rule and query/exec; the sequential test the rest. */
typedef struct rg_trigger_slot {
	rg_active *a;
	size_t i;                 /* index into cfg->triggers */
	int64_t due;              /* next evaluation, loop ms */
	rg_check_run *run;        /* check in flight, or NULL */
	int failures;             /* consecutive failures */
	rg_rule rule;             /* threshold rule state */
	rg_prom_query *query;     /* Prometheus query in flight */
	rg_exec *exec;            /* command in flight */
	rg_sprt errors, slow;     /* the sequential tests: error events, latency over the bound */
	bool testing;             /* a comparison is under way (both sides take traffic) */
	int stage;                /* traffic stage the comparison belongs to */
	char canary[72], base[72];/* the releases compared */
	rg_side_counts last_canary, last_base;
} rg_trigger_slot;

/* A stored wall-clock end (window_until, deadline) as the monotonic time it
 * stands for while serve runs: derived once when the stored end changes,
 * so a step of the wall clock neither ends a wait early nor stretches it. */
typedef struct rg_wait_clock {
	int64_t wall;             /* the stored end it was derived from */
	int64_t mono;             /* rg_mono_ms() of that end */
} rg_wait_clock;

/* recover.c — what a run keeps while the store refuses its writes: it waits
 * at its last committed state and tries again with backoff, without a
 * restart. A step's result and a rollback decision are kept so that trying
 * again does not run the step twice or forget why the release is bad. */
typedef struct rg_recovery {
	uv_timer_t timer;
	bool holding;             /* a write failed; the retry timer is armed */
	int64_t backoff_ms;       /* the next wait; doubles up to a bound */
	int failures;             /* writes refused in a row */
	char why[512];            /* the last refusal, for /health and the log */
	/* A rollback decided but not yet stored (its swap already applied). */
	bool has_decision;
	rg_decision decision;
	bool has_failed;
	rg_step_run failed;
	int64_t early_swap_us;    /* rg_mono_us() of the swap made before the decision was stored */
	/* The result of the step at (phase, idx) whose record was refused. */
	bool has_result;
	char phase[16];
	int idx;
	rg_step_outcome outcome;
	char detail[512];
	int exit_code;
	rg_launch_done_fn done;
} rg_recovery;

/* evidence.c — what the current wait (a traffic share's pause, the monitor
 * window) has seen of the release under watch. */
typedef struct rg_evidence_watch {
	bool counting;            /* base was read from the proxy */
	uint64_t base;            /* the release's requests when the wait began */
	int stage;                /* traffic_stage the count belongs to */
	bool passed;              /* the sequential test passed in this wait */
	bool extended;            /* the wait went past its ordinary end */
	const rg_evidence *rule;  /* of the wait being judged */
	int64_t base_ms;          /* its ordinary length */
	void (*go_on)(rg_active *a);
} rg_evidence_watch;

/* Several checks at once; done fires once: succeeded when all passed,
 * timed_out when the first failure was a timeout (the step's or a check's). */
typedef void (*rg_batch_done_fn)(rg_active *a, rg_step_outcome outcome, const char *detail);

struct rg_engine {
	uv_loop_t *loop;
	const rg_config *cfg;
	rg_store *store;
	rg_checker *checker;
	rg_routers *routers;      /* may be NULL: no environment routes traffic */
	rg_dataplane *dp;         /* the built-in proxies' figures; may be NULL */
	rg_http *http;            /* Prometheus queries */
	struct { rg_news_fn fn; void *ctx; } subscribers[RG_ENGINE_MAX_SUBSCRIBERS];
	size_t n_subscribers;
	struct { rg_change_fn fn; void *ctx; } hooks[RG_ENGINE_MAX_HOOKS];
	size_t n_hooks;
	rg_active *runs;          /* runs in progress, a list */
	bool shutting_down;
	int closing;              /* handles still closing during shutdown */
	void (*shutdown_done)(void *ctx);
	void *shutdown_ctx;
	char crash_point[32];     /* ROLLGUARD_CRASH_AT=<point>:<step>, tests only */
	char crash_step[80];
};

/* launch.c — one step's work in flight: a command (exec), or checks (batch). */
typedef struct rg_launch {
	rg_exec *exec;            /* command in flight */
	rg_exec *stopping;        /* a stopped command in its kill grace */
	bool held;                /* exec is spawned held, its start not yet committed */
	struct rg_launch_later *later; /* the next command, waiting for that one */
	char phase[16];           /* the step row of exec (or stopping) */
	int idx;
	int64_t timeout_ms;       /* exec's timeout, for describing a timeout */
	rg_batch *batch;          /* checks in flight */
	char output_path[PATH_MAX];
	rg_launch_done_fn done;
	char *log;                /* owned: log of the command or checks that just ended */
	size_t log_len;
} rg_launch;

/* window.c and triggers.c — the triggers watched during a window or a pause. */
typedef struct rg_watch {
	uv_timer_t tick;          /* evaluation ticks */
	rg_trigger_slot *triggers; /* owned: one per cfg trigger */
} rg_watch;

/* traffic.c — a router change in flight and what follows it. */
typedef struct rg_traffic_op {
	rg_route_op *route_op;
	void (*route_then)(rg_active *a, bool ok, const char *message, int64_t apply_us);
	void (*restore_then)(rg_active *a);
	rg_launch_done_fn done;   /* the traffic step's caller */
	int64_t decided_us;       /* rg_mono_us() of the rollback decision, for the swap's time */
} rg_traffic_op;

/* gates.c — a person refused the rollback a trigger asked for (resume or
 * reject while awaiting approval): that trigger stays quiet until the
 * traffic stage moves. */
typedef struct rg_approval_wait {
	char refused_trigger[80];
	int refused_stage;
} rg_approval_wait;

/* backup.c — the backup step in flight: its directory and, once its
 * command exited 0 and its files were checksummed, what is recorded. */
typedef struct rg_backup_step {
	char dir[PATH_MAX];       /* $ROLLGUARD_BACKUP_DIR; "" when the step is no backup */
	bool sealed;              /* files and bytes are the checksummed list */
	char *files;              /* owned: JSON [{"name","size","sha256"}] */
	int64_t bytes;
	int64_t *pruned;          /* owned: backups pruned by the last record */
	size_t n_pruned;
} rg_backup_step;

struct rg_active {
	rg_engine *eng;
	rg_active *next;
	rg_run run;               /* mirror of the committed row */
	const rg_env *env;
	int *fwd;                 /* cfg->deploy indices that apply to this env */
	size_t n_fwd;
	rg_plan plan;             /* reverse phase plan, once decided */
	char prev_version[72];    /* last known good other than run.version */
	rg_launch launch;         /* launch.c: the step's work in flight */
	uv_timer_t timer;         /* retry backoff, window end, check-step timeout */
	uv_timer_t deadline;      /* whole-run timeout */
	rg_watch watch;           /* window.c, triggers.c: the triggers being watched */
	int open_handles;
	rg_traffic_op traffic;    /* traffic.c: a router change in flight */
	rg_approval_wait approval; /* gates.c */
	rg_wait_clock window_clock;   /* of run.window_until (run.c) */
	rg_wait_clock deadline_clock; /* of run.deadline */
	/* Release changes written in the transaction being built, published
	 * once it commits (run.c rg_run_set_release). */
	struct { char version[RG_VNAME_LEN]; rg_release_state from, to; } release_news[4];
	int n_release_news;
	rg_recovery rec;          /* recover.c */
	rg_evidence_watch evidence; /* evidence.c */
	rg_backup_step backup;    /* backup.c */
	/* reverse.c: a downgrade's schemas, told to its command; a restore's
	 * backup, once its checksums matched */
	char target_schema[RG_VNAME_LEN], current_schema[RG_VNAME_LEN];
	bool restore_checked;
	const rg_decision *deciding; /* stored in the transaction being built (rg_decide_store) */
	bool released;
};

/* engine.c */
/* Inside a transaction: every change hook sees c; the first error stops. */
rg_err rg_engine_changed(rg_engine *e, const rg_change *c, rg_error *err);
/* Publishes news to every subscriber. */
void rg_engine_publish(rg_engine *e, const rg_news *news);
/* RG_NEWS_TIMELINE for run_id. */
void rg_engine_notify(rg_engine *e, int64_t run_id);
void rg_engine_crash_point(rg_engine *e, const char *point, const char *step);
rg_err rg_active_new(rg_engine *e, int64_t run_id, rg_active **out, rg_error *err);
/* Drops the run from memory (after it ended, or when it cannot go on). */
void rg_active_release(rg_active *a);
/* One of the things keeping a in memory (open_handles) is done; the last
 * one frees it. */
void rg_active_unref(rg_active *a);
rg_active *rg_engine_find(rg_engine *e, int64_t run_id);

/* run.c — the life of a run: commit helpers and the driver. */
void rg_run_advance(rg_active *a);
/* Persists next (compare-and-set on the current state) and an event in one
 * transaction; extra(a, ctx, err) adds more writes to it (may be NULL). */
typedef rg_err (*rg_txn_extra_fn)(rg_active *a, void *ctx, rg_error *err);
rg_err rg_run_commit(rg_active *a, rg_run *next, const char *event, const char *step,
		     const char *message, rg_txn_extra_fn extra, void *ctx, rg_error *err);
/* recover.c — a write (or what prepares one) failed: the run stops what it
 * was doing, stays in memory at its last committed state, and tries again
 * with backoff until the store takes writes. */
void rg_run_stuck(rg_active *a, const rg_error *err);
/* The step result about to be recorded, kept until its record is stored. */
void rg_recover_keep_result(rg_active *a, const char *phase, int idx, rg_step_outcome outcome,
			    const char *detail, int exit_code, rg_launch_done_fn done);
void rg_recover_forget_result(rg_active *a);
/* A rollback decision whose commit failed: kept, tried again first. */
void rg_recover_keep_decision(rg_active *a, const rg_decision *d, const rg_step_run *failed,
			      const rg_error *err);
void rg_recover_forget_decision(rg_active *a);
/* rg_run_commit after a write that took: the refusals are over. */
void rg_recover_written(rg_active *a);
int rg_recover_init(rg_active *a);
void rg_recover_stop(rg_active *a);
/* Inside a transaction: rel takes state (updated, run_id, and verified_at
 * the first time it is known good) and is written; the change is published
 * once the transaction commits. */
rg_err rg_run_set_release(rg_active *a, rg_release *rel, rg_release_state state, rg_error *err);
/* Milliseconds left until run.window_until / run.deadline, measured on the
 * monotonic clock (<= 0: due). Only a restart reads the wall clock. */
int64_t rg_run_window_left(rg_active *a);
int64_t rg_run_deadline_left(rg_active *a);
/* Appends an event outside a state change (a failed write is logged). */
void rg_run_note(rg_active *a, const char *type, const char *step, const char *message);
/* Stops whatever is in flight (child, checks, timers) without callbacks. */
void rg_run_cancel_work(rg_active *a);
void rg_run_start_deadline(rg_active *a);

/* forward.c — deploy steps. */
void rg_forward_start_step(rg_active *a);
void rg_forward_steps_done(rg_active *a);
/* For rg_decide: records d (and failed, the step row that failed, when not
 * NULL) with the switch to rolling back, in one transaction, then starts
 * the undo; recover.c calls it again for a decision the store refused. */
void rg_forward_decide_rollback(rg_active *a, const rg_decision *d, rg_step_run *failed);
/* For rg_decide: halt (on_failure: halt) — the run ends failed, nothing undone. */
void rg_forward_halt(rg_active *a, const rg_decision *d, rg_step_run *failed);
void rg_forward_run_timeout(rg_active *a);

/* reverse.c — undo, verify, report. */
void rg_reverse_start_entry(rg_active *a);
void rg_reverse_plan_done(rg_active *a);
void rg_reverse_verify(rg_active *a);
/* The restore gate (gates.c "restore") was answered: approved goes on
 * with the restore, refused (answer: the rejecting row, or NULL for the
 * timeout) ends the run rollback_failed with the release out of traffic. */
void rg_reverse_restore_approved(rg_active *a, const char *who);
rg_err rg_reverse_restore_refused(rg_active *a, const char *why, const rg_approval *answer,
				  rg_error *err);
/* The rollback is over; warning marks the restored release unhealthy, with
 * the decision d that found it (both may be NULL). */
void rg_reverse_finish(rg_active *a, const char *warning, const rg_decision *d);

/* window.c — monitor windows and the health triggers watched in them. */
/* Commits the switch to monitoring (with extra's writes) and starts the window. */
void rg_window_enter(rg_active *a, int64_t length_ms, const char *message, rg_txn_extra_fn extra);
void rg_window_resume(rg_active *a);
void rg_window_stop(rg_active *a);
/* The forward window passed: the release becomes known good. */
void rg_window_succeed(rg_active *a, const char *message);

/* launch.c — running one step's command or checks for either phase. */
/* Runs s (command, or its checks) for version; previous is what the
 * command is told as ROLLGUARD_PREVIOUS_VERSION / ROLLGUARD_PREV_*. */
void rg_launch_step(rg_active *a, const rg_step *s, const char *command, const char *phase,
		    int idx, const char *version, const char *previous, rg_launch_done_fn done);
rg_err rg_launch_env(rg_active *a, const char *step, const char *version,
		     const char *previous, rg_envlist *out, rg_error *err);
/* Before the commit of a step's start: an exec step's command is spawned
 * held and its group written into sr, so the group is recorded in that
 * same transaction; after the commit rg_launch_go (same arguments) lets it
 * run, or launches the step the ordinary way when nothing was held. A
 * refused commit goes to rg_run_stuck, whose cancel kills the held child. */
void rg_launch_hold(rg_active *a, const rg_step *s, const char *command, const char *phase,
		    int idx, const char *version, const char *previous, rg_step_run *sr);
void rg_launch_go(rg_active *a, const rg_step *s, const char *command, const char *phase,
		  int idx, const char *version, const char *previous, rg_launch_done_fn done);
/* Replaces a->last_log with a copy of text. */
void rg_launch_keep_log(rg_active *a, const char *text, size_t len);

/* What a step's commit writes besides the run row: the step row, its log
 * (a->last_log) and, for outputs_for, the outputs it published. */
typedef struct rg_step_record {
	rg_step_run *sr;
	bool with_log;
	const char *outputs_for;  /* release version, or NULL */
} rg_step_record;
rg_err rg_step_record_extra(rg_active *a, void *ctx, rg_error *err);
/* A fresh row, or the stored one for (phase, idx); *interrupted is set when
 * the stored attempt was still running (the server stopped during it). */
void rg_step_row(rg_active *a, const char *phase, int idx, const char *name, const char *action,
		 rg_step_run *sr, bool *interrupted);
void rg_step_row_finish(rg_step_run *sr, bool ok, const char *detail, int exit_code);
/* After a restart: SIGKILL to the group a running step row recorded, if its
 * leader is still the process recorded; true when it was killed. */
bool rg_step_kill_stale(const rg_step_run *sr);
/* Stops the command in flight: SIGTERM, SIGKILL after the step's
 * kill_grace; its end changes nothing in the run. */
void rg_launch_stop(rg_active *a);
/* For a step row ended while its command still runs (it is being, or is
 * about to be, stopped): keeps the command's group in sr, so that a serve
 * killed during the grace still kills the group on the next start
 * (rg_launch_reap_stopped). */
void rg_launch_keep_group(rg_active *a, rg_step_run *sr);
/* At start: kills the groups of commands that were in their kill grace
 * when serve died (if still ours) and forgets them. */
void rg_launch_reap_stopped(rg_engine *e);
/* Records a failed attempt that will be retried and calls again(timer)
 * after the step's backoff, doubled for each attempt already made. */
void rg_step_retry(rg_active *a, rg_step_run *sr, const rg_step *s, uv_timer_cb again);

/* traffic.c — the traffic step, and routing during a rollback. */
/* Runs (or, after a restart or a resume, continues) the traffic step s at
 * the cursor; done as for rg_launch_step. */
void rg_traffic_run(rg_active *a, const rg_step *s, rg_launch_done_fn done);
/* `promote` during a traffic step: straight to 100 %, or end the drain.
 * false when the step is not at a point where that means anything. */
rg_err rg_traffic_promote(rg_active *a, const char *actor, rg_error *err);
void rg_traffic_cancel(rg_active *a);
/* The route that takes the failed release out of traffic; false if none. */
bool rg_traffic_swap_plan(rg_active *a, rg_route_state *out);
/* Writes the route (ctx) inside the rollback decision's transaction. */
rg_err rg_traffic_route_extra(rg_active *a, void *ctx, rg_error *err);
/* Applies the committed swap, records its time since a->decided_us, then
 * advances the run. */
void rg_traffic_swap_apply(rg_active *a, const rg_route_state *st);
/* The same swap when the decision could not be stored: applied at once,
 * nothing recorded (the decision is stored when the store allows). */
void rg_traffic_swap_early(rg_active *a, const rg_route_state *st);
/* During a rollback: the router sends everything to the restored release
 * (from its outputs), committed then applied; then(a) follows, at once if
 * there is nothing to change. */
void rg_traffic_restore(rg_active *a, void (*then)(rg_active *a));

/* evidence.c — evidence before promotion (config.h rg_evidence). */
/* The rule of a share of traffic step s, or of the monitor window; NULL
 * when none applies (no analysis trigger, no built-in proxy, a rollback, a
 * first release's monitor window). */
const rg_evidence *rg_evidence_for_share(const rg_active *a, const rg_step *s);
const rg_evidence *rg_evidence_for_monitor(const rg_active *a);
/* What is committed as the wait's length: its maximum when r applies. */
int64_t rg_evidence_length(const rg_evidence *r, int64_t base_ms);
/* Milliseconds until the wait's ordinary end (the committed window_until
 * is its maximum). */
int64_t rg_evidence_ordinary_left(rg_active *a, const rg_evidence *r, int64_t base_ms);
/* A wait begins (or resumes after a restart): count from now. */
void rg_evidence_begin(rg_active *a);
/* The sequential test passed in the current wait. */
void rg_evidence_passed(rg_active *a);
/* The ordinary end came: go_on(a) with enough evidence (or r NULL);
 * otherwise keep watching up to the maximum, then on_insufficient_data. */
void rg_evidence_wait_end(rg_active *a, const rg_evidence *r, int64_t base_ms,
			  void (*go_on)(rg_active *a));

/* window.c (also) — watch the triggers without a window of its own. */
void rg_window_watch(rg_active *a);

/* decide.c — the one decision path. */
/* d is filled (rg_decide_reason gives action and reason for a trigger; the
 * window is set here when empty); failed is the step row that failed, or
 * NULL. Stores d with what it causes — rollback, a wait for a person
 * (rollback-after-approval, hold), halt, or only the record (notify,
 * promote) — and publishes it. In the reverse phase it ends the run marked
 * instead (the restored release is unhealthy). */
void rg_decide(rg_active *a, rg_decision *d, rg_step_run *failed);
/* d->action and a one-sentence d->reason from what fired ("trigger 'x'
 * fired (P1): …") and the action. */
void rg_decide_reason(rg_active *a, rg_decision *d, rg_action action, const char *what);
/* A fired trigger t: d's action and reason from t (its disable_flag, else
 * its severity through `actions:`), then rg_decide. */
void rg_decide_trigger(rg_active *a, rg_decision *d, const rg_trigger *t, const char *what);
/* Publishes d (RG_NEWS_DECISION) once its change is committed. */
void rg_decide_published(rg_active *a, const rg_decision *d);
/* "traffic 10%", "monitor", "post_rollback_monitor", "step 'app'". */
void rg_decide_window(const rg_active *a, char *out, size_t size);
/* Inside a transaction: writes d, and names it to the change hooks of the
 * commit being built (rg_run_commit). */
rg_err rg_decide_store(rg_active *a, const rg_decision *d, rg_error *err);
/* Writes d and its event (an rg_txn_extra_fn; ctx is the decision). */
rg_err rg_decide_extra(rg_active *a, void *ctx, rg_error *err);
/* Whether trigger may fire now (not refused by a person at this stage). */
bool rg_decide_allowed(const rg_active *a, const char *trigger);

/* gates.c — approval gates (awaiting_approval). */
/* Sets next to wait at gate (a new round, its timeout from now). */
void rg_gate_arm(rg_active *a, rg_run *next, const char *gate);
/* A queued run whose gate comes before it starts: it waits. */
void rg_gate_open(rg_active *a);
/* rollback-after-approval and hold: d is stored with the wait. */
void rg_gate_hold(rg_active *a, const rg_decision *d);
/* awaiting_approval: the timeout, or the wait after approval (restart too). */
void rg_gate_resume(rg_active *a);
/* A person's answer; who may be NULL (a local caller with every role),
 * name is the actor. RG_EFORBIDDEN names the rule that refuses it. */
rg_err rg_gate_answer(rg_active *a, const rg_principal *who, const char *name, bool approve,
		      const char *text, rg_error *err);
/* An emergency rollback of a run holding for approval: at once. */
rg_err rg_gate_rollback_now(rg_active *a, const char *actor, const char *reason, rg_error *err);
/* `resume` (row NULL) or a rejection (row) of a trigger's rollback: go on. */
rg_err rg_gate_continue(rg_active *a, const char *actor, rg_approval *row, rg_error *err);

/* controls.c — ends the run aborted with error (an answer row, when a
 * rejection ends it, is written in the same transaction); nothing is undone. */
rg_err rg_run_abort(rg_active *a, const char *error, const char *event, const char *message,
		    const rg_approval *answer, rg_error *err);

/* run.c — the run's first step (or rollback entry) starts: after queued, or
 * after its approval gate. */
void rg_run_begin(rg_active *a);

/* backup.c — a backup step's artifacts. */
/* Before s runs: its own empty $ROLLGUARD_BACKUP_DIR (nothing for a step
 * that is no backup). */
rg_err rg_backup_prepare(rg_active *a, const rg_step *s, rg_error *err);
/* The command exited 0: its files are checksummed off the loop, then
 * done(a, outcome, …) — failed for an empty backup or a symlink. */
void rg_backup_seal(rg_active *a, int exit_code, rg_launch_done_fn done);
/* Inside the step's success transaction: the backup's row and the
 * pruning of the environment's backups beyond keep. */
rg_err rg_backup_record(rg_active *a, const rg_step *s, rg_error *err);
/* After that commit: the pruned backups' files are removed (off the loop). */
void rg_backup_recorded(rg_active *a);
void rg_backup_forget(rg_active *a);

/* migrate.c — schema versions. */
/* After a migrate step exited 0: RG_EINVAL when the schema it reported
 * (`schema=`) does not match the version pattern (the step fails). */
rg_err rg_migrate_check(rg_active *a, const rg_step *s, rg_error *err);
/* Inside the step's success transaction: the schema kept with the release. */
rg_err rg_migrate_record(rg_active *a, const rg_step *s, rg_error *err);
/* Schemas of removed and target and the backup a restore would use (taken
 * by the deploy of removed, else by a run up to run_id; run_id 0: the
 * removed release's run). */
rg_err rg_migrate_plan_data(rg_engine *e, const char *env, const char *removed,
			    const char *target, int64_t run_id, rg_plan_data *out, rg_error *err);
/* "14:02:11" (local time). */
void rg_migrate_clock(int64_t ms, char *out, size_t size);
/* "restore backup #N taken 14:02:11 before deploy of vX: writes since
 * 14:02:11 — 3 min — are lost". */
void rg_migrate_loss(const rg_plan *p, int64_t now, char *out, size_t size);

/* configsnap.c — configuration snapshots. */
/* Inside the go-live transaction: the environment's config_files, kept
 * with the release. */
rg_err rg_configsnap_take(rg_active *a, rg_error *err);
/* Before a rollback's first entry: the target release's files written
 * back (each atomically); the timeline says what was. */
void rg_configsnap_restore(rg_active *a);

/* triggers.c — rules (metric, query, command) and the sequential test,
 * evaluated while triggers are watched (window.c calls these). */
void rg_triggers_start(rg_active *a);
void rg_triggers_tick(rg_active *a, int64_t now);
void rg_triggers_stop(rg_active *a);
/* The shortest evaluation interval of the non-check triggers (ms), 0 if none. */
int64_t rg_triggers_interval(const rg_config *cfg);

/* traffic.c (also) — a passed sequential test ends the current pause early
 * (promote_on_pass). false when the step is not pausing at a share. */
bool rg_traffic_end_pause(rg_active *a, const char *why);

/* batch.c */
rg_err rg_batch_start(rg_active *a, const rg_check **checks, size_t n, int64_t timeout_ms,
		      char **env, rg_batch_done_fn done, rg_error *err);
void rg_batch_cancel(rg_active *a);

#endif
