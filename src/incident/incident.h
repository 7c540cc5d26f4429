/* incident.h — incidents: one per failing release of an environment,
 * opened or joined inside the transaction of the run change that shows the
 * failure (an engine change hook), climbing the escalation ladder on
 * stored timers until acknowledged, resolved by a person. Every notice goes
 * through notify.h in the transaction that records it. On the loop only.
 * Borrows loop, cfg, store, engine and notifier; they outlive it. */
#ifndef RG_INCIDENT_INCIDENT_H
#define RG_INCIDENT_INCIDENT_H

#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "engine/engine.h"
#include "notify/notify.h"
#include "store/store.h"
#include "util/err.h"

typedef struct rg_incidents rg_incidents;

/* Hooks the engine's changes and its news, and arms the ladder's timer
 * (levels overdue since the last run fire once, in order). */
rg_err rg_incidents_new(uv_loop_t *loop, const rg_config *cfg, rg_store *store, rg_engine *engine,
			rg_notifier *notifier, rg_incidents **out, rg_error *err);
/* A person's answers; actor is the token's name, note may be NULL.
 * RG_ENOTFOUND for an unknown incident, RG_ECONFLICT when its state does
 * not allow it (acknowledging twice, anything but a note once resolved). */
rg_err rg_incidents_ack(rg_incidents *in, int64_t id, const char *actor, const char *note,
			rg_error *err);
rg_err rg_incidents_note(rg_incidents *in, int64_t id, const char *actor, const char *note,
			 rg_error *err);
rg_err rg_incidents_resolve(rg_incidents *in, int64_t id, const char *actor, const char *note,
			    rg_error *err);
/* Ticks checklist item `item`: its number ("3") or its text (case-insensitive);
 * *ticked is the item's number. RG_ENOTFOUND when none matches. */
rg_err rg_incidents_tick(rg_incidents *in, int64_t id, const char *item, const char *actor,
			 int *ticked, rg_error *err);
/* Stops the timer and unsubscribes (run the loop afterwards); free only
 * after the engine is freed, since its hook points here. */
void rg_incidents_stop(rg_incidents *in);
void rg_incidents_free(rg_incidents *in);

#endif
