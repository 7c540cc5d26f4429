# t_websocket.sh — WebSockets through the built-in proxy, with a real client
# and server from Debian's python3-websockets (/usr/bin/python3): echo
# through the tunnel, one request with its 101 in the release's figures, a
# canary's tunnels kept across the shift, and the tunnels of a release no
# longer routed closed when proxy.drain ends.

# ws_files: $T/ws.py (server VERSION PORTFILE SICKFILE | client URL LOG
# [HEADER VALUE]) and $T/wsapp.sh start|stop, one WebSocket echo server per
# release that answers "VERSION:MESSAGE" (and /health: 500 once
# $T/sick-VERSION exists).
# stop only records itself: a tunnel must be closed by the proxy, not by its
# backend going away.
ws_files() {
	/usr/bin/python3 -c 'import websockets' 2>/dev/null ||
		fail "python3-websockets is not installed (scripts/install-deps.sh)"
	cat >"$T/ws.py" <<'PY'
import asyncio, http, os, sys
import websockets

async def server(version, portfile, sickfile):
    async def health(path, headers):
        if path == "/health":
            bad = os.path.exists(sickfile)
            code = http.HTTPStatus.INTERNAL_SERVER_ERROR if bad else http.HTTPStatus.OK
            return (code, [("Content-Length", str(len(version)))], version.encode())
        return None

    async def echo(ws, path=None):
        async for m in ws:
            await ws.send(version + ":" + m)

    async with websockets.serve(echo, "127.0.0.1", 0, process_request=health,
                                ping_interval=None) as srv:
        with open(portfile + ".tmp", "w") as f:
            f.write(str(srv.sockets[0].getsockname()[1]))
        os.rename(portfile + ".tmp", portfile)
        await asyncio.Future()

# Sends a counter every 100 ms and logs each answer; "closed CODE" at the end.
async def client(url, log, headers):
    with open(log, "a", buffering=1) as f:
        try:
            async with websockets.connect(url, extra_headers=headers, ping_interval=None,
                                          open_timeout=5, close_timeout=1) as ws:
                f.write("open\n")
                n = 0
                while True:
                    await ws.send(str(n))
                    f.write(await ws.recv() + "\n")
                    n += 1
                    await asyncio.sleep(0.1)
        except websockets.ConnectionClosed as e:
            f.write("closed %s\n" % e.code)
        except Exception as e:
            f.write("error %r\n" % e)

if sys.argv[1] == "server":
    asyncio.run(server(sys.argv[2], sys.argv[3], sys.argv[4]))
else:
    h = {sys.argv[4]: sys.argv[5]} if len(sys.argv) > 5 else {}
    asyncio.run(client(sys.argv[2], sys.argv[3], h))
PY
	rg_script wsapp.sh <<'SH'
#!/bin/sh
d=@DIR@
v=$ROLLGUARD_VERSION
echo "wsapp.sh $1 $v" >>"$d/markers"
[ "$1" = start ] || exit 0
rm -f "$d/port-$v"
setsid /usr/bin/python3 "$d/ws.py" server "$v" "$d/port-$v" "$d/sick-$v" </dev/null >"$d/ws-$v.log" 2>&1 &
echo $! >"$d/ws-$v.pid"
i=0
while [ ! -s "$d/port-$v" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
[ -s "$d/port-$v" ] || { echo "ws server $v did not start" >&2; exit 1; }
echo "backend=127.0.0.1:$(cat "$d/port-$v")" >>"$ROLLGUARD_OUTPUT"
SH
}

# cfg_ws DRAIN: prod behind the proxy (@PORT2@), releases shifted 10 → 100
# with a 1.5s pause, a P0 trigger on the canary's /health.
cfg_ws() {
	ws_files
	rg_config <<YAML
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  prod:
    timeout: 60s
    monitor: 300ms
    post_rollback_monitor: 300ms
    proxy: { listen: 127.0.0.1:@PORT2@, threads: 2, drain: $1, force_header: { name: X-Rollguard-Release, from: [127.0.0.1] } }
deploy:
  - name: app
    run: @DIR@/wsapp.sh start
    undo: @DIR@/wsapp.sh stop
  - name: canary
    traffic: { backend: app.backend, steps: [10, 100], pause: 1500ms, drain: 300ms }
checks:
  canary_health: { run: "curl -fsS -m 2 -H 'X-Rollguard-Release: canary' http://127.0.0.1:@PORT2@/health", timeout: 3s }
triggers:
  - { name: canary-health, check: canary_health, every: 200ms, failures: 2, severity: P0 }
YAML
}

stop_ws() {
	local f
	for f in "$T"/ws-client-*.pid "$T"/ws-*.pid; do
		[ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	return 0
}

# ws_open NAME [SIDE]: a client in the background, through the proxy, logging
# to $T/wslog.NAME; SIDE forces the canary or the stable side.
ws_open() {
	if [ -n "${2:-}" ]; then
		/usr/bin/python3 "$T/ws.py" client "ws://127.0.0.1:$RG_PORT2/ws" "$T/wslog.$1" \
			X-Rollguard-Release "$2" </dev/null >>"$T/ws-client.log" 2>&1 &
	else
		/usr/bin/python3 "$T/ws.py" client "ws://127.0.0.1:$RG_PORT2/ws" "$T/wslog.$1" \
			</dev/null >>"$T/ws-client.log" 2>&1 &
	fi
	echo $! >"$T/ws-client-$1.pid"
	wait_for -t 10 ws_answered "$1" 1 || fail "tunnel $1 never echoed: $(cat "$T/wslog.$1" 2>/dev/null)"
}

ws_answers() { grep -c ':[0-9]*$' "$T/wslog.$1" 2>/dev/null || echo 0; }
# Predicates for wait_for: NAME has N answers or more; NAME was closed.
ws_answered() { [ "$(ws_answers "$1")" -ge "$2" ]; }
ws_closed() { grep -q '^closed\|^error' "$T/wslog.$1" 2>/dev/null; }
# ws_alive NAME: still open and still echoing (two more answers).
ws_alive() {
	local n
	n=$(ws_answers "$1")
	wait_for -t 5 ws_answered "$1" $((n + 2)) && ! ws_closed "$1"
}

t_websocket_echo_through_the_proxy_counted_once_as_101() {
	cfg_ws 5s
	rg_start
	deploy_ok v1 prod >/dev/null
	ws_open a
	ws_alive a || fail "tunnel a stopped: $(tail -n 3 "$T/wslog.a")"
	assert_contains "$(head -n 3 "$T/wslog.a")" "v1:1"
	local j
	j=$(acurl -fsS "$RG_URL/api/v1/traffic?env=prod" | tr -d ' \n')
	# (the 2xx are the trigger's health checks through the proxy)
	assert_match "$j" '"version":"v1".*"total":\{"requests":[0-9]+,"responses":\{"1xx":1,' \
		"a tunnel of many messages is one request, counted with its 101"
	kill "$(cat "$T/ws-client-a.pid")"
	# a plain request on the same proxy still works after a tunnel
	assert_eq v1 "$(curl -s -m 2 "http://127.0.0.1:$RG_PORT2/health")"
	rg_stop
	stop_ws
}

t_websocket_canary_tunnels_survive_the_shift_old_ones_close_at_drain() {
	cfg_ws 3s
	rg_start
	deploy_ok v1 prod >/dev/null
	ws_open old stable
	local id
	id=$(deploy_start v2 prod)
	wait_for -t 20 run_has_event "$id" 'traffic 1/2' || fail "no canary share"
	ws_open canary canary
	assert_contains "$(cat "$T/wslog.canary")" "v2:"
	assert_run_ends "$id" succeeded
	# v2 took all traffic; v1 is not routed any more, but proxy.drain (3s) has not ended
	ws_alive canary || fail "the canary's tunnel was cut by the shift: $(tail -n 3 "$T/wslog.canary")"
	ws_alive old || fail "the old release's tunnel was cut before proxy.drain ended"
	wait_for -t 10 ws_closed old || fail "the old release's tunnel outlived proxy.drain"
	ws_alive canary || fail "the canary's tunnel did not survive the old one's drain"
	assert_contains "$(grep -v '^closed\|^open' "$T/wslog.old" | sort -u | cut -d: -f1 | sort -u | tr '\n' ' ')" "v1 " \
		"the old tunnel stayed on its own backend"
	assert_not_contains "$(cat "$T/wslog.old")" "v2:"
	kill -0 "$(cat "$T/ws-v1.pid")" || fail "v1's server went away: the proxy must be the one closing"
	rg_stop
	stop_ws
}

t_websocket_rollback_closes_the_canary_tunnels_when_drain_ends() {
	cfg_ws 2s
	rg_start
	deploy_ok v1 prod >/dev/null
	ws_open stable
	local id
	id=$(deploy_start v2 prod)
	wait_for -t 20 run_has_event "$id" 'traffic 1/2' || fail "no canary share"
	ws_open canary canary
	assert_contains "$(cat "$T/wslog.canary")" "v2:"
	# now the canary's /health fails: the trigger rolls it back, its tunnel open
	: >"$T/sick-v2"
	assert_run_ends "$id" rolled_back
	wait_for -t 10 ws_closed canary || fail "the rolled-back canary's tunnel outlived proxy.drain"
	assert_contains "$(tail -n 1 "$T/wslog.canary")" "closed"
	kill -0 "$(cat "$T/ws-v2.pid")" || fail "v2's server went away: the proxy must be the one closing"
	ws_alive stable || fail "the stable release's tunnel was cut by the rollback: $(tail -n 3 "$T/wslog.stable")"
	assert_not_contains "$(cat "$T/wslog.stable")" "v2:"
	rg_stop
	stop_ws
}
