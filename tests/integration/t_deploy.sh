# t_deploy.sh — a deploy that succeeds: steps in order, what commands see
# (outputs, vars, cwd, ROLLGUARD_*), release states, retries, step filters.

t_deploy_success() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    timeout: 30s
    monitor: 500ms
    vars:
      STACK: shop-staging
      REGION: eu-west-1
  production:
    timeout: 30s
    vars:
      STACK: shop-production
deploy:
  - name: front-end
    run: ./mark front-end out job_id=job-$ROLLGUARD_VERSION out url=http://x/$ROLLGUARD_VERSION
    undo: ./mark undo.front-end
  - name: app
    run: ./mark app
  - name: prod-only
    run: ./mark prod-only
    environments: [production]
YAML
	rg_start
	local id1 id2
	id1=$(deploy_ok v1.0.0)
	assert_live staging v1.0.0
	assert_eq known_good "$(release_state staging v1.0.0)" "release v1.0.0 after its monitor window"
	assert_eq "front-end app" "$(markers | tr '\n' ' ' | sed 's/ $//')" "steps run in order, env-filtered step skipped"
	assert_eq 0 "$(marker_count undo.front-end)" "no undo on success"

	# what a command sees
	assert_eq shop "$(env_of app ROLLGUARD_SERVICE)"
	assert_eq staging "$(env_of app ROLLGUARD_ENV)"
	assert_eq v1.0.0 "$(env_of app ROLLGUARD_VERSION)"
	assert_eq "$id1" "$(env_of app ROLLGUARD_RUN_ID)"
	assert_eq app "$(env_of app ROLLGUARD_STEP)"
	assert_eq front-end "$(env_of front-end ROLLGUARD_STEP)"
	assert_eq shop-staging "$(env_of app STACK)" "vars exported"
	assert_eq eu-west-1 "$(env_of app REGION)" "vars exported"
	assert_eq job-v1.0.0 "$(env_of app ROLLGUARD_OUT_FRONT_END_JOB_ID)" "earlier step's output"
	assert_eq http://x/v1.0.0 "$(env_of app ROLLGUARD_OUT_FRONT_END_URL)" "earlier step's output"
	[ -n "$(env_of app ROLLGUARD_OUTPUT)" ] || fail "ROLLGUARD_OUTPUT not set"
	assert_eq "$T" "$(cat "$T/pwd.app")" "commands run in the config file's directory"

	# the second deploy sees the first as previous and its outputs as PREV_*
	id2=$(deploy_ok v1.1.0)
	assert_ne "$id1" "$id2"
	assert_eq v1.1.0 "$(env_of app ROLLGUARD_VERSION)"
	assert_eq v1.0.0 "$(env_of app ROLLGUARD_PREVIOUS_VERSION)"
	assert_eq job-v1.0.0 "$(env_of app ROLLGUARD_PREV_FRONT_END_JOB_ID)" "previous release's outputs"
	assert_eq job-v1.1.0 "$(env_of app ROLLGUARD_OUT_FRONT_END_JOB_ID)"
	assert_live staging v1.1.0
	assert_eq superseded "$(release_state staging v1.0.0)"
	assert_eq known_good "$(release_state staging v1.1.0)"

	# the run as `show` reports it
	local j
	j=$(run_json "$id2")
	assert_eq succeeded "$(json_get "$j" .state)"
	assert_eq deploy "$(json_get "$j" .kind)"
	assert_eq v1.1.0 "$(json_get "$j" .version)"
	assert_eq v1.0.0 "$(json_get "$j" .from_version)"
	assert_eq null "$(json_raw "$j" .decision)" "a successful run has no decision"
	assert_eq front-end "$(json_get "$j" .steps[0].name)"
	assert_eq succeeded "$(json_get "$j" .steps[0].state)"
	assert_eq app "$(json_get "$j" .steps[1].name)"
	assert_eq 1 "$(json_get "$j" .steps[1].attempts)"
	assert_eq 0 "$(json_get "$j" .steps[1].exit_code)"
	# production-only step: skipped or absent, never run
	local st
	st=$(json_get "$j" .steps[2].state 2>/dev/null || echo absent)
	assert_one_of "$st" skipped absent

	# the whole life of the run is in its events
	[ "$(json_len "$j" .events)" -ge 3 ] || fail "expected several events, got $(json_len "$j" .events)"
}

t_deploy_wait_streams_and_states() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    monitor: 1s
deploy:
  - name: slow
    run: ./mark slow sleep 1
YAML
	rg_start
	local id seen=" " s i
	id=$(deploy_start v1)
	# queued/running/monitoring are visible while it lasts
	for i in $(seq 1 60); do
		s=$(run_state "$id")
		seen="$seen$s "
		case "$TERMINAL_STATES" in *" $s "*) break ;; esac
		sleep 0.1
	done
	assert_eq succeeded "$s"
	assert_contains "$seen" " running " "run seen running"
	assert_contains "$seen" " monitoring " "run seen monitoring during the monitor window"
	# during the run the status shows it; afterwards none
	local j
	j=$(rg status --env staging --json)
	assert_eq null "$(json_raw "$j" .run)" "no run in progress"
	assert_live staging v1
}

t_deploy_retries() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging: {}
deploy:
  - name: flaky
    run: ./mark flaky failn 2
    retries: 2
    retry_backoff: 100ms
YAML
	rg_start
	local id j
	id=$(deploy_ok v1)
	assert_eq 3 "$(marker_count flaky)" "two failures then success"
	j=$(run_json "$id")
	assert_eq 3 "$(json_get "$j" .steps[0].attempts)"
	assert_eq succeeded "$(json_get "$j" .steps[0].state)"
}

t_deploy_retries_exhausted() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging: {}
deploy:
  - name: a
    run: ./mark a
    undo: ./mark undo.a
  - name: broken
    run: ./mark broken failif v2
    retries: 1
    retry_backoff: 100ms
YAML
	rg_start
	deploy_ok v1 >/dev/null
	local id j
	assert_exit 1 rg deploy v2 --env staging --wait
	id=$(latest_run)
	assert_run_ends "$id" rolled_back
	assert_eq 3 "$(marker_count broken)" "v1 once, v2 twice (retries: 1)"
	j=$(run_json "$id")
	assert_eq 2 "$(json_get "$j" .steps[1].attempts)"
	assert_eq failed "$(json_get "$j" .steps[1].state)"
	assert_eq 1 "$(json_get "$j" .steps[1].exit_code)"
	assert_live staging v1
}

t_deploy_logs() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging: {}
deploy:
  - name: talk
    run: ./mark talk say hello-from-talk
YAML
	rg_start
	local id
	id=$(deploy_ok v1)
	assert_exit 0 rg logs "$id" talk
	assert_contains "$(cat "$T/out")" hello-from-talk "rollguard logs RUN STEP"
	http GET "/api/v1/runs/$id/steps/talk/log"
	assert_eq 200 "$HTTP_CODE"
	assert_contains "$(cat "$T/resp")" hello-from-talk
	assert_exit 4 rg logs "$id" nosuchstep
}

t_deploy_concurrent_refused() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging: {}
  production: {}
deploy:
  - name: slow
    run: ./mark slow sleep 2
YAML
	rg_start
	local id
	id=$(deploy_start v1)
	wait_for grep -qx slow "$T/markers" || fail "first deploy never started"
	assert_exit 4 rg deploy v2 --env staging
	assert_contains "$(cat "$T/err" "$T/out")" "$id" "the refusal names the run in the way"
	http POST /api/v1/deploys '{"env":"staging","version":"v3"}'
	assert_eq 409 "$HTTP_CODE" "API refuses a second run in the same env"
	# another environment is not in the way
	assert_exit 0 rg deploy v9 --env production
	assert_run_ends "$id" succeeded
	assert_run_ends "$(latest_run production)" succeeded
	assert_eq 2 "$(marker_count slow)" "v1 and production's v9 only"
	assert_live staging v1
}

t_deploy_run_id_in_status() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging: {}
deploy:
  - name: slow
    run: ./mark slow sleep 2
YAML
	rg_start
	local id j
	j=$(rg status --env staging --json)
	assert_eq staging "$(json_get "$j" .env)"
	assert_eq null "$(json_raw "$j" .live)" "nothing deployed yet"
	assert_eq null "$(json_raw "$j" .run)"
	id=$(deploy_start v1)
	wait_for grep -qx slow "$T/markers" || fail "deploy never started"
	j=$(rg status --env staging --json)
	assert_eq "$id" "$(json_get "$j" .run.id)"
	assert_eq deploy "$(json_get "$j" .run.kind)"
	assert_eq v1 "$(json_get "$j" .run.version)"
	assert_eq running "$(json_get "$j" .run.state)"
	assert_eq slow "$(json_get "$j" .run.step)"
	assert_run_ends "$id" succeeded
}
