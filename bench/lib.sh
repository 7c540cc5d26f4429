# bench/lib.sh — the preamble the bench scripts share; sourced, not run:
#   . "$(dirname "$0")/lib.sh"
# Sets root (the repository), rg (the release binary, or $RG_BIN) and app
# (build/demo-app), and gives:
#   bench_need BIN...          exit 2 unless each is executable ("make" first)
#   bench_need_cmd CMD WHY     exit 2 unless CMD is on PATH
#   bench_tmpdir PREFIX        make the temp dir (in $dir) and the EXIT trap
#                              that runs bench_cleanup (the script's own,
#                              optional) and then removes $dir
#   bench_free_port            a free TCP port on 127.0.0.1
#   bench_wait_health URL [N]  poll URL/health N times (50) every 0.1 s
#   bench_pct P                the P-th percentile (nearest rank) of stdin's numbers
#   bench_stats                "min / median / max (n=N)" of stdin's numbers
#   bench_cpu_ticks PID        utime + stime of PID in clock ticks
#   bench_rss_kb PID           VmRSS of PID in kB
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rg=${RG_BIN:-$root/build/rollguard}
app=$root/build/demo-app

bench_need() {
	local bin
	for bin in "$@"; do
		[ -x "$bin" ] || { echo "bench: build first: make" >&2; exit 2; }
	done
}

bench_need_cmd() {
	command -v "$1" >/dev/null || { echo "bench: needs $1 ($2)" >&2; exit 2; }
}

bench_exit() {
	if declare -F bench_cleanup >/dev/null; then bench_cleanup || true; fi
	if [ -n "${dir:-}" ] && [ -z "${KEEP:-}" ]; then rm -rf "$dir"; fi
}

bench_tmpdir() {
	dir=$(mktemp -d "/tmp/$1.XXXXXX")
	trap bench_exit EXIT
}

bench_free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 30000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	echo "bench: no free port" >&2; exit 1
}

bench_wait_health() {
	for _ in $(seq "${2:-50}"); do
		curl -fs "$1/health" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

bench_pct() {
	sort -n | awk -v p="$1" '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
		i = int((p * NR + 99) / 100); if (i < 1) i = 1; print v[i] }'
}

bench_stats() {
	sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
		printf "%s / %s / %s (n=%d)", v[1], v[int((NR + 1) / 2)], v[NR], NR }'
}

bench_cpu_ticks() {
	# Fields 14 and 15 of /proc/PID/stat, counted after the ")" that ends
	# the command name (which may hold spaces).
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

bench_rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}
