# t_clock.sh — waits are measured on the monotonic clock while serve runs:
# a step of the wall clock (the test build's ROLLGUARD_TEST_CLOCK_SKEW,
# milliseconds added to the wall clock, read at every call) neither ends a
# monitor window or a run timeout early nor stretches them.

cfg_clock() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    timeout: 4s
    monitor: 3s
deploy:
  - name: a
    run: @DIR@/mark a sleepif slow 2
YAML
	echo 0 >"$T/skew"
}

# now_ms — this machine's wall clock, unskewed.
now_ms() {
	date +%s%3N
}

t_clock_step_forward_does_not_end_the_monitor_window_or_the_run_timeout() {
	cfg_clock
	ROLLGUARD_TEST_CLOCK_SKEW="$T/skew" rg_start
	local id t0 t1
	id=$(deploy_start slow)
	wait_for -t 5 marker_count_is a 1 || fail "step a did not start"
	echo 3600000 >"$T/skew"   # one hour later, while the step runs (timeout 4s)
	wait_for -t 10 run_state_is "$id" monitoring || fail "run $id: $(run_state "$id"), expected monitoring"
	t0=$(now_ms)
	echo 7200000 >"$T/skew"   # and another hour during the 3s window
	sleep 1
	assert_eq "$(run_state "$id")" monitoring "the window did not end when the clock jumped"
	assert_run_ends "$id" succeeded 10
	t1=$(now_ms)
	[ $((t1 - t0)) -ge 1800 ] || fail "the monitor window ended $((t1 - t0)) ms after it began"
	rg_stop
}

t_clock_step_back_does_not_stretch_the_monitor_window() {
	cfg_clock
	ROLLGUARD_TEST_CLOCK_SKEW="$T/skew" rg_start
	local id
	id=$(deploy_start v1)
	wait_for -t 10 run_state_is "$id" monitoring || fail "run $id never reached monitoring"
	echo -3600000 >"$T/skew"  # one hour back
	assert_run_ends "$id" succeeded 8
	rg_stop
}

# A pause extended for evidence is judged every 250 ms against its end: a
# step forward of the wall clock must not end the extension.
t_clock_step_forward_does_not_end_an_extended_pause() {
	cfg_evidence "min_requests: 50, max_pause: 4s" ""
	echo 0 >"$T/skew"
	ROLLGUARD_TEST_CLOCK_SKEW="$T/skew" rg_start
	deploy_ok v1 prod >/dev/null
	local id t0 t1
	id=$(deploy_start v2 prod)
	wait_for -t 20 run_has_event "$id" "watching up to" || fail "the pause was not extended"
	t0=$(now_ms)
	echo 3600000 >"$T/skew"
	sleep 1.5
	assert_eq "$(run_state "$id")" running "the extended pause went on after the clock jumped"
	wait_for -t 10 run_state_is "$id" awaiting_approval || fail "run $id was not held at the end of max_pause"
	t1=$(now_ms)
	[ $((t1 - t0)) -ge 2500 ] || fail "the extension ended $((t1 - t0)) ms after it began (max_pause 4s)"
	rg abort "$id" >/dev/null
	rg_stop
	stop_apps
}
