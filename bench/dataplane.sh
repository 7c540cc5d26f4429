#!/usr/bin/env bash
# bench/dataplane.sh — what users lose when the processes around them fail:
# rollguard serve (release build) with its proxy process, one demo-app
# release, wrk through the proxy. Three events, each under its own wrk run:
#   serve SIGKILL    serve killed, started again 1 s later (re-attaches)
#   proxy SIGKILL    the proxy killed; serve starts another at once
#   upgrade          `rollguard proxy --takeover` from a copy of the binary
# Prints, per event, wrk's requests, socket errors and non-2xx, and for the
# proxy kill the gap serve logs (proxy gone → new one attached). 127.0.0.1
# only; bounded load (DURATION seconds per event, default 6).
. "$(dirname "$0")/lib.sh"
duration=${DURATION:-6}
conns=${CONNS:-8}
bench_need "$rg" "$app"
bench_need_cmd wrk scripts/install-deps.sh

bench_tmpdir rg-dp
pid="" wrk_pid=""
bench_cleanup() { # a proxy left behind exits once its lock file is gone
	[ -n "$wrk_pid" ] && kill "$wrk_pid" 2>/dev/null
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -s "$dir/state/proxy.pid" ] && kill "$(cat "$dir/state/proxy.pid")" 2>/dev/null
	[ -s "$dir/app.pid" ] && kill "$(cat "$dir/app.pid")" 2>/dev/null
	true
}

port=$(bench_free_port)
proxy=$(bench_free_port)

cat >"$dir/app.sh" <<SH
#!/bin/sh
[ -s "$dir/app.pid" ] && kill -0 "\$(cat "$dir/app.pid")" 2>/dev/null || {
	setsid "$app" --listen 127.0.0.1:0 --version "\$ROLLGUARD_VERSION" --threads 2 \
		--pidfile "$dir/app.pid" </dev/null >"$dir/app.log" 2>&1 &
	i=0
	while [ ! -s "$dir/app.pid" ] && [ \$i -lt 100 ]; do sleep 0.05; i=\$((i + 1)); done
}
sed -n 's/.* listening on \(127\.0\.0\.1:[0-9]*\).*/backend=\1/p' "$dir/app.log" >>"\$ROLLGUARD_OUTPUT"
SH
chmod +x "$dir/app.sh"
cat >"$dir/rollguard.yaml" <<YAML
service: bench
server: { listen: 127.0.0.1:$port, state: $dir/state }
environments:
  bench:
    proxy: { listen: 127.0.0.1:$proxy, threads: 1 }
deploy:
  - { name: app, run: $dir/app.sh }
  - { name: shift, traffic: { backend: app.backend, steps: [100] } }
YAML

start_serve() {
	"${1:-$rg}" serve -c "$dir/rollguard.yaml" 2>>"$dir/serve.log" &
	pid=$!
	bench_wait_health "$ROLLGUARD_URL" 100 && return
	echo "bench: serve did not start" >&2; exit 1
}
export ROLLGUARD_URL=http://127.0.0.1:$port
start_serve
ROLLGUARD_TOKEN=$(cat "$dir/state/admin.token") && export ROLLGUARD_TOKEN
"$rg" deploy v1 --env bench --wait >/dev/null

load() {
	wrk -t1 -c"$conns" -d"${duration}s" "http://127.0.0.1:$proxy/" >"$dir/wrk.out" 2>&1 &
	wrk_pid=$!
	sleep 2
}
report() {
	wait "$wrk_pid" 2>/dev/null || true
	wrk_pid=""
	local total sock non
	total=$(sed -n 's/^ *\([0-9][0-9]*\) requests in .*/\1/p' "$dir/wrk.out")
	sock=$(sed -n 's/^ *Socket errors: *\(.*\)/\1/p' "$dir/wrk.out")
	non=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\)/\1/p' "$dir/wrk.out")
	printf '  %-14s %8s requests, non-2xx %s, socket errors: %s%s\n' "$1" "${total:-?}" \
		"${non:-0}" "${sock:-none}" "${2:-}"
}

echo "data plane events under wrk -t1 -c$conns, ${duration}s each:"
load
kill -KILL "$pid"
{ wait "$pid"; } 2>/dev/null || true
sleep 1
start_serve
report "serve SIGKILL"

load
old=$(cat "$dir/state/proxy.pid")
kill -KILL "$old"
sleep 1
report "proxy SIGKILL" "; $(grep -o 'attached to the proxy process (pid [0-9]*), [0-9]* ms after' "$dir/serve.log" | tail -n 1 | sed 's/.*, \([0-9]*\) ms after/serve re-attached \1 ms after the kill was seen/')"

cp "$rg" "$dir/rollguard-new"
load
"$dir/rollguard-new" proxy -c "$dir/rollguard.yaml" --takeover 2>>"$dir/serve.log" &
sleep 1
report "upgrade" "; proxy pid $(cat "$dir/state/proxy.pid")"
