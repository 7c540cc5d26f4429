# t_approvals.sh — approval gates, the authority matrix and emergencies, as
# people use them: tokens per person, the real CLI and API, waits that
# survive SIGKILL, and what show, status and the audit log say.

# cfg_gated [DEPLOY_GATE] [ROLLBACK_GATE] [ACTIONS] — production gated.
cfg_gated() {
	local dgate=${1:-'{ required: 2, from: [approver], wait: 1s, timeout: 1h }'}
	local rgate=${2:-'{ required: 1, from: [approver], timeout: 1h }'}
	local actions=${3:-'{ P0: rollback, P1: rollback, P2: rollback-after-approval, P3: notify }'}
	rg_config <<YAML
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging: {}
  production:
    monitor: 1500ms
    approvals:
      deploy: $dgate
      rollback: $rgate
checks:
  health:
    run: @DIR@/health
    timeout: 1s
triggers:
  - name: health-down
    check: health
    every: 100ms
    failures: 2
    severity: P1
deploy:
  - name: app
    run: @DIR@/mark app sickif v3
    undo: @DIR@/mark undo.app heal
actions: $actions
YAML
}

# ran LABEL — how many times a step helper ran (0 before the first).
ran() {
	if [ -e "$T/markers" ]; then marker_count "$1"; else echo 0; fi
}

gate_is() {
	[ "$(json_get "$(rg show "$1" --json)" .gate)" = "$2" ] &&
		[ "$(run_state "$1")" = awaiting_approval ]
}

people() {
	person alice deployer,approver
	person bob approver
	person dave approver
	person carol viewer
	person olga deployer,oncall
	person lena deployer
}

# A production deploy waits for two approvers (never the one who asked),
# then its wait timer, then runs; show, status and the audit log say who.
t_approvals_two_approvers_then_wait() {
	cfg_gated
	rg_start   # first: it makes the admin token the helpers use
	people
	local id
	id=$(ROLLGUARD_TOKEN=$(cat "$T/tok.alice") deploy_start v1 production)
	wait_for -t 10 run_state_is "$id" awaiting_approval || fail "run $id did not wait: $(run_state "$id")"
	assert_eq 0 "$(ran app)" "nothing ran before the approvals"
	as alice status --env production >"$T/st.txt"
	assert_contains "$(cat "$T/st.txt")" "2 of 2 approvals still needed from approver"
	# the requester, a viewer, a second answer from the same person: refused
	assert_exit 4 as alice approve "$id"
	assert_contains "$(cat "$T/err")" "the person who requested run $id (alice) cannot approve it"
	assert_exit 4 as carol approve "$id"
	assert_contains "$(cat "$T/err")" "token 'carol' (viewer) may not approve"
	assert_exit 0 as bob approve "$id" --comment "change ticket 42"
	assert_contains "$(cat "$T/out")" "1 of 2 approvals still needed"
	assert_exit 4 as bob approve "$id"
	assert_contains "$(cat "$T/err")" "bob has already answered for run $id"
	assert_eq awaiting_approval "$(run_state "$id")"
	assert_exit 0 as dave approve "$id"
	assert_contains "$(cat "$T/out")" "approved; starts at"
	assert_eq 0 "$(ran app)" "the wait timer runs before anything starts"
	assert_run_ends "$id" succeeded 20
	assert_eq 1 "$(ran app)"
	as carol show "$id" >"$T/show.txt"
	assert_contains "$(cat "$T/show.txt")" "approved by bob at"
	assert_contains "$(cat "$T/show.txt")" "change ticket 42"
	assert_contains "$(cat "$T/show.txt")" "approved by dave at"
	assert_eq alice "$(json_get "$(rg show "$id" --json)" .actor)"
	assert_eq 2 "$(json_len "$(rg show "$id" --json)" .approval.approved_by)"
	# every answer, accepted or refused, is in the audit log with its person
	assert_eq "1|1|2" "$(sqlite3 "$T/state/state.db" "select
		(select count(*) from audit where \"action\"='approve' and actor='alice' and result='refused'),
		(select count(*) from audit where \"action\"='approve' and actor='carol' and result='refused'),
		(select count(*) from audit where \"action\"='approve' and result='accepted')")"
	rg_stop
}

# A rejection ends the run aborted with the rejecter and reason; a
# rejection without a reason is refused; the timeout aborts too.
t_approvals_reject_and_timeout() {
	cfg_gated '{ required: 1, from: [approver], timeout: 1s }'
	rg_start   # first: it makes the admin token the helpers use
	people
	local id j
	id=$(ROLLGUARD_TOKEN=$(cat "$T/tok.alice") deploy_start v1 production)
	wait_for -t 10 run_state_is "$id" aborted || fail "run $id did not time out: $(run_state "$id")"
	assert_contains "$(json_get "$(rg show "$id" --json)" .error)" "no decision within 1s (0 of 1 approvals)"
	assert_eq failed "$(release_state production v1)"
	# now with an hour to decide
	cfg_gated '{ required: 1, from: [approver], timeout: 1h }'
	rg_stop
	rg_start
	id=$(ROLLGUARD_TOKEN=$(cat "$T/tok.alice") deploy_start v2 production)
	wait_for -t 10 run_state_is "$id" awaiting_approval || fail "run $id did not wait"
	assert_exit 2 as bob reject "$id"
	assert_contains "$(cat "$T/err")" "missing --reason"
	HTTP_TOKEN=$(cat "$T/tok.bob") http POST "/api/v1/runs/$id/reject" '{}'
	assert_eq 400 "$HTTP_CODE" "a rejection without a reason"
	assert_eq reason "$(json_get "$T/resp" .error.field)"
	assert_exit 0 as bob reject "$id" --reason "not during the sale"
	assert_eq aborted "$(run_state "$id")"
	j=$(rg show "$id" --json)
	assert_contains "$(json_get "$j" .error)" "rejected by bob: not during the sale"
	assert_eq rejected "$(json_get "$j" .approval.status)"
	assert_eq 0 "$(ran app)" "nothing ran"
	rg_stop
}

# Approvals and the wait timer survive SIGKILL: an approval given before
# the kill still counts after it, and a wait under way still ends the wait.
t_approvals_survive_sigkill() {
	cfg_gated '{ required: 2, from: [approver], wait: 2s, timeout: 1h }'
	rg_start   # first: it makes the admin token the helpers use
	people
	local id
	id=$(ROLLGUARD_TOKEN=$(cat "$T/tok.alice") deploy_start v1 production)
	wait_for -t 10 run_state_is "$id" awaiting_approval || fail "run $id did not wait"
	as bob approve "$id" >/dev/null || fail "bob's approval refused"
	rg_kill9
	rg_start
	assert_eq awaiting_approval "$(run_state "$id")" "the wait survives a kill"
	assert_eq bob "$(json_get "$(rg show "$id" --json)" '.approval.approved_by[0].by')"
	assert_exit 4 as bob approve "$id"
	as dave approve "$id" >/dev/null || fail "dave's approval refused"
	rg_kill9   # during the wait timer
	rg_start
	assert_eq awaiting_approval "$(run_state "$id")"
	assert_eq 0 "$(ran app)"
	assert_run_ends "$id" succeeded 20
	assert_eq 1 "$(ran app)"
	rg_stop
}

# The wait after the approvals can still be aborted; nothing runs.
t_approvals_wait_can_be_aborted() {
	cfg_gated '{ required: 1, from: [bob], wait: 30s, timeout: 1h }'
	rg_start   # first: it makes the admin token the helpers use
	people
	local id
	id=$(ROLLGUARD_TOKEN=$(cat "$T/tok.alice") deploy_start v1 production)
	wait_for -t 10 run_state_is "$id" awaiting_approval || fail "run $id did not wait"
	# `from` names bob: dave, an approver too, is not one of them
	assert_exit 4 as dave approve "$id"
	assert_contains "$(cat "$T/err")" "takes answers from bob; dave is none of them"
	as bob approve "$id" >/dev/null || fail "bob's approval refused"
	assert_exit 0 as alice abort "$id"
	assert_eq aborted "$(run_state "$id")"
	sleep 0.5
	assert_eq 0 "$(ran app)"
	rg_stop
}

# A manual production rollback waits for its approver; the automatic one
# of a P0 trigger never waits for anyone.
t_approvals_manual_rollback_gate() {
	cfg_gated '{ required: 1, from: [approver], timeout: 1h }'
	rg_start   # first: it makes the admin token the helpers use
	people
	local id rb
	for v in v1 v2; do
		id=$(ROLLGUARD_TOKEN=$(cat "$T/tok.alice") deploy_start "$v" production)
		wait_for -t 10 run_state_is "$id" awaiting_approval || fail "run $id did not wait"
		as bob approve "$id" >/dev/null || fail "approval of $v refused"
		assert_run_ends "$id" succeeded 20
	done
	assert_contains "$(as lena rollback --env production --dry-run)" \
		"it waits for 1 approval from approver before it starts (approvals.rollback)"
	as lena rollback --env production --reason "v2 breaks checkout" >"$T/rb.txt" ||
		fail "rollback refused: $(cat "$T/rb.txt")"
	rb=$(sed -n 's/^run \([0-9][0-9]*\):.*/\1/p' "$T/rb.txt" | head -n1)
	assert_eq awaiting_approval "$(run_state "$rb")"
	assert_contains "$(cat "$T/rb.txt")" "rollback gate, waiting"
	assert_eq 0 "$(ran undo.app)" "nothing undone before the approval"
	assert_exit 4 as lena approve "$rb"
	as bob approve "$rb" >/dev/null || fail "bob's approval of the rollback refused"
	assert_run_ends "$rb" succeeded 20
	assert_live production v1
	rg_stop
}

# The authority matrix: a P1 trigger's rollback waits for a lead (a token
# name); an approver who is not one is refused; the lead's approval rolls
# back. A P0 rollback-after-approval is refused by lint.
t_approvals_authority_matrix() {
	cfg_gated '{ required: 1, from: [approver], timeout: 1h }' '{ required: 1, from: [approver], timeout: 1h }' \
		'{ P0: rollback, P1: { action: rollback-after-approval, from: [lead], timeout: 1m }, P2: notify, P3: notify }'
	rg_start
	people
	person lead approver
	local id
	for v in v1 v3; do
		id=$(ROLLGUARD_TOKEN=$(cat "$T/tok.alice") deploy_start "$v" production)
		wait_for -t 10 run_state_is "$id" awaiting_approval || fail "run $id did not wait"
		as bob approve "$id" >/dev/null || fail "approval of $v refused"
		[ "$v" = v1 ] && assert_run_ends "$id" succeeded 20
	done
	# v3 makes the app sick: health-down (P1) asks for the lead
	wait_for -t 20 gate_is "$id" P1 ||
		fail "run $id did not hold for the P1 gate: $(rg show "$id" --json | head -c 600)"
	assert_exit 4 as bob approve "$id"
	assert_contains "$(cat "$T/err")" "takes answers from lead; bob is none of them"
	assert_exit 0 as lead approve "$id" --comment "confirmed on the dashboard"
	assert_run_ends "$id" rolled_back 20
	assert_contains "$(json_get "$(rg show "$id" --json)" .decision.reason)" "lead approved the rollback"
	rg_stop
	rg_config broken.yaml <<'YAML'
service: shop
environments:
  production: {}
deploy:
  - name: app
    run: "true"
actions:
  P0: rollback-after-approval
YAML
	assert_exit 1 "$RG_BIN" lint -c "$T/broken.yaml"
	assert_contains "$(cat "$T/out" "$T/err")" "broken.yaml:8:7: P0: an automatic rollback of a P0 trigger never waits for anyone"
}

# Emergencies: the oncall role and a reason skip the gates (and, asked for,
# the monitor window); marked on the run, in history and in the audit log.
t_approvals_emergency() {
	cfg_gated
	rg_start   # first: it makes the admin token the helpers use
	people
	local id j
	assert_exit 4 as alice deploy v1 --env production --emergency --reason "prod is down"
	assert_contains "$(cat "$T/err")" "may not emergency"
	assert_exit 2 as olga deploy v1 --env production --emergency
	assert_contains "$(cat "$T/err")" "--emergency needs --reason"
	assert_exit 0 as olga deploy v1 --env production --emergency --reason "prod is down" --skip-monitor --wait
	id=$(latest_run production)
	j=$(rg show "$id" --json)
	assert_eq true "$(json_get "$j" .emergency)"
	assert_eq "prod is down" "$(json_get "$j" .reason)"
	assert_eq null "$(json_get "$j" .approval)"
	assert_contains "$(rg show "$id")" "emergency   yes: approval gates and the monitor window skipped"
	assert_contains "$(rg history --env production)" "EMERGENCY"
	assert_contains "$(printf '%s' "$j" | json_flat | grep -E '^\.events\[')" "monitor window skipped (emergency deploy)"
	assert_eq "EMERGENCY: prod is down" "$(sqlite3 "$T/state/state.db" "select detail from audit where \"action\"='deploy' and actor='olga'")"
	# a second release the normal way, then an emergency rollback: no gate
	id=$(ROLLGUARD_TOKEN=$(cat "$T/tok.alice") deploy_start v2 production)
	wait_for -t 10 run_state_is "$id" awaiting_approval || fail "run $id did not wait"
	as bob approve "$id" >/dev/null
	as dave approve "$id" >/dev/null
	assert_run_ends "$id" succeeded 20
	assert_exit 0 as olga rollback --env production --emergency --reason "v2 corrupts carts" --wait
	assert_live production v1
	assert_eq true "$(json_get "$(rg show "$(latest_run production)" --json)" .emergency)"
	rg_stop
}
