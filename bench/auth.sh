#!/usr/bin/env bash
# bench/auth.sh — what authentication and the audit log cost per API
# request. One release-build server on 127.0.0.1; wrk (1 thread, 1
# connection, DURATION each) against:
#   health        GET /health: public, no token checked (the floor)
#   read          GET /api/v1/status with a valid token (hash + one indexed read)
#   bad token     GET /api/v1/status with a wrong token (refused 401)
#   audited write POST /api/v1/runs/999999/pause with a valid token: refused
#                 404, and one audit entry appended (a durable commit)
# With BASE_BIN (a build from before tokens), its GET /api/v1/status without
# a token is measured in the same run, so the token's own cost is the ratio
# of the two "read" lines. Prints requests/s and p50/p99 latency.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rg=${RG_BIN:-$root/build/rollguard}
duration=${DURATION:-3s}
[ -x "$rg" ] || { echo "bench: build first (make)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "bench: needs wrk (scripts/install-deps.sh)" >&2; exit 2; }

dir=$(mktemp -d /tmp/rg-bench-auth.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

serve() { # BIN PORT STATE
	cat >"$dir/rollguard.yaml" <<YAML
service: bench
server: { listen: 127.0.0.1:$2, state: $3 }
environments:
  bench: {}
deploy:
  - { name: a, run: "true" }
YAML
	"$1" serve -c "$dir/rollguard.yaml" 2>"$dir/serve.log" &
	pid=$!
	for _ in $(seq 50); do curl -fs "http://127.0.0.1:$2/health" >/dev/null 2>&1 && return 0; sleep 0.1; done
	echo "bench: serve did not start" >&2
	cat "$dir/serve.log" >&2
	exit 1
}

stop() { kill "$pid" && wait "$pid" 2>/dev/null || true; pid=""; }

# measure NAME URL [wrk args] — one line: name, req/s, p50, p99.
measure() {
	local name=$1 url=$2
	shift 2
	wrk -t1 -c1 -d"$duration" --latency "$@" "$url" >"$dir/wrk.out"
	awk -v n="$name" '
		/Requests\/sec/ { rps = $2 }
		$1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 }
		END { printf "  %-14s %9s req/s   p50 %8s   p99 %8s\n", n, rps, p50, p99 }' "$dir/wrk.out"
}

port=$((20000 + RANDOM % 20000))
serve "$rg" "$port" "$dir/state"
token=$(cat "$dir/state/admin.token")
cat >"$dir/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "{}"
wrk.headers["Content-Type"] = "application/json"
LUA
echo "auth cost per request ($duration each, wrk -t1 -c1):"
url=http://127.0.0.1:$port
measure health "$url/health"
measure read "$url/api/v1/status?env=bench" -H "Authorization: Bearer $token"
measure "bad token" "$url/api/v1/status?env=bench" \
	-H "Authorization: Bearer rg_0123456789abcdef_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
measure "audited write" "$url/api/v1/runs/999999/pause" -H "Authorization: Bearer $token" \
	-s "$dir/post.lua"
entries=$(sqlite3 "$dir/state/state.db" 'select count(*) from audit' 2>/dev/null || echo '?')
echo "  (audit entries written: $entries)"
stop
if [ -n "${BASE_BIN:-}" ]; then
	serve "$BASE_BIN" "$((port + 1))" "$dir/base-state"
	measure "read (base)" "http://127.0.0.1:$((port + 1))/api/v1/status?env=bench"
	stop
fi
