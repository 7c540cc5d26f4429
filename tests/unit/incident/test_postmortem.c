/* test_postmortem.c — the post-mortem draft from an incident's JSON: its
 * sections, UTC times with T+ offsets from the impact's start, the
 * decision's figures, the undone steps and the checklist state. */
#include <criterion/criterion.h>
#include <string.h>

#include "incident/postmortem.h"

static const char *incident_json =
	"{\"id\":7,\"env\":\"production\",\"severity\":\"P1\",\"kind\":\"rollback\","
	"\"state\":\"acknowledged\",\"level\":1,\"failed_version\":\"v2\",\"restored_version\":\"v1\","
	"\"trigger\":\"error-rate\",\"opened\":\"2026-12-02T10:00:05.000Z\",\"opened_ms\":1764669605000,"
	"\"opened_by\":\"run 4\",\"acked\":\"2026-12-02T10:03:00.000Z\",\"acked_by\":\"olga\","
	"\"resolved\":null,"
	"\"decision\":{\"trigger\":\"error-rate\",\"severity\":\"P1\",\"action\":\"rollback\","
	"\"observed\":\"7.5%\",\"threshold\":\"above 5%\",\"window\":\"traffic 10%\","
	"\"evidence\":{\"requests\":400},\"reason\":\"error rate 7.5% above 5%; rolling back to v1\"},"
	"\"runs\":[{\"id\":4,\"kind\":\"deploy\",\"state\":\"rolled_back\",\"plan\":{\"removed\":\"v2\","
	"\"target\":\"v1\",\"entries\":[{\"action\":\"undo\",\"step\":0,\"name\":\"app\"}]}}],"
	"\"timeline\":["
	"{\"at\":\"2026-12-02T10:00:00.000Z\",\"at_ms\":1764669600000,\"source\":\"run\",\"run_id\":4,"
	"\"type\":\"step_started\",\"message\":\"app\"},"
	"{\"at\":\"2026-12-02T10:00:05.000Z\",\"at_ms\":1764669605000,\"source\":\"run\",\"run_id\":4,"
	"\"type\":\"rollback_started\",\"message\":\"error rate\"},"
	"{\"at\":\"2026-12-02T10:00:05.100Z\",\"at_ms\":1764669605100,\"source\":\"run\",\"run_id\":4,"
	"\"type\":\"traffic_swapped\",\"message\":\"v1 serves\"},"
	"{\"at\":\"2026-12-02T10:03:00.000Z\",\"at_ms\":1764669780000,\"source\":\"incident\",\"run_id\":0,"
	"\"type\":\"acknowledged\",\"actor\":\"olga\",\"message\":\"looking\"}],"
	"\"checklist\":[{\"item\":1,\"text\":\"Root cause identified\",\"ticked\":true,\"by\":\"olga\","
	"\"at\":\"2026-12-02T11:00:00.000Z\"},{\"item\":2,\"text\":\"Post-mortem scheduled\",\"ticked\":false}]}";

static char *render(void)
{
	json_t *in = json_loads(incident_json, 0, NULL);
	cr_assert_not_null(in);
	rg_strbuf sb;
	rg_error err;
	rg_strbuf_init(&sb);
	cr_assert_eq(rg_postmortem_render(in, &sb, &err), RG_OK);
	json_decref(in);
	char *text = strdup(sb.buf);
	rg_strbuf_release(&sb);
	return text;
}

Test(postmortem, sections_in_order)
{
	char *t = render();
	const char *sections[] = { "# Post-mortem (draft): incident 7 — rollback in production",
				   "## Summary", "## Impact window", "## Timeline",
				   "## The decision and its evidence", "## What was undone",
				   "## Acknowledgement", "## Checklist", "## Root cause", "## Action items" };
	const char *at = t;
	for (size_t i = 0; i < sizeof sections / sizeof *sections; i++) {
		const char *p = strstr(at, sections[i]);
		cr_assert_not_null(p, "missing or out of order: %s\n%s", sections[i], t);
		at = p;
	}
	free(t);
}

Test(postmortem, times_offsets_and_figures)
{
	char *t = render();
	cr_assert_not_null(strstr(t, "| 2026-12-02T10:00:00.000Z | T+0.000s | 4 | step_started | app |"), "%s", t);
	cr_assert_not_null(strstr(t, "| 2026-12-02T10:00:05.100Z | T+5.100s | 4 | traffic_swapped |"));
	cr_assert_not_null(strstr(t, "| T+3m00s | - | acknowledged | olga: looking |"));
	cr_assert_not_null(strstr(t, "(`traffic_swapped`: it was out of traffic): 5.100s, at most"), "%s", t);
	cr_assert_not_null(strstr(t, "saw 7.5% against above 5% (traffic 10%)"));
	cr_assert_not_null(strstr(t, "- Evidence: `{\"requests\":400}`"));
	cr_assert_not_null(strstr(t, "1. undo `app`"));
	cr_assert_not_null(strstr(t, "Acknowledged by olga at 2026-12-02T10:03:00.000Z UTC"));
	cr_assert_not_null(strstr(t, "- [x] Root cause identified (olga, 2026-12-02T11:00:00.000Z UTC)"));
	cr_assert_not_null(strstr(t, "- [ ] Post-mortem scheduled"));
	free(t);
}
