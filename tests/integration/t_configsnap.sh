# t_configsnap.sh — configuration snapshots: each release's config files are
# kept when it goes live, a rollback (automatic or by hand) puts the target
# release's files back before its steps run, and `config diff` shows what
# changed with secret values masked.

cfg_snap() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    config_files: [.env, config/app.yaml]
    secret_keys: [STRIPE_ID]
deploy:
  - name: app
    run: @DIR@/writecfg
    undo: @DIR@/seecfg
  - name: smoke
    run: @DIR@/mark smoke failif v3
YAML
	mkdir -p "$T/config"
	rg_script writecfg <<'SH'
#!/bin/sh
d=$(cd "$(dirname "$0")" && pwd -P)
v=$ROLLGUARD_VERSION
printf 'VERSION=%s\nDB_PASSWORD=pw-%s\nSTRIPE_ID=sid-%s\nWORKERS=4\n' "$v" "$v" "$v" >"$d/.env"
printf 'version: %s\napi_token: tok-%s\nlog_level: info\n' "$v" "$v" >"$d/config/app.yaml"
SH
	rg_script seecfg <<'SH'
#!/bin/sh
d=$(cd "$(dirname "$0")" && pwd -P)
cp "$d/.env" "$d/seen.env.$ROLLGUARD_PREVIOUS_VERSION"
SH
}

t_configsnap_kept_diffed_and_put_back() {
	cfg_snap
	rg_start
	deploy_ok v1 >/dev/null
	deploy_ok v2 >/dev/null
	local d
	d=$(rg config diff --env staging) || fail "config diff refused"
	assert_contains "$d" "--- v1/.env"
	assert_contains "$d" "+++ v2/.env"
	assert_contains "$d" "-VERSION=v1"
	assert_contains "$d" "+VERSION=v2"
	assert_contains "$d" "DB_PASSWORD=***"
	assert_contains "$d" "STRIPE_ID=***"
	assert_contains "$d" "api_token: ***"
	assert_not_contains "$d" "pw-v1"
	assert_not_contains "$d" "sid-v2"
	assert_not_contains "$d" "tok-v2"
	assert_contains "$d" "@@ -1,4 +1,4 @@"
	assert_contains "$d" "$(printf -- '-VERSION=v1\n+VERSION=v2\n DB_PASSWORD=***')"
	assert_contains "$(rg config diff --env staging v2 v2)" "no change in the config files"
	assert_exit 4 rg config diff --env staging v9
	# an automatic rollback: v3 writes its config, fails its smoke step, and
	# the undo already sees v2's files back in place
	local id
	id=$(deploy_start v3)
	assert_run_ends "$id" rolled_back 20
	assert_contains "$(cat "$T/seen.env.v2")" "VERSION=v2"
	assert_contains "$(cat "$T/.env")" "VERSION=v2"
	assert_contains "$(cat "$T/config/app.yaml")" "version: v2"
	assert_contains "$(rg show "$id")" "config of v2 put back before the rollback's steps: .env, config/app.yaml"
	# by hand, to v1
	rg rollback --env staging --to v1 --wait >/dev/null || fail "rollback to v1 failed"
	assert_contains "$(cat "$T/seen.env.v1")" "VERSION=v1"
	assert_contains "$(cat "$T/.env")" "DB_PASSWORD=pw-v1"
	rg_stop
}

# config restore: a run of its own that writes a release's kept files back
# (its dry run is the masked diff), gated like a rollback, audited, in
# history, and no release changes.
t_configsnap_config_restore_run() {
	cfg_snap
	sed -i 's|^    secret_keys: \[STRIPE_ID\]$|&\n    approvals: { rollback: { required: 1, from: [approver] } }|' "$T/rollguard.yaml"
	rg_start
	person bob approver
	deploy_ok v1 >/dev/null
	deploy_ok v2 >/dev/null
	local d
	d=$(rg config restore --env staging --to v1 --dry-run) || fail "dry run refused"
	assert_contains "$d" "-VERSION=v2"
	assert_contains "$d" "+VERSION=v1"
	assert_contains "$d" "DB_PASSWORD=***"
	assert_not_contains "$d" "pw-v1"
	assert_contains "$d" "nothing was changed (dry run)"
	assert_contains "$(cat "$T/.env")" "VERSION=v2"
	assert_exit 2 rg config restore --env staging
	assert_exit 4 rg config restore --env staging --to v9
	rg config restore --env staging --to v1 --reason "bad WORKERS" >"$T/cr.out" || fail "config restore refused"
	assert_contains "$(cat "$T/cr.out")" "restoring the config files of staging as kept with v1"
	local id
	id=$(latest_run staging)
	wait_for -t 10 run_state_is "$id" awaiting_approval || fail "config restore did not wait for approvals.rollback"
	assert_contains "$(cat "$T/.env")" "VERSION=v2"
	as bob approve "$id" >/dev/null || fail "approve refused"
	assert_run_ends "$id" succeeded
	assert_contains "$(cat "$T/.env")" "VERSION=v1"
	assert_contains "$(cat "$T/config/app.yaml")" "version: v1"
	assert_eq "v2 known_good" "$(status_live staging)" "no release changes"
	local j
	j=$(rg show "$id" --json)
	assert_contains "$j" "config_restored"
	assert_contains "$(rg history --env staging)" "rollback"
	assert_eq 1 "$(sqlite3 "$T/state/state.db" "select count(*) from audit where target like 'config of v1%' and target not like '%dry run%'")"
	# --emergency skips the gate
	rg config restore --env staging --to v2 --emergency --reason "now" >/dev/null || fail "emergency refused"
	id=$(latest_run staging)
	assert_run_ends "$id" succeeded
	assert_contains "$(cat "$T/.env")" "VERSION=v2"
	rg_stop
}
