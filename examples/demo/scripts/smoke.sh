#!/bin/sh
# smoke.sh — check "health": GET /health on the current backend must answer 200.
# Read-only: it never changes which release is current.
set -eu
run_dir=${DEMO_RUN_DIR:-.rollguard/demo-run/${ROLLGUARD_ENV:-production}}
if [ ! -s "$run_dir/current" ]; then
	echo "error: no current backend in '$run_dir/current'" >&2
	exit 1
fi
backend=$(cat "$run_dir/current")
code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$backend/health" || true)
echo "GET http://$backend/health -> $code"
[ "$code" = 200 ]
