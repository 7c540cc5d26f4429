# t_analysis.sh — automatic decisions from real signals through the
# built-in proxy, under real load (wrk): the sequential test catching a
# canary at 5 % errors, a healthy canary never rolled back, metric and
# command rules, and the decision matrix (notify, rollback after approval).

# cfg_analysis TRIGGERS ACTIONS — a proxy environment, app + canary steps,
# the given triggers: block and actions map.
cfg_analysis() {
	rg_release_app
	{
		cat <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  prod:
    timeout: 60s
    monitor: @MONITOR@
    post_rollback_monitor: 300ms
    proxy: { listen: 127.0.0.1:@PORT2@, threads: 2 }
deploy:
  - name: app
    run: @DIR@/app.sh start
    undo: @DIR@/app.sh stop
  - name: canary
    traffic: { backend: app.backend, steps: [10, 50, 100], pause: @PAUSE@, drain: 200ms, retire: @DIR@/app.sh retire }
YAML
		printf '%s\n' "$1"
		printf '%s\n' "$2"
	} | rg_config
	sed -i "s|@PAUSE@|${PAUSE:-3s}|; s|@MONITOR@|${MONITOR:-300ms}|" "$T/rollguard.yaml"
}

# load_start SECONDS — wrk through the proxy in the background.
load_start() {
	command -v wrk >/dev/null || fail "wrk is not installed (scripts/install-deps.sh installs it)"
	wrk -t1 -c4 -d"${1}s" "http://127.0.0.1:$RG_PORT2/" >"$T/wrk.out" 2>&1 &
	LOAD_PID=$!
	echo "$LOAD_PID" >>"$T/pids"
}

SEQUENTIAL='triggers:
  - { name: canary, analysis: sequential, alpha: 0.01, beta: 0.01, min_effect: 2, every: 100ms, severity: P1 }'

t_analysis_sequential_test_catches_a_canary_at_5_percent_errors() {
	cfg_analysis "$SEQUENTIAL" ""
	rg_start
	deploy_ok v1 prod >/dev/null
	load_start 20
	local id j
	assert_exit 1 rg deploy v2-err5 --env prod --wait
	id=$(latest_run prod)
	assert_run_ends "$id" rolled_back
	load_stop
	j=$(rg show "$id" --json | tr -d '\n')
	assert_contains "$j" "the sequential test found v2-err5's errors more frequent than v1's"
	assert_match "$j" '"window": *"traffic 10%"'
	assert_match "$j" '"evidence": *\{[^}]*"test": *"errors"'
	assert_match "$j" '"llr": *[0-9.]+'
	assert_match "$j" '"alpha": *0.01'
	assert_contains "$j" "traffic swapped to v1 100%"
	assert_not_contains "$j" "traffic 2/3" "caught at the first share"
	assert_eq "$(json_get "$(rg show "$id" --json)" .decision.trigger)" canary
	# the decision as a person reads it
	rg show "$id" >"$T/show.txt"
	assert_contains "$(cat "$T/show.txt")" "log-likelihood ratio"
	rg_stop
	stop_apps
}

# Both releases answer 0.2 % errors: the canary is as good as its baseline.
# The test needs error events to compare, so equal non-zero rates are what
# lets it pass (with zero errors on both sides it can only keep watching).
t_analysis_healthy_canary_is_never_rolled_back_and_passes_early() {
	PAUSE=30s cfg_analysis 'triggers:
  - { name: canary, analysis: sequential, alpha: 0.01, beta: 0.01, min_effect: 2, every: 100ms, promote_on_pass: true, severity: P1 }' ""
	sed -i "s|timeout: 60s|timeout: 5m|" "$T/rollguard.yaml"
	rg_start
	deploy_ok v1-e02 prod >/dev/null
	load_start 100
	local id j
	id=$(deploy_ok v2-e02 prod)
	load_stop
	j=$(rg show "$id" --json | tr -d '\n')
	assert_contains "$j" "analysis 'canary' passed v2-e02 against v1-e02"
	assert_contains "$j" "pause ended early (promote_on_pass)"
	assert_eq null "$(json_raw "$(rg show "$id" --json)" .decision)" "no decision against a healthy canary"
	rg_stop
	stop_apps
}

t_analysis_metric_rule_on_the_proxy_fires() {
	cfg_analysis 'triggers:
  - { name: errors, metric: error_rate, above: 2%, for: 300ms, every: 100ms, window: 5s, severity: P0 }' ""
	rg_start
	deploy_ok v1 prod >/dev/null
	load_start 20
	local id j
	# the canary step's pause sends 10 % to v2-errors (30 % 500s): the
	# error rate of the watched release is far above 2 %
	assert_exit 1 rg deploy v2-errors --env prod --wait
	id=$(latest_run prod)
	assert_run_ends "$id" rolled_back
	load_stop
	j=$(rg show "$id" --json | tr -d '\n')
	assert_contains "$j" "trigger 'errors' fired (P0): error_rate is"
	assert_match "$j" '"threshold": *"[^"]*error_rate'
	rg_stop
	stop_apps
}

t_analysis_command_rule_and_no_data() {
	rg_script signal.sh <<'SH'
#!/bin/sh
# prints the number in @DIR@/signal, or fails (no data) when it is missing
cat @DIR@/signal
SH
	MONITOR=2s cfg_analysis 'triggers:
  - { name: queue, command: "@DIR@/signal.sh", above: 100, every: 100ms, severity: P3 }
  - { name: nodata, command: "@DIR@/missing.sh", below: 0, every: 100ms, on_no_data: fire, severity: P3 }' 'actions: { P0: rollback, P1: rollback, P2: rollback-after-approval, P3: notify }'
	echo 500 >"$T/signal"
	rg_start
	local id j
	id=$(deploy_ok v1 prod)
	j=$(rg show "$id" --json | tr -d '\n')
	# P3 → notify: recorded, the run went on and succeeded
	assert_contains "$j" "trigger 'queue' fired (P3): command is 500"
	assert_contains "$j" "notifying only"
	assert_contains "$j" "trigger 'nodata' fired (P3): command is no data"
	assert_match "$j" '"decisions": *\[[^]]*"action": *"notify"'
	rg_stop
	stop_apps
}

t_analysis_rollback_after_approval_waits_for_a_person() {
	cfg_analysis "$SEQUENTIAL" 'actions: { P0: rollback, P1: rollback-after-approval, P2: notify, P3: notify, approval_timeout: 1m }'
	rg_start
	deploy_ok v1 prod >/dev/null
	load_start 30
	local id
	id=$(deploy_start v2-err5 prod)
	wait_for -t 20 run_state_is "$id" awaiting_approval || fail "run $id never waited for approval: $(run_state "$id")"
	assert_contains "$(rg show "$id" --json | tr -d '\n')" "once a person approves"
	# the share holds while it waits
	assert_not_contains "$(rg show "$id" --json | tr -d '\n')" "traffic 2/3"
	assert_exit 0 rg rollback --env prod --reason "approved in the test"
	assert_run_ends "$id" rolled_back
	load_stop
	local j
	j=$(rg show "$id" --json | tr -d '\n')
	assert_contains "$j" "approved the rollback: approved in the test"
	assert_contains "$j" "traffic swapped to v1 100%"
	rg_stop
	stop_apps
}

t_analysis_resume_refuses_the_rollback_and_goes_on() {
	PAUSE=500ms cfg_analysis "$SEQUENTIAL" 'actions: { P0: rollback, P1: rollback-after-approval, P2: notify, P3: notify, approval_timeout: 1m }'
	rg_start
	deploy_ok v1 prod >/dev/null
	load_start 30
	local id
	id=$(deploy_start v2-err5 prod)
	wait_for -t 20 run_state_is "$id" awaiting_approval || fail "run $id never waited for approval"
	rg resume "$id" >/dev/null || fail "resume refused while awaiting approval"
	# it may ask again at the next share; each time a person says go on
	local i s
	for i in $(seq 1 100); do
		s=$(run_state "$id")
		case $s in
		awaiting_approval) rg resume "$id" >/dev/null 2>&1 ;;
		succeeded | rolled_back | failed | aborted | rollback_failed) break ;;
		esac
		sleep 0.2
	done
	assert_run_ends "$id" succeeded
	load_stop
	assert_contains "$(rg show "$id" --json | tr -d '\n')" "refused the rollback and resumed the run"
	rg_stop
	stop_apps
}

t_analysis_approval_timeout_rolls_back() {
	cfg_analysis "$SEQUENTIAL" 'actions: { P0: rollback, P1: rollback-after-approval, P2: notify, P3: notify, approval_timeout: 1s }'
	rg_start
	deploy_ok v1 prod >/dev/null
	load_start 20
	local id
	id=$(deploy_start v2-err5 prod)
	assert_run_ends "$id" rolled_back 30
	load_stop
	local j
	j=$(rg show "$id" --json | tr -d '\n')
	assert_contains "$j" "no one approved or refused the rollback within 1s"
	assert_match "$j" '"decisions": *\[.*"rollback-after-approval".*"approval_timeout"'
	rg_stop
	stop_apps
}

# SIGKILL while a run waits for approval: after the restart it still waits
# (the decision and the deadline were committed), and a person's rollback
# still works.
t_analysis_sigkill_while_awaiting_approval() {
	cfg_analysis "$SEQUENTIAL" 'actions: { P0: rollback, P1: rollback-after-approval, P2: notify, P3: notify, approval_timeout: 1m }'
	rg_start
	deploy_ok v1 prod >/dev/null
	load_start 30
	local id before
	id=$(deploy_start v2-err5 prod)
	wait_for -t 20 run_state_is "$id" awaiting_approval || fail "run $id never waited for approval"
	before=$(rg show "$id" --json | grep -o '"message": *"[^"]*"' | tr '\n' '|')
	rg_kill9
	rg_start
	assert_eq awaiting_approval "$(run_state "$id")" "the wait survives a kill"
	case "$(rg show "$id" --json | grep -o '"message": *"[^"]*"' | tr '\n' '|')" in
	"$before"*) ;;
	*) fail "events before the kill are not a prefix of those after" ;;
	esac
	assert_exit 0 rg rollback --env prod --reason "after the restart"
	assert_run_ends "$id" rolled_back
	load_stop
	assert_contains "$(rg show "$id" --json | tr -d '\n')" "approved the rollback: after the restart"
	rg_stop
	stop_apps
}
