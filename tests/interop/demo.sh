#!/usr/bin/env bash
# demo.sh - the README's demo command runs end to end with the binaries under
# test, and each stage shows what it claims.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
: "${MTLSKIT_GATEWAY:?}"
export MTLSKIT MTLSKIT_GATEWAY
expect_rc 0 "scripts/demo.sh exits 0" env MTLSKIT_DEMO_DIR="$T/demo" bash "$MTLSKIT_SRC/scripts/demo.sh"
expect_match "the signed chain verifies with openssl" '^client.crt: OK$' "$OUT"
expect_match "the MID bundle checks clean" 'OK: no problem found \(profile mid\)' "$OUT"
expect_match "keytool lists the MID entry" '^defaultsecuritykeypairhandle, .*PrivateKeyEntry' "$OUT"
expect_eq "the backend saw the mapped user four times (curl, Java; before and after renewal)" "$(printf '%s\n' "$OUT" | grep -c '^X-Client-User: mid.server$')" 4
expect_match "probe: client certificate accepted" 'Client certificate: sent and ACCEPTED' "$OUT"
expect_match "Java client with mtlskit's JKS: HTTP 200" '^STATUS 200$' "$OUT"
expect_match "no certificate: the handshake is refused" 'alert certificate required' "$OUT"
expect_match "the gateway logged the refusal with its reason" '"reason":"no-certificate"' "$OUT"
# CRL checking on, fed only by mtlskit's own `ca crl` output
expect_match "the gateway configuration checks CRLs" '^crl .*/lab-ca\.crl$' "$OUT"
expect_match "ca crl writes the issuing CA's CRL" 'CRL of mtlskit Lab Issuing CA: number 1, 0 revoked' "$OUT"
expect_match "and the root's" 'CRL of mtlskit Lab Root CA: number 1, 0 revoked' "$OUT"
expect_eq "the CRL file holds two CRLs (openssl storeutl)" "$(openssl storeutl -noout -crls "$T/demo/lab-ca.crl" 2>&1 | tail -1)" "Total found: 2"
expect_no_match "no client refused for a missing CRL" 'crl-unavailable' "$(cat "$T/demo/gateway.log")"
expect_match "the republished CRL lists the revoked client" 'CRL of mtlskit Lab Issuing CA: number 2, 1 revoked certificate$' "$OUT"
expect_match "the gateway reloaded it" '"event":"reload".*"result":"ok"' "$OUT"
expect_match "curl: the revoked certificate is refused with the alert" 'alert certificate revoked' "$OUT"
expect_match "Java: the revoked certificate is refused with the alert" '^HANDSHAKE-FAILED .*certificate_revoked' "$OUT"
expect_match "the gateway logged the refusal as revoked" '"reason":"revoked".*"verify_error":"certificate revoked"' "$OUT"
# curl, probe, Java; the renewal's two verification requests (403, then 200);
# curl and Java with the renewed certificate: 7, none after the revocation
expect_eq "after revocation no request reached the backend" "$(grep -c '"event":"request"' "$T/demo/gateway.log")" 7
expect_match "renewal: the first verification got 403 (not mapped yet)" '"event":"request".*"status":403' "$(cat "$T/demo/gateway.log")"
expect_match "renewal: the certificate was staged, client.crt unchanged" 'client.crt unchanged; the new one is staged' "$OUT"
expect_eq "renewal: the installed certificate is the one that was staged and mapped" \
	"$(openssl x509 -in "$T/demo/client.crt" -noout -fingerprint -sha256 | sed 's/^.*=/sha256:/')" \
	"$(grep -o 'sha256:[0-9A-F:]*' "$T/demo/users.map" | tail -1)"
expect_match "the demo completes" '^.*Demo complete' "$OUT"
done_testing
