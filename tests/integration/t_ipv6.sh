# t_ipv6.sh — everything on the IPv6 loopback: the API on [::1], the
# built-in proxy (in its own process) on [::1], demo-app releases on [::1]
# as its backends, a canary shifted 10 → 50 → 100 and a sick canary rolled
# back, with the users' requests sent to http://[::1]:PORT/ throughout.
# Skipped, saying so, only on a kernel without an IPv6 loopback.

# Whether lo has ::1 (/proc/net/if_inet6: one address a line, 32 hex digits).
have_ipv6_loopback() {
	grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null
}

proxy6_get() {
	curl -g -s -m 2 "$@" "http://[::1]:$RG_PORT2/"
}

# The version the proxy's stable side answers with on [::1].
proxy6_version() {
	proxy6_get | sed -n 's/.*"version":"\([^"]*\)".*/\1/p'
}

# cfg_ipv6: cfg_traffic (lib.sh) with every address moved to ::1 — the
# API, the proxy, force_header.from, the checks and the releases
# (rg_release_app's script).
cfg_ipv6() {
	cfg_traffic
	sed -i -e 's|--listen 127.0.0.1:0|--listen [::1]:0|' \
		-e 's|127\\.0\\.0\\.1:\[0-9\]\*|\\[::1\\]:[0-9]*|g' "$T/app.sh"
	sed -i -e 's|http://127\.0\.0\.1:|http://[::1]:|g' \
		-e 's|127\.0\.0\.1:\([0-9]*\)|"[::1]:\1"|g' \
		-e 's|from: \[127\.0\.0\.1\]|from: ["::1"]|' "$T/rollguard.yaml"
	grep -qF -- '--listen [::1]:0' "$T/app.sh" || fail "app.sh was not moved to [::1]"
	if grep -q '127\.0\.0\.1' "$T/app.sh" "$T/rollguard.yaml"; then
		fail "an IPv4 address is left: $(grep -h '127\.0\.0\.1' "$T/app.sh" "$T/rollguard.yaml")"
	fi
	RG_URL="http://[::1]:$RG_PORT"
	export RG_URL
}

t_ipv6_api_proxy_and_backends_on_the_ipv6_loopback() {
	if ! have_ipv6_loopback; then
		echo "SKIP: this kernel has no IPv6 loopback (no ::1 in /proc/net/if_inet6)"
		return 0
	fi
	cfg_ipv6
	assert_exit 0 "$RG_BIN" lint -c "$T/rollguard.yaml"
	rg_start
	assert_contains "$(cat "$T/serve.log")" "api: listening on http://[::1]:$RG_PORT"
	assert_exit 0 curl -g -fsS -o /dev/null -m 2 "http://[::1]:$RG_PORT/health"
	if curl -s -o /dev/null -m 2 "http://127.0.0.1:$RG_PORT/health"; then
		fail "the API listens on 127.0.0.1 too; it was told [::1] only"
	fi

	deploy_ok v1 prod >/dev/null
	assert_eq v1 "$(proxy6_version)" "the first release answers through the proxy on [::1]"
	local j id
	j=$(acurl -g -fsS "$RG_URL/api/v1/traffic?env=prod")
	assert_match "$j" '"address": *"\[::1\]:[0-9]+"' "the backend is the release on [::1]"
	assert_match "$j" '"listen": *"\[::1\]:'"$RG_PORT2"'"'

	# a canary shifted 10 → 50 → 100 over IPv6, with users' requests meanwhile
	id=$(deploy_start v2 prod)
	local seen=" " i v
	for i in $(seq 1 100); do
		v=$(proxy6_version)
		case "$seen" in *" $v "*) ;; *) seen="$seen$v " ;; esac
		run_state_is "$id" succeeded && break
		sleep 0.05
	done
	wait_run "$id" >/dev/null
	assert_run_ends "$id" succeeded
	assert_contains "$seen" " v1 " "users saw the stable release during the shift"
	assert_contains "$seen" " v2 " "users saw the canary during the shift"
	j=$(rg show "$id" --json | tr -d '\n')
	assert_contains "$j" "traffic 1/3: v2 10% · v1 90%"
	assert_contains "$j" "traffic 2/3: v2 50% · v1 50%"
	assert_contains "$j" "v2 takes all traffic"
	assert_eq v2 "$(proxy6_version)"
	# force_header.from: ["::1"] lets this client aim at a side
	assert_contains "$(proxy6_get -H 'X-Rollguard-Release: stable')" '"version":"v2"'

	# a sick canary: the trigger fires over [::1] and traffic swaps back
	assert_exit 1 rg deploy v3-sick --env prod --wait
	id=$(latest_run prod)
	assert_run_ends "$id" rolled_back
	j=$(rg show "$id" --json | tr -d '\n')
	assert_contains "$j" "traffic 1/3: v3-sick 10% · v2 90%"
	assert_contains "$j" "canary-health"
	assert_match "$j" 'traffic swapped to v2 100%'
	assert_eq v2 "$(proxy6_version)"
	assert_contains "$(proxy6_get -H 'X-Rollguard-Release: canary')" '"version":"v2"' \
		"no canary is left after the rollback"
	assert_live prod v2
	rg_stop
	stop_apps
}
