#!/bin/sh
# start-app.sh — deploy step "app": starts demo-app for $ROLLGUARD_VERSION beside
# the running release and publishes backend= and pid= as outputs. Idempotent (a
# rerun reuses a live process); it never stops or touches any other release.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
version=${ROLLGUARD_VERSION:?ROLLGUARD_VERSION is not set}
case $version in '' | *[!A-Za-z0-9._+-]*)
	echo "error: invalid version '$version'" >&2; exit 2 ;;
esac
run_dir=${DEMO_RUN_DIR:-.rollguard/demo-run/${ROLLGUARD_ENV:-production}}
mkdir -p "$run_dir"
run_dir=$(cd "$run_dir" && pwd)   # absolute: demo.sh finds strays by this path
app=${DEMO_APP:-$here/../../build/demo-app}
pidfile=$run_dir/app-$version.pid
log=$run_dir/app-$version.log

# The fault flags for this version: a line VERSION=FLAGS of releases.env.
flags=
while IFS= read -r line; do
	[ "${line%%=*}" = "$version" ] && flags=${line#*=}
done <"$here/releases.env"
case $flags in *[!A-Za-z0-9.\ -]*)
	echo "error: unexpected characters in releases.env flags '$flags'" >&2; exit 2 ;;
esac

backend_of() { sed -n 's/.* listening on \(127\.0\.0\.1:[0-9][0-9]*\).*/\1/p' "$log" | tail -n 1; }
answers() { [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$1/health")" != 000 ]; }

if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && answers "$(backend_of)"; then
	echo "demo-app $version is already running"
else
	rm -f "$pidfile"
	# Word splitting of $flags is wanted (it is a flag list from our own file);
	# globbing is not. setsid: its own session, so ending this step's process
	# group does not end the release, and no pipe of the step is held open.
	set -f
	# shellcheck disable=SC2086
	setsid -f "$app" --listen 127.0.0.1:0 --version "$version" --pidfile "$pidfile" \
		$flags </dev/null >"$log" 2>&1
	set +f
	i=0
	until [ -s "$pidfile" ]; do   # written once the socket listens
		i=$((i + 1))
		if [ "$i" -gt 100 ]; then
			echo "error: demo-app $version did not start; its log:" >&2
			cat "$log" >&2
			exit 1
		fi
		sleep 0.1
	done
fi
backend=$(backend_of)
pid=$(cat "$pidfile")
code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$backend/health" || true)
echo "demo-app $version (pid $pid) listens on $backend; GET /health -> $code"
printf 'backend=%s\npid=%s\n' "$backend" "$pid" >>"${ROLLGUARD_OUTPUT:-/dev/stdout}"
