# t_session.sh — the dashboard's way in, over real HTTP: its files served
# from the binary with the headers that keep it from being framed or fed
# script, a token pasted once for a session cookie, writes made with that
# cookie refused without the CSRF token (a cross-site form is refused and
# changes nothing), and a session that ends with its token or on sign-out.

cfg_session() {
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

# scurl ARGS… — curl with the browser's cookie jar ($T/jar), as the page.
scurl() {
	curl -s -b "$T/jar" -c "$T/jar" --max-time 10 "$@"
}

t_session_dashboard_files_and_headers() {
	cfg_session
	rg_start
	curl -s -D "$T/h" -o "$T/page" "$RG_URL/"
	assert_contains "$(head -n1 "$T/h")" 200
	assert_contains "$(cat "$T/page")" "<html"
	assert_contains "$(grep -i '^content-type' "$T/h")" "text/html"
	assert_contains "$(grep -i '^content-security-policy' "$T/h")" "script-src 'self'"
	assert_contains "$(grep -i '^content-security-policy' "$T/h")" "frame-ancestors 'none'"
	assert_contains "$(grep -i '^x-frame-options' "$T/h")" DENY
	assert_contains "$(grep -i '^referrer-policy' "$T/h")" no-referrer
	assert_contains "$(grep -i '^x-content-type-options' "$T/h")" nosniff
	# the page itself holds nothing but the page: no run, no token
	assert_not_contains "$(cat "$T/page")" "$(rg_admin_token)"
	assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' "$RG_URL/ui/no-such.js")"
	assert_eq 405 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$RG_URL/")"
	# the API answers carry the same headers
	curl -s -D "$T/h2" -o /dev/null "$RG_URL/health"
	assert_contains "$(grep -i '^x-frame-options' "$T/h2")" DENY
	rg_stop
}

t_session_sign_in_and_csrf() {
	cfg_session
	rg_start
	person dana deployer
	local token csrf
	token=$(cat "$T/tok.dana")
	# nothing without a session
	assert_eq 401 "$(scurl -o /dev/null -w '%{http_code}' "$RG_URL/api/v1/status")"
	# a bad token opens nothing, and its text is not repeated
	scurl -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary '{"token":"rg_0123456789abcdef_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}' \
		"$RG_URL/api/v1/session" >"$T/code"
	assert_eq 401 "$(cat "$T/code")"
	assert_eq token "$(json_get "$T/resp" .error.field)"
	assert_not_contains "$(cat "$T/resp")" xxxxxxxx
	# sign in: the cookie is HttpOnly, SameSite=Strict and expires
	scurl -D "$T/h" -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary "{\"token\":\"$token\"}" "$RG_URL/api/v1/session" >"$T/code"
	assert_eq 201 "$(cat "$T/code")"
	local cookie
	cookie=$(grep -i '^set-cookie' "$T/h")
	assert_contains "$cookie" "rg_session=s_"
	assert_contains "$cookie" HttpOnly
	assert_contains "$cookie" "SameSite=Strict"
	assert_contains "$cookie" "Max-Age=43200"
	assert_not_contains "$cookie" Secure
	assert_eq dana "$(json_get "$T/resp" .name)"
	assert_eq deployer "$(json_get "$T/resp" '.roles[0]')"
	csrf=$(json_get "$T/resp" .csrf)
	assert_match "$csrf" '^[A-Za-z0-9_-]{43}$'
	# the store keeps only the cookie's hash
	local value
	value=$(awk '$6 == "rg_session" {print $7}' "$T/jar")
	assert_match "$value" '^s_[A-Za-z0-9_-]{43}$'
	assert_not_contains "$(sqlite3 "$T/state/state.db" .dump)" "$value"
	assert_eq 1 "$(sqlite3 "$T/state/state.db" "select count(*) from sessions")"
	# the session reads as the token would, and names its CSRF token
	assert_eq 200 "$(scurl -o /dev/null -w '%{http_code}' "$RG_URL/api/v1/status")"
	scurl -o "$T/resp" "$RG_URL/api/v1/session"
	assert_eq "$csrf" "$(json_get "$T/resp" .csrf)"
	# a write without the CSRF token is refused and changes nothing
	scurl -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary '{"env":"staging","version":"v1"}' "$RG_URL/api/v1/deploys" >"$T/code"
	assert_eq 403 "$(cat "$T/code")"
	assert_eq X-Rollguard-CSRF "$(json_get "$T/resp" .error.field)"
	scurl -o /dev/null -H 'Content-Type: application/json' -H 'X-Rollguard-CSRF: nope' \
		--data-binary '{"env":"staging","version":"v1"}' "$RG_URL/api/v1/deploys"
	assert_eq 0 "$(sqlite3 "$T/state/state.db" "select count(*) from runs")"
	# a cross-site form: another origin, a form body, no CSRF token
	scurl -o "$T/resp" -w '%{http_code}' -H "Origin: http://127.0.0.1:$RG_PORT2" \
		--data 'env=staging&version=v1' "$RG_URL/api/v1/deploys" >"$T/code"
	assert_eq 403 "$(cat "$T/code")"
	assert_eq 0 "$(sqlite3 "$T/state/state.db" "select count(*) from runs")"
	# with it, the deploy is dana's
	scurl -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
		-H "X-Rollguard-CSRF: $csrf" -H "Origin: http://127.0.0.1:$RG_PORT" \
		--data-binary '{"env":"staging","version":"v1"}' "$RG_URL/api/v1/deploys" >"$T/code"
	assert_eq 201 "$(cat "$T/code")"
	assert_run_ends "$(json_get "$T/resp" .run.id)" succeeded
	assert_eq dana "$(sqlite3 "$T/state/state.db" "select actor from audit where \"action\"='deploy' and result='accepted'")"
	assert_eq dana "$(sqlite3 "$T/state/state.db" "select actor from audit where \"action\"='session_open' and result='accepted'")"
	assert_eq 1 "$(sqlite3 "$T/state/state.db" "select count(*) from audit where \"action\"='session_open' and result='refused' and actor='-'")"
	# roles still decide: a deployer's session may not approve
	scurl -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
		-H "X-Rollguard-CSRF: $csrf" --data-binary '{}' \
		"$RG_URL/api/v1/runs/1/approve" >"$T/code"
	assert_eq 403 "$(cat "$T/code")"
	# the token and the cookie are nowhere in the log, the audit or the answers
	assert_not_contains "$(cat "$T/serve.log")" "$token"
	assert_not_contains "$(sqlite3 "$T/state/state.db" "select * from audit")" "$token"
	assert_not_contains "$(sqlite3 "$T/state/state.db" "select * from audit")" "$value"
	rg_stop
}

t_session_ends_with_token_and_sign_out() {
	cfg_session
	rg_start
	person eve viewer
	person finn viewer
	scurl -o "$T/resp" -H 'Content-Type: application/json' \
		--data-binary "{\"token\":\"$(cat "$T/tok.eve")\"}" "$RG_URL/api/v1/session"
	assert_eq 200 "$(scurl -o /dev/null -w '%{http_code}' "$RG_URL/api/v1/status")"
	# a restart keeps the session (it is stored)
	rg_stop
	rg_start
	assert_eq 200 "$(scurl -o /dev/null -w '%{http_code}' "$RG_URL/api/v1/status")"
	# revoking the token ends it at once
	rg token revoke eve -c "$T/rollguard.yaml" >/dev/null
	scurl -o "$T/resp" -w '%{http_code}' "$RG_URL/api/v1/status" >"$T/code"
	assert_eq 401 "$(cat "$T/code")"
	assert_contains "$(json_get "$T/resp" .error.message)" revoked
	# sign out: the cookie is cleared and the stored session gone
	rm -f "$T/jar"
	scurl -o "$T/resp" -H 'Content-Type: application/json' \
		--data-binary "{\"token\":\"$(cat "$T/tok.finn")\"}" "$RG_URL/api/v1/session"
	local csrf value
	csrf=$(json_get "$T/resp" .csrf)
	value=$(awk '$6 == "rg_session" {print $7}' "$T/jar")
	scurl -D "$T/h" -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
		-H "X-Rollguard-CSRF: $csrf" --data-binary '{}' "$RG_URL/api/v1/session/end" >"$T/code"
	assert_eq 200 "$(cat "$T/code")"
	assert_contains "$(grep -i '^set-cookie' "$T/h")" "Max-Age=0"
	assert_eq 401 "$(curl -s -o /dev/null -w '%{http_code}' -b "rg_session=$value" "$RG_URL/api/v1/status")"
	# a bearer token still works beside it, and is told it has no session to end
	HTTP_TOKEN=$(cat "$T/tok.finn") http POST /api/v1/session/end '{}'
	assert_eq 400 "$HTTP_CODE"
	rg_stop
}
