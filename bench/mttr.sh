#!/usr/bin/env bash
# bench/mttr.sh — time to restore with the real pieces: rollguard serve
# (release build) with its built-in proxy, demo-app releases, real load from
# wrk. A healthy stable release (0.1 % errors) takes the load; each round
# deploys a bad canary (5 % errors) that gets 10 % of the traffic, and the
# sequential test (alpha = beta = 0.01) decides. Per round:
#   first 5xx -> swap   from the canary's first 5xx (the demo-app logs it,
#                       wall clock in µs) to the traffic_swapped event
#                       (100 % back on the stable release)
#   decision -> swap    the engine's own figure in that event (µs)
#   canary requests     how many the canary had served when the test decided
# Prints min / median / max and the canary's request rate. Target: under 2 s
# at >= 100 canary requests/s. 127.0.0.1 only; bounded rounds and load.
. "$(dirname "$0")/lib.sh"
rounds=${ROUNDS:-5}
conns=${CONNS:-4}
bench_need "$rg" "$app"
bench_need_cmd wrk scripts/install-deps.sh

bench_tmpdir rg-mttr
pid="" wrk_pid=""
bench_cleanup() {
	[ -n "$wrk_pid" ] && kill "$wrk_pid" 2>/dev/null
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	for f in "$dir"/app-*.pid; do [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
	true
}

port=$(bench_free_port)
proxy=$(bench_free_port)

# app.sh start|stop: one demo-app per release; bad* releases answer 5 % 500s.
cat >"$dir/app.sh" <<SH
#!/bin/sh
v=\$ROLLGUARD_VERSION
pidf=$dir/app-\$v.pid
log=$dir/app-\$v.log
case \$1 in
start)
	rate=0.001
	case \$v in bad*) rate=0.05 ;; esac
	setsid "$app" --listen 127.0.0.1:0 --version "\$v" --error-rate \$rate --seed 3 --threads 1 \
		--pidfile "\$pidf" </dev/null >"\$log" 2>&1 &
	i=0
	while [ ! -s "\$pidf" ] && [ \$i -lt 100 ]; do sleep 0.05; i=\$((i + 1)); done
	sed -n 's/.* listening on \(127\.0\.0\.1:[0-9]*\).*/backend=\1/p' "\$log" >>"\$ROLLGUARD_OUTPUT"
	;;
stop)
	[ -s "\$pidf" ] && kill "\$(cat "\$pidf")" 2>/dev/null
	true
	;;
esac
SH
chmod +x "$dir/app.sh"

cat >"$dir/rollguard.yaml" <<YAML
service: bench
server: { listen: 127.0.0.1:$port, state: $dir/state }
environments:
  bench:
    timeout: 5m
    post_rollback_monitor: 0s
    proxy: { listen: 127.0.0.1:$proxy, threads: 1 }
deploy:
  - { name: app, run: $dir/app.sh start, undo: $dir/app.sh stop }
  - name: canary
    traffic: { backend: app.backend, steps: [10, 50, 100], pause: 1m, drain: 1s }
triggers:
  - { name: canary, analysis: sequential, alpha: 0.01, beta: 0.01, min_effect: 2, every: 100ms, severity: P1 }
# every round is a bad canary rolled back on purpose: without this the
# rollback-loop guard holds the fourth for a person
actions: { max_auto_rollbacks: 0 }
YAML
"$rg" serve -c "$dir/rollguard.yaml" 2>"$dir/serve.log" &
pid=$!
export ROLLGUARD_URL=http://127.0.0.1:$port
bench_wait_health "$ROLLGUARD_URL" || true
ROLLGUARD_TOKEN=$(cat "$dir/state/admin.token") && export ROLLGUARD_TOKEN

"$rg" deploy good --env bench --wait >/dev/null
total_s=$((rounds * 8 + 10))
wrk -t1 -c"$conns" -d"${total_s}s" "http://127.0.0.1:$proxy/" >"$dir/wrk.out" 2>&1 &
wrk_pid=$!
sleep 2

# The first number of the field named $2 in the JSON on stdin (no jq).
num() { tr -d '\n' | grep -o "\"$1\": *[0-9.]*" | head -n 1 | sed 's/.*: *//'; }

mttr=() swap=() reqs=() rates=()
for i in $(seq "$rounds"); do
	"$rg" deploy "bad$i" --env bench --wait >/dev/null 2>&1 || true
	id=$("$rg" history --env bench --limit 1 --json | num id)
	run=$("$rg" show "$id" --json)
	state=$(printf '%s' "$run" | tr -d '\n' | grep -o '"state": *"[^"]*"' | head -n 1 | sed 's/.*"\([^"]*\)"$/\1/')
	[ "$state" = rolled_back ] || { echo "bench: round $i ended '$state', not rolled_back" >&2; continue; }
	first_us=$(sed -n 's/.*first injected fault at \([0-9]*\) us.*/\1/p' "$dir/app-bad$i.log" | head -n 1)
	ev=$(printf '%s' "$run" | tr -d '\n' | sed 's/},/},\n/g' | grep '"traffic_swapped"' | head -n 1)
	swap_ms=$(printf '%s' "$ev" | num at_ms)
	dec_us=$(printf '%s' "$ev" | sed -n 's/.* \([0-9][0-9]*\) us after the decision.*/\1/p')
	creq=$(printf '%s' "$run" | tr -d '\n' | grep -o '"canary": *{[^}]*}' | head -n 1 | num requests)
	[ -n "$first_us" ] && [ -n "$swap_ms" ] || { echo "bench: round $i: missing timestamps" >&2; continue; }
	mttr+=($(((swap_ms * 1000 - first_us) / 1000)))
	swap+=("${dec_us:-0}")
	reqs+=("${creq:-0}")
	sleep 1
done
kill -INT "$wrk_pid" 2>/dev/null; wait "$wrk_pid" 2>/dev/null || true; wrk_pid=""   # SIGINT: wrk prints its totals
canary_rate=$(awk '/requests in/ { d = $4; sub(/s,?$/, "", d); if (d > 0) printf "%d", $1 / d / 10 }' "$dir/wrk.out")

echo "time to restore over $rounds bad canaries (5 % errors vs 0.1 %, 10 % split, alpha = beta = 0.01):"
printf '  first 5xx -> traffic swapped   %s ms\n' "$(printf '%s\n' "${mttr[@]}" | bench_stats)"
printf '  decision -> swap (engine)      %s us\n' "$(printf '%s\n' "${swap[@]}" | bench_stats)"
printf '  canary requests to decide      %s\n' "$(printf '%s\n' "${reqs[@]}" | bench_stats)"
echo "  canary load: about ${canary_rate:-?} requests/s (10 % of wrk -t1 -c$conns through the proxy)"
worst=$(printf '%s\n' "${mttr[@]}" | sort -n | tail -n 1)
if [ -n "$worst" ] && [ "$worst" -lt 2000 ] && [ "${canary_rate:-0}" -ge 100 ]; then
	echo "  target (< 2 s at >= 100 canary requests/s): met"
else
	echo "  target (< 2 s at >= 100 canary requests/s): NOT met"
fi
