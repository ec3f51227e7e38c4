#!/usr/bin/env bash
# probe-servicenow.sh - --servicenow readiness against a local HTTPS stand-in
# for the instance's ADCv2 endpoints (tests/interop/lib/snow_adc.py).
# SSL_CERT_FILE makes the test CA this system's "public" trust store, as
# OpenSSL's default verify paths honour it.
source "$MTLSKIT_TESTLIB"
source "$MTLSKIT_SRC/tests/interop/lib/probe-fixtures.sh"

mkca pub "/CN=Test Public Root/O=Public CA Inc"
mkleaf inst "/CN=localhost" pub server

start_adc() { # PORT SERVER SUPPORTS
	"$PY" "$LIBDIR/snow_adc.py" "$1" "$T/inst.crt" "$T/inst.key" "$2" "$3" >"$T/adc.$1.log" 2>&1 </dev/null &
	TAP_PIDS="${TAP_PIDS:-} $!"
	wait_port "$1" || diag "snow_adc.py did not start: $(cat "$T/adc.$1.log")"
}
READY=$(free_port)
start_adc "$READY" snow_adc true
MIXED=$(free_port)
start_adc "$MIXED" snow_adc mixed
NOADC=$(free_port)
start_adc "$NOADC" - true
NOTLS=$(free_port)
start_adc "$NOTLS" snow_adc false

run env SSL_CERT_FILE="$T/pub.crt" "$MTLSKIT" --json probe "localhost:$READY" --servicenow
expect_eq "ready instance: exit 0" "$RC" 0
expect_json "ADCv2 seen" '.servicenow.adcv2' true
expect_json "Server header" '.servicenow.server' snow_adc
expect_json "supports_tls true" '.servicenow.supports_tls' true
expect_json "public chain" '.servicenow.public_chain' true
expect_json "ready" '.servicenow.ready' true
expect_json "no findings" '.findings | length' 0

run env SSL_CERT_FILE="$T/pub.crt" "$MTLSKIT" --json probe "localhost:$MIXED" --servicenow
expect_json "supports_tls mixed is ready too" '.servicenow.ready' true

run env SSL_CERT_FILE="$T/pub.crt" "$MTLSKIT" --json probe "localhost:$NOADC" --servicenow
expect_eq "no snow_adc: exit 1" "$RC" 1
expect_eq "instance-not-ready" "$(finding_ids)" instance-not-ready
expect_json "one finding, about ADCv2" '[.findings[] | select(.message | test("snow_adc"))] | length' 1
expect_json "the Server header seen" '.servicenow.server' nginx
expect_match "advice names ADCv2" 'ADCv2' "$(printf '%s' "$OUT" | jq -r '.findings[0].advice')"

run env SSL_CERT_FILE="$T/pub.crt" "$MTLSKIT" --json probe "localhost:$NOTLS" --servicenow
expect_eq "supports_tls false: exit 1" "$RC" 1
expect_json "supports_tls value reported" '.servicenow.supports_tls' false
expect_json "one finding, about supports_tls" '[.findings[] | select(.id=="instance-not-ready") | select(.message | test("supports_tls"))] | length' 1

# Without the test CA in the trust store the chain is not "public".
run env SSL_CERT_FILE=/nonexistent "$MTLSKIT" --json probe "localhost:$READY" --servicenow
expect_eq "private chain: exit 1" "$RC" 1
expect_json "public chain false" '.servicenow.public_chain' false
expect_json "its finding" '[.findings[] | select(.message | test("public CAs"))] | length' 1
run env SSL_CERT_FILE="$T/pub.crt" "$MTLSKIT" probe "localhost:$NOADC" --servicenow
expect_match "text summary" 'ServiceNow: ADCv2 NO' "$OUT"

# --http on its own: status line and selected headers.
run env SSL_CERT_FILE="$T/pub.crt" "$MTLSKIT" --json probe "localhost:$READY" --http /adcv2/supports_tls --method GET
expect_json "GET status" '.http.status' 200
expect_json "Server header shown" '.http.headers.Server' snow_adc
expect_json "status line" '.http.status_line' "HTTP/1.1 200 OK"
run env SSL_CERT_FILE="$T/pub.crt" "$MTLSKIT" --json probe "localhost:$READY" --http /missing
expect_json "HEAD of a missing path" '.http.status' 404
# ---- servers that ignore HEAD: the HTTP stage's own limit, GET fallback ----
start_adc_x() { # PORT SERVER SUPPORTS HEAD [PATH]
	local port=$1
	shift
	"$PY" "$LIBDIR/snow_adc.py" "$port" "$T/inst.crt" "$T/inst.key" "$@" >"$T/adc.$port.log" 2>&1 </dev/null &
	TAP_PIDS="${TAP_PIDS:-} $!"
	wait_port "$port" || diag "snow_adc.py did not start: $(cat "$T/adc.$port.log")"
}
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
below() { awk -v e="$1" -v l="$2" 'BEGIN { print (e < l) ? "yes" : "no" }'; }
IGN=$(free_port)
start_adc_x "$IGN" snow_adc true ignore
M405=$(free_port)
start_adc_x "$M405" snow_adc true 405
OLD=$(free_port)
start_adc_x "$OLD" snow_adc true answer /adc/supports_tls

t0=$(now)
run env SSL_CERT_FILE="$T/pub.crt" "$MTLSKIT" --json probe "localhost:$IGN" --http / --http-timeout 2s
el=$(took "$t0")
expect_eq "HEAD ignored: exit 0 (answered by GET)" "$RC" 0
expect_json "HEAD ignored: the request that answered was GET /" '.http.request' "GET /"
expect_json "HEAD ignored: status 200" '.http.status' 200
expect_json "HEAD ignored: the chain is reported" '.chain | length' 1
expect_eq "HEAD ignored: within the 2 s HTTP limit + 3 s (took ${el}s), not the 30 s probe limit" "$(below "$el" 5)" yes

t0=$(now)
run env SSL_CERT_FILE="$T/pub.crt" "$MTLSKIT" --json probe "localhost:$IGN" --http / --method HEAD --http-timeout 2s
el=$(took "$t0")
expect_eq "--method HEAD to a server that ignores it: exit 5" "$RC" 5
expect_json "... the HTTP timeout is the error" '.error.code' MTK_E_TIMEOUT
expect_json "... stage http" '.stage' http
expect_json "... and the TLS result is still there: the chain" '.chain | length' 1
expect_json "... the protocol" '.tls.protocol | test("^TLSv1")' true
expect_json "... the verification" '.verification.verified' true
expect_json "... the HTTP failure, with the request" '.http | [.request, (.error | test("within 2000 ms"))] | tostring' '["HEAD /",true]'
expect_eq "... after the 2 s HTTP limit (took ${el}s)" "$(below "$el" 4)" yes
run env SSL_CERT_FILE="$T/pub.crt" "$MTLSKIT" probe "localhost:$IGN" --http / --method HEAD --http-timeout 1s
expect_match "text: the chain is printed before the HTTP error" 'CN=localhost' "$OUT"
expect_match "text: the HTTP line says what failed" 'HTTP: .*HEAD / -> .*within 1000 ms' "$OUT"

t0=$(now)
run env SSL_CERT_FILE="$T/pub.crt" "$MTLSKIT" --json probe "localhost:$IGN" --servicenow
el=$(took "$t0")
expect_eq "--servicenow, HEAD ignored: exit 0" "$RC" 0
expect_json "... ADCv2 seen through GET /" '.servicenow | [.adcv2, .server_request] | tostring' '[true,"GET"]'
expect_json "... ready" '.servicenow.ready' true
expect_eq "... within the default 5 s HTTP limit + 4 s (took ${el}s)" "$(below "$el" 9)" yes

run env SSL_CERT_FILE="$T/pub.crt" "$MTLSKIT" --json probe "localhost:$M405" --http /
expect_json "HEAD answered 405: sent again as GET" '.http | [.request, .status] | tostring' '["GET /",200]'

run env SSL_CERT_FILE="$T/pub.crt" "$MTLSKIT" --json probe "localhost:$OLD" --servicenow
expect_eq "supports_tls only at /adc/supports_tls: exit 0" "$RC" 0
expect_json "... found there" '.servicenow | [.supports_tls_path, .supports_tls, .ready] | tostring' '["/adc/supports_tls","true",true]'
run env SSL_CERT_FILE="$T/pub.crt" "$MTLSKIT" --json probe "localhost:$READY" --servicenow
expect_json "the articles' /adcv2/supports_tls is asked first" '.servicenow.supports_tls_path' /adcv2/supports_tls
done_testing
