#!/usr/bin/env bash
# readme-tour.sh - the README's "A short tour" block runs as written, and
# each step leaves what the README says it does.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
cd "$T" || exit 1
mkdir bin && ln -s "$MTLSKIT" bin/mtlskit
export PATH="$T/bin:$PATH"
sed -n '/^## A short tour/,/^## Layout/p' "$MTLSKIT_SRC/README.md" | sed -n '/^```sh/,/^```/p' | sed '1d;$d' >tour.sh
expect_match "the tour block was found" 'mtlskit ca init' "$(cat tour.sh)"
expect_rc 0 "the tour runs as written (bash -e)" bash -e tour.sh
expect_match "inspect printed the client certificate's SHA-256" \
	"$(openssl x509 -in client.crt -noout -fingerprint -sha256 | sed 's/^.*=//')" "$OUT"
expect_eq "openssl verifies the signed chain" "$(openssl verify -CAfile lab-ca/root.crt -untrusted chain.pem client.crt 2>&1)" "client.crt: OK"
expect_match "keytool lists the MID entry" '^defaultsecuritykeypairhandle, .*PrivateKeyEntry' \
	"$(keytool -list -keystore agent/security/agent_keystore.jks -storepass changeit 2>/dev/null)"
expect_match "keytool lists the outbound JKS entry" '^outbound, .*PrivateKeyEntry' \
	"$(keytool -list -keystore outbound.jks -storepass change-me-please 2>/dev/null)"
expect_file "the tour stands in an agent directory (config.xml) for mid install" agent/config.xml
expect_mode "the bundle holds the key: mode 0600" bundle.pem 600
done_testing
