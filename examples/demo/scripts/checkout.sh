#!/bin/sh
# checkout.sh — the "checkout" check: the new checkout feature's health, as
# the demo fakes it: failing while $DEMO_RUN_DIR/checkout-broken exists.
# Read-only.
set -eu
dir=${DEMO_RUN_DIR:?DEMO_RUN_DIR is not set}
if [ -e "$dir/checkout-broken" ]; then
	echo "checkout: POST /checkout answered 500"
	exit 1
fi
echo "checkout: ok"
