/* planner.h — what a rollback will do, decided before it starts.
 * The plan is a pure function of the config and of what the run completed;
 * it is persisted with the decision so a restarted server follows the same
 * plan, and printed by `rollback --dry-run`. */
#ifndef RG_PLANNER_H
#define RG_PLANNER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "util/err.h"

typedef enum {
	RG_PLAN_UNDO = 0,     /* a deploy step's undo command */
	RG_PLAN_PIPELINE,     /* a step of the `rollback:` pipeline */
	RG_PLAN_REDEPLOY,     /* a deploy step without undo, run again for the target */
	RG_PLAN_DOWNGRADE,    /* a migrate step's `down`, to the target's schema */
	RG_PLAN_RESTORE       /* a backup step's `restore` of the pre-deploy backup */
} rg_plan_action;

typedef struct rg_plan_entry {
	rg_plan_action action;
	int step;             /* index into cfg->deploy, or cfg->rollback for PIPELINE */
} rg_plan_entry;

typedef struct rg_plan {
	char removed[72];     /* the release being taken away */
	char target[72];      /* the release being restored; "" if there is none */
	rg_plan_entry *entries; /* owned */
	size_t n;
	/* Data (rg_plan_schema): the schemas of the removed and the target
	 * release ("" unknown), and the backup a restore puts back (0: none). */
	char schema_from[72], schema_to[72];
	int64_t backup_id, backup_at;
	bool config_only;     /* `config restore`: no entries, only target's config files back */
} rg_plan;

/* What the store knows that decides between downgrade and restore; the
 * caller looks it up (engine/migrate.c), so the plan stays pure. */
typedef struct rg_plan_data {
	char removed_schema[72];  /* "" = none recorded */
	char target_schema[72];
	int64_t backup_id;        /* the backup taken before the removed release's deploy; 0 none */
	char backup_step[80];     /* the backup step that took it */
	int64_t backup_at;        /* when it was taken (ms) */
} rg_plan_data;

bool rg_step_applies(const rg_step *s, const char *env);

/* Automatic rollback of a deploy: completed lists the cfg->deploy indices of
 * the steps that completed, in the order they ran. Undo newest first, or the
 * rollback pipeline when one is configured. When a traffic step completed
 * (so the target was retired), the plan first redeploys the traffic step's
 * backend step for the target. */
rg_err rg_plan_automatic(const rg_config *cfg, const int *completed, size_t n,
			 const char *removed, const char *target, rg_plan *out, rg_error *err);
/* Manual rollback from the live release to target: the rollback pipeline, or
 * every applicable undo newest first followed by a redeploy of the target
 * through the exec steps that have no undo. With a traffic step, the plan
 * first redeploys its backend step for the target (it may be retired). */
rg_err rg_plan_manual(const rg_config *cfg, const char *env, const char *removed,
		      const char *target, rg_plan *out, rg_error *err);
void rg_plan_release(rg_plan *p);

/* Adds the schema's way back to p when the target's schema differs from
 * the removed release's (both known) and env has a migrate step (for an
 * automatic plan: one that completed, listed in completed[0..n), else
 * completed NULL): a downgrade when the migration is reversible, else a
 * restore of d->backup_id (none when there is no backup: the schema stays,
 * rg_plan_schema_lost says so). The entry takes the place an undo of the
 * migrate step would have: after the undo of later steps, before earlier
 * ones and before the redeploys. */
rg_err rg_plan_schema(const rg_config *cfg, const char *env, const int *completed, size_t n,
		      const rg_plan_data *d, rg_plan *p, rg_error *err);
/* After the downgrade entry at index at failed: a restore follows it;
 * false when there is no backup to restore. */
bool rg_plan_restore_after(const rg_config *cfg, rg_plan *p, size_t at, rg_error *err);
/* Index of p's restore entry, or -1. */
int rg_plan_restore_index(const rg_plan *p);
/* The migrate step of env, or -1. */
int rg_plan_migrate_step(const rg_config *cfg, const char *env);

/* cfg->deploy index of the step whose output env's traffic step routes to,
 * or -1 when env has no traffic step. */
int rg_plan_backend_step(const rg_config *cfg, const char *env);

/* Persisted form: {"removed","target","entries":[{"action","step","name"}],
 * "schema":{"from","to"},"backup":{"id","at"}}. */
json_t *rg_plan_to_json(const rg_config *cfg, const rg_plan *p);
rg_err rg_plan_from_json(const rg_config *cfg, const char *text, rg_plan *out, rg_error *err);

/* "undo" "run" "redeploy" "downgrade" "restore" */
const char *rg_plan_action_name(rg_plan_action a);
const rg_step *rg_plan_step(const rg_config *cfg, const rg_plan_entry *e);
const char *rg_plan_command(const rg_config *cfg, const rg_plan_entry *e);

/* Checks run to verify a restored release: every check named by the
 * environment's `checks` steps, each once, in pipeline order. *out is owned
 * by the caller (free); the pointers in it by cfg. */
rg_err rg_plan_verify_checks(const rg_config *cfg, const char *env, const rg_check ***out,
			     size_t *n, rg_error *err);

#endif
