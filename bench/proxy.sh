#!/usr/bin/env bash
# bench/proxy.sh — rollguard's proxy engine against HAProxy, in one run on the
# same two backends (build/demo-app, one thread each), measured with wrk:
#   direct     wrk → one backend (the ceiling of one backend, no proxy)
#   rollguard  wrk → build/proxy-bench (round-robin over both, keep-alive)
#   haproxy    wrk → HAProxy (mode http, roundrobin, http-reuse always,
#              keep-alive, equal weights, no logging, the same thread count)
# Each measurement follows a 2 s warm-up; the proxies run alternately
# (A B B A …), ROUNDS times each, and the median is reported, with each
# proxy's CPU time per request (from /proc, over the measured run).
# Installs nothing; starts everything on 127.0.0.1 and kills all of it on
# exit. Bounded: it stops by itself after (1 + 2 × ROUNDS) × (DURATION + 2 s).
#
#   DURATION=10s CONNS=64 THREADS=2 (wrk)  PROXY_THREADS=nproc  ROUNDS=2
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
duration=${DURATION:-10s}
conns=${CONNS:-64}
wrk_threads=${THREADS:-2}
proxy_threads=${PROXY_THREADS:-$(nproc)}
rounds=${ROUNDS:-2}
app=$root/build/demo-app
bench=$root/build/proxy-bench

for tool in wrk haproxy; do
	command -v "$tool" >/dev/null ||
		{ echo "bench: needs $tool (Debian: apt-get install -y wrk haproxy)" >&2; exit 2; }
done
for bin in "$app" "$bench"; do
	[ -x "$bin" ] || { echo "bench: build first: make build/demo-app build/proxy-bench" >&2; exit 2; }
done

dir=$(mktemp -d /tmp/rg-proxy-bench.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

base=$((20000 + RANDOM % 20000))
be1=$base be2=$((base + 1)) rg_port=$((base + 2)) ha_port=$((base + 3))

wait_port() { # port: until it accepts a connection (5 s at most)
	for _ in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "bench: nothing listening on 127.0.0.1:$1" >&2
	tail -n 5 "$dir"/*.log >&2
	exit 1
}

start() { # name command…: in the background, output to $dir/name.log
	local name=$1; shift
	"$@" >"$dir/$name.log" 2>&1 &
	pids+=($!)
}

# HAProxy 2.6 set up like proxy-bench: same threads, keep-alive on both sides,
# pooled upstream connections shared freely, round-robin, equal weights. Like
# rollguard it adds X-Forwarded-For (option forwardfor); rollguard also adds
# X-Forwarded-Proto and X-Request-Id, a little more work per request.
cat >"$dir/haproxy.cfg" <<CFG
global
	nbthread $proxy_threads
	maxconn 4096
defaults
	mode http
	option http-keep-alive
	option forwardfor
	http-reuse always
	timeout connect 2s
	timeout client 60s
	timeout server 30s
	timeout http-keep-alive 60s
	timeout http-request 10s
frontend bench
	bind 127.0.0.1:$ha_port
	default_backend apps
backend apps
	balance roundrobin
	server app1 127.0.0.1:$be1 weight 1
	server app2 127.0.0.1:$be2 weight 1
CFG
haproxy -c -q -f "$dir/haproxy.cfg"

start app1 "$app" --listen "127.0.0.1:$be1" --threads 1
start app2 "$app" --listen "127.0.0.1:$be2" --threads 1
start rollguard "$bench" --listen "127.0.0.1:$rg_port" --threads "$proxy_threads" \
	--backend "127.0.0.1:$be1" --backend "127.0.0.1:$be2"
rg_pid=${pids[-1]}
start haproxy haproxy -db -f "$dir/haproxy.cfg"
ha_pid=${pids[-1]}
for p in "$be1" "$be2" "$rg_port" "$ha_port"; do wait_port "$p"; done

to_ms() { # wrk's "870.00us" / "1.18ms" / "1.02s" → milliseconds
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000
		printf "%.3f", n }'
}

cpu_ticks() { # pid → its user + system CPU time so far, in clock ticks
	awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

# name port [pid]: appends "rps p50 p99 cpu_us_per_request" to $dir/name.runs.
# With a pid, the process's CPU time over the measured run (not the warm-up)
# divided by the requests: the cost of a request, less noisy than req/s when
# everything shares two cores.
measure() {
	local url=http://127.0.0.1:$2/ pid=${3:-} out t0=0 t1=0
	wrk -t"$wrk_threads" -c"$conns" -d2s "$url" >/dev/null
	[ -n "$pid" ] && t0=$(cpu_ticks "$pid")
	out=$(wrk -t"$wrk_threads" -c"$conns" -d"$duration" --latency "$url")
	[ -n "$pid" ] && t1=$(cpu_ticks "$pid")
	echo "$out" >>"$dir/$1.wrk"
	if echo "$out" | grep -q 'Non-2xx\|Socket errors'; then
		echo "bench: $1: $(echo "$out" | grep 'Non-2xx\|Socket errors')" >&2
	fi
	local rps p50 p99 reqs cpu
	rps=$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')
	p50=$(to_ms "$(echo "$out" | awk '$1 == "50%" { print $2 }')")
	p99=$(to_ms "$(echo "$out" | awk '$1 == "99%" { print $2 }')")
	reqs=$(echo "$out" | awk '/requests in/ { print $1 }')
	cpu=$(awk -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v n="$reqs" \
		'BEGIN { printf "%.2f", (n > 0 ? d * 1e6 / hz / n : 0) }')
	echo "$rps $p50 $p99 $cpu" >>"$dir/$1.runs"
	printf '  %-10s run: %10.0f req/s  p50 %7.3f ms  p99 %7.3f ms' "$1" "$rps" "$p50" "$p99"
	if [ -n "$pid" ]; then printf '  %6.2f us CPU/req\n' "$cpu"; else echo; fi
}

median() { # column of $dir/name.runs → its median (the mean of the middle two if even)
	awk -v c="$2" '{ print $c }' "$dir/$1.runs" | sort -g |
		awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2)
			printf "%.3f", NR % 2 ? v[m] : (v[m] + v[m + 1]) / 2 }'
}

echo "proxy bench: wrk -t$wrk_threads -c$conns -d$duration --latency, proxy threads $proxy_threads," \
	"$rounds round(s), on $(nproc) CPU(s)"
measure direct "$be1"
# A B B A …: each proxy goes first as often as the other, so a drift over
# the run (a warming cache, a background job) does not favour one.
for i in $(seq "$rounds"); do
	if [ $((i % 2)) -eq 1 ]; then
		measure rollguard "$rg_port" "$rg_pid"
		measure haproxy "$ha_port" "$ha_pid"
	else
		measure haproxy "$ha_port" "$ha_pid"
		measure rollguard "$rg_port" "$rg_pid"
	fi
done

echo
printf '%-38s %10s %8s %8s %12s\n' configuration req/s p50_ms p99_ms cpu_us/req
row() {
	local cpu=-
	[ "$2" != direct ] && cpu=$(median "$2" 4)
	printf '%-38s %10.0f %8.3f %8.3f %12s\n' "$1" "$(median "$2" 1)" "$(median "$2" 2)" \
		"$(median "$2" 3)" "$cpu"
}
row "direct (ONE backend, no proxy)" direct
row "rollguard proxy-bench (2 backends)" rollguard
row "haproxy $(haproxy -v | awk 'NR == 1 { sub(/-.*/, "", $3); print $3 }') (2 backends)" haproxy
echo
awk -v rg="$(median rollguard 1)" -v ha="$(median haproxy 1)" -v d="$(median direct 1)" \
	-v rg99="$(median rollguard 3)" -v ha99="$(median haproxy 3)" \
	-v rgc="$(median rollguard 4)" -v hac="$(median haproxy 4)" 'BEGIN {
	printf "rollguard / haproxy   req/s  %.2fx   (target >= 1.00x)\n", rg / ha
	printf "rollguard / direct    req/s  %.2fx   (direct = one backend alone)\n", rg / d
	printf "p99 rollguard vs haproxy     %.3f ms vs %.3f ms (%.2fx; target <= 1.00x)\n", rg99, ha99, rg99 / ha99
	if (hac > 0) printf "CPU per request rollguard / haproxy  %.2fx\n", rgc / hac
}'
if [ "$(nproc)" -le 4 ]; then
	echo
	echo "note: on $(nproc) CPUs wrk, both backends and the proxy share the cores, so each"
	echo "proxy gets the same starved share: a fair side-by-side, not absolute capacity."
fi
