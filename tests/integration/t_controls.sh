# t_controls.sh — a person steering a run: pause holds before the next step,
# resume continues, promote ends the monitor window early, abort stops the
# running step with SIGTERM and its kill_grace; each is refused (exit 4)
# where it has no meaning.

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

# A step that traps SIGTERM: abort commits the run aborted at once, the
# step's group gets SIGTERM (the trap writes a file), and SIGKILL only when
# the step's kill_grace (which wins over the environment's) is over.
t_abort_terms_the_step_then_kills_after_its_grace() {
	cfg_stubborn 1m 2s
	rg_start
	local id pid t0 t1
	id=$(deploy_start v1)
	wait_for test -s "$T/stubborn.pid" || fail "the step never started"
	pid=$(cat "$T/stubborn.pid")
	t0=$(date +%s%N)
	assert_exit 0 rg abort "$id"
	assert_eq aborted "$(run_state "$id")" "the abort is committed before the child is gone"
	wait_for -t 5 test -s "$T/stubborn.term" || fail "the step never saw SIGTERM"
	kill -0 "$pid" 2>/dev/null || fail "the step was killed before its grace"
	wait_for -t 10 eval "! kill -0 $pid 2>/dev/null" || fail "the step survived its grace"
	t1=$(date +%s%N)
	[ $(((t1 - t0) / 1000000)) -ge 1800 ] || fail "killed $(((t1 - t0) / 1000000)) ms after the abort, before the 2s grace"
	[ $(((t1 - t0) / 1000000)) -lt 8000 ] || fail "the environment's 1m grace was used, not the step's 2s"
	assert_eq 1 "$(grep -c term "$T/stubborn.term")" "one SIGTERM"
	assert_eq aborted "$(run_state "$id")" "the child's end changed nothing"
	run_json "$id" >"$T/run.json"
	assert_eq '"aborted"' "$(json_flat "$T/run.json" |
		awk -F'\t' '$1 ~ /^\.events\[[0-9]+\]\.type$/ { t = $2 } END { print t }')" \
		"no event after the abort"
}
