# t_alerts.sh — alarms in: Alertmanager's webhook payload (as documented;
# Alertmanager itself cannot sign requests) and rollguard's small form,
# signed with HMAC-SHA256, fire a trigger of the environment's active run.
# Unsigned or badly signed posts get 401 and change nothing. Alertmanager
# itself posts with a bearer token of the alerts role (at the end).

ALERT_SECRET='s3cret-for-the-test'

cfg_alerts() {
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
    proxy: { listen: 127.0.0.1:@PORT2@, threads: 1 }
deploy:
  - name: app
    run: @DIR@/app.sh start
    undo: @DIR@/app.sh stop
  - name: canary
    traffic: { backend: app.backend, steps: [50, 100], pause: 20s, drain: 200ms, retire: @DIR@/app.sh retire }
alerts:
  secret_env: RG_TEST_ALERT_SECRET
actions: { P0: rollback, P1: rollback, P2: rollback-after-approval, P3: notify }
YAML
}

# post_alert BODY [SIGNATURE] — prints "BODY HTTP_STATUS" on one line.
post_alert() {
	local sig=${2-}
	if [ -z "${2+x}" ]; then
		sig="sha256=$(printf '%s' "$1" | openssl dgst -sha256 -hmac "$ALERT_SECRET" | sed 's/^.* //')"
	fi
	local code
	code=$(curl -s -m 5 -o "$T/alert.out" -w '%{http_code}' -H "X-Rollguard-Signature: $sig" \
		-H 'Content-Type: application/json' \
		--data-binary "$1" "$RG_URL/api/v1/alerts")
	printf '%s %s\n' "$(tr -d '\n' <"$T/alert.out")" "$code"
}

alertmanager_payload() { # ENV SEVERITY STATUS
	cat <<EOF
{"version":"4","groupKey":"{}:{alertname=\"HighErrorRate\"}","truncatedAlerts":0,"status":"$3","receiver":"rollguard","groupLabels":{"alertname":"HighErrorRate"},"commonLabels":{"service":"shop"},"commonAnnotations":{},"externalURL":"http://127.0.0.1:9093","alerts":[{"status":"$3","labels":{"alertname":"HighErrorRate","service":"shop","env":"$1","severity":"$2"},"annotations":{"summary":"5xx above 2% on shop"},"startsAt":"2026-11-23T09:15:14.123Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://127.0.0.1:9090/graph","fingerprint":"6f3a1c2b9d0e4f51"},{"status":"firing","labels":{"alertname":"Other","service":"billing","env":"$1"},"annotations":{},"startsAt":"2026-11-23T09:15:14.123Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"1"}]}
EOF
}

t_alerts_signed_alertmanager_alert_rolls_back_the_canary() {
	command -v openssl >/dev/null || fail "openssl is not installed (scripts/install-deps.sh installs it)"
	cfg_alerts
	RG_TEST_ALERT_SECRET=$ALERT_SECRET rg_start
	deploy_ok v1 prod >/dev/null
	local id out body
	id=$(deploy_start v2 prod)
	wait_for -t 10 run_has_event "$id" "traffic 1/2" || fail "the canary never reached 50%"

	# unsigned, wrongly signed, signed for another body: 401, nothing changes
	body=$(alertmanager_payload prod critical firing)
	out=$(post_alert "$body" "")
	assert_match "$out" '"unauthorized".* 401$'
	out=$(post_alert "$body" "sha256=$(printf '%064d' 0)")
	assert_match "$out" ' 401$'
	out=$(post_alert "$body" "sha256=$(printf '%s' "${body}x" | openssl dgst -sha256 -hmac "$ALERT_SECRET" | sed 's/^.* //')")
	assert_match "$out" ' 401$'
	assert_not_contains "$(cat "$T/serve.log")" "$ALERT_SECRET" "the secret never reaches the log"
	assert_eq running "$(run_state "$id")" "a refused alert changes nothing"

	# a resolved alert is ignored; the firing one (critical → P0) rolls back;
	# the other service's alert is ignored
	out=$(post_alert "$(alertmanager_payload prod critical resolved)")
	assert_match "$out" '"reason": *"resolved".* 202$'
	assert_eq running "$(run_state "$id")"
	out=$(post_alert "$body")
	assert_match "$out" ' 202$'
	assert_match "$out" "\"run\": *$id"
	assert_contains "$out" '"ignored"'
	assert_run_ends "$id" rolled_back
	local j
	j=$(rg show "$id" --json | tr -d '\n')
	assert_match "$j" '"trigger": *"alert:HighErrorRate"'
	assert_match "$j" '"severity": *"P0"'
	assert_contains "$j" "5xx above 2% on shop"
	assert_contains "$j" "traffic swapped to v1 100%"
	rg_stop
	stop_apps
}

t_alerts_form_with_notify_severity_only_records() {
	command -v openssl >/dev/null || fail "openssl is not installed"
	cfg_alerts
	RG_TEST_ALERT_SECRET=$ALERT_SECRET rg_start
	deploy_ok v1 prod >/dev/null
	local id out
	id=$(deploy_start v2 prod)
	wait_for -t 10 run_has_event "$id" "traffic 1/2" || fail "the canary never reached 50%"
	out=$(post_alert '{"env":"prod","name":"DiskAlmostFull","severity":"P3","summary":"80% full"}')
	assert_match "$out" ' 202$'
	wait_for -t 5 run_has_event "$id" "notifying only" || fail "the P3 alert was not recorded"
	assert_eq running "$(run_state "$id")" "a P3 alert only notifies"
	# nothing watched in an environment without a run: ignored, not an error
	rg abort "$id" >/dev/null
	out=$(post_alert '{"env":"prod","name":"Late","severity":"P0"}')
	assert_match "$out" '"ignored".* 202$'
	rg_stop
	stop_apps
}

t_alerts_unconfigured_is_404() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  prod: {}
deploy:
  - { name: a, run: "true" }
YAML
	rg_start
	local out
	out=$(acurl -s -m 5 -o "$T/alert.out" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary '{}' "$RG_URL/api/v1/alerts")
	out="$(tr -d '\n' <"$T/alert.out") $out"
	assert_match "$out" 'not configured.* 404$'
	rg_stop
}

# ---- as Alertmanager really sends them: the Debian prometheus-alertmanager
# (0.25) posts its webhook with `Authorization: Bearer` from a
# credentials_file holding a token of the alerts role — no signing relay.
# An alert posted to Alertmanager's own API rolls back the canary.

AM_BIN=/usr/bin/prometheus-alertmanager

# am_start TOKEN_FILE — Alertmanager on a free port, routing service=shop
# to rollguard with the token file as its bearer credentials.
am_start() {
	AM_PORT=$(rg_free_port)
	AM_CLUSTER_PORT=$(rg_free_port)
	cat >"$T/alertmanager.yml" <<YAML
route:
  receiver: blackhole
  group_wait: 0s
  group_interval: 1s
  routes:
    - receiver: rollguard
      matchers: ['service="shop"']
      group_by: [alertname, env]
      group_wait: 0s
receivers:
  - name: blackhole
  - name: rollguard
    webhook_configs:
      - url: $RG_URL/api/v1/alerts
        send_resolved: false
        max_alerts: 50
        http_config:
          authorization: { credentials_file: $1 }
YAML
	mkdir -p "$T/am-data"
	"$AM_BIN" --config.file="$T/alertmanager.yml" --storage.path="$T/am-data" \
		--web.listen-address="127.0.0.1:$AM_PORT" \
		--cluster.listen-address="127.0.0.1:$AM_CLUSTER_PORT" >"$T/alertmanager.log" 2>&1 &
	echo $! >"$T/am.pid"
	wait_for -t 20 curl -fs "http://127.0.0.1:$AM_PORT/-/ready" ||
		fail "alertmanager did not become ready (see alertmanager.log)"
}

am_stop() {
	[ -f "$T/am.pid" ] && kill "$(cat "$T/am.pid")" 2>/dev/null
	rm -f "$T/am.pid"
}

# am_fire NAME SEVERITY — posts one firing alert to Alertmanager's API.
am_fire() {
	curl -fsS -o /dev/null -H 'Content-Type: application/json' \
		--data-binary "[{\"labels\":{\"alertname\":\"$1\",\"service\":\"shop\",\"env\":\"prod\",\"severity\":\"$2\"},\"annotations\":{\"summary\":\"5xx above 2% on shop\"}}]" \
		"http://127.0.0.1:$AM_PORT/api/v2/alerts" || fail "alertmanager refused the alert"
}

t_alertmanager_bearer_token_rolls_back_the_canary() {
	[ -x "$AM_BIN" ] || fail "prometheus-alertmanager is not installed (scripts/install-deps.sh installs it)"
	cfg_alerts
	rg_start
	rg token create alertmanager --role alerts -c "$T/rollguard.yaml" | tail -n1 >"$T/am.token"
	chmod 600 "$T/am.token"
	am_start "$T/am.token"
	deploy_ok v1 prod >/dev/null
	local id
	id=$(deploy_start v2 prod)
	wait_for -t 10 run_has_event "$id" "traffic 1/2" || fail "the canary never reached 50%"
	am_fire HighErrorRate critical
	assert_run_ends "$id" rolled_back 30
	local j
	j=$(rg show "$id" --json | tr -d '\n')
	assert_match "$j" '"trigger": *"alert:HighErrorRate"'
	assert_match "$j" '"severity": *"P0"'
	assert_contains "$j" "5xx above 2% on shop"
	# Alertmanager's post is in the audit log under the token's name
	assert_match "$(rg audit -c "$T/rollguard.yaml" | grep ' alert ')" 'alertmanager +127\.0\.0\.1 +alert .*accepted 202'
	am_stop
	rg_stop
	stop_apps
}

t_alertmanager_without_the_alerts_role_is_refused() {
	[ -x "$AM_BIN" ] || fail "prometheus-alertmanager is not installed"
	cfg_alerts
	rg_start
	rg token create watcher --role viewer -c "$T/rollguard.yaml" | tail -n1 >"$T/am.token"
	am_start "$T/am.token"
	deploy_ok v1 prod >/dev/null
	local id
	id=$(deploy_start v2 prod)
	wait_for -t 10 run_has_event "$id" "traffic 1/2" || fail "the canary never reached 50%"
	am_fire HighErrorRate critical
	wait_for -t 15 sh -c "sqlite3 '$T/state/state.db' \"select count(*) from audit where \\\"action\\\"='alert' and status=403\" | grep -qv '^0$'" ||
		fail "alertmanager's post with a viewer token was not refused"
	assert_eq running "$(run_state "$id")" "a refused alert changes nothing"
	rg abort "$id" >/dev/null
	am_stop
	rg_stop
	stop_apps
}
