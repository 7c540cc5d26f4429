# t_secrets.sh — secrets hygiene: commands never get the variables that
# hold secrets, the values of known secrets are *** in stored logs and
# events (CLI and API alike), the store is private, and a secret file others
# can read is refused.

SECRET_VALUE='s3cret-value-4711'
ALERTS_VALUE='alerts-hmac-key-0815'

# Steps that print the secrets they got some other way (files next to the
# config), so their output has to be masked by value.
secrets_config() {
	printf '%s\n' "$SECRET_VALUE" >"$T/leaked.txt"
	printf '%s\n' "$ALERTS_VALUE" >"$T/alerts.key"
	chmod 600 "$T/alerts.key"
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
  secret_env: [SOME_SECRET]
environments:
  staging: {}
deploy:
  - name: peek
    run: 'echo "seen: [$SOME_SECRET] [$RG_HOOK_SECRET]"; env; ./mark peek'
  - name: leak
    run: 'echo "from a file: $(cat leaked.txt) and $(cat alerts.key)"; cat leaked.txt >&2; exit 3'
alerts:
  secret_file: alerts.key
YAML
}

t_secrets_withheld_and_masked() {
	secrets_config
	SOME_SECRET=$SECRET_VALUE OTHER_VAR=visible rg_start
	assert_exit 1 rg deploy v1 --env staging --wait
	local id
	id=$(latest_run staging)
	assert_eq rolled_back "$(wait_run "$id")"

	# the step did not see the variable (nor any ROLLGUARD_TOKEN)
	assert_eq "" "$(env_of peek SOME_SECRET)" "secret_env variables are withheld from commands"
	assert_eq visible "$(env_of peek OTHER_VAR)" "the rest of serve's environment is passed on"
	assert_exit 0 rg logs "$id" peek
	assert_contains "$(cat "$T/out")" "seen: [] []"
	assert_not_contains "$(cat "$T/out")" "SOME_SECRET="

	# what the step printed of the secrets is masked, in every view
	assert_exit 0 rg logs "$id" leak
	assert_contains "$(cat "$T/out")" "from a file: *** and ***"
	assert_not_contains "$(cat "$T/out")" "$SECRET_VALUE"
	http GET "/api/v1/runs/$id/steps/leak/log"
	assert_eq 200 "$HTTP_CODE"
	assert_contains "$(cat "$T/resp")" "***"
	assert_not_contains "$(cat "$T/resp")" "$SECRET_VALUE" "API step log"
	assert_not_contains "$(cat "$T/resp")" "$ALERTS_VALUE" "API step log"
	http GET "/api/v1/runs/$id/events"
	assert_contains "$(cat "$T/resp")" "***" "the failed step's event carries its masked last line"
	assert_not_contains "$(cat "$T/resp")" "$SECRET_VALUE" "API events"
	assert_exit 0 rg show "$id" --json
	assert_not_contains "$(cat "$T/out")" "$SECRET_VALUE" "rollguard show"
	assert_not_contains "$(cat "$T/out")" "$ALERTS_VALUE" "rollguard show"
	assert_not_contains "$(sqlite3 "$T/state/state.db" .dump)" "$SECRET_VALUE" "nothing stored"
	assert_not_contains "$(sqlite3 "$T/state/state.db" .dump)" "$ALERTS_VALUE" "nothing stored"
	assert_not_contains "$(cat "$T/serve.log")" "$SECRET_VALUE" "serve's log"

	# the store is private
	assert_eq 600 "$(stat -c %a "$T/state/state.db")"
	assert_eq 600 "$(stat -c %a "$T/state/state.db-wal")"
	assert_eq 600 "$(stat -c %a "$T/state/state.db-shm")"
	rg_stop
}

t_secrets_readable_secret_file_refused() {
	secrets_config
	chmod 644 "$T/alerts.key"
	assert_exit 1 "$RG_BIN" lint -c "$T/rollguard.yaml"
	assert_contains "$(cat "$T/err")" "rollguard.yaml:14:16: secret file '$T/alerts.key' is readable by everyone (mode 0644)"
	assert_not_contains "$(cat "$T/err")" "$ALERTS_VALUE"
	assert_exit 2 "$RG_BIN" serve -c "$T/rollguard.yaml"
	assert_contains "$(cat "$T/err")" "is readable by everyone (mode 0644); make it private"
}
