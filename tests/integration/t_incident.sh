# t_incident.sh — incidents as people meet them: opened by the automatic
# rollback in the change's transaction, joined by the next failure of the
# same release, climbing the escalation ladder on second-long timers
# (seen as the "notified …" entries of its timeline, and as the messages
# the command channels devops, oncall and leads really received)
# across a SIGKILL, stopped by ack, closed by resolve; the checklist, the
# post-mortem draft, the rollback-loop guard and the permission.

# cfg_undo_fails LADDER — a deploy whose v2 fails at step c, and whose
# rollback of v2 fails too when undo_fails is set.
cfg_failing() {
	local ladder=${1:-}
	rg_config <<YAML
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging: {}
deploy:
  - name: a
    run: @DIR@/mark a
    undo: @DIR@/mark undo.a
  - name: stuck-stack
    run: @DIR@/mark stuck-stack
    undo: @DIR@/mark undo.stuck-stack failif v3
  - name: c
    run: @DIR@/mark c failif v2 failif v3
notify:
  channels:
    devops: { run: "cat >>@DIR@/got.devops; echo >>@DIR@/got.devops" }
    oncall: { run: "cat >>@DIR@/got.oncall; echo >>@DIR@/got.oncall" }
    leads:  { run: "cat >>@DIR@/got.leads; echo >>@DIR@/got.leads" }
  routes:
    - { events: [incident_opened, incident_resolved], to: [devops] }
$ladder
YAML
}

inc_json() {
	rg incident "$1" --json
}

inc_has() {
	rg incident "$1" --json | grep -qF -- "$2"
}

# An automatic rollback opens an incident with the run's events in its
# timeline, notified through the routes and not escalated; a second
# failure of the same release joins it; resolve closes it; a viewer gets
# 403 on ack; the checklist ticks; the post-mortem has its sections.
t_incident_rollback_opens_joins_resolves() {
	cfg_failing
	rg_start
	person carol viewer
	person olga oncall
	deploy_ok v1 >/dev/null
	assert_exit 1 rg deploy v2 --env staging --wait
	local id j
	id=$(latest_run)
	assert_run_ends "$id" rolled_back
	j=$(rg incidents --json)
	assert_eq 1 "$(json_len "$j" .)" "one incident"
	assert_eq rollback "$(json_get "$j" '.[0].kind')"
	assert_eq v2 "$(json_get "$j" '.[0].failed_version')"
	assert_eq v1 "$(json_get "$j" '.[0].restored_version')"
	assert_eq open "$(json_get "$j" '.[0].state')"
	assert_eq false "$(json_get "$j" '.[0].escalating')" "a clean rollback is not escalated"
	j=$(inc_json 1)
	assert_contains "$j" '"type": "rollback_started"' "the run's events are in the timeline"
	assert_contains "$j" '"type": "undo_succeeded"'
	assert_contains "$j" "notified devops: incident_opened" "opened is notified through the routes"
	wait_for -t 10 grep -q incident_opened "$T/got.devops" || fail "devops never got the incident"
	assert_not_contains "$j" "incident_escalated"
	assert_eq "$id" "$(json_get "$j" '.runs[0].id')"
	# the second failure of v2 joins
	assert_exit 1 rg deploy v2 --env staging --wait
	assert_eq 1 "$(json_len "$(rg incidents --json)" .)" "still one incident"
	j=$(inc_json 1)
	assert_eq 2 "$(json_len "$j" .runs)" "it covers both runs"
	assert_contains "$j" '"type": "joined"'
	# people: a viewer may read and not ack
	HTTP_TOKEN=$(cat "$T/tok.carol") http POST /api/v1/incidents/1/ack '{}'
	assert_eq 403 "$HTTP_CODE" "a viewer may not acknowledge"
	assert_exit 4 as carol ack 1
	assert_exit 0 as carol incident 1
	# the checklist, by number and by text
	assert_exit 0 as olga checklist 1 --tick 1
	assert_exit 0 as olga checklist 1 --tick "stakeholders notified"
	assert_exit 4 as olga checklist 1 --tick 1
	rg checklist 1 >"$T/cl.txt"
	assert_contains "$(cat "$T/cl.txt")" "1. [x] Service stability verified (30+ minutes)  (olga"
	assert_contains "$(cat "$T/cl.txt")" "3. [x] Stakeholders notified"
	assert_contains "$(cat "$T/cl.txt")" "2. [ ] Status page updated"
	assert_exit 0 as olga note 1 "customers saw 502s for a minute"
	assert_exit 0 as olga resolve 1 --note "v2 pulled"
	j=$(inc_json 1)
	assert_eq resolved "$(json_get "$j" .state)"
	assert_eq olga "$(json_get "$j" .resolved_by)"
	assert_contains "$j" "incident_resolved"
	assert_exit 4 as olga resolve 1
	assert_eq 0 "$(json_len "$(rg incidents --open --json)" .)" "--open leaves it out"
	# the audit log has the writes with their person
	assert_eq "2|2|1" "$(sqlite3 "$T/state/state.db" "select
		(select count(*) from audit where actor='carol' and result='refused'),
		(select count(*) from audit where actor='olga' and target='incident 1' and result='accepted' and \"action\" like '%checklist%'),
		(select count(*) from audit where actor='olga' and result='accepted' and \"action\" like '%resolve%')")"
	# the post-mortem draft
	rg postmortem 1 >"$T/pm.md" || fail "postmortem failed"
	local s
	for s in "# Post-mortem (draft): incident 1" "## Summary" "## Impact window" "## Timeline" \
		"## The decision and its evidence" "## What was undone" "## Acknowledgement" \
		"## Checklist" "- [x] Stakeholders notified" "| T+0.000s |" "undo \`a\`" "customers saw 502s"; do
		assert_contains "$(cat "$T/pm.md")" "$s"
	done
	assert_match "$(cat "$T/pm.md")" '\| T\+[0-9]+\.[0-9]{3}s \|' "T+ offsets"
	assert_match "$(cat "$T/pm.md")" '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z' "UTC times"
	# the dashboard gets the same draft from the API
	acurl -s -D "$T/pm.h" -o "$T/pm.api.md" "$RG_URL/api/v1/incidents/1/postmortem"
	assert_contains "$(grep -i '^content-type' "$T/pm.h")" "text/markdown"
	assert_eq "$(cat "$T/pm.md")" "$(cat "$T/pm.api.md")"
	rg_stop
}

# A failed rollback starts at level 1 and climbs on its timers; the timers
# survive SIGKILL (the overdue level fires on start); ack stops the climb.
t_incident_ladder_climbs_survives_kill_and_ack_stops() {
	cfg_failing 'escalation:
  - { level: 1, to: [devops], after: 0s }
  - { level: 2, to: [oncall], after: 2s }
  - { level: 3, to: [leads], after: 7s }'
	rg_start
	person olga oncall
	deploy_ok v1 >/dev/null
	assert_exit 1 rg deploy v3 --env staging --wait
	local id j
	id=$(latest_run)
	assert_run_ends "$id" rollback_failed
	j=$(inc_json 1)
	assert_eq rollback_failed "$(json_get "$j" .kind)"
	assert_eq 1 "$(json_get "$j" .level)"
	assert_contains "$j" "notified devops: incident_escalated"
	assert_not_contains "$j" "notified oncall"
	wait_for -t 10 grep -q incident_escalated "$T/got.devops" || fail "level 1 never reached devops"
	rg_kill9
	sleep 2.5
	rg_start
	wait_for -t 10 inc_has 1 'notified oncall: incident_escalated' || fail "level 2 did not fire after the restart"
	assert_eq 1 "$(inc_json 1 | grep -c 'notified oncall')" "the overdue level fired once"
	wait_for -t 10 grep -q incident_escalated "$T/got.oncall" || fail "level 2 never reached oncall"
	assert_exit 0 as olga ack 1 --note "looking"
	j=$(inc_json 1)
	assert_eq acknowledged "$(json_get "$j" .state)"
	assert_eq olga "$(json_get "$j" .acked_by)"
	assert_eq null "$(json_get "$j" .next_escalation_at)"
	assert_contains "$j" "notified devops,oncall: incident_acknowledged"
	assert_exit 4 as olga ack 1
	sleep 6
	assert_not_contains "$(inc_json 1)" "notified leads" "ack stopped the climb"
	wait_for -t 10 grep -q incident_acknowledged "$T/got.oncall" || fail "oncall was not told of the ack"
	[ ! -s "$T/got.leads" ] || fail "leads were paged after the ack"
	rg_stop
}

# cfg_sick — v3 makes the health check fail during its monitor window.
cfg_sick() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    monitor: 1500ms
checks:
  health:
    run: @DIR@/health
    timeout: 1s
triggers:
  - name: health-down
    check: health
    every: 100ms
    failures: 2
    severity: P1
deploy:
  - name: app
    run: @DIR@/mark app sickif v3
    undo: @DIR@/mark undo.app heal
YAML
}

# After three automatic rollbacks within the hour the fourth trigger holds
# for a person, says why, and its incident escalates at level 2.
t_incident_loop_guard_holds_fourth() {
	cfg_sick
	rg_start
	deploy_ok v1 >/dev/null
	local i id j
	for i in 1 2 3; do
		assert_exit 1 rg deploy v3 --env staging --wait
		assert_run_ends "$(latest_run)" rolled_back
	done
	id=$(deploy_start v3 staging)
	wait_for -t 15 run_state_is "$id" awaiting_approval || fail "run $id did not hold: $(run_state "$id")"
	j=$(rg show "$id" --json)
	assert_eq hold "$(json_get "$j" .gate)"
	assert_eq hold "$(json_get "$j" .decision.action)"
	assert_contains "$(json_get "$j" .decision.reason)" "rollback-loop guard: 3 automatic rollbacks in staging within 1h"
	j=$(rg incidents --json)
	assert_eq 1 "$(json_len "$j" .)" "the four runs of v3 are one incident"
	j=$(inc_json 1)
	assert_eq loop_guard "$(json_get "$j" .kind)"
	assert_eq 2 "$(json_get "$j" .level)" "it escalates at level 2"
	assert_contains "$j" "escalated to level 2"
	assert_not_contains "$j" "escalated to level 1"
	rg abort "$id" >/dev/null
	rg_stop
}
