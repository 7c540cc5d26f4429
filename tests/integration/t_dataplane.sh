# t_dataplane.sh — the data plane in its own process (`rollguard proxy`):
# users' traffic under wrk load outlives a SIGKILL of serve (0 socket
# errors, no non-2xx but the faulty release's own), a restarted serve
# re-attaches to the same proxy and its figures; a killed proxy is replaced
# at once and gets its tables again; an upgrade hands the listeners to the
# new binary's proxy without refusing a connection.

proxy_pid() {
	cat "$T/state/proxy.pid" 2>/dev/null
}

proxy_alive() {
	local p
	p=$(proxy_pid)
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null
}

# Pids of every `rollguard proxy` process of this test.
proxies() {
	local p
	for p in $(procs_in_T); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q ' proxy -c ' && echo "$p"
	done
}

pid_is_not() {
	local p
	p=$(proxy_pid)
	[ -n "$p" ] && [ "$p" != "$1" ] && kill -0 "$p" 2>/dev/null
}

pid_gone() {
	! kill -0 "$1" 2>/dev/null
}

# A release's requests in GET /api/v1/traffic (total).
v_requests() {
	acurl -fsS "$RG_URL/api/v1/traffic?env=prod" | /usr/bin/python3 -c '
import json, sys
for r in json.load(sys.stdin)["releases"]:
    if r["version"] == sys.argv[1]:
        print(r["total"]["requests"])' "$1"
}

# wrk_check FILE: enough requests, no socket error; prints the non-2xx count.
wrk_check() {
	local total
	cat "$1" >&2
	total=$(sed -n 's/^ *\([0-9][0-9]*\) requests in .*/\1/p' "$1")
	[ "${total:-0}" -gt 1000 ] || fail "wrk made too few requests to mean anything: ${total:-none}"
	assert_not_contains "$(cat "$1")" "Socket errors" "every request got a response"
	sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\)/\1/p' "$1" | awk '{ s += $1 } END { print s + 0 }'
}

need_wrk() {
	command -v wrk >/dev/null || fail "wrk is not installed (scripts/install-deps.sh installs it)"
}

t_dataplane_serve_sigkill_under_load_drops_nothing() {
	need_wrk
	PAUSE=500ms cfg_traffic
	rg_start
	deploy_ok v1 prod >/dev/null
	local pid before after wrk_pid id non2xx
	pid=$(proxy_pid)
	proxy_alive || fail "no proxy process after the first deploy"
	# long enough for the whole story on a slow machine; stopped with SIGINT
	# (wrk prints its totals) once the rollback is over
	wrk -t1 -c8 -d60s "http://127.0.0.1:$RG_PORT2/" >"$T/wrk.out" 2>&1 &
	wrk_pid=$!
	echo "$wrk_pid" >>"$T/pids"
	sleep 1
	before=$(v_requests v1)
	[ "${before:-0}" -gt 0 ] || fail "v1 counted no requests before the kill"
	rg_kill9
	sleep 1
	assert_eq "$pid" "$(proxy_pid)" "the proxy outlives serve"
	proxy_alive || fail "the proxy died with serve"
	rg_start
	assert_contains "$(cat "$T/serve.log")" "attached to the proxy process (pid $pid;" \
		"the restarted serve re-attaches to the running proxy"
	assert_eq 1 "$(proxies | wc -l)" "no second proxy is started"
	after=$(v_requests v1)
	[ "${after:-0}" -gt "$before" ] || fail "v1's figures restarted: $before before, ${after:-none} after"
	deploy_ok v2 prod >/dev/null
	assert_exit 1 rg deploy v3-errors --env prod --wait
	id=$(latest_run prod)
	assert_run_ends "$id" rolled_back
	kill -INT "$wrk_pid"
	wait "$wrk_pid" || true
	non2xx=$(wrk_check "$T/wrk.out")
	[ "$(sum_500)" -gt 0 ] || fail "the faulty release served no 500s: the test proves nothing"
	assert_eq "$(sum_500)" "$non2xx" "the only non-2xx responses are the faulty release's own 500s"
	# a clean stop of serve stops its proxy too
	rg_stop
	wait_for -t 5 pid_gone "$pid" || fail "the proxy outlived a clean stop of serve"
	stop_apps
}

t_dataplane_killed_proxy_is_replaced_and_routes_again() {
	PAUSE=500ms cfg_traffic
	rg_start
	deploy_ok v1 prod >/dev/null
	local pid ok=0 bad=0 i t0 t1
	pid=$(proxy_pid)
	# one request every 10 ms across the kill: what a user would lose
	t0=$(date +%s%N)
	kill -KILL "$pid"
	for i in $(seq 1 150); do
		if curl -fsS -o /dev/null -m 1 "http://127.0.0.1:$RG_PORT2/" 2>/dev/null; then
			ok=$((ok + 1))
			[ -z "${t1:-}" ] && [ "$bad" -gt 0 ] && t1=$(date +%s%N)
		else
			bad=$((bad + 1))
		fi
		sleep 0.01
	done
	echo "proxy SIGKILL: $bad of $((ok + bad)) requests failed, routing again after $(((${t1:-$t0} - t0) / 1000000)) ms" >&2
	wait_for -t 5 pid_is_not "$pid" || fail "serve started no new proxy"
	[ "$ok" -gt 0 ] || fail "nothing routed after the proxy was replaced"
	assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' -m 2 "http://127.0.0.1:$RG_PORT2/")"
	assert_contains "$(cat "$T/serve.log")" "sending it the routing tables"
	assert_eq 1 "$(proxies | wc -l)" "one proxy serves"
	# and the next rollout goes through the new one
	deploy_ok v2 prod >/dev/null
	assert_contains "$(curl -s -m 2 "http://127.0.0.1:$RG_PORT2/")" '"version":"v2"'
	rg_stop
	stop_apps
}

t_dataplane_upgrade_hands_over_the_listeners() {
	need_wrk
	PAUSE=500ms cfg_traffic
	rg_start
	deploy_ok v1 prod >/dev/null
	local old new wrk_pid non2xx
	old=$(proxy_pid)
	cp "$RG_BIN" "$T/rollguard-new"
	wrk -t1 -c8 -d8s "http://127.0.0.1:$RG_PORT2/" >"$T/wrk.out" 2>&1 &
	wrk_pid=$!
	echo "$wrk_pid" >>"$T/pids"
	sleep 1
	# by hand: the new binary's proxy takes the sockets over
	(cd "$T/run" && exec "$T/rollguard-new" proxy -c "$T/rollguard.yaml" --takeover) >>"$T/serve.log" 2>&1 &
	echo "$!" >>"$T/pids"
	wait_for -t 10 pid_is_not "$old" || fail "the new proxy did not take over"
	new=$(proxy_pid)
	wait_for -t 12 pid_gone "$old" || fail "the old proxy did not drain and exit"
	wait_for -t 5 grep -q "attached to the proxy process (pid $new)" "$T/serve.log" ||
		fail "serve did not re-attach to the new proxy"
	sleep 1
	# serve restarted from yet another binary hands over by itself
	cp "$RG_BIN" "$T/rollguard-newer"
	rg_kill9
	RG_BIN=$T/rollguard-newer rg_start
	sleep 1
	wait_for -t 10 pid_is_not "$new" || fail "serve of a new binary did not hand the proxy over"
	wait "$wrk_pid"
	non2xx=$(wrk_check "$T/wrk.out")
	assert_eq 0 "$non2xx" "no request failed across two hand-overs"
	assert_contains "$(cat "$T/serve.log")" "handing its sockets to a new one"
	wait_for -t 12 pid_gone "$new" || fail "the second old proxy did not exit"
	assert_eq 1 "$(proxies | wc -l)" "one proxy serves"
	deploy_ok v2 prod >/dev/null
	assert_contains "$(curl -s -m 2 "http://127.0.0.1:$RG_PORT2/")" '"version":"v2"'
	rg_stop
	stop_apps
}

t_dataplane_sigusr2_leaves_the_proxy_serving() {
	PAUSE=500ms cfg_traffic
	rg_start
	deploy_ok v1 prod >/dev/null
	local pid spid
	pid=$(proxy_pid)
	spid=$(rg_serve_pid)
	kill -USR2 "$spid"
	wait_serve_dead 10 || fail "serve did not stop on SIGUSR2"
	wait "$spid" 2>/dev/null
	rm -f "$T/serve.pid"
	assert_contains "$(curl -s -m 2 "http://127.0.0.1:$RG_PORT2/")" '"version":"v1"' \
		"the proxy serves on alone"
	proxy_alive || fail "the proxy stopped with serve"
	rg_start
	assert_contains "$(cat "$T/serve.log")" "attached to the proxy process (pid $pid;"
	rg_stop
	wait_for -t 5 pid_gone "$pid" || fail "the proxy outlived a clean stop"
	stop_apps
}

t_dataplane_busy_proxy_port_fails_the_start_at_once() {
	PAUSE=500ms cfg_traffic
	/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(30)' "$RG_PORT2" &
	local holder=$!
	echo "$holder" >>"$T/pids"
	wait_for port_in_use "$RG_PORT2" || fail "the port holder never listened"
	local t0 t1 rc=0
	t0=$(date +%s%N)
	(cd "$T/run" && exec "$RG_BIN" serve -c "$T/rollguard.yaml") >>"$T/serve.log" 2>&1 || rc=$?
	t1=$(date +%s%N)
	assert_eq 1 "$rc" "serve cannot start"
	[ $(((t1 - t0) / 1000000)) -lt 3000 ] || fail "serve took $(((t1 - t0) / 1000000)) ms to give up"
	assert_contains "$(cat "$T/serve.log")" "cannot listen on 127.0.0.1:$RG_PORT2: address in use"
	assert_contains "$(cat "$T/serve.log")" "the proxy process could not start"
	# the holder is this test's, not serve's: gone before the leftovers are counted
	kill "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null || true
}
