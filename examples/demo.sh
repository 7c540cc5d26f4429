#!/usr/bin/env bash
# demo.sh — `make demo`: v1.0.0 and v1.0.1 go live, v1.1.0 fails its smoke
# test and rollguard rolls production back to v1.0.1 by itself; then a person
# rolls back to v1.0.0 by name. All on 127.0.0.1 in a temp dir; it must never leave a process or a file behind, however it ends.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rg=${RG_BIN:-$root/build/rollguard}
for bin in "$rg" "$root/build/demo-app"; do
	[ -x "$bin" ] || { echo "demo: error: '$bin' is missing; run: make all" >&2; exit 2; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rollguard-demo.XXXXXX")
demo=$tmp/examples/demo
serve_pid=

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
}

start_server() {
	local port attempt
	for attempt in 1 2 3; do
		port=$(free_port)
		sed -i "s/^  listen: 127\.0\.0\.1:[0-9]*\$/  listen: 127.0.0.1:$port/" "$demo/rollguard.yaml"
		grep -q "^  listen: 127.0.0.1:$port\$" "$demo/rollguard.yaml" ||
			die "could not set server.listen in the copied rollguard.yaml"
		"$rg" serve -c "$demo/rollguard.yaml" >>"$tmp/serve.log" 2>&1 &
		serve_pid=$!
		export ROLLGUARD_URL="http://127.0.0.1:$port"
		for _ in $(seq 100); do
			curl -fsS -m 1 -o /dev/null "$ROLLGUARD_URL/health" 2>/dev/null && return 0
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

# The tiny bits of JSON the checks need, without jq: squeeze whitespace after
# ':' and put each object of an array on its own line.
json_flat() { tr -d '\n' | sed 's/"[[:space:]]*:[[:space:]]*/":/g; s/}[[:space:]]*,[[:space:]]*{/}\n{/g'; }
# The first value of key $1 on the line: a string, or a bare number.
json_get() { grep -o "\"$1\":\"\{0,1\}[^\",}]*" | head -n 1 | sed 's/^"[^"]*":"\{0,1\}//'; }

act "0. Starting the rollguard server on 127.0.0.1 with the demo pipeline (examples/demo/rollguard.yaml)"
prepare_config
start_server
echo "server up at $ROLLGUARD_URL (state in $demo/.rollguard)"

act "1. Deploy v1.0.0 to production: validate -> start app -> switch -> smoke -> monitor 2s"
rollguard deploy v1.0.0 --env production --wait || die "v1.0.0 should have gone live"

act "1b. Deploy v1.0.1, also healthy: it becomes known good and v1.0.0 is superseded"
rollguard deploy v1.0.1 --env production --wait || die "v1.0.1 should have gone live"

act "2. Deploy v1.1.0: its /health answers 503, the smoke test fails, rollguard rolls back to v1.0.1"
rc=0
rollguard deploy v1.1.0 --env production --wait || rc=$?
[ "$rc" -eq 1 ] || die "deploy v1.1.0 should end rolled back (exit 1), it exited $rc"

act "3. Production now"
rollguard status --env production

act "4. History of production, newest first"
rollguard history --env production
# The newest deploy run of v1.1.0 (history is newest first, one run a line).
v110=$("$rg" history --env production --json | json_flat |
	grep '"version":"v1.1.0"' | grep '"kind":"deploy"' | head -n 1 || true)
failed=$(printf '%s\n' "$v110" | json_get id)
[ -n "$failed" ] || die "history has no deploy run of v1.1.0"

act "5. The failed run's timeline: what happened, when, and why"
rollguard show "$failed"

act "6. A manual rollback to a named known-good release, first as a dry run: the plan, nothing changes"
rollguard rollback --env production --to v1.0.0 --dry-run || die "rollback --dry-run should show a plan"

act "7. Now for real: roll production back to v1.0.0 by hand, and wait until it is verified"
rollguard rollback --env production --to v1.0.0 --reason "demo: back to the oldest good release" --wait ||
	die "the manual rollback to v1.0.0 should have succeeded"
rollguard history --env production --limit 2

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

act "Done: v1.1.0 was rolled back automatically, then production was rolled back by hand to v1.0.0"
