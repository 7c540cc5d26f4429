# t_bad_input.sh — hostile or malformed input, by CLI and by raw HTTP:
# it is refused with the documented status, and nothing runs.

cfg_bad_input() {
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
}

# Nothing ran and no file was created by an injected command.
assert_nothing_ran() {
	assert_eq "" "$(markers)" "no step ran"
	assert_no_file "$T/pwned" "injected command ran (config dir)"
	assert_no_file "$T/run/pwned" "injected command ran (serve's cwd)"
	assert_no_file /tmp/rollguard-pwned-$RG_PORT "injected command ran (/tmp)"
}

t_bad_version_cli() {
	cfg_bad_input
	rg_start
	local v
	for v in 'v1;touch pwned' '$(touch pwned)' '`touch pwned`' 'v1 && touch pwned' \
		'v1|touch pwned' "v1'" '../etc' '-v1' '.v1' '' "$(printf 'v1\ntouch pwned')" \
		"$(printf 'a%.0s' $(seq 1 65))" 'v1/x' 'v1 ' 'ü1'; do
		assert_exit 2 rg deploy "$v" --env staging
	done
	assert_exit 2 rg deploy 'v1;touch /tmp/rollguard-pwned-'"$RG_PORT" --env staging
	assert_exit 2 rg deploy v1 --env 'staging;touch pwned'
	assert_exit 2 rg rollback --env '$(touch pwned)'
	assert_exit 2 rg rollback --env staging --to '$(touch pwned)'
	assert_nothing_ran
	assert_eq 0 "$(json_len "$(rg history --env staging --json)" .)" "no run was created"
	# the longest valid name is fine
	assert_exit 0 rg deploy "$(printf 'a%.0s' $(seq 1 64))" --env staging
}

t_bad_version_http() {
	cfg_bad_input
	rg_start
	local body
	for body in '{"env":"staging","version":"v1;touch pwned"}' \
		'{"env":"staging","version":"$(touch pwned)"}' \
		'{"env":"staging","version":"`touch pwned`"}' \
		'{"env":"staging","version":"v1\ntouch pwned"}' \
		'{"env":"staging","version":"v1\u0000x"}' \
		'{"env":"staging","version":""}' \
		'{"env":"staging","version":42}' \
		'{"env":"staging","version":null}' \
		'{"env":"staging"}' \
		'{"version":"v1"}' \
		'{"env":"$(touch pwned)","version":"v1"}' \
		'{"env":"staging","version":"v1","version":"v2"}' \
		'["staging","v1"]' \
		'"v1"'; do
		http POST /api/v1/deploys "$body"
		assert_eq 400 "$HTTP_CODE" "POST /api/v1/deploys $body"
		json_has "$T/resp" .error.code || fail "error body for $body: $(cat "$T/resp")"
		json_has "$T/resp" .error.message || fail "error body for $body: $(cat "$T/resp")"
	done
	http POST /api/v1/deploys '{"env":"staging","version":"v1;touch pwned"}'
	assert_eq version "$(json_get "$T/resp" .error.field)" "the error names the field"
	assert_nothing_ran
	http GET /api/v1/runs?env=staging
	assert_eq 200 "$HTTP_CODE"
	assert_eq 0 "$(json_len "$T/resp" . 2>/dev/null || json_len "$T/resp" .runs)" "no run was created"
}

t_bad_json_and_sizes() {
	cfg_bad_input
	rg_start
	local body
	for body in '{"env":"staging",' '{env:staging}' 'not json' '' '{"env":"staging","version":"v1"} trailing' \
		"$(printf '\xff\xfe{}')"; do
		http POST /api/v1/deploys "$body"
		assert_eq 400 "$HTTP_CODE" "malformed JSON: $body"
		json_has "$T/resp" .error.code || fail "error body: $(cat "$T/resp")"
	done

	# unknown field → 400 naming it
	http POST /api/v1/deploys '{"env":"staging","version":"v1","colour":"red"}'
	assert_eq 400 "$HTTP_CODE" "unknown field"
	assert_eq colour "$(json_get "$T/resp" .error.field)" "the error names the unknown field"
	http POST /api/v1/rollbacks '{"env":"staging","speed":"fast"}'
	assert_eq 400 "$HTTP_CODE" "unknown field in a rollback"
	assert_eq speed "$(json_get "$T/resp" .error.field)"

	# body over 64 KiB → 413, even when it is valid JSON
	head -c 70000 /dev/zero | tr '\0' a >"$T/pad"
	printf '{"env":"staging","version":"v1","x":"%s"}' "$(cat "$T/pad")" >"$T/big.json"
	HTTP_CODE=$(curl -s -o "$T/resp" -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
		--data-binary @"$T/big.json" "$RG_URL/api/v1/deploys")
	assert_eq 413 "$HTTP_CODE" "body over 64 KiB"
	# a huge body is refused without being read whole
	HTTP_CODE=$(head -c 20000000 /dev/zero | curl -s -o "$T/resp" -w '%{http_code}' --max-time 20 \
		-H 'Content-Type: application/json' --data-binary @- "$RG_URL/api/v1/deploys")
	assert_one_of "$HTTP_CODE" 413 000
	# just under the limit is parsed (and refused for its unknown field)
	head -c 60000 /dev/zero | tr '\0' a >"$T/pad"
	printf '{"env":"staging","version":"v1","x":"%s"}' "$(cat "$T/pad")" >"$T/mid.json"
	HTTP_CODE=$(acurl -s -o "$T/resp" -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
		--data-binary @"$T/mid.json" "$RG_URL/api/v1/deploys")
	assert_eq 400 "$HTTP_CODE" "60 KB body is read"
	assert_eq x "$(json_get "$T/resp" .error.field)"
	assert_nothing_ran
	serve_alive || fail "serve died"
	curl -fsS -o /dev/null "$RG_URL/health" || fail "serve no longer answers"
}

t_unknown_things() {
	cfg_bad_input
	rg_start
	http GET /api/v1/runs/999999
	assert_eq 404 "$HTTP_CODE" "unknown run"
	json_has "$T/resp" .error.code || fail "error body: $(cat "$T/resp")"
	assert_exit 4 rg show 999999
	assert_exit 4 rg show 999999 --json
	assert_exit 4 rg logs 999999 a
	http GET /api/v1/runs/abc
	assert_match "$HTTP_CODE" '^4[0-9][0-9]$' "non-numeric run id"
	http GET /api/v1/runs/-1
	assert_match "$HTTP_CODE" '^4[0-9][0-9]$' "negative run id"
	http GET /api/v1/runs/99999999999999999999999
	assert_match "$HTTP_CODE" '^4[0-9][0-9]$' "overflowing run id"
	assert_exit 2 rg show 'abc;touch pwned'

	# unknown environment
	http POST /api/v1/deploys '{"env":"prodution","version":"v1"}'
	assert_match "$HTTP_CODE" '^4(00|04)$' "unknown env"
	json_has "$T/resp" .error.code || fail "error body: $(cat "$T/resp")"
	local rc=0
	rg deploy v1 --env prodution >"$T/out" 2>"$T/err" || rc=$?
	assert_one_of "$rc" 2 4
	assert_contains "$(cat "$T/err")" prodution "the error names the unknown env"
	rc=0
	rg status --env prodution --json >"$T/out" 2>"$T/err" || rc=$?
	assert_one_of "$rc" 2 4
	http GET /api/v1/status?env=prodution
	assert_match "$HTTP_CODE" '^4(00|04)$' "status of an unknown env"

	# unknown routes and methods
	http GET /api/v1/nope
	assert_eq 404 "$HTTP_CODE" "unknown route"
	http DELETE /api/v1/deploys
	assert_match "$HTTP_CODE" '^40[45]$' "wrong method"
	http GET /api/v1/deploys
	assert_match "$HTTP_CODE" '^40[45]$' "wrong method"
	assert_nothing_ran
}

t_no_server() {
	cfg_bad_input
	# serve is not started: the CLI says so, names the URL, says how to start one
	local url="http://127.0.0.1:$RG_PORT"
	assert_exit 3 rg status --env staging
	assert_contains "$(cat "$T/err")" "$url" "the message names the URL tried"
	assert_contains "$(cat "$T/err")" "serve" "the message says how to start a server"
	assert_exit 3 rg deploy v1 --env staging
	assert_exit 3 rg history --env staging --json
	assert_exit 3 rg show 1
	assert_exit 3 rg rollback --env staging
	# ROLLGUARD_URL is honoured
	ROLLGUARD_URL="http://127.0.0.1:$RG_PORT2" assert_exit 3 rg status
	assert_contains "$(cat "$T/err")" "127.0.0.1:$RG_PORT2"
	local rc=0
	ROLLGUARD_URL="not a url" rg status >"$T/out" 2>"$T/err" || rc=$?
	assert_one_of "$rc" 2 3
}
