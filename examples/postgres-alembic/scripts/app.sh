#!/bin/sh
# app.sh start|stop|stop-all — one app process per release, its backend
# published as backend=127.0.0.1:PORT; pid and address under run/.
d=$(cd "$(dirname "$0")/.." && pwd -P)
mkdir -p "$d/run"
v=$ROLLGUARD_VERSION
pidf="$d/run/app-$v.pid"
addr="$d/run/app-$v.addr"
# SIGTERM, and wait (at most 5 s) until it is gone.
stop_pid() {
	kill "$1" 2>/dev/null || return 0
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
}

case $1 in
start)
	if [ -s "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null && [ -s "$addr" ]; then
		echo "backend=$(cat "$addr")" >>"$ROLLGUARD_OUTPUT"
		exit 0
	fi
	rm -f "$addr"
	setsid /usr/bin/python3 "$d/app.py" "$addr" </dev/null >>"$d/run/app-$v.log" 2>&1 &
	echo $! >"$pidf"
	i=0
	while [ ! -s "$addr" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	[ -s "$addr" ] || { echo "app $v did not start" >&2; exit 1; }
	echo "backend=$(cat "$addr")" >>"$ROLLGUARD_OUTPUT"
	;;
stop)
	[ -s "$pidf" ] && stop_pid "$(cat "$pidf")"
	rm -f "$pidf" "$addr"
	;;
stop-all)
	for p in "$d"/run/app-*.pid; do [ -s "$p" ] && stop_pid "$(cat "$p")"; rm -f "$p"; done
	rm -f "$d"/run/app-*.addr
	;;
esac
exit 0
