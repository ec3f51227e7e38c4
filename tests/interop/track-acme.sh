#!/usr/bin/env bash
# track-acme.sh - the acme issuer against pebble (Let's Encrypt's test ACME
# server) on loopback: account creation, order, http-01 answered by the
# built-in responder, finalize, download; a renewal of the ACME certificate
# (the account exists by then); pebble stopped mid-run -> the failure is
# reported (exit 5), nothing changed, and the next run succeeds; External
# Account Binding against a pebble that requires it.
# pebble-challtestsrv is the DNS server pebble asks: every name is 127.0.0.1.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
cd "$T" || exit 1
if ! command -v pebble >/dev/null || ! command -v pebble-challtestsrv >/dev/null; then
	echo "1..0 # SKIP pebble not installed (Debian package pebble)"
	exit 0
fi

# pebble's own HTTPS certificate, from an mtlskit CA; libcurl trusts that CA
"$MTLSKIT" ca init pca --name "Pebble TLS Root" --key-type ec:P-256 >/dev/null
"$MTLSKIT" csr create --cn acme.example.test --country US --usage server --san DNS:acme.example.test,DNS:localhost,IP:127.0.0.1 \
	--new-key ec:P-256 --key-out pebble.key -o pebble.csr >/dev/null
"$MTLSKIT" ca sign pca pebble.csr --profile server -o pebble.crt >/dev/null

DNS_PORT=$(free_port) CTS_MGMT=$(free_port) ACME_PORT=$(free_port) ACME_MGMT=$(free_port)
HTTP01_PORT=$(free_port) TLS01_PORT=$(free_port)
pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" -dns01 "127.0.0.1:$DNS_PORT" \
	-http01 "" -https01 "" -tlsalpn01 "" -management "127.0.0.1:$CTS_MGMT" \
	>cts.log 2>&1 &
TAP_PIDS="${TAP_PIDS:-} $!"
pebble_conf() { # FILE EAB(true|false)
	cat >"$1" <<JSON
{ "pebble": {
    "listenAddress": "127.0.0.1:$ACME_PORT",
    "managementListenAddress": "127.0.0.1:$ACME_MGMT",
    "certificate": "$T/pebble.crt",
    "privateKey": "$T/pebble.key",
    "httpPort": $HTTP01_PORT,
    "tlsPort": $TLS01_PORT,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": $2,
    "externalAccountMACKeys": { "kid-1": "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W" }
} }
JSON
}
pebble_start() { # CONF
	PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 \
		pebble -config "$1" -dnsserver "127.0.0.1:$DNS_PORT" >>pebble.log 2>&1 &
	PEBBLE_PID=$!
	TAP_PIDS="${TAP_PIDS:-} $PEBBLE_PID"
	wait_port "$ACME_PORT" && wait_port "$ACME_MGMT" || return 1
	# pebble makes a new root at every start: the chain of what it issues ends there
	curl -sS --cacert pca/root.crt "https://127.0.0.1:$ACME_MGMT/roots/0" >roots.pem
}
pebble_conf pebble.json false
wait_port "$DNS_PORT" 2>/dev/null
pebble_start pebble.json || { not_ok "pebble starts"; diag "$(cat pebble.log)"; done_testing; }
ok "pebble and its DNS server start on loopback"

# the certificate to renew: app.example.test, from a local CA for now
"$MTLSKIT" ca init lca --name "Local Root" --key-type ec:P-256 >/dev/null
"$MTLSKIT" csr create --cn app.example.test --country US --usage server --san DNS:app.example.test \
	--new-key ec:P-256 --key-out app.key -o app.csr >/dev/null
"$MTLSKIT" ca sign lca app.csr --profile server -o app.crt >/dev/null
mkdir d
export MTLSKIT_TRACK_DIR=$T/d
mtk track add app --target pem --cert "$T/app.crt" --key "$T/app.key" --usage server \
	--issuer acme --acme-directory "https://127.0.0.1:$ACME_PORT/dir" --acme-ca "$T/pca/root.crt" \
	--acme-account-key "$T/account.key" --acme-http-listen "127.0.0.1:$HTTP01_PORT" \
	--chain-ca "$T/roots.pem"
expect_eq "track add an acme target" "$RC" 0

mtk --json track run --force-renew
expect_eq "ACME: exit 0" "$RC" 0
expect_json "ACME: renewed" '.certificates[0].outcome' renewed
[ "$RC" = 0 ] || diag "$(tail -20 pebble.log)"
expect_mode "the account key was created 0600" account.key 600
expect_match "pebble created the account" 'There are now 1 accounts' "$(cat pebble.log)"
expect_match "pebble validated the http-01 challenge" 'authz .* set VALID by completed challenge|Validated' "$(cat pebble.log)"
run openssl x509 -in app.crt -noout -issuer -ext subjectAltName
expect_match "openssl: issued by pebble" 'Pebble Intermediate CA' "$OUT"
expect_match "openssl: the old certificate's name" 'DNS:app.example.test' "$OUT"
expect_rc 0 "openssl verifies the chain against pebble's root" \
	openssl verify -CAfile roots.pem -untrusted app.crt app.crt
expect_eq "key matches" "$(openssl pkey -in app.key -pubout)" "$(openssl x509 -in app.crt -noout -pubkey)"

# renewal of the ACME certificate (existing account)
s1=$(openssl x509 -in app.crt -noout -serial)
mtk --json track run --force-renew
expect_json "ACME renewal: renewed" '.certificates[0].outcome' renewed
expect_no_match "ACME renewal: a new serial" "^$s1\$" "$(openssl x509 -in app.crt -noout -serial)"
expect_match "the same account (no second one)" 'There are now 1 accounts' "$(tail -50 pebble.log)"
expect_no_match "no second account" 'There are now 2 accounts' "$(cat pebble.log)"

# pebble stopped: reported, nothing changed, the next run succeeds
cp app.crt before.crt; cp app.key before.key
kill "$PEBBLE_PID"; wait "$PEBBLE_PID" 2>/dev/null
mtk --json track run --force-renew
expect_eq "pebble down: exit 5" "$RC" 5
expect_match "pebble down: the reason" 'could not be reached|ACME server' "$(printf '%s' "$OUT" | jq -r '.certificates[0].message')"
expect_rc 0 "pebble down: certificate unchanged" cmp app.crt before.crt
expect_rc 0 "pebble down: key unchanged" cmp app.key before.key
expect_match "pebble down: last_error recorded" '^last_error ' "$(cat d/app.state)"
pebble_start pebble.json || not_ok "pebble restarts"
mtk --json track run --force-renew
expect_json "pebble back: the next run renews" '.certificates[0].outcome' renewed
expect_rc 0 "pebble back: verifies against the new root" openssl verify -CAfile roots.pem -untrusted app.crt app.crt
expect_no_match "last_error cleared" 'last_error' "$(cat d/app.state)"

# webroot: the challenge file is served by another web server (Python's here)
mkdir -p webroot/.well-known/acme-challenge
"$(command -v /usr/bin/python3 || command -v python3)" -m http.server --bind 127.0.0.1 \
	--directory "$T/webroot" "$HTTP01_PORT" >web.log 2>&1 &
TAP_PIDS="${TAP_PIDS:-} $!"
wait_port "$HTTP01_PORT"
sed -i "s|^acme_http_listen .*|acme_webroot $T/webroot|" d/app.conf
# A new account: pebble may hand an account its still-valid authorization
# again (PEBBLE_AUTHZREUSE=0 still did, once in a long while), and then
# nothing is fetched from the webroot at all.
rm -f account.key
mtk --json track run --force-renew
expect_json "webroot: renewed" '.certificates[0].outcome' renewed
for _ in $(seq 1 30); do # the server's log line may trail the response
	grep -qE 'GET /.well-known/acme-challenge/[A-Za-z0-9_-]+ HTTP/1.1" 200' web.log && break
	sleep 0.1
done
grep -q 'acme-challenge' web.log || diag "pebble.log tail: $(tail -n 20 pebble.log)"
expect_match "webroot: pebble fetched the file from the other server" 'GET /.well-known/acme-challenge/[A-Za-z0-9_-]+ HTTP/1.1" 200' "$(cat web.log)"
expect_eq "webroot: the challenge file is removed afterwards" "$(ls webroot/.well-known/acme-challenge | wc -l)" 0

# External Account Binding
kill "$PEBBLE_PID"; wait "$PEBBLE_PID" 2>/dev/null
pebble_conf pebble-eab.json true
pebble_start pebble-eab.json || not_ok "pebble (EAB) starts"
rm -f account.key
mtk --json track run --force-renew
expect_eq "EAB required, none given: refused (exit 1)" "$RC" 1
expect_match "pebble says why" 'externalAccountRequired|External Account Binding|eab' \
	"$(printf '%s' "$OUT" | jq -r '.certificates[0].message')"
printf 'acme_eab_kid kid-1\nacme_eab_hmac env:EAB_HMAC\n' >>d/app.conf
EAB_HMAC=zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W mtk --json track run --force-renew
expect_json "with EAB (kid-1): renewed" '.certificates[0].outcome' renewed
[ "$RC" = 0 ] || diag "$(tail -5 pebble.log)"
done_testing
