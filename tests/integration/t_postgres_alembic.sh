# t_postgres_alembic.sh — examples/postgres-alembic for real: a PostgreSQL
# cluster of its own (initdb, pg_ctl; a Unix socket in the test's directory,
# a free port), Alembic migrations run by Debian's python3, pg_dump backups,
# the Python app behind the built-in proxy. Stories: (a) a bad release with
# a reversible migration rolls back code and schema, rows kept; (b) an
# irreversible one restores the dump, after approval, what was written since
# lost as the dry run said; (c) a misbehaving feature turned off by a
# trigger's disable_flag, the release kept.

PG_BIN=/usr/lib/postgresql/15/bin
PG_EXAMPLE="$(pwd -P)/examples/postgres-alembic"   # run.sh sources this from the repository

# pg_up — the cluster, and the example copied into $T with its ports.
pg_up() {
	[ -x "$PG_BIN/initdb" ] || fail "postgresql 15 is not installed (scripts/install-deps.sh)"
	/usr/bin/python3 -c 'import psycopg2, alembic' 2>/dev/null || fail "python3-psycopg2 or python3-alembic missing"
	PG_PORT=$(rg_free_port)
	local as=""
	mkdir -p "$T/pg/sock"
	if [ "$(id -u)" = 0 ]; then
		chmod o+x "$T"
		chown -R postgres "$T/pg"
		as="runuser -u postgres --"
	fi
	$as "$PG_BIN/initdb" -D "$T/pg/data" -U postgres --auth=trust >"$T/pg/initdb.out" 2>&1 ||
		fail "initdb failed: $(tail -n 3 "$T/pg/initdb.out")"
	$as "$PG_BIN/pg_ctl" -D "$T/pg/data" -l "$T/pg/server.log" -w -t 20 \
		-o "-k $T/pg/sock -p $PG_PORT -c listen_addresses=''" start >/dev/null ||
		fail "pg_ctl start failed: $(tail -n 5 "$T/pg/server.log")"
	PG_AS=$as
	psql_do postgres "CREATE DATABASE shop" >/dev/null
	cp -r "$PG_EXAMPLE/." "$T/"
	sed -i -e "s|127.0.0.1:7070|127.0.0.1:$RG_PORT|" -e "s|127.0.0.1:8080|127.0.0.1:$RG_PORT2|g" \
		-e "s|state: .rollguard|state: $T/state|" -e "s|/tmp/shop-pg/sock|$T/pg/sock|" \
		-e "s|PGPORT: \"5432\"|PGPORT: \"$PG_PORT\"|" -e "s|FLAGS_TOKEN_FILE: ./flags.token|FLAGS_TOKEN_FILE: $T/flags.token|" \
		"$T/rollguard.yaml"
}

# The example's app processes are its own (app.sh), not serve's.
apps_down() {
	(cd "$T" && ./scripts/app.sh stop-all)
}

pg_down() {
	$PG_AS "$PG_BIN/pg_ctl" -D "$T/pg/data" -m fast -w stop >/dev/null 2>&1 || true
}

psql_do() {
	psql -X -A -t -q -h "$T/pg/sock" -p "$PG_PORT" -U postgres -d "$1" -c "$2"
}

rows() {
	psql_do shop "SELECT count(*) FROM items"
}

alembic_current() {
	(cd "$T" && PGHOST=$T/pg/sock PGPORT=$PG_PORT PGUSER=postgres PGDATABASE=shop \
		./scripts/alembic.sh current 2>/dev/null) | awk 'NR==1 { print $1 }'
}

# add_rows N — N rows written through the live release, behind the proxy.
add_rows() {
	local i
	for i in $(seq 1 "$1"); do
		curl -fsS -m 5 -X POST "http://127.0.0.1:$RG_PORT2/items" >/dev/null || fail "POST /items failed"
	done
}

t_postgres_alembic_reversible_rolls_back_code_and_schema() {
	pg_up
	rg_start
	deploy_ok r0001 >/dev/null
	assert_eq 0001 "$(alembic_current)"
	assert_eq 0001 "$(json_get "$(rg status --env staging --json)" .live.schema)"
	add_rows 3
	local id
	id=$(deploy_start r0002-bad)
	assert_run_ends "$id" rolled_back 60
	assert_eq 0001 "$(alembic_current)" "alembic current is back at the old revision"
	assert_eq 3 "$(rows)" "the rows written meanwhile are still there"
	assert_eq "" "$(psql_do shop "SELECT column_name FROM information_schema.columns WHERE table_name='items' AND column_name='note'")"
	assert_contains "$(rg show "$id" --json)" "downgrade_succeeded"
	assert_eq "r0001 known_good" "$(status_live staging)"
	curl -fsS -m 5 "http://127.0.0.1:$RG_PORT2/health" >/dev/null || fail "r0001 does not serve after the rollback"
	apps_down
	pg_down   # before rg_stop, which waits for every process in $T to be gone
	rg_stop
}

t_postgres_alembic_irreversible_restores_the_dump_after_approval() {
	pg_up
	sed -i 's|reversible: true|reversible: false|' "$T/rollguard.yaml"
	rg_start
	person bob approver
	deploy_ok r0001 >/dev/null
	add_rows 3
	deploy_ok r0003 >/dev/null
	assert_eq 0003 "$(alembic_current)"
	add_rows 2
	assert_eq 5 "$(rows)"
	assert_exit 0 rg rollback --env staging --to r0001 --dry-run
	assert_contains "$(cat "$T/out")" "restore backup #2 taken"
	assert_contains "$(cat "$T/out")" "before deploy of r0003: writes since"
	assert_contains "$(cat "$T/out")" "are lost"
	rg rollback --env staging --to r0001 >/dev/null || fail "rollback refused"
	local id
	id=$(latest_run staging)
	wait_for -t 20 restore_holds "$id" || fail "the rollback did not hold before the restore"
	assert_eq 5 "$(rows)" "nothing restored before the approval"
	as bob approve "$id" >/dev/null || fail "approve refused"
	assert_run_ends "$id" succeeded 60
	assert_eq 3 "$(rows)" "the row count is the backup's"
	assert_eq 0001 "$(alembic_current)"
	apps_down
	pg_down   # before rg_stop, which waits for every process in $T to be gone
	rg_stop
}

search_flag_off() {
	rg flags --env staging --json >"$T/flags.json" 2>/dev/null || return 1
	[ "$(json_get "$T/flags.json" '.[0].enabled')" = false ]
}

t_postgres_alembic_feature_off_by_flag_release_kept() {
	pg_up
	sed -i 's|    monitor: 500ms|    monitor: 4s|' "$T/rollguard.yaml"
	rg_start
	rg token create shop-app --role flags --env staging -c "$T/rollguard.yaml" >"$T/token.out" ||
		fail "token create failed"
	tail -n1 "$T/token.out" >"$T/flags.token"
	deploy_ok r0001 >/dev/null
	local id
	id=$(deploy_start r0002-slowsearch)
	wait_for -t 30 search_flag_off ||
		fail "the trigger did not turn fast-search off"
	curl -fsS -m 5 "http://127.0.0.1:$RG_PORT2/search" >/dev/null || fail "search still fails with the flag off"
	assert_run_ends "$id" succeeded 60
	assert_contains "$(rg show "$id" --json)" '"action": "disable-flag"'
	assert_eq "r0002-slowsearch known_good" "$(status_live staging)" "the release is kept"
	assert_eq 0002 "$(alembic_current)"
	apps_down
	pg_down
	rg_stop
}
