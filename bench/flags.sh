#!/usr/bin/env bash
# bench/flags.sh — how fast a trigger's disable_flag reaches an application,
# and what an OFREP evaluation costs. One release-build server on 127.0.0.1
# with a check trigger (`every: 100ms`, `failures: 1`, disable_flag) and a
# real OpenFeature application (tests/node/ofrep-client.mjs: server-sdk +
# ofrep-provider) evaluating the flag every POLL_MS (5) ms. ROUNDS (5)
# times: deploy, wait for the monitor window, turn the flag on, break the
# check, and take
#   fire → stored   the trigger's decision to the committed override (serve's log)
#   fire → app      the decision's stored time to the app's first "off" answer
#   break → app     the check breaking to the app's first "off" (includes the
#                   check's interval: what a user of the feature would see)
# min / median / max of each, then wrk (1 thread, 1 connection, DURATION)
# against POST /ofrep/v1/evaluate/flags/{key} and the bulk evaluation.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rg=${RG_BIN:-$root/build/rollguard}
rounds=${ROUNDS:-5}
poll=${POLL_MS:-5}
duration=${DURATION:-3s}
node_dir=$root/tests/node
[ -x "$rg" ] || { echo "bench: build first (make)" >&2; exit 2; }
[ -d "$node_dir/node_modules/@openfeature/ofrep-provider" ] ||
	{ echo "bench: needs tests/node's packages (scripts/install-deps.sh)" >&2; exit 2; }

dir=$(mktemp -d /tmp/rg-bench-flags.XXXXXX)
pid=""
app=""
cleanup() {
	[ -n "$app" ] && kill "$app" 2>/dev/null
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
url=http://127.0.0.1:$port
cat >"$dir/check" <<SH
#!/bin/sh
[ ! -e "$dir/broken" ]
SH
chmod +x "$dir/check"
cat >"$dir/rollguard.yaml" <<YAML
service: bench
server: { listen: 127.0.0.1:$port, state: $dir/state }
environments:
  production: { monitor: 10m }
deploy:
  - { name: a, run: "true" }
checks:
  checkout: { run: $dir/check }
triggers:
  - { name: checkout, check: checkout, every: 100ms, failures: 1, severity: P1, disable_flag: new-checkout }
flags:
  new-checkout: { default: false, envs: { production: {} } }
YAML
"$rg" serve -c "$dir/rollguard.yaml" 2>"$dir/serve.log" &
pid=$!
for _ in $(seq 50); do curl -fs "$url/health" >/dev/null 2>&1 && break; sleep 0.1; done
admin=$(cat "$dir/state/admin.token")
export ROLLGUARD_URL=$url ROLLGUARD_TOKEN=$admin
"$rg" token create app --role flags --env production -c "$dir/rollguard.yaml" >"$dir/token.out"
app_token=$(tail -n1 "$dir/token.out")

now_ms() { date +%s%3N; }

state_of() {
	"$rg" show "$1" --json | sed -n 's/^  "state": "\(.*\)",$/\1/p'
}

one_round() { # ROUND — prints "fire_store_ms fire_app_ms break_app_ms"
	local id out broke off at store
	out=$("$rg" deploy "v$1" --env production)
	id=$(printf '%s\n' "$out" | sed -n 's/^run \([0-9][0-9]*\):.*/\1/p')
	for _ in $(seq 100); do [ "$(state_of "$id")" = monitoring ] && break; sleep 0.1; done
	"$rg" flag set new-checkout --env production on --reason "bench round $1" >/dev/null
	(cd "$node_dir" && OFREP_URL=$url OFREP_TOKEN=$app_token node ofrep-client.mjs watch new-checkout \
		"$poll" 100000 >"$dir/watch.out") &
	app=$!
	for _ in $(seq 100); do grep -q '^on ' "$dir/watch.out" 2>/dev/null && break; sleep 0.05; done
	broke=$(now_ms)
	: >"$dir/broken"
	wait "$app"
	app=""
	off=$(sed -n 's/^off \([0-9]*\).*/\1/p' "$dir/watch.out")
	at=$(sqlite3 "$dir/state/state.db" \
		"select at from decisions where run_id=$id and \"action\"='disable-flag' order by id desc limit 1")
	store=$(grep "run $id: flag 'new-checkout' turned off" "$dir/serve.log" | tail -n1 |
		sed -n 's/.*(\([0-9.]*\) ms from the trigger.*/\1/p')
	rm -f "$dir/broken"
	"$rg" abort "$id" >/dev/null
	for _ in $(seq 100); do [ "$(state_of "$id")" = aborted ] && break; sleep 0.1; done
	echo "$store $((off - at)) $((off - broke))"
}

for r in $(seq 1 "$rounds"); do
	one_round "$r" >>"$dir/rounds"
done

stats() { # COLUMN NAME
	awk -v c="$1" '{ print $c }' "$dir/rounds" | sort -n | awk -v n="$2" '
		{ v[NR] = $1 } END { printf "  %-14s min %8.2f ms   median %8.2f ms   max %8.2f ms\n",
			n, v[1], v[int((NR + 1) / 2)], v[NR] }'
}
echo "flags: a trigger's disable_flag to a real OpenFeature app ($rounds rounds, app polls every ${poll} ms)"
stats 1 "fire → stored"
stats 2 "fire → app"
stats 3 "break → app"

if command -v wrk >/dev/null; then
	cat >"$dir/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"context":{"targetingKey":"user-1"}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $app_token"
LUA
	echo "OFREP evaluations (wrk -t1 -c1 -d$duration)"
	for path in /ofrep/v1/evaluate/flags/new-checkout /ofrep/v1/evaluate/flags; do
		wrk -t1 -c1 -d"$duration" --latency -s "$dir/post.lua" "$url$path" >"$dir/wrk.out"
		awk -v n="$path" '
			/Requests\/sec/ { rps = $2 }
			$1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 }
			END { printf "  %-38s %9s req/s   p50 %8s   p99 %8s\n", n, rps, p50, p99 }' "$dir/wrk.out"
	done
fi
