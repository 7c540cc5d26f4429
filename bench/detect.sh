#!/usr/bin/env bash
# bench/detect.sh — how fast the sequential test (src/analysis/sprt.h) catches
# a bad canary and how often it fails a healthy one, next to a fixed-interval
# checker (one look a minute, 99 % success, roll back after 1 or 5 failed
# looks), on simulated request streams with fixed seeds: baseline 0.1 %
# errors, canary 2 % or 5 % (0.1 % when healthy), split 10/90, canary at 10,
# 100 and 1000 req/s, one test update per 100 ms batch. See bench/README.md.
# Pure simulation: no network, no processes, a few seconds.
#
#   RUNS=1000 (bad canaries per row)  HEALTHY=1000 (per req/s)  HORIZON_MIN=30  SEED=20240601
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bench=$root/build/detect-bench
[ -x "$bench" ] || { echo "bench: build first: make build/detect-bench" >&2; exit 2; }
exec "$bench" --runs "${RUNS:-1000}" --healthy "${HEALTHY:-1000}" \
	--horizon-min "${HORIZON_MIN:-30}" --seed "${SEED:-20240601}"
