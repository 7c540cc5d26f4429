/* evidence.c — how long a traffic pause or the monitor window may wait for
 * enough requests to judge the release, and what happens when they do not
 * come (min_requests, max_pause / max_monitor, on_insufficient_data). */
#include "config/config_internal.h"

#include <limits.h>
#include <stdio.h>

#include "util/duration.h"

#define DEFAULT_MIN_REQUESTS 100
#define DEFAULT_MAX_FACTOR 4

static const char *const insufficient_names[] = { "hold", "rollback", "promote", NULL };

const char *rg_insufficient_name(rg_insufficient i)
{
	return (unsigned)i < 3 ? insufficient_names[i] : "?";
}

void rg_ld_evidence(rg_loader *l, const rg_ynode *map, const char *max_key, const char *base_key,
		    int64_t base_ms, rg_evidence *out)
{
	out->min_requests = DEFAULT_MIN_REQUESTS;
	out->max_wait_ms = base_ms * DEFAULT_MAX_FACTOR;
	out->on_insufficient = RG_INSUFFICIENT_HOLD;
	if (!map || map->type != RG_YMAP)
		return;
	rg_ld_int(l, map, "min_requests", 0, INT_MAX, &out->min_requests);
	if (rg_ld_duration(l, map, max_key, &out->max_wait_ms) && rg_ld_value(map, max_key) &&
	    out->max_wait_ms < base_ms) {
		char a[32], b[32];
		rg_duration_format(out->max_wait_ms, a, sizeof a);
		rg_duration_format(base_ms, b, sizeof b);
		rg_problem(l, rg_ld_value(map, max_key), "%s (%s) is shorter than %s (%s)", max_key, a,
			   base_key, b);
	}
	int i = (int)out->on_insufficient;
	if (rg_ld_choice(l, map, "on_insufficient_data", insufficient_names, &i))
		out->on_insufficient = (rg_insufficient)i;
}
