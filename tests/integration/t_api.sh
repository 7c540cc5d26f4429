# t_api.sh — the HTTP API directly: deploy and read back, Server-Sent
# Events, /health, /metrics, run controls.

cfg_api() {
	rg_config <<'YAML'
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  staging:
    monitor: 300ms
    post_rollback_monitor: 200ms
deploy:
  - name: a
    run: @DIR@/mark a sleep 1
    undo: @DIR@/mark undo.a
  - name: b
    run: @DIR@/mark b failif v2
YAML
}

t_api_deploy_and_read() {
	cfg_api
	rg_start
	local id
	http POST /api/v1/deploys '{"env":"staging","version":"v1"}'
	assert_eq 201 "$HTTP_CODE" "POST /api/v1/deploys"
	id=$(json_get "$T/resp" .id 2>/dev/null || json_get "$T/resp" .run.id) ||
		fail "the 201 body names the run: $(cat "$T/resp")"
	assert_eq "$id" "$(latest_run)"
	http GET "/api/v1/runs/$id"
	assert_eq 200 "$HTTP_CODE"
	assert_eq v1 "$(json_get "$T/resp" .version)"
	assert_run_ends "$id" succeeded
	http GET /api/v1/status?env=staging
	assert_eq 200 "$HTTP_CODE"
	assert_eq v1 "$(json_get "$T/resp" .live.version)"
	assert_eq false "$(json_get "$T/resp" .production)" "staging is not marked production"
	http GET '/api/v1/runs?env=staging&limit=5'
	assert_eq 200 "$HTTP_CODE"
	grep -q "\"v1\"" "$T/resp" || fail "runs list: $(cat "$T/resp")"
	# JSON content type on answers and errors
	local ct
	ct=$(acurl -s -o /dev/null -w '%{content_type}' "$RG_URL/api/v1/runs/$id")
	assert_contains "$ct" application/json
	ct=$(acurl -s -o /dev/null -w '%{content_type}' "$RG_URL/api/v1/runs/999999")
	assert_contains "$ct" application/json
	# the API rollback
	http POST /api/v1/deploys '{"env":"staging","version":"v3"}'
	assert_eq 201 "$HTTP_CODE"
	assert_run_ends "$(latest_run)" succeeded
	http POST /api/v1/rollbacks '{"env":"staging","reason":"api test"}'
	assert_eq 201 "$HTTP_CODE" "POST /api/v1/rollbacks"
	assert_run_ends "$(latest_run)" succeeded
	assert_live staging v1
}

t_api_sse_stream() {
	cfg_api
	rg_start
	local id rc=0
	id=$(deploy_start v1)
	acurl -sN --max-time 20 -H 'Accept: text/event-stream' "$RG_URL/api/v1/runs/$id/events" >"$T/sse" || rc=$?
	assert_eq 0 "$rc" "the stream ends by itself when the run ends (curl exit)"
	grep -q '^data:' "$T/sse" || fail "no data lines: $(head -c 2000 "$T/sse")"
	assert_eq "event: end" "$(grep '^event:' "$T/sse" | tail -n 1)" "the stream ends with event: end"
	assert_eq succeeded "$(run_state "$id")"
	# every step shows up in the stream
	grep -q 'succeeded' "$T/sse" || fail "the final state is in the stream"

	# a finished run: its events, then end, at once
	rc=0
	acurl -sN --max-time 5 -H 'Accept: text/event-stream' "$RG_URL/api/v1/runs/$id/events" >"$T/sse2" || rc=$?
	assert_eq 0 "$rc" "stream of a finished run ends at once"
	assert_eq "event: end" "$(grep '^event:' "$T/sse2" | tail -n 1)"
	[ "$(grep -c '^data:' "$T/sse2")" -ge 2 ] || fail "a finished run's stream replays its events"

	# a rollback streams to its end too
	id=$(deploy_start v2)
	rc=0
	acurl -sN --max-time 20 -H 'Accept: text/event-stream' "$RG_URL/api/v1/runs/$id/events" >"$T/sse3" || rc=$?
	assert_eq 0 "$rc"
	assert_eq "event: end" "$(grep '^event:' "$T/sse3" | tail -n 1)"
	assert_eq rolled_back "$(run_state "$id")"

	# unknown run
	http GET /api/v1/runs/999999/events
	assert_eq 404 "$HTTP_CODE"
}

t_api_sse_many_clients() {
	cfg_api
	rg_start
	local id i pids=()
	id=$(deploy_start v1)
	for i in 1 2 3 4 5 6; do
		acurl -sN --max-time 20 -H 'Accept: text/event-stream' "$RG_URL/api/v1/runs/$id/events" >"$T/sse.$i" &
		pids+=($!)
	done
	# a client that goes away early must not hurt the server
	acurl -sN --max-time 0.3 -H 'Accept: text/event-stream' "$RG_URL/api/v1/runs/$id/events" >/dev/null
	wait_for -t 20 sh -c "[ \$(grep -l '^event: end' '$T'/sse.* 2>/dev/null | wc -l) = 6 ]" ||
		fail "not every SSE client saw event: end"
	wait "${pids[@]}"
	assert_run_ends "$id" succeeded
	curl -fsS -o /dev/null "$RG_URL/health" || fail "serve no longer answers"
}

t_api_health_and_metrics() {
	cfg_api
	rg_start
	http GET /health
	assert_eq 200 "$HTTP_CODE"
	deploy_ok v1 >/dev/null
	assert_exit 1 rg deploy v2 --env staging --wait
	assert_run_ends "$(latest_run)" rolled_back
	local ct m
	ct=$(acurl -s -o "$T/metrics" -w '%{content_type}' "$RG_URL/metrics")
	assert_contains "$ct" text/plain "Prometheus text format"
	m=$(cat "$T/metrics")
	assert_match "$m" '^rollguard_runs' "metrics has rollguard_runs"
	assert_match "$m" '^rollguard_rollbacks_total(\{[^}]*\})? [1-9]' "metrics counts the rollback"
	assert_match "$m" '^# TYPE rollguard_rollbacks_total counter' "typed as a counter"
	# every sample line is NAME{labels} VALUE
	grep -v '^#' "$T/metrics" | grep -v '^$' | grep -Ev '^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eE]+(Inf|NaN)?( [0-9]+)?$' &&
		fail "malformed metric lines above"
	true
}

t_api_run_controls() {
	cfg_api
	rg_start
	local id
	id=$(deploy_start v1)
	http POST "/api/v1/runs/$id/bogus" '{}'
	assert_match "$HTTP_CODE" '^40[04]$' "unknown control"
	http POST /api/v1/runs/999999/abort '{}'
	assert_eq 404 "$HTTP_CODE"
	assert_run_ends "$id" succeeded
	http POST "/api/v1/runs/$id/abort" '{}'
	assert_eq 409 "$HTTP_CODE" "abort of a finished run"
	assert_exit 4 rg abort "$id"
}
