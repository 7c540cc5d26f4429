# t_cli.sh — the CLI itself: help, version, usage errors (exit 2), the
# --json shapes of status, history and show.

t_cli_help_and_usage() {
	local c
	assert_exit 0 "$RG_BIN" help
	for c in deploy rollback status history show logs abort lint init serve; do
		assert_contains "$(cat "$T/out" "$T/err")" "$c" "help lists $c"
	done
	assert_exit 0 "$RG_BIN" help deploy
	assert_contains "$(cat "$T/out" "$T/err")" --env "help deploy shows its options"
	assert_exit 0 "$RG_BIN" help rollback
	assert_contains "$(cat "$T/out" "$T/err")" --dry-run
	assert_exit 0 "$RG_BIN" --help
	assert_exit 0 "$RG_BIN" deploy --help
	assert_contains "$(cat "$T/out" "$T/err")" --wait
	assert_exit 0 "$RG_BIN" version
	assert_match "$(cat "$T/out")" '[0-9]+\.[0-9]+' "version prints a version"

	assert_exit 2 "$RG_BIN"
	assert_exit 2 "$RG_BIN" frobnicate
	assert_contains "$(cat "$T/err")" frobnicate "the error names the unknown command"
	assert_exit 2 "$RG_BIN" help frobnicate
	assert_exit 2 rg deploy
	assert_exit 2 rg deploy v1
	assert_exit 2 rg deploy v1 --env
	assert_exit 2 rg deploy v1 v2 --env staging
	assert_exit 2 rg deploy v1 --env staging --colour
	assert_exit 2 rg rollback
	assert_exit 2 rg show
	assert_exit 2 rg history --limit abc
	assert_exit 2 rg logs
	assert_exit 2 rg abort
	assert_exit 2 "$RG_BIN" lint -c
	assert_eq "" "$(grep -E "$SANITIZER_RE" "$T/cli.log")"
}

t_cli_json_shapes() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    post_rollback_monitor: 200ms
deploy:
  - name: a
    run: @DIR@/mark a
    undo: @DIR@/mark undo.a
  - name: b
    run: @DIR@/mark b failif v2
YAML
	rg_start
	local id1 id2 j k
	id1=$(deploy_ok v1)
	assert_exit 1 rg deploy v2 --env staging --wait
	id2=$(latest_run)
	assert_run_ends "$id2" rolled_back

	# status
	j=$(rg status --env staging --json)
	json_flat <<<"$j" >/dev/null || fail "status --json is not JSON: $j"
	assert_eq staging "$(json_get "$j" .env)"
	assert_eq v1 "$(json_get "$j" .live.version)"
	assert_one_of "$(json_get "$j" .live.state)" live known_good
	assert_eq null "$(json_raw "$j" .run)"

	# history, newest first
	j=$(rg history --env staging --json)
	json_flat <<<"$j" >/dev/null || fail "history --json is not JSON: $j"
	assert_eq 2 "$(json_len "$j" .)"
	for k in id kind version from_version state started ended reason; do
		json_has "$j" ".[0].$k" || fail "history entries have '$k': $j"
	done
	assert_eq "$id2" "$(json_get "$j" .[0].id)"
	assert_eq "$id1" "$(json_get "$j" .[1].id)"
	assert_eq v2 "$(json_get "$j" .[0].version)"
	assert_eq v1 "$(json_get "$j" .[0].from_version)"
	assert_eq deploy "$(json_get "$j" .[0].kind)"
	assert_eq rolled_back "$(json_get "$j" .[0].state)"
	j=$(rg history --env staging --limit 1 --json)
	assert_eq 1 "$(json_len "$j" .)" "--limit"
	j=$(rg history --json)
	assert_eq 2 "$(json_len "$j" .)" "history without --env: every environment"
	# pages: a full page says where the next one starts
	assert_contains "$(rg history --env staging --limit 1)" "more: rollguard history --env staging --before $id2"
	j=$(rg history --env staging --limit 1 --before "$id2" --json)
	assert_eq "$id1" "$(json_get "$j" .[0].id)" "--before: the next page"
	assert_not_contains "$(rg history --env staging --limit 5)" "more:" "the last page says no more"
	assert_eq "$id2" "$(acurl -fsS "$RG_URL/api/v1/runs?env=staging&limit=1" | tr -d ' \n' | sed -n 's/.*"next_before":\([0-9]*\).*/\1/p')"
	assert_exit 2 rg history --before x

	# show
	j=$(rg show "$id2" --json)
	json_flat <<<"$j" >/dev/null || fail "show --json is not JSON: $j"
	for k in id kind version from_version state; do
		json_has "$j" ".$k" || fail "show has '$k'"
	done
	assert_eq "$id2" "$(json_get "$j" .id)"
	assert_eq "a b" "$(json_get "$j" .steps[0].name) $(json_get "$j" .steps[1].name)" "the forward steps first"
	assert_eq "a undo" "$(json_get "$j" .steps[2].name) $(json_get "$j" .steps[2].action)" "then the undo"
	assert_eq 3 "$(json_len "$j" .steps)"
	for k in name state attempts exit_code started ended; do
		json_has "$j" ".steps[0].$k" || fail "steps have '$k': $j"
	done
	[ "$(json_len "$j" .events)" -ge 1 ] || fail "show has events"
	for k in at type message; do
		json_has "$j" ".events[0].$k" || fail "events have '$k': $j"
	done
	for k in trigger severity action observed threshold reason; do
		json_has "$j" ".decision.$k" || fail "decision has '$k': $j"
	done
	assert_eq null "$(json_raw "$(rg show "$id1" --json)" .decision)"

	# the human forms work too and say the same things
	assert_exit 0 rg status --env staging
	assert_contains "$(cat "$T/out")" v1
	assert_exit 0 rg history --env staging
	assert_contains "$(cat "$T/out")" rolled_back
	assert_exit 0 rg show "$id2"
	assert_contains "$(cat "$T/out")" rolled_back
	assert_exit 0 rg status
}

# The CLI talks to the server named by ROLLGUARD_URL, not a default.
t_cli_url_from_env() {
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
YAML
	rg_start
	# no ROLLGUARD_TOKEN: the admin token is found through ./rollguard.yaml,
	# or the config -c names
	assert_exit 0 env -u ROLLGUARD_TOKEN -C "$T" ROLLGUARD_URL="$RG_URL" "$RG_BIN" status --env staging --json
	assert_exit 0 env -u ROLLGUARD_TOKEN ROLLGUARD_URL="$RG_URL/" "$RG_BIN" status --env staging --json \
		-c "$T/rollguard.yaml"
}
