# t_lint.sh — `rollguard lint` and `rollguard init`: problems as
# FILE:LINE:COL: message and exit 1, a clean file exits 0, init's starter
# lints clean. No server needed.

t_lint_clean() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: .rollguard
environments:
  staging:
    timeout: 30m
    monitor: 2m
    post_rollback_monitor: 1m
    vars: { STACK: shop-staging }
  production:
    timeout: 1h
    monitor: 15m
    vars:
      STACK: shop-production
deploy:
  - name: validate
    run: ./scripts/validate.sh
    timeout: 2m
  - name: infrastructure
    run: ./scripts/deploy-infra.sh
    undo: ./scripts/rollback-infra.sh
    timeout: 30m
    retries: 1
    retry_backoff: 500ms
  - name: app
    run: ./scripts/start-app.sh
    undo: ./scripts/stop-app.sh
    rerun: false
    environments: [production]
  - name: smoke
    checks: [health, auth]
    severity: P1
    on_failure: halt
rollback:
  - name: infrastructure
    run: ./scripts/rollback-infra.sh
checks:
  health: { http: "http://127.0.0.1:8080/health", expect_status: 200, contains: ok, timeout: 2s }
  auth:   { run: ./scripts/smoke-tests/test-auth.sh, timeout: 60s }
triggers:
  - { name: health, check: health, every: 10s, failures: 5, severity: P0 }
actions: { P0: rollback, P1: rollback, P2: rollback-after-approval, P3: notify }
YAML
	assert_exit 0 "$RG_BIN" lint -c "$T/rollguard.yaml"
	assert_eq "" "$(grep -E "$SANITIZER_RE" "$T/err")"
	# -c defaults to ./rollguard.yaml
	assert_exit 0 sh -c "cd '$T' && exec '$RG_BIN' lint"
}

# lint_expect FILE LINE:COL REGEX — lint fails and reports LINE:COL.
lint_expect() {
	local f=$1 where=$2 re=$3
	assert_exit 1 "$RG_BIN" lint -c "$f"
	grep -Eq -- "^$(printf '%s' "$f" | sed 's/[.[\*^$]/\\&/g'):$where: .*$re" "$T/err" || {
		cat "$T/err" >&2
		fail "lint of $(basename "$f") should report $where: /$re/"
	}
}

t_lint_errors() {
	# unknown key (a typo) in an environment
	rg_config bad1.yaml <<'YAML'
service: shop
server:
  listen: 127.0.0.1:7070
environments:
  staging:
    timeuot: 5m
deploy:
  - name: a
    run: "true"
YAML
	lint_expect "$T/bad1.yaml" 6:5 timeuot

	# bad duration, bad severity, bad on_failure, dangling check reference
	rg_config bad2.yaml <<'YAML'
service: shop
environments:
  staging:
    timeout: 5x
deploy:
  - name: a
    run: "true"
    severity: P7
  - name: b
    run: "true"
    on_failure: explode
  - name: smoke
    checks: [nope]
YAML
	lint_expect "$T/bad2.yaml" '4:[0-9]+' '5x'
	lint_expect "$T/bad2.yaml" '8:[0-9]+' 'P7'
	lint_expect "$T/bad2.yaml" '11:[0-9]+' 'explode'
	lint_expect "$T/bad2.yaml" '13:[0-9]+' 'nope'
	[ "$(grep -c . "$T/err")" -ge 4 ] || fail "lint reports every problem, not only the first"

	# duplicate step names, a step with neither run nor checks, retries < 0
	rg_config bad3.yaml <<'YAML'
service: shop
environments:
  staging: {}
deploy:
  - name: a
    run: "true"
  - name: a
    run: "true"
  - name: c
  - name: d
    run: "true"
    retries: -1
YAML
	lint_expect "$T/bad3.yaml" '7:[0-9]+' '.'
	lint_expect "$T/bad3.yaml" '9:[0-9]+' '.'
	lint_expect "$T/bad3.yaml" '12:[0-9]+' '.'

	# a trigger naming an unknown check; an unknown top-level key
	rg_config bad4.yaml <<'YAML'
service: shop
environments:
  staging: {}
deploy:
  - name: a
    run: "true"
triggers:
  - { name: t, check: ghost, every: 1s, failures: 2, severity: P0 }
deplyo: []
YAML
	lint_expect "$T/bad4.yaml" '8:[0-9]+' 'ghost'
	lint_expect "$T/bad4.yaml" '9:1' 'deplyo'

	# YAML syntax error
	printf 'service: shop\nenvironments:\n  staging: {\ndeploy: [\n' >"$T/bad5.yaml"
	lint_expect "$T/bad5.yaml" '[0-9]+:[0-9]+' '.'

	# invalid names in the config
	rg_config bad6.yaml <<'YAML'
service: shop
environments:
  "stag;ing": {}
deploy:
  - name: "a b"
    run: "true"
YAML
	lint_expect "$T/bad6.yaml" '3:[0-9]+' '.'
	lint_expect "$T/bad6.yaml" '5:[0-9]+' '.'

	# missing file, empty file
	local rc=0
	"$RG_BIN" lint -c "$T/missing.yaml" >"$T/out" 2>"$T/err" || rc=$?
	assert_one_of "$rc" 1 2
	assert_contains "$(cat "$T/err")" missing.yaml
	: >"$T/empty.yaml"
	assert_exit 1 "$RG_BIN" lint -c "$T/empty.yaml"
	assert_eq "" "$(cat "$T"/err | grep -E "$SANITIZER_RE")"
}

t_lint_serve_refuses_bad_config() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    timeout: forever
deploy:
  - name: a
    run: "true"
YAML
	local rc=0
	(cd "$T/run" && exec "$RG_BIN" serve -c "$T/rollguard.yaml") >"$T/out" 2>"$T/err" &
	local pid=$!
	wait_for -t 10 sh -c "! kill -0 $pid" || {
		kill -9 "$pid"
		fail "serve started with an invalid config"
	}
	wait "$pid" || rc=$?
	assert_ne 0 "$rc" "serve exit status"
	grep -Eq 'rollguard.yaml:7:[0-9]+:' "$T/err" || fail "serve names the problem as FILE:LINE:COL: $(cat "$T/err")"
	port_in_use "$RG_PORT" && fail "something listens on the API port"
	true
}

t_init_then_lint() {
	assert_exit 0 "$RG_BIN" init -c "$T/new.yaml"
	assert_file_exists "$T/new.yaml"
	assert_exit 0 "$RG_BIN" lint -c "$T/new.yaml"
	grep -q '^#' "$T/new.yaml" || fail "the starter file is commented"
	# init never overwrites a file silently
	echo "# mine" >"$T/mine.yaml"
	local rc=0
	"$RG_BIN" init -c "$T/mine.yaml" >"$T/out" 2>"$T/err" || rc=$?
	assert_eq "# mine" "$(cat "$T/mine.yaml")" "init overwrote an existing file"
	assert_ne 0 "$rc" "init on an existing file"
	# default file name in the current directory
	mkdir "$T/proj"
	assert_exit 0 sh -c "cd '$T/proj' && exec '$RG_BIN' init"
	assert_file_exists "$T/proj/rollguard.yaml"
	assert_exit 0 sh -c "cd '$T/proj' && exec '$RG_BIN' lint"
}

# The starter config can actually run a deploy.
t_init_starter_serves() {
	assert_exit 0 "$RG_BIN" init -c "$T/rollguard.yaml"
	# point it at this test's port and state dir; keep the rest as written
	sed -i -e "s|127\.0\.0\.1:7070|127.0.0.1:$RG_PORT|" "$T/rollguard.yaml"
	grep -q "127.0.0.1:$RG_PORT" "$T/rollguard.yaml" || fail "starter has no 127.0.0.1:7070 listen line"
	assert_exit 0 "$RG_BIN" lint -c "$T/rollguard.yaml"
	rg_start
	acurl -fsS "$RG_URL/metrics" >/dev/null || fail "starter server has no /metrics"
	assert_exit 0 rg history --json
}
