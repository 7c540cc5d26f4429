# t_controls.sh — a person steering a run: pause holds before the next step,
# resume continues, promote ends the monitor window early; each is refused
# (exit 4) where it has no meaning.

cfg_controls() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    monitor: 1m
deploy:
  - name: a
    run: @DIR@/mark a sleep 2
  - name: b
    run: @DIR@/mark b
YAML
}

t_pause_holds_before_the_next_step() {
	cfg_controls
	rg_start
	local id
	id=$(deploy_start v1)
	wait_for marker_count_is a 1 || fail "step a never started"
	assert_exit 0 rg pause "$id"
	assert_exit 4 rg pause "$id"
	wait_for run_state_is "$id" paused || fail "run did not hold after step a"
	assert_eq 0 "$(marker_count b)" "step b must not start while paused"
	sleep 1
	assert_eq 0 "$(marker_count b)" "still held a second later"
	assert_exit 4 rg promote "$id"
	assert_exit 0 rg resume "$id"
	assert_exit 4 rg resume "$id"
	wait_for run_state_is "$id" monitoring || fail "run did not continue after resume"
	assert_eq 1 "$(marker_count b)" "step b ran once after resume"
	assert_contains "$(run_json "$id" >"$T/run.json" && events_of "$T/run.json")" paused "the timeline shows the hold"
	assert_exit 0 rg abort "$id"
}

t_promote_ends_the_monitor_window() {
	cfg_controls
	rg_start
	local id
	id=$(deploy_start v1)
	wait_for -t 20 run_state_is "$id" monitoring || fail "run never reached its monitor window"
	assert_exit 0 rg promote "$id"
	assert_run_ends "$id" succeeded
	assert_live staging v1
	assert_contains "$(run_json "$id" >"$T/run.json" && events_of "$T/run.json")" "promoted by" "the timeline names who promoted"
	assert_exit 4 rg promote "$id"
	assert_exit 4 rg pause "$id"
}
