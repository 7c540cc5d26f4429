# t_figures.sh — a run's figures over time (GET /api/v1/runs/{id}/figures)
# with the real binary, the built-in proxy and demo-app releases under
# load: a canary answering 30 % errors is charted against its baseline up
# to the decision, and what was stored survives a SIGKILL of serve (then
# ?after=, a run no proxy routes, an unknown run, another environment's
# token); a run killed mid-pause keeps its samples and is sampled again
# after the restart.

# cfg_figures PAUSE — prod behind the proxy, the canary at 50 % for PAUSE,
# and a metric trigger that needs 3 s of breach, so the canary is sampled
# for a while before the decision; staging routes through a command, which
# rollguard cannot measure.
cfg_figures() {
	rg_release_app
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  prod:
    timeout: 90s
    monitor: 300ms
    post_rollback_monitor: 1s
    proxy: { listen: 127.0.0.1:@PORT2@, threads: 2 }
  staging:
    router: { command: "true" }
deploy:
  - name: app
    run: @DIR@/app.sh start
    undo: @DIR@/app.sh stop
  - name: canary
    traffic: { backend: app.backend, steps: [50, 100], pause: @PAUSE@, drain: 200ms, retire: @DIR@/app.sh retire }
triggers:
  - { name: errors, metric: error_rate, above: 5%, for: 3s, every: 200ms, window: 5s, severity: P0 }
YAML
	sed -i "s|@PAUSE@|$1|" "$T/rollguard.yaml"
}

# A light, steady load through the proxy: one curl, one connection, one
# request after another (URL globbing) at 200 a second, until load_stop.
figures_load_start() {
	curl -s --rate 200/s "http://127.0.0.1:$RG_PORT2/?n=[1-10000000]" >/dev/null 2>&1 &
	LOAD_PID=$!
	echo "$LOAD_PID" >>"$T/pids"
}

# figures_get ID — the figures JSON in $T/figures.json.
figures_get() {
	http GET "/api/v1/runs/$1/figures"
	[ "$HTTP_CODE" = 200 ] || fail "GET figures of run $1: $HTTP_CODE $(cat "$T/resp")"
	cp "$T/resp" "$T/figures.json"
}

# figures_rows FILE — one line per sample: SIDE VERSION ERROR_RATE AT_MS RPS.
figures_rows() {
	json_flat "$1" | awk -F'\t' '
		match($1, /^\.samples\[[0-9]+\]\./) {
			i = substr($1, 10, RLENGTH - 11) + 0; k = substr($1, RLENGTH + 1)
			v = $2; gsub(/"/, "", v); f[i, k] = v; if (i + 1 > n) n = i + 1
		}
		END { for (i = 0; i < n; i++) print f[i, "side"], f[i, "version"], f[i, "error_rate"], f[i, "at_ms"], f[i, "rps"] }'
}

# figures_count ID SIDE — how many samples of SIDE the run has stored.
figures_count() {
	figures_get "$1" >/dev/null
	figures_rows "$T/figures.json" | awk -v s="$2" '$1 == s { n++ } END { print n + 0 }'
}

figures_at_least() {
	[ "$(figures_count "$1" "$2")" -ge "$3" ]
}

# figures_settled ID — the run's stored samples did not change over more
# than one sampling tick: what a crash now must keep.
figures_settled() {
	local a b
	figures_get "$1"
	a=$(figures_rows "$T/figures.json" | wc -l)
	sleep 1.2
	figures_get "$1"
	b=$(figures_rows "$T/figures.json" | wc -l)
	[ "$a" = "$b" ]
}

t_figures_canary_errors_charted_against_baseline_and_kept_after_sigkill() {
	cfg_figures 20s
	rg_start
	deploy_ok v1 prod >/dev/null
	figures_load_start
	local id rows decided canary_err base_max before_n after_n
	id=$(deploy_start v2-errors prod)
	assert_run_ends "$id" rolled_back 60
	load_stop
	# the run's samples are written as soon as it ends
	wait_for -t 5 figures_at_least "$id" canary 2 || fail "no canary samples: $(cat "$T/figures.json")"
	figures_get "$id"
	assert_eq "$id" "$(json_get "$T/figures.json" .run)"
	assert_eq 1000 "$(json_get "$T/figures.json" .interval_ms)"
	decided=$(json_get "$T/figures.json" .decision_at_ms)
	assert_match "$decided" '^[0-9]+$' "decision_at_ms is set"
	rows=$(figures_rows "$T/figures.json")
	printf '%s\n' "$rows" >"$T/figures.rows"
	# the canary's errors before the decision: around 30 %
	canary_err=$(awk -v d="$decided" '$1 == "canary" && $2 == "v2-errors" && $4 <= d && $3 > m { m = $3 } END { print m + 0 }' "$T/figures.rows")
	awk -v e="$canary_err" 'BEGIN { exit !(e > 0.1) }' ||
		fail "the canary's error rate before the decision peaked at $canary_err: $rows"
	# the baseline is v1, and it answered no errors
	assert_contains "$rows" "baseline v1 "
	base_max=$(awk '$1 == "baseline" { if ($3 > m) m = $3 } END { print m + 0 }' "$T/figures.rows")
	awk -v e="$base_max" 'BEGIN { exit !(e < 0.01) }' || fail "baseline error rate $base_max: $rows"
	# both sides carried traffic
	awk '$1 == "baseline" && $5 > 0 { b = 1 } $1 == "canary" && $5 > 0 { c = 1 } END { exit !(b && c) }' \
		"$T/figures.rows" || fail "a side without traffic: $rows"
	# a crash of serve keeps every stored sample
	wait_for -t 10 figures_settled "$id" || fail "the run's samples still change after it ended"
	before_n=$(figures_rows "$T/figures.json" | wc -l)
	rg_kill9
	rg_start
	figures_get "$id"
	after_n=$(figures_rows "$T/figures.json" | wc -l)
	assert_eq "$before_n" "$after_n" "samples after SIGKILL and restart"
	assert_eq "$rows" "$(figures_rows "$T/figures.json")" "the same samples"
	assert_eq "$decided" "$(json_get "$T/figures.json" .decision_at_ms)"
	# what is new after a sample: the ones after it
	local last
	last=$(awk 'END { print $4 }' "$T/figures.rows")
	http GET "/api/v1/runs/$id/figures?after=$((last - 1))"
	assert_eq 200 "$HTTP_CODE"
	assert_eq "$(awk -v t="$last" '$4 == t { n++ } END { print n + 0 }' "$T/figures.rows")" \
		"$(figures_rows "$T/resp" | wc -l)" "the last tick's samples after ?after"
	http GET "/api/v1/runs/$id/figures?after=$last"
	assert_eq 0 "$(json_len "$T/resp" .samples)" "nothing after the last sample"
	http GET "/api/v1/runs/$id/figures?after=soon"
	assert_eq 400 "$HTTP_CODE" "a bad after"
	assert_match "$(cat "$T/resp")" '"field": *"after"'
	# a run the built-in proxy does not route has no samples
	local other
	other=$(deploy_ok v1 staging)
	figures_get "$other"
	assert_eq 0 "$(json_len "$T/figures.json" .samples)" "samples of a run behind a command router"
	# an unknown run; a token of another environment
	http GET "/api/v1/runs/9999/figures"
	assert_eq 404 "$HTTP_CODE" "figures of an unknown run"
	rg token create eve --role viewer --env staging -c "$T/rollguard.yaml" >"$T/token.out" ||
		fail "token create eve failed"
	HTTP_TOKEN=$(tail -n1 "$T/token.out") http GET "/api/v1/runs/$id/figures"
	assert_eq 403 "$HTTP_CODE" "figures of a run in an environment the token may not see"
	rg_stop
	stop_apps
}

t_figures_sigkill_mid_pause_keeps_samples_and_sampling_goes_on() {
	cfg_figures 40s
	rg_start
	deploy_ok v1 prod >/dev/null
	figures_load_start
	local id n1 n2
	id=$(deploy_start v2 prod)
	# the first batch is written 5 s after sampling starts
	wait_for -t 20 figures_at_least "$id" canary 3 || fail "no canary samples stored: $(cat "$T/figures.json")"
	n1=$(figures_count "$id" canary)
	rg_kill9
	rg_start
	# the run goes on until the kill, so a batch may land after the count
	[ "$(figures_count "$id" canary)" -ge "$n1" ] || fail "stored samples lost to SIGKILL (had $n1)"
	# the resumed run is sampled again (the next batch within about 6 s)
	wait_for -t 15 figures_at_least "$id" canary $((n1 + 3)) ||
		fail "no new samples after the restart (had $n1): $(cat "$T/figures.json")"
	n2=$(figures_count "$id" canary)
	assert_eq null "$(json_get "$T/figures.json" .decision_at_ms)" "a healthy canary, no decision"
	load_stop
	rg abort "$id" >/dev/null
	wait_run "$id" 30 >/dev/null
	[ "$(figures_count "$id" canary)" -ge "$n2" ] || fail "samples went missing after the abort"
	rg_stop
	stop_apps
}

# A trigger that decides within a second of the canary taking traffic: the
# sampler takes a reading when the canary is routed and another at the
# decision, so the chart still holds the figures the decision was made on
# (a sample in the half second before it, or just after), not only the next tick's.
t_figures_quick_decision_keeps_the_figures_it_was_made_on() {
	cfg_figures 20s
	sed -i 's/for: 3s, every: 200ms/for: 300ms, every: 100ms/' "$T/rollguard.yaml"
	grep -q 'for: 300ms' "$T/rollguard.yaml" || fail "the trigger was not shortened"
	rg_start
	deploy_ok v1 prod >/dev/null
	figures_load_start
	local id decided near
	id=$(deploy_start v2-errors prod)
	assert_run_ends "$id" rolled_back 60
	load_stop
	wait_for -t 5 figures_at_least "$id" canary 1 || fail "no canary samples: $(cat "$T/figures.json")"
	figures_get "$id"
	decided=$(json_get "$T/figures.json" .decision_at_ms)
	assert_match "$decided" '^[0-9]+$' "decision_at_ms is set"
	figures_rows "$T/figures.json" >"$T/figures.rows"
	near=$(awk -v d="$decided" '$1 == "canary" && $2 == "v2-errors" && $4 >= d - 500 && $4 <= d + 300 && $3 > 0.1 { n++ }
		END { print n + 0 }' "$T/figures.rows")
	[ "$near" -ge 1 ] || fail "no canary sample with its errors at the decision ($decided): $(cat "$T/figures.rows")"
	rg_stop
	stop_apps
}
