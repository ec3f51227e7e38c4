#!/usr/bin/env bash
# gateway-trust.sh - what mtlskit-gateway trusts and how strictly it reads it:
# a damaged PEM block in a cert/ca/crl file fails --check, startup and reload
# with FILE:LINE (the old configuration keeps serving); server keys through
# the library loader (PFX, encrypted PKCS#8 with key_pass); a CA:TRUE
# certificate is never a client identity; the TLS policy (ECDHE + AEAD only
# on TLS 1.2) seen by openssl s_client; CRLs verified once at load, expired
# CRLs warned about and exported as a gauge.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "$0")/lib/gw-fixtures.sh"

gw_pki
gw_backend b1
B1=$BACKEND_PORT
swap() { cp "$1" "$2.tmp" && mv "$2.tmp" "$2"; }
lines() { wc -l <"$1" | tr -d ' '; }
# check CONF: runs --check; sets RC, OUT, ERR
check() { run "$MTLSKIT_GATEWAY" --check --config "$1"; }

# ---------------------------------------------------------------------------
# 1. Fail-closed configuration
# A CA bundle whose middle block is damaged: the old reader stopped there,
# dropped every certificate after it and said "configuration ok".
cat "$T/srv/ca.pem" "$T/ca2/ca.pem" "$T/ca1/ca.pem" >"$T/bundle-good.pem"
L=$(($(lines "$T/srv/ca.pem") + 1)) # BEGIN line of the damaged block
awk -v n=$((L + 2)) 'NR == n { $0 = substr($0, 1, 10) "!" substr($0, 12) } { print }' \
	"$T/bundle-good.pem" >"$T/bundle-b64.pem"
gw_conf "$T/good.conf" "$B1" "ca $T/bundle-good.pem"
check "$T/good.conf"
expect_eq "--check: a clean three-CA bundle is ok" "$RC" 0
gw_conf "$T/b64.conf" "$B1" "ca $T/bundle-b64.pem"
check "$T/b64.conf"
expect_eq "--check: a base64-damaged block in a CA bundle exits 3" "$RC" 3
expect_match "--check names FILE:LINE of the damaged block's BEGIN" "bundle-b64.pem:$L: CERTIFICATE block: base64" "$ERR"

# Valid base64 that is not a certificate (a line of the body replaced).
awk -v n=$((L + 2)) 'NR == n { $0 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" } { print }' \
	"$T/bundle-good.pem" >"$T/bundle-der.pem"
gw_conf "$T/der.conf" "$B1" "ca $T/bundle-der.pem"
check "$T/der.conf"
expect_eq "--check: a block whose DER is not a certificate exits 3" "$RC" 3
expect_match "--check: the DER error names FILE:LINE" "bundle-der.pem:$L: the certificate does not decode" "$ERR"

# A server chain cut after its second BEGIN (no END).
head -n $(($(lines "$T/srv-ec.pem") + 3)) "$T/srv-ec-chain.pem" >"$T/srv-ec-cut.pem"
L2=$(($(lines "$T/srv-ec.pem") + 1))
sed "s#^cert $T/srv-ec-chain.pem#cert $T/srv-ec-cut.pem#" "$T/good.conf" >"$T/cut.conf"
check "$T/cut.conf"
expect_eq "--check: a server chain with a BEGIN and no END exits 3" "$RC" 3
expect_match "--check: no END line, FILE:LINE" "srv-ec-cut.pem:$L2: CERTIFICATE block: no END line" "$ERR"

# A CRL file: the second CRL damaged; a file with certificates but no CRL.
cat "$T/crl2.pem" "$T/crl1.pem" >"$T/crls-good.pem"
LC=$(($(lines "$T/crl2.pem") + 1))
awk -v n=$((LC + 1)) 'NR == n { $0 = substr($0, 1, 5) "*" substr($0, 7) } { print }' \
	"$T/crls-good.pem" >"$T/crls-bad.pem"
gw_conf "$T/crl-good.conf" "$B1" "ca $T/ca2/ca.pem" "crl $T/crls-good.pem"
check "$T/crl-good.conf"
expect_eq "--check: two CRLs in one file are ok" "$RC" 0
gw_conf "$T/crl-bad.conf" "$B1" "ca $T/ca2/ca.pem" "crl $T/crls-bad.pem"
check "$T/crl-bad.conf"
expect_eq "--check: a damaged second CRL exits 3" "$RC" 3
expect_match "--check: the CRL error names FILE:LINE" "crls-bad.pem:$LC: X509 CRL block" "$ERR"
gw_conf "$T/crl-cert.conf" "$B1" "crl $T/ca1/ca.pem"
check "$T/crl-cert.conf"
expect_eq "--check: a crl file holding a certificate exits 3" "$RC" 3
expect_match "--check: says the certificate does not belong" "ca.pem:1: a CERTIFICATE block .* expected CRL" "$ERR"

# Startup refuses the same file.
run "$MTLSKIT_GATEWAY" --config "$T/b64.conf"
expect_eq "startup with a damaged CA bundle exits 3" "$RC" 3
expect_match "startup names FILE:LINE" "bundle-b64.pem:$L:" "$ERR"

# Reload with a damaged CA file: refused and logged, the old trust serves.
cp "$T/bundle-good.pem" "$T/live-ca.pem"
gw_conf "$T/live.conf" "$B1" "ca $T/live-ca.pem"
gw_start live "$T/live.conf" || { not_ok "gateway starts"; done_testing; }
URL="https://127.0.0.1:$GW_PORT"
gw_curl bob "$URL/"
expect_eq "before reload: bob (CA 2, middle of the bundle) passes" "$(http_code)" 200
swap "$T/bundle-b64.pem" "$T/live-ca.pem"
kill -HUP "$GW_PID"
for _ in $(seq 1 50); do grep -q '"refused"' "$GW_LOG" && break; sleep 0.1; done
expect_match "reload with a damaged CA block: refused, FILE:LINE logged" \
	"\"error\":\"[^\"]*live-ca.pem:$L: CERTIFICATE block: base64[^\"]*\".*\"result\":\"refused\"" "$(grep '"reload"' "$GW_LOG")"
expect_eq "metrics: one failed reload" "$(metric 'mtlskit_gateway_reloads_total{result="failed"}')" 1
gw_curl bob "$URL/"
expect_eq "after the refused reload bob still passes (old trust kept)" "$(http_code)" 200
gw_curl alice "$URL/"
expect_eq "after the refused reload alice (CA 1, after the damaged block) still passes" "$(http_code)" 200
expect_match "alice's identity reaches the backend" '^X-Client-User: alice$' "$OUT"

gw_finish

# ---------------------------------------------------------------------------
# 2. Server keys through the library loader: encrypted PKCS#8, legacy
# encrypted PEM, PFX; key_pass env:VAR or file:PATH.
# conf1 FILE CERT KEY [extra lines...]: one server certificate only.
conf1() {
	local f=$1 c=$2 k=$3
	shift 3
	gw_conf "$f.tmp" "$B1" "$@"
	grep -v -e '^cert ' -e '^key ' "$f.tmp" >"$f"
	printf 'cert %s\nkey %s\n' "$c" "$k" >>"$f"
}
openssl pkcs8 -topk8 -in "$T/srv-ec.key" -out "$T/srv-ec-p8.key" -v2 aes-256-cbc -passout pass:ec-secret
openssl ec -in "$T/srv-ec.key" -aes256 -out "$T/srv-ec-legacy.key" -passout pass:ec-secret 2>/dev/null
openssl pkcs12 -export -in "$T/srv-rsa-chain.pem" -inkey "$T/srv-rsa.key" -out "$T/srv-rsa.pfx" \
	-passout pass:pfx-secret
printf 'pfx-secret\n' >"$T/pfx.pass"
chmod 600 "$T/pfx.pass"
expect_match "fixture: the PKCS#8 key is encrypted" 'BEGIN ENCRYPTED PRIVATE KEY' "$(cat "$T/srv-ec-p8.key")"
expect_match "fixture: the legacy PEM key is encrypted" 'Proc-Type: 4,ENCRYPTED' "$(cat "$T/srv-ec-legacy.key")"

conf1 "$T/p8.conf" "$T/srv-ec-chain.pem" "$T/srv-ec-p8.key" "key_pass env:GW_TEST_KEY_PASS"
GW_TEST_KEY_PASS=ec-secret run "$MTLSKIT_GATEWAY" --check --config "$T/p8.conf"
expect_eq "--check: encrypted PKCS#8 key with key_pass env: is ok" "$RC" 0
GW_TEST_KEY_PASS=wrong run "$MTLSKIT_GATEWAY" --check --config "$T/p8.conf"
expect_eq "--check: a wrong key_pass exits 4" "$RC" 4
expect_match "--check: the wrong password names the key file" 'srv-ec-p8.key: cannot decrypt' "$ERR"
run "$MTLSKIT_GATEWAY" --check --config "$T/p8.conf"
expect_eq "--check: key_pass env: with the variable unset exits 2" "$RC" 2
expect_match "--check: names the variable" 'GW_TEST_KEY_PASS is not set' "$ERR"
conf1 "$T/nopass.conf" "$T/srv-ec-chain.pem" "$T/srv-ec-p8.key"
check "$T/nopass.conf"
expect_eq "--check: an encrypted key without key_pass exits 4" "$RC" 4
expect_match "--check: says to set key_pass, naming the file" 'srv-ec-p8.key: encrypted; set key_pass' "$ERR"
conf1 "$T/legacy.conf" "$T/srv-ec-chain.pem" "$T/srv-ec-legacy.key" "key_pass env:GW_TEST_KEY_PASS"
GW_TEST_KEY_PASS=wrong run "$MTLSKIT_GATEWAY" --check --config "$T/legacy.conf"
expect_eq "--check: legacy encrypted PEM key, wrong password: exit 4" "$RC" 4
expect_match "--check: names FILE:LINE of the legacy key" 'srv-ec-legacy.key:1: cannot decrypt' "$ERR"
conf1 "$T/pfxbad.conf" "$T/srv-rsa.pfx" "$T/srv-rsa.pfx" "key_pass env:GW_TEST_KEY_PASS"
GW_TEST_KEY_PASS=wrong run "$MTLSKIT_GATEWAY" --check --config "$T/pfxbad.conf"
expect_eq "--check: PFX with a wrong key_pass exits 4" "$RC" 4
expect_match "--check: names the PFX" 'srv-rsa.pfx' "$ERR"
conf1 "$T/visible.conf" "$T/srv-ec-chain.pem" "$T/srv-ec-p8.key" "key_pass pass:ec-secret"
check "$T/visible.conf"
expect_eq "--check: key_pass pass:TEXT is refused (exit 2)" "$RC" 2
expect_no_match "--check: the refused password is not echoed" 'ec-secret' "$ERR"
gw_conf "$T/three.conf" "$B1" "key_pass env:A" "key_pass env:B" "key_pass env:C"
check "$T/three.conf"
expect_eq "--check: three key_pass for two keys exits 2" "$RC" 2
expect_match "--check: says one for all or one per key" 'key_pass: 3 given for 2 keys' "$ERR"

# Serving: the encrypted EC key (env:) and the RSA PFX (file:), one key_pass each.
gw_conf "$T/enc.conf.tmp" "$B1"
grep -v -e '^cert ' -e '^key ' "$T/enc.conf.tmp" >"$T/enc.conf"
printf 'cert %s\nkey %s\nkey_pass env:GW_TEST_KEY_PASS\ncert %s\nkey %s\nkey_pass file:%s\n' \
	"$T/srv-ec-chain.pem" "$T/srv-ec-legacy.key" "$T/srv-rsa.pfx" "$T/srv-rsa.pfx" "$T/pfx.pass" >>"$T/enc.conf"
GW_TEST_KEY_PASS=ec-secret gw_start enc "$T/enc.conf" || not_ok "gateway starts with encrypted keys"
run curl -sS -v --max-time 10 --cacert "$T/srv/ca.pem" --cert "$T/alice.pem" --key "$T/alice.key" \
	--ciphers ECDHE-ECDSA-AES128-GCM-SHA256 --tls-max 1.2 "https://127.0.0.1:$GW_PORT/"
expect_match "ECDSA client: served by the certificate of the encrypted EC key" 'subject: CN=srv-ec.example.com' "$ERR"
expect_match "ECDSA client: alice's request passes" '^X-Client-User: alice' "$OUT"
run curl -sS -v --max-time 10 --cacert "$T/srv/ca.pem" --cert "$T/alice.pem" --key "$T/alice.key" \
	--ciphers ECDHE-RSA-AES128-GCM-SHA256 --tls-max 1.2 "https://127.0.0.1:$GW_PORT/"
expect_match "RSA client: served by the certificate from the PFX" 'subject: CN=srv-rsa.example.com' "$ERR"
expect_match "RSA client: the PFX's chain is sent (issuer verified)" 'SSL certificate verify ok' "$ERR"
expect_match "RSA client: alice's request passes" '^X-Client-User: alice' "$OUT"
# key_pass file: is read again at reload: a wrong one refuses the reload,
# the running keys keep serving.
printf 'wrong\n' >"$T/pfx.pass"
kill -HUP "$GW_PID"
for _ in $(seq 1 50); do grep -q '"refused"' "$GW_LOG" && break; sleep 0.1; done
expect_match "reload with a wrong key_pass: refused, naming the PFX" '"error":"[^"]*srv-rsa.pfx[^"]*".*"result":"refused"' "$(grep '"reload"' "$GW_LOG")"
run curl -sS -v --max-time 10 --cacert "$T/srv/ca.pem" --cert "$T/alice.pem" --key "$T/alice.key" \
	--ciphers ECDHE-RSA-AES128-GCM-SHA256 --tls-max 1.2 "https://127.0.0.1:$GW_PORT/"
expect_match "after the refused reload the PFX's certificate still serves" 'subject: CN=srv-rsa.example.com' "$ERR"
expect_match "after the refused reload alice still passes" '^X-Client-User: alice' "$OUT"
gw_finish

# ---------------------------------------------------------------------------
# 3. A CA:TRUE certificate is never a client identity, even when mapped:
# a sub-CA issued by client CA 1 (with clientAuth), and CA 1's own root.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/subca.key" 2>/dev/null
openssl req -new -key "$T/subca.key" -subj "/CN=subca.example.com/O=Example Corp" -out "$T/subca.csr" 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyCertSign\nextendedKeyUsage=clientAuth\n' >"$T/subca.ext"
openssl x509 -req -in "$T/subca.csr" -CA "$T/ca1/ca.pem" -CAkey "$T/ca1/ca.key" -set_serial 7777 \
	-days 30 -extfile "$T/subca.ext" -out "$T/subca.pem" 2>/dev/null
expect_match "fixture: the sub-CA certificate says CA:TRUE" 'CA:TRUE' "$(openssl x509 -in "$T/subca.pem" -noout -text)"
run openssl verify -CAfile "$T/ca1/ca.pem" -purpose sslclient "$T/subca.pem"
expect_eq "fixture: openssl itself accepts it as an SSL client certificate" "$RC" 0
cp "$T/ca1/ca.pem" "$T/ca1root.pem"
cp "$T/ca1/ca.key" "$T/ca1root.key"
{ cat "$T/users.map"
  echo "subca   admin   $(gw_fp "$T/subca.pem")"
  echo "root    admin   $(gw_fp "$T/ca1/ca.pem")"; } >"$T/users-ca.map"
gw_conf "$T/ca.conf" "$B1" "usermap $T/users-ca.map"
gw_start catrue "$T/ca.conf" || not_ok "gateway starts"
URL="https://127.0.0.1:$GW_PORT"
gw_curl subca "$URL/"
expect_eq "a mapped CA:TRUE client certificate gets no response" "$(http_code)" 000
run openssl s_client -connect "127.0.0.1:$GW_PORT" -CAfile "$T/srv/ca.pem" -cert "$T/subca.pem" \
	-key "$T/subca.key" -tls1_2
expect_match "s_client: the handshake ends with a certificate-unknown alert" 'alert certificate unknown' "$ERR$OUT"
gw_curl ca1root "$URL/"
expect_eq "the trusted root itself, mapped, as a client certificate: refused" "$(http_code)" 000
gw_curl alice "$URL/"
expect_eq "alice still passes" "$(http_code)" 200
expect_match "log: reason ca-certificate with the sub-CA's fingerprint" \
	"\"reason\":\"ca-certificate\"" "$(grep "$(gw_fphex "$T/subca.pem")" "$GW_LOG")"
expect_match "log: the root refused as ca-certificate too" \
	"\"reason\":\"ca-certificate\"" "$(grep "$(gw_fphex "$T/ca1/ca.pem")" "$GW_LOG")"
expect_no_match "log: no request was made as subca or root" '"user":"(subca|root)"' "$(cat "$GW_LOG")"
expect_eq "metrics: three ca-certificate rejections" "$(metric 'mtlskit_gateway_rejections_total{reason="ca-certificate"}')" 3
gw_finish

# ---------------------------------------------------------------------------
# 4. TLS policy: on TLS 1.2 only ECDHE with AEAD; overrides checked name by name.
# sc ARGS...: one request through openssl s_client as alice; OUT has everything.
sc() {
	run bash -c "printf 'GET /tls HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | openssl s_client -connect 127.0.0.1:$GW_PORT -CAfile $T/srv/ca.pem -cert $T/alice.pem -key $T/alice.key -ign_eof $* 2>&1"
}
gw_conf "$T/tls.conf" "$B1"
gw_start tls "$T/tls.conf" || not_ok "gateway starts"
for c in AES128-SHA ECDHE-RSA-AES128-SHA ECDHE-ECDSA-AES256-SHA AES128-SHA256; do
	sc -tls1_2 -cipher "$c"
	expect_match "TLS 1.2 $c (CBC) refused: handshake failure" 'alert handshake failure|no cipher' "$OUT"
	expect_no_match "TLS 1.2 $c: no response" 'X-Client-User' "$OUT"
done
for c in AES128-GCM-SHA256 AES256-GCM-SHA384 DHE-RSA-AES128-GCM-SHA256; do
	sc -tls1_2 -cipher "$c"
	expect_match "TLS 1.2 $c (no ECDHE) refused: handshake failure" 'alert handshake failure|no cipher' "$OUT"
done
for c in ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305; do
	sc -tls1_2 -cipher "$c"
	expect_match "TLS 1.2 $c negotiated" "Cipher is $c" "$OUT"
	expect_match "TLS 1.2 $c: alice's request answered" 'X-Client-User: alice' "$OUT"
done
sc -tls1_3
expect_match "TLS 1.3 with OpenSSL's default suites" 'New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384' "$OUT"
sc -tls1_1
expect_no_match "TLS 1.1 refused" 'X-Client-User' "$OUT"
gw_finish

# Overrides: CBC on purpose, one TLS 1.3 suite.
gw_conf "$T/tls2.conf" "$B1" "tls_ciphers ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA" \
	"tls_ciphersuites TLS_CHACHA20_POLY1305_SHA256"
gw_start tls2 "$T/tls2.conf" || not_ok "gateway starts with tls_ciphers"
sc -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA
expect_match "tls_ciphers override: the CBC suite asked for is served" 'Cipher is ECDHE-ECDSA-AES128-SHA' "$OUT"
sc -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256
expect_match "tls_ciphers override: the default GCM suite is now off" 'alert handshake failure|no cipher' "$OUT"
sc -tls1_3
expect_match "tls_ciphersuites override: TLS 1.3 uses ChaCha20" 'Cipher is TLS_CHACHA20_POLY1305_SHA256' "$OUT"
sc -tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256
expect_no_match "tls_ciphersuites override: AES-GCM 1.3 suite refused" 'X-Client-User' "$OUT"
gw_finish
gw_conf "$T/tls3.conf" "$B1" "tls_ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA265"
check "$T/tls3.conf"
expect_eq "--check: a cipher name OpenSSL does not know exits 2" "$RC" 2
expect_match "--check: names the key and the element" "tls_ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA265' is not a cipher OpenSSL knows" "$ERR"
gw_conf "$T/tls4.conf" "$B1" "tls_ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_512_GCM"
check "$T/tls4.conf"
expect_eq "--check: an unknown TLS 1.3 suite exits 2" "$RC" 2
expect_match "--check: names tls_ciphersuites" "tls_ciphersuites: 'TLS_AES_512_GCM' is not a cipher suite" "$ERR"
gw_conf "$T/tls5.conf" "$B1" "tls_ciphers HIGH:!aNULL:!kRSA:@STRENGTH"
check "$T/tls5.conf"
expect_eq "--check: operators and @ directives are accepted" "$RC" 0

# ---------------------------------------------------------------------------
# 5. CRLs: verified once at load (issuer among the CAs, signature), checked
# per handshake by serial; expired CRLs warned about and exported.
gw_conf "$T/crlx.conf" "$B1" "crl $T/crl2.pem"
check "$T/crlx.conf"
expect_eq "--check: a CRL whose issuer is not a configured CA exits 3" "$RC" 3
expect_match "--check: names FILE:LINE and the issuer" "crl2.pem:1: the CRL's issuer CN=Client CA Two,O=mtlskit tests is not one of the configured CAs|crl2.pem:1: the CRL's issuer O=mtlskit tests,CN=Client CA Two is not one of the configured CAs" "$ERR"
# An impostor CA with CA 1's name and another key signs a CRL.
mkdir -p "$T/imp"
cp "$T/ca1/ca.cnf" "$T/imp/ca.cnf"
sed -i "s#$T/ca1#$T/imp#g" "$T/imp/ca.cnf"
mkdir -p "$T/imp/new"; : >"$T/imp/index.txt"; echo 1000 >"$T/imp/serial"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/imp/ca.key" 2>/dev/null
openssl req -x509 -new -key "$T/imp/ca.key" -subj "/CN=Client CA One/O=mtlskit tests" -days 30 -out "$T/imp/ca.pem" 2>/dev/null
openssl ca -batch -config "$T/imp/ca.cnf" -gencrl -out "$T/imp.crl" 2>/dev/null
cat "$T/crl1.pem" "$T/imp.crl" >"$T/crl-imp.pem"
gw_conf "$T/crli.conf" "$B1" "crl $T/crl-imp.pem"
check "$T/crli.conf"
expect_eq "--check: a CRL whose signature does not verify exits 3" "$RC" 3
expect_match "--check: the bad signature names FILE:LINE of the second CRL" \
	"crl-imp.pem:$(($(lines "$T/crl1.pem") + 1)): the CRL's signature does not verify with the key of CA" "$ERR"
# A partitioned CRL (issuingDistributionPoint onlyuser): refused at load.
printf '[ crl_ext ]\nissuingDistributionPoint = critical, @idp\n[ idp ]\nfullname = URI:http://crl.example/ca1.crl\nonlyuser = TRUE\n' >>"$T/ca1/ca.cnf"
openssl ca -batch -config "$T/ca1/ca.cnf" -crlexts crl_ext -gencrl -out "$T/crl-idp.pem" 2>/dev/null
gw_conf "$T/crlp.conf" "$B1" "crl $T/crl-idp.pem"
check "$T/crlp.conf"
expect_eq "--check: a CRL with an issuingDistributionPoint is refused (exit 3)" "$RC" 3
expect_match "--check: says it is not supported" 'crl-idp.pem:1: the CRL has an issuingDistributionPoint' "$ERR"

# Serving: CA 1 with its CRL, CA 2 without one.
gw_conf "$T/crl.conf" "$B1" "ca $T/ca2/ca.pem" "crl $T/crl1.pem"
gw_start crl "$T/crl.conf" || not_ok "gateway starts with a CRL"
URL="https://127.0.0.1:$GW_PORT"
gw_curl alice "$URL/"
expect_eq "CRL: alice (not revoked) passes" "$(http_code)" 200
run openssl s_client -connect "127.0.0.1:$GW_PORT" -CAfile "$T/srv/ca.pem" -cert "$T/revoked.pem" -key "$T/revoked.key" -tls1_2
expect_match "CRL: the revoked client hears the certificate revoked alert" 'alert certificate revoked' "$ERR$OUT"
gw_curl bob "$URL/"
expect_eq "CRL: bob (CA 2 has no CRL) is refused" "$(http_code)" 000
expect_match "log: revoked, with the revoked certificate's fingerprint" '"reason":"revoked"' "$(grep "$(gw_fphex "$T/revoked.pem")" "$GW_LOG")"
expect_match "log: crl-unavailable for bob" '"reason":"crl-unavailable"' "$(grep "$(gw_fphex "$T/bob.pem")" "$GW_LOG")"
nu=$(date -u -d "$(openssl crl -in "$T/crl1.pem" -noout -nextupdate | sed 's/^nextUpdate=//')" +%s)
expect_eq "metrics: the CRL's nextUpdate gauge" \
	"$(metric "mtlskit_gateway_crl_next_update_seconds{file=\"$T/crl1.pem\",line=\"1\",issuer=\"O=mtlskit tests,CN=Client CA One\"}")" "$nu"
expect_no_match "log: no warning for a current CRL" '"event":"warning"' "$(cat "$GW_LOG")"

# Reload to an expired CRL: accepted (the CA said so) but warned about, and
# every certificate of CA 1 is then refused as crl-unavailable.
openssl ca -batch -config "$T/ca1/ca.cnf" -gencrl -crl_lastupdate 20200101000000Z \
	-crl_nextupdate 20200201000000Z -out "$T/crl1-old.pem" 2>/dev/null
expect_match "fixture: the old CRL's nextUpdate is in 2020" 'nextUpdate=Feb  1 00:00:00 2020 GMT' "$(openssl crl -in "$T/crl1-old.pem" -noout -nextupdate)"
gw_conf "$T/crl-old.conf" "$B1" "ca $T/ca2/ca.pem" "crl $T/crl1-old.pem" "crl $T/crl2.pem"
check "$T/crl-old.conf"
expect_eq "--check: an expired CRL still loads (exit 0)" "$RC" 0
expect_match "--check: warns, naming FILE:LINE and nextUpdate" "warning: .*crl1-old.pem:1: the CRL of O=mtlskit tests,CN=Client CA One is past its nextUpdate \(2020-02-01T00:00:00Z\)" "$ERR"
swap "$T/crl-old.conf" "$T/crl.conf"
kill -HUP "$GW_PID"
for _ in $(seq 1 50); do grep -q '"event":"warning"' "$GW_LOG" && break; sleep 0.1; done
expect_match "reload with an expired CRL: ok" '"event":"reload".*"result":"ok"|"result":"ok".*"event":"reload"' "$(grep '"reload"' "$GW_LOG")"
expect_eq "reload with an expired CRL: exactly one warning line" "$(grep -c '"event":"warning"' "$GW_LOG")" 1
expect_match "the warning names the file and nextUpdate" '"file":"[^"]*crl1-old.pem".*"next_update":"2020-02-01T00:00:00Z"' "$(grep '"event":"warning"' "$GW_LOG")"
expect_eq "metrics: the expired CRL's gauge" \
	"$(metric "mtlskit_gateway_crl_next_update_seconds{file=\"$T/crl1-old.pem\",line=\"1\",issuer=\"O=mtlskit tests,CN=Client CA One\"}")" 1580515200
gw_curl alice "$URL/"
expect_eq "expired CRL: alice is refused" "$(http_code)" 000
expect_eq "metrics: crl-unavailable counted (bob before, alice now)" "$(metric 'mtlskit_gateway_rejections_total{reason="crl-unavailable"}')" 2
gw_curl bob "$URL/"
expect_eq "CA 2's current CRL: bob passes now" "$(http_code)" 200
gw_finish
# Startup with the expired CRL: one JSON warning line in the log.
gw_start crlold "$T/crl-old.conf" || not_ok "gateway starts with an expired CRL"
expect_eq "startup with an expired CRL: one warning line" "$(grep -c '"event":"warning"' "$GW_LOG")" 1
expect_eq "every log line is JSON" "$(jq -c . "$GW_LOG" >/dev/null 2>&1 && echo yes)" yes
gw_finish

done_testing
