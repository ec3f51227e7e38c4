#!/usr/bin/env bash
# gateway-http.sh - mtlskit-gateway in HTTP mode against curl and openssl
# s_client: identity headers, spoofing, unmapped/untrusted/expired/revoked/no
# certificate, two CAs at once (rotation), ECDSA and RSA server chains,
# EKU and role rules, header limits, keep-alive, metrics.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "$0")/lib/gw-fixtures.sh"

gw_pki
gw_backend b1
B1=$BACKEND_PORT
gw_conf "$T/gw.conf" "$B1" "crl $T/crl1.pem"
gw_start main "$T/gw.conf" || { not_ok "gateway starts"; done_testing; }
ok "gateway starts and writes its ready file"
URL="https://127.0.0.1:$GW_PORT"

# --- a mapped certificate: 200, identity headers, spoofed ones removed
gw_curl alice -H 'X-Client-User: root' -H 'x-client-roles: admin' -H 'X-CLIENT-CERT-SHA256: 00' "$URL/hello?x=1"
expect_eq "mapped certificate: curl succeeds" "$RC" 0
expect_eq "mapped certificate: HTTP 200" "$(http_code)" 200
expect_match "backend sees X-Client-User: alice" '^X-Client-User: alice$' "$OUT"
expect_match "backend sees the roles" '^X-Client-Roles: mid_server,itil$' "$OUT"
expect_match "backend sees the fingerprint openssl computes" "^X-Client-Cert-Sha256: $(gw_fphex "$T/alice.pem")\$" "$OUT"
want_subj=$(openssl x509 -in "$T/alice.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
expect_match "backend sees the subject (RFC 2253, as openssl prints it)" "^X-Client-Cert-Subject: $want_subj\$" "$OUT"
expect_eq "spoofed X-Client-User removed (exactly one, ours)" "$(printf '%s\n' "$OUT" | grep -ci '^x-client-user:')" 1
expect_no_match "spoofed X-Client-Roles value gone" 'admin' "$OUT"
expect_no_match "spoofed fingerprint gone" '^X-Client-Cert-Sha256: 00$' "$OUT"
expect_match "Host header forwarded" "^Host: 127.0.0.1:$GW_PORT\$" "$OUT"

# --- unmapped: 403 and the reason in the log
gw_curl carol "$URL/"
expect_eq "unmapped certificate: HTTP 403" "$(http_code)" 403
expect_match "log: unmapped rejection with the subject" '"event":"reject".*"reason":"unmapped".*carol' "$(cat "$GW_LOG")"

# --- refused handshakes: curl gets no HTTP answer; the log says why
gw_curl mallory "$URL/"
expect_eq "certificate from an unknown CA: no HTTP response" "$(http_code)" 000
expect_match "curl reports the handshake failure" '(alert|SSL|getpeername|reset)' "$ERR"
expect_match "log: unknown-ca" '"reason":"unknown-ca".*mallory' "$(cat "$GW_LOG")"
gw_curl expired "$URL/"
expect_eq "expired certificate: no HTTP response" "$(http_code)" 000
expect_match "log: expired" '"reason":"expired".*"verify_error":"certificate has expired"' "$(cat "$GW_LOG")"
gw_curl revoked "$URL/"
expect_eq "revoked certificate: no HTTP response" "$(http_code)" 000
expect_match "curl hears the revoked alert" 'revoked' "$ERR"
expect_match "log: revoked" '"reason":"revoked"' "$(cat "$GW_LOG")"
run curl -sS --max-time 10 --cacert "$T/srv/ca.pem" -w '\n%{http_code}' "$URL/"
expect_eq "no client certificate: no HTTP response" "$(http_code)" 000
expect_match "curl hears 'certificate required'" 'certificate required' "$ERR"
expect_match "log: no-certificate" '"reason":"no-certificate"' "$(cat "$GW_LOG")"
gw_curl bob "$URL/"
expect_eq "certificate of a CA not (yet) trusted: refused" "$(http_code)" 000

# --- request bodies: Content-Length and chunked uploads reach the backend
head -c 3000 /dev/urandom | base64 -w 0 >"$T/body.txt"
gw_curl alice --data-binary @"$T/body.txt" "$URL/post"
expect_eq "POST: 200" "$(http_code)" 200
expect_match "POST body echoed by the backend" "$(head -c 60 "$T/body.txt" | sed 's/[+/]/./g')" "$OUT"
gw_curl alice -H 'Transfer-Encoding: chunked' --data-binary @"$T/body.txt" "$URL/chunked"
expect_eq "chunked POST: 200" "$(http_code)" 200
expect_match "chunked body forwarded with a Content-Length" '^Content-Length: 4000$' "$OUT"
gw_curl alice -I "$URL/head"
expect_eq "HEAD: 200" "$(http_code)" 200

# --- a large response to a slow reader, twice on one connection: the
# response path writes straight to TLS when nothing is queued and must hand
# what the socket does not take to the bufferevent, in order, byte for byte
head -c 3000000 /dev/urandom >"$T/big.bin"
run curl -sS --max-time 30 --limit-rate 4M --cacert "$T/srv/ca.pem" --cert "$T/alice.pem" --key "$T/alice.key" \
	-w '%{http_code} %{num_connects}\n' --data-binary @"$T/big.bin" -o "$T/big1.out" "$URL/big1" \
	--data-binary @"$T/big.bin" -o "$T/big2.out" "$URL/big2"
expect_eq "3 MB echoed twice over one connection" "$OUT" "$(printf '200 1\n200 0')"
want=$(sha256sum <"$T/big.bin" | cut -c1-64)
expect_eq "first 3 MB response intact" "$(tail -c 3000000 "$T/big1.out" | sha256sum | cut -c1-64)" "$want"
expect_eq "second 3 MB response intact" "$(tail -c 3000000 "$T/big2.out" | sha256sum | cut -c1-64)" "$want"

# --- keep-alive: two requests, one handshake
before=$(metric mtlskit_gateway_handshakes_total)
run curl -sS --max-time 10 --cacert "$T/srv/ca.pem" --cert "$T/alice.pem" --key "$T/alice.key" \
	-w '%{http_code} %{num_connects}\n' -o /dev/null "$URL/a" -o /dev/null "$URL/b"
expect_eq "keep-alive: both requests 200 over one connection" "$OUT" "$(printf '200 1\n200 0')"
after=$(metric mtlskit_gateway_handshakes_total)
expect_eq "keep-alive: one handshake for two requests" "$((after - before))" 1

# --- limits on the request head
hdrs=()
for i in $(seq 1 120); do hdrs+=(-H "X-Pad-$i: v"); done
gw_curl alice "${hdrs[@]}" "$URL/many"
expect_eq "more than max_headers (100) headers: 431" "$(http_code)" 431
gw_curl alice -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" "$URL/big"
expect_eq "head larger than max_header_size (16k): 431" "$(http_code)" 431
run bash -c "printf 'GARBAGE\r\n\r\n' | openssl s_client -quiet -connect 127.0.0.1:$GW_PORT -CAfile $T/srv/ca.pem -cert $T/alice.pem -key $T/alice.key 2>/dev/null"
expect_match "malformed request: 400 (http-parser refuses it)" '^HTTP/1.1 400' "$OUT"

# --- strict requests (RFC 9112): ambiguous requests are refused, never relayed
# gw_raw CLIENT FORMAT: printf FORMAT as raw bytes over mTLS; OUT = what came back
gw_raw() {
	run bash -c "printf \"\$1\" | timeout 10 openssl s_client -quiet -ign_eof -connect 127.0.0.1:$GW_PORT -CAfile $T/srv/ca.pem -cert $T/$2.pem -key $T/$2.key 2>/dev/null" _ "$1"
}
smug='GET /admin/delete-everything HTTP/1.1\r\nHost: x\r\nX-Client-User: admin\r\nX-Client-Roles: admin\r\n\r\n'
gw_raw "POST /innocent HTTP/1.1\r\nHost: x\r\nX-Pad : 1\r\nContent-Length: 85\r\nConnection: close\r\n\r\n$smug" alice
expect_match "whitespace before the colon: 400" '^HTTP/1.1 400 ' "$OUT"
expect_eq "the smuggled request never reaches the backend" "$(grep -c 'delete-everything' "$T/backend-b1.log")" 0
expect_match "log: the refusal and why" '"path":"/innocent".*"reason":"whitespace in or before the colon of a field name".*"status":400' "$(cat "$GW_LOG")"
gw_raw 'GET /underscore HTTP/1.1\r\nHost: x\r\nX_Client_User: admin\r\nx-client_roles: admin\r\nX-Forwarded-For: 6.6.6.6\r\nConnection: close\r\n\r\n' alice
expect_match "X_Client_User spoof: 200" '^HTTP/1.1 200 ' "$OUT"
expect_no_match "'_' spellings of the identity headers removed" '(X_Client_User|x-client_roles|admin|6\.6\.6\.6)' "$OUT"
expect_match "X-Forwarded-For is the client's address" "X-Forwarded-For: 127.0.0.1" "$OUT"
expect_match "X-Forwarded-Proto: https" "X-Forwarded-Proto: https" "$OUT"
for req in 'GET /a HTTP/1.1\r\nHost: x\r\nA: b\r\n c\r\n\r\n' 'GET /a HTTP/1.1\r\nHost: x\r\nA: b\rc\r\n\r\n' \
	'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx' \
	'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n' \
	'POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' 'GET /a HTTP/1.1\r\nX: 1\r\n\r\n' \
	'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXY0\r\n\r\n'; do
	gw_raw "$req" alice
	expect_match "400 for $(printf '%q' "$req" | cut -c1-70)" '^HTTP/1.1 400 ' "$OUT"
done
gw_raw 'PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\nExpect: 100-continue\r\n\r\n' alice
expect_match "Expect: 100-continue over max_body: 413" '^HTTP/1.1 413 ' "$OUT"
expect_no_match "... and no 100 Continue" '100 Continue' "$OUT"
gw_raw 'GET /caf\303\251\033[2J HTTP/1.1\r\nHost: x\r\n\r\n' alice
expect_match "a target with non-ASCII and control bytes: 400" '^HTTP/1.1 400 ' "$OUT"
gw_raw 'GET /v10 HTTP/1.0\r\n\r\n' alice
expect_match "HTTP/1.0 request without Host: answered" '^HTTP/1.1 200 ' "$OUT"
expect_match "... and closed" '^Connection: close' "$OUT"
expect_no_match "... never chunked" 'Transfer-Encoding' "$OUT"
expect_eq "every log line is JSON" "$(jq -c . "$GW_LOG" >/dev/null 2>&1 && echo ok)" ok

# the admin listener: the same reader and limits
big=$(head -c 20000 /dev/zero | tr '\0' a)
run curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $big" "http://127.0.0.1:$GW_ADMIN/metrics"
expect_eq "admin: a head over max_header_size is 431" "$OUT" 431
run curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$GW_ADMIN/metrics"
expect_eq "admin: POST is 405" "$OUT" 405
run curl -s -i -d x "http://127.0.0.1:$GW_ADMIN/metrics"
expect_match "admin: a body is refused with its own status line (413)" '^HTTP/1.1 413 Content Too Large' "$OUT"
run curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$GW_ADMIN/nothing"
expect_eq "admin: unknown path is 404" "$OUT" 404
run curl -s -w '%{http_code}' "http://127.0.0.1:$GW_ADMIN/healthz" "http://127.0.0.1:$GW_ADMIN/healthz"
expect_eq "admin: /healthz twice over one connection" "$OUT" "$(printf 'ok\n200ok\n200')"

# --- openssl s_client: TLS 1.2 and 1.3, ECDSA and RSA chains in order
req=$'GET /s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
for v in tls1_2 tls1_3; do
	run bash -c "printf '%s' \"\$1\" | openssl s_client -$v -connect 127.0.0.1:$GW_PORT -CAfile $T/srv/ca.pem -cert $T/alice.pem -key $T/alice.key -ign_eof 2>&1" _ "$req"
	expect_match "s_client -$v: verify return code 0" 'Verify return code: 0 \(ok\)' "$OUT"
	expect_match "s_client -$v: HTTP 200 with the identity" 'X-Client-User: alice' "$OUT"
done
run bash -c "openssl s_client -tls1_3 -sigalgs 'rsa_pss_rsae_sha256' -showcerts -connect 127.0.0.1:$GW_PORT -CAfile $T/srv/ca.pem -cert $T/rsauser.pem -key $T/rsauser.key </dev/null 2>&1"
expect_match "RSA-only client gets the RSA leaf" '0 s:.*CN ?= ?srv-rsa\.example\.com' "$OUT"
expect_match "RSA chain sent in order: CA at depth 1" '1 s:.*CN ?= ?Test Server CA' "$OUT"
run bash -c "openssl s_client -tls1_2 -sigalgs 'ECDSA+SHA256' -showcerts -connect 127.0.0.1:$GW_PORT -CAfile $T/srv/ca.pem -cert $T/alice.pem -key $T/alice.key </dev/null 2>&1"
expect_match "ECDSA client gets the ECDSA leaf" '0 s:.*CN ?= ?srv-ec\.example\.com' "$OUT"
expect_match "ECDSA chain: CA at depth 1" '1 s:.*CN ?= ?Test Server CA' "$OUT"
expect_match "s_client lists the client CA the gateway asks for" 'Acceptable client certificate CA names' "$OUT"

# --- metrics and health
run curl -s "http://127.0.0.1:$GW_ADMIN/healthz"
expect_eq "/healthz says ok" "$OUT" ok
expect_eq "metrics: one unknown-ca rejection" "$(metric 'mtlskit_gateway_rejections_total{reason="unknown-ca"}')" 2
expect_eq "metrics: one expired rejection" "$(metric 'mtlskit_gateway_rejections_total{reason="expired"}')" 1
expect_eq "metrics: one revoked rejection" "$(metric 'mtlskit_gateway_rejections_total{reason="revoked"}')" 1
expect_eq "metrics: one unmapped rejection" "$(metric 'mtlskit_gateway_rejections_total{reason="unmapped"}')" 1
expect_eq "metrics: one no-certificate rejection" "$(metric 'mtlskit_gateway_rejections_total{reason="no-certificate"}')" 1
na=$(date -d "$(openssl x509 -in "$T/alice.pem" -noout -enddate | sed 's/notAfter=//')" +%s)
expect_eq "metrics: alice's notAfter as openssl reads it" "$(metric 'mtlskit_gateway_client_cert_not_after_seconds{user="alice",line="2"}')" "$na"
na=$(date -d "$(openssl x509 -in "$T/srv-ec.pem" -noout -enddate | sed 's/notAfter=//')" +%s)
expect_eq "metrics: the gateway's own certificate notAfter" "$(metric 'mtlskit_gateway_server_cert_not_after_seconds{subject="O=Example Corp,CN=srv-ec.example.com"}')" "$na"
expect_match "metrics: handshake latency histogram" 'mtlskit_gateway_handshake_seconds_bucket\{le="\+Inf"\} [1-9]' "$(curl -s "http://127.0.0.1:$GW_ADMIN/metrics")"
expect_match "log lines are JSON (jq parses every one)" '^[0-9]+$' "$(jq -c . "$GW_LOG" | wc -l)"

# --- rotation: old and new CA at once
gw_conf "$T/rot.conf" "$B1" "ca $T/ca2/ca.pem"
gw_start rot "$T/rot.conf"
gw_curl alice "https://127.0.0.1:$GW_PORT/"
expect_eq "rotation: client of the old CA accepted" "$(http_code)" 200
gw_curl bob "https://127.0.0.1:$GW_PORT/"
expect_eq "rotation: client of the new CA accepted" "$(http_code)" 200
expect_match "rotation: bob's identity forwarded" '^X-Client-User: bob$' "$OUT"
gw_curl mallory "https://127.0.0.1:$GW_PORT/"
expect_eq "rotation: a third CA still refused" "$(http_code)" 000

# --- EKU and role rules
gw_curl noeku "https://127.0.0.1:$GW_PORT/"
expect_eq "leaf without EKU accepted by default" "$(http_code)" 200
gw_conf "$T/eku.conf" "$B1" "require_client_auth_eku on" "require_role mid_server"
gw_start eku "$T/eku.conf"
gw_curl noeku "https://127.0.0.1:$GW_PORT/"
expect_eq "require_client_auth_eku: leaf without clientAuth refused" "$(http_code)" 000
expect_match "log: no-client-auth-eku" '"reason":"no-client-auth-eku"' "$(cat "$GW_LOG")"
gw_curl alice "https://127.0.0.1:$GW_PORT/"
expect_eq "require_role mid_server: alice (mid_server) passes" "$(http_code)" 200
gw_start role "$T/gw.conf" --require-role itil
gw_curl bob "https://127.0.0.1:$GW_PORT/" # bob's CA is not in gw.conf: use alice vs a role she lacks
gw_start role2 "$T/gw.conf" --require-role admin
gw_curl alice "https://127.0.0.1:$GW_PORT/"
expect_eq "require_role admin (as a flag): alice lacks it: 403" "$(http_code)" 403
expect_match "log: role-missing" '"reason":"role-missing"' "$(cat "$GW_LOG")"

# --- mapping by subject (RFC 2253), several certificates for one user
{ cat "$T/users.map"; echo "carol-by-dn  auditor  subject:O=Example Corp,CN=carol.example.com"; } >"$T/subj.map"
gw_start subj "$T/gw.conf" --usermap "$T/subj.map"
gw_curl carol "https://127.0.0.1:$GW_PORT/"
expect_eq "mapped by subject: 200" "$(http_code)" 200
expect_match "mapped by subject: user and roles forwarded" '^X-Client-User: carol-by-dn$' "$OUT"
expect_match "mapped by subject: roles" '^X-Client-Roles: auditor$' "$OUT"

# --- session resumption: on by default (identity kept on resumed sessions), off when asked
sc() { # PORT SESSION-ARGS
	run bash -c "printf 'GET /r HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | openssl s_client -tls1_3 -connect 127.0.0.1:$1 -CAfile $T/srv/ca.pem -cert $T/alice.pem -key $T/alice.key -ign_eof $2 2>&1"
}
sc "$GW_PORT" "-sess_out $T/sess1"
expect_match "first connection: new session" '^New, TLSv1.3' "$OUT"
sc "$GW_PORT" "-sess_in $T/sess1"
expect_match "second connection: session resumed (ticket)" '^Reused, TLSv1.3' "$OUT"
expect_match "resumed session still carries the identity" 'X-Client-User: alice' "$OUT"
# no chain verification on resumption: the leaf's digest is worked out from
# the session's certificate instead of the verify step's
expect_match "resumed session: the fingerprint openssl computes" \
	"X-Client-Cert-Sha256: $(gw_fphex "$T/alice.pem")" "$OUT"
gw_start nores "$T/gw.conf" --session-tickets off --session-cache 0
sc "$GW_PORT" "-sess_out $T/sess2"
expect_match "tickets and cache off: the request still works" 'X-Client-User: alice' "$OUT"
expect_no_file "tickets and cache off: no session ticket issued, nothing to resume" "$T/sess2"

# --- forwarded_headers off: X-Forwarded-* neither set nor removed (the
# identity headers are still the gateway's alone)
gw_start nofwd "$T/gw.conf" --forwarded-headers off
gw_curl alice -H 'X-Forwarded-For: 198.51.100.7' -H 'X_Client_User: admin' "https://127.0.0.1:$GW_PORT/nofwd"
expect_eq "forwarded_headers off: 200" "$(http_code)" 200
expect_match "forwarded_headers off: the client's X-Forwarded-For passes" '^X-Forwarded-For: 198\.51\.100\.7$' "$OUT"
expect_no_match "forwarded_headers off: no X-Forwarded-Proto added" '^X-Forwarded-Proto' "$OUT"
expect_no_match "forwarded_headers off: identity spoofing still removed" 'admin' "$OUT"

# --- command line
expect_rc 0 "--version" "$MTLSKIT_GATEWAY" --version
expect_match "--version names OpenSSL and libevent" '^mtlskit-gateway [0-9.]+ \(OpenSSL 3.*libevent 2\.1' "$OUT"
expect_rc 0 "--help" "$MTLSKIT_GATEWAY" --help
expect_match "--help mentions --ready-file and SIGHUP" 'ready-file.*' "$OUT"
expect_rc 2 "a stray argument is a usage error" "$MTLSKIT_GATEWAY" stray

# --- --check validates without starting
expect_rc 0 "--check accepts a valid configuration" "$MTLSKIT_GATEWAY" --check --config "$T/gw.conf"
printf 'listen 127.0.0.1:0\nbogus_setting 1\n' >"$T/bad.conf"
expect_rc 2 "--check: unknown setting is a usage error" "$MTLSKIT_GATEWAY" --check --config "$T/bad.conf"
expect_match "the error names file and line" 'bad.conf:2: unknown setting .bogus_setting.' "$ERR"
printf 'not-a-map-line\n' >"$T/bad.map"
expect_rc 3 "--check: malformed user map is refused" "$MTLSKIT_GATEWAY" --check --config "$T/gw.conf" --usermap "$T/bad.map"
expect_match "the map error names the line" 'bad.map:1:' "$ERR"
expect_rc 3 "--check: missing CA file is refused" "$MTLSKIT_GATEWAY" --check --config "$T/gw.conf" --ca "$T/nope.pem"
gw_finish
done_testing
