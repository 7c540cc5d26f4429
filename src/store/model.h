/* model.h — the names of the data model (DESIGN §3) as types: a run's
 * state, phase and kind, a release's state. One name table each; the
 * strings exist only where they cross into the store, the API and the logs
 * (rg_*_name, rg_*_parse). A switch over these enums is checked by the
 * compiler (-Wswitch). */
#ifndef RG_MODEL_H
#define RG_MODEL_H

#include <stdbool.h>

typedef enum rg_run_state {
	RG_RUN_QUEUED = 0,
	RG_RUN_AWAITING_APPROVAL,
	RG_RUN_RUNNING,
	RG_RUN_PAUSED,
	RG_RUN_VERIFYING,
	RG_RUN_MONITORING,
	RG_RUN_ROLLING_BACK,
	RG_RUN_SUCCEEDED,        /* the terminal states follow */
	RG_RUN_FAILED,
	RG_RUN_ROLLED_BACK,
	RG_RUN_ROLLBACK_FAILED,
	RG_RUN_ABORTED,
	RG_RUN_STATE_COUNT
} rg_run_state;

/* forward: deploy steps and the monitor window; reverse: undo, verify and
 * the post-rollback window. */
typedef enum rg_run_phase { RG_PHASE_FORWARD = 0, RG_PHASE_REVERSE, RG_PHASE_COUNT } rg_run_phase;

typedef enum rg_run_kind { RG_KIND_DEPLOY = 0, RG_KIND_ROLLBACK, RG_KIND_COUNT } rg_run_kind;

typedef enum rg_release_state {
	RG_REL_NONE = 0,         /* not stored yet */
	RG_REL_PENDING,
	RG_REL_LIVE,
	RG_REL_KNOWN_GOOD,
	RG_REL_FAILED,
	RG_REL_ROLLED_BACK,
	RG_REL_SUPERSEDED,
	RG_REL_STATE_COUNT
} rg_release_state;

const char *rg_run_state_name(rg_run_state s);        /* "running" … */
const char *rg_run_phase_name(rg_run_phase p);        /* "forward" | "reverse" */
const char *rg_run_kind_name(rg_run_kind k);          /* "deploy" | "rollback" */
const char *rg_release_state_name(rg_release_state s);/* "known_good" …; "" for none */

/* false when name is not one of the table's. */
bool rg_run_state_parse(const char *name, rg_run_state *out);
bool rg_run_phase_parse(const char *name, rg_run_phase *out);
bool rg_run_kind_parse(const char *name, rg_run_kind *out);
bool rg_release_state_parse(const char *name, rg_release_state *out);

bool rg_run_state_terminal(rg_run_state s);

#endif
