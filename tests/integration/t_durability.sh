# t_durability.sh — serve stopped (SIGTERM) or killed (SIGKILL, by
# ROLLGUARD_CRASH_AT or by the test mid-step / mid-undo) and started again:
# the run finishes, one release is live, no event is lost, a step recorded
# done never runs again, an interrupted one runs again (or, rerun: false,
# the run rolls back). A recorded process group is killed after a restart
# only while its leader is the process recorded.

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

# A step whose script records its process group: the id of the group's
# leader, the shell rollguard started.
cfg_leader() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    kill_grace: 1s
deploy:
  - name: hold
    run: @DIR@/leader
YAML
	rg_script leader <<'SH'
#!/bin/sh
awk '{ print $5 }' /proc/$$/stat >> @DIR@/leaders
sleep 30
SH
}

# Sets LEADER to the first step's group once it runs, then kills serve
# with SIGKILL, which leaves the group running.
start_leader_and_kill9() {
	wait_for test -s "$T/leaders" || fail "the step never started"
	LEADER=$(head -n 1 "$T/leaders")
	assert_eq "$LEADER" "$(awk '{ print $5 }' "/proc/$LEADER/stat")" "the leader of its own group"
	rg_kill9
	kill -0 "$LEADER" 2>/dev/null || fail "the step did not outlive serve"
}

t_kill9_restart_kills_the_recorded_group_still_ours() {
	cfg_leader
	rg_start
	local id pid
	id=$(deploy_start v1)
	start_leader_and_kill9
	pid=$LEADER
	rg_start
	wait_for -t 5 eval "! kill -0 $pid 2>/dev/null" || fail "the recorded group was not killed"
	assert_contains "$(cat "$T/serve.log")" "killing process group $pid"
	wait_for -t 10 eval '[ "$(wc -l <"$T/leaders")" -ge 2 ]' || fail "the step did not run again"
	assert_exit 0 rg abort "$id"
}

# A stored start time that is not the leader's (as if the pgid had been
# reused by somebody else's process): the restart kills nothing.
t_kill9_restart_leaves_a_group_whose_start_time_differs() {
	command -v sqlite3 >/dev/null || fail "sqlite3 is not installed (scripts/install-deps.sh)"
	cfg_leader
	rg_start
	local id pid
	id=$(deploy_start v1)
	start_leader_and_kill9
	pid=$LEADER
	sqlite3 "$T/state/state.db" \
		"UPDATE step_runs SET pgid_start = pgid_start + 1 WHERE state = 'running' AND pgid = $pid;"
	assert_eq 1 "$(sqlite3 "$T/state/state.db" "SELECT count(*) FROM step_runs WHERE pgid = $pid AND pgid_start > 0 AND pgid_boot != '';")" \
		"the group was recorded with its identity"
	rg_start
	wait_for -t 10 eval '[ "$(wc -l <"$T/leaders")" -ge 2 ]' || fail "the step did not run again"
	assert_contains "$(cat "$T/serve.log")" "recorded process group $pid is gone"
	assert_not_contains "$(cat "$T/serve.log")" "killing process group $pid"
	kill -0 "$pid" 2>/dev/null || fail "a group that is not provably ours was killed"
	kill -KILL -- "-$pid"
	assert_exit 0 rg abort "$id"
}

# SIGTERM of serve stops a running step as abort does: SIGTERM to its group,
# SIGKILL after its kill_grace; serve waits for that, and no longer.
t_sigterm_of_serve_gives_the_step_its_grace() {
	cfg_stubborn 2s
	rg_start
	local id pgid t0 ms
	id=$(deploy_start v1)
	wait_for test -s "$T/stubborn.pgid" || fail "the step never started"
	pgid=$(cat "$T/stubborn.pgid")
	t0=$(date +%s%N)
	rg_stop
	ms=$((($(date +%s%N) - t0) / 1000000))
	assert_file_exists "$T/stubborn.term"
	[ "$ms" -ge 1800 ] || fail "serve stopped after $ms ms, before the step's 2s grace"
	# (a killed member may linger a moment as a zombie, until it is reaped)
	wait_for -t 3 eval "! kill -0 -- -$pgid 2>/dev/null" || fail "the step's group outlived serve"
	rg_start
	wait_for -t 10 eval "[ \"\$(cat '$T/stubborn.pgid')\" != $pgid ]" ||
		fail "the interrupted step did not run again after the restart"
	assert_exit 0 rg abort "$id"
}

# Serve killed while an aborted step is in its kill grace: nothing would
# ever send that step its SIGKILL, so the next start does (its group was
# kept in the ended step row), and forgets the group. The trap is in the
# command text, so the group's leader (`sh -c`) is what survives the
# SIGTERM: a restart kills only a group whose recorded leader still lives.
t_kill9_during_a_kill_grace_the_restart_kills_the_group() {
	command -v sqlite3 >/dev/null || fail "sqlite3 is not installed (scripts/install-deps.sh)"
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    kill_grace: 1m
deploy:
  - name: stubborn
    run: echo $$ > @DIR@/stubborn.pgid; trap 'echo term >> @DIR@/stubborn.term' TERM; while :; do sleep 0.1; done
YAML
	rg_start
	local id pgid
	id=$(deploy_start v1)
	wait_for test -s "$T/stubborn.pgid" || fail "the step never started"
	pgid=$(cat "$T/stubborn.pgid")
	assert_exit 0 rg abort "$id"
	wait_for -t 5 test -s "$T/stubborn.term" || fail "the step never saw SIGTERM"
	rg_kill9
	kill -0 "$pgid" 2>/dev/null || fail "the step did not outlive serve"
	assert_eq "$pgid" "$(sqlite3 "$T/state/state.db" "SELECT pgid FROM step_runs WHERE run_id = $id;")" \
		"the aborted step's row keeps its group during the grace"
	rg_start
	wait_for -t 5 eval "! kill -0 $pgid 2>/dev/null" || fail "the restart did not kill the group"
	assert_contains "$(cat "$T/serve.log")" "killing process group $pgid"
	assert_eq 0 "$(sqlite3 "$T/state/state.db" "SELECT pgid FROM step_runs WHERE run_id = $id;")" \
		"the group is forgotten once killed"
	assert_eq aborted "$(run_state "$id")"
}
