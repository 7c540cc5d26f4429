# t_rollback_manual.sh — `rollguard rollback`: to the previous known-good
# release, to a named one, refusals, --force, --dry-run.

# a and b have undo, redeploy has none (re-run with the target version).
cfg_manual() {
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
    run: @DIR@/mark a out job=job-a-$ROLLGUARD_VERSION
    undo: @DIR@/mark undo.a
  - name: redeploy
    run: @DIR@/mark redeploy
  - name: b
    run: @DIR@/mark b failif bad
    undo: @DIR@/mark undo.b
YAML
}

t_manual_rollback_to_previous() {
	cfg_manual
	rg_start
	deploy_ok v1 >/dev/null
	deploy_ok v2 >/dev/null
	: >"$T/markers"
	local id j
	assert_exit 0 rg rollback --env staging --reason "checkout broken" --wait
	id=$(latest_run)
	assert_run_ends "$id" succeeded
	assert_eq "undo.b undo.a" "$(markers '^undo\.' | tr '\n' ' ' | sed 's/ $//')" \
		"undo of the live release's steps, newest first"
	assert_eq v2 "$(env_of undo.b ROLLGUARD_VERSION)" "undo sees the release being removed"
	assert_eq v1 "$(env_of undo.b ROLLGUARD_PREVIOUS_VERSION)" "undo sees the target"
	assert_eq job-a-v1 "$(env_of undo.a ROLLGUARD_PREV_A_JOB)" "undo sees the target's outputs"
	assert_eq 1 "$(marker_count redeploy)" "a step without undo is re-run"
	assert_eq v1 "$(env_of redeploy ROLLGUARD_VERSION)" "re-run with the target version"
	assert_eq "0 0" "$(marker_count a) $(marker_count b)" "steps with undo are not re-run"

	j=$(run_json "$id")
	assert_eq rollback "$(json_get "$j" .kind)"
	assert_eq v1 "$(json_get "$j" .version)"
	assert_eq v2 "$(json_get "$j" .from_version)"
	j=$(rg history --env staging --json)
	assert_eq rollback "$(json_get "$j" .[0].kind)"
	assert_eq "checkout broken" "$(json_get "$j" .[0].reason)"
	assert_eq v2 "$(json_get "$j" .[0].from_version)"
	assert_live staging v1
	assert_eq rolled_back "$(release_state staging v2)"
}

t_manual_rollback_to_named_version() {
	cfg_manual
	rg_start
	deploy_ok v1 >/dev/null
	deploy_ok v2 >/dev/null
	deploy_ok v3 >/dev/null
	: >"$T/markers"
	assert_exit 0 rg rollback --env staging --to v1 --wait
	assert_run_ends "$(latest_run)" succeeded
	assert_eq v3 "$(env_of undo.a ROLLGUARD_VERSION)"
	assert_eq v1 "$(env_of undo.a ROLLGUARD_PREVIOUS_VERSION)"
	assert_eq job-a-v1 "$(env_of undo.a ROLLGUARD_PREV_A_JOB)"
	assert_live staging v1
	assert_eq superseded "$(release_state staging v2)"
	assert_eq rolled_back "$(release_state staging v3)"
}

t_manual_rollback_refusals() {
	cfg_manual
	rg_start
	# nothing to roll back to yet
	deploy_ok v1 >/dev/null
	assert_exit 4 rg rollback --env staging
	assert_exit 1 rg deploy bad --env staging --wait
	assert_run_ends "$(latest_run)" rolled_back
	local n_runs
	n_runs=$(json_len "$(rg history --env staging --json)" .)
	: >"$T/markers"

	assert_exit 4 rg rollback --env staging --to v9
	assert_match "$(cat "$T/err" "$T/out")" 'v9' "an unknown target is named"
	assert_exit 4 rg rollback --env staging --to bad
	assert_match "$(cat "$T/err" "$T/out")" 'known.good|force' "the refusal says why (never known good) or how (--force)"
	http POST /api/v1/rollbacks '{"env":"staging","to":"bad"}'
	assert_eq 403 "$HTTP_CODE" "never-known-good target"
	json_has "$T/resp" .error.code || fail "error body: $(cat "$T/resp")"
	json_has "$T/resp" .error.message || fail "error body: $(cat "$T/resp")"
	http POST /api/v1/rollbacks '{"env":"staging","to":"v9"}'
	assert_eq 404 "$HTTP_CODE" "unknown target"
	assert_exit 2 rg rollback --env staging --to 'v1;touch pwned'
	assert_no_file "$T/pwned"
	assert_no_file "$T/run/pwned"
	assert_eq "" "$(markers)" "nothing ran for a refused rollback"
	assert_eq "$n_runs" "$(json_len "$(rg history --env staging --json)" .)" "refusals create no run"

	# --force takes it anyway
	assert_exit 0 rg rollback --env staging --to bad --force --reason "bad was fine after all" --wait
	assert_run_ends "$(latest_run)" succeeded
	assert_eq v1 "$(env_of undo.a ROLLGUARD_VERSION)"
	assert_eq bad "$(env_of undo.a ROLLGUARD_PREVIOUS_VERSION)"
	assert_live staging bad
}

t_manual_rollback_dry_run() {
	cfg_manual
	rg_start
	deploy_ok v1 >/dev/null
	deploy_ok v2 >/dev/null
	: >"$T/markers"
	local before after db_before
	before=$(rg history --env staging --json)
	db_before=$(sqlite3 -readonly "file:$T/state/state.db?mode=ro" 'select count(*) from runs; select count(*) from events' 2>/dev/null)
	assert_exit 0 rg rollback --env staging --dry-run
	local plan
	plan=$(cat "$T/out")
	assert_contains "$plan" v1 "the plan names the target"
	assert_match "$plan" 'undo' "the plan shows what will be undone"
	assert_eq "" "$(markers)" "a dry run runs nothing"
	after=$(rg history --env staging --json)
	assert_eq "$before" "$after" "a dry run adds no run to history"
	assert_eq "$db_before" "$(sqlite3 -readonly "file:$T/state/state.db?mode=ro" 'select count(*) from runs; select count(*) from events' 2>/dev/null)" \
		"a dry run writes nothing"
	assert_live staging v2
	http POST /api/v1/rollbacks '{"env":"staging","dry_run":true}'
	assert_eq 200 "$HTTP_CODE" "API dry run"
	assert_eq v1 "$(json_get "$T/resp" .plan.to)"
	assert_eq v2 "$(json_get "$T/resp" .plan.from)"
	assert_eq undo "$(json_get "$T/resp" .plan.steps[0].action)" "the plan lists its steps"
	assert_eq "" "$(markers)" "a dry run runs nothing"
	# a dry run of a refused rollback is refused too
	assert_exit 4 rg rollback --env staging --to v9 --dry-run
}

t_manual_rollback_failing_undo() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging: {}
deploy:
  - name: a
    run: @DIR@/mark a
    undo: @DIR@/mark undo.a failif v2
YAML
	rg_start
	deploy_ok v1 >/dev/null
	deploy_ok v2 >/dev/null
	assert_exit 1 rg rollback --env staging --wait
	local id
	id=$(latest_run)
	assert_run_ends "$id" rollback_failed
	assert_contains "$(json_get "$(run_json "$id")" .error)" a "the error names the step"
}
