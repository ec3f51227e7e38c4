#!/usr/bin/env bash
# gateway-java.sh - a Java 17 client (HttpsURLConnection) with a JKS keystore,
# as a MID Server holds its certificate, through mtlskit-gateway.
#
# The client keystores and the truststore are JKS files written by mtlskit
# (`convert --to jks`, `keystore add-trusted`), read by Java as the MID
# Server and the instance read theirs.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "$0")/lib/gw-fixtures.sh"

if ! command -v javac >/dev/null || ! command -v keytool >/dev/null; then
	ok "# SKIP no javac/keytool"
	done_testing
fi
gw_pki
gw_backend b1
gw_conf "$T/gw.conf" "$BACKEND_PORT" "ca $T/ca2/ca.pem"
gw_start java "$T/gw.conf" || { not_ok "gateway starts"; done_testing; }
URL="https://127.0.0.1:$GW_PORT/java"

mkdir -p "$T/classes"
expect_rc 0 "javac compiles GatewayClient.java" javac -d "$T/classes" "$(dirname "$0")/java/GatewayClient.java"
export GW_KS_PASS=changeit GW_TS_PASS=changeit

# JKS written by mtlskit from the PEM chain and key, under the MID alias.
mkjks() { # WHO
	"$MTLSKIT" convert "$T/$1-chain.pem" "$T/$1.key" --to jks --alias defaultsecuritykeypairhandle \
		--out-pass env:GW_KS_PASS -o "$T/$1.jks" >/dev/null 2>&1
}
mkjks alice
mkjks bob
mkjks carol
mkjks mallory
keytool -importcert -noprompt -alias gateway-ca -file "$T/srv/ca.pem" -keystore "$T/trust.jks" \
	-storetype JKS -storepass:env GW_TS_PASS >/dev/null 2>&1
expect_file "mtlskit wrote alice's JKS" "$T/alice.jks"
expect_eq "it is a JKS (magic FEEDFEED)" "$(head -c 4 "$T/alice.jks" | od -An -tx1 | tr -d ' ')" feedfeed
run keytool -list -keystore "$T/alice.jks" -storepass:env GW_KS_PASS
expect_match "keytool sees a JKS with the MID alias" 'Keystore type: (JKS|jks).*|defaultsecuritykeypairhandle' "$OUT"

java_get() { run java -cp "$T/classes" GatewayClient "$URL" "$T/$1.jks" "$T/trust.jks"; }
java_get alice
expect_match "Java + JKS, mapped certificate: 200" '^STATUS 200$' "$OUT"
expect_match "backend sees the Java client as alice" '^X-Client-User: alice$' "$OUT"
expect_eq "Java's spoofed X-Client-User removed" "$(printf '%s\n' "$OUT" | grep -ci '^x-client-user:')" 1
java_get bob
expect_match "Java + JKS, certificate of the second CA: 200" '^STATUS 200$' "$OUT"
expect_match "backend sees bob" '^X-Client-User: bob$' "$OUT"
java_get carol
expect_match "Java + JKS, unmapped certificate: 403" '^STATUS 403$' "$OUT"
java_get mallory
expect_eq "Java + JKS, untrusted CA: handshake refused (exit 1)" "$RC" 1
expect_match "Java reports the handshake failure" 'HANDSHAKE-FAILED' "$OUT"
# Java picks its key from the CA names the gateway sends: no key issued by
# them, so it sends no certificate at all (what a MID Server does too).
expect_match "log: Java offered no certificate (its CA is not in the list)" '"reason":"no-certificate"' "$(cat "$GW_LOG")"
gw_finish
done_testing
