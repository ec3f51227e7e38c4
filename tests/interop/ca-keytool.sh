#!/usr/bin/env bash
# ca-keytool.sh - real peers accept what key/csr/ca make: Java keytool reads
# our CSRs and installs our chain as a certificate reply; keytool's own CSR is
# signed by our CA; an openssl mTLS handshake succeeds with our client and
# server certificates.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
cd "$T" || exit 1
command -v keytool >/dev/null || { ok "# SKIP keytool not installed"; done_testing; }

"$MTLSKIT" ca init lab-ca --name "mtlskit Lab Root CA" --intermediate "mtlskit Lab Issuing CA" --key-type rsa:2048 >/dev/null
"$MTLSKIT" csr create --cn mid01.example.com --org "Example Corp" --locality "San Diego" --state California --country US \
	--usage client --san DNS:mid01.example.com --new-key rsa:2048 --key-out client.key -o client.csr >/dev/null

# keytool reads our CSR
run keytool -printcertreq -file client.csr -v
expect_eq "keytool -printcertreq reads our CSR" "$RC" 0
expect_match "keytool: subject" 'Subject: CN=mid01.example.com, O=Example Corp, L=San Diego, ST=California, C=US' "$OUT"
expect_match "keytool: clientAuth EKU" 'clientAuth' "$OUT"
expect_match "keytool: DigitalSignature key usage" 'DigitalSignature' "$OUT"
expect_match "keytool: Key_Encipherment" 'Key_Encipherment' "$OUT"
expect_match "keytool: SAN" 'DNSName: mid01.example.com' "$OUT"
expect_match "keytool: SHA256withRSA" 'SHA256withRSA' "$OUT"
"$MTLSKIT" csr create --cn ec.example.com --new-key ec:P-384 --key-out ec.key -o ec.csr >/dev/null
run keytool -printcertreq -file ec.csr
expect_match "keytool reads a P-384 CSR (SHA384withECDSA)" 'SHA384withECDSA' "$OUT"

# keytool makes the key and CSR; our CA signs; keytool installs the reply
KS=scratch.jks
keytool -genkeypair -alias mid -keyalg RSA -keysize 2048 -validity 30 \
	-dname "CN=mid02.example.com, O=Example Corp, L=San Diego, ST=California, C=US" \
	-keystore $KS -storetype JKS -storepass changeit -keypass changeit >/dev/null 2>&1
keytool -certreq -alias mid -file java.csr -keystore $KS -storepass changeit >/dev/null 2>&1
expect_rc 0 "ca sign accepts keytool's CSR" "$MTLSKIT" ca sign lab-ca java.csr --profile client -o java.crt --chain-out chain.pem
run keytool -importcert -alias labroot -file lab-ca/root.crt -keystore $KS -storepass changeit -noprompt
expect_match "keytool imports our root as trusted" 'Certificate was added to keystore' "$OUT$ERR"
cat java.crt chain.pem >reply.pem
run keytool -importcert -alias mid -file reply.pem -keystore $KS -storepass changeit -noprompt
expect_match "keytool installs our chain as the certificate reply" 'Certificate reply was installed in keystore' "$OUT$ERR"
run keytool -list -v -alias mid -keystore $KS -storepass changeit
expect_match "keystore entry has chain length 3" 'Certificate chain length: 3' "$OUT"
expect_match "keystore chain reaches our root" 'Issuer: CN=mtlskit Lab Root CA' "$OUT"
expect_match "leaf has clientAuth in keytool's view" 'clientAuth' "$OUT"
# keytool refuses a reply from a CA it does not trust (sanity of the check above)
"$MTLSKIT" ca init other-ca --name "Other Root" --key-type ec:P-256 >/dev/null
keytool -certreq -alias mid -file java2.csr -keystore $KS -storepass changeit >/dev/null 2>&1
"$MTLSKIT" ca sign other-ca java2.csr -o other.crt >/dev/null
run keytool -importcert -alias mid -file other.crt -keystore $KS -storepass changeit -noprompt
expect_match "keytool rejects a reply it cannot chain" 'Failed to establish chain from reply' "$OUT$ERR"

# our leaf + chain into a scratch JKS as trusted entries
KS2=trust.jks
expect_rc 0 "keytool -importcert root" keytool -importcert -alias root -file lab-ca/root.crt -keystore $KS2 -storetype JKS -storepass changeit -noprompt
expect_rc 0 "keytool -importcert issuing" keytool -importcert -alias issuing -file lab-ca/issuing.crt -keystore $KS2 -storepass changeit -noprompt
"$MTLSKIT" ca sign lab-ca client.csr --profile client -o client.crt >/dev/null
expect_rc 0 "keytool -importcert leaf" keytool -importcert -alias leaf -file client.crt -keystore $KS2 -storepass changeit -noprompt
run keytool -list -keystore $KS2 -storepass changeit
expect_match "three trusted entries" 'Your keystore contains 3 entries' "$OUT"

# openssl mTLS handshake with our server and client certificates
"$MTLSKIT" csr create --cn localhost.example.com --usage server --san DNS:localhost,IP:127.0.0.1 --new-key ec:P-256 \
	--key-out srv.key -o srv.csr >/dev/null 2>&1
"$MTLSKIT" ca sign lab-ca srv.csr --profile server -o srv.crt >/dev/null
port=$(free_port)
openssl s_server -accept "127.0.0.1:$port" -cert srv.crt -cert_chain lab-ca/issuing.crt -key srv.key -CAfile lab-ca/root.crt -Verify 3 \
	-verify_return_error -www >server.log 2>&1 &
TAP_PIDS="${TAP_PIDS:-} $!"
wait_port "$port"
run bash -c "printf 'GET / HTTP/1.0\r\n\r\n' | openssl s_client -connect 127.0.0.1:$port -cert client.crt -cert_chain lab-ca/issuing.crt -key client.key \
	-CAfile lab-ca/root.crt -verify_return_error -verify_hostname localhost -ign_eof 2>&1"
expect_match "client verifies our server chain" 'Verify return code: 0 \(ok\)' "$OUT"
expect_match "server accepted our client certificate" 'Client certificate' "$OUT"
expect_match "server saw our client's subject" 'CN = mid01.example.com|CN=mid01.example.com' "$OUT$(cat server.log)"
done_testing
