#!/bin/sh
# switch.sh — deploy step "switch": points $DEMO_RUN_DIR/current at the new
# release's backend; `switch.sh back` (its undo) points it at the previous
# known-good release's. The file is replaced atomically, never half-written.
set -eu
run_dir=${DEMO_RUN_DIR:-.rollguard/demo-run/${ROLLGUARD_ENV:-production}}
mkdir -p "$run_dir"
if [ "${1:-}" = back ]; then
	backend=${ROLLGUARD_PREV_APP_BACKEND:-}
	if [ -z "$backend" ]; then
		rm -f "$run_dir/current"
		echo "no previous release: current backend cleared"
		exit 0
	fi
else
	backend=${ROLLGUARD_OUT_APP_BACKEND:?the app step published no backend}
fi
case $backend in 127.0.0.1:[0-9]*) ;; *)
	echo "error: unexpected backend '$backend'" >&2; exit 2 ;;
esac
printf '%s\n' "$backend" >"$run_dir/current.tmp"
mv -f "$run_dir/current.tmp" "$run_dir/current"
echo "current backend -> $backend"
