#!/usr/bin/env bash
# bench/figures.sh — what the figures sampler (src/engine/figures.c) holds
# serve's loop for: one tick for RUNS deploy runs (their routes read, both
# sides read from a real built-in proxy with PROXY_THREADS threads, the
# differences taken) and the store's write of one 5-second batch of their
# samples (RUNS × 2 sides × 5), ROUNDS times. No serve, no traffic: the
# proxy only listens. See bench/README.md.
#
#   RUNS=200 ROUNDS=10 PROXY_THREADS=4
. "$(dirname "$0")/lib.sh"
bench=$root/build/figures-bench
bench_need "$bench"
bench_tmpdir rg-figures-bench
port=$(bench_free_port)
cat >"$dir/rollguard.yaml" <<YAML
service: shop
server:
  listen: 127.0.0.1:$(bench_free_port)
  state: $dir/state
environments:
  prod:
    proxy: { listen: 127.0.0.1:$port, threads: ${PROXY_THREADS:-4} }
deploy:
  - name: app
    run: ./app
YAML
out=$("$bench" "$dir/rollguard.yaml" "$dir/state.db" "${RUNS:-200}" "${ROUNDS:-10}")
printf '%s\n' "$out"
echo "tick:  $(printf '%s\n' "$out" | sed -n 's/.*tick \([0-9.]*\) ms.*/\1/p' | bench_stats) ms"
echo "batch: $(printf '%s\n' "$out" | sed -n 's/.* samples \([0-9.]*\) ms$/\1/p' | bench_stats) ms"
