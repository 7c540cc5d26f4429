/* incident.c — `escalation:` (the ladder an incident climbs until someone
 * acknowledges it) and `incident:` (which incidents climb, the checklist
 * each one carries). Read after `notify:`: a level's `to:` names its
 * channels, and a name that is not one is refused here, at its position,
 * so no notice of a climb can fail for want of a channel later. */
#include "config/config_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/names.h"

#define MAX_LEVELS 16

static const char *const level_keys[] = { "level", "to", "after", NULL };
static const char *const incident_keys[] = { "escalate", "checklist", NULL };
static const char *const kinds[] = { "rollback", "rollback_failed", "failed", "restored_unhealthy",
				     "restore_held", "loop_guard", NULL };

/* The runbooks' post-rollback checklist. */
static const char *const default_checklist[] = {
	"Service stability verified (30+ minutes)",
	"Status page updated",
	"Stakeholders notified",
	"Incident report created",
	"Root cause identified",
	"Hotfix plan created",
	"Documentation updated",
	"Users communicated with",
	"Post-mortem scheduled",
	"Preventive measures identified",
	"Hotfix deployed",
	"Processes updated",
	NULL,
};
static const char *const default_escalate[] = { "rollback_failed", "restored_unhealthy",
						"restore_held", "loop_guard", NULL };

static char **copy_list(rg_loader *l, const char *const *src, size_t *n)
{
	size_t k = 0;
	while (src[k])
		k++;
	char **out = rg_ld_calloc(l, k, sizeof *out);
	for (size_t i = 0; out && i < k; i++)
		out[i] = rg_ld_strdup(l, src[i]);
	*n = out ? k : 0;
	return out;
}

/* The runbooks' ladder (L1 at once, L2 after 15 min, L3 5 min later), each
 * level to whatever the routes say. */
static void default_ladder(rg_loader *l, rg_incident_cfg *ic)
{
	static const int64_t after[] = { 0, 15 * RG_MS_MINUTE, 20 * RG_MS_MINUTE };
	if (!(ic->levels = rg_ld_calloc(l, 3, sizeof *ic->levels)))
		return;
	ic->n_levels = 3;
	for (int i = 0; i < 3; i++)
		ic->levels[i] = (rg_escalation_level){ .level = i + 1, .after_ms = after[i] };
}

static void load_level(rg_loader *l, const rg_ynode *v, size_t idx, rg_escalation_level *out)
{
	if (!rg_ld_expect(l, v, RG_YMAP, "escalation level"))
		return;
	rg_ld_check_keys(l, v, "in an escalation level", level_keys);
	if (!rg_ld_require(l, v, "level", "in an escalation level") ||
	    !rg_ld_int(l, v, "level", 1, MAX_LEVELS, &out->level))
		return;
	if (out->level != (int)idx + 1)
		rg_problem(l, rg_ld_value(v, "level"),
			   "escalation: levels must be 1, 2, 3, … in order (expected %zu, got %d)",
			   idx + 1, out->level);
	if (rg_ld_require(l, v, "after", "in an escalation level"))
		rg_ld_duration(l, v, "after", &out->after_ms);
	if (rg_ld_require(l, v, "to", "in an escalation level") &&
	    rg_ld_strings(l, v, "to", &out->to, &out->n_to)) {
		const rg_ynode *seq = rg_ld_value(v, "to");
		for (size_t i = 0; i < out->n_to; i++)
			if (out->to[i] && !rg_name_valid(out->to[i]))
				rg_problem(l, seq->kids[i], "invalid channel name '%s' (use %s)", out->to[i],
					   RG_NAME_RULE);
			else if (out->to[i] && !rg_config_channel(l->cfg, out->to[i]))
				rg_problem(l, seq->kids[i],
					   "unknown channel '%s' in an escalation level (define it under "
					   "notify.channels)", out->to[i]);
	}
}

static void load_ladder(rg_loader *l, const rg_ynode *v, rg_incident_cfg *ic)
{
	if (!rg_ld_expect(l, v, RG_YSEQ, "escalation"))
		return;
	if (v->n == 0 || v->n > MAX_LEVELS) {
		rg_problem(l, v, "escalation: give 1 to %d levels", MAX_LEVELS);
		return;
	}
	if (!(ic->levels = rg_ld_calloc(l, v->n, sizeof *ic->levels)))
		return;
	ic->n_levels = v->n;
	for (size_t i = 0; i < v->n; i++) {
		load_level(l, v->kids[i], i, &ic->levels[i]);
		if (i > 0 && ic->levels[i].after_ms < ic->levels[i - 1].after_ms)
			rg_problem(l, v->kids[i],
				   "escalation: level %zu's 'after' is earlier than level %zu's (each "
				   "'after' counts from the start of the climb)", i + 1, i);
	}
}

static void check_escalate(rg_loader *l, const rg_ynode *seq, rg_incident_cfg *ic)
{
	for (size_t i = 0; i < ic->n_escalate; i++) {
		const char *w = ic->escalate[i];
		bool ok = !w;
		for (int s = 0; w && !ok && s < RG_SEV_COUNT; s++)
			ok = strcmp(w, rg_severity_names[s]) == 0;
		for (int k = 0; w && !ok && kinds[k]; k++)
			ok = strcmp(w, kinds[k]) == 0;
		if (!ok)
			rg_ld_undefined(l, seq->kids[i], "incident.escalate: unknown severity or kind", w,
					kinds);
	}
}

void rg_ld_incident(rg_loader *l, const rg_ynode *root)
{
	rg_incident_cfg *ic = &l->cfg->incident;
	const rg_ynode *v = rg_ld_value(root, "escalation");
	if (v)
		load_ladder(l, v, ic);
	else
		default_ladder(l, ic);
	v = rg_ld_value(root, "incident");
	if (v && rg_ld_expect(l, v, RG_YMAP, "incident")) {
		rg_ld_check_keys(l, v, "in incident", incident_keys);
		if (rg_ld_strings(l, v, "escalate", &ic->escalate, &ic->n_escalate) && ic->escalate)
			check_escalate(l, rg_ld_value(v, "escalate"), ic);
		rg_ld_strings(l, v, "checklist", &ic->checklist, &ic->n_checklist);
	}
	if (!ic->escalate)
		ic->escalate = copy_list(l, default_escalate, &ic->n_escalate);
	if (!ic->checklist)
		ic->checklist = copy_list(l, default_checklist, &ic->n_checklist);
}

static void free_strings(char **list, size_t n)
{
	for (size_t i = 0; list && i < n; i++)
		free(list[i]);
	free(list);
}

void rg_incident_cfg_release(rg_config *cfg)
{
	rg_incident_cfg *ic = &cfg->incident;
	for (size_t i = 0; ic->levels && i < ic->n_levels; i++)
		free_strings(ic->levels[i].to, ic->levels[i].n_to);
	free(ic->levels);
	free_strings(ic->escalate, ic->n_escalate);
	free_strings(ic->checklist, ic->n_checklist);
	memset(ic, 0, sizeof *ic);
}
