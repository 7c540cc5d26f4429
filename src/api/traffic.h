/* traffic.h — what an environment's router is told, as the API shows it:
 * GET /api/v1/traffic?env= and the "traffic" member of GET /api/v1/status.
 * The stored rg_route_state is rendered here and nowhere else. Reads only:
 * nothing here may change a route or tell a router anything. */
#ifndef RG_API_TRAFFIC_H
#define RG_API_TRAFFIC_H

#include <jansson.h>

#include "config/config.h"
#include "dataplane/dataplane.h"
#include "store/store.h"
#include "util/err.h"

/* The statistics window of GET /api/v1/traffic, in seconds. */
#define RG_TRAFFIC_WINDOW_S 60

/* "proxy", "haproxy", "command", or NULL when env routes nothing. An env
 * with proxy.listen counts as "proxy" whatever its router field says. */
const char *rg_api_router_name(const rg_env *env);

/* Pure. st as {"stable":{"version","backends":["HOST:PORT",…]},
 * "canary":{…}|null,"canary_weight","standby":{…}|null,"run_id"|null,
 * "updated","updated_ms"}. A side is null when it names neither a release
 * nor a backend (stable never is: its "version" is null then). */
rg_err rg_api_route_json(const rg_route_state *st, json_t **out, rg_error *err);

/* The stored route of env as rg_api_route_json, or JSON null when none is
 * stored yet. */
rg_err rg_api_stored_route_json(rg_store *store, const char *env, json_t **out,
				rg_error *err);

/* The answer of GET /api/v1/traffic for env (a name of cfg, already
 * validated). dp may be NULL. With a built-in proxy: the dataplane's
 * document (rg_dataplane_traffic_json, RG_TRAFFIC_WINDOW_S) plus "route";
 * with an external router: {"env","router","canary_weight","releases":
 * [{"version","side","share","backends":[{"address"}]}],"stats":null,
 * "route"} from the stored route alone; without a router:
 * {"env","router":null,"releases":[],"route":null}. */
rg_err rg_api_traffic_json(const rg_config *cfg, rg_store *store, rg_dataplane *dp,
			   const char *env, json_t **out, rg_error *err);

/* The "traffic" member of env's status: JSON null when env has no router,
 * else {"router","canary_weight","stable":{"version"}|null,
 * "canary":{"version"}|null} (both sides null until a route is stored). */
rg_err rg_api_status_traffic(rg_store *store, const rg_env *env, json_t **out, rg_error *err);

#endif
