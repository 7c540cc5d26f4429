# t_timeouts.sh — a step that outlives its timeout, a run that outlives the
# environment's timeout, and abort: each ends the run, rolls back, and
# leaves no process behind.

t_timeout_step() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    post_rollback_monitor: 200ms
deploy:
  - name: a
    run: @DIR@/mark a
    undo: @DIR@/mark undo.a
  - name: slow
    run: @DIR@/mark slow sleepif v2 30
    timeout: 1s
YAML
	rg_start
	deploy_ok v1 >/dev/null
	local id j started
	started=$(date +%s)
	id=$(deploy_start v2)
	assert_run_ends "$id" rolled_back 20
	[ $(($(date +%s) - started)) -lt 15 ] || fail "the 1s step timeout took $(($(date +%s) - started))s to act"
	assert_eq 2 "$(marker_count slow)"
	assert_eq 1 "$(end_count slow)" "the timed-out command never finished"
	assert_eq 1 "$(marker_count undo.a)"
	assert_eq "" "$(procs_matching sleep 30)" "the timed-out step's processes are gone"
	j=$(run_json "$id")
	assert_match "$(json_get "$j" .decision.trigger) $(json_get "$j" .decision.reason)" '[Tt]ime' \
		"the decision says it was a timeout"
	assert_live staging v1
}

t_timeout_run() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    timeout: 3s
    post_rollback_monitor: 200ms
deploy:
  - name: a
    run: @DIR@/mark a sleepif v2 2
    undo: @DIR@/mark undo.a
  - name: b
    run: @DIR@/mark b sleepif v2 2
    undo: @DIR@/mark undo.b
  - name: c
    run: @DIR@/mark c sleepif v2 2
    undo: @DIR@/mark undo.c
YAML
	rg_start
	deploy_ok v1 >/dev/null
	local id j
	id=$(deploy_start v2)
	assert_run_ends "$id" rolled_back 20
	assert_eq 1 "$(marker_count c)" "c (after the timeout) never started for v2"
	assert_eq 1 "$(end_count b)" "b was interrupted by the run timeout"
	assert_eq 1 "$(marker_count undo.a)" "the completed step is undone"
	assert_eq "" "$(procs_matching sleep 2)" "the interrupted step's processes are gone"
	j=$(run_json "$id")
	assert_match "$(json_get "$j" .decision.trigger) $(json_get "$j" .decision.reason)" '[Tt]ime' \
		"the decision says it was the run timeout"
	assert_live staging v1
}

t_abort_running_deploy() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    post_rollback_monitor: 200ms
deploy:
  - name: a
    run: @DIR@/mark a
    undo: @DIR@/mark undo.a
  - name: slow
    run: @DIR@/mark slow sleepif v2 30
YAML
	rg_start
	deploy_ok v1 >/dev/null
	local id s
	id=$(deploy_start v2)
	wait_for marker_count_is slow 2 || fail "slow never started for v2"
	assert_exit 0 rg abort "$id"
	s=$(wait_run "$id" 20)
	assert_one_of "$s" aborted rolled_back
	assert_eq "" "$(procs_matching sleep 30)" "abort ends the running step"
	assert_eq failed "$(json_get "$(run_json "$id")" '.steps[1].state')" "the interrupted step is recorded failed"
	assert_live staging v1
	assert_exit 4 rg abort "$id"
	assert_exit 4 rg abort 999999
}

# A checks step whose check times out is a timeout, and says which check;
# every decision is published (rollguard_decisions_total on /metrics).
t_timeout_check_in_a_checks_step_names_the_check() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    post_rollback_monitor: 200ms
deploy:
  - name: a
    run: @DIR@/mark a
    undo: @DIR@/mark undo.a
  - name: smoke
    checks: [quick, slow]
checks:
  quick: { run: "@DIR@/mark quick", timeout: 5s }
  slow: { run: "@DIR@/mark slowcheck sleepif v2 30", timeout: 500ms }
YAML
	rg_start
	deploy_ok v1 >/dev/null
	local id j
	id=$(deploy_start v2)
	assert_run_ends "$id" rolled_back 20
	j=$(run_json "$id")
	assert_eq "$(json_get "$j" .decision.trigger)" "step_timeout:smoke"
	assert_contains "$(json_get "$j" .decision.observed)" "check slow timed out: timed out after 500ms"
	assert_contains "$(rg logs "$id" smoke)" "slow: TIMED OUT"
	acurl -s "$RG_URL/metrics" >"$T/metrics"
	assert_contains "$(cat "$T/metrics")" 'rollguard_decisions_total{env="staging",action="rollback"} 1'
	assert_live staging v1
}
