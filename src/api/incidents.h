/* incidents.h — incidents over HTTP: GET /api/v1/incidents (?env, ?open,
 * ?limit, ?before paging), GET /api/v1/incidents/{id}, and the answers of
 * people, POST …/{id}/ack|note|resolve|checklist, each needing
 * RG_PERM_INCIDENT in the incident's environment; GET …/{id}/postmortem is
 * the Markdown draft `rollguard postmortem` prints. The acting is
 * incident/incident.h's. */
#ifndef RG_API_INCIDENTS_H
#define RG_API_INCIDENTS_H

#include "api/routes.h"

/* route is the routing table's name ("incidents", "incident_ack", …). */
rg_err rg_api_incidents(rg_api_ctx *ctx, const rg_request *req, const char *route, int64_t id,
			rg_reply *reply, rg_error *err);

#endif
