# t_rollback_auto.sh — automatic rollback: a failing step, a failing smoke
# check, a trigger in the monitor window; undo order and what undo sees; the
# rollback: pipeline; on_failure: halt; an undo that fails.

# Three steps with undo; c fails for v2.
cfg_three_steps() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    timeout: 30s
    monitor: 300ms
    post_rollback_monitor: 300ms
    vars:
      STACK: shop-staging
deploy:
  - name: a
    run: @DIR@/mark a out job=job-a-$ROLLGUARD_VERSION
    undo: @DIR@/mark undo.a
  - name: b
    run: @DIR@/mark b out job=job-b-$ROLLGUARD_VERSION
    undo: @DIR@/mark undo.b
  - name: c
    run: @DIR@/mark c failif v2
    undo: @DIR@/mark undo.c
YAML
}

t_rollback_failing_step_undoes_newest_first() {
	cfg_three_steps
	rg_start
	deploy_ok v1 >/dev/null
	local id j
	assert_exit 1 rg deploy v2 --env staging --wait
	id=$(latest_run)
	assert_run_ends "$id" rolled_back
	assert_eq "a b c a b c undo.b undo.a" "$(markers | tr '\n' ' ' | sed 's/ $//')" \
		"undo of the completed steps, newest first; the failed step is not undone"

	# undo sees the failed release, the last known good, and its outputs
	assert_eq v2 "$(env_of undo.b ROLLGUARD_VERSION)"
	assert_eq v1 "$(env_of undo.b ROLLGUARD_PREVIOUS_VERSION)"
	assert_eq job-b-v1 "$(env_of undo.b ROLLGUARD_PREV_B_JOB)"
	assert_eq job-a-v1 "$(env_of undo.a ROLLGUARD_PREV_A_JOB)"
	assert_eq v2 "$(env_of undo.a ROLLGUARD_VERSION)"
	assert_eq v1 "$(env_of undo.a ROLLGUARD_PREVIOUS_VERSION)"
	assert_eq shop-staging "$(env_of undo.a STACK)"
	assert_eq "$id" "$(env_of undo.a ROLLGUARD_RUN_ID)"

	assert_live staging v1
	assert_eq rolled_back "$(release_state staging v2)"

	j=$(run_json "$id")
	assert_eq failed "$(json_get "$j" .steps[2].state)"
	assert_eq 1 "$(json_get "$j" .steps[2].exit_code)"
	json_has "$j" .decision.trigger || fail "a rolled-back run records its decision: $j"
	assert_eq rollback "$(json_get "$j" .decision.action)"
	assert_eq P1 "$(json_get "$j" .decision.severity)" "default step severity"
	assert_contains "$(json_get "$j" .decision.trigger) $(json_get "$j" .decision.reason)" c \
		"the decision names the failed step"

	# history: the rolled-back deploy, newest first
	j=$(rg history --env staging --json)
	assert_eq 2 "$(json_len "$j" .)"
	assert_eq "$id" "$(json_get "$j" .[0].id)"
	assert_eq rolled_back "$(json_get "$j" .[0].state)"
	assert_eq succeeded "$(json_get "$j" .[1].state)"

	# a later deploy builds on the restored release
	deploy_ok v3 >/dev/null
	assert_eq v1 "$(env_of c ROLLGUARD_PREVIOUS_VERSION)"
	assert_eq job-a-v1 "$(env_of c ROLLGUARD_PREV_A_JOB)"
}

t_rollback_pipeline_replaces_undo() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    post_rollback_monitor: 300ms
deploy:
  - name: a
    run: @DIR@/mark a out job=job-a-$ROLLGUARD_VERSION
    undo: @DIR@/mark undo.a
  - name: b
    run: @DIR@/mark b failif v2
    undo: @DIR@/mark undo.b
rollback:
  - name: restore-infra
    run: @DIR@/mark rb.infra
  - name: restore-app
    run: @DIR@/mark rb.app
YAML
	rg_start
	deploy_ok v1 >/dev/null
	local id
	assert_exit 1 rg deploy v2 --env staging --wait
	id=$(latest_run)
	assert_run_ends "$id" rolled_back
	assert_eq "rb.infra rb.app" "$(markers '^(rb|undo)\.' | tr '\n' ' ' | sed 's/ $//')" \
		"the rollback pipeline runs in order instead of the undo commands"
	assert_eq v2 "$(env_of rb.app ROLLGUARD_VERSION)"
	assert_eq v1 "$(env_of rb.app ROLLGUARD_PREVIOUS_VERSION)"
	assert_eq job-a-v1 "$(env_of rb.infra ROLLGUARD_PREV_A_JOB)"
	assert_live staging v1
}

t_rollback_on_failure_halt() {
	rg_config <<'YAML'
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
  - name: migrate
    run: @DIR@/mark migrate failif v2
    undo: @DIR@/mark undo.migrate
    on_failure: halt
  - name: c
    run: @DIR@/mark c
YAML
	rg_start
	deploy_ok v1 >/dev/null
	local id j
	assert_exit 1 rg deploy v2 --env staging --wait
	id=$(latest_run)
	assert_run_ends "$id" failed
	assert_eq 0 "$(markers '^undo\.' | wc -l)" "halt: nothing is undone"
	assert_eq 1 "$(marker_count c)" "halt: later steps do not run"
	j=$(run_json "$id")
	assert_match "$(json_get "$j" .error) $(json_flat <<<"$j" | grep -E '^\.events\[' | cut -f2 | tr '\n' ' ')" \
		'[Hh]alt' "the run says it halted"
	assert_eq failed "$(release_state staging v2)" "a halted deploy's release is failed"
	assert_live staging v1
}

t_rollback_undo_failure() {
	rg_config <<'YAML'
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
    undo: @DIR@/mark undo.stuck-stack failif v2
  - name: c
    run: @DIR@/mark c failif v2
YAML
	rg_start
	deploy_ok v1 >/dev/null
	local id j
	assert_exit 1 rg deploy v2 --env staging --wait
	id=$(latest_run)
	assert_run_ends "$id" rollback_failed
	assert_eq 1 "$(marker_count undo.stuck-stack)"
	j=$(run_json "$id")
	assert_contains "$(json_get "$j" .error)" stuck-stack "the run's error names the step that could not be undone"
	assert_contains "$(rg show "$id" 2>&1)" stuck-stack "show names it too"
}

t_rollback_smoke_check_fails() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    post_rollback_monitor: 300ms
checks:
  health:
    run: @DIR@/health
    timeout: 2s
  api:
    http: http://127.0.0.1:@PORT@/health
    expect_status: 200
    timeout: 2s
deploy:
  - name: app
    run: @DIR@/mark app sickif v2
    undo: @DIR@/mark undo.app heal
  - name: smoke
    checks: [api, health]
    severity: P0
YAML
	rg_start
	deploy_ok v1 >/dev/null
	local id j
	assert_exit 1 rg deploy v2 --env staging --wait
	id=$(latest_run)
	assert_run_ends "$id" rolled_back
	assert_eq 1 "$(marker_count undo.app)"
	assert_no_file "$T/unhealthy" "undo healed the app"
	j=$(run_json "$id")
	assert_eq P0 "$(json_get "$j" .decision.severity)"
	assert_eq rollback "$(json_get "$j" .decision.action)"
	assert_live staging v1
}

t_rollback_monitor_trigger() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    monitor: 1500ms
    post_rollback_monitor: 500ms
checks:
  health:
    run: @DIR@/health
    timeout: 1s
triggers:
  - name: health-down
    check: health
    every: 100ms
    failures: 2
    severity: P0
deploy:
  - name: app
    run: @DIR@/mark app sickif v2
    undo: @DIR@/mark undo.app heal
YAML
	rg_start
	deploy_ok v1 >/dev/null
	assert_eq known_good "$(release_state staging v1)"
	local id j
	id=$(deploy_start v2)
	wait_for -t 10 test -e "$T/unhealthy" || fail "v2 never made the app sick"
	assert_run_ends "$id" rolled_back 20
	assert_eq 1 "$(marker_count undo.app)"
	j=$(run_json "$id")
	assert_eq health-down "$(json_get "$j" .decision.trigger)"
	assert_eq P0 "$(json_get "$j" .decision.severity)"
	assert_eq rollback "$(json_get "$j" .decision.action)"
	[ -n "$(json_get "$j" .decision.observed)" ] || fail "decision has no observed figure: $j"
	[ -n "$(json_get "$j" .decision.reason)" ] || fail "decision has no reason: $j"
	assert_live staging v1
	assert_eq rolled_back "$(release_state staging v2)"
	http GET /metrics
	assert_match "$(cat "$T/resp")" '^rollguard_rollbacks_total(\{[^}]*\})? [1-9]' \
		"the automatic rollback is counted"
}

# The real thing: steps start the demo app (a child HTTP service), an HTTP
# health check watches it, a release that fails health is rolled back and
# the previous version serves again.
t_rollback_demo_app_http_trigger() {
	[ -x "${DEMO_APP:-}" ] || fail "demo-app is not built (make build/demo-app)"
	rg_script app.sh <<'SH'
#!/bin/sh
# app.sh VERSION — (re)starts the demo app on @PORT2@; *-bad versions fail health.
d=@DIR@
echo "$$" >>"$d/pids"
echo "app.sh $1" >>"$d/markers"
if [ -f "$d/app.pid" ]; then
	kill "$(cat "$d/app.pid")" 2>/dev/null
	i=0
	while [ -f "$d/app.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
fi
flags=
case "$1" in *-bad) flags=--fail-health ;; esac
setsid @DEMO@ --listen 127.0.0.1:@PORT2@ --version "$1" $flags --pidfile "$d/app.pid" \
	</dev/null >>"$d/app.log" 2>&1 &
i=0
while [ ! -f "$d/app.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -f "$d/app.pid" ] || { echo "demo app did not start" >&2; exit 1; }
echo "backend=127.0.0.1:@PORT2@" >>"$ROLLGUARD_OUTPUT"
SH
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    monitor: 2s
    post_rollback_monitor: 1s
checks:
  health:
    http: http://127.0.0.1:@PORT2@/health
    expect_status: 200
    timeout: 1s
triggers:
  - name: health
    check: health
    every: 200ms
    failures: 2
    severity: P0
deploy:
  - name: app
    run: ./app.sh "$ROLLGUARD_VERSION"
    undo: ./app.sh "$ROLLGUARD_PREVIOUS_VERSION"
YAML
	rg_start
	deploy_ok v1 >/dev/null
	assert_contains "$(curl -s "http://127.0.0.1:$RG_PORT2/")" '"version":"v1"'
	local id j
	id=$(deploy_start v2-bad)
	assert_run_ends "$id" rolled_back 30
	assert_eq "app.sh v1 app.sh v2-bad app.sh v1" "$(markers | tr '\n' ' ' | sed 's/ $//')"
	assert_contains "$(curl -s "http://127.0.0.1:$RG_PORT2/")" '"version":"v1"' "v1 serves again"
	assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RG_PORT2/health")"
	j=$(run_json "$id")
	assert_eq health "$(json_get "$j" .decision.trigger)" "the HTTP health trigger fired"
	assert_eq P0 "$(json_get "$j" .decision.severity)"
	assert_live staging v1
	kill "$(cat "$T/app.pid")" 2>/dev/null
	true
}
