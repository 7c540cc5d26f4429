# t_torture.sh — the store refuses one write, at every point of a story:
# deploy v1 → a bad v2 (its smoke check fails) → automatic rollback →
# restart. The test build's ROLLGUARD_TORTURE_WRITE=N refuses the Nth
# write (a data-modifying statement or a COMMIT) once. Whatever N, serve
# must not crash or leak, no rollback plan is stored as NULL, and every run
# ends as it would without the refusal — by itself, or after the restart.
# ROLLGUARD_TORTURE_ALLOC=N (tests/torture/alloc.c) fails the Nth
# allocation of rollguard's own code instead, once serve is up: then a run
# may end otherwise (a check that could not allocate fails), but it ends,
# and nothing crashes or leaks.
# `make test` runs a fixed sample of N; `make torture` sweeps every N
# (RG_TORTURE_SWEEP=1; RG_TORTURE_STRIDE=K takes every Kth allocation).

cfg_torture() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    monitor: 200ms
    post_rollback_monitor: 200ms
deploy:
  - name: a
    run: @DIR@/mark a out job=job-$ROLLGUARD_VERSION sickif v2
    undo: @DIR@/mark undo.a heal
  - name: smoke
    checks: [health]
checks:
  health: { run: "@DIR@/health", timeout: 5s }
YAML
}

# deploy_retrying VERSION — a client that asks again when the server
# answers 5xx (the refused write may be the one that creates the run).
deploy_retrying() {
	local i
	for i in 1 2 3 4 5; do
		rg deploy "$1" --env staging >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	fail "deploy $1 refused five times"
}

# all_runs_ended — every run in the history is in a terminal state.
all_runs_ended() {
	local j
	j=$(rg history --env staging --json 2>/dev/null) || return 1
	! printf '%s\n' "$j" | grep -Eq '"state": *"(queued|awaiting_approval|running|paused|verifying|monitoring|rolling_back)"'
}

# has_run_of VERSION — the history has a run of VERSION. (When the answer
# to a deploy could not be written, the client asks again, and a second run
# of the same release is right: the first one was created.)
has_run_of() {
	rg history --env staging --json 2>/dev/null | grep -q "\"version\": *\"$1\""
}

# story_deploys VAR=N — serve started with VAR=N, v1 deployed, then the bad
# v2, each run waited for.
story_deploys() {
	eval "$1 rg_start"
	deploy_retrying v1
	wait_for -t 30 all_runs_ended || fail "$1: v1's run did not end: $(rg history --env staging --json)"
	deploy_retrying v2
	wait_for -t 30 has_run_of v2 || fail "$1: v2's run was not created"
	wait_for -t 30 all_runs_ended || fail "$1: v2's run did not end: $(rg history --env staging --json)"
}

# torture_story VAR N — the story with the Nth write (VAR
# ROLLGUARD_TORTURE_WRITE) or allocation (ROLLGUARD_TORTURE_ALLOC) refused;
# fails the test with N in the message when anything is wrong.
torture_story() {
	local var=$1 n=$2 j
	rm -rf "$T/state" "$T/markers" "$T/ends" "$T/unhealthy"
	: >"$T/serve.log"
	# The state directory's first admin token is made before the story: a
	# start-up whose store refuses that write stops at once, by design.
	rg token create admin --role admin -c "$T/rollguard.yaml" | tail -n1 >"$T/admin.token"
	mv "$T/admin.token" "$T/state/admin.token"
	story_deploys "$var=$n"
	serve_alive || fail "$var=$n: serve died"
	rg_stop   # SIGTERM: a clean exit, checked for sanitizer and leak reports
	rg_start
	wait_for -t 30 all_runs_ended || fail "$var=$n: a run did not end after the restart"
	assert_eq "$(sqlite3 "$T/state/state.db" "SELECT count(*) FROM runs WHERE phase='reverse' AND \"plan\" IS NULL")" 0 \
		"$var=$n: a rollback with no stored plan"
	if [ "$var" = ROLLGUARD_TORTURE_WRITE ]; then
		j=$(rg history --env staging --json)
		assert_eq "$(json_get "$j" '.[1].state')" succeeded "$var=$n: v1's run"
		assert_eq "$(json_get "$j" '.[0].state')" rolled_back "$var=$n: v2's run"
		assert_live staging v1
	fi
	rg_stop
}

# torture_count VAR WHAT — how many writes or allocations the story makes
# when none is refused (serve logs "torture: N WHAT").
torture_count() {
	story_deploys "$1=999999999"
	rg_stop
	sed -n "s/.*torture: \([0-9][0-9]*\) $2.*/\1/p" "$T/serve.log" | tail -n 1
}

# torture_sweep VAR WHAT — the sample, or every N with RG_TORTURE_SWEEP=1.
torture_sweep() {
	local w ns n
	w=$(torture_count "$1" "$2")
	[ -n "$w" ] && [ "$w" -gt 10 ] || fail "could not count the story's $2 (got '$w')"
	if [ "${RG_TORTURE_SWEEP:-0}" = 1 ]; then
		ns=$(seq 1 "${RG_TORTURE_STRIDE:-1}" "$w")
	else
		ns="1 2 3 $((w / 5)) $((w / 3)) $((w / 2)) $((2 * w / 3)) $((w - 1)) $w"
	fi
	for n in $ns; do
		torture_story "$1" "$n"
		[ -e "$T/.failed" ] && return
		echo "$1=$n of $w: ok"
		# RG_TORTURE_LOG=FILE keeps what each story's serve said of the refusal.
		if [ -n "${RG_TORTURE_LOG:-}" ]; then
			echo "$1=$n of $w"
			grep -E "torture|refused|trying again|takes writes" "$T/serve.log"
		fi >>"${RG_TORTURE_LOG:-/dev/null}"
	done
}

t_torture_every_refused_write_along_deploy_bad_release_rollback_restart() {
	cfg_torture
	torture_sweep ROLLGUARD_TORTURE_WRITE writes
}

t_torture_every_failed_allocation_along_deploy_bad_release_rollback_restart() {
	cfg_torture
	torture_sweep ROLLGUARD_TORTURE_ALLOC allocations
}
