/* store.h — durable state of rollguard: releases, runs, step runs, events,
 * decisions. SQLite in WAL mode with synchronous=FULL: a call that returned
 * RG_OK inside a committed transaction survives a crash or power loss.
 *
 * Writes happen inside rg_store_begin()/rg_store_commit() (BEGIN IMMEDIATE);
 * the engine composes one transaction per state change (run row
 * compare-and-set + appended event). A write outside a transaction is its own
 * transaction. Read functions return jansson objects in the API's shapes
 * (DESIGN §7); the caller owns the returned json_t (json_decref).
 *
 * Times are milliseconds since the epoch (rg_now_ms()). Strings inside the
 * structs are fixed buffers, except where a comment says "owned". */
#ifndef RG_STORE_H
#define RG_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/model.h"
#include "util/err.h"
#include "util/secrets.h"

typedef struct rg_store rg_store;

/* ---- open / transactions ---------------------------------------------- */

/* Opens (creating and migrating) the database at path. The database and
 * its -wal and -shm files are readable by their owner only (0600): they
 * hold logs and outputs of commands; an existing one that others could
 * read is made private. */
rg_err rg_store_open(const char *path, rg_store **out, rg_error *err);
void rg_store_free(rg_store *s);
/* Every text that may carry a command's output — event messages, step logs
 * and errors, a run's reason and error, a decision's observed figure,
 * evidence and reason — is stored
 * with the values known to secrets masked (util/secrets.h). secrets is
 * borrowed and must outlive s; NULL stops masking. rg_store_secrets gives
 * it back (NULL when none): to mask a live log the same way, or to add a
 * secret learnt later (rg_secrets_add). */
void rg_store_set_secrets(rg_store *s, rg_secrets *secrets);
rg_secrets *rg_store_secrets(const rg_store *s);
rg_err rg_store_begin(rg_store *s, rg_error *err);   /* BEGIN IMMEDIATE */
rg_err rg_store_commit(rg_store *s, rg_error *err);
void rg_store_abandon(rg_store *s);                  /* ROLLBACK; safe if none open */

/* ---- runs ---------------------------------------------------------------- */

/* Run and release states are the enums of model.h; RG_STATE_LEN bounds
 * their names where they are kept as text. */
#define RG_STATE_LEN 24
#define RG_VNAME_LEN 72

typedef struct rg_run {
	int64_t id;
	char env[RG_VNAME_LEN];
	rg_run_kind kind;
	char version[RG_VNAME_LEN];      /* deploy: the new release; rollback: the target */
	char from_version[RG_VNAME_LEN]; /* the release live when the run was created; "" if none */
	rg_run_state state;
	rg_run_phase phase;              /* forward (deploy steps, monitor) | reverse (undo, verify, post-rollback monitor) */
	int cursor;                      /* index of the next plan entry to run in this phase */
	char step[80];                   /* name of the current step, "" if none */
	int total;                       /* entries in the current phase's plan ("step n/m") */
	char *plan;                      /* owned: JSON text of the reverse-phase plan, NULL until decided */
	int64_t created, started, ended;
	int64_t deadline;                /* whole-run timeout, absolute ms; 0 = none */
	int64_t window_until;            /* end of the monitor window in progress; 0 = none */
	char actor[64];
	char reason[512];                /* why the run was started (manual rollback) or ended */
	char error[1024];                /* what failed, e.g. the steps that could not be undone */
	char warning[512];
	bool force;                      /* manual rollback with --force */
	bool paused;                     /* pause requested; the engine holds before the next step */
	/* How far the traffic step at cursor got: 0 not started; 1..n the
	 * canary share steps[k-1] is applied; n+1 the canary became stable and
	 * the old release drains; n+2 the old release is being retired. */
	int traffic_stage;
	/* Approval gates (engine/gates.c): the gate the run waits at — "deploy",
	 * "rollback", a trigger's severity "P1".."P3", or "hold" — and its
	 * round; gate_passed is when the last approval needed came (the wait
	 * timer runs from there), 0 while approvals are still missing. */
	char gate[16];
	int gate_round;
	int64_t gate_passed;
	bool emergency;                  /* --emergency: gates skipped; reason says why */
	bool skip_monitor;               /* emergency deploy without the monitor window */
} rg_run;

void rg_run_release(rg_run *r);      /* frees plan */

/* Inserts r (id set on return). RG_ECONFLICT when the environment already has
 * an unfinished run; the message names it ("run 12 (deploy v1.2.0) is running"). */
rg_err rg_store_run_insert(rg_store *s, rg_run *r, rg_error *err);
rg_err rg_store_run_get(rg_store *s, int64_t id, rg_run *out, rg_error *err);
/* Writes every field of r, but only if the stored state is expect_state
 * (compare-and-set); RG_ECONFLICT otherwise. */
rg_err rg_store_run_update(rg_store *s, const rg_run *r, rg_run_state expect_state, rg_error *err);
/* Ids of unfinished runs, oldest first (resumed at start-up). *ids is owned by the caller (free). */
rg_err rg_store_runs_unfinished(rg_store *s, int64_t **ids, size_t *n, rg_error *err);

/* ---- step runs ------------------------------------------------------------ */

typedef struct rg_step_run {
	int64_t run_id;
	char phase[16];      /* "forward" | "reverse" */
	int idx;             /* position in the phase's plan */
	char name[80];
	char action[16];     /* "run" | "undo" | "redeploy" | "checks" | "verify" */
	char state[16];      /* "running" | "succeeded" | "failed" | "skipped" */
	int attempts;
	int exit_code;       /* -1 when killed or not applicable */
	int64_t pgid;        /* process group of the running attempt, 0 if none */
	/* Its leader's identity (v4), so that a restart kills the group only if
	 * the pid was not reused: start time in clock ticks since boot (0 =
	 * unknown) and the boot it belongs to ("" = unknown). */
	int64_t pgid_start;
	char pgid_boot[40];
	int64_t started, ended;
	char error[512];
} rg_step_run;

/* Insert or replace the row (run_id, phase, idx). */
rg_err rg_store_step_put(rg_store *s, const rg_step_run *sr, rg_error *err);
/* Step rows that ended but still name a process group: their command was
 * being stopped (SIGTERM, in its kill grace) when serve died. *out is an
 * owned array (free()). */
rg_err rg_store_steps_stopping(rg_store *s, rg_step_run **out, size_t *n, rg_error *err);
/* RG_ENOTFOUND when there is no such row. */
rg_err rg_store_step_get(rg_store *s, int64_t run_id, const char *phase, int idx,
			 rg_step_run *out, rg_error *err);
rg_err rg_store_step_set_log(rg_store *s, int64_t run_id, const char *phase, int idx,
			     const char *log, size_t len, rg_error *err);
/* The log of the newest step run with that name (any phase). *log owned by caller. */
rg_err rg_store_step_log(rg_store *s, int64_t run_id, const char *name, char **log,
			 rg_error *err);

/* ---- events ---------------------------------------------------------------- */

/* Appends to the run's timeline; at = now. step may be NULL. */
rg_err rg_store_event_add(rg_store *s, int64_t run_id, const char *type, const char *step,
			  const char *message, rg_error *err);

/* ---- decisions ------------------------------------------------------------- */

typedef struct rg_decision {
	char trigger[80];      /* "step_failed:smoke", "run_timeout", "health", "manual" */
	char severity[4];      /* "P0".."P3" */
	char action[32];       /* "rollback", "rollback-after-approval", "notify", "halt", … */
	char observed[256];
	char threshold[256];
	char window[64];       /* where it was taken: "traffic 10%", "monitor", "post_rollback_monitor", "" */
	char evidence[1024];   /* JSON object, or "" (a sequential test's counts, LLR, bounds, α, β) */
	char reason[512];      /* one sentence */
} rg_decision;

/* Appends a decision to the run's list (a run may take several: a notify,
 * then a rollback). */
rg_err rg_store_decision_put(rg_store *s, int64_t run_id, const rg_decision *d, rg_error *err);

/* ---- approvals (approvals.c) ------------------------------------------------ */

/* A person's answer at a run's approval gate. */
typedef struct rg_approval {
	int64_t run_id;
	int round;                 /* the gate's round (rg_run.gate_round) */
	char gate[16];
	char who[RG_VNAME_LEN];    /* the token's name */
	bool approve;              /* false: a rejection */
	char comment[512];         /* the comment, or a rejection's reason */
	int64_t at;
} rg_approval;

/* RG_ECONFLICT when who has answered in that round already. */
rg_err rg_store_approval_add(rg_store *s, const rg_approval *a, rg_error *err);
/* The answers of run_id's round, oldest first; *out is owned by the caller
 * (free), NULL when there are none. */
rg_err rg_store_approvals_get(rg_store *s, int64_t run_id, int round, rg_approval **out,
			      size_t *n, rg_error *err);

/* ---- schema versions (schemas.c) ---------------------------------------------- */

/* Inside a transaction: the schema the release's migrate step left. */
rg_err rg_store_schema_put(rg_store *s, const char *env, const char *version, const char *step,
			   const char *schema, int64_t at, rg_error *err);
/* The release's schema into out ("" when none was recorded). */
rg_err rg_store_schema_get(rg_store *s, const char *env, const char *version, char *out,
			   size_t size, rg_error *err);

/* ---- backups (backups.c) ------------------------------------------------------ */

typedef struct rg_backup {
	int64_t id;
	char env[RG_VNAME_LEN];
	char version[RG_VNAME_LEN];  /* the release being deployed when it was taken */
	int64_t run_id;
	char step[80];
	char dir[4096];              /* where its files are */
	char *files;                 /* owned: JSON [{"name","size","sha256"}] */
	int64_t bytes, created;
	bool pruned;                 /* deleted (kept for the record) */
	int64_t pruned_at, verified; /* ms; 0 = never */
	char verify_result[512];     /* "ok", or what failed */
} rg_backup;

void rg_backup_release(rg_backup *b);   /* frees files */
/* Inserts b (id set on return). */
rg_err rg_store_backup_add(rg_store *s, rg_backup *b, rg_error *err);
/* RG_ENOTFOUND for an unknown id. */
rg_err rg_store_backup_get(rg_store *s, int64_t id, rg_backup *out, rg_error *err);
/* The newest backup of env taken by run_id (its pre-deploy backup);
 * *found false if none. */
rg_err rg_store_backup_of_run(rg_store *s, const char *env, int64_t run_id, rg_backup *out,
			      bool *found, rg_error *err);
/* The backup a restore of version would use: the newest kept backup of env
 * taken by the deploy of version, else the newest taken by a run up to
 * run_id (the release's run); *found false if none. */
rg_err rg_store_backup_before(rg_store *s, const char *env, const char *version, int64_t run_id,
			      rg_backup *out, bool *found, rg_error *err);
/* Ids of env's kept backups beyond the newest keep, oldest first; *ids is
 * the caller's (free). */
rg_err rg_store_backups_beyond(rg_store *s, const char *env, int keep, int64_t **ids, size_t *n,
			       rg_error *err);
rg_err rg_store_backup_prune(rg_store *s, int64_t id, int64_t at, rg_error *err);
rg_err rg_store_backup_verified(rg_store *s, int64_t id, int64_t at, const char *result,
				rg_error *err);
/* Newest first: [{"id","env","version","run_id","step","dir","files":[…],"bytes","created",
 * "state","pruned","verified","verify_result"}]; env may be NULL; before > 0:
 * only ids below it (the next page). */
rg_err rg_store_backups_json(rg_store *s, const char *env, int64_t before, int limit, json_t **out,
			     rg_error *err);

/* ---- configuration snapshots (configsnap.c) ------------------------------------ */

typedef struct rg_config_file {
	char path[256];            /* as in config_files */
	char hash[65];             /* SHA-256 hex of content */
	unsigned char *content;    /* owned */
	size_t len;
} rg_config_file;

void rg_config_files_free(rg_config_file *f, size_t n);
/* Inside a transaction: the release's snapshot becomes files[0..n) (each
 * content kept once by its hash). */
rg_err rg_store_release_config_put(rg_store *s, const char *env, const char *version,
				   const rg_config_file *files, size_t n, rg_error *err);
/* The release's snapshot, by path; *out owned by the caller (NULL, 0: none). */
rg_err rg_store_release_config_get(rg_store *s, const char *env, const char *version,
				   rg_config_file **out, size_t *n, rg_error *err);
/* ---- feature flags (flags.c) -------------------------------------------------- */

/* What replaces rollguard.yaml's settings of one flag in one environment. */
typedef struct rg_flag_override {
	char env[RG_VNAME_LEN];
	char key[RG_VNAME_LEN];
	bool enabled;
	int rollout;               /* percent, 0..100 */
	char actor[RG_VNAME_LEN + 16]; /* a token's name, or "trigger:NAME" */
	char reason[512];
	int64_t run_id;            /* the run whose trigger wrote it; 0 = a person */
	int64_t at;
} rg_flag_override;

/* Insert or replace (env, key). */
rg_err rg_store_flag_put(rg_store *s, const rg_flag_override *o, rg_error *err);
/* Every override of env, by key; *out is the caller's (free), NULL when
 * there are none. */
rg_err rg_store_flags_get(rg_store *s, const char *env, rg_flag_override **out, size_t *n,
			  rg_error *err);

/* ---- incidents (incidents.c) -------------------------------------------------
 * What incident/incident.h keeps: an incident per failing release of an
 * environment, the runs it covers, its own timeline entries (notices sent,
 * acks, notes, escalations) and its checklist, copied from the config when
 * it opened so that item numbers never shift. */

typedef enum rg_incident_state {
	RG_INCIDENT_OPEN = 0, RG_INCIDENT_ACKNOWLEDGED, RG_INCIDENT_RESOLVED, RG_INCIDENT_STATE_COUNT
} rg_incident_state;
const char *rg_incident_state_name(rg_incident_state s);   /* "open", "acknowledged", "resolved" */

typedef struct rg_incident {
	int64_t id;
	char env[RG_VNAME_LEN];
	char severity[4];                /* "P0".."P3" */
	char kind[24];                   /* what opened it: rollback, rollback_failed, failed, restored_unhealthy, restore_held, loop_guard */
	char failed_version[RG_VNAME_LEN];
	char restored_version[RG_VNAME_LEN];
	char trigger[80];
	char decision[4096];             /* JSON object of the decision that opened it, or "" */
	rg_incident_state state;
	bool escalating;                 /* on the ladder (incident/ladder.h) */
	int level;                       /* the last level notified; 0 none */
	int64_t ladder_start;            /* when level k is due: ladder_start + after(k) */
	int64_t next_escalation_at;      /* ms; 0 = no climb pending */
	int64_t opened, acked, resolved; /* ms; 0 = not yet */
	char opened_by[RG_VNAME_LEN];    /* "run N" */
	char acked_by[RG_VNAME_LEN], resolved_by[RG_VNAME_LEN];
} rg_incident;

/* Inserts inc (id set on return). */
rg_err rg_store_incident_add(rg_store *s, rg_incident *inc, rg_error *err);
/* Writes every field of inc->id's row. */
rg_err rg_store_incident_update(rg_store *s, const rg_incident *inc, rg_error *err);
/* RG_ENOTFOUND for an unknown id. */
rg_err rg_store_incident_get(rg_store *s, int64_t id, rg_incident *out, rg_error *err);
/* The unresolved incident of env and failed_version; *found false if none. */
rg_err rg_store_incident_open_of(rg_store *s, const char *env, const char *failed_version,
				 rg_incident *out, bool *found, rg_error *err);
/* The run joins the incident (once). */
rg_err rg_store_incident_run_add(rg_store *s, int64_t incident_id, int64_t run_id, rg_error *err);
/* Appends to the incident's own timeline (at = now); actor may be NULL. */
rg_err rg_store_incident_entry_add(rg_store *s, int64_t incident_id, const char *type,
				   const char *actor, const char *message, rg_error *err);
/* The earliest next_escalation_at of an incident still climbing; 0 none. */
rg_err rg_store_incident_next_due(rg_store *s, int64_t *at, rg_error *err);
/* Ids of incidents whose next level is due at now, the oldest due first;
 * *ids is the caller's (free). */
rg_err rg_store_incidents_due(rg_store *s, int64_t now, int64_t **ids, size_t *n, rg_error *err);
/* Checklist item number item (1-based) of the incident. */
rg_err rg_store_incident_item_add(rg_store *s, int64_t incident_id, int item, const char *text,
				  rg_error *err);
/* Ticks item; RG_ENOTFOUND for no such item, RG_ECONFLICT when ticked already. */
rg_err rg_store_incident_tick(rg_store *s, int64_t incident_id, int item, const char *by,
			      int64_t at, rg_error *err);
/* Newest first: [{"id","env","severity","kind","state","level","failed_version",
 * "restored_version","trigger","opened","acked_by","resolved",…}]; env may be NULL;
 * open_only: not resolved; before > 0: ids below it (the next page). */
rg_err rg_store_incidents_json(rg_store *s, const char *env, bool open_only, int64_t before,
			       int limit, json_t **out, rg_error *err);
/* One incident: the list's fields plus "decision" (object or null), "runs"
 * ([{"id","kind","version","from_version","state","plan","decisions":[…]}]),
 * "timeline" (its runs' events and its own entries by time:
 * [{"at","at_ms","source":"run"|"incident","run_id","type","step","actor","message"}])
 * and "checklist" ([{"item","text","ticked","by","at"}]). */
rg_err rg_store_incident_json(rg_store *s, int64_t id, json_t **out, rg_error *err);
/* How many deploy runs of env took an automatic rollback decision at or
 * after since (the rollback-loop guard). */
rg_err rg_store_auto_rollbacks_since(rg_store *s, const char *env, int64_t since, int *n,
				     rg_error *err);

/* ---- releases and outputs --------------------------------------------------- */

/* Release states: pending live known_good failed rolled_back superseded.
 * At most one release per environment is current (live or known_good). */
typedef struct rg_release {
	char env[RG_VNAME_LEN];
	char version[RG_VNAME_LEN];
	rg_release_state state;
	int64_t created, updated;
	int64_t verified_at;   /* when it first became known good; 0 = never */
	int64_t run_id;        /* the run that last changed it */
} rg_release;

/* Insert or replace (env, version). */
rg_err rg_store_release_put(rg_store *s, const rg_release *r, rg_error *err);
rg_err rg_store_release_get(rg_store *s, const char *env, const char *version,
			    rg_release *out, rg_error *err);
/* The release in state live or known_good; RG_ENOTFOUND if none. */
rg_err rg_store_release_current(rg_store *s, const char *env, rg_release *out, rg_error *err);
/* Most recently verified release (verified_at > 0) other than exclude
 * (may be NULL); RG_ENOTFOUND if none. */
rg_err rg_store_release_last_known_good(rg_store *s, const char *env, const char *exclude,
					rg_release *out, rg_error *err);

typedef struct rg_output {
	char step[80];
	char key[72];
	char *value;           /* owned */
} rg_output;

rg_err rg_store_outputs_clear(rg_store *s, const char *env, const char *version, rg_error *err);
rg_err rg_store_output_put(rg_store *s, const char *env, const char *version, const char *step,
			   const char *key, const char *value, rg_error *err);
/* *out is an owned array; free with rg_outputs_free. */
rg_err rg_store_outputs_get(rg_store *s, const char *env, const char *version,
			    rg_output **out, size_t *n, rg_error *err);
void rg_outputs_free(rg_output *o, size_t n);

/* ---- routes ------------------------------------------------------------------ */

/* What an environment's router must do: which backends serve the stable
 * release, which the canary and with what share, and which release stands
 * by (the one a canary replaced, kept registered while it drains so that a
 * rollback is a swap). Backends are HOST:PORT (util/hostport.h) joined by
 * commas; "" for none. Written in the transaction of the run change that decided it,
 * before any router is told; serve re-applies every stored row at start. */
/* 64 backends (routeplan.h) of the longest HOST:PORT with its comma:
 * 64 × RG_HOSTPORT_LEN (util/hostport.h). */
#define RG_BACKENDS_LEN 4096
typedef struct rg_route_state {
	char env[RG_VNAME_LEN];
	char stable_version[RG_VNAME_LEN];
	char stable[RG_BACKENDS_LEN];
	char canary_version[RG_VNAME_LEN];
	char canary[RG_BACKENDS_LEN];
	int canary_weight;               /* percent of clients on the canary, 0..100 */
	char standby_version[RG_VNAME_LEN];
	char standby[RG_BACKENDS_LEN];
	int64_t seed;                    /* sticky-hash seed of the rollout (routing.h) */
	int64_t run_id;                  /* the run that wrote it; 0 none */
	int64_t updated;                 /* ms; set by rg_store_route_put */
} rg_route_state;

/* Insert or replace the row of r->env. */
rg_err rg_store_route_put(rg_store *s, const rg_route_state *r, rg_error *err);
/* RG_ENOTFOUND (out zeroed, env set) when the environment has no row. */
rg_err rg_store_route_get(rg_store *s, const char *env, rg_route_state *out, rg_error *err);

/* ---- read side: the API's JSON shapes ---------------------------------------- */

/* The run plus "steps", "events", "decision" (DESIGN §7 `show RUN --json`:
 * the newest decision that acted, else the newest; null when none) and
 * "decisions" (every one, oldest first). A decision is {"trigger",
 * "severity","action","observed","threshold","window","evidence" (object or
 * null),"reason","at"}. */
rg_err rg_store_run_json(rg_store *s, int64_t id, json_t **out, rg_error *err);
/* Newest first: [{"id","kind","version","from_version","state","started","ended","reason",…}]. env may be NULL.
 * A page: at most limit runs with an id below before (0: from the newest);
 * the next page is the one before the last id of this one. */
rg_err rg_store_runs_json(rg_store *s, const char *env, int64_t before, int limit, json_t **out,
			  rg_error *err);
/* {"env","live":{"version","state"}|null,"run":{"id","kind","version","state","step"}|null} */
rg_err rg_store_status_json(rg_store *s, const char *env, json_t **out, rg_error *err);
/* One read snapshot for a series of reads (GET /status over every
 * environment): the WAL read lock is taken once instead of per statement.
 * *began says whether this call began it (false inside a transaction
 * already, whose snapshot the reads then share); hand it to
 * rg_store_read_end, which commits only what it began. Reads only: a
 * write inside would be committed with it. */
rg_err rg_store_read_begin(rg_store *s, bool *began, rg_error *err);
void rg_store_read_end(rg_store *s, bool began);
/* Events with id > after_id, oldest first: [{"id","at","type","step","message"}]. */
rg_err rg_store_events_json(rg_store *s, int64_t run_id, int64_t after_id, json_t **out,
			    rg_error *err);
/* {"runs_by_state":{state:n,…},"rollbacks_total":n,
 *  "step_durations":[{"seconds","count"},…]}: the totals GET /metrics starts
 *  from (read once, when serve starts; api/counters.h keeps them current).
 *  Step durations are those of the finished step runs of finished runs,
 *  grouped by duration (rounded up to 10 ms). */
rg_err rg_store_metrics_json(rg_store *s, json_t **out, rg_error *err);
/* The same "step_durations" array for the finished step runs of one run. */
rg_err rg_store_run_step_durations_json(rg_store *s, int64_t run_id, json_t **out,
					rg_error *err);

/* ---- people: tokens and the audit log (access.c) -------------------------
 * The store keeps rows; what a token's hash is and how the audit chain is
 * computed belong to auth/tokens.c and auth/audit.c. */

#define RG_TOKEN_HASH_LEN 32

typedef struct rg_token_row {
	char name[RG_VNAME_LEN];
	char id[32];                          /* the public part of the token */
	unsigned char hash[RG_TOKEN_HASH_LEN];/* keyed hash of the whole token */
	char roles[128];                      /* "deployer,approver" */
	char envs[1200];                      /* "staging,production"; "" = every env */
	int64_t created, expires, last_used;  /* ms; expires 0 = never, last_used 0 = never */
	char created_by[RG_VNAME_LEN];
} rg_token_row;

/* RG_ECONFLICT when a token of that name exists. */
rg_err rg_store_token_insert(rg_store *s, const rg_token_row *t, rg_error *err);
/* The token whose public id is id; *found false if none. */
rg_err rg_store_token_find(rg_store *s, const char *id, rg_token_row *out, bool *found,
			   rg_error *err);
/* RG_ENOTFOUND when there is no token of that name. */
rg_err rg_store_token_delete(rg_store *s, const char *name, rg_error *err);
rg_err rg_store_token_touch(rg_store *s, const char *name, int64_t at, rg_error *err);
rg_err rg_store_token_count(rg_store *s, int64_t *n, rg_error *err);
/* [{"name","roles":[…],"envs":[…],"created","expires","last_used","created_by"}]
 * by name — never the hash. Times as ISO-8601 UTC, null for "never". */
rg_err rg_store_tokens_json(rg_store *s, json_t **out, rg_error *err);

/* Dashboard sessions (sessions.c): rows only; auth/sessions.c makes the
 * cookie, its hash and the CSRF token. */
typedef struct rg_session_row {
	unsigned char hash[RG_TOKEN_HASH_LEN]; /* keyed hash of the cookie value */
	char token_id[32];                     /* the token it was opened with */
	char csrf[64];                         /* what every write must carry */
	int64_t created, expires;              /* ms */
} rg_session_row;

/* Stores a new session and drops those expired before now. */
rg_err rg_store_session_insert(rg_store *s, const rg_session_row *row, int64_t now,
			       rg_error *err);
/* The session whose hash is hash; *found false if none. */
rg_err rg_store_session_find(rg_store *s, const unsigned char hash[RG_TOKEN_HASH_LEN],
			     rg_session_row *out, bool *found, rg_error *err);
/* Ends a session (signing out); no error when there is none. */
rg_err rg_store_session_delete(rg_store *s, const unsigned char hash[RG_TOKEN_HASH_LEN],
			       rg_error *err);

typedef struct rg_audit_row {
	int64_t seq, at;
	char actor[RG_VNAME_LEN];     /* a token's name, "-" when none was valid */
	char address[64];             /* the client's address, "local" for the CLI */
	char action[32];              /* "deploy", "approve", "token_create", … */
	char env[RG_VNAME_LEN];
	char target[160];             /* "run 12", "v1.2.0", a token's name */
	char result[16];              /* "accepted" | "refused" | "failed" */
	int status;                   /* the HTTP status, 0 for local actions */
	char detail[512];
	char prev_hash[65], hash[65]; /* hex */
} rg_audit_row;

/* The newest entry's seq and hash; seq 0 and hash "" for an empty log. */
rg_err rg_store_audit_last(rg_store *s, int64_t *seq, char hash[65], rg_error *err);
/* Appends r as is (seq included): call inside a transaction that read
 * rg_store_audit_last, so no other writer can come between. */
rg_err rg_store_audit_insert(rg_store *s, const rg_audit_row *r, rg_error *err);
typedef rg_err (*rg_audit_row_fn)(const rg_audit_row *r, void *ctx, rg_error *err);
/* Every entry oldest first (limit 0), or the newest limit entries of env
 * (NULL: any) newest first. */
rg_err rg_store_audit_each(rg_store *s, const char *env, int limit, rg_audit_row_fn fn,
			   void *ctx, rg_error *err);

/* ---- the notification outbox (outbox.c) --------------------------------------- */

typedef struct rg_outbox_row {
	int64_t id;
	int64_t created;
	char channel[RG_VNAME_LEN];
	char event[32];
	char env[RG_VNAME_LEN];          /* "" for none */
	int64_t run_id, incident_id;     /* 0 for none */
	char *payload;                   /* owned: the rendered body, no secret in it */
	char key[80];                    /* idempotency key, stable for the row */
	int attempts;
	int64_t next_attempt_at;
	char last_error[512];
	int64_t delivered_at;            /* 0 until delivered */
	char state[16];                  /* "pending" | "delivered" | "failed" */
} rg_outbox_row;

void rg_outbox_rows_free(rg_outbox_row *rows, size_t n);   /* frees payloads and rows */
/* Inserts r as pending (id set on return); the payload is stored with known
 * secrets masked, like every other text. */
rg_err rg_store_outbox_add(rg_store *s, rg_outbox_row *r, rg_error *err);
/* Pending rows due at now, oldest due first, at most limit; *out owned. */
rg_err rg_store_outbox_due(rg_store *s, int64_t now, int limit, rg_outbox_row **out, size_t *n,
			   rg_error *err);
/* The earliest next_attempt_at of a pending row; *any false when none is. */
rg_err rg_store_outbox_next(rg_store *s, int64_t *at, bool *any, rg_error *err);
/* Records an attempt's outcome: state, attempts, next try, delivered time, error. */
rg_err rg_store_outbox_result(rg_store *s, const rg_outbox_row *r, rg_error *err);
/* GET /api/v1/notifications: newest first, env (may be NULL) narrows,
 * before pages by id; never the payload. The _failed one keeps the rows
 * given up and those whose last attempt failed. */
rg_err rg_store_notifications_json(rg_store *s, const char *env, int64_t before, int limit,
				   json_t **out, rg_error *err);
rg_err rg_store_notifications_failed_json(rg_store *s, const char *env, int64_t before,
					  int limit, json_t **out, rg_error *err);
/* When run_id's newest decision was stored (0 when it has none). */
rg_err rg_store_run_decided_at(rg_store *s, int64_t run_id, int64_t *at, rg_error *err);

/* ---- a run's figures over time (figures.c) ------------------------------------
 * Samples of both sides of a canary, taken by engine/figures.c every
 * RG_FIGURES_INTERVAL_MS while the built-in proxy routes them, for the
 * dashboard's charts (GET /api/v1/runs/{id}/figures). Not a state the
 * engine acts on: written in batches, at most RG_FIGURES_MAX_PER_RUN rows
 * per run, deleted with the run by retention. */

#define RG_FIGURES_INTERVAL_MS 1000
#define RG_FIGURES_MAX_PER_RUN (2 * 3600)

typedef enum rg_figure_side {
	RG_FIGURE_CANARY = 0,      /* the run's new release */
	RG_FIGURE_BASELINE,        /* the release it is compared with (stable, or standing by) */
	RG_FIGURE_SIDE_COUNT
} rg_figure_side;
const char *rg_figure_side_name(rg_figure_side s);   /* "canary", "baseline" */

typedef struct rg_figure {
	int64_t run_id;
	int64_t at;                /* ms since the epoch */
	rg_figure_side side;
	char version[RG_VNAME_LEN];
	int64_t requests;          /* the release's requests since the proxy was told of it */
	double rps;                /* requests per second since the previous sample */
	double error_rate;         /* (5xx + upstream errors) / requests since then; 0 when none */
	double p50_ms, p95_ms, p99_ms;  /* latency since then; 0 when none */
} rg_figure;

/* In one transaction: appends rows[0..n) (n may be 0). A row of a run that
 * is gone (pruned meanwhile) is left out, not an error. */
rg_err rg_store_figures_add(rg_store *s, const rg_figure *rows, size_t n, rg_error *err);
/* How many samples run_id has stored. */
rg_err rg_store_figures_count(rg_store *s, int64_t run_id, int64_t *n, rg_error *err);
/* {"run","interval_ms","decision_at_ms" (the first decision's time, null
 * when none),"samples":[{"at","at_ms","side","version","requests","rps",
 * "error_rate","p50_ms","p95_ms","p99_ms"}]} by time, canary before
 * baseline, only those taken after after_ms (0: all) so that a chart can
 * ask for what is new; RG_ENOTFOUND for an unknown run. */
rg_err rg_store_figures_json(rg_store *s, int64_t run_id, int64_t after_ms, json_t **out,
			     rg_error *err);

/* ---- retention (retention.c) --------------------------------------------- */

/* What one pruning pass may remove. runs_before: finished runs that ended
 * before it (ms; 0 = none are pruned); logs_before: step logs of steps
 * that ended before it are cleared (0 = none). keep_last newest runs of each
 * environment are always kept, and so is a run another live object needs:
 * one named by a live or known_good release or by one of the two newest
 * verified releases of its environment (a rollback's target), by a route,
 * by a backup still on disk, by an unresolved incident or by a pending
 * notification. A pass looks at the next max_runs finished runs, oldest
 * ended first, after (after_ended, after_id) — {0, 0}: from the oldest — and
 * prunes those of them nothing keeps; it clears at most max_logs logs. */
typedef struct rg_retention_pass {
	int64_t runs_before;
	int64_t logs_before;
	int keep_last;
	int max_runs;
	int max_logs;
	int64_t after_ended, after_id;   /* in/out: moved on by each committed pass */
} rg_retention_pass;

typedef struct rg_retention_result {
	int runs;                          /* runs pruned */
	int logs;                          /* step logs cleared */
	bool more;                         /* a full window or max_logs: pass again soon */
	int by_state[RG_RUN_STATE_COUNT];  /* the pruned runs by their state */
} rg_retention_result;

/* In one transaction: deletes the chosen runs with every row that belongs
 * to them (events, steps, decisions, figures, approvals, pruned backups, resolved
 * incidents' links, sent notifications; flag overrides and other releases
 * forget the run) and clears the chosen step logs. Once committed, p's
 * cursor names where the next pass resumes ({0, 0} when this one reached the
 * newest old run: the next sweep starts again from the oldest). A failed
 * pass leaves p as it was and *out zero. */
rg_err rg_store_retention_prune(rg_store *s, rg_retention_pass *p, rg_retention_result *out,
				rg_error *err);

#endif
