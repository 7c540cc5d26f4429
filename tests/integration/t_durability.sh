# t_durability.sh — serve stopped (SIGTERM) or killed (SIGKILL, by
# ROLLGUARD_CRASH_AT or by the test mid-step / mid-undo) and started again:
# the run finishes, one release is live, no event is lost, a step recorded
# done never runs again, an interrupted one runs again (or, rerun: false,
# the run rolls back).

cfg_durable() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    timeout: 60s
    monitor: 300ms
    post_rollback_monitor: 300ms
deploy:
  - name: a
    run: @DIR@/mark a out job=job-a-$ROLLGUARD_VERSION
    undo: @DIR@/mark undo.a
  - name: b
    run: @DIR@/mark b sleepif v3 4
    undo: @DIR@/mark undo.b sleepif v5 4
  - name: c
    run: @DIR@/mark c failif v2 failif v5
    undo: @DIR@/mark undo.c
YAML
}

# Snapshots `show ID --json` into $T/snap.json while serve lives (the last
# good one is what was committed before the kill), until serve dies.
snapshot_until_dead() {
	local id=$1 i
	for i in $(seq 1 200); do
		serve_alive || return 0
		rg show "$id" --json >"$T/snap.tmp" 2>/dev/null && mv "$T/snap.tmp" "$T/snap.json"
		sleep 0.05
	done
	fail "serve did not die at the crash point"
}

# Each step of each phase appears once in `show --json`, and is not both
# failed/running and succeeded: a step is never recorded done twice.
assert_steps_once() {
	local dup
	dup=$(_json_src "$1" | json_flat | awk -F'\t' '
		$1 ~ /^\.steps\[[0-9]+\]\.(name|phase)$/ {
			i = $1; sub(/^\.steps\[/, "", i); sub(/\].*/, "", i)
			if ($1 ~ /name$/) n[i] = $2; else p[i] = $2
		}
		END { for (i in n) { k = p[i] " " n[i]; if (seen[k]++) print k } }')
	[ -z "$dup" ] || fail "steps recorded more than once: $dup"
}

# After the restart: the run ends STATE, events survived, one live release.
check_resumed() {
	local id=$1 want=$2 live=$3
	rg_start
	assert_run_ends "$id" "$want" 30
	rg show "$id" --json >"$T/after.json"
	[ -s "$T/snap.json" ] && assert_events_prefix "$T/snap.json" "$T/after.json"
	assert_steps_once "$T/after.json"
	assert_live staging "$live"
	assert_exit 0 rg history --env staging --json
}

t_restart_sigterm_keeps_history() {
	cfg_durable
	rg_start
	local id1 id2 id3 h
	id1=$(deploy_ok v1)
	id2=$(deploy_start v2)
	assert_run_ends "$id2" rolled_back
	id3=$(deploy_ok v4)
	h=$(rg history --env staging --json)
	rg show "$id2" --json >"$T/snap.json"
	rg_stop
	rg_start
	assert_eq "$h" "$(rg history --env staging --json)" "history survives a restart"
	rg show "$id2" --json >"$T/after.json"
	assert_eq "$(cat "$T/snap.json")" "$(cat "$T/after.json")" "a run survives a restart unchanged"
	assert_live staging v4
	assert_eq known_good "$(release_state staging v4)"
	assert_eq rolled_back "$(release_state staging v2)"
	# and the restarted server works
	deploy_ok v6 >/dev/null
	assert_eq v4 "$(env_of c ROLLGUARD_PREVIOUS_VERSION)"
}

t_restart_sigterm_mid_step() {
	cfg_durable
	rg_start
	deploy_ok v1 >/dev/null
	local id
	id=$(deploy_start v3)
	wait_for marker_count_is b 2 || fail "b never started for v3"
	rg show "$id" --json >"$T/snap.json"
	rg_stop
	assert_eq "" "$(procs_matching sleep 4)" "a graceful stop ends running steps"
	check_resumed "$id" succeeded v3
	assert_eq 3 "$(marker_count b)" "the interrupted step runs again"
	assert_eq 2 "$(marker_count a)" "a completed step does not run again"
	assert_eq 2 "$(marker_count c)"
}

t_crash_at_step_start() {
	cfg_durable
	rg_start
	deploy_ok v1 >/dev/null
	rg_stop
	ROLLGUARD_CRASH_AT=step_start:b rg_start
	local id
	id=$(deploy_start v3)
	snapshot_until_dead "$id"
	wait_serve_dead 10 || fail "serve did not crash at step_start:b"
	assert_eq 1 "$(marker_count b)" "b (v3) had not started at the crash"
	check_resumed "$id" succeeded v3
	assert_eq 2 "$(marker_count a)" "a ran once per deploy"
	assert_eq 2 "$(marker_count b)" "b ran once per deploy"
	assert_eq 2 "$(marker_count c)" "c ran once per deploy"
}

t_crash_at_step_end() {
	cfg_durable
	rg_start
	deploy_ok v1 >/dev/null
	rg_stop
	ROLLGUARD_CRASH_AT=step_end:a rg_start
	local id
	id=$(deploy_start v3)
	snapshot_until_dead "$id"
	assert_eq 2 "$(end_count a)" "a (v3) had finished at the crash"
	assert_eq 1 "$(marker_count b)" "b (v3) had not started at the crash"
	check_resumed "$id" succeeded v3
	assert_eq 3 "$(marker_count a)" "a finished but was not recorded: it runs again"
	assert_eq 2 "$(marker_count b)"
	assert_eq 2 "$(marker_count c)"
	assert_eq job-a-v3 "$(env_of c ROLLGUARD_OUT_A_JOB)" "outputs of the re-run step reach later steps"
}

t_crash_at_undo_start() {
	cfg_durable
	rg_start
	deploy_ok v1 >/dev/null
	rg_stop
	ROLLGUARD_CRASH_AT=undo_start:a rg_start
	local id
	id=$(deploy_start v2)
	snapshot_until_dead "$id"
	assert_eq 1 "$(marker_count undo.b)" "undo of b had run at the crash"
	assert_eq 0 "$(marker_count undo.a)" "undo of a had not started at the crash"
	check_resumed "$id" rolled_back v1
	assert_eq 1 "$(marker_count undo.b)" "a recorded undo does not run again"
	assert_eq 1 "$(marker_count undo.a)"
	assert_eq 2 "$(marker_count c)" "the failed step is not retried after the restart"
	assert_eq v2 "$(env_of undo.a ROLLGUARD_VERSION)"
	assert_eq v1 "$(env_of undo.a ROLLGUARD_PREVIOUS_VERSION)"
	assert_eq job-a-v1 "$(env_of undo.a ROLLGUARD_PREV_A_JOB)" "outputs of the known-good release survive the crash"
}

t_crash_during_monitor() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    monitor: 3s
deploy:
  - name: a
    run: @DIR@/mark a
YAML
	rg_start
	local id
	id=$(deploy_start v1)
	wait_for run_state_is "$id" monitoring || fail "run never reached monitoring"
	rg show "$id" --json >"$T/snap.json"
	rg_kill9
	assert_ne known_good "$(release_state staging v1)" "still in the monitor window at the kill"
	check_resumed "$id" succeeded v1
	assert_eq 1 "$(marker_count a)" "the monitor window resumes; no step runs again"
	assert_eq known_good "$(release_state staging v1)"
}

t_kill9_mid_step() {
	cfg_durable
	rg_start
	deploy_ok v1 >/dev/null
	local id
	id=$(deploy_start v3)
	wait_for marker_count_is b 2 || fail "b never started for v3"
	rg show "$id" --json >"$T/snap.json"
	rg_kill9
	check_resumed "$id" succeeded v3
	assert_eq 3 "$(marker_count b)" "the interrupted step runs again"
	assert_eq 2 "$(end_count b)" "the orphan of the killed server never finishes (its group is killed)"
	assert_eq 2 "$(marker_count a)" "a completed step does not run again"
	assert_eq 2 "$(marker_count c)"
	assert_eq "" "$(procs_matching sleep 4)"
}

t_kill9_mid_undo() {
	cfg_durable
	rg_start
	deploy_ok v1 >/dev/null
	local id
	id=$(deploy_start v5)
	wait_for -t 15 marker_count_is undo.b 1 || fail "undo of b never started"
	rg show "$id" --json >"$T/snap.json"
	rg_kill9
	check_resumed "$id" rolled_back v1
	assert_eq 2 "$(marker_count undo.b)" "the interrupted undo runs again"
	assert_eq 1 "$(end_count undo.b)" "the orphaned undo never finishes"
	assert_eq 1 "$(marker_count undo.a)"
	assert_eq 2 "$(marker_count c)"
	assert_eq rolled_back "$(release_state staging v5)"
	assert_eq "" "$(procs_matching sleep 4)"
}

t_kill9_mid_step_rerun_false() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    post_rollback_monitor: 300ms
deploy:
  - name: a
    run: @DIR@/mark a
    undo: @DIR@/mark undo.a
  - name: charge
    run: @DIR@/mark charge sleepif v2 4
    undo: @DIR@/mark undo.charge
    rerun: false
  - name: c
    run: @DIR@/mark c
YAML
	rg_start
	deploy_ok v1 >/dev/null
	local id j
	id=$(deploy_start v2)
	wait_for marker_count_is charge 2 || fail "charge never started for v2"
	rg show "$id" --json >"$T/snap.json"
	rg_kill9
	check_resumed "$id" rolled_back v1
	assert_eq 2 "$(marker_count charge)" "a rerun: false step is never run again"
	assert_eq 1 "$(marker_count c)" "the run did not go on"
	assert_eq 1 "$(marker_count undo.a)" "completed steps are undone"
	j=$(run_json "$id")
	assert_contains "$(json_get "$j" .decision.reason) $(json_get "$j" .error) $(json_flat <<<"$j" | grep -E '^\.events\[' | cut -f2 | tr '\n' ' ')" \
		charge "the run says which step could not be re-run"
}

no_sleep_30() { [ -z "$(procs_matching sleep 30)" ]; }

# A run whose environment left the config while the server was down cannot
# be resumed; it must not keep the server, or other environments, from working.
t_unresumable_run_does_not_block_start() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging: {}
  production: {}
deploy:
  - name: a
    run: @DIR@/mark a sleep 30
YAML
	rg_start
	local id
	id=$(deploy_start v1 staging)
	wait_for marker_count_is a 1 || fail "step a never started"
	rg_kill9
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  production: {}
deploy:
  - name: a
    run: @DIR@/mark a
YAML
	rg_start
	assert_contains "$(cat "$T/serve.log")" "run $id cannot be resumed" "the log says which run was left"
	deploy_ok v1 production >/dev/null
	assert_eq running "$(run_state "$id")" "the stranded run is left as it was, for a person"
	wait_for no_sleep_30 || fail "the stranded run's step still runs"
}

# The crash hook is a test build's: the release binary ignores it.
t_crash_hook_only_in_the_test_build() {
	local rel="${RG_RELEASE_BIN:-$(dirname "$RG_BIN")/../rollguard}"
	[ -x "$rel" ] || fail "the release build is missing ($rel; make build/rollguard)"
	cfg_durable
	RG_BIN=$rel ROLLGUARD_CRASH_AT=step_start:b rg_start
	local id
	id=$(deploy_start v1)
	assert_run_ends "$id" succeeded
	serve_alive || fail "the release build killed itself at a crash point"
	rg_stop
}
