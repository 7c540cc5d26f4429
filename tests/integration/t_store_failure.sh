# t_store_failure.sh — the store refuses writes (its disk is full) in the
# middle of a canary: a bad canary still leaves traffic at once, serve does
# not crash or drop the run, /health says why, and once space is freed the
# run records its decision and finishes — with no restart.

# mount_small_state SIZE — the state directory on its own small tmpfs.
mount_small_state() {
	[ "$(id -u)" = 0 ] || fail "this test mounts a tmpfs and must run as root"
	mkdir -p "$T/state"
	mount -t tmpfs -o "size=$1" rgstate "$T/state" || fail "cannot mount a tmpfs on $T/state"
}

# fill_state — the WAL is checkpointed and truncated first, so the next
# commit has to grow it, then every free block of the tmpfs is taken.
fill_state() {
	sqlite3 "$T/state/state.db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null ||
		fail "cannot checkpoint the store"
	dd if=/dev/zero of="$T/state/filler" bs=64k 2>/dev/null || true
	[ "$(df --output=avail -k "$T/state" | tail -n 1 | tr -d ' ')" -lt 64 ] ||
		fail "the tmpfs still has room: $(df -k "$T/state" | tail -n 1)"
}

serve_logged() {
	grep -qF "$1" "$T/serve.log"
}

health_is() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$RG_URL/health")" = "$1" ]
}

# proxy_versions N — the release of each of N answers through the proxy.
proxy_versions() {
	local i
	for i in $(seq 1 "$1"); do
		curl -s --max-time 2 "http://127.0.0.1:$RG_PORT2/" | sed -n 's/.*"version":"\([^"]*\)".*/\1/p'
	done
}

t_store_full_bad_canary_swapped_and_run_completes_after_space_is_freed() {
	mount_small_state 16m
	trap 'umount -l "$T/state" 2>/dev/null' EXIT
	PAUSE=60s cfg_analysis "$SEQUENTIAL" ""
	rg_start
	deploy_ok v1 prod >/dev/null
	local id out
	id=$(deploy_start v2-err5 prod)
	wait_for -t 20 run_has_event "$id" "traffic 1/3" || fail "the canary never reached its first share"
	fill_state
	# load only now: the sequential test decides while the disk is full
	load_start 30
	wait_for -t 20 serve_logged "the decision could not be stored" ||
		fail "no refused decision in serve.log"
	serve_alive || fail "serve died when the store refused a write"
	health_is 503 || fail "GET /health did not answer 503 while the store refused writes"
	out=$(curl -s "$RG_URL/health")
	assert_contains "$out" "store_failing"
	assert_contains "$out" "run $id cannot record its progress"
	# the bad release left traffic although nothing could be stored
	out=$(proxy_versions 100 | sort | uniq -c)
	assert_not_contains "$out" "v2-err5" "every answer after the decision comes from v1"
	assert_contains "$out" "v1"
	assert_eq "$(run_state "$id")" running "the store still says the run is at its canary"
	load_stop
	# space again: the run goes on by itself
	rm -f "$T/state/filler"
	assert_run_ends "$id" rolled_back 30
	wait_for -t 10 health_is 200 || fail "GET /health still failing after space was freed"
	out=$(rg show "$id" --json | tr -d '\n')
	assert_contains "$out" "the sequential test found v2-err5's errors more frequent than v1's"
	assert_contains "$out" "before the store could record it"
	assert_eq "$(json_get "$(rg show "$id" --json)" .decision.trigger)" canary
	assert_live prod v1
	assert_eq "$(json_len "$(rg history --env prod --json)")" 2 "no run lost"
	rg_stop
	stop_apps
	umount -l "$T/state"
}

# A step finishes while the disk is full: its result is kept, the step is
# not run again, and the run goes on once writes succeed.
t_store_full_step_result_kept_until_it_can_be_recorded() {
	mount_small_state 16m
	trap 'umount -l "$T/state" 2>/dev/null' EXIT
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    monitor: 200ms
deploy:
  - name: a
    run: @DIR@/mark a
  - name: slow
    run: @DIR@/mark slow sleep 2
    rerun: false
YAML
	rg_start
	local id
	id=$(deploy_start v1)
	wait_for -t 10 marker_count_is slow 1 || fail "step 'slow' did not start"
	fill_state
	wait_for -t 10 serve_logged "its progress could not be recorded" || fail "no refused write in serve.log"
	health_is 503 || fail "GET /health did not answer 503"
	sleep 1
	rm -f "$T/state/filler"
	assert_run_ends "$id" succeeded 30
	assert_eq "$(marker_count slow)" 1 "step 'slow' ran once (rerun: false was never needed)"
	health_is 200 || fail "GET /health still failing"
	rg_stop
	umount -l "$T/state"
}
