#!/usr/bin/env bash
# bench/scale.sh — does one controller stay fast with many environments and a
# long history? For each size in SIZES (10 50 200) environments: rollguard
# serve (release build), every environment with a command router and a fake
# app step, a store pre-filled with RUNS (100 000) finished runs (sqlite3
# into the state.db serve created, serve stopped meanwhile). Then a canary
# starts in every environment at once; v1's check fails, so each one's
# trigger decides during its canary (on its own check's clock) and the run
# rolls back, traffic first. Prints per size:
#   CPU/run        serve's utime+stime over the canaries and their rollbacks,
#                  divided by the environments (ms per run)
#   swap p50/p99   decision -> traffic swapped, the engine's figure in each
#                  run's traffic_swapped event (us; includes the router command)
#   own p50/p99    the same less the router's own time: the controller's part
#   status, runs   GET /api/v1/status and /api/v1/runs, p50/p99 over REQUESTS
#                  (200) curl requests each (ms, time_total)
#   metrics        GET /metrics, median of 20 scrapes (ms)
#   RSS            serve's VmRSS at the end (MB)
# Targets: linear cost in environments, swap p99 < 5 ms at 200, API p99 < 20
# ms with 100 000 runs. 127.0.0.1 only; bounded waits; cleans up.
. "$(dirname "$0")/lib.sh"
sizes=${SIZES:-10 50 200}
# ROUTER=command (default): each environment's router is a command (`true`);
# ROUTER=proxy: each has a built-in proxy of its own (one thread, a port of
# its own), all in the one proxy process serve starts.
router=${ROUTER:-command}
case $router in command | proxy) ;; *) echo "bench: ROUTER must be command or proxy" >&2; exit 2 ;; esac
nruns=${RUNS:-100000}
requests=${REQUESTS:-200}
bench_need "$rg"
bench_need_cmd sqlite3 scripts/install-deps.sh
bench_need_cmd curl scripts/install-deps.sh

bench_tmpdir rg-scale
pid=""
bench_cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; true; }

cat >"$dir/app.sh" <<'SH'
#!/bin/sh
echo "backend=127.0.0.1:9" >>"$ROLLGUARD_OUTPUT"
SH
chmod +x "$dir/app.sh"

q() { sqlite3 -cmd '.timeout 5000' "$sd/state/state.db" "$1"; }
start_serve() {
	"$rg" serve -c "$sd/rollguard.yaml" 2>>"$sd/serve.log" &
	pid=$!
	bench_wait_health "$ROLLGUARD_URL" 300 || { echo "bench: serve did not start (see below)" >&2; tail -5 "$sd/serve.log" >&2; exit 1; }
}
stop_serve() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }
# wait_runs SQL-CONDITION N [TABLE]: until N rows match, at most 120 s.
wait_runs() {
	for _ in $(seq 1200); do
		[ "$(q "SELECT count(*) FROM ${3:-runs} WHERE $1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	echo "bench: timed out waiting for $2 runs where $1" >&2; exit 1
}
# time_get PATH: REQUESTS timings in ms, one a line.
time_get() {
	for _ in $(seq "$requests"); do
		curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $ROLLGUARD_TOKEN" "$ROLLGUARD_URL$1"
	done | awk '{ printf "%.2f\n", $1 * 1000 }'
}

# pick_ports N: N distinct free ports in ports[1..N] (ROUTER=proxy), below
# the kernel's ephemeral range so no outgoing connection takes one meanwhile.
pick_ports() {
	local -A taken=()
	local p i=1
	ports=()
	while [ "$i" -le "$1" ]; do
		p=$((20000 + RANDOM % 12000))
		[ -n "${taken[$p]:-}" ] && continue
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
		taken[$p]=1
		ports[i]=$p
		i=$((i + 1))
	done
}

hz=$(getconf CLK_TCK)
rows=()
for n in $sizes; do
	sd=$dir/s$n
	mkdir -p "$sd"
	port=$(bench_free_port)
	[ "$router" = proxy ] && pick_ports "$n"
	{
		echo "service: bench"
		echo "server: { listen: 127.0.0.1:$port, state: $sd/state }"
		echo "environments:"
		for i in $(seq "$n"); do
			if [ "$router" = proxy ]; then
				echo "  e$i: { timeout: 10m, post_rollback_monitor: 0s, proxy: { listen: 127.0.0.1:${ports[i]}, threads: 1 } }"
			else
				echo "  e$i: { timeout: 10m, post_rollback_monitor: 0s, router: { command: \"true\" } }"
			fi
		done
		# v1 is sick: its check fails, and the trigger decides during the
		# canary, each environment on its own check's clock (staggered as
		# the deploys start), so decision -> swap is the engine's own
		# figure for a canary taken out of traffic.
		echo "checks:"
		echo "  sick: { run: 'test \"\$ROLLGUARD_VERSION\" != v1', timeout: 5s }"
		echo "triggers:"
		echo "  - { name: sick, check: sick, every: 2s, failures: 1, severity: P1 }"
		echo "deploy:"
		echo "  - { name: app, run: $dir/app.sh, undo: \"true\" }"
		# The pause covers the time it takes to start every canary; should a
		# trigger not fire, smoke fails v1 and the run rolls back after it.
		echo "  - { name: canary, traffic: { backend: app.backend, steps: [10, 100], pause: $((5 + n / 10))s } }"
		echo "  - { name: smoke, run: 'test \"\$ROLLGUARD_VERSION\" != v1' }"
	} >"$sd/rollguard.yaml"
	export ROLLGUARD_URL=http://127.0.0.1:$port
	start_serve
	ROLLGUARD_TOKEN=$(cat "$sd/state/admin.token") && export ROLLGUARD_TOKEN

	# A first release everywhere (no stable yet: no canary phase).
	for i in $(seq "$n"); do "$rg" deploy v0 --env "e$i" >/dev/null; done
	wait_runs "version = 'v0' AND state = 'succeeded'" "$n"

	# The history: copies of e1's run and its events, serve stopped.
	stop_serve
	t=$(q "SELECT min(id) FROM runs WHERE env = 'e1'")
	cols=$(q "SELECT group_concat(name, ',') FROM pragma_table_info('runs') WHERE name NOT IN ('id', 'version')")
	q "BEGIN;
		INSERT INTO runs (version, $cols)
		WITH RECURSIVE k(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM k WHERE x < $nruns)
		SELECT 'old' || x, $cols FROM k, (SELECT * FROM runs WHERE id = $t);
		INSERT INTO events (run_id, at, type, step, message)
		SELECT r.id, e.at, e.type, e.step, e.message FROM runs r JOIN events e ON e.run_id = $t
		WHERE r.version LIKE 'old%';
		COMMIT;"
	start_serve
	stored=$(q "SELECT count(*) FROM runs")

	# A canary in every environment at once, then every one fails its smoke step and rolls back.
	before=$(bench_cpu_ticks "$pid")
	for i in $(seq "$n"); do "$rg" deploy v1 --env "e$i" >/dev/null; done
	# Every run took its canary step; its trigger takes it out again.
	wait_runs "type = 'traffic_swapped' AND run_id IN (SELECT id FROM runs WHERE version = 'v1')" "$n" events
	wait_runs "version = 'v1' AND state NOT IN ('queued','running','paused','verifying','monitoring','rolling_back')" "$n"
	sleep 0.5
	after=$(bench_cpu_ticks "$pid")
	cpu=$(awk -v d=$((after - before)) -v hz="$hz" -v n="$n" 'BEGIN { printf "%.1f", d * 1000 / hz / n }')
	# The engine's µs figures of each swap: decision -> traffic swapped, and
	# what of it the router took (a command router: a process started and
	# waited for); the rest is the controller's own part.
	swapmsgs=$(q "SELECT message FROM events WHERE type = 'traffic_swapped' AND run_id IN
		(SELECT id FROM runs WHERE version = 'v1')")
	swaps=$(printf '%s\n' "$swapmsgs" | sed -n 's/.* \([0-9][0-9]*\) us after the decision.*/\1/p')
	own=$(printf '%s\n' "$swapmsgs" |
		sed -n 's/.* \([0-9][0-9]*\) us after the decision (the router took \([0-9][0-9]*\) us).*/\1 \2/p' |
		awk '{ print $1 - $2 }')
	nswap=$(printf '%s\n' "$swaps" | grep -c . || true)

	st=$(time_get /api/v1/status)
	ru=$(time_get /api/v1/runs)
	me=$(requests=20 time_get /metrics)
	rss=$(( $(bench_rss_kb "$pid") / 1024 ))
	stop_serve
	rows+=("$(printf '%5d %8d %9s %6s/%-7s %5s/%-5s %6s/%-6s %6s/%-6s %7s %5d %s' "$n" "$stored" "$cpu" \
		"$(printf '%s\n' "$swaps" | bench_pct 50)" "$(printf '%s\n' "$swaps" | bench_pct 99)" \
		"$(printf '%s\n' "$own" | bench_pct 50)" "$(printf '%s\n' "$own" | bench_pct 99)" \
		"$(printf '%s\n' "$st" | bench_pct 50)" "$(printf '%s\n' "$st" | bench_pct 99)" \
		"$(printf '%s\n' "$ru" | bench_pct 50)" "$(printf '%s\n' "$ru" | bench_pct 99)" \
		"$(printf '%s\n' "$me" | bench_pct 50)" "$rss" "(swaps $nswap/$n)")")
	echo "size $n done" >&2
	[ -n "${KEEP:-}" ] || rm -rf "$sd"
done

echo "one controller, N environments each with a canary at once, then rolled back ($router routers):"
echo " envs  runs-in  CPU/run  swap p50/p99  own p50/p99  status p50/p99 runs p50/p99 metrics  RSS"
echo "                  (ms)        (us)         (us)         (ms)          (ms)        (ms)  (MB)"
printf '%s\n' "${rows[@]}"
echo "swap: decision -> traffic swapped; own: the same less the router's time (the command router starts a process)"
echo "targets: CPU/run flat as envs grow (linear total), swap p99 < 5000 us at 200, API p99 < 20 ms"
