# t_prometheus.sh — query triggers against a real Prometheus server
# (Debian's package) scraping a real demo-app: a query above its threshold
# rolls the deploy back, one below lets it succeed, and a query Prometheus
# rejects is no data (which fires only with on_no_data: fire).

# prom_start — a demo-app on 127.0.0.1:$APP_PORT (50 % errors) and a
# Prometheus on 127.0.0.1:$PROM_PORT scraping it every second.
prom_start() {
	command -v prometheus >/dev/null || fail "prometheus is not installed (scripts/install-deps.sh installs it)"
	[ -x "${DEMO_APP:-}" ] || fail "demo-app is not built (make build/demo-app)"
	APP_PORT=$(rg_free_port) || fail "no free port"
	PROM_PORT=$(rg_free_port) || fail "no free port"
	(cd "$T" && exec "$DEMO_APP" --listen "127.0.0.1:$APP_PORT" --version svc --error-rate 0.5 --seed 5 \
		--pidfile "$T/svc.pid") >"$T/svc.log" 2>&1 &
	echo $! >>"$T/pids"
	cat >"$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: svc
    static_configs:
      - targets: ['127.0.0.1:$APP_PORT']
EOF
	(cd "$T" && exec prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom-data" \
		--web.listen-address="127.0.0.1:$PROM_PORT") >"$T/prometheus.log" 2>&1 &
	echo $! >"$T/prom.pid"
	echo $! >>"$T/pids"
	wait_for -t 20 curl -fs "http://127.0.0.1:$PROM_PORT/-/ready" || fail "prometheus did not become ready"
	wait_for -t 5 port_in_use "$APP_PORT" || fail "demo-app did not start"
	local i
	for i in $(seq 1 60); do curl -s -o /dev/null "http://127.0.0.1:$APP_PORT/"; done
	# until Prometheus has scraped the 500s
	wait_for -t 20 prom_has_errors || fail "prometheus never scraped the demo-app's 500s"
}

prom_has_errors() {
	curl -fs "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode 'query=sum(demo_requests_total{code="500"})' |
		grep -q '"result":\[{'
}

prom_stop() {
	[ -s "$T/prom.pid" ] && kill "$(cat "$T/prom.pid")" 2>/dev/null
	[ -s "$T/svc.pid" ] && kill "$(cat "$T/svc.pid")" 2>/dev/null
	wait_for -t 10 no_procs_left_but_serve_and_cli || true
}

no_procs_left_but_serve_and_cli() {
	! kill -0 "$(cat "$T/prom.pid" 2>/dev/null)" 2>/dev/null
}

# cfg_prom QUERY ABOVE [EXTRA_TRIGGER_KEYS]
cfg_prom() {
	rg_config <<YAML
service: shop
server:
  listen: 127.0.0.1:@PORT@
  state: @DIR@/state
environments:
  prod:
    timeout: 30s
    monitor: 3s
    post_rollback_monitor: 200ms
deploy:
  - name: app
    run: @DIR@/mark app
    undo: @DIR@/mark undo.app
metrics:
  prometheus: http://127.0.0.1:$PROM_PORT
triggers:
  - { name: errors, query: '$1', above: $2, every: 250ms, severity: P1${3:-} }
YAML
}

t_prometheus_query_decides_a_deploy() {
	prom_start
	# below: healthy → the deploy succeeds
	cfg_prom 'sum(demo_requests_total{code="500"})' 100000
	rg_start
	deploy_ok v1 prod >/dev/null
	rg_stop
	# above: the same signal now over its threshold → rolled back to v1
	cfg_prom 'sum(demo_requests_total{code="500"})' 5
	rg_start
	local id j
	assert_exit 1 rg deploy v2 --env prod --wait
	id=$(latest_run prod)
	assert_run_ends "$id" rolled_back
	j=$(rg show "$id" --json | tr -d '\n')
	assert_contains "$j" "trigger 'errors' fired (P1): query is"
	assert_match "$j" '"observed": *"query [0-9.]+ \(Prometheus'
	assert_match "$j" '"window": *"monitor"'
	assert_contains "$(markers | tr '\n' ' ')" "undo.app"
	rg_stop
	prom_stop
}

t_prometheus_query_error_is_no_data() {
	prom_start
	# a query Prometheus rejects: ignored by default …
	cfg_prom 'sum(demo_requests_total{' 0
	rg_start
	deploy_ok v1 prod >/dev/null
	rg_stop
	# … and a rollback with on_no_data: fire, naming Prometheus' answer
	cfg_prom 'sum(demo_requests_total{' 0 ', on_no_data: fire'
	rg_start
	local id j
	assert_exit 1 rg deploy v2 --env prod --wait
	id=$(latest_run prod)
	assert_run_ends "$id" rolled_back
	j=$(rg show "$id" --json | tr -d '\n')
	assert_contains "$j" "no data"
	assert_contains "$j" "HTTP 400"
	rg_stop
	prom_stop
}
