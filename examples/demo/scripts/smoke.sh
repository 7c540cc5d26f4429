#!/bin/sh
# smoke.sh [canary] — checks "health" and "canary-health": GET /health through
# the environment's rollguard proxy must answer 200. With "canary" the request
# is pinned to the canary side (X-Rollguard-Release); with no canary running
# the proxy answers from the stable side. Read-only.
set -eu
side=${1:-stable}
case $side in stable | canary) ;; *) echo "usage: smoke.sh [canary]" >&2; exit 2 ;; esac
proxy=${DEMO_PROXY:?DEMO_PROXY is not set}
code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' -H "X-Rollguard-Release: $side" \
	"http://$proxy/health" || true)
echo "GET http://$proxy/health ($side side) -> $code"
[ "$code" = 200 ]
