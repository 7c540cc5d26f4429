# t_flags.sh — feature flags served to applications: a real OpenFeature
# application (@openfeature/server-sdk with @openfeature/ofrep-provider,
# run by node from tests/node) reads a flag from rollguard and sees it turn
# off when a trigger with disable_flag fires, the release kept; the OFREP
# answers and errors over curl; who may read and set flags; the CLI.

NODE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../node" && pwd)"

cfg_flags() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging: {}
  production:
    monitor: 5m
deploy:
  - name: app
    run: @DIR@/mark app
checks:
  checkout: { run: @DIR@/health }
triggers:
  - { name: checkout, check: checkout, every: 200ms, failures: 2, severity: P1, disable_flag: new-checkout }
flags:
  new-checkout:
    default: false
    envs:
      production: { enabled: true, rollout: 20%, targets: [beta-tester] }
      staging: {}
  banner: { default: classic, value: shiny, envs: { staging: {} } }
YAML
}

# flags_token NAME ROLES [ARGS…] — a new token (after serve made the first one).
flags_token() {
	local name=$1 roles=$2
	shift 2
	rg token create "$name" --role "$roles" "$@" -c "$T/rollguard.yaml" >"$T/token.out" ||
		fail "token create $name failed"
	tail -n1 "$T/token.out"
}

# ofrep_app MODE FLAG [ARGS…] — the OpenFeature application, as token $APP_TOKEN.
ofrep_app() {
	[ -d "$NODE_DIR/node_modules/@openfeature/ofrep-provider" ] ||
		fail "tests/node has no node_modules: run scripts/install-deps.sh"
	(cd "$NODE_DIR" && OFREP_URL=$RG_URL OFREP_TOKEN=$APP_TOKEN OFREP_KEY=${APP_KEY:-beta-tester} \
		node ofrep-client.mjs "$@")
}

# ofrep PATH BODY [HEADER] — a POST as the app; HTTP_CODE, body in $T/resp.
ofrep() {
	local args=(-s -o "$T/resp" -D "$T/headers" -w '%{http_code}' --max-time 10 -X POST
		-H "Authorization: Bearer $APP_TOKEN" -H 'Content-Type: application/json'
		--data-binary "$2")
	[ $# -ge 3 ] && args+=(-H "$3")
	HTTP_CODE=$(curl "${args[@]}" "$RG_URL$1") || HTTP_CODE="curl-failed-$?"
}

watch_says_off() {
	grep -q '^off ' "$T/watch.out"
}

t_flags_trigger_turns_a_flag_off_for_a_real_openfeature_app() {
	cfg_flags
	rg_start
	APP_TOKEN=$(flags_token checkout-app flags --env production)
	local once id
	once=$(ofrep_app once new-checkout) || fail "the OpenFeature app failed: $once"
	assert_eq true "$(json_get "$once" .value)" "a target of the rollout gets the feature"
	assert_eq TARGETING_MATCH "$(json_get "$once" .reason)"
	id=$(deploy_start v1 production)
	wait_for -t 20 run_state_is "$id" monitoring || fail "run $id never reached monitoring"
	# the application keeps asking, as a service does on every request
	ofrep_app watch new-checkout 20 1500 >"$T/watch.out" 2>"$T/watch.err" &
	local app=$!
	wait_for -t 20 grep -q '^on ' "$T/watch.out" || fail "the app never read the flag: $(cat "$T/watch.err")"
	: >"$T/unhealthy"   # the checkout check starts failing
	wait_for -t 20 watch_says_off || fail "the app never saw the flag off: $(cat "$T/watch.out" "$T/watch.err")"
	wait "$app" || fail "the OpenFeature app failed: $(cat "$T/watch.err")"
	assert_contains "$(cat "$T/watch.out")" "DISABLED"
	# the release stays and the run goes on watching; the decision is stored
	assert_eq monitoring "$(run_state "$id")" "no rollback"
	run_json "$id" >"$T/show.json"
	assert_contains "$(cat "$T/show.json")" '"action": "disable-flag"'
	assert_contains "$(cat "$T/show.json")" "turning flag 'new-checkout' off in production, release v1 stays"
	run_has_event "$id" flag_disabled || fail "no flag_disabled event"
	rg flags --env production --json >"$T/flags.json"
	assert_eq override "$(json_get "$T/flags.json" '.[0].source')"
	assert_eq trigger:checkout "$(json_get "$T/flags.json" '.[0].actor')"
	assert_eq false "$(json_get "$T/flags.json" '.[0].enabled')"
	# one decision while the feature stays broken, not one per failed check
	sleep 1
	assert_eq 1 "$(sqlite3 "$T/state/state.db" "select count(*) from decisions where \"action\"='disable-flag'")"
	# a person turns it back on once fixed; the app sees it at once
	rm -f "$T/unhealthy"
	rg flag set new-checkout --env production 20% --reason "checkout fixed" >/dev/null ||
		fail "flag set failed"
	assert_eq true "$(json_get "$(ofrep_app once new-checkout)" .value)"
	rg abort "$id" >/dev/null
	assert_run_ends "$id" aborted
}

t_flags_ofrep_answers_and_errors() {
	cfg_flags
	rg_start
	APP_TOKEN=$(flags_token checkout-app flags --env production)
	local key found=""
	# a split: the same key always lands on the same side; about a fifth get it
	local on=0 i
	for i in $(seq 1 40); do
		ofrep /ofrep/v1/evaluate/flags/new-checkout "{\"context\":{\"targetingKey\":\"user-$i\"}}"
		assert_eq 200 "$HTTP_CODE" "evaluation of user-$i"
		assert_eq SPLIT "$(json_get "$T/resp" .reason)"
		if [ "$(json_get "$T/resp" .value)" = true ]; then
			on=$((on + 1))
			found=user-$i
		fi
	done
	[ "$on" -ge 2 ] && [ "$on" -le 16 ] || fail "20% rollout gave $on of 40"
	ofrep /ofrep/v1/evaluate/flags/new-checkout "{\"context\":{\"targetingKey\":\"$found\"}}"
	assert_eq true "$(json_get "$T/resp" .value)" "stable for $found"
	assert_eq on "$(json_get "$T/resp" .variant)"
	# errors as OFREP says
	ofrep /ofrep/v1/evaluate/flags/no-such-flag '{"context":{"targetingKey":"u"}}'
	assert_eq 404 "$HTTP_CODE"
	assert_eq FLAG_NOT_FOUND "$(json_get "$T/resp" .errorCode)"
	assert_eq no-such-flag "$(json_get "$T/resp" .key)"
	ofrep /ofrep/v1/evaluate/flags/%FF%FE '{"context":{"targetingKey":"u"}}'
	assert_eq 404 "$HTTP_CODE" "a key that is not even UTF-8"
	assert_eq FLAG_NOT_FOUND "$(json_get "$T/resp" .errorCode)"
	ofrep /ofrep/v1/evaluate/flags/new-checkout '{"context":{}}'
	assert_eq 400 "$HTTP_CODE"
	assert_eq TARGETING_KEY_MISSING "$(json_get "$T/resp" .errorCode)"
	ofrep /ofrep/v1/evaluate/flags/new-checkout '{"context":{"targetingKey":7}}'
	assert_eq INVALID_CONTEXT "$(json_get "$T/resp" .errorCode)"
	ofrep /ofrep/v1/evaluate/flags/new-checkout '{"context":'
	assert_eq 400 "$HTTP_CODE"
	assert_eq PARSE_ERROR "$(json_get "$T/resp" .errorCode)"
	# the token's one environment is where it evaluates; another is refused
	ofrep /ofrep/v1/evaluate/flags/banner '{"context":{"targetingKey":"u"}}'
	assert_eq DEFAULT "$(json_get "$T/resp" .reason)" "banner is not listed in production"
	assert_eq classic "$(json_get "$T/resp" .value)"
	ofrep /ofrep/v1/evaluate/flags/banner '{"context":{"targetingKey":"u","env":"staging"}}'
	assert_eq 403 "$HTTP_CODE"
	# a token for every environment must say which
	APP_TOKEN=$(flags_token everywhere flags)
	ofrep /ofrep/v1/evaluate/flags/banner '{"context":{"targetingKey":"u"}}'
	assert_eq 400 "$HTTP_CODE"
	assert_eq INVALID_CONTEXT "$(json_get "$T/resp" .errorCode)"
	ofrep /ofrep/v1/evaluate/flags/banner '{"context":{"targetingKey":"u","env":"staging"}}'
	assert_eq shiny "$(json_get "$T/resp" .value)"
	assert_eq STATIC "$(json_get "$T/resp" .reason)"
	# bulk: every flag, an ETag, and 304 while nothing changed
	ofrep /ofrep/v1/evaluate/flags '{"context":{"targetingKey":"u","env":"staging"}}'
	assert_eq 200 "$HTTP_CODE"
	assert_eq 2 "$(json_len "$T/resp" .flags)"
	local etag
	etag=$(sed -n 's/^ETag: *//Ip' "$T/headers" | tr -d '\r')
	assert_match "$etag" '^"[0-9a-f]{32}"$'
	ofrep /ofrep/v1/evaluate/flags '{"context":{"targetingKey":"u","env":"staging"}}' "If-None-Match: $etag"
	assert_eq 304 "$HTTP_CODE"
	rg flag set banner --env staging off --reason "banner looks wrong" >/dev/null || fail "flag set failed"
	ofrep /ofrep/v1/evaluate/flags '{"context":{"targetingKey":"u","env":"staging"}}' "If-None-Match: $etag"
	assert_eq 200 "$HTTP_CODE" "a change gives a new ETag"
	assert_contains "$(cat "$T/resp")" '"reason":"DISABLED"'
	ofrep /ofrep/v1/evaluate/flags '{"context":{"targetingKey":"u"}}'
	assert_eq INVALID_CONTEXT "$(json_get "$T/resp" .errorCode)"
	# evaluations are reads: nothing in the audit log
	assert_eq 0 "$(sqlite3 "$T/state/state.db" "select count(*) from audit where \"action\" like 'ofrep%'")"
}

t_flags_roles_cli_and_audit() {
	cfg_flags
	rg_start
	local app viewer ci
	app=$(flags_token checkout-app flags --env production)
	viewer=$(flags_token eve viewer)
	ci=$(flags_token ci deployer --env staging)
	# an application's token reads flags and nothing else
	HTTP_TOKEN=$app http GET /api/v1/status
	assert_eq 403 "$HTTP_CODE"
	HTTP_TOKEN=$app http POST /api/v1/flags/new-checkout '{"env":"production","state":"off","reason":"x"}'
	assert_eq 403 "$HTTP_CODE"
	HTTP_TOKEN="" http POST /ofrep/v1/evaluate/flags '{}'
	assert_eq 401 "$HTTP_CODE"
	# a viewer reads them; only a deployer (or on-call) sets them, in its environments
	ROLLGUARD_TOKEN=$viewer assert_exit 0 rg flags
	assert_contains "$(cat "$T/out")" "new-checkout  production  20%"
	assert_contains "$(cat "$T/out")" "rollguard.yaml"
	ROLLGUARD_TOKEN=$viewer assert_exit 4 rg flag set new-checkout --env staging off --reason "nope"
	assert_contains "$(cat "$T/err")" "may not set flags"
	ROLLGUARD_TOKEN=$ci assert_exit 4 rg flag set new-checkout --env production off --reason "nope"
	ROLLGUARD_TOKEN=$ci assert_exit 0 rg flag set new-checkout --env staging 50% --reason "half of staging"
	assert_contains "$(cat "$T/out")" "50%"
	assert_contains "$(cat "$T/out")" "ci at "
	assert_exit 2 rg flag set new-checkout --env staging sideways --reason "x"
	assert_exit 2 rg flag set new-checkout --env staging on
	assert_contains "$(cat "$T/err")" "missing --reason"
	http POST /api/v1/flags/%FF '{"env":"staging","state":"on","reason":"x"}'
	assert_eq 404 "$HTTP_CODE" "a key that is not even UTF-8"
	assert_exit 4 rg flag set no-such --env staging on --reason "x"
	assert_contains "$(cat "$T/err")" "no flag 'no-such'"
	rg flags --env staging --json >"$T/flags.json"
	assert_eq 50 "$(json_get "$T/flags.json" '.[0].rollout')"
	assert_eq "half of staging" "$(json_get "$T/flags.json" '.[0].reason')"
	# the audit log names the flag, who, where and why; the chain holds
	assert_eq "ci|staging|flag new-checkout|accepted" \
		"$(sqlite3 "$T/state/state.db" "select actor, env, target, result from audit where \"action\"='flag_set' and result='accepted'")"
	assert_contains "$(sqlite3 "$T/state/state.db" "select detail from audit where \"action\"='flag_set' and result='accepted'")" "50%: half of staging"
	assert_exit 0 rg audit verify -c "$T/rollguard.yaml"
}

t_flags_lint_names_the_problem() {
	rg_config <<'YAML'
service: shop
environments:
  production: {}
deploy:
  - name: app
    run: ./app
checks:
  checkout: { run: ./check }
triggers:
  - { name: checkout, check: checkout, disable_flag: new-chekout }
flags:
  new-checkout: { default: false, envs: { prodution: { rollout: 20% } } }
YAML
	assert_exit 1 rg lint -c "$T/rollguard.yaml"
	assert_contains "$(cat "$T/out" "$T/err")" "rollguard.yaml:10:54: undefined flag 'new-chekout' (did you mean 'new-checkout'?)"
	assert_contains "$(cat "$T/out" "$T/err")" "rollguard.yaml:12:43: unknown environment 'prodution' (did you mean 'production'?)"
}

flag_reason_is() { # ENV REASON — the OFREP reason of new-checkout for user-1 in ENV
	ofrep /ofrep/v1/evaluate/flags/new-checkout "{\"context\":{\"targetingKey\":\"user-1\",\"env\":\"$1\"}}"
	[ "$(json_get "$T/resp" .reason)" = "$2" ]
}

t_flags_a_rule_trigger_disables_too() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging: { monitor: 5m }
  production: {}
deploy:
  - name: app
    run: @DIR@/mark app
triggers:
  - { name: errors, command: "cat @DIR@/errors", above: 5, every: 200ms, severity: P0, disable_flag: new-checkout }
flags:
  new-checkout: { default: false, envs: { staging: {}, production: {} } }
YAML
	echo 0 >"$T/errors"
	rg_start
	APP_TOKEN=$(rg_admin_token)
	local id
	id=$(deploy_start v1 staging)
	wait_for -t 20 run_state_is "$id" monitoring || fail "run $id never reached monitoring"
	flag_reason_is staging STATIC || fail "new-checkout should be on: $(cat "$T/resp")"
	echo 12 >"$T/errors"
	wait_for -t 20 flag_reason_is staging DISABLED || fail "the rule never turned the flag off"
	# P0 would roll back; with disable_flag the release stays, and only
	# the run's environment is touched
	assert_eq monitoring "$(run_state "$id")"
	flag_reason_is production STATIC || fail "production's flag should be untouched: $(cat "$T/resp")"
	assert_contains "$(rg show "$id")" "disable-flag"
	rg abort "$id" >/dev/null
	assert_run_ends "$id" aborted
}
