/* engine.h — runs as durable state machines on the control-plane loop.
 * The engine owns every run in progress: it persists each transition before
 * acting on it, runs steps as child processes, watches checks and monitor
 * windows, and rolls back. All functions must be called on the loop thread.
 * The engine borrows cfg and store; both must outlive it. */
#ifndef RG_ENGINE_H
#define RG_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "auth/principal.h"
#include "config/config.h"
#include "store/store.h"
#include "util/err.h"

typedef struct rg_engine rg_engine;


typedef struct rg_routers rg_routers;
typedef struct rg_dataplane rg_dataplane;

/* routers (routers/routers.h) is what traffic steps and rollbacks drive;
 * dp (dataplane/dataplane.h) gives the built-in proxies' figures to metric
 * triggers and the sequential test. Either may be NULL. Both borrowed. */
rg_err rg_engine_new(uv_loop_t *loop, const rg_config *cfg, rg_store *store,
		     rg_routers *routers, rg_dataplane *dp, rg_engine **out, rg_error *err);
/* ---- what the engine tells others, and the only way they learn it ----
 * The notification, incident and audit modules, the API's event streams and
 * its metrics subscribe here. News is published on the loop, after the
 * change it reports is committed, to every subscriber in subscription
 * order; the pointers in it are valid during the call only. */
typedef enum rg_news_kind {
	RG_NEWS_TIMELINE = 0,     /* run_id has new events to read */
	RG_NEWS_RUN_STATE,        /* run_id went from `from` to `to` ("" for a new run) */
	RG_NEWS_RELEASE_STATE,    /* release env/version went from `from` to `to` */
	RG_NEWS_DECISION          /* a decision of run_id was stored */
} rg_news_kind;

typedef struct rg_news {
	rg_news_kind kind;
	int64_t run_id;
	const char *env;
	const char *version;          /* the run's release, or the release that changed */
	const char *run_kind;         /* "deploy" | "rollback" */
	const char *from, *to;        /* RUN_STATE, RELEASE_STATE */
	const rg_decision *decision;  /* DECISION */
} rg_news;

/* A subscriber must not subscribe or unsubscribe from inside its call, and
 * must be quick: a rollback's news is published before its traffic swap is
 * applied (bench/mttr.sh measures decision -> swap). Writes that must be as
 * durable as the change (an outbox row) belong in the change's transaction,
 * not in a subscriber. */
typedef void (*rg_news_fn)(void *ctx, const rg_news *news);

#define RG_ENGINE_MAX_SUBSCRIBERS 8
/* RG_ECONFLICT when the table is full. */
rg_err rg_engine_subscribe(rg_engine *e, rg_news_fn fn, void *ctx, rg_error *err);
void rg_engine_unsubscribe(rg_engine *e, rg_news_fn fn, void *ctx);
const char *rg_news_kind_name(rg_news_kind k);   /* "timeline", "run_state", … */
/* ---- writes as durable as the change ----
 * A change hook runs inside the transaction of every run change — a new
 * run, each state change with its timeline event, each stored decision —
 * after the change's own rows and before the commit, so what it writes (an
 * outbox row, an incident's timeline entry) commits or is abandoned with
 * the change. An error from a hook abandons the change (the run holds and
 * retries it like any refused write), so a hook writes rows and nothing
 * else: it acts once the change is committed, on the news above. */
typedef struct rg_change {
	const rg_run *run;            /* the run as it is being committed */
	bool created;                 /* a new run (from is then meaningless) */
	rg_run_state from;            /* its state before */
	const char *event;            /* the timeline event written with it, or NULL */
	const char *step;             /* that event's step, or NULL */
	const char *message;          /* that event's message, or NULL */
	const rg_decision *decision;  /* the decision stored in this change, or NULL */
} rg_change;
/* A decision of the rollback-loop guard (decide.c) is a "hold" whose
 * reason starts with this; the incident module escalates it at level 2. */
#define RG_LOOP_GUARD_REASON "rollback-loop guard"
typedef rg_err (*rg_change_fn)(void *ctx, rg_store *store, const rg_change *c, rg_error *err);

#define RG_ENGINE_MAX_HOOKS 4
/* RG_ECONFLICT when the table is full. Hooks run in the order added. */
rg_err rg_engine_hook_changes(rg_engine *e, rg_change_fn fn, void *ctx, rg_error *err);
/* Applies every environment's stored route again (the router may have
 * restarted, or serve stopped between a commit and the apply), then picks
 * up every unfinished run from the store (start-up after a crash). */
rg_err rg_engine_resume_all(rg_engine *e, rg_error *err);

typedef struct rg_deploy_request {
	const char *env;
	const char *version;
	const char *actor;     /* the token's name */
	bool emergency;        /* skip the approval gate (the caller checked the oncall role) */
	const char *reason;    /* required with emergency */
	bool skip_monitor;     /* emergency only: no monitor window */
} rg_deploy_request;

/* Starts a deploy. With `approvals.deploy` in env (and no emergency) the run
 * waits in awaiting_approval before its first step. RG_EINVAL for bad names,
 * a missing emergency reason, skip_monitor without emergency; RG_ENOTFOUND
 * for an unknown env; RG_ECONFLICT when env has an unfinished run. */
rg_err rg_engine_deploy(rg_engine *e, const rg_deploy_request *req, int64_t *run_id,
			rg_error *err);

typedef struct rg_rollback_request {
	const char *env;
	const char *to;        /* NULL: the previous known-good release */
	const char *reason;    /* may be NULL */
	const char *actor;
	bool dry_run;
	bool force;            /* allow a target that never became known good */
	bool emergency;        /* skip the rollback gate (the caller checked the oncall role) */
	const rg_principal *who; /* who asks, for a gate's `from`; NULL: every role */
} rg_rollback_request;

/* `rollguard config restore --env E --to V` (req->to required, dry_run and
 * force ignored): a run of kind rollback that writes V's stored config
 * files back (each atomically) and changes no release; gated like a
 * rollback by approvals.rollback unless req->emergency. RG_ENOTFOUND when
 * V has no config snapshot. */
rg_err rg_engine_config_restore(rg_engine *e, const rg_rollback_request *req, int64_t *run_id,
				rg_error *err);

/* Starts a manual rollback, or with dry_run only describes it. With
 * `approvals.rollback` (and no emergency) the run waits for it first; when
 * env's deploy holds for approval of its rollback, this is that approval. On success
 * *plan (caller owns) is {"env","from","to","steps":[{"name","action",
 * "command","env":{…}}],"checks":[…],"risks":[…]} and, unless dry_run,
 * *run_id is set. RG_EFORBIDDEN for a target that never became known good
 * (without force), RG_ENOTFOUND for an unknown target. */
rg_err rg_engine_rollback(rg_engine *e, const rg_rollback_request *req, int64_t *run_id,
			  json_t **plan, rg_error *err);

/* Run controls. RG_ENOTFOUND for an unknown run, RG_ECONFLICT when the run's
 * state does not allow it. */
rg_err rg_engine_abort(rg_engine *e, int64_t run_id, const char *actor, rg_error *err);
rg_err rg_engine_pause(rg_engine *e, int64_t run_id, const char *actor, rg_error *err);
rg_err rg_engine_resume(rg_engine *e, int64_t run_id, const char *actor, rg_error *err);
rg_err rg_engine_promote(rg_engine *e, int64_t run_id, const char *actor, rg_error *err);

/* Answers at a run's approval gate (gates.c): who is the token's
 * principal (NULL: a local caller with every role), name its actor.
 * RG_ENOTFOUND for an unknown run, RG_ECONFLICT when it does not wait
 * for approval (or name answered already), RG_EFORBIDDEN naming the rule
 * (the requester approving their own run, someone the gate does not name). */
rg_err rg_engine_approve(rg_engine *e, int64_t run_id, const rg_principal *who, const char *name,
			 const char *comment, rg_error *err);
rg_err rg_engine_reject(rg_engine *e, int64_t run_id, const rg_principal *who, const char *name,
			const char *reason, rg_error *err);
/* The approval picture of a run r: {"gate","status","required","from",
 * "needed","approved_by":[{"by","at","comment"}],"rejected_by":[…],
 * "timeout_at","starts_at"}; *out NULL when r has no gate. Caller owns it. */
rg_err rg_gate_json(const rg_config *cfg, rg_store *store, const rg_run *r, json_t **out,
		    rg_error *err);

/* An alarm from outside (POST /api/v1/alerts), already authenticated and
 * matched to this service by the API. It fires like a trigger of env's
 * active run: during a deploy's traffic step or monitor window it is
 * decided through `actions:` by its severity; in a rollback's
 * post-rollback window it marks the run (the restored release is
 * unhealthy). Borrowed strings. */
typedef struct rg_alert_in {
	const char *env;
	const char *name;          /* the alert's name (alertname), for the decision */
	rg_severity severity;
	const char *summary;       /* may be NULL or "": one line from the alert */
	const char *source;        /* "alertmanager" | "api" */
} rg_alert_in;

/* RG_OK with *run_id = the run it fired for; RG_ENOTFOUND (message says
 * so) when env has no run being watched — the alert changes nothing;
 * RG_EINVAL for an unknown env. */
rg_err rg_engine_alert(rg_engine *e, const rg_alert_in *a, int64_t *run_id, rg_error *err);

/* Calls fn for each run in progress with its committed row (valid during
 * the call only); fn must not start or change runs. */
void rg_engine_each_run(rg_engine *e, void (*fn)(void *ctx, const rg_run *run), void *ctx);

/* True while some run cannot record its progress (the store refuses
 * writes); why says which run and the store's error. /health answers 503. */
bool rg_engine_store_trouble(rg_engine *e, char *why, size_t size);

/* Log of a step: the live tail while it runs, else the stored one.
 * *log owned by the caller. */
rg_err rg_engine_step_log(rg_engine *e, int64_t run_id, const char *step, char **log,
			  rg_error *err);

/* Stops starting new work and ends running children (they are run again on
 * the next start); calls done(ctx) once nothing of the engine is left on
 * the loop. */
void rg_engine_shutdown(rg_engine *e, void (*done)(void *ctx), void *ctx);
void rg_engine_free(rg_engine *e);

#endif
