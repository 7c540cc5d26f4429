# t_traffic.sh — the traffic step through the built-in proxy with real
# demo-app releases: the split moving 10 → 50 → 100, promotion, drain and
# retire, the rollback swap before any undo, pause/resume/promote, a SIGKILL
# mid-rollout, and no request dropped under real load (wrk).

proxy_get() {
	curl -s -m 2 "http://127.0.0.1:$RG_PORT2${1:-/}"
}

# The version the proxy's stable side answers with.
proxy_version() {
	proxy_get / | sed -n 's/.*"version":"\([^"]*\)".*/\1/p'
}

events_text() {
	rg show "$1" --json | tr -d '\n'
}

t_traffic_canary_shifts_10_50_100_then_retires_the_old_release() {
	cfg_traffic
	rg_start
	deploy_ok v1 prod >/dev/null
	assert_eq v1 "$(proxy_version)" "the first release takes all traffic at once"
	local id j
	id=$(deploy_ok v2 prod)
	j=$(events_text "$id")
	assert_contains "$j" "traffic 1/3: v2 10% · v1 90%"
	assert_contains "$j" "traffic 2/3: v2 50% · v1 50%"
	assert_contains "$j" "v2 takes all traffic; v1 stands by for 400ms"
	assert_contains "$j" "previous release retired"
	assert_eq v2 "$(proxy_version)"
	assert_contains "$(markers | tr '\n' ' ')" "app.sh retire v1" "the old release is retired after the drain"
	assert_file_exists "$T/metrics-v1"
	j=$(acurl -fsS "$RG_URL/api/v1/traffic?env=prod")
	assert_contains "$j" '"version":"v2"'
	assert_not_contains "$j" '"version":"v1"' "a retired release leaves the router"
	assert_match "$j" '"requests": *[1-9]'
	# Prometheus: per-release counters and latency histogram
	j=$(acurl -fsS "$RG_URL/metrics")
	assert_match "$j" 'rollguard_proxy_requests_total\{env="prod",release="v2"\} [1-9]'
	assert_match "$j" 'rollguard_proxy_request_duration_seconds_bucket\{env="prod",release="v2",le="\+Inf"\} [1-9]'
	assert_contains "$j" 'rollguard_proxy_canary_weight{env="prod"} 0'
	# the order of events: shares before promotion before retire before the smoke step
	local order
	order=$(rg show "$id" --json | grep -o 'traffic [0-9]/3\|takes all traffic\|retired by\|step .smoke. succeeded' | tr '\n' '|')
	assert_eq "traffic 1/3|traffic 2/3|takes all traffic|retired by|step 'smoke' succeeded|" "$order"
	rg_stop
	stop_apps
}

t_traffic_rollback_swaps_traffic_before_any_undo() {
	cfg_traffic
	rg_start
	deploy_ok v1 prod >/dev/null
	local id j swap undo
	assert_exit 1 rg deploy v2-sick --env prod --wait
	id=$(latest_run prod)
	assert_run_ends "$id" rolled_back
	j=$(events_text "$id")
	assert_contains "$j" "traffic 1/3: v2-sick 10% · v1 90%"
	assert_contains "$j" "canary-health"
	assert_match "$j" 'traffic swapped to v1 100% [0-9]+ us after the decision'
	swap=$(rg show "$id" --json | grep -n 'traffic_swapped' | head -n 1 | cut -d: -f1)
	undo=$(rg show "$id" --json | grep -n '"undo_started"' | head -n 1 | cut -d: -f1)
	[ -n "$swap" ] && [ -n "$undo" ] && [ "$swap" -lt "$undo" ] || fail "the swap must come before the first undo: $j"
	assert_eq v1 "$(proxy_version)"
	assert_not_contains "$j" "traffic 2/3" "a failing canary never gets more traffic"
	assert_contains "$(markers | tr '\n' ' ')" "app.sh stop v2-sick"
	# forcing the canary side now lands on the stable side: there is no canary
	assert_contains "$(curl -s -m 2 -H 'X-Rollguard-Release: canary' "http://127.0.0.1:$RG_PORT2/")" '"version":"v1"'
	rg_stop
	stop_apps
}

t_traffic_pause_holds_the_share_and_promote_skips_the_pauses() {
	PAUSE=2s cfg_traffic
	rg_start
	deploy_ok v1 prod >/dev/null
	local id j
	id=$(deploy_start v2 prod)
	wait_for -t 10 run_has_event "$id" "traffic 1/3" ||
		fail "the canary never reached 10%"
	rg pause "$id" >/dev/null || fail "pause refused"
	wait_for -t 10 run_state_is "$id" paused || fail "the run did not hold at its share"
	j=$(events_text "$id")
	assert_contains "$j" "paused at v2 10% · v1 90%"
	assert_not_contains "$j" "traffic 2/3" "a held share does not move"
	rg promote "$id" >/dev/null || fail "promote refused during a traffic pause"
	assert_run_ends "$id" succeeded 20
	j=$(events_text "$id")
	assert_contains "$j" "remaining traffic pauses skipped"
	assert_not_contains "$j" "traffic 2/3" "promote goes straight to 100%"
	assert_eq v2 "$(proxy_version)"
	rg_stop
	stop_apps
}

t_traffic_sigkill_mid_rollout_resumes_at_the_same_share() {
	PAUSE=1500ms cfg_traffic
	rg_start
	deploy_ok v1 prod >/dev/null
	local id before after
	id=$(deploy_start v2 prod)
	wait_for -t 10 run_has_event "$id" "traffic 2/3" ||
		fail "the canary never reached 50%"
	before=$(rg show "$id" --json | grep -o '"message": *"[^"]*"' | tr '\n' '|')
	rg_kill9
	# the proxy process serves on while serve is down; after the restart the
	# stored route is applied again and the step goes on from 50 %
	rg_start
	assert_run_ends "$id" succeeded 30
	after=$(rg show "$id" --json | grep -o '"message": *"[^"]*"' | tr '\n' '|')
	case "$after" in "$before"*) ;; *) fail "events before the kill are not a prefix of those after" ;; esac
	assert_eq 1 "$(rg show "$id" --json | grep -c 'traffic 1/3')" "the 10% share is not applied twice"
	assert_eq 1 "$(marker_count 'app.sh start v2')" "the app step is not run twice"
	assert_eq v2 "$(proxy_version)"
	rg_stop
	stop_apps
}

t_traffic_no_request_dropped_while_shifting_and_rolling_back() {
	command -v wrk >/dev/null || fail "wrk is not installed (scripts/install-deps.sh installs it)"
	PAUSE=700ms cfg_traffic
	rg_start
	deploy_ok v1 prod >/dev/null
	wrk -t1 -c8 -d9s "http://127.0.0.1:$RG_PORT2/" >"$T/wrk.out" 2>&1 &
	local wrk_pid=$! id non2xx total
	echo "$wrk_pid" >>"$T/pids"
	sleep 0.5
	deploy_ok v2 prod >/dev/null
	assert_exit 1 rg deploy v3-errors --env prod --wait
	id=$(latest_run prod)
	assert_run_ends "$id" rolled_back
	assert_contains "$(events_text "$id")" "traffic swapped"
	wait "$wrk_pid"
	cat "$T/wrk.out" >&2
	total=$(sed -n 's/^ *\([0-9][0-9]*\) requests in .*/\1/p' "$T/wrk.out")
	[ "${total:-0}" -gt 1000 ] || fail "wrk made too few requests to mean anything: ${total:-none}"
	assert_not_contains "$(cat "$T/wrk.out")" "Socket errors" "every request got a response"
	non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\)/\1/p' "$T/wrk.out")
	# the live release's own count of 500s (v2 is still running)
	local b2
	b2=$(sed -n 's/.* listening on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$T/app-v2.log" | tail -n 1)
	curl -s -m 2 "http://$b2/metrics" >"$T/metrics-live-v2"
	[ "$(sum_500)" -gt 0 ] || fail "the faulty release served no 500s: the test proves nothing"
	assert_eq "$(sum_500)" "${non2xx:-0}" "the only non-2xx responses are the faulty release's own 500s"
	rg_stop
	stop_apps
}
