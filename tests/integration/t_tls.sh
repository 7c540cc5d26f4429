# t_tls.sh — the API over HTTPS (server.tls) with a self-signed certificate
# made here, the CLI trusting it through ROLLGUARD_CACERT, and the refusal
# of a plain-HTTP API that others could reach.

# tls_cert — a self-signed certificate for 127.0.0.1 ($T/cert.pem, key
# $T/key.pem, owner-only).
tls_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$T/key.pem" -out "$T/cert.pem" -days 2 -subj "/CN=127.0.0.1" \
		-addext "subjectAltName=IP:127.0.0.1" >/dev/null 2>&1 || fail "openssl req failed"
	chmod 600 "$T/key.pem"
}

# tls_config HOST [SERVER_LINE] — one step, the API on HOST:$RG_PORT, with
# SERVER_LINE (e.g. a tls: mapping) as the last line of server:.
tls_config() {
	rg_config <<YAML
service: shop
server:
  listen: $1:@PORT@
  state: @DIR@/state
${2:-}
environments:
  staging: {}
deploy:
  - name: app
    run: ./mark app
YAML
}

t_tls_deploy_over_https() {
	tls_cert
	tls_config 127.0.0.1 "  tls: { cert: cert.pem, key: ./key.pem }"
	RG_URL="https://127.0.0.1:$RG_PORT"
	export CURL_CA_BUNDLE="$T/cert.pem" ROLLGUARD_CACERT="$T/cert.pem"   # curl(1) and the CLI
	rg_start
	assert_contains "$(cat "$T/serve.log")" "on https://127.0.0.1:$RG_PORT" "the start log says https"
	assert_contains "$(cat "$T/serve.log")" "listening on https://127.0.0.1:$RG_PORT"

	deploy_ok v1 >/dev/null
	assert_live staging v1
	assert_exit 0 rg status --env staging

	# without the certificate nobody trusts the server: curl, and the CLI
	local rc=0
	env -u CURL_CA_BUNDLE curl -sS -o /dev/null --max-time 5 "$RG_URL/health" 2>"$T/curl.err" || rc=$?
	assert_eq 60 "$rc" "curl without the CA fails verification ($(cat "$T/curl.err"))"
	ROLLGUARD_CACERT= assert_exit 1 rg status --env staging
	assert_contains "$(cat "$T/err")" "cannot trust rollguard at $RG_URL (SSL certificate problem" "the CLI says the certificate is not trusted"
	assert_contains "$(cat "$T/err")" "ROLLGUARD_CACERT=FILE"
	ROLLGUARD_CACERT="$T/missing.pem" assert_exit 1 rg status --env staging

	# plain HTTP to the TLS port gets no answer
	rc=0
	curl -sS -o /dev/null --max-time 5 "http://127.0.0.1:$RG_PORT/health" 2>/dev/null || rc=$?
	assert_ne 0 "$rc" "plain http to the TLS port must fail"
	assert_contains "$(curl -sS --max-time 5 "$RG_URL/health")" "ok" "https still answers after that"
	rg_stop
}

t_tls_files_and_exposure_refused() {
	tls_config 0.0.0.0
	assert_exit 1 "$RG_BIN" lint -c "$T/rollguard.yaml"
	assert_contains "$(cat "$T/err")" "rollguard.yaml:3:11: listen address '0.0.0.0:$RG_PORT' is not loopback"
	assert_contains "$(cat "$T/err")" "server.allow_plain_http: true"
	assert_exit 2 "$RG_BIN" serve -c "$T/rollguard.yaml"
	assert_contains "$(cat "$T/err")" "rollguard.yaml:3:11: listen address"

	tls_config 127.0.0.1 "  tls: { cert: nothere.pem, key: key.pem }"
	assert_exit 1 "$RG_BIN" lint -c "$T/rollguard.yaml"
	assert_contains "$(cat "$T/err")" "rollguard.yaml:5:16: cannot read TLS certificate '$T/nothere.pem'"
	assert_contains "$(cat "$T/err")" "rollguard.yaml:5:34: cannot read TLS key '$T/key.pem'"

	# files that exist but are no certificate: serve says so and stops
	echo "not a certificate" >"$T/nothere.pem"
	echo "not a key" >"$T/key.pem"
	chmod 600 "$T/key.pem"
	assert_exit 0 "$RG_BIN" lint -c "$T/rollguard.yaml"
	local rc=0
	(cd "$T/run" && timeout 10 "$RG_BIN" serve -c "$T/rollguard.yaml") >"$T/serve.out" 2>&1 || rc=$?
	assert_ne 0 "$rc" "serve with a bad certificate must not start"
	assert_contains "$(cat "$T/serve.out")" "cannot start"
	assert_not_contains "$(cat "$T/serve.out")" "not a key" "the key's content never reaches the log"
}
