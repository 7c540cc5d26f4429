/* postmortem.h — a blameless post-mortem draft in Markdown from an
 * incident's JSON (GET /api/v1/incidents/N, store.h's shape). Pure: the
 * same JSON gives the same text; nothing is fetched or guessed. */
#ifndef RG_INCIDENT_POSTMORTEM_H
#define RG_INCIDENT_POSTMORTEM_H

#include <jansson.h>

#include "util/err.h"
#include "util/strbuf.h"

/* Appends the draft to out: summary, impact window, timeline (UTC and T+
 * offsets from the impact's start), decision and evidence, what was
 * undone, acknowledgement, checklist, and the sections a person writes. */
rg_err rg_postmortem_render(const json_t *incident, rg_strbuf *out, rg_error *err);

#endif
