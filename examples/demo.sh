#!/usr/bin/env bash
# demo.sh — `make demo`: demo-app releases behind rollguard's built-in proxy,
# under real load from wrk. v1.0.0 goes live; v1.0.1 takes traffic
# 10 % → 50 % → 100 % (watched live with `status --watch`); a person rolls
# production back to v1.0.0 by name; the controller is killed with SIGKILL
# under load and started again (the proxy, its own process, serves on: not
# one socket error); then v1.1.0 answers 5 % errors at its
# 10 % canary, the sequential test catches it against v1.0.0, and rollguard
# swaps all traffic back before undoing anything — the demo prints the time
# from the canary's first 5xx to 100 % on v1.0.0 and the decision's evidence,
# and the Slack messages of the rollbacks as a local receiver got them,
# and the incident the automatic rollback opened with its post-mortem draft.
# All on 127.0.0.1 in a temp dir; it must never leave a process or a file
# behind, however it ends. It ends with the dashboard's address; DEMO_KEEP=1
# leaves the server (and the temp dir) up for a look until Ctrl-C or an hour.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rg=${RG_BIN:-$root/build/rollguard}
for bin in "$rg" "$root/build/demo-app"; do
	[ -x "$bin" ] || { echo "demo: error: '$bin' is missing; run: make all" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "demo: error: wrk is missing; run: bash scripts/install-deps.sh" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rollguard-demo.XXXXXX")
demo=$tmp/examples/demo
serve_pid=
wrk_pid=
slack_pid=

# Gone or a zombie: a demo-app is an orphan, whose zombie lingers until init
# reaps it, so kill -0 alone would wait for nothing.
alive() {
	local state
	state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[[ $state != Z* ]]
}

# Stops a process by pid: SIGTERM, then SIGKILL if it is still there after 5 s.
stop_pid() {
	kill -TERM "$1" 2>/dev/null || return 0
	for _ in $(seq 50); do
		alive "$1" || return 0
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
}

# Runs on every exit, Ctrl-C included. The server first, so it starts nothing
# new; then every demo-app, found by its pidfile; then any process whose
# command line names this run's unique temp dir (a demo-app caught between
# start and pidfile); then the files.
cleanup() {
	local rc=$? f pid
	trap - EXIT INT TERM
	set +e
	[ -n "$wrk_pid" ] && stop_pid "$wrk_pid"
	[ -n "$slack_pid" ] && stop_pid "$slack_pid"
	[ -n "$serve_pid" ] && stop_pid "$serve_pid" && wait "$serve_pid" 2>/dev/null
	for f in "$demo"/.rollguard/demo-run/*/app-*.pid; do
		[ -s "$f" ] && stop_pid "$(cat "$f")"
	done
	for pid in $(pgrep -f -- "$tmp/" 2>/dev/null); do
		stop_pid "$pid"
	done
	if [ "$rc" -ne 0 ] && [ -s "$tmp/serve.log" ]; then
		echo "--- last lines of the rollguard server's log ---" >&2
		tail -n 30 "$tmp/serve.log" >&2
	fi
	if [ -n "${DEMO_KEEP:-}" ]; then echo "demo: kept $tmp" >&2; else rm -rf "$tmp"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() { echo "demo: error: $*" >&2; exit 1; }

if [ -t 1 ]; then bold=$'\e[1m' plain=$'\e[0m'; else bold='' plain=''; fi
act() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }

# Prints the command, then runs the CLI; a hung server cannot hang the demo.
# --foreground keeps Ctrl-C reaching the CLI.
rollguard() {
	printf '$ rollguard %s\n' "$*"
	timeout --foreground 60 "$rg" "$@"
}

# A port nobody answers on. The server may still lose a race for it, which
# start_server handles by trying another.
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	die "no free port found on 127.0.0.1"
}

# The config runs in a copy under $tmp: its state and the demo-apps' pidfiles
# land there. $tmp/build links to the real build, so the config's relative
# DEMO_APP path (../../build/demo-app) works unchanged in the copy.
prepare_config() {
	mkdir -p "$tmp/examples"
	cp -R "$root/examples/demo" "$demo"
	rm -rf "$demo/.rollguard"
	ln -s "$root/build" "$tmp/build"
	add_slack
}

# A Slack-like receiver on 127.0.0.1 (the tests' helper) that records what
# it is sent, and a notify section sending production's rollbacks to it.
add_slack() {
	local port
	port=$(free_port)
	/usr/bin/python3 "$root/tests/integration/helpers/receiver.py" "$port" "$tmp/slack.log" \
		>>"$tmp/slack.out" 2>&1 &
	slack_pid=$!
	export DEMO_SLACK_URL="http://127.0.0.1:$port/services/demo"
	cat >>"$demo/rollguard.yaml" <<'YAML'

notify:                           # the runbooks' Slack messages, to a local receiver
  channels:
    devops: { slack: { url_env: DEMO_SLACK_URL } }
  routes:
    - { events: [rollback_started, rollback_succeeded], envs: [production], to: [devops] }
YAML
}

# Prints the messages the Slack receiver got, as Slack would show them.
slack_messages() {
	/usr/bin/python3 - "$tmp/slack.log" <<'PY'
import json, sys
try:
    lines = open(sys.argv[1]).read().splitlines()
except FileNotFoundError:
    lines = []
for line in lines:
    r = json.loads(line)
    print("  ┌─ #devops (%s)" % r["headers"].get("Idempotency-Key", ""))
    for t in json.loads(r["body"])["text"].splitlines():
        print("  │ " + t)
    print("  └─")
PY
}

# Each environment's proxy gets a free port too (in proxy.listen and in the
# DEMO_PROXY the scripts use).
set_proxy_ports() {
	local env_port
	for env_port in 18080 18081; do
		sed -i "s/127\.0\.0\.1:$env_port\b/127.0.0.1:$(free_port)/g" "$demo/rollguard.yaml"
	done
	proxy=$(sed -n 's/^ *proxy: { listen: \(127\.0\.0\.1:[0-9]*\),.*/\1/p' "$demo/rollguard.yaml" | tail -n 1)
	[ -n "$proxy" ] || die "could not find production's proxy address in the copied rollguard.yaml"
}

start_server() {
	local port attempt
	for attempt in 1 2 3; do
		set_proxy_ports
		port=$(free_port)
		sed -i "s/^  listen: 127\.0\.0\.1:[0-9]*\$/  listen: 127.0.0.1:$port/" "$demo/rollguard.yaml"
		grep -q "^  listen: 127.0.0.1:$port\$" "$demo/rollguard.yaml" ||
			die "could not set server.listen in the copied rollguard.yaml"
		"$rg" serve -c "$demo/rollguard.yaml" >>"$tmp/serve.log" 2>&1 &
		serve_pid=$!
		export ROLLGUARD_URL="http://127.0.0.1:$port"
		for _ in $(seq 100); do
			if curl -fsS -m 1 -o /dev/null "$ROLLGUARD_URL/health" 2>/dev/null; then
				# the first admin token serve wrote (the CLI would also find
				# it through -c; the curl calls below need it by name)
				ROLLGUARD_TOKEN=$(cat "$demo/.rollguard/admin.token") && export ROLLGUARD_TOKEN
				return 0
			fi
			kill -0 "$serve_pid" 2>/dev/null || break
			sleep 0.1
		done
		stop_pid "$serve_pid"
		wait "$serve_pid" 2>/dev/null || true
		serve_pid=
		echo "demo: the server did not come up on port $port (attempt $attempt)" >&2
	done
	die "rollguard serve did not start; see its log above"
}

# Starts serve again with the same config (same ports): it re-attaches to
# the proxy process, which kept serving.
restart_server() {
	"$rg" serve -c "$demo/rollguard.yaml" >>"$tmp/serve.log" 2>&1 &
	serve_pid=$!
	for _ in $(seq 100); do
		curl -fsS -m 1 -o /dev/null "$ROLLGUARD_URL/health" 2>/dev/null && return 0
		kill -0 "$serve_pid" 2>/dev/null || break
		sleep 0.1
	done
	die "rollguard serve did not start again; see its log above"
}

# The tiny bits of JSON the checks need, without jq: squeeze whitespace after
# ':' and put each object of an array on its own line.
json_flat() { tr -d '\n' | sed 's/"[[:space:]]*:[[:space:]]*/":/g; s/}[[:space:]]*,[[:space:]]*{/}\n{/g'; }
# The first value of key $1 on the line: a string, or a bare number.
json_get() { grep -o "\"$1\":\"\{0,1\}[^\",}]*" | head -n 1 | sed 's/^"[^"]*":"\{0,1\}//'; }

# The first event message of a run that contains $2.
event_with() { "$rg" show "$1" --json | grep -o '"message": *"[^"]*'"$2"'[^"]*"' | head -n 1 | sed 's/^"message": *"//; s/"$//'; }

# Requests, 5xx and p99 per release as the proxy counted them (GET
# /api/v1/traffic): one line per release.
traffic_summary() {
	curl -fsS -m 2 -H "Authorization: Bearer $ROLLGUARD_TOKEN" \
		"$ROLLGUARD_URL/api/v1/traffic?env=production" | json_flat |
		sed 's/"version":/\n"version":/g' | sed -n 's/^"version":"\([^"]*\)","side":"\([^"]*\)".*"total":{"requests":\([0-9]*\).*"5xx":\([0-9]*\).*"p99":\([0-9.]*\).*"window".*/  \1 (\2): \3 requests, \4 answered 5xx, p99 \5 ms/p'
}

# Waits until run $1 has an event containing $2 (at most 20 s).
wait_event() {
	for _ in $(seq 200); do
		"$rg" show "$1" --json 2>/dev/null | grep -qF "$2" && return 0
		sleep 0.1
	done
	die "run $1 never reached: $2"
}

act "0. Starting the rollguard server on 127.0.0.1 with the demo pipeline (examples/demo/rollguard.yaml)"
prepare_config
start_server
echo "server up at $ROLLGUARD_URL (state in $demo/.rollguard); production's proxy listens on $proxy"

act "1. Deploy v1.0.0 to production: validate -> start app -> traffic -> smoke -> monitor 2s"
rollguard deploy v1.0.0 --env production --wait || die "v1.0.0 should have gone live"
curl -fsS -m 2 "http://$proxy/" || die "the proxy should answer from v1.0.0"

act "2. Real load from now on: wrk, 2 threads, 16 connections, through the proxy on $proxy"
wrk -t2 -c16 -d60s --latency "http://$proxy/" >"$tmp/wrk.out" 2>&1 &
wrk_pid=$!
echo "wrk started (pid $wrk_pid)"
sleep 1

act "3. Deploy v1.0.1 as a canary and watch the split move 10% -> 50% -> 100%"
rollguard deploy v1.0.1 --env production
rollguard status --env production --watch || true
[ "$("$rg" history --env production --limit 1 --json | json_flat | json_get state)" = succeeded ] ||
	die "v1.0.1 should have gone live"

act "4. A manual rollback to a named known-good release, first as a dry run: the plan, nothing changes"
rollguard rollback --env production --to v1.0.0 --dry-run || die "rollback --dry-run should show a plan"

act "5. Now for real: v1.0.0 was retired after v1.0.1's drain, so it is started again, traffic moves to it, then v1.0.1 stops"
rollguard rollback --env production --to v1.0.0 --reason "demo: back to the oldest good release" --wait ||
	die "the manual rollback to v1.0.0 should have succeeded"
curl -fsS -m 2 "http://$proxy/" || die "the proxy should answer from v1.0.0"

act "6. The controller crashes under load: kill -9 rollguard serve, wait a second, start it again"
echo "the proxy runs in its own process (pid $(cat "$demo/.rollguard/proxy.pid")); serve is pid $serve_pid"
wrk -t1 -c4 -d4s "http://$proxy/" >"$tmp/wrk-crash.out" 2>&1 &
crash_wrk=$!
sleep 0.5
kill -KILL "$serve_pid"
wait "$serve_pid" 2>/dev/null || true
echo "serve killed; the proxy serves on with the last routing table"
sleep 1
restart_server
echo "serve is back (pid $serve_pid): $(grep -o 'attached to the proxy process (pid [0-9]*' "$tmp/serve.log" | tail -n 1))"
wait "$crash_wrk" 2>/dev/null || true
crash_total=$(sed -n 's/^ *\([0-9][0-9]*\) requests in \([0-9.]*[a-z]*\).*/\1 requests in \2/p' "$tmp/wrk-crash.out")
crash_sockets=$(sed -n 's/^ *Socket errors: *\(.*\)/\1/p' "$tmp/wrk-crash.out")
printf '%swrk across the crash: %s, socket errors: %s%s\n' "$bold" "${crash_total:-?}" "${crash_sockets:-none}" "$plain"
[ -z "$crash_sockets" ] || die "the load noticed the controller's crash: $crash_sockets"
traffic_summary

act "7. Deploy v1.1.0: it answers 5% of its requests with 500; at 10% the sequential test compares it with v1.0.0"
out=$(rollguard deploy v1.1.0 --env production) || die "deploy v1.1.0 was refused"
printf '%s\n' "$out"
failed=$(printf '%s\n' "$out" | sed -n 's/^run \([0-9][0-9]*\):.*/\1/p' | head -n 1)
[ -n "$failed" ] || die "no run id in: $out"
rollguard status --env production --watch || true
v110=$("$rg" history --env production --json | json_flat | grep "\"id\":$failed," | head -n 1 || true)
[ "$(printf '%s\n' "$v110" | json_get state)" = rolled_back ] || die "run $failed (v1.1.0) should have ended rolled_back: $v110"
curl -fsS -m 2 "http://$proxy/" || die "the proxy should answer from v1.0.0"

act "8. From the canary's first 5xx to 100% of the traffic on v1.0.0"
first_us=$(sed -n 's/.*first injected fault at \([0-9]*\) us.*/\1/p' "$demo"/.rollguard/demo-run/production/app-v1.1.0.log | head -n 1)
swap_ms=$("$rg" show "$failed" --json | json_flat | sed 's/},/},\n/g' | grep '"traffic_swapped"' | json_get at_ms)
[ -n "$first_us" ] && [ -n "$swap_ms" ] || die "missing the first fault's or the swap's time"
printf '%sfirst 5xx of v1.1.0 -> all traffic on v1.0.0: %d ms%s\n' "$bold" $(((swap_ms * 1000 - first_us) / 1000)) "$plain"
event_with "$failed" "traffic swapped"
echo
echo "the decision and its evidence:"
"$rg" show "$failed" | sed -n '/^decision$/,/^$/p'

act "8b. What #devops was told: the Slack messages of the automatic rollback, as a local receiver got them"
for _ in $(seq 50); do
	[ "$(grep -c ROLLBACK "$tmp/slack.log" 2>/dev/null)" -ge 2 ] && break
	sleep 0.1
done
slack_messages
grep -q 'AUTOMATIC ROLLBACK COMPLETED' "$tmp/slack.log" || die "the Slack receiver did not get the rollback's messages"
rollguard notifications --env production

act "8c. The incident the automatic rollback opened, and the post-mortem draft a person finishes"
rollguard incidents --env production
incident=$("$rg" incidents --env production --json | json_flat | json_get id)
[ -n "$incident" ] || die "the automatic rollback should have opened an incident"
rollguard ack "$incident" --note "looking at v1.1.0's error rate"
rollguard postmortem "$incident" | sed -n '1,40p'

act "9. The load all along: every request answered?"
kill -INT "$wrk_pid" 2>/dev/null || true   # wrk prints its summary on SIGINT
wait "$wrk_pid" 2>/dev/null || true
wrk_pid=
total=$(sed -n 's/^ *\([0-9][0-9]*\) requests in \([0-9.]*[a-z]*\).*/\1 requests in \2/p' "$tmp/wrk.out")
p99=$(sed -n 's/^ *99% *\([0-9.]*[a-z]*\).*/\1/p' "$tmp/wrk.out")
non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$tmp/wrk.out")
sockets=$(sed -n 's/^ *Socket errors: *\(.*\)/\1/p' "$tmp/wrk.out")
echo "wrk: ${total:-?} through three deploys, a manual and an automatic rollback, and a controller crash; p99 ${p99:-?}"
echo "wrk: non-2xx responses: ${non2xx:-0} (the releases' own 0.1 % and v1.1.0's 5 % while it had its 10 %); socket errors: ${sockets:-none}"

act "10. Who did what: the audit log, chained entry to entry"
rollguard audit -c "$demo/rollguard.yaml" --limit 6
rollguard audit verify -c "$demo/rollguard.yaml" || die "the audit log's chain is broken"

# ---- the flag scene: partial rollback by feature flag (runbook procedure 4),
# in staging so that production's story below stays as it was.
act "10. A feature behind a flag: an application reads new-checkout over OFREP; its check breaks during a staging deploy"
flag_token=$("$rg" token create checkout-app --role flags --env staging -c "$demo/rollguard.yaml" | tail -n 1)
ofrep_ask() {
	curl -fsS -m 2 -H "Authorization: Bearer $flag_token" -H 'Content-Type: application/json' \
		-d '{"context":{"targetingKey":"user-42"}}' "$ROLLGUARD_URL/ofrep/v1/evaluate/flags/new-checkout"
}
echo "the application asks: $(ofrep_ask)"
mkdir -p "$demo/.rollguard/demo-run/staging"
: >"$demo/.rollguard/demo-run/staging/checkout-broken"
rollguard deploy v1.0.0 --env staging --wait || die "v1.0.0 should go live in staging: a flag is turned off, nothing is rolled back"
staged=$("$rg" history --env staging --limit 1 --json | json_flat | json_get id)
answer=$(ofrep_ask)
echo "the application asks again: $answer"
case $answer in *'"reason":"DISABLED"'*) ;; *) die "new-checkout should be off in staging: $answer" ;; esac
event_with "$staged" "turned off"
rollguard flags --env staging
rm -f "$demo/.rollguard/demo-run/staging/checkout-broken"
rollguard flag set new-checkout --env staging on --reason "demo: checkout fixed" >/dev/null
echo "fixed, and back on by hand: $(ofrep_ask)"

# The story happened only if v1.0.0 is the live release and v1.1.0's run
# ended rolled back.
status=$("$rg" status --env production --json | json_flat)
live=$(printf '%s\n' "$status" | sed -n 's/.*"live":{\([^}]*\)}.*/\1/p')
[ "$(printf '%s\n' "$live" | json_get version)" = v1.0.0 ] ||
	die "v1.0.0 should be live in production; status says: $status"
case $(printf '%s\n' "$live" | json_get state) in
live | known_good) ;;
*) die "v1.0.0 should be live or known good; status says: $status" ;;
esac
[ "$(printf '%s\n' "$v110" | json_get state)" = rolled_back ] ||
	die "run $failed (v1.1.0) should have ended rolled_back: $v110"

act "Done: v1.0.1 went live in three traffic steps, production went back to v1.0.0 by hand, the load never noticed the controller's crash, and v1.1.0 was caught at 10% by the sequential test and swapped out"

# The dashboard is served by the same server: signing in takes a token (the
# first admin token serve wrote into its state directory, mode 0600).
echo
if [ -z "${DEMO_KEEP:-}" ]; then
	echo "dashboard: $ROLLGUARD_URL/ while the demo runs; DEMO_KEEP=1 make demo leaves it up for a look"
else
	echo "dashboard: $ROLLGUARD_URL/ (sign in with the token in $demo/.rollguard/admin.token)"
	keep_s=${DEMO_KEEP_SECONDS:-3600}
	echo "DEMO_KEEP: the server stays up for a look for ${keep_s}s; Ctrl-C stops it and cleans up"
	for _ in $(seq "$keep_s"); do
		kill -0 "$serve_pid" 2>/dev/null || break
		sleep 1
	done
fi
