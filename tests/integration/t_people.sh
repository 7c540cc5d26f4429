# t_people.sh — who may do what, and who did: tokens and roles over the
# real CLI and HTTP, the first admin token, browser-driven writes refused,
# and the audit log's chain checked after editing the SQLite file.

cfg_people() {
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
    run: @DIR@/mark a
YAML
}

# new_token NAME ROLES [ARGS…] — prints the token (the last line of stdout).
new_token() {
	local name=$1 roles=$2
	shift 2
	rg token create "$name" --role "$roles" "$@" -c "$T/rollguard.yaml" >"$T/token.out" ||
		fail "token create $name failed"
	tail -n1 "$T/token.out"
}

t_people_tokens_and_roles() {
	cfg_people
	rg_start
	local ci viewer id
	ci=$(new_token ci deployer --env staging)
	viewer=$(new_token eve viewer)
	assert_match "$ci" '^rg_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$'
	# no token, a bad one: 401 (exit 4); a role or env that does not allow it: 403 (exit 4)
	ROLLGUARD_TOKEN= assert_exit 4 rg deploy v1 --env staging
	assert_contains "$(cat "$T/err")" "needs a token"
	ROLLGUARD_TOKEN="rg_0123456789abcdef_$(printf 'x%.0s' $(seq 43))" assert_exit 4 rg status
	assert_contains "$(cat "$T/err")" "invalid token"
	ROLLGUARD_TOKEN=$viewer assert_exit 4 rg deploy v1 --env staging
	assert_contains "$(cat "$T/err")" "token 'eve' (viewer) may not deploy"
	ROLLGUARD_TOKEN=$ci assert_exit 4 rg deploy v1 --env production
	assert_contains "$(cat "$T/err")" "token 'ci' may not deploy in environment 'production'"
	ROLLGUARD_TOKEN=$viewer assert_exit 0 rg status
	# the actor is the token's name; a header saying otherwise changes nothing
	HTTP_TOKEN=$ci http POST /api/v1/deploys '{"env":"staging","version":"v1"}'
	assert_eq 201 "$HTTP_CODE" "deployer deploys to staging"
	id=$(json_get "$T/resp" .run.id)
	assert_run_ends "$id" succeeded
	assert_eq ci "$(json_get "$(rg show "$id" --json)" .actor)"
	curl -s -o /dev/null -H "Authorization: Bearer $ci" -H 'X-Rollguard-Actor: alice' \
		-H 'Content-Type: application/json' -X POST "$RG_URL/api/v1/runs/$id/abort"
	assert_eq ci "$(sqlite3 "$T/state/state.db" "select actor from audit where \"action\"='abort'")"
	# a token limited to staging sees staging only
	ROLLGUARD_TOKEN=$ci rg status --json >"$T/st.json"
	# (by value: each environment has a "production" mark of its own)
	assert_eq "staging 0" "$(/usr/bin/python3 -c 'import json, sys
doc = json.load(open(sys.argv[1]))
def values(v):
    if isinstance(v, dict):
        for x in v.values(): yield from values(x)
    elif isinstance(v, list):
        for x in v: yield from values(x)
    else: yield v
print(" ".join(e["env"] for e in doc["environments"]),
      sum(1 for v in values(doc) if isinstance(v, str) and "production" in v))' "$T/st.json")" \
		"a token limited to staging sees staging only"
	HTTP_TOKEN=$ci http GET "/api/v1/runs?env=production"
	assert_eq 403 "$HTTP_CODE"
	# revoked: refused at once, by a running serve
	rg token revoke ci -c "$T/rollguard.yaml" >/dev/null
	HTTP_TOKEN=$ci http GET /api/v1/status
	assert_eq 401 "$HTTP_CODE" "a revoked token"
	assert_eq unauthorized "$(json_get "$T/resp" .error.code)"
	# an alerts token may post alerts only
	local am
	am=$(new_token am alerts)
	HTTP_TOKEN=$am http GET /api/v1/status
	assert_eq 403 "$HTTP_CODE" "alerts token reads nothing"
	# /health needs nothing
	HTTP_TOKEN= http GET /health
	assert_eq 200 "$HTTP_CODE"
	rg_stop
}

t_people_expiry_and_list() {
	cfg_people
	rg_start
	local short
	short=$(new_token short viewer --expires 1s)
	HTTP_TOKEN=$short http GET /api/v1/status
	assert_eq 200 "$HTTP_CODE"
	sleep 1.3
	HTTP_TOKEN=$short http GET /api/v1/status
	assert_eq 401 "$HTTP_CODE" "an expired token"
	assert_contains "$(cat "$T/resp")" "token 'short' expired at"
	new_token ann approver,viewer --env production --env staging >/dev/null
	rg token list --json -c "$T/rollguard.yaml" >"$T/list.json"
	assert_not_contains "$(cat "$T/list.json")" "$short"
	assert_not_contains "$(cat "$T/list.json")" "hash"
	assert_contains "$(cat "$T/list.json")" '"approver"'
	rg token list -c "$T/rollguard.yaml" >"$T/list.txt"
	assert_match "$(grep '^ann' "$T/list.txt")" 'viewer,approver +production,staging'
	assert_exit 2 rg token create bad --role boss -c "$T/rollguard.yaml"
	assert_contains "$(cat "$T/err")" "unknown role 'boss'"
	assert_exit 2 rg token create bad --role viewer --env nowhere -c "$T/rollguard.yaml"
	assert_contains "$(cat "$T/err")" "unknown environment 'nowhere'"
	assert_exit 4 rg token create ann --role viewer -c "$T/rollguard.yaml"
	assert_exit 4 rg token revoke nobody -c "$T/rollguard.yaml"
	rg_stop
	# the state directory directly, with serve stopped
	assert_exit 0 rg token revoke ann -c "$T/rollguard.yaml"
	assert_exit 0 rg token create later --role viewer -c "$T/rollguard.yaml"
}

t_people_first_admin_file() {
	cfg_people
	rg_start
	assert_eq 600 "$(stat -c %a "$T/state/admin.token")"
	assert_eq 600 "$(stat -c %a "$T/state/token.key")"
	assert_contains "$(cat "$T/serve.log")" "$T/state/admin.token"
	assert_not_contains "$(cat "$T/serve.log")" "$(rg_admin_token)"
	# the CLI finds it through ./rollguard.yaml with no ROLLGUARD_TOKEN
	(cd "$T" && env -u ROLLGUARD_TOKEN ROLLGUARD_URL="$RG_URL" "$RG_BIN" status >/dev/null) ||
		fail "the CLI did not find the admin token through ./rollguard.yaml"
	rg_stop
	local before
	before=$(rg_admin_token)
	rg_start
	assert_eq "$before" "$(rg_admin_token)" "a restart keeps the first admin token"
	rg_stop
}

t_people_browsers_cannot_drive_it() {
	cfg_people
	rg_start
	local tok
	tok=$(rg_admin_token)
	# the attack: a page's fetch() with text/plain (no preflight)
	HTTP_CODE=$(curl -s -o "$T/resp" -w '%{http_code}' -H "Authorization: Bearer $tok" \
		-H 'Content-Type: text/plain' --data-binary '{"env":"production","version":"v9"}' \
		"$RG_URL/api/v1/deploys")
	assert_eq 415 "$HTTP_CODE" "text/plain write"
	HTTP_CODE=$(curl -s -o "$T/resp" -w '%{http_code}' -H "Authorization: Bearer $tok" \
		-H 'Content-Type: application/json' -H 'Origin: http://evil.example' \
		--data-binary '{"env":"production","version":"v9"}' "$RG_URL/api/v1/deploys")
	assert_eq 403 "$HTTP_CODE" "a write from another origin"
	assert_eq Origin "$(json_get "$T/resp" .error.field)"
	HTTP_CODE=$(curl -s -o "$T/resp" -w '%{http_code}' -H "Authorization: Bearer $tok" \
		-H "Origin: http://127.0.0.1:$RG_PORT" "$RG_URL/api/v1/status")
	assert_eq 200 "$HTTP_CODE" "the server's own origin"
	assert_eq 0 "$(sqlite3 "$T/state/state.db" 'select count(*) from runs')" "nothing ran"
	rg_stop
}

t_people_audit_chain() {
	cfg_people
	rg_start
	local viewer id
	viewer=$(new_token eve viewer)
	id=$(rg deploy v1 --env staging --json | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -n1)
	assert_run_ends "$id" succeeded
	ROLLGUARD_TOKEN=$viewer rg rollback --env staging --reason "try" >/dev/null 2>&1 || true
	rg audit -c "$T/rollguard.yaml" --json >"$T/audit.json"
	assert_contains "$(cat "$T/audit.json")" '"token_create"'
	rg audit -c "$T/rollguard.yaml" >"$T/audit.txt"
	assert_match "$(grep ' deploy ' "$T/audit.txt")" 'admin +127\.0\.0\.1 +deploy +staging +v1 +accepted 201'
	assert_match "$(grep ' rollback ' "$T/audit.txt")" 'eve +127\.0\.0\.1 +rollback +staging .*refused 403'
	assert_not_contains "$(cat "$T/audit.json")" "$viewer"
	assert_not_contains "$(cat "$T/audit.json")" "$(rg_admin_token)"
	assert_exit 0 rg audit verify -c "$T/rollguard.yaml"
	assert_contains "$(cat "$T/out")" "intact"
	rg_stop
	# edit an entry in the SQLite file: verify names it
	sqlite3 "$T/state/state.db" "update audit set actor='mallory' where action='deploy'"
	local seq
	seq=$(sqlite3 "$T/state/state.db" "select seq from audit where action='deploy'")
	assert_exit 1 rg audit verify -c "$T/rollguard.yaml"
	assert_contains "$(cat "$T/out")" "entry $seq was changed"
	# remove one instead
	sqlite3 "$T/state/state.db" "update audit set actor='admin' where action='deploy'"
	assert_exit 0 rg audit verify -c "$T/rollguard.yaml"
	sqlite3 "$T/state/state.db" "delete from audit where seq=1"
	assert_exit 1 rg audit verify -c "$T/rollguard.yaml"
	assert_contains "$(cat "$T/out")" "entry 1 is missing"
}
