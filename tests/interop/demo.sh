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
expect_eq "the backend saw the mapped user twice (curl, Java)" "$(printf '%s\n' "$OUT" | grep -c '^X-Client-User: mid.server$')" 2
expect_match "probe: client certificate accepted" 'Client certificate: sent and ACCEPTED' "$OUT"
expect_match "Java client with mtlskit's JKS: HTTP 200" '^STATUS 200$' "$OUT"
expect_match "no certificate: the handshake is refused" 'alert certificate required' "$OUT"
expect_match "the gateway logged the refusal with its reason" '"reason":"no-certificate"' "$OUT"
expect_match "the demo completes" '^.*Demo complete' "$OUT"
done_testing
