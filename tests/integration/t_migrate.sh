# t_migrate.sh — migrate steps and schema versions without a database: a
# file stands for the schema, fake up/down/current scripts move it. A
# rollback to a release of another schema downgrades it (reversible, told
# ROLLGUARD_TARGET_SCHEMA), or restores the pre-deploy backup — only once
# someone approved, or in an emergency — and an automatic rollback that
# needs a restore holds (`restore_held`) and survives a SIGKILL meanwhile.

cfg_migrate() {
	local reversible=${1:-true}
	rg_config <<YAML
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging: {}
deploy:
  - name: backup
    backup: { run: @DIR@/dump, restore: @DIR@/restore }
  - name: migrate
    migrate: { up: @DIR@/up, down: @DIR@/down, current: cat @DIR@/schema, reversible: $reversible }
  - name: app
    run: @DIR@/mark app failif vbad
YAML
	echo base >"$T/schema"
	echo 0 >"$T/rows"
	rg_script dump <<'SH'
#!/bin/sh
d=$(dirname "$0")
cp "$d/schema" "$d/rows" "$ROLLGUARD_BACKUP_DIR/"
SH
	rg_script restore <<'SH'
#!/bin/sh
d=$(dirname "$0")
echo "restore $ROLLGUARD_BACKUP_DIR" >>"$d/restores"
cp "$ROLLGUARD_BACKUP_DIR/schema" "$ROLLGUARD_BACKUP_DIR/rows" "$d/"
SH
	rg_script up <<'SH'
#!/bin/sh
d=$(dirname "$0")
echo "migrating to s_$ROLLGUARD_VERSION"
echo "s_$ROLLGUARD_VERSION" >"$d/schema"
echo "$(( $(cat "$d/rows") + 1 ))" >"$d/rows"
SH
	rg_script down <<'SH'
#!/bin/sh
d=$(dirname "$0")
env | grep '^ROLLGUARD_.*SCHEMA=' | sort >"$d/down.env"
[ -e "$d/down-fails" ] && { echo "down: cannot" >&2; exit 1; }
echo "$ROLLGUARD_TARGET_SCHEMA" >"$d/schema"
SH
}

# A bad release with a reversible migration: the automatic rollback runs
# down with the target's schema, and the schema goes back.
t_migrate_downgrade_to_target_schema() {
	cfg_migrate true
	rg_start
	deploy_ok v1 >/dev/null
	assert_eq s_v1 "$(json_get "$(rg status --env staging --json)" .live.schema)"
	assert_contains "$(rg status --env staging)" "schema s_v1"
	local id
	id=$(deploy_start vbad)
	assert_run_ends "$id" rolled_back
	assert_eq s_v1 "$(cat "$T/schema")" "down took the schema back"
	assert_contains "$(cat "$T/down.env")" "ROLLGUARD_TARGET_SCHEMA=s_v1"
	assert_contains "$(cat "$T/down.env")" "ROLLGUARD_CURRENT_SCHEMA=s_vbad"
	local j
	j=$(rg show "$id" --json)
	assert_eq s_vbad "$(json_get "$j" .schema)"
	assert_eq s_v1 "$(json_get "$j" .from_schema)"
	assert_contains "$j" "downgrade_succeeded"
	assert_contains "$j" "schema_recorded"
	[ ! -e "$T/restores" ] || fail "nothing is restored when down works"
	rg_stop
}

# An irreversible migration: the dry run says what is lost; the rollback
# holds before the restore until someone approves, then restores.
t_migrate_irreversible_restore_needs_approval() {
	cfg_migrate false
	rg_start
	person bob approver
	deploy_ok v1 >/dev/null
	deploy_ok v2 >/dev/null
	assert_exit 0 rg rollback --env staging --dry-run
	assert_contains "$(cat "$T/out")" "restore backup #2 taken"
	assert_contains "$(cat "$T/out")" "before deploy of v2: writes since"
	assert_contains "$(cat "$T/out")" "are lost"
	assert_contains "$(cat "$T/out")" "the restore needs 1 approval from approver, admin"
	[ ! -e "$T/restores" ] || fail "a dry run restored"
	rg rollback --env staging >/dev/null || fail "rollback refused"
	local id
	id=$(latest_run staging)
	wait_for -t 10 restore_holds "$id" || fail "the rollback did not hold before the restore"
	assert_contains "$(rg show "$id" --json)" "restore_held"
	assert_contains "$(rg show "$id" --json)" "restore needs approval"
	[ ! -e "$T/restores" ] || fail "restored before approval"
	assert_eq s_v2 "$(cat "$T/schema")"
	as bob approve "$id" >/dev/null || fail "bob could not approve the restore"
	assert_run_ends "$id" succeeded
	assert_eq s_v1 "$(cat "$T/schema")" "the backup taken before v2 is back"
	assert_eq 1 "$(cat "$T/rows")" "rows as in the backup"
	assert_contains "$(cat "$T/restores")" "state/backups/staging/run2-backup"
	rg_stop
}

# down failing at rollback time: the backup is restored instead, once an
# emergency rollback says so.
t_migrate_down_fails_then_restore() {
	cfg_migrate true
	rg_start
	person bob approver
	deploy_ok v1 >/dev/null
	: >"$T/down-fails"
	local id
	id=$(deploy_start vbad)
	wait_for -t 15 restore_holds "$id" || fail "no hold before the restore after down failed"
	assert_contains "$(rg show "$id" --json)" "the downgrade failed"
	# an emergency rollback lets the held restore run at once
	rg rollback --env staging --emergency --reason "database on fire" >/dev/null || fail "emergency refused"
	assert_run_ends "$id" rolled_back
	assert_eq s_v1 "$(cat "$T/schema")"
	rg_stop
}

# An automatic rollback needing a restore holds with restore_held; SIGKILL
# of serve while it holds loses nothing; an approval then restores. A
# rejection ends the next one rollback_failed, the schema left alone.
t_migrate_automatic_restore_held_survives_kill() {
	cfg_migrate false
	rg_start
	person bob approver
	deploy_ok v1 >/dev/null
	local id
	id=$(deploy_start vbad)
	wait_for -t 15 restore_holds "$id" || fail "the automatic rollback did not hold"
	local j
	j=$(rg show "$id" --json)
	assert_contains "$j" "restore_held"
	assert_eq restore "$(json_get "$j" .decision.trigger)"
	assert_contains "$(json_get "$j" .decision.reason)" "restore needs approval: schema s_vbad cannot be downgraded to s_v1"
	# the hold opens an incident that climbs the ladder (docs/incidents.md)
	j=$(rg incidents --json)
	assert_eq restore_held "$(json_get "$j" '.[0].kind')"
	assert_eq vbad "$(json_get "$j" '.[0].failed_version')"
	assert_eq true "$(json_get "$j" '.[0].escalating')"
	rg_kill9
	rg_start
	wait_for -t 10 restore_holds "$id" || fail "the hold did not survive SIGKILL"
	[ ! -e "$T/restores" ] || fail "restored without approval"
	as bob approve "$id" >/dev/null || fail "approve refused"
	assert_run_ends "$id" rolled_back
	assert_eq s_v1 "$(cat "$T/schema")"
	id=$(deploy_start vbad)
	wait_for -t 15 restore_holds "$id" || fail "second hold"
	as bob reject "$id" --reason "keep the data" >/dev/null || fail "reject refused"
	assert_run_ends "$id" rollback_failed
	assert_eq s_vbad "$(cat "$T/schema")" "a refused restore leaves the schema"
	rg_stop
}
