#!/usr/bin/env bash
# run.sh — what `make test` runs once everything is built: the unit tests
# (Criterion, sanitizer build), then the integration tests against the
# sanitizer binary. Ends with one line "N passed, N failed" for both; exit 1
# if anything failed.
set -u
cd "$(dirname "$0")/.." || exit 2

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0"

passed=0
failed=0

# ---- unit tests: "[====] Synthesis: Tested: N | Passing: P | Failing: F | Crashing: C"
if [ -x build/asan/unit-tests ]; then
	unit_out=$(mktemp)
	build/asan/unit-tests 2>&1 | tee "$unit_out"
	synth=$(sed 's/\x1b\[[0-9;]*m//g' "$unit_out" | grep 'Synthesis:' | tail -n 1)
	# Criterion counts a test whose process leaks or trips a sanitizer
	# after its assertions as passed: the reports themselves fail the run.
	sanitized=$(grep -cE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$unit_out" || true)
	rm -f "$unit_out"
	if [ -n "$synth" ]; then
		num() { printf '%s\n' "$synth" | sed -n "s/.*$1: *\([0-9][0-9]*\).*/\1/p"; }
		u_pass=$(num Passing)
		u_fail=$(num Failing)
		u_crash=$(num Crashing)
		passed=$((passed + ${u_pass:-0}))
		failed=$((failed + ${u_fail:-0} + ${u_crash:-0} + ${sanitized:-0}))
		[ "${sanitized:-0}" -eq 0 ] || echo "unit tests: $sanitized sanitizer report(s) above (each counts as a failure)"
	else
		echo "unit tests: no Synthesis line (the runner itself crashed?)"
		failed=$((failed + 1))
	fi
else
	echo "unit tests: build/asan/unit-tests is not built"
	failed=$((failed + 1))
fi

# ---- integration tests; their own summary line is relabelled so the last
# line of this script is the only bare "N passed, N failed".
integ_summary=""
while IFS= read -r line; do
	if printf '%s\n' "$line" | grep -Eq '^[0-9]+ passed, [0-9]+ failed$'; then
		integ_summary=$line
		echo "integration: $line"
	else
		printf '%s\n' "$line"
	fi
done < <(RG_BIN=build/asan/rollguard bash tests/integration/run.sh "$@" 2>&1)

if [ -n "$integ_summary" ]; then
	i_pass=${integ_summary%% passed*}
	i_fail=${integ_summary#*, }
	i_fail=${i_fail%% failed*}
	passed=$((passed + i_pass))
	failed=$((failed + i_fail))
else
	echo "integration tests: no summary line (the runner itself failed)"
	failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
