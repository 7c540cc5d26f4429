/* model.c — the one name table of each data-model enum (model.h). */
#include "store/model.h"

#include <string.h>

static const char *const run_states[RG_RUN_STATE_COUNT] = {
	[RG_RUN_QUEUED] = "queued",
	[RG_RUN_AWAITING_APPROVAL] = "awaiting_approval",
	[RG_RUN_RUNNING] = "running",
	[RG_RUN_PAUSED] = "paused",
	[RG_RUN_VERIFYING] = "verifying",
	[RG_RUN_MONITORING] = "monitoring",
	[RG_RUN_ROLLING_BACK] = "rolling_back",
	[RG_RUN_SUCCEEDED] = "succeeded",
	[RG_RUN_FAILED] = "failed",
	[RG_RUN_ROLLED_BACK] = "rolled_back",
	[RG_RUN_ROLLBACK_FAILED] = "rollback_failed",
	[RG_RUN_ABORTED] = "aborted",
};

static const char *const phases[RG_PHASE_COUNT] = { "forward", "reverse" };
static const char *const kinds[RG_KIND_COUNT] = { "deploy", "rollback" };

static const char *const release_states[RG_REL_STATE_COUNT] = {
	[RG_REL_NONE] = "",
	[RG_REL_PENDING] = "pending",
	[RG_REL_LIVE] = "live",
	[RG_REL_KNOWN_GOOD] = "known_good",
	[RG_REL_FAILED] = "failed",
	[RG_REL_ROLLED_BACK] = "rolled_back",
	[RG_REL_SUPERSEDED] = "superseded",
};

static const char *name_of(const char *const *names, int n, int v)
{
	return v >= 0 && v < n ? names[v] : "?";
}

static bool parse(const char *const *names, int n, const char *name, int *out)
{
	for (int i = 0; name && i < n; i++)
		if (strcmp(names[i], name) == 0) {
			*out = i;
			return true;
		}
	return false;
}

const char *rg_run_state_name(rg_run_state s)
{
	return name_of(run_states, RG_RUN_STATE_COUNT, (int)s);
}

const char *rg_run_phase_name(rg_run_phase p)
{
	return name_of(phases, RG_PHASE_COUNT, (int)p);
}

const char *rg_run_kind_name(rg_run_kind k)
{
	return name_of(kinds, RG_KIND_COUNT, (int)k);
}

const char *rg_release_state_name(rg_release_state s)
{
	return name_of(release_states, RG_REL_STATE_COUNT, (int)s);
}

bool rg_run_state_parse(const char *name, rg_run_state *out)
{
	int v;
	if (!parse(run_states, RG_RUN_STATE_COUNT, name, &v))
		return false;
	*out = (rg_run_state)v;
	return true;
}

bool rg_run_phase_parse(const char *name, rg_run_phase *out)
{
	int v;
	if (!parse(phases, RG_PHASE_COUNT, name, &v))
		return false;
	*out = (rg_run_phase)v;
	return true;
}

bool rg_run_kind_parse(const char *name, rg_run_kind *out)
{
	int v;
	if (!parse(kinds, RG_KIND_COUNT, name, &v))
		return false;
	*out = (rg_run_kind)v;
	return true;
}

bool rg_release_state_parse(const char *name, rg_release_state *out)
{
	int v;
	if (!parse(release_states, RG_REL_STATE_COUNT, name, &v))
		return false;
	*out = (rg_release_state)v;
	return true;
}

bool rg_run_state_terminal(rg_run_state s)
{
	return s >= RG_RUN_SUCCEEDED && s < RG_RUN_STATE_COUNT;
}
