# lib.sh — the one helper every integration test shares.
# It starts a real `rollguard serve` on a free 127.0.0.1 port in a temp dir,
# runs the real CLI against it, and tears everything down. It must never
# depend on python3 or jq (a fresh Debian has bash, coreutils, grep, sed,
# awk, curl, sqlite3, procps), and never touch anything outside $T.
#
# Layout of a test's temp dir $T:
#   rollguard.yaml   the config (rg_config); commands run here (config dir)
#   run/             cwd of serve, of the CLI and of the test itself
#   state/           server.state in the configs the tests write
#   serve.log        stderr+stdout of every serve started (appended)
#   cli.log          every CLI call with its stderr (appended)
#   mark, health     step helpers (see rg_helpers)
#   markers          one line per command started by `mark LABEL`
#   ends             one line per `mark LABEL` that finished successfully
#   env.LABEL        `env | sort` of the last `mark LABEL`

: "${RG_BIN:?RG_BIN must name the rollguard binary}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
unset ROLLGUARD_URL ROLLGUARD_TOKEN ROLLGUARD_CRASH_AT

SANITIZER_RE='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer'
TERMINAL_STATES=' succeeded failed rolled_back rollback_failed aborted '

# ---------------------------------------------------------------- failures

# Ends the test. Called inside $(…) it only ends that subshell, so it also
# leaves $T/.failed behind, which fails the test whatever happens next.
fail() {
	echo "FAIL: $*" >&2
	[ -n "${T:-}" ] && [ -d "$T" ] && echo "$*" >>"$T/.failed"
	exit 1
}

# ---------------------------------------------------------------- set-up

# Is anything listening on 127.0.0.1:$1?
port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints a port nobody listens on, below the ephemeral range.
rg_free_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		if ! port_in_use "$p" && ! grep -qx "$p" "${RG_PORTS_TAKEN:-/dev/null}" 2>/dev/null; then
			[ -n "${RG_PORTS_TAKEN:-}" ] && echo "$p" >>"$RG_PORTS_TAKEN"
			echo "$p"
			return 0
		fi
	done
	echo "rg_free_port: no free port found" >&2
	return 1
}

# Makes $T and picks $RG_PORT (the API) and $RG_PORT2 (a second free port a
# test may use for a demo app or a check that must fail).
rg_setup() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/rgtest.XXXXXX") || return 1
	T=$(cd "$T" && pwd -P)
	mkdir -p "$T/run"
	RG_PORTS_TAKEN="$T/.ports"
	: >"$RG_PORTS_TAKEN"
	RG_PORT=$(rg_free_port) || return 1
	RG_PORT2=$(rg_free_port) || return 1
	RG_URL="http://127.0.0.1:$RG_PORT"
	export T RG_PORT RG_PORT2 RG_URL
}

# Writes the step helpers into $T (called by rg_config).
#   mark LABEL [ACTION]...   records LABEL in markers, its env in env.LABEL,
#                            its cwd in pwd.LABEL, then the actions in order:
#     out K=V        append K=V to $ROLLGUARD_OUTPUT
#     fail           exit 1            failif V      exit 1 if VERSION = V
#     failn N        exit 1 on the first N runs of LABEL
#     sleep S        sleep S seconds   sleepif V S   sleep if VERSION = V
#     say TEXT       print TEXT on stdout
#     sickif V       make the `health` check fail if VERSION = V
#     heal           make the `health` check pass again
#   and on success appends LABEL to ends.
#   health           exit 0 unless `sickif` made it sick
rg_helpers() {
	cat >"$T/mark" <<'SH'
#!/bin/sh
d=$(cd "$(dirname "$0")" && pwd -P)
label=$1
shift
echo "$label" >>"$d/markers"
echo "$$" >>"$d/pids"
env | sort >"$d/env.$label"
pwd -P >"$d/pwd.$label"
while [ $# -gt 0 ]; do
	case $1 in
	out) echo "$2" >>"$ROLLGUARD_OUTPUT"; shift 2 ;;
	fail) echo "mark $label: failing on purpose" >&2; exit 1 ;;
	failif) if [ "$ROLLGUARD_VERSION" = "$2" ]; then echo "mark $label: failing for $2" >&2; exit 1; fi; shift 2 ;;
	failn) n=$(grep -cxF "$label" "$d/markers"); if [ "$n" -le "$2" ]; then echo "mark $label: attempt $n fails" >&2; exit 1; fi; shift 2 ;;
	sleep) sleep "$2"; shift 2 ;;
	sleepif) if [ "$ROLLGUARD_VERSION" = "$2" ]; then sleep "$3"; fi; shift 3 ;;
	say) echo "$2"; shift 2 ;;
	sickif) if [ "$ROLLGUARD_VERSION" = "$2" ]; then : >"$d/unhealthy"; fi; shift 2 ;;
	heal) rm -f "$d/unhealthy"; shift ;;
	*) echo "mark: unknown action '$1'" >&2; exit 99 ;;
	esac
done
echo "$label" >>"$d/ends"
exit 0
SH
	cat >"$T/health" <<'SH'
#!/bin/sh
d=$(cd "$(dirname "$0")" && pwd -P)
echo "$$" >>"$d/pids"
if [ -e "$d/unhealthy" ]; then echo "unhealthy"; exit 1; fi
echo "healthy"
SH
	chmod +x "$T/mark" "$T/health"
}

# rg_config [FILE] <<'YAML' — writes $T/rollguard.yaml (or $T/FILE) with
# @PORT@, @PORT2@, @DIR@ and @DEMO@ (the demo-app binary) replaced, and
# installs the step helpers.
rg_config() {
	local f="$T/${1:-rollguard.yaml}"
	sed -e "s|@PORT@|$RG_PORT|g" -e "s|@PORT2@|$RG_PORT2|g" -e "s|@DIR@|$T|g" \
		-e "s|@DEMO@|${DEMO_APP:-demo-app}|g" >"$f"
	rg_helpers
}

# rg_script NAME <<'SH' — an executable $T/NAME, with the same substitutions.
rg_script() {
	rg_config "$1"
	chmod +x "$T/$1"
}

# rg_release_app — writes $T/app.sh start|stop|retire: one demo-app per
# release ($ROLLGUARD_VERSION) on a free port, publishing backend=ADDR.
# Versions ending in -sick fail /health; -errors answer 30 % of GET / with 500
# (and fail /health); -err5 answer 5 % of GET / with 500; -e02 0.2 %;
# -slow take 300 ms.
# stop/retire save the release's /metrics (its own count of 500s) first.
rg_release_app() {
	[ -x "${DEMO_APP:-}" ] || fail "demo-app is not built (make build/demo-app)"
	rg_script app.sh <<'SH'
#!/bin/sh
d=@DIR@
echo "$$" >>"$d/pids"
v=$ROLLGUARD_VERSION
echo "app.sh $1 $v" >>"$d/markers"
pidf="$d/app-$v.pid"
case $1 in
start)
	if [ -s "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
		sed -n 's/.* listening on \(127\.0\.0\.1:[0-9]*\).*/backend=\1/p' "$d/app-$v.log" | tail -n 1 >>"$ROLLGUARD_OUTPUT"
		exit 0
	fi
	flags=
	case $v in
	*-sick) flags=--fail-health ;;
	*-errors) flags="--error-rate 0.3 --fail-health" ;;
	*-err5) flags="--error-rate 0.05 --seed 7" ;;
	*-slow) flags="--latency-ms 300" ;;
	*-e02) flags="--error-rate 0.002 --seed 11" ;;
	esac
	setsid @DEMO@ --listen 127.0.0.1:0 --version "$v" $flags --threads 2 --pidfile "$pidf" \
		</dev/null >"$d/app-$v.log" 2>&1 &
	i=0
	while [ ! -s "$pidf" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	[ -s "$pidf" ] || { echo "demo-app $v did not start" >&2; exit 1; }
	cat "$pidf" >>"$d/pids"
	sed -n 's/.* listening on \(127\.0\.0\.1:[0-9]*\).*/backend=\1/p' "$d/app-$v.log" | tail -n 1 >>"$ROLLGUARD_OUTPUT"
	;;
stop | retire)
	[ -s "$pidf" ] || exit 0
	b=$(sed -n 's/.* listening on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$d/app-$v.log" | tail -n 1)
	curl -s -m 2 "http://$b/metrics" >"$d/metrics-$v" || true
	kill "$(cat "$pidf")" 2>/dev/null
	i=0
	while [ -f "$pidf" ] && [ $i -lt 50 ]; do sleep 0.05; i=$((i + 1)); done
	;;
esac
SH
}

# cfg_traffic: one env, prod, behind the built-in proxy (@PORT2@, two
# threads), demo-app releases (rg_release_app) shifted 10 → 50 → 100 with
# $PAUSE between steps (default 600ms), and a P0 trigger on the canary's
# health. t_traffic.sh and t_dataplane.sh.
cfg_traffic() {
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
    proxy: { listen: 127.0.0.1:@PORT2@, threads: 2, force_header: { name: X-Rollguard-Release, from: [127.0.0.1] } }
deploy:
  - name: app
    run: @DIR@/app.sh start
    undo: @DIR@/app.sh stop
  - name: canary
    traffic: { backend: app.backend, steps: [10, 50, 100], pause: @PAUSE@, drain: 400ms, retire: @DIR@/app.sh retire }
  - name: smoke
    checks: [through_proxy]
checks:
  through_proxy: { http: "http://127.0.0.1:@PORT2@/health", timeout: 2s }
  canary_health: { run: "curl -fsS -m 2 -H 'X-Rollguard-Release: canary' http://127.0.0.1:@PORT2@/health", timeout: 3s }
triggers:
  - { name: canary-health, check: canary_health, every: 200ms, failures: 2, severity: P0 }
YAML
	sed -i "s|@PAUSE@|${PAUSE:-600ms}|" "$T/rollguard.yaml"
}

# load_stop — ends the background load a test started (its pid in LOAD_PID).
load_stop() {
	kill "$LOAD_PID" 2>/dev/null
	wait "$LOAD_PID" 2>/dev/null
	true
}

# Sum of one counter series over saved and live demo-app /metrics outputs.
sum_500() {
	cat "$T"/metrics-* 2>/dev/null | sed -n 's/^demo_requests_total{code="500"} \([0-9]*\)$/\1/p' |
		awk '{ s += $1 } END { print s + 0 }'
}

# cfg_stubborn ENV_GRACE [STEP_GRACE] — one step, `stubborn`, whose script
# records its pid (stubborn.pid) and its process group (stubborn.pgid),
# writes "term" to stubborn.term on each SIGTERM and never ends by itself.
cfg_stubborn() {
	rg_config <<YAML
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    kill_grace: $1
deploy:
  - name: stubborn
    run: @DIR@/stubborn
${2:+    kill_grace: $2}
YAML
	rg_script stubborn <<'SH'
#!/bin/sh
echo $$ > @DIR@/stubborn.pid
awk '{ print $5 }' /proc/$$/stat > @DIR@/stubborn.pgid
trap 'echo term >> @DIR@/stubborn.term' TERM
while :; do sleep 0.1; done
SH
}

# run_has_event ID TEXT — a predicate for wait_for.
run_has_event() {
	rg show "$1" --json 2>/dev/null | grep -qF "$2"
}

# The releases keep running after serve stops (as in production); the test
# stops them itself.
stop_apps() {
	local f
	for f in "$T"/app-*.pid; do
		[ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	wait_for -t 5 no_release_apps_left || true
}

no_release_apps_left() {
	! ls "$T"/app-*.pid >/dev/null 2>&1
}

# ---------------------------------------------------------------- the server

rg_serve_pid() {
	cat "$T/serve.pid" 2>/dev/null
}

serve_alive() {
	local pid
	pid=$(rg_serve_pid)
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# Starts serve in the background (environment of the caller, so
# `ROLLGUARD_CRASH_AT=step_end:b rg_start` works) and waits for /health.
rg_start() {
	local pid i
	echo "----- serve started $(date +%T.%N) ${ROLLGUARD_CRASH_AT:+ROLLGUARD_CRASH_AT=$ROLLGUARD_CRASH_AT}" >>"$T/serve.log"
	(cd "$T/run" && exec "$RG_BIN" serve -c "$T/rollguard.yaml") >>"$T/serve.log" 2>&1 &
	pid=$!
	echo "$pid" >"$T/serve.pid"
	for i in $(seq 1 100); do
		if curl -fsS -o /dev/null --max-time 1 "$RG_URL/health" 2>/dev/null; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || fail "serve exited during start-up (see serve.log)"
		sleep 0.1
	done
	fail "serve did not answer GET /health within 10s"
}

# Waits up to $1 seconds (default 10) for serve to be gone.
wait_serve_dead() {
	local pid i n=$((${1:-10} * 10))
	pid=$(rg_serve_pid)
	[ -n "$pid" ] || return 0
	for i in $(seq 1 "$n"); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# Sanitizer reports in anything the test ran.
check_sanitizers() {
	local f
	for f in "$T/serve.log" "$T/cli.log"; do
		[ -f "$f" ] || continue
		if grep -Eq "$SANITIZER_RE" "$f"; then
			grep -E -B2 -A20 "$SANITIZER_RE" "$f" | head -60 >&2
			fail "sanitizer report in $(basename "$f")"
		fi
	done
}

# SIGTERM, wait for a clean exit (status 0), no sanitizer reports.
rg_stop() {
	local pid rc
	pid=$(rg_serve_pid)
	[ -n "$pid" ] || fail "rg_stop: no serve started"
	kill -TERM "$pid" 2>/dev/null || fail "rg_stop: serve (pid $pid) was not running"
	wait_serve_dead 10 || {
		kill -9 "$pid" 2>/dev/null
		fail "serve did not exit within 10s of SIGTERM"
	}
	rc=0
	wait "$pid" 2>/dev/null || rc=$?
	rm -f "$T/serve.pid"
	check_sanitizers
	# 127: not our child (started by another shell); nothing to check.
	[ "$rc" = 0 ] || [ "$rc" = 127 ] || fail "serve exited with status $rc after SIGTERM"
}

# SIGKILL, as a crash would.
rg_kill9() {
	local pid
	pid=$(rg_serve_pid)
	[ -n "$pid" ] || fail "rg_kill9: no serve started"
	kill -KILL "$pid" 2>/dev/null
	wait_serve_dead 10 || fail "serve survived SIGKILL"
	wait "$pid" 2>/dev/null
	rm -f "$T/serve.pid"
}

# Processes whose cwd is inside $T (step children, serve, our CLI calls),
# other than the calling shell.
procs_in_T() {
	local p c anc=" " a=$BASHPID
	while [ -n "$a" ] && [ "$a" -gt 1 ]; do
		anc="$anc$a "
		a=$(awk '/^PPid:/ { print $2 }' "/proc/$a/status" 2>/dev/null)
	done
	for p in /proc/[0-9]*; do
		c=$(readlink "$p/cwd" 2>/dev/null) || continue
		case "$c" in
		"$T" | "$T"/*)
			case "$anc" in *" ${p#/proc/} "*) ;; *) echo "${p#/proc/}" ;; esac
			;;
		esac
	done
}

# Pids of processes in $T whose command line is exactly "$*".
procs_matching() {
	local p cmd want="$*"
	for p in $(procs_in_T); do
		cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) || continue
		[ "${cmd% }" = "$want" ] && echo "$p"
	done
}

no_procs_left() {
	[ -z "$(procs_in_T)" ]
}

# "PID: command line" of every process in $T, for messages.
procs_described() {
	local p
	for p in $(procs_in_T); do
		printf '%s: %s; ' "$p" "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
	done
}

# Kills every process the test left: serve, its proxy process, step children (by cwd and by the
# pids the helpers recorded), CLI calls. Called by the runner.
rg_cleanup_procs() {
	local p round
	for round in 1 2 3; do
		for p in $(procs_in_T) $(cat "$T/pids" 2>/dev/null) $(rg_serve_pid) \
			$(cat "$T/state/proxy.pid" 2>/dev/null); do
			[ "$p" = "$$" ] && continue
			# only pids still inside $T: a recorded pid may have been reused
			case "$(readlink "/proc/$p/cwd" 2>/dev/null)" in
			"$T" | "$T"/*) kill -KILL "$p" 2>/dev/null ;;
			esac
		done
		[ -z "$(procs_in_T)" ] && return 0
		sleep 0.1
	done
}

# Unmounts whatever a test mounted inside $T (a small tmpfs for the state
# directory), so that removing $T never meets a busy mount point.
rg_unmount_all() {
	local m
	for m in $(awk -v t="$T/" 'index($2, t) == 1 { print $2 }' /proc/mounts 2>/dev/null); do
		umount -l "$m" 2>/dev/null
	done
	true
}

# ---------------------------------------------------------------- the CLI

# rg_admin_token — the first admin token serve wrote into the state
# directory ("" before serve made one). The CLI finds it by itself through
# ./rollguard.yaml or -c; tests name it because they run elsewhere.
rg_admin_token() {
	local f
	for f in "$T/state/admin.token" "$T/.rollguard/admin.token"; do
		[ -r "$f" ] && { head -n1 "$f"; return 0; }
	done
	return 0
}

# acurl ARGS… — curl with the admin token, for reading the API directly.
acurl() {
	curl -H "Authorization: Bearer $(rg_admin_token)" "$@"
}

# rg ARGS… — the CLI against this test's server; stderr is passed through
# and also kept in cli.log (checked for sanitizer reports).
rg() {
	local errf rc=0
	errf=$(mktemp "$T/.cli.XXXXXX")
	ROLLGUARD_URL="${ROLLGUARD_URL:-$RG_URL}" ROLLGUARD_TOKEN="${ROLLGUARD_TOKEN-$(rg_admin_token)}" \
		"$RG_BIN" "$@" 2>"$errf" || rc=$?
	cat "$errf" >&2
	{
		echo "\$ rollguard $* (exit $rc)"
		cat "$errf"
	} >>"$T/cli.log"
	rm -f "$errf"
	return "$rc"
}

# assert_exit CODE CMD… — runs CMD with stdout in $T/out and stderr in
# $T/err (kept for later assertions) and checks its exit status.
assert_exit() {
	local want=$1 rc=0
	shift
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	if [ "$rc" != "$want" ]; then
		echo "--- stdout of: $*" >&2
		head -c 3000 "$T/out" >&2
		echo "--- stderr:" >&2
		head -c 3000 "$T/err" >&2
		fail "expected exit $want, got $rc from: $*"
	fi
}

# ---------------------------------------------------------------- JSON

# json_flat [FILE] — flattens JSON into "PATH<TAB>VALUE" lines, VALUE raw
# JSON (strings keep quotes and escapes): `.steps[0].name	"a"`. Empty
# containers print `{}` / `[]`; every array also prints `PATH#	LENGTH`. Root
# array elements are `[0]…`. Exits 2 on malformed JSON.
json_flat() {
	awk '
	{ s = s $0 "\n" }
	END { n = length(s); pos = 1; ws(); if (pos > n) bad("empty input"); val(""); ws(); if (pos <= n) bad("trailing data") }
	function bad(m) { printf "json_flat: %s at offset %d\n", m, pos > "/dev/stderr"; exit 2 }
	function ws(   c) { while (pos <= n) { c = substr(s, pos, 1); if (c == " " || c == "\t" || c == "\n" || c == "\r") pos++; else break } }
	function str(   start, c) {
		start = pos; pos++
		while (pos <= n) {
			c = substr(s, pos, 1)
			if (c == "\\") pos += 2
			else if (c == "\"") { pos++; return substr(s, start, pos - start) }
			else pos++
		}
		bad("unterminated string")
	}
	function val(path,   c, k, i, start) {
		ws(); c = substr(s, pos, 1)
		if (c == "{") {
			pos++; ws()
			if (substr(s, pos, 1) == "}") { pos++; print path "\t{}"; return }
			for (;;) {
				ws(); if (substr(s, pos, 1) != "\"") bad("expected a key")
				k = str(); k = substr(k, 2, length(k) - 2)
				ws(); if (substr(s, pos, 1) != ":") bad("expected :"); pos++
				val(path "." k)
				ws(); c = substr(s, pos, 1); pos++
				if (c == "}") return
				if (c != ",") bad("expected , or }")
			}
		}
		if (c == "[") {
			pos++; ws(); i = 0
			if (substr(s, pos, 1) == "]") { pos++; print path "\t[]"; print path "#\t0"; return }
			for (;;) {
				val(path "[" i "]"); i++
				ws(); c = substr(s, pos, 1); pos++
				if (c == "]") { print path "#\t" i; return }
				if (c != ",") bad("expected , or ]")
			}
		}
		if (c == "\"") { print path "\t" str(); return }
		start = pos
		while (pos <= n && substr(s, pos, 1) ~ /[-+.0-9a-zA-Z]/) pos++
		if (pos == start) bad("unexpected character")
		k = substr(s, start, pos - start)
		if (k !~ /^(true|false|null|-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?)$/) bad("bad literal " k)
		print path "\t" k
	}' "$@"
}

# jq-like path → json_flat path: "." → "", ".[0].id" → "[0].id".
_json_path() {
	case "$1" in
	.) echo "" ;;
	.\[*) echo "${1#.}" ;;
	*) echo "$1" ;;
	esac
}

# JSON from a file name or from the string itself.
_json_src() {
	if [ -f "$1" ]; then cat "$1"; else printf '%s\n' "$1"; fi
}

# json_raw JSON PATH — the raw JSON value at PATH (strings quoted); exit 1
# when PATH is absent or is a non-empty container.
json_raw() {
	local path
	path=$(_json_path "$2")
	_json_src "$1" | json_flat | awk -F'\t' -v p="$path" \
		'$1 == p { print substr($0, length(p) + 2); found = 1; exit } END { exit !found }'
}

# json_get JSON PATH — the value at PATH, strings unquoted and unescaped
# (\uXXXX is left as is). `.state`, `.live.version`, `.[0].id`, `.steps[1].name`.
json_get() {
	local v
	v=$(json_raw "$1" "$2") || return 1
	case "$v" in
	\"*) printf '%s\n' "$v" | awk '{
		s = substr($0, 2, length($0) - 2); out = ""
		for (i = 1; i <= length(s); i++) {
			c = substr(s, i, 1)
			if (c != "\\") { out = out c; continue }
			i++; c = substr(s, i, 1)
			if (c == "n") out = out "\n"; else if (c == "t") out = out "\t"
			else if (c == "r") out = out "\r"; else if (c == "u") out = out "\\u"
			else out = out c
		}
		print out }' ;;
	*) printf '%s\n' "$v" ;;
	esac
}

# json_has JSON PATH — PATH exists (as a value or a container).
json_has() {
	local path
	path=$(_json_path "$2")
	_json_src "$1" | json_flat | awk -F'\t' -v p="$path" '
		$1 == p || index($1, p ".") == 1 || index($1, p "[") == 1 || $1 == p "#" { found = 1 }
		END { exit !found }'
}

# json_len JSON PATH — length of the array at PATH.
json_len() {
	local path
	path=$(_json_path "$2")
	_json_src "$1" | json_flat | awk -F'\t' -v p="$path#" '$1 == p { print $2; found = 1 } END { exit !found }'
}

# ---------------------------------------------------------------- assertions

assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-values differ}: expected '$1', got '$2'"
}

assert_ne() {
	[ "$1" != "$2" ] || fail "${3:-values equal}: did not expect '$1'"
}

# assert_contains HAYSTACK NEEDLE [MSG] (fixed string)
assert_contains() {
	case "$1" in
	*"$2"*) ;;
	*) fail "${3:-missing text}: '$2' not found in: $(printf '%s' "$1" | head -c 2000)" ;;
	esac
}

assert_not_contains() {
	case "$1" in
	*"$2"*) fail "${3:-unexpected text}: '$2' found in: $(printf '%s' "$1" | head -c 2000)" ;;
	esac
}

# assert_match STRING ERE [MSG]
assert_match() {
	printf '%s\n' "$1" | grep -Eq -- "$2" || fail "${3:-no match}: /$2/ does not match: $(printf '%s' "$1" | head -c 2000)"
}

assert_file_exists() {
	[ -e "$1" ] || fail "${2:-expected file}: $1 does not exist"
}

assert_no_file() {
	[ ! -e "$1" ] || fail "${2:-unexpected file}: $1 exists"
}

# assert_one_of VALUE CHOICE… — VALUE is one of the choices.
assert_one_of() {
	local v=$1 c
	shift
	for c in "$@"; do [ "$v" = "$c" ] && return 0; done
	fail "expected one of [$*], got '$v'"
}

# ---------------------------------------------------------------- markers

# How many times `mark LABEL` started / finished.
marker_count() {
	grep -cxF -- "$1" "$T/markers" 2>/dev/null || true
}

end_count() {
	grep -cxF -- "$1" "$T/ends" 2>/dev/null || true
}

# The markers matching ERE (default all), one per line, in order.
markers() {
	grep -E -- "${1:-.}" "$T/markers" 2>/dev/null || true
}

# env_of LABEL VAR — VAR's value in the last `mark LABEL`.
env_of() {
	[ -f "$T/env.$1" ] || fail "env_of: '$1' never ran"
	sed -n "s/^$2=//p" "$T/env.$1"
}

# ---------------------------------------------------------------- polling

# wait_for [-t SECONDS] CMD… — polls CMD every 0.1s until it succeeds
# (default 10 s); returns 1 on timeout. CMD's arguments are expanded once, at
# the call: poll with a predicate such as marker_count_is, not "$(…)".
wait_for() {
	local limit=10 i
	if [ "$1" = -t ]; then
		limit=$2
		shift 2
	fi
	for i in $(seq 1 $((limit * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# Predicates for wait_for (evaluated on every poll, unlike "$(…)" arguments).
marker_count_is() {
	[ "$(marker_count "$1")" = "$2" ]
}

run_state_is() {
	[ "$(run_state "$1")" = "$2" ]
}

# The run JSON (rollguard show ID --json).
run_json() {
	rg show "$1" --json
}

# run_state ID — the run's state.
run_state() {
	local j
	j=$(rg show "$1" --json 2>/dev/null) || return 1
	json_get "$j" .state
}

# wait_run ID [SECONDS] — waits for a terminal state, prints it.
wait_run() {
	local id=$1 limit=${2:-30} i s=""
	for i in $(seq 1 $((limit * 5))); do
		s=$(run_state "$id" 2>/dev/null)
		case "$TERMINAL_STATES" in *" $s "*)
			echo "$s"
			return 0
			;;
		esac
		sleep 0.2
	done
	echo "run $id still '$s' after ${limit}s" >&2
	echo "$s"
	return 1
}

# assert_run_ends ID STATE [SECONDS]
assert_run_ends() {
	local s
	s=$(wait_run "$1" "${3:-30}")
	[ "$s" = "$2" ] || {
		rg show "$1" --json >&2
		fail "run $1 ended '$s', expected '$2'"
	}
}

# latest_run ENV — id of the newest run in ENV's history.
latest_run() {
	local j
	j=$(rg history --env "${1:-staging}" --json) || return 1
	json_get "$j" '.[0].id'
}

# deploy_start VERSION [ENV] — starts a deploy without waiting; prints its
# id (from "run N: deploying …", so it works when serve dies right after).
deploy_start() {
	local out id
	out=$(rg deploy "$1" --env "${2:-staging}") || fail "deploy $1 refused (exit $?)"
	id=$(printf '%s\n' "$out" | sed -n 's/^run \([0-9][0-9]*\):.*/\1/p' | head -n 1)
	[ -n "$id" ] || id=$(latest_run "${2:-staging}")
	echo "$id"
}

# deploy_ok VERSION [ENV] — a deploy that must succeed (--wait exits 0 and
# the run ends succeeded); prints its id.
deploy_ok() {
	local id rc=0
	rg deploy "$1" --env "${2:-staging}" --wait >"$T/deploy.out" || rc=$?
	[ "$rc" = 0 ] || {
		cat "$T/deploy.out" >&2
		fail "deploy $1 --wait exited $rc, expected 0"
	}
	id=$(latest_run "${2:-staging}")
	assert_run_ends "$id" succeeded >&2
	echo "$id"
}

# status_live ENV — "VERSION STATE" of the live release, or "null".
status_live() {
	local j
	j=$(rg status --env "${1:-staging}" --json) || return 1
	if [ "$(json_raw "$j" .live)" = null ]; then
		echo null
	else
		echo "$(json_get "$j" .live.version) $(json_get "$j" .live.state)"
	fi
}

# assert_live ENV VERSION — VERSION is the one live/known-good release of
# ENV, by the API and by the store itself.
assert_live() {
	local env=$1 want=$2 live n
	live=$(status_live "$env")
	case "$live" in
	"$want live" | "$want known_good") ;;
	*) fail "status --env $env: live is '$live', expected $want (live or known_good)" ;;
	esac
	if [ -f "$T/state/state.db" ] && command -v sqlite3 >/dev/null; then
		n=$(sqlite3 -readonly "file:$T/state/state.db?mode=ro" \
			"select count(*) from releases where env='$env' and state in ('live','known_good')" 2>/dev/null) || return 0
		[ "$n" = 1 ] || fail "store has $n live/known_good releases in $env, expected 1"
	fi
}

# release_state ENV VERSION — from the store (the API has no release list).
release_state() {
	sqlite3 -readonly "file:$T/state/state.db?mode=ro" \
		"select state from releases where env='$1' and version='$2'" 2>/dev/null
}

# events_of JSON_FILE — the flattened event lines of a `show --json`.
events_of() {
	json_flat "$1" | grep -E '^\.events\['
}

# assert_events_prefix BEFORE_FILE AFTER_FILE — every event of the earlier
# snapshot is still there, first, unchanged.
assert_events_prefix() {
	local nb
	events_of "$1" >"$T/ev.before" || fail "no events in $1"
	events_of "$2" >"$T/ev.after" || fail "no events in $2"
	nb=$(wc -l <"$T/ev.before")
	head -n "$nb" "$T/ev.after" | cmp -s - "$T/ev.before" || {
		diff "$T/ev.before" "$T/ev.after" | head -40 >&2
		fail "events recorded before the kill are not a prefix of the events after"
	}
}

# ---------------------------------------------------------------- HTTP

# http METHOD PATH [BODY] — sets HTTP_CODE, body in $T/resp.
# HTTP_TOKEN overrides the admin token ("" sends none).
http() {
	local args=(-s -o "$T/resp" -w '%{http_code}' -X "$1" --max-time 10)
	local token=${HTTP_TOKEN-$(rg_admin_token)}
	[ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
	if [ $# -ge 3 ]; then
		args+=(-H 'Content-Type: application/json' --data-binary "$3")
	fi
	HTTP_CODE=$(curl "${args[@]}" "$RG_URL$2") || HTTP_CODE="curl-failed-$?"
}

# person NAME ROLES — a token for NAME, kept in $T/tok.NAME.
person() {
	rg token create "$1" --role "$2" -c "$T/rollguard.yaml" >"$T/token.out" ||
		fail "token create $1 failed"
	tail -n1 "$T/token.out" >"$T/tok.$1"
}

# as NAME CMD… — rollguard CMD with the token of person NAME.
as() {
	local who=$1
	shift
	ROLLGUARD_TOKEN=$(cat "$T/tok.$who") rg "$@"
}

# restore_holds ID — the run waits at its restore gate.
restore_holds() {
	local j
	j=$(rg show "$1" --json 2>/dev/null) || return 1
	[ "$(json_get "$j" .gate)" = restore ] && [ "$(json_get "$j" .state)" = awaiting_approval ]
}
