#!/usr/bin/env bash
# bench/rollback.sh — how fast rollguard turns a failed step into a restored
# release. Runs a real server (release build) with a 4-step pipeline whose
# last step fails for every "bad" version, deploys ROUNDS bad versions, and
# reads the timings from the store (state.db) with sqlite3:
#   detect→undo  from the failing step's end to the first undo starting
#   undo→done    from the first undo starting to the run ending rolled_back
#   whole run    from the run's start to rolled_back (steps included)
# Prints min / median / max in milliseconds. 127.0.0.1 only; bounded rounds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rg=${RG_BIN:-$root/build/rollguard}
rounds=${ROUNDS:-20}
[ -x "$rg" ] || { echo "bench: build first (make)" >&2; exit 2; }
command -v sqlite3 >/dev/null || { echo "bench: needs sqlite3 (scripts/install-deps.sh)" >&2; exit 2; }

dir=$(mktemp -d /tmp/rg-bench.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
cat >"$dir/rollguard.yaml" <<YAML
service: bench
server: { listen: 127.0.0.1:$port, state: $dir/state }
environments:
  bench: { timeout: 1m }
deploy:
  - { name: a, run: "true", undo: "true" }
  - { name: b, run: "true", undo: "true" }
  - { name: c, run: "true", undo: "true" }
  - { name: smoke, run: 'case "\$ROLLGUARD_VERSION" in bad*) exit 1;; esac' }
YAML
"$rg" serve -c "$dir/rollguard.yaml" 2>"$dir/serve.log" &
pid=$!
export ROLLGUARD_URL=http://127.0.0.1:$port
for _ in $(seq 50); do curl -fs "$ROLLGUARD_URL/health" >/dev/null 2>&1 && break; sleep 0.1; done
ROLLGUARD_TOKEN=$(cat "$dir/state/admin.token") && export ROLLGUARD_TOKEN

"$rg" deploy good --env bench --wait >/dev/null
for i in $(seq "$rounds"); do
	"$rg" deploy "bad$i" --env bench --wait >/dev/null || true
done

stats() { # reads numbers, prints "min median max"
	sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
		printf "%d / %d / %d ms  (n=%d)\n", v[1], v[int((NR + 1) / 2)], v[NR], NR }'
}
q() { sqlite3 "$dir/state/state.db" "$1"; }
detect=$(q "SELECT u.started - f.ended FROM runs r
	JOIN step_runs f ON f.run_id = r.id AND f.phase = 'forward' AND f.name = 'smoke'
	JOIN step_runs u ON u.run_id = r.id AND u.phase = 'reverse' AND u.idx = 0
	WHERE r.state = 'rolled_back'")
undo=$(q "SELECT r.ended - u.started FROM runs r
	JOIN step_runs u ON u.run_id = r.id AND u.phase = 'reverse' AND u.idx = 0
	WHERE r.state = 'rolled_back'")
whole=$(q "SELECT ended - started FROM runs WHERE state = 'rolled_back'")
live=$(q "SELECT version || ' ' || state FROM releases WHERE state IN ('live','known_good')")

echo "rollback timings over $rounds failed deploys (min / median / max):"
printf '  detect -> first undo   %s' "$(printf '%s\n' "$detect" | stats)"; echo
printf '  first undo -> done     %s' "$(printf '%s\n' "$undo" | stats)"; echo
printf '  whole failed run       %s' "$(printf '%s\n' "$whole" | stats)"; echo
echo "  live afterwards: $live"
