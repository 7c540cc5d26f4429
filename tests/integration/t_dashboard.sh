# t_dashboard.sh — the dashboard in a real browser: Debian's chromium,
# driven by playwright-core (tests/node), runs the stories of
# tests/browser/*.mjs against a real serve. Screenshots of every page go to
# build/screenshots/.

BROWSER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../browser" && pwd)"

# browser STORY — runs tests/browser/STORY.mjs against this test's serve,
# with the tokens of the people made so far (person, and tok.admin).
browser() {
	browser_start "$1"
	browser_wait
}

# browser_start STORY — the same in the background (its pid in BROWSER_PID),
# for a story the test acts on while it runs; browser_wait ends it.
browser_start() {
	[ -x /usr/bin/chromium ] || fail "chromium is missing: run scripts/install-deps.sh"
	[ -d "$BROWSER_DIR/../node/node_modules/playwright-core" ] ||
		fail "tests/node has no playwright-core: run scripts/install-deps.sh"
	rg_admin_token >"$T/tok.admin"
	BROWSER_STORY=$1
	RG_URL=$RG_URL TOK_DIR=$T EVIL_PORT=$RG_PORT2 SHOT_DIR="$ROOT/build/screenshots" \
		node "$BROWSER_DIR/$1.mjs" >"$T/browser.out" 2>&1 &
	BROWSER_PID=$!
}

browser_wait() {
	local rc=0
	wait "$BROWSER_PID" || rc=$?
	sed 's/^/    /' "$T/browser.out"
	[ "$rc" = 0 ] || fail "browser story $BROWSER_STORY failed (exit $rc)"
}

# cfg_dash <<'YAML' — a config of service shop on this test's port and
# state directory, the rest (environments, steps …) from standard input.
cfg_dash() {
	{
		printf 'service: shop\nserver:\n  listen: 127.0.0.1:@PORT@\n  state: @DIR@/state\n'
		cat
	} | rg_config
}

# Two environments, one quick step, no gates.
cfg_plain() {
	cfg_dash <<'YAML'
environments:
  staging: { monitor: 200ms }
  production: { monitor: 200ms }
deploy:
  - name: app
    run: @DIR@/mark app
YAML
}

# Sign-in, what a page without a session sees, sign-out, and a viewer's
# view of the environments, history and incidents pages.
t_dashboard_signin() {
	cfg_plain
	rg_start
	person carol viewer
	# a deployer limited to staging
	rg token create dan --role deployer --env staging -c "$T/rollguard.yaml" >"$T/token.out" ||
		fail "token create dan failed"
	tail -n1 "$T/token.out" >"$T/tok.dan"
	deploy_ok v1 staging >/dev/null
	deploy_ok v1 production >/dev/null
	browser signin
}

# The environments page follows a canary 10 → 50 → 100 live.
t_dashboard_canary_live() {
	PAUSE=2s cfg_traffic
	rg_start
	deploy_ok v1 prod >/dev/null
	browser canary
	stop_apps
}

# A gated production deploy: the requester is refused, a second person
# approves.
t_dashboard_approval() {
	cfg_dash <<'YAML'
environments:
  production:
    monitor: 200ms
    approvals:
      deploy: { required: 1, from: [approver], timeout: 1h }
deploy:
  - name: app
    run: @DIR@/mark app
YAML
	rg_start
	person alice deployer,approver
	person bob approver
	person carol viewer
	browser approval
}

# An automatic rollback with its decision, its incident's checklist, and a
# manual rollback's plan and typed confirmation.
t_dashboard_rollback() {
	cfg_dash <<'YAML'
environments:
  production:
    monitor: 1s
    post_rollback_monitor: 200ms
checks:
  health: { run: @DIR@/health, timeout: 1s }
triggers:
  - { name: health-down, check: health, every: 100ms, failures: 2, severity: P1 }
deploy:
  - name: app
    run: @DIR@/mark app sleepif v2 1.5 sickif v2
    undo: @DIR@/mark undo.app heal
YAML
	rg_start
	person olga deployer,oncall
	# two known-good releases, so that a manual rollback has somewhere to go
	deploy_ok v0 production >/dev/null
	deploy_ok v1 production >/dev/null
	browser rollback
}

# A cross-site form post from another 127.0.0.1 port is refused and
# changes nothing.
t_dashboard_cross_site() {
	cfg_plain
	rg_start
	browser crosssite
}

# History: 22 runs in staging (v5 fails) and one in production, paged and
# filtered.
t_dashboard_history() {
	cfg_dash <<'YAML'
environments:
  staging: { monitor: 0s }
  production: { monitor: 0s }
deploy:
  - name: app
    run: @DIR@/mark app failif v5
YAML
	rg_start
	person carol viewer
	local i
	for i in $(seq 1 22); do
		rg deploy "v$i" --env staging --wait >/dev/null 2>&1
	done
	deploy_ok v1 production >/dev/null
	assert_eq 23 "$(json_len "$(acurl -s "$RG_URL/api/v1/runs?limit=100")" .runs)" "runs made"
	browser history
}

# Pause, resume and abort from the run page.
t_dashboard_controls() {
	cfg_dash <<'YAML'
environments:
  staging: { monitor: 200ms }
deploy:
  - name: a
    run: @DIR@/mark a sleep 1.5
  - name: b
    run: @DIR@/mark b sleep 1.5
  - name: c
    run: @DIR@/mark c
YAML
	rg_start
	person lena deployer
	browser controls
}

# Promote a canary from the run page instead of waiting out its pause.
t_dashboard_promote() {
	PAUSE=30s cfg_traffic
	rg_start
	deploy_ok v1 prod >/dev/null
	browser promote
	stop_apps
}

# A run page left open while serve is SIGKILLed and started again: the page
# follows the resumed run to its end without a reload.
t_dashboard_stream_comes_back_after_a_restart() {
	PAUSE=60s cfg_traffic
	rg_start
	person rita deployer
	deploy_ok v1 prod >/dev/null
	browser_start reconnect
	wait_for -t 60 test -e "$T/restart.want" || { browser_wait; fail "the story never asked for the restart"; }
	rg_kill9
	rg_start
	touch "$T/restart.done"
	browser_wait
	rg_stop
	stop_apps
}
