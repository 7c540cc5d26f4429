#!/bin/sh
# stop-app.sh — undo of "app": stops the demo-app of the release being rolled
# back ($ROLLGUARD_VERSION), found by its pidfile. Idempotent; it never stops
# the previous known-good release ($ROLLGUARD_PREV_APP_PID).
set -eu
version=${ROLLGUARD_VERSION:?ROLLGUARD_VERSION is not set}
case $version in '' | *[!A-Za-z0-9._+-]*)
	echo "error: invalid version '$version'" >&2; exit 2 ;;
esac
run_dir=${DEMO_RUN_DIR:-.rollguard/demo-run/${ROLLGUARD_ENV:-production}}
pidfile=$run_dir/app-$version.pid

if [ ! -s "$pidfile" ]; then
	echo "demo-app $version is not running"
	exit 0
fi
pid=$(cat "$pidfile")
case $pid in '' | *[!0-9]*)
	echo "error: pidfile '$pidfile' holds '$pid'" >&2; exit 1 ;;
esac
if [ "$pid" = "${ROLLGUARD_PREV_APP_PID:-}" ]; then
	echo "demo-app $version (pid $pid) is the known-good release: left running"
	exit 0
fi
# Gone or a zombie (an orphan's zombie lingers until init reaps it).
alive() {
	state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $state in Z*) return 1 ;; esac
}
kill -TERM "$pid" 2>/dev/null || true
i=0
while alive "$pid"; do   # demo-app exits within milliseconds
	i=$((i + 1))
	if [ "$i" -gt 50 ]; then
		kill -KILL "$pid" 2>/dev/null || true
		break
	fi
	sleep 0.1
done
rm -f "$pidfile"
echo "demo-app $version (pid $pid) stopped"
