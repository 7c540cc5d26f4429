#!/usr/bin/env bash
# bench/proxy.sh — rollguard's proxy engine against HAProxy and nginx, in one
# run on the same two backends (build/demo-app, one thread each), measured
# with wrk:
#   direct     wrk → one backend (the ceiling of one backend, no proxy)
#   rollguard  wrk → build/proxy-bench (round-robin over both, keep-alive)
#   haproxy    wrk → HAProxy (mode http, roundrobin, http-reuse always,
#              keep-alive, equal weights, no logging, the same thread count)
#   nginx      wrk → nginx (proxy_pass to an upstream of both, keepalive
#              pool, HTTP/1.1 upstream, no access log, worker_processes =
#              the thread count), configured in the temp dir: no service
# For each proxy thread count of PROXY_THREADS (default "1 2") the three
# proxies are started with that many threads; each measurement follows a
# 2 s warm-up; the proxies run in rotation (A B C, B C A, …), ROUNDS times
# each, and the median is reported, with each proxy's CPU time per request
# (from /proc, over the measured run; nginx: its workers summed).
# Installs nothing (nginx comes from `install-deps.sh bench`); starts
# everything on 127.0.0.1 and kills all of it on exit. Bounded: it stops by
# itself after (1 + 3 × ROUNDS × thread counts) × (DURATION + 2 s).
#
#   DURATION=10s CONNS=64 THREADS=2 (wrk)  PROXY_THREADS="1 2"  ROUNDS=2
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
duration=${DURATION:-10s}
conns=${CONNS:-64}
wrk_threads=${THREADS:-2}
proxy_threads_list=${PROXY_THREADS:-1 2}
rounds=${ROUNDS:-2}
app=$root/build/demo-app
bench=$root/build/proxy-bench

nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
for tool in wrk haproxy "$nginx_bin"; do
	command -v "$tool" >/dev/null ||
		{ echo "bench: needs $tool (scripts/install-deps.sh bench: wrk haproxy nginx)" >&2; exit 2; }
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
be1=$base be2=$((base + 1)) rg_port=$((base + 2)) ha_port=$((base + 3)) ng_port=$((base + 4))

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

to_ms() { # wrk's "870.00us" / "1.18ms" / "1.02s" → milliseconds
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000
		printf "%.3f", n }'
}

cpu_ticks() { # pid… → their user + system CPU time so far, in clock ticks
	local p t=0
	for p in "$@"; do
		t=$((t + $(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$p/stat")))
	done
	echo "$t"
}

# name port [pid]: appends "rps p50 p99 cpu_us_per_request" to $dir/name.runs.
# With a pid, the process's CPU time over the measured run (not the warm-up)
# divided by the requests: the cost of a request, less noisy than req/s when
# everything shares two cores.
measure() {
	local url=http://127.0.0.1:$2/ pid=${3:-} out t0=0 t1=0
	wrk -t"$wrk_threads" -c"$conns" -d2s "$url" >/dev/null
	[ -n "$pid" ] && t0=$(cpu_ticks $pid)
	out=$(wrk -t"$wrk_threads" -c"$conns" -d"$duration" --latency "$url")
	[ -n "$pid" ] && t1=$(cpu_ticks $pid)
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
	printf '  %-12s run: %10.0f req/s  p50 %7.3f ms  p99 %7.3f ms' "$1" "$rps" "$p50" "$p99"
	if [ -n "$pid" ]; then printf '  %6.2f us CPU/req\n' "$cpu"; else echo; fi
}

median() { # column of $dir/name.runs → its median (the mean of the middle two if even)
	awk -v c="$2" '{ print $c }' "$dir/$1.runs" | sort -g |
		awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2)
			printf "%.3f", NR % 2 ? v[m] : (v[m] + v[m + 1]) / 2 }'
}

# HAProxy 2.6 set up like proxy-bench: same threads, keep-alive on both sides,
# pooled upstream connections shared freely, round-robin, equal weights. Like
# rollguard it adds X-Forwarded-For (option forwardfor); rollguard also adds
# X-Forwarded-Proto and X-Request-Id, a little more work per request.
haproxy_cfg() { # threads
	cat >"$dir/haproxy.cfg" <<CFG
global
	nbthread $1
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
}

# nginx 1.22 set up the same way: one worker process per thread, an
# upstream of both backends (round-robin is its default) with a keepalive
# pool, HTTP/1.1 to the backends, X-Forwarded-For added, no access log.
# Everything it writes (pid, temp files, error log) stays in $dir.
nginx_cfg() { # threads
	mkdir -p "$dir/nginx"
	cat >"$dir/nginx.conf" <<CFG
worker_processes $1;
daemon off;
master_process on;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $dir/nginx/body;
	proxy_temp_path $dir/nginx/proxy;
	fastcgi_temp_path $dir/nginx/fastcgi;
	uwsgi_temp_path $dir/nginx/uwsgi;
	scgi_temp_path $dir/nginx/scgi;
	keepalive_timeout 60s;
	keepalive_requests 100000;
	upstream apps {
		server 127.0.0.1:$be1;
		server 127.0.0.1:$be2;
		keepalive 256;
	}
	server {
		listen 127.0.0.1:$ng_port;
		location / {
			proxy_pass http://apps;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header X-Forwarded-For \$remote_addr;
		}
	}
}
CFG
	"$nginx_bin" -t -q -e "$dir/nginx/error.log" -p "$dir/nginx" -c "$dir/nginx.conf" 2>/dev/null ||
		"$nginx_bin" -t -e "$dir/nginx/error.log" -p "$dir/nginx" -c "$dir/nginx.conf"
}

stop_proxies() { # the proxies of one thread count, not the backends
	local p
	for p in $rg_pid $ha_pid $ng_pid; do kill "$p" 2>/dev/null || true; done
	for p in $rg_pid $ha_pid $ng_pid; do wait "$p" 2>/dev/null || true; done
	rg_pid= ha_pid= ng_pid=
}

start app1 "$app" --listen "127.0.0.1:$be1" --threads 1
start app2 "$app" --listen "127.0.0.1:$be2" --threads 1
for p in "$be1" "$be2"; do wait_port "$p"; done
rg_pid= ha_pid= ng_pid=

echo "proxy bench: wrk -t$wrk_threads -c$conns -d$duration --latency, proxy threads" \
	"$proxy_threads_list, $rounds round(s), on $(nproc) CPU(s)"
measure direct "$be1"
for n in $proxy_threads_list; do
	echo "$n proxy thread(s):"
	haproxy_cfg "$n"
	nginx_cfg "$n"
	start "rollguard-$n" "$bench" --listen "127.0.0.1:$rg_port" --threads "$n" \
		--backend "127.0.0.1:$be1" --backend "127.0.0.1:$be2"
	rg_pid=${pids[-1]}
	start "haproxy-$n" haproxy -db -f "$dir/haproxy.cfg"
	ha_pid=${pids[-1]}
	start "nginx-$n" "$nginx_bin" -e "$dir/nginx/error.log" -p "$dir/nginx" -c "$dir/nginx.conf"
	ng_master=${pids[-1]}
	for p in "$rg_port" "$ha_port" "$ng_port"; do wait_port "$p"; done
	# the master forks the workers; they do the proxying, the master is counted too
	ng_pid="$ng_master $(pgrep -P "$ng_master" | tr '\n' ' ')"
	# A B C, B C A, C A B …: each proxy goes first as often as the others,
	# so a drift over the run (a warming cache, a background job) favours none.
	order=(rollguard haproxy nginx)
	for i in $(seq "$rounds"); do
		for k in 0 1 2; do
			name=${order[$(((i - 1 + k) % 3))]}
			case $name in
			rollguard) measure "rollguard-$n" "$rg_port" "$rg_pid" ;;
			haproxy) measure "haproxy-$n" "$ha_port" "$ha_pid" ;;
			nginx) measure "nginx-$n" "$ng_port" "$ng_pid" ;;
			esac
		done
	done
	ng_pid=$ng_master
	stop_proxies
done

echo
printf '%-40s %10s %8s %8s %12s\n' configuration req/s p50_ms p99_ms cpu_us/req
row() {
	local cpu=-
	[ "$2" != direct ] && cpu=$(median "$2" 4)
	printf '%-40s %10.0f %8.3f %8.3f %12s\n' "$1" "$(median "$2" 1)" "$(median "$2" 2)" \
		"$(median "$2" 3)" "$cpu"
}
ha_version=$(haproxy -v | awk 'NR == 1 { sub(/-.*/, "", $3); print $3 }')
ng_version=$("$nginx_bin" -v 2>&1 | sed -n 's|.*nginx/\([0-9.]*\).*|\1|p')
row "direct (ONE backend, no proxy)" direct
for n in $proxy_threads_list; do
	row "rollguard proxy-bench, $n thread(s)" "rollguard-$n"
	row "haproxy $ha_version, $n thread(s)" "haproxy-$n"
	row "nginx $ng_version, $n worker(s)" "nginx-$n"
done
echo
for n in $proxy_threads_list; do
	awk -v n="$n" -v rg="$(median "rollguard-$n" 1)" -v ha="$(median "haproxy-$n" 1)" \
		-v ng="$(median "nginx-$n" 1)" -v rg99="$(median "rollguard-$n" 3)" \
		-v ha99="$(median "haproxy-$n" 3)" -v ng99="$(median "nginx-$n" 3)" 'BEGIN {
		printf "%s thread(s): req/s rollguard / haproxy %.2fx, / nginx %.2fx (target >= 1.00x)\n", n, rg / ha, rg / ng
		printf "%s thread(s): p99 rollguard %.3f ms, haproxy %.3f ms, nginx %.3f ms (target: rollguard lowest)\n", n, rg99, ha99, ng99
	}'
done
if [ "$(nproc)" -le 4 ]; then
	echo
	echo "note: on $(nproc) CPUs wrk, both backends and the proxy share the cores, so each"
	echo "proxy gets the same starved share: a fair side-by-side, not absolute capacity."
fi
