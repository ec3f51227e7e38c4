#!/usr/bin/env bash
# gateway-crl.sh - mtlskit-gateway checking revocation with nothing but
# mtlskit's own CA: `ca init` (root + issuing CA), `ca sign` two clients,
# `ca revoke` one, `ca crl` (the chain's CRLs in one file) as the gateway's
# `crl`. curl and a Java 17 client (JKS written by mtlskit): the good client
# gets 200, the revoked one is refused with the alert and the log reason.
# The issuing CA's CRL alone (`--scope leaf`) is the negative control: the
# gateway checks the whole chain and refuses everyone (crl-unavailable).
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "$0")/lib/gw-fixtures.sh"

gw_pki # the server certificates, the openssl-made ca1 (alice) and crl1.pem
cd "$T" || exit 1

# --- the CA, two clients, one revoked: mtlskit only ---
expect_rc 0 "ca init: root + issuing CA" "$MTLSKIT" ca init lab --name "CRL Lab Root" --intermediate "CRL Lab Issuing" \
	--key-type ec:P-256
for who in good bad; do
	"$MTLSKIT" csr create --cn "$who.example.com" --org "Example Corp" --usage client --new-key ec:P-256 \
		--key-out "$who.key" -o "$who.csr" >/dev/null 2>&1
	expect_rc 0 "ca sign $who" "$MTLSKIT" ca sign lab "$who.csr" --profile client -o "$who.pem" --chain-out lab-chain.pem --force
	cat "$who.pem" lab-chain.pem >"$who-chain.pem"
done
expect_rc 0 "ca revoke bad" "$MTLSKIT" ca revoke lab bad.pem --reason keyCompromise
mtk --json ca crl lab -o lab.crl
expect_eq "ca crl exit 0" "$RC" 0
expect_json "ca crl: the chain's two CRLs" '[.crls[].issuer] | join("|")' "CRL Lab Issuing|CRL Lab Root"
expect_json "ca crl: one revoked" '.revoked' 1
expect_rc 0 "ca crl --scope leaf (the negative control)" "$MTLSKIT" ca crl lab -o lab-leaf.crl --scope leaf
{
	echo "good    mid_server   $(gw_fp good.pem)"
	echo "bad     mid_server   $(gw_fp bad.pem)"
} >>users.map

gw_backend b1
B1=$BACKEND_PORT
# Two CRL files: mtlskit's for the lab chain, openssl ca's for ca1 (alice).
gw_conf "$T/gw.conf" "$B1" "ca $T/lab-chain.pem" "crl $T/lab.crl" "crl $T/crl1.pem"
gw_start crl "$T/gw.conf" || { not_ok "gateway starts with mtlskit's CRL"; done_testing; }
URL="https://127.0.0.1:$GW_PORT"

# --- curl ---
gw_curl good "$URL/curl"
expect_eq "curl, good client: 200" "$(http_code)" 200
expect_match "backend sees the good client's identity" '^X-Client-User: good$' "$OUT"
gw_curl bad "$URL/curl"
expect_eq "curl, revoked client: no HTTP response" "$(http_code)" 000
expect_match "curl reports the gateway's alert" 'alert certificate revoked' "$ERR"
expect_match "log: revoked, naming the certificate" \
	"\"reason\":\"revoked\".*\"sha256\":\"$(gw_fphex bad.pem)\"" "$(cat "$GW_LOG")"
gw_curl alice "$URL/curl"
expect_eq "a CA with an openssl-made CRL beside it still works: alice 200" "$(http_code)" 200
expect_no_match "log: no client refused for a missing CRL" 'crl-unavailable' "$(cat "$GW_LOG")"
expect_eq "metrics: one revoked rejection" "$(metric 'mtlskit_gateway_rejections_total{reason="revoked"}')" 1

# --- Java 17 with JKS keystores written by mtlskit ---
if command -v javac >/dev/null && command -v keytool >/dev/null; then
	mkdir -p classes
	expect_rc 0 "javac compiles GatewayClient.java" javac -d classes "$(dirname "$0")/java/GatewayClient.java"
	export GW_KS_PASS=changeit GW_TS_PASS=changeit
	for who in good bad; do
		"$MTLSKIT" convert "$who-chain.pem" "$who.key" --to jks --alias defaultsecuritykeypairhandle \
			--out-pass env:GW_KS_PASS -o "$who.jks" >/dev/null 2>&1
	done
	"$MTLSKIT" keystore add-trusted trust.jks --type jks --pass env:GW_TS_PASS --alias gateway-ca srv/ca.pem >/dev/null 2>&1
	expect_file "mtlskit wrote the JKS files" bad.jks
	run java -cp classes GatewayClient "$URL/java" good.jks trust.jks
	expect_match "Java, good client: 200" '^STATUS 200$' "$OUT"
	expect_match "backend sees the Java client as good" '^X-Client-User: good$' "$OUT"
	before=$(metric 'mtlskit_gateway_rejections_total{reason="revoked"}')
	run java -cp classes GatewayClient "$URL/java" bad.jks trust.jks
	expect_eq "Java, revoked client: handshake refused (exit 1)" "$RC" 1
	expect_match "Java reports the revoked alert" '^HANDSHAKE-FAILED .*certificate_revoked' "$OUT"
	after=$(metric 'mtlskit_gateway_rejections_total{reason="revoked"}')
	expect_eq "the gateway counted the Java refusal as revoked" "$([ "$after" -gt "$before" ] && echo more)" more
	expect_eq "log: every revoked refusal names the bad certificate" \
		"$(grep -c "\"reason\":\"revoked\".*\"sha256\":\"$(gw_fphex bad.pem)\"" "$GW_LOG")" "$after"
else
	ok "# SKIP no javac/keytool"
fi

# --- the verified-chain cache (verify_cache): the same chain again is not
# verified again, and a reload (a new CRL) starts from an empty cache ---
hits0=$(metric 'mtlskit_gateway_verify_cache_hits_total')
gw_curl good "$URL/again"
expect_eq "curl, good client again: 200" "$(http_code)" 200
expect_eq "the second handshake of the same chain was a cache hit" \
	"$(( $(metric 'mtlskit_gateway_verify_cache_hits_total') - hits0 ))" 1

# --- revoking the good client too: a new CRL, a reload, refused ---
expect_rc 0 "ca revoke good" "$MTLSKIT" ca revoke lab good.pem
expect_rc 0 "ca crl again (replacing the file)" "$MTLSKIT" ca crl lab -o lab.crl --force
kill -HUP "$GW_PID"
for _ in $(seq 1 50); do
	[ "$(metric 'mtlskit_gateway_reloads_total{result="ok"}')" = 1 ] && break
	sleep 0.1
done
expect_eq "the gateway reloaded the new CRL" "$(metric 'mtlskit_gateway_reloads_total{result="ok"}')" 1
gw_curl good "$URL/curl"
expect_eq "after the reload the good client is refused" "$(http_code)" 000
expect_match "curl: certificate revoked" 'alert certificate revoked' "$ERR"

# --- revoking the issuing CA itself: the root's CRL lists it, every
# certificate it signed is refused (gateway and openssl verify agree) ---
"$MTLSKIT" csr create --cn fresh.example.com --org "Example Corp" --usage client --new-key ec:P-256 \
	--key-out fresh.key -o fresh.csr >/dev/null 2>&1
expect_rc 0 "ca sign fresh" "$MTLSKIT" ca sign lab fresh.csr --profile client -o fresh.pem --force
echo "fresh   mid_server   $(gw_fp fresh.pem)" >>users.map
expect_rc 0 "ca crl (fresh not revoked)" "$MTLSKIT" ca crl lab -o lab-ca.crl
gw_conf "$T/gw-carev.conf" "$B1" "ca $T/lab-chain.pem" "crl $T/lab-ca.crl"
gw_start carev "$T/gw-carev.conf" || not_ok "gateway starts for the CA revocation"
gw_curl fresh "https://127.0.0.1:$GW_PORT/before"
expect_eq "issuing CA not revoked: fresh client 200" "$(http_code)" 200
expect_rc 0 "ca revoke lab/issuing.crt (the issuing CA itself)" "$MTLSKIT" ca revoke lab lab/issuing.crt --reason CACompromise
mtk --json ca crl lab -o lab-ca.crl --force
expect_json "ca crl: the root's CRL lists the issuing CA" \
	'[.crls[] | select(.issuer == "CRL Lab Root") | .revoked] | .[0]' 1
run openssl verify -CAfile lab/root.crt -untrusted lab/issuing.crt -CRLfile lab-ca.crl -crl_check_all fresh.pem
expect_match "openssl verify -crl_check_all: the issuing CA is revoked" 'error 23 at 1 depth lookup: certificate revoked' "$OUT$ERR"
kill -HUP "$GW_PID"
for _ in $(seq 1 50); do
	[ "$(metric 'mtlskit_gateway_reloads_total{result="ok"}')" = 1 ] && break
	sleep 0.1
done
gw_curl fresh "https://127.0.0.1:$GW_PORT/after"
expect_eq "issuing CA revoked: fresh client refused" "$(http_code)" 000
expect_match "log: revoked" '"reason":"revoked"' "$(cat "$GW_LOG")"
expect_rc 2 "revoking the issuing CA twice: refused" "$MTLSKIT" ca revoke lab lab/issuing.crt

# --- a cached verdict ends with the CRL's nextUpdate: alice's CA gets a CRL
# valid for 4 s; two requests inside it (the second from the cache), one
# after it: refused as crl-unavailable, cache or not ---
openssl ca -batch -config "$T/ca1/ca.cnf" -gencrl -crlsec 4 -out "$T/crl1-short.pem" 2>/dev/null
gw_conf "$T/gw-short.conf" "$B1" "crl $T/crl1-short.pem"
gw_start short "$T/gw-short.conf" || not_ok "gateway starts with a 4-second CRL"
t0=$(date +%s)
# The identity headers the backend got (the leaf's digest comes from the
# verify step with the cache on, from conn.c with it off).
ident() { printf '%s\n' "$OUT" | tr -d '\r' | grep -E '^X-Client-(User|Roles|Cert-Sha256|Cert-Subject): ' | sort; }
gw_curl alice "https://127.0.0.1:$GW_PORT/short1"
expect_eq "4-second CRL: alice accepted" "$(http_code)" 200
id_miss=$(ident)
gw_curl alice "https://127.0.0.1:$GW_PORT/short2"
expect_eq "4-second CRL: alice accepted again" "$(http_code)" 200
id_hit=$(ident)
expect_match "verify_cache on: the backend gets alice's user and fingerprint" \
	"X-Client-Cert-Sha256: $(gw_fphex alice.pem).*X-Client-User: alice" "$(printf '%s' "$id_miss" | tr '\n' ' ')"
expect_eq "verify_cache on: the same identity on a cache hit as on a miss" "$id_hit" "$id_miss"
expect_eq "the second was a cache hit" "$(metric 'mtlskit_gateway_verify_cache_hits_total')" 1
while [ $(($(date +%s) - t0)) -lt 6 ]; do sleep 0.5; done
gw_curl alice "https://127.0.0.1:$GW_PORT/short3"
expect_eq "after the CRL's nextUpdate: refused despite the cached verdict" "$(http_code)" 000
expect_match "log: crl-unavailable" '"reason":"crl-unavailable"' "$(cat "$GW_LOG")"

# --- verify_cache 0: nothing is cached ---
gw_conf "$T/gw-nocache.conf" "$B1" "ca $T/lab-chain.pem" "crl $T/lab.crl" "crl $T/crl1.pem" "verify_cache 0"
gw_start nocache "$T/gw-nocache.conf" || not_ok "gateway starts with verify_cache 0"
gw_curl alice "https://127.0.0.1:$GW_PORT/n1"
gw_curl alice "https://127.0.0.1:$GW_PORT/n2"
expect_eq "verify_cache 0: alice accepted" "$(http_code)" 200
expect_eq "verify_cache 0: the same identity as with the cache on" "$(ident)" "$id_miss"
expect_eq "verify_cache 0: no hits" "$(metric 'mtlskit_gateway_verify_cache_hits_total')" 0

# --- negative control: only the issuing CA's CRL ---
gw_conf "$T/gw-leaf.conf" "$B1" "ca $T/lab-chain.pem" "crl $T/lab-leaf.crl"
gw_start leaf "$T/gw-leaf.conf" || not_ok "gateway starts with the leaf-scope CRL"
gw_curl good "https://127.0.0.1:$GW_PORT/leaf"
expect_eq "issuing CA's CRL alone (good not in it): still no response" "$(http_code)" 000
expect_match "log: the root's CRL is missing (crl-unavailable)" '"reason":"crl-unavailable"' "$(cat "$GW_LOG")"
gw_finish
done_testing
