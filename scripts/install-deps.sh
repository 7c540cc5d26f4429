#!/usr/bin/env bash
# install-deps.sh — installs the Debian 12 packages that building, testing and
# the demo need (`make deps`; `make test` and `make demo` run it first).
# Idempotent and quiet when all is present; it never installs anything but PACKAGES.
set -euo pipefail

PACKAGES=(
	# build
	make gcc pkg-config
	libuv1-dev libmicrohttpd-dev libcurl4-openssl-dev libsqlite3-dev
	libjansson-dev libyaml-dev libsodium-dev
	# unit tests
	libcriterion-dev
	# integration tests and the demo: curl (HTTP probes), sqlite3 (inspect
	# state.db), procps (pgrep/ps), psmisc (fuser), util-linux (setsid)
	curl sqlite3 procps psmisc util-linux
	# traffic: wrk (real load in the demo and the zero-dropped-requests test),
	# haproxy (the external-router tests and the comparison in bench/proxy.sh)
	wrk haproxy
	# the Prometheus tests (tests/unit/analysis/test_prometheus.c,
	# tests/integration/t_prometheus.sh); openssl signs alerts in t_alerts.sh
	prometheus openssl
	# Alertmanager posting alerts with a bearer token (t_alertmanager.sh)
	prometheus-alertmanager
	# node runs a real OpenFeature application against the OFREP endpoints
	# (t_flags.sh, bench/flags.sh); its npm packages: node_packages below
	nodejs
	# a real SMTP server receiving the e-mail channel's messages (t_notify.sh:
	# /usr/bin/python3 -m aiosmtpd)
	python3-aiosmtpd
	# the PostgreSQL + Alembic example (examples/postgres-alembic,
	# t_postgres_alembic.sh): a real cluster (initdb, pg_ctl, pg_dump), the
	# app's driver and its migrations, for Debian's /usr/bin/python3
	postgresql python3-psycopg2 python3-alembic
	# a real WebSocket client and server on either side of the proxy's
	# tunnels (tests/integration/t_websocket.sh, run with /usr/bin/python3)
	python3-websockets
	# a real browser driving the dashboard's pages (tests/browser/*.mjs, run
	# by t_dashboard.sh through the playwright-core npm package below), and
	# a font with the ✅/❌ marks the pages put beside each state's word, so
	# the screenshots in build/screenshots/ show them
	chromium fonts-noto-color-emoji
)
# Only `make bench` (install-deps.sh bench) needs these: nginx, the second
# reference beside HAProxy in bench/proxy.sh (run from a temp-dir config,
# never as the system service).
BENCH_PACKAGES=(nginx)
if [ "${1:-}" = bench ]; then
	PACKAGES+=("${BENCH_PACKAGES[@]}")
elif [ -n "${1:-}" ]; then
	echo "usage: install-deps.sh [bench]" >&2
	exit 2
fi

# The npm packages the tests run (tests/node/package.json, pinned by its
# package-lock.json), installed into tests/node/node_modules only — never
# globally — and again only when the lock file changed since.
node_packages() {
	local dir
	dir="$(cd "$(dirname "$0")/.." && pwd)/tests/node"
	if [ -f "$dir/node_modules/.package-lock.json" ] &&
		[ ! "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
		return 0
	fi
	if ! command -v npm >/dev/null 2>&1; then
		echo "error: npm is missing (the OpenFeature client of the flag tests and the browser tests need it);" \
			"install Node.js 20 or later with npm" >&2
		return 1
	fi
	echo "installing the npm packages of tests/node"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
}

missing=()
for pkg in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
	node_packages
	exit
fi

install=(apt-get install -y --no-install-recommends "${missing[@]}")
if [ "$(id -u)" -ne 0 ]; then
	echo "error: missing packages: ${missing[*]}" >&2
	echo "run as root:" >&2
	echo "  apt-get update && DEBIAN_FRONTEND=noninteractive ${install[*]}" >&2
	exit 1
fi

echo "installing: ${missing[*]}"
# A fresh machine may have no package lists at all, so update first; if the
# mirror is unreachable the install below still works from a warm cache.
apt-get update -qq || echo "warning: apt-get update failed; trying the cached lists" >&2
DEBIAN_FRONTEND=noninteractive "${install[@]}" </dev/null
node_packages
