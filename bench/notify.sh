#!/usr/bin/env bash
# bench/notify.sh — delay from a rollback decision to the delivered message.
# Runs a real server (release build) whose last step fails for every "bad"
# version, with a Slack-like and a webhook receiver
# (tests/integration/helpers/receiver.py, the webhook checking the HMAC
# signature), deploys ROUNDS bad versions, and compares each run's decision
# time (decisions.at in state.db) with the time each receiver got its
# rollback_started message. Prints median / p95 / max in milliseconds per
# channel, and the sender's own view (delivered_at - decision). 127.0.0.1
# only; bounded rounds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rg=${RG_BIN:-$root/build/rollguard}
rounds=${ROUNDS:-20}
py=/usr/bin/python3
[ -x "$rg" ] || { echo "bench: build first (make)" >&2; exit 2; }
command -v sqlite3 >/dev/null || { echo "bench: needs sqlite3 (scripts/install-deps.sh)" >&2; exit 2; }

dir=$(mktemp -d /tmp/rg-bench.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT

port=$((20000 + RANDOM % 10000))
sp=$((port + 10001))
wp=$((port + 10002))
export BENCH_SLACK_URL="http://127.0.0.1:$sp/services/bench" BENCH_HOOK_SECRET=benchsecret0123
$py "$root/tests/integration/helpers/receiver.py" "$sp" "$dir/slack.log" &
pids+=($!)
$py "$root/tests/integration/helpers/receiver.py" "$wp" "$dir/hook.log" --secret "$BENCH_HOOK_SECRET" &
pids+=($!)
cat >"$dir/rollguard.yaml" <<YAML
service: bench
server: { listen: 127.0.0.1:$port, state: $dir/state, public_url: "http://127.0.0.1:$port" }
environments:
  bench: { timeout: 1m }
deploy:
  - { name: a, run: "true", undo: "true" }
  - { name: smoke, run: 'case "\$ROLLGUARD_VERSION" in bad*) exit 1;; esac' }
notify:
  channels:
    slack: { slack: { url_env: BENCH_SLACK_URL } }
    hook: { webhook: { url: "http://127.0.0.1:$wp/hook", secret_env: BENCH_HOOK_SECRET } }
  routes:
    - { events: [rollback_started], to: [slack, hook] }
YAML
"$rg" serve -c "$dir/rollguard.yaml" 2>"$dir/serve.log" &
pids+=($!)
export ROLLGUARD_URL=http://127.0.0.1:$port
for _ in $(seq 50); do curl -fs "$ROLLGUARD_URL/health" >/dev/null 2>&1 && break; sleep 0.1; done
ROLLGUARD_TOKEN=$(cat "$dir/state/admin.token") && export ROLLGUARD_TOKEN

"$rg" deploy good --env bench --wait >/dev/null
for i in $(seq "$rounds"); do
	"$rg" deploy "bad$i" --env bench --wait >/dev/null || true
done
for _ in $(seq 100); do
	n=$(sqlite3 "$dir/state/state.db" "SELECT count(*) FROM notifications WHERE state='delivered'")
	[ "$n" -ge $((2 * rounds)) ] && break
	sleep 0.1
done

sqlite3 -separator ' ' "$dir/state/state.db" \
	"SELECT run_id, max(at) FROM decisions GROUP BY run_id" >"$dir/decided"
sqlite3 -separator ' ' "$dir/state/state.db" \
	"SELECT n.channel, n.delivered_at - d.at FROM notifications n
	 JOIN (SELECT run_id, max(at) AS at FROM decisions GROUP BY run_id) d ON d.run_id = n.run_id
	 WHERE n.state = 'delivered'" >"$dir/sender"
$py - "$dir" "$rounds" <<'PY'
import json, re, sys
d, rounds = sys.argv[1], int(sys.argv[2])
decided = {int(a): int(b) for a, b in (l.split() for l in open(f"{d}/decided"))}
def stats(v):
    if not v:
        return "-"
    v = sorted(v)
    med = v[(len(v) - 1) // 2]
    p95 = v[min(len(v) - 1, int(round(0.95 * (len(v) - 1))))]
    return f"{med:.1f} / {p95:.1f} / {v[-1]:.1f} ms  (n={len(v)})"
def arrivals(name, run_of):
    out = []
    for line in open(f"{d}/{name}.log"):
        r = json.loads(line)
        if r["status"] != 200:
            continue
        run = run_of(r["body"])
        if run in decided:
            out.append(r["t"] * 1000 - decided[run])
    return out
slack = arrivals("slack", lambda b: int(re.search(r"/runs/(\d+)", b).group(1)))
hook = arrivals("hook", lambda b: json.loads(b)["data"]["run_id"])
sender = {}
for line in open(f"{d}/sender"):
    ch, ms = line.split()
    sender.setdefault(ch, []).append(float(ms))
print(f"decision -> message received, over {rounds} automatic rollbacks (median / p95 / max):")
print(f"  slack-like receiver      {stats(slack)}")
print(f"  webhook (signed)         {stats(hook)}")
print("decision -> delivered_at recorded by the sender:")
for ch in sorted(sender):
    print(f"  {ch:<24} {stats(sender[ch])}")
PY
