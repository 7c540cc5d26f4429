# t_notify.sh — notification channels behind the durable outbox: Slack,
# PagerDuty, a signed CloudEvents webhook, a command, e-mail over SMTP;
# retries with backoff, Retry-After, delivery after SIGKILL, secrets masked.

H="$ROOT/tests/integration/helpers"
SLACK_SECRET_URL_PATH="/services/T000/B000/XXXXsecretpath"

# receiver NAME PORT [ARGS…] — a recording receiver in the background.
receiver() {
	local name=$1 port=$2
	shift 2
	/usr/bin/python3 "$H/receiver.py" "$port" "$T/$name.log" "$@" >>"$T/$name.out" 2>&1 &
	echo $! >"$T/$name.pid"
	wait_for port_in_use "$port" || fail "receiver $name did not start"
}

receiver_stop() {
	kill "$(cat "$T/$1.pid")" 2>/dev/null
	wait "$(cat "$T/$1.pid")" 2>/dev/null
	return 0
}

received() {
	[ -f "$T/$1.log" ] && wc -l <"$T/$1.log" || echo 0
}

received_is() {
	[ "$(received "$1")" -ge "$2" ]
}

# the Nth (1-based) request body NAME got
body_of() {
	sed -n "${2}p" "$T/$1.log" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["body"])'
}

field_of() {
	sed -n "${2}p" "$T/$1.log" | /usr/bin/python3 -c "import json,sys; r=json.load(sys.stdin); print($3)"
}

delivered_count_is() {
	[ "$(rg notifications --json | /usr/bin/python3 -c 'import json,sys; print(sum(1 for n in json.load(sys.stdin) if n["state"]=="delivered"))')" = "$1" ]
}

# cfg_notify CHANNELS ROUTES — a deploy whose step c fails for v2 (an
# automatic rollback), with the notify section given.
cfg_notify() {
	rg_config <<YAML
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
  public_url: "http://rollguard.example:7070"
environments:
  production:
    timeout: 30s
    post_rollback_monitor: 200ms
deploy:
  - name: a
    run: @DIR@/mark a
    undo: @DIR@/mark undo.a
  - name: c
    run: @DIR@/mark c failif v2
notify:
  channels:
$1
  routes:
$2
YAML
}

t_notify_slack_automatic_rollback_messages() {
	local sp
	sp=$(rg_free_port)
	receiver slack "$sp"
	export SLACK_URL="http://127.0.0.1:$sp$SLACK_SECRET_URL_PATH"
	cfg_notify "    devops: { slack: { url_env: SLACK_URL } }" \
		"    - { events: [rollback_started, rollback_succeeded], envs: [production], to: [devops] }"
	rg lint -c "$T/rollguard.yaml" >/dev/null || fail "lint: $(rg lint -c "$T/rollguard.yaml" 2>&1)"
	rg_start
	deploy_ok v1 production >/dev/null
	assert_exit 1 rg deploy v2 --env production --wait
	local id
	id=$(latest_run production)
	wait_for received_is slack 2 || fail "slack got $(received slack) messages"
	local b1 b2
	b1=$(body_of slack 1)
	b2=$(body_of slack 2)
	assert_contains "$b1" 'AUTOMATIC ROLLBACK IN PROGRESS'
	assert_contains "$b1" 'Environment: production'
	assert_contains "$b1" 'Previous Version: v1'
	assert_contains "$b1" 'Failed Version: v2'
	assert_contains "$b1" 'Reason: '
	assert_contains "$b1" "Status: http://rollguard.example:7070/api/v1/runs/$id"
	assert_contains "$b1" '"blocks"'
	assert_contains "$b2" 'AUTOMATIC ROLLBACK COMPLETED'
	assert_contains "$b2" 'Rolled back to: v1'
	assert_contains "$b2" 'Duration: '
	assert_contains "$b2" 'Verification: '
	assert_contains "$b2" 'Metrics: '
	assert_contains "$b2" 'Action Required: Investigate failure and create hotfix'
	assert_ne "" "$(field_of slack 1 'r["headers"].get("Idempotency-Key","")')" "Idempotency-Key sent"
	wait_for delivered_count_is 2 || fail "notifications: $(rg notifications)"
	local j
	j=$(rg notifications --json)
	assert_contains "$(rg notifications)" rollback_started
	# the webhook URL (a secret) is nowhere
	assert_not_contains "$j" XXXXsecretpath
	assert_not_contains "$(cat "$T/serve.log")" XXXXsecretpath
	assert_not_contains "$(rg show "$id" --json)" XXXXsecretpath
	rg_stop
	receiver_stop slack
}

t_notify_retries_until_delivered_once() {
	local sp
	sp=$(rg_free_port)
	receiver slack "$sp" --fail 2 --status 500
	export SLACK_URL="http://127.0.0.1:$sp/hook"
	cfg_notify "    devops: { slack: { url_env: SLACK_URL } }" \
		"    - { events: [deploy_succeeded], to: [devops] }"
	rg_start
	deploy_ok v1 production >/dev/null
	wait_for received_is slack 3 || fail "slack got $(received slack) requests"
	wait_for delivered_count_is 1 || fail "notifications: $(rg notifications)"
	local j
	j=$(rg notifications --json)
	assert_eq 3 "$(json_get "$j" .[0].attempts)" "two failures, then the delivery"
	assert_eq "HTTP 500" "$(json_get "$j" .[0].last_error)" "the earlier tries' error stays visible"
	assert_eq delivered "$(json_get "$j" .[0].state)"
	# the same key every time: the receiver took it once
	local k1 k3
	k1=$(field_of slack 1 'r["headers"]["Idempotency-Key"]')
	k3=$(field_of slack 3 'r["headers"]["Idempotency-Key"]')
	assert_eq "$k1" "$k3"
	assert_eq 200 "$(field_of slack 3 'r["status"]')"
	# backoff: 1 s, then 2 s
	local gap
	gap=$(/usr/bin/python3 -c "import json; l=[json.loads(x)['t'] for x in open('$T/slack.log')]; print(int(l[2]-l[1] >= 1.9 and l[1]-l[0] >= 0.9))")
	assert_eq 1 "$gap" "retries back off"
	rg_stop
	receiver_stop slack
}

t_notify_retry_after_honoured() {
	local sp
	sp=$(rg_free_port)
	receiver slack "$sp" --fail 1 --status 429 --retry-after 3
	export SLACK_URL="http://127.0.0.1:$sp/hook"
	cfg_notify "    devops: { slack: { url_env: SLACK_URL } }" \
		"    - { events: [deploy_succeeded], to: [devops] }"
	rg_start
	deploy_ok v1 production >/dev/null
	wait_for received_is slack 2 || fail "slack got $(received slack) requests"
	local gap
	gap=$(/usr/bin/python3 -c "import json; l=[json.loads(x)['t'] for x in open('$T/slack.log')]; print(l[1]-l[0])")
	/usr/bin/python3 -c "import sys; sys.exit(0 if $gap >= 2.9 else 1)" || fail "second try after ${gap}s, Retry-After said 3"
	rg_stop
	receiver_stop slack
}

t_notify_pagerduty_webhook_command() {
	local pp wp
	pp=$(rg_free_port)
	wp=$(rg_free_port)
	receiver pd "$pp"
	export PD_KEY=routingkey0123456789 HOOK_SECRET=hooksecret0123456789
	receiver hook "$wp" --secret "$HOOK_SECRET"
	rg_script page.sh <<'SH'
#!/bin/sh
cat >"@DIR@/page.stdin"
env | sort >"@DIR@/page.env"
SH
	cfg_notify "    oncall: { pagerduty: { routing_key_env: PD_KEY, url: \"http://127.0.0.1:$pp/v2/enqueue\" } }
    audit: { webhook: { url: \"http://127.0.0.1:$wp/hook\", secret_env: HOOK_SECRET } }
    pager: { run: @DIR@/page.sh }" \
		"    - { events: [rollback_started], to: [oncall, audit, pager] }
    - { events: [rollback_succeeded], to: [audit] }"
	rg_start
	deploy_ok v1 production >/dev/null
	assert_exit 1 rg deploy v2 --env production --wait
	local id
	id=$(latest_run production)
	wait_for received_is pd 1 || fail "pagerduty got nothing"
	wait_for received_is hook 2 || fail "webhook got $(received hook)"
	wait_for test -s "$T/page.env" || fail "the command channel did not run"
	local pd
	pd=$(body_of pd 1)
	assert_eq "$PD_KEY" "$(json_get "$pd" .routing_key)"
	assert_eq trigger "$(json_get "$pd" .event_action)"
	assert_eq "rollguard-run-$id" "$(json_get "$pd" .dedup_key)"
	assert_eq error "$(json_get "$pd" .payload.severity)" "P1 → error"
	assert_eq shop "$(json_get "$pd" .payload.source)"
	assert_contains "$(json_get "$pd" .payload.summary)" 'AUTOMATIC ROLLBACK IN PROGRESS'
	assert_eq rollback "$(json_get "$pd" .payload.custom_details.decision.action)"
	# the webhook: a CloudEvent with a valid signature
	assert_eq True "$(field_of hook 1 'r["sig_ok"]')" "signature checked by the receiver"
	assert_eq 200 "$(field_of hook 1 'r["status"]')"
	local ce
	ce=$(body_of hook 1)
	assert_eq 1.0 "$(json_get "$ce" .specversion)"
	assert_eq dev.rollguard.rollback_started "$(json_get "$ce" .type)"
	assert_match "$(json_get "$ce" .id)" '^rollguard-'
	assert_eq "$id" "$(json_get "$ce" .data.run_id)"
	assert_eq dev.cdevents.service.rolledback.0.1.1 "$(json_get "$(body_of hook 2)" .type)"
	# the command: JSON on stdin, ROLLGUARD_* in its environment
	assert_eq rollback_started "$(json_get "$(cat "$T/page.stdin")" .event)"
	assert_contains "$(cat "$T/page.env")" "ROLLGUARD_EVENT=rollback_started"
	assert_contains "$(cat "$T/page.env")" "ROLLGUARD_ENV=production"
	assert_contains "$(cat "$T/page.env")" "ROLLGUARD_RUN_ID=$id"
	assert_contains "$(cat "$T/page.env")" "ROLLGUARD_TITLE="
	# secrets: never in the log, the events or the API
	wait_for delivered_count_is 4 || fail "notifications: $(rg notifications)"
	assert_not_contains "$(cat "$T/serve.log")" "$PD_KEY"
	assert_not_contains "$(rg notifications --json)" "$PD_KEY"
	assert_not_contains "$(rg show "$id" --json)" "$PD_KEY"
	assert_not_contains "$(cat "$T/page.env")" "$HOOK_SECRET" "commands never get a channel's secret"
	assert_not_contains "$(cat "$T/page.env")" "$PD_KEY"
	rg_stop
	receiver_stop pd
	receiver_stop hook
}

t_notify_delivered_after_sigkill() {
	local sp
	sp=$(rg_free_port)
	export SLACK_URL="http://127.0.0.1:$sp/hook"
	cfg_notify "    devops: { slack: { url_env: SLACK_URL } }" \
		"    - { events: [rollback_started, rollback_succeeded], to: [devops] }"
	rg_start
	deploy_ok v1 production >/dev/null
	# the receiver is down while the rollback happens
	assert_exit 1 rg deploy v2 --env production --wait
	kill -9 "$(rg_serve_pid)"
	wait_serve_dead
	receiver slack "$sp"
	rg_start
	wait_for received_is slack 2 || fail "after the restart slack got $(received slack)"
	assert_contains "$(body_of slack 1)$(body_of slack 2)" 'ROLLBACK IN PROGRESS'
	assert_contains "$(body_of slack 1)$(body_of slack 2)" 'ROLLBACK COMPLETED'
	rg_stop
	receiver_stop slack
}

t_notify_failing_channel_never_blocks() {
	local sp
	sp=$(rg_free_port)
	receiver slack "$sp" --fail 1000 --status 500
	export SLACK_URL="http://127.0.0.1:$sp/hook"
	cfg_notify "    devops: { slack: { url_env: SLACK_URL } }
    dead: { webhook: { url: \"http://127.0.0.1:9/none\", secret_env: SLACK_URL } }" \
		"    - { events: [deploy_started, deploy_succeeded, rollback_started, rollback_succeeded], to: [devops, dead] }"
	rg_start
	local t0 t1
	t0=$(date +%s)
	deploy_ok v1 production >/dev/null
	assert_exit 1 rg deploy v2 --env production --wait
	deploy_ok v3 production >/dev/null
	t1=$(date +%s)
	[ $((t1 - t0)) -lt 10 ] || fail "runs took $((t1 - t0))s with failing channels"
	wait_for -t 5 received_is slack 2 || fail "the failing channel was never tried"
	assert_contains "$(rg notifications --failed)" "HTTP 500"
	rg_stop
	receiver_stop slack
}

t_notify_config_errors() {
	cfg_notify "    devops: { slack: { url_env: SLACK_URL, url: x } }
    bad: { telegram: {} }" \
		"    - { events: [rollback_sarted], envs: [prod], to: [devop] }"
	local out
	out=$(rg lint -c "$T/rollguard.yaml" 2>&1)
	assert_contains "$out" "unknown key 'url' in slack"
	assert_contains "$out" "unknown key 'telegram'"
	assert_contains "$out" "unknown event 'rollback_sarted' (did you mean 'rollback_started'?)"
	assert_contains "$out" "unknown environment 'prod'"
	assert_contains "$out" "unknown channel 'devop' (did you mean 'devops'?)"
	assert_match "$out" 'rollguard.yaml:[0-9]+:[0-9]+: '
	cfg_notify "    devops: { slack: { url_env: NO_SUCH_VARIABLE_X } }" \
		"    - { events: [rollback_started], to: [devops] }"
	out=$(rg lint -c "$T/rollguard.yaml" 2>&1)
	assert_contains "$out" "environment variable 'NO_SUCH_VARIABLE_X' is not set"
	# serve does not start without it either, and says which
	assert_exit 1 "$RG_BIN" serve -c "$T/rollguard.yaml"
	assert_contains "$(cat "$T/err")" "environment variable 'NO_SUCH_VARIABLE_X' is not set"
	assert_contains "$(cat "$T/err")" "cannot start"
}

t_notify_email_over_smtp() {
	/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || fail "python3-aiosmtpd is not installed (scripts/install-deps.sh)"
	local mp
	mp=$(rg_free_port)
	(cd "$T" && exec /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$mp" -c aiosmtpd.handlers.Mailbox "$T/mail") >"$T/smtp.out" 2>&1 &
	echo $! >"$T/smtp.pid"
	wait_for port_in_use "$mp" || fail "the SMTP server did not start: $(cat "$T/smtp.out")"
	cfg_notify "    leads: { email: { smtp: \"smtp://127.0.0.1:$mp\", from: rollguard@example.com, to: [cto@example.com, lead@example.com] } }" \
		"    - { events: [rollback_started], to: [leads] }"
	rg_start
	deploy_ok v1 production >/dev/null
	assert_exit 1 rg deploy v2 --env production --wait
	wait_for delivered_count_is 1 || fail "notifications: $(rg notifications)"
	local m
	m=$(cat "$T"/mail/new/* 2>/dev/null)
	assert_contains "$m" "From: rollguard@example.com"
	assert_contains "$m" "To: cto@example.com, lead@example.com"
	assert_contains "$m" "Message-ID: <rollguard-"
	assert_contains "$m" "Subject: =?UTF-8?B?"
	assert_contains "$m" "Failed Version: v2"
	rg_stop
	receiver_stop smtp
}

t_notify_approval_request_says_its_timeout() {
	local sp
	sp=$(rg_free_port)
	receiver slack "$sp"
	export SLACK_URL="http://127.0.0.1:$sp/hook"
	rg_config <<YAML
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  production:
    approvals:
      deploy: { required: 1, from: [approver], timeout: 1h }
deploy:
  - { name: a, run: @DIR@/mark a }
notify:
  channels:
    devops: { slack: { url_env: SLACK_URL } }
  routes:
    - { events: [approval_requested], to: [devops] }
YAML
	rg_start
	rg deploy v1 --env production >/dev/null
	wait_for received_is slack 1 || fail "no approval request reached slack"
	local b
	b=$(body_of slack 1)
	assert_contains "$b" 'Production Deploy Awaiting Approval'
	assert_contains "$b" 'Target Version: v1'
	assert_contains "$b" 'Timeout: 1h'
	rg abort "$(latest_run production)" >/dev/null
	rg_stop
	receiver_stop slack
}
