# t_haproxy.sh — traffic steps through a real HAProxy (Debian's package)
# driven over its runtime API: weights 10 → 50 → 100 while a canary
# advances, promotion into the stable server, and the swap back on rollback.

# haproxy_start — HAProxy on 127.0.0.1:$RG_PORT2 in front of backend "app"
# (servers stable and canary, placeholders until rollguard sets them), its
# runtime API on TCP 127.0.0.1:$HA_API.
haproxy_start() {
	command -v haproxy >/dev/null || fail "haproxy is not installed (scripts/install-deps.sh installs it)"
	HA_API=$(rg_free_port) || fail "no free port"
	cat >"$T/haproxy.cfg" <<EOF
global
    stats socket ipv4@127.0.0.1:$HA_API level admin
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend web
    bind 127.0.0.1:$RG_PORT2
    default_backend app
backend app
    balance roundrobin
    server stable 127.0.0.1:9 weight 100
    server canary 127.0.0.1:9 weight 0
EOF
	haproxy -c -f "$T/haproxy.cfg" >"$T/haproxy.check" 2>&1 || {
		cat "$T/haproxy.check" >&2
		fail "haproxy refuses the test's config"
	}
	(cd "$T" && exec haproxy -db -f "$T/haproxy.cfg") >>"$T/haproxy.log" 2>&1 &
	echo $! >"$T/haproxy.pid"
	echo $! >>"$T/pids"
	wait_for -t 5 port_in_use "$HA_API" || fail "haproxy's runtime API did not come up"
}

haproxy_stop() {
	[ -s "$T/haproxy.pid" ] && kill "$(cat "$T/haproxy.pid")" 2>/dev/null
	rm -f "$T/haproxy.pid"
}

# ha_cmd COMMAND — one runtime-API command, its answer on stdout.
ha_cmd() {
	local out
	exec 3<>"/dev/tcp/127.0.0.1/$HA_API" || return 1
	printf '%s\n' "$1" >&3
	out=$(cat <&3)
	exec 3<&-
	printf '%s\n' "$out"
}

# ha_weight SERVER — the server's current weight.
ha_weight() {
	ha_cmd "get weight app/$1" | sed -n 's/^\([0-9]*\) (initial.*/\1/p'
}

# How many of N requests through HAProxy the release $2 answered.
answered_by() {
	local n=$1 v=$2 i c=0
	for i in $(seq 1 "$n"); do
		curl -s -m 2 "http://127.0.0.1:$RG_PORT2/" | grep -q "\"version\":\"$v\"" && c=$((c + 1))
	done
	echo "$c"
}

cfg_haproxy() {
	rg_release_app
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  prod:
    timeout: 60s
    monitor: 300ms
    post_rollback_monitor: 300ms
    router:
      haproxy: { socket: "127.0.0.1:@HA_API@", backend: app, stable: stable, canary: canary }
      timeout: 5s
deploy:
  - name: app
    run: @DIR@/app.sh start
    undo: @DIR@/app.sh stop
  - name: canary
    traffic: { backend: app.backend, steps: [10, 50, 100], pause: @PAUSE@, drain: 300ms, retire: @DIR@/app.sh retire }
checks:
  canary_health: { run: 'curl -fsS -m 2 "http://$ROLLGUARD_OUT_APP_BACKEND/health"', timeout: 3s }
triggers:
  - { name: canary-health, check: canary_health, every: 200ms, failures: 2, severity: P0 }
YAML
	sed -i "s|@HA_API@|$HA_API|; s|@PAUSE@|${PAUSE:-600ms}|" "$T/rollguard.yaml"
}

t_haproxy_canary_moves_weights_and_promotes_into_the_stable_server() {
	haproxy_start
	PAUSE=2s cfg_haproxy
	rg_start
	deploy_ok v1 prod >/dev/null
	assert_eq 100 "$(ha_weight stable)"
	assert_eq 10 "$(answered_by 10 v1)" "after the first deploy HAProxy sends everything to v1"
	local id
	id=$(deploy_start v2 prod)
	wait_for -t 10 run_has_event "$id" "traffic 1/3" || fail "the canary never reached 10%"
	assert_eq 10 "$(ha_weight canary)" "canary server at 10 %"
	assert_eq 90 "$(ha_weight stable)" "stable server at 90 %"
	local v2
	v2=$(answered_by 50 v2)
	[ "$v2" -ge 2 ] && [ "$v2" -le 9 ] || fail "at 10 % v2 answered $v2 of 50 requests"
	wait_for -t 10 run_has_event "$id" "traffic 2/3" || fail "the canary never reached 50%"
	assert_eq 50 "$(ha_weight canary)"
	assert_eq 50 "$(ha_weight stable)"
	assert_run_ends "$id" succeeded 30
	# promoted: v2's address is in the stable server, the canary server is idle
	assert_eq 100 "$(ha_weight stable)"
	assert_eq 0 "$(ha_weight canary)"
	assert_contains "$(ha_cmd 'show servers state app')" "canary"
	assert_eq 20 "$(answered_by 20 v2)" "after promotion HAProxy sends everything to v2"
	assert_contains "$(markers | tr '\n' ' ')" "app.sh retire v1"
	rg_stop
	stop_apps
	haproxy_stop
}

t_haproxy_rollback_sets_the_canary_weight_to_zero_before_undo() {
	haproxy_start
	PAUSE=3s cfg_haproxy
	rg_start
	deploy_ok v1 prod >/dev/null
	local id j
	assert_exit 1 rg deploy v2-sick --env prod --wait
	id=$(latest_run prod)
	assert_run_ends "$id" rolled_back
	j=$(rg show "$id" --json | tr -d '\n')
	assert_contains "$j" "traffic 1/3: v2-sick 10% · v1 90%"
	assert_match "$j" 'traffic swapped to v1 100% [0-9]+ us after the decision \(the router took [0-9]+ us\)'
	assert_eq 0 "$(ha_weight canary)"
	assert_eq 100 "$(ha_weight stable)"
	assert_eq 20 "$(answered_by 20 v1)" "after the rollback HAProxy sends everything to v1"
	assert_contains "$(markers | tr '\n' ' ')" "app.sh stop v2-sick"
	rg_stop
	stop_apps
	haproxy_stop
}

# HAProxy restarted from its file while serve was down: serve applies the
# stored route again at start.
t_haproxy_stored_route_is_applied_again_at_start() {
	haproxy_start
	cfg_haproxy
	rg_start
	deploy_ok v1 prod >/dev/null
	rg_stop
	haproxy_stop
	sleep 0.3
	haproxy_start_same_port
	assert_eq 0 "$(answered_by 3 v1)" "a fresh HAProxy knows nothing of v1"
	rg_start
	wait_for -t 5 answered_by_all v1 || fail "serve did not apply the stored route to the restarted HAProxy"
	rg_stop
	stop_apps
	haproxy_stop
}

haproxy_start_same_port() {
	(cd "$T" && exec haproxy -db -f "$T/haproxy.cfg") >>"$T/haproxy.log" 2>&1 &
	echo $! >"$T/haproxy.pid"
	echo $! >>"$T/pids"
	wait_for -t 5 port_in_use "$HA_API" || fail "haproxy's runtime API did not come up again"
}

answered_by_all() {
	[ "$(answered_by 3 "$1")" = 3 ]
}

# The command router: a traffic step drives a command of the user's, which is
# told the split only through environment variables.
t_command_router_is_told_each_split() {
	rg_release_app
	rg_script route.sh <<'SH'
#!/bin/sh
echo "$$" >>@DIR@/pids
echo "w=$ROLLGUARD_CANARY_WEIGHT stable=$ROLLGUARD_STABLE_VERSION@$ROLLGUARD_STABLE_BACKENDS canary=$ROLLGUARD_CANARY_VERSION@$ROLLGUARD_CANARY_BACKENDS standby=$ROLLGUARD_STANDBY_VERSION" >>@DIR@/routes
SH
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  prod:
    timeout: 30s
    monitor: 200ms
    router: { command: "@DIR@/route.sh", timeout: 5s }
deploy:
  - name: app
    run: @DIR@/app.sh start
    undo: @DIR@/app.sh stop
  - name: canary
    traffic: { backend: app.backend, steps: [50, 100], pause: 300ms, drain: 200ms }
YAML
	rg_start
	deploy_ok v1 prod >/dev/null
	deploy_ok v2 prod >/dev/null
	local routes
	routes=$(cat "$T/routes")
	assert_match "$routes" '^w=0 stable=v1@127\.0\.0\.1:[0-9]+ canary=@ standby='
	assert_match "$routes" 'w=50 stable=v1@127\.0\.0\.1:[0-9]+ canary=v2@127\.0\.0\.1:[0-9]+ standby='
	assert_match "$routes" 'w=0 stable=v2@127\.0\.0\.1:[0-9]+ canary=@ standby=v1'
	assert_match "$(tail -n 1 "$T/routes")" '^w=0 stable=v2@127\.0\.0\.1:[0-9]+ canary=@ standby=$' \
		"after the drain the old release leaves the router"
	rg_stop
	stop_apps
}
