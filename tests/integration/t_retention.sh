# t_retention.sh — server.retention against the real binary: old finished
# runs leave `history` (and the store, with their events), the newest
# keep_last stay, the known-good release's run and the one a rollback would
# go to stay, step logs are cleared, serve goes on deploying, and the
# /metrics run gauge follows what was pruned.

cfg_retention() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
  retention: { runs: 1s, step_logs: 1s, keep_last: 2 }
environments:
  staging:
    timeout: 30s
    monitor: 200ms
deploy:
  - name: app
    run: ./mark app failif v5 failif v6
    undo: ./mark undo.app
YAML
}

# history_ids — the run ids of staging's history, newest first, one line.
history_ids() {
	local j i n ids=""
	j=$(rg history --env staging --json) || return 1
	n=$(json_len "$j" .)
	for ((i = 0; i < n; i++)); do
		ids="$ids${ids:+ }$(json_get "$j" ".[$i].id")"
	done
	echo "$ids"
}

history_ids_are() {
	[ "$(history_ids)" = "$1" ]
}

db_count() {
	sqlite3 -readonly "file:$T/state/state.db?mode=ro" "$1"
}

t_retention_prunes_old_runs_keeps_newest_and_known_good() {
	cfg_retention
	rg_start
	local i id
	for i in 1 2 3 4; do
		deploy_ok "v$i" >/dev/null
	done
	for i in 5 6; do
		assert_exit 1 rg deploy "v$i" --env staging --wait
		id=$(latest_run)
		assert_run_ends "$id" rolled_back
	done
	assert_live staging v4
	# a release names the last run that made it what it is: known-good v4
	# the rollback of run 6, v3 (the release before, a rollback's target)
	# run 4, which superseded it. 6 and 5 are the newest two (keep_last),
	# 4 stays for v3 though older; 1 to 3 go once a second old.
	assert_eq 6 "$(db_count "select run_id from releases where env='staging' and state='known_good'")"
	assert_eq 4 "$(db_count "select run_id from releases where env='staging' and version='v3'")"
	wait_for -t 20 history_ids_are "6 5 4" ||
		fail "history is '$(history_ids)', expected '6 5 4'"
	assert_eq 0 "$(db_count 'select count(*) from events where run_id in (1,2,3)')" "events pruned"
	assert_eq 0 "$(db_count 'select count(*) from step_runs where run_id in (1,2,3)')" "steps pruned"
	assert_eq 0 "$(db_count 'select count(*) from releases where run_id in (1,2,3)')"
	assert_eq v4 "$(db_count "select version from releases where env='staging' and state='known_good'")"
	wait_for -t 20 db_logs_cleared || fail "step logs of old steps were not cleared"
	assert_contains "$(cat "$T/serve.log")" "retention: pruned "
	# serve is healthy and goes on deploying
	curl -fsS -o /dev/null --max-time 5 "$RG_URL/health" || fail "serve unhealthy after pruning"
	id=$(deploy_ok v7)
	assert_live staging v7
	assert_eq "$id" "$(latest_run)"
	# /metrics keeps its figures in memory: the run gauge follows the
	# pruning (it is what the store holds); the two rolled-back deploys count
	local m st
	m=$(acurl -fsS "$RG_URL/metrics") || fail "no /metrics"
	for st in succeeded rolled_back; do
		assert_contains "$m" "rollguard_runs{state=\"$st\"} $(db_count "select count(*) from runs where state='$st'")" \
			"gauge of $st runs is what the store holds"
	done
	assert_contains "$m" "rollguard_rollbacks_total 2"
	assert_contains "$m" 'rollguard_step_duration_seconds_count '
}

db_logs_cleared() {
	[ "$(db_count 'select count(*) from step_runs where log is not null and run_id <= 6')" = 0 ]
}

t_retention_bad_config_refused() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
  retention: { runs: 90d, keep: 3 }
environments:
  staging: {}
deploy:
  - { name: app, run: ./mark app }
YAML
	local out
	out=$(rg lint -c "$T/rollguard.yaml" 2>&1) && fail "lint accepted an unknown retention key"
	assert_contains "$out" "rollguard.yaml:5:"
	assert_contains "$out" "'keep'"
	sed -i 's/keep: 3/keep_last: -1/' "$T/rollguard.yaml"
	out=$(rg lint -c "$T/rollguard.yaml" 2>&1) && fail "lint accepted keep_last: -1"
	assert_contains "$out" "keep_last"
	sed -i 's/keep_last: -1/keep_last: 3/; s/runs: 90d/runs: soon/' "$T/rollguard.yaml"
	out=$(rg lint -c "$T/rollguard.yaml" 2>&1) && fail "lint accepted runs: soon"
	assert_contains "$out" "invalid duration 'soon'"
}
