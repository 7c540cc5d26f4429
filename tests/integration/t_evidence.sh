# t_evidence.sh — evidence before promotion: with an analysis trigger, a
# traffic share's pause (and the monitor window) ends only once the canary
# has served min_requests in it or the sequential test has passed;
# otherwise it extends up to max_pause, then does on_insufficient_data.

# cfg_evidence TRAFFIC_EXTRA ENV_EXTRA — like the README tour's pipeline:
# a proxy environment, app + canary steps, the sequential test.
cfg_evidence() {
	rg_release_app
	rg_config <<YAML
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  prod:
    timeout: 60s
    monitor: 300ms
    post_rollback_monitor: 200ms
    proxy: { listen: 127.0.0.1:@PORT2@, threads: 2 }
    $2
deploy:
  - name: app
    run: @DIR@/app.sh start
    undo: @DIR@/app.sh stop
  - name: canary
    traffic: { backend: app.backend, steps: [10, 50, 100], pause: 300ms, drain: 200ms, retire: @DIR@/app.sh retire, $1 }
triggers:
  - { name: canary, analysis: sequential, alpha: 0.01, beta: 0.01, min_effect: 2, every: 100ms, severity: P1 }
YAML
}

# Without any load (a newcomer following the tour without wrk), the canary
# is held at its first share instead of walking to 100 % unwatched.
t_evidence_no_requests_holds_the_canary_for_a_person() {
	cfg_evidence "min_requests: 50, max_pause: 1s" ""
	rg_start
	deploy_ok v1 prod >/dev/null   # a first release has no one to measure: not held
	local id j
	id=$(deploy_start v2 prod)
	wait_for -t 20 run_state_is "$id" awaiting_approval || fail "run $id was not held: $(run_state "$id")"
	j=$(rg show "$id" --json | tr -d '\n')
	assert_contains "$j" "v2 served 0 of the 50 requests needed to judge it; watching up to"
	assert_contains "$j" "v2 served only 0 of the 50 requests needed in traffic 10%; holding for a person"
	assert_not_contains "$j" "traffic 2/3" "held at the first share"
	assert_eq "$(json_get "$(rg show "$id" --json)" .decision.trigger)" insufficient_data
	assert_eq "$(json_get "$(rg show "$id" --json)" .decision.action)" hold
	assert_match "$j" '"observed": *"v2 served 0 requests in 1s of traffic 10%"'
	assert_match "$(rg status --env prod --json | tr -d '\n')" '"state": *"awaiting_approval"'
	# a person rolls it back
	rg rollback --env prod --reason "no traffic to judge it" >/dev/null || fail "rollback (approve) refused"
	assert_run_ends "$id" rolled_back
	assert_live prod v1
	rg_stop
	stop_apps
}

t_evidence_on_insufficient_data_rollback() {
	cfg_evidence "min_requests: 50, max_pause: 600ms, on_insufficient_data: rollback" ""
	rg_start
	deploy_ok v1 prod >/dev/null
	local id
	id=$(deploy_start v2 prod)
	assert_run_ends "$id" rolled_back
	assert_eq "$(json_get "$(rg show "$id" --json)" .decision.action)" rollback
	assert_contains "$(rg show "$id" --json)" "on_insufficient_data: rollback"
	assert_live prod v1
	rg_stop
	stop_apps
}

# promote, said on purpose: every share and the monitor window go on
# without evidence, each time recorded as a decision.
t_evidence_on_insufficient_data_promote_goes_on_and_says_so() {
	cfg_evidence "min_requests: 50, max_pause: 400ms, on_insufficient_data: promote" \
		$'min_requests: 50\n    max_monitor: 400ms\n    on_insufficient_data: promote'
	rg lint -c "$T/rollguard.yaml" >/dev/null || { rg lint -c "$T/rollguard.yaml"; fail "config does not lint"; }
	rg_start
	deploy_ok v1 prod >/dev/null
	local id j n
	id=$(deploy_ok v2 prod)
	j=$(rg show "$id" --json)
	n=$(json_len "$j" .decisions)
	# two shares below 100 % and the monitor window: three decisions
	assert_eq "$n" 3 "one recorded decision per wait without evidence"
	assert_eq "$(json_get "$j" '.decisions[2].trigger')" insufficient_data
	assert_eq "$(json_get "$j" '.decisions[2].window')" monitor
	assert_contains "$j" "going on without it (on_insufficient_data: promote)"
	assert_live prod v2
	rg_stop
	stop_apps
}

# The requests come during the extension: the pause ends as soon as the
# canary has served min_requests, without waiting for max_pause.
t_evidence_requests_arriving_during_the_extension_end_the_pause() {
	cfg_evidence "min_requests: 100, max_pause: 30s" ""
	rg_start
	deploy_ok v1 prod >/dev/null
	local id j
	id=$(deploy_start v2 prod)
	wait_for -t 20 run_has_event "$id" "watching up to" || fail "the pause was not extended"
	load_start 20
	wait_for -t 20 run_has_event "$id" "traffic 2/3" || fail "the canary did not move on once requests came"
	assert_run_ends "$id" succeeded 40
	load_stop
	j=$(rg show "$id" --json)
	assert_not_contains "$j" "insufficient_data" "no decision: the evidence came"
	assert_live prod v2
	rg_stop
	stop_apps
}
