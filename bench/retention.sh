#!/usr/bin/env bash
# retention.sh — how long the loop is held by a retention pass: a store
# pre-filled with N (100 000) finished runs (each with an event and a step
# log; with RELEASES=1 also its release), serve with
# `retention: {runs: 1s, step_logs: 1s, keep_last: 100}`; prints the first
# passes' runs, logs, wall and CPU milliseconds as serve logged them, then
# min / median / p90 / p99 / max of both and how long pruning everything
# took. Wall time on a shared machine includes waiting for a core; the CPU
# time is what the pass itself costs the loop.
set -euo pipefail
N=${N:-100000}
BIN=${RG_BIN:-build/rollguard}
[ -x "$BIN" ] || { echo "retention.sh: build $BIN first (make all)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "retention.sh: needs sqlite3" >&2; exit 1; }
T=$(mktemp -d /tmp/rgbench-ret.XXXXXX)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
port=$((20000 + RANDOM % 20000))
cat >"$T/rollguard.yaml" <<YAML
service: bench
server:
  listen: 127.0.0.1:$port
  state: $T/state
  retention: { runs: 1s, step_logs: 1s, keep_last: 100 }
environments:
  staging: {}
deploy:
  - { name: app, run: "true" }
YAML
# the schema: serve makes it; the rows: one INSERT … SELECT each
"$BIN" lint -c "$T/rollguard.yaml" >/dev/null
mkdir -p "$T/state"
sed 's/retention: .*/# no retention while filling/' "$T/rollguard.yaml" >"$T/fill.yaml"
"$BIN" serve -c "$T/fill.yaml" >"$T/fill.log" 2>&1 & pid=$!
for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null && break; sleep 0.1; done
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
sqlite3 "$T/state/state.db" <<SQL
PRAGMA foreign_keys=ON;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO runs(id, env, kind, version, state, created, ended)
SELECT i, 'staging', 'deploy', 'v' || i, 'succeeded', 1000 + i, 2000 + i FROM n;
INSERT INTO events(run_id, at, type, message) SELECT id, ended, 'succeeded', 'run done' FROM runs;
INSERT INTO step_runs(run_id, phase, idx, name, state, ended, log)
SELECT id, 'forward', 0, 'app', 'succeeded', ended, printf('%.200c', 'x') FROM runs;
SQL
# RELEASES=1: each run with its release (superseded), as deploys leave them
[ "${RELEASES:-0}" = 1 ] && sqlite3 "$T/state/state.db" \
	"INSERT INTO releases(env, version, state, created, updated, run_id) SELECT env, version, 'superseded', created, ended, id FROM runs"
start=$(date +%s.%N)
"$BIN" serve -c "$T/rollguard.yaml" >"$T/serve.log" 2>&1 & pid=$!
left=$N
for _ in $(seq 1 1200); do
	sleep 0.5
	left=$(sqlite3 -readonly "file:$T/state/state.db?mode=ro" "select count(*) from runs" 2>/dev/null || echo "$left")
	[ "$left" -le 100 ] && break
done
end=$(date +%s.%N)
# serve logs "pruned R …, cleared L … (W ms, C ms on cpu)": wall and CPU time
grep -o 'retention: pruned .*' "$T/serve.log" | sed -n 's/.*pruned \([0-9]*\).* cleared \([0-9]*\).*(\([0-9.]*\) ms, \([0-9.]*\) ms on cpu)/\1 \2 \3 \4/p' >"$T/passes"
echo "passes (runs logs ms cpu-ms), first 5:"; head -n 5 "$T/passes"
for k in 3 4; do
	sort -n -k$k "$T/passes" | awk -v k=$k -v what="$([ $k = 3 ] && echo wall || echo cpu)" '{ms[NR]=$k} END { if (NR) printf "passes %d  %s ms: min %.1f  median %.1f  p90 %.1f  p99 %.1f  max %.1f\n", NR, what, ms[1], ms[int((NR+1)/2)], ms[int(NR*0.9+0.5)], ms[int(NR*0.99+0.5)], ms[NR] }'
done
printf "runs left %s of %s; pruning took %.1f s\n" "$left" "$N" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')"
