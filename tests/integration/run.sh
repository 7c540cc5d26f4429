#!/usr/bin/env bash
# run.sh — runs the integration tests: every function t_* of every
# tests/integration/t_*.sh, each in its own subshell with a fresh temp dir,
# port and server, and ends with "N passed, N failed".
#   RG_BIN=build/asan/rollguard bash tests/integration/run.sh [FILTER]
# FILTER is an extended regex matched against "file:test" (e.g. durability,
# t_deploy_success). RG_KEEP=1 keeps the temp dirs of failed tests;
# RG_TEST_TIMEOUT (seconds, default 120) bounds each test.
set -u
cd "$(dirname "$0")/../.." || exit 2
ROOT=$(pwd -P)

: "${RG_BIN:=build/asan/rollguard}"
case "$RG_BIN" in /*) ;; *) RG_BIN="$ROOT/$RG_BIN" ;; esac
export RG_BIN
[ -x "$RG_BIN" ] || {
	echo "run.sh: $RG_BIN is not built (make build/asan/rollguard)" >&2
	echo "0 passed, 1 failed"
	exit 1
}
DEMO_APP="$ROOT/build/demo-app"
export DEMO_APP

. tests/integration/lib.sh

FILTER=${1:-}
TEST_TIMEOUT=${RG_TEST_TIMEOUT:-120}
passed=0
failed=0
failed_names=()

# The test files in order, and the tests of each in the order written.
tests=()
for f in tests/integration/t_*.sh; do
	[ -e "$f" ] || continue
	. "$f"
	for t in $(grep -oE '^t_[A-Za-z0-9_]+ *\(\)' "$f" | sed 's/ *()//'); do
		name="$(basename "$f" .sh):$t"
		if [ -z "$FILTER" ] || printf '%s\n' "$name" | grep -Eq -- "$FILTER"; then
			tests+=("$name")
		fi
	done
done

# Whatever happens, leave no process and no temp dir behind.
cur_T=""
on_exit() {
	if [ -n "$cur_T" ] && [ -d "$cur_T" ]; then
		T=$cur_T rg_cleanup_procs
		T=$cur_T rg_unmount_all
		rm -rf "$cur_T"
	fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# The body of one test, in its own subshell: cwd $T/run, the test, then a
# clean stop of serve (if still running) with its sanitizer check.
run_one() {
	local t=$1
	cd "$T/run" || exit 1
	"$t"   # a test fails only through fail (exit or $T/.failed)
	if serve_alive; then rg_stop; fi
	check_sanitizers
	# a server stopped cleanly leaves no step process behind
	wait_for -t 3 no_procs_left || fail "processes left after serve stopped: $(procs_described)"
	[ -e "$T/.failed" ] && exit 1
	exit 0
}

start_all=$(date +%s)
for name in "${tests[@]}"; do
	t=${name#*:}
	rg_setup || {
		echo "not ok - $name (set-up failed)"
		failed=$((failed + 1))
		continue
	}
	cur_T=$T
	start=$(date +%s)
	(run_one "$t") >"$T/test.out" 2>&1 </dev/null &
	pid=$!
	timed_out=0
	while kill -0 "$pid" 2>/dev/null; do
		if [ $(($(date +%s) - start)) -ge "$TEST_TIMEOUT" ]; then
			timed_out=1
			kill -TERM "$pid" 2>/dev/null
			break
		fi
		sleep 0.1
	done
	rc=0
	wait "$pid" 2>/dev/null || rc=$?
	[ "$timed_out" = 1 ] && rc=124
	[ "$rc" = 0 ] && [ -e "$T/.failed" ] && rc=1
	T=$cur_T rg_cleanup_procs
	T=$cur_T rg_unmount_all
	secs=$(($(date +%s) - start))
	if [ "$rc" = 0 ]; then
		echo "ok - $name (${secs}s)"
		passed=$((passed + 1))
		rm -rf "$T"
	else
		echo "not ok - $name (${secs}s)"
		[ "$timed_out" = 1 ] && echo "    timed out after ${TEST_TIMEOUT}s"
		sed 's/^/    /' "$T/test.out" | tail -n 40
		if [ -f "$T/serve.log" ]; then
			echo "    --- serve.log (tail)"
			tail -n 25 "$T/serve.log" | sed 's/^/    | /'
		fi
		failed=$((failed + 1))
		failed_names+=("$name")
		if [ "${RG_KEEP:-0}" = 1 ]; then
			echo "    kept $T"
		else
			rm -rf "$T"
		fi
	fi
	cur_T=""
done

if [ "$failed" -gt 0 ]; then
	echo "failed tests: ${failed_names[*]}"
fi
echo "integration: $(($(date +%s) - start_all))s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
