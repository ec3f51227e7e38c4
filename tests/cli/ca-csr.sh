#!/usr/bin/env bash
# ca-csr.sh - `csr create`: what openssl reads in the request (subject,
# extensions, signature), every subject finding with a failing and a passing
# case, --subject parsing, keys in any format, and the certreq INF.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"

# The lead's README demo, exactly.
cd "$T" || exit 1
expect_rc 0 "README demo csr create" "$MTLSKIT" csr create --cn mid01.example.com --org "Example Corp" \
	--locality "San Diego" --state California --country US --usage client --new-key rsa:2048 \
	--key-out client.key -o client.csr
expect_mode "new key is 0600" client.key 600
expect_match "key is PKCS#8" '^-----BEGIN PRIVATE KEY-----' "$(head -1 client.key)"
run openssl req -in client.csr -verify -noout -text
expect_eq "openssl verifies the request signature" "$RC" 0
expect_match "subject as asked" 'Subject: C = US, ST = California, L = San Diego, O = Example Corp, CN = mid01.example.com' "$OUT"
expect_match "keyUsage critical" 'X509v3 Key Usage: critical' "$OUT"
expect_match "digitalSignature + keyEncipherment for RSA" 'Digital Signature, Key Encipherment' "$OUT"
expect_match "EKU clientAuth" 'TLS Web Client Authentication' "$OUT"
expect_no_match "no serverAuth for a client request" 'TLS Web Server Authentication' "$OUT"
expect_match "SHA-256 signature" 'sha256WithRSAEncryption' "$OUT"
expect_eq "request key is client.key" "$(openssl req -in client.csr -noout -pubkey)" "$(openssl pkey -in client.key -pubout)"

# EC P-256, server+client, SANs of every kind
expect_rc 0 "csr with SANs, usage both" "$MTLSKIT" csr create --cn web.example.com --org "Example Corp" --country DE \
	--usage both --san DNS:web.example.com,DNS:www.example.com --san IP:10.0.0.5,IP:2001:db8::1 \
	--san email:ops@example.com --san URI:https://web.example.com/id --new-key ec:P-256 --key-out ec.key -o ec.csr
run openssl req -in ec.csr -verify -noout -text
expect_eq "EC: digitalSignature only" "$(echo "$OUT" | grep -A1 'Key Usage: critical' | tail -1 | tr -d ' ')" "DigitalSignature"
expect_no_match "EC: no keyEncipherment" 'Key Encipherment' "$OUT"
expect_match "EKU server and client" 'TLS Web Server Authentication, TLS Web Client Authentication' "$OUT"
expect_match "SAN DNS" 'DNS:web.example.com, DNS:www.example.com' "$OUT"
expect_match "SAN IPv4 and IPv6" 'IP Address:10.0.0.5, IP Address:2001:DB8:0:0:0:0:0:1' "$OUT"
expect_match "SAN email" 'email:ops@example.com' "$OUT"
expect_match "SAN URI" 'URI:https://web.example.com/id' "$OUT"
expect_match "ecdsa-with-SHA256" 'ecdsa-with-SHA256' "$OUT"

# P-384 signs with SHA-384; Ed25519 works
expect_rc 0 "P-384 request" "$MTLSKIT" csr create --cn a.example.com --new-key ec:P-384 --key-out p384.key -o p384.csr
expect_match "P-384 uses SHA-384" 'ecdsa-with-SHA384' "$(openssl req -in p384.csr -noout -text)"
expect_rc 0 "Ed25519 request" "$MTLSKIT" csr create --cn a.example.com --new-key ed25519 --key-out ed.key -o ed.csr
expect_rc 0 "openssl verifies the Ed25519 request" openssl req -in ed.csr -verify -noout

# --subject one-liner with escapes
mtk --json csr create --subject '/C=US/ST=California/L=San Diego/O=Example\/Corp/OU=IT/CN=mid02.example.com' \
	--key ec.key -o subj.csr
expect_eq "--subject accepted" "$RC" 0
expect_match "escaped slash kept" 'O = Example/Corp' "$(openssl req -in subj.csr -noout -subject)"
expect_match "subject order kept" 'subject=C = US, ST = California, L = San Diego, O = Example/Corp, OU = IT, CN = mid02.example.com' "$(openssl req -in subj.csr -noout -subject)"
expect_eq "existing --key is used" "$(openssl req -in subj.csr -noout -pubkey)" "$(openssl pkey -in ec.key -pubout)"
expect_rc 0 "--subject in the RFC 4514 / keytool form" "$MTLSKIT" csr create --subject 'CN=x.example.com, O=Example\, Inc., C=US' --key ec.key -o s3.csr
expect_match "comma form: most specific first, as /C=US/O=.../CN=... " 'subject=C = US, O = "Example, Inc.", CN = x.example.com' "$(openssl req -in s3.csr -noout -subject)"
expect_rc 2 "--subject empty" "$MTLSKIT" csr create --subject '' --key ec.key -o s2.csr
expect_rc 2 "--subject unknown attribute" "$MTLSKIT" csr create --subject '/CN=x.example.com/XX=1' --key ec.key -o s2.csr
expect_match "unknown attribute named" "unknown attribute 'XX'" "$ERR"
expect_rc 2 "--subject and --cn together" "$MTLSKIT" csr create --subject '/CN=x.example.com' --cn y.example.com --key ec.key -o s2.csr
expect_rc 2 "--san without type" "$MTLSKIT" csr create --cn x.example.com --san host.example.com --key ec.key -o s2.csr
expect_rc 2 "--san bad IP" "$MTLSKIT" csr create --cn x.example.com --san IP:300.1.1.1 --key ec.key -o s2.csr
expect_rc 2 "--key and --new-key together" "$MTLSKIT" csr create --cn x.example.com --key ec.key --new-key ec:P-256 --key-out z.key -o s2.csr
expect_no_file "nothing written on usage errors" s2.csr

# --- findings: failing and passing case of each ---
fcsr() { mtk --json csr create "$@" --key ec.key -o f.csr; }
fcsr --cn mid01.example.com --country USA
expect_eq "country USA: exit 1" "$RC" 1
expect_eq "country USA: subject-invalid" "$(finding_ids)" "subject-invalid"
expect_json "country USA: error severity" '.findings[0].severity' error
expect_json "country USA: says use US" '.findings[0].message | test("use --country US")' true
expect_no_file "country USA: nothing written" f.csr
fcsr --cn mid01.example.com --country US
expect_eq "country US: exit 0" "$RC" 0
expect_eq "country US: no findings" "$(finding_ids)" ""
rm -f f.csr
for bad in us UK XX ZZ EU; do
	fcsr --cn mid01.example.com --country "$bad"
	expect_eq "country $bad: subject-invalid error" "$RC/$(finding_ids)" "1/subject-invalid"
done
rm -f f.csr
for good in GB DE AX SS CW BQ; do
	fcsr --cn mid01.example.com --country "$good" --force
	expect_eq "country $good accepted" "$RC/$(finding_ids)" "0/"
done
rm -f f.csr
fcsr --cn mid01.example.com --org ""
expect_eq "empty O: subject-invalid" "$RC/$(finding_ids)" "1/subject-invalid"
long65=$(printf 'a%.0s' $(seq 1 61)).com
long64=$(printf 'a%.0s' $(seq 1 60)).com
fcsr --cn "$long65"
expect_eq "CN of 65 characters: subject-invalid" "$RC/$(finding_ids)" "1/subject-invalid"
expect_json "CN over-long message" '.findings[0].message | test("at most 64")' true
fcsr --cn "$long64"
expect_eq "CN of 64 characters passes" "$RC/$(finding_ids)" "0/"
rm -f f.csr
fcsr --cn mid01.example.com --org "$(printf 'O%.0s' $(seq 1 65))"
expect_eq "O of 65 characters: subject-invalid" "$RC/$(finding_ids)" "1/subject-invalid"
fcsr --cn mid01.example.com --locality "$(printf 'L%.0s' $(seq 1 129))"
expect_eq "L of 129 characters: subject-invalid" "$RC/$(finding_ids)" "1/subject-invalid"
fcsr --cn mid01.example.com --email "$(printf 'e%.0s' $(seq 1 250))@x.com"
expect_eq "email of 256 characters: subject-invalid" "$RC/$(finding_ids)" "1/subject-invalid"
fcsr --cn mid01.example.com --email not-an-address
expect_eq "email without @: subject-invalid" "$RC/$(finding_ids)" "1/subject-invalid"
fcsr --cn mid01.example.com --email admin@acme.service-now.com
expect_eq "email on service-now.com: subject-servicenow-domain" "$RC/$(finding_ids)" "1/subject-servicenow-domain"
fcsr --cn mid01.example.com --email pki@example.com
expect_eq "email pki@example.com passes" "$RC/$(finding_ids)" "0/"
rm -f f.csr
# abbreviated state / locality: warning only
for st in CA NY NSW; do
	fcsr --cn mid01.example.com --state "$st"
	expect_eq "state $st: warning, still written" "$RC/$(finding_ids)" "0/subject-invalid"
	expect_json "state $st: severity warning" '.findings[0].severity' warning
	rm -f f.csr
done
fcsr --cn mid01.example.com --locality "St. Louis"
expect_json "locality 'St. Louis': warning" '[.findings[].severity] | join(",")' warning
rm -f f.csr
fcsr --cn mid01.example.com --state "New South Wales" --locality "Sydney"
expect_eq "full state and locality: no finding" "$RC/$(finding_ids)" "0/"
rm -f f.csr
# ServiceNow's domain
for cn in '*.service-now.com' 'acme.service-now.com' 'service-now.com' 'x.servicenow.com' 'ACME.Service-Now.COM'; do
	fcsr --cn "$cn"
	expect_eq "CN $cn: subject-servicenow-domain" "$RC/$(finding_ids)" "1/subject-servicenow-domain"
done
fcsr --cn mid01.example.com --san DNS:acme.service-now.com
expect_eq "SAN on service-now.com: subject-servicenow-domain" "$RC/$(finding_ids)" "1/subject-servicenow-domain"
fcsr --cn mid01.example.com --san DNS:notservice-now.com
expect_eq "a look-alike domain is not ServiceNow's" "$RC/$(finding_ids)" "0/"
rm -f f.csr
# server without FQDN
fcsr --cn "Web Server" --usage server
expect_eq "server without FQDN: subject-invalid error" "$RC/$(finding_ids)" "1/subject-invalid"
expect_json "server without FQDN: message asks for a SAN" '[.findings[] | select(.severity=="error") | .message] | join(" ") | test("--san DNS:")' true
fcsr --cn "Web Server" --usage server --san DNS:web.example.com
expect_eq "server with SAN DNS: passes (CN warning only)" "$RC" 0
rm -f f.csr
fcsr --cn web.example.com --usage server
expect_eq "server with FQDN CN: passes" "$RC/$(finding_ids)" "0/"
rm -f f.csr
# text mode prints the findings and writes nothing
run "$MTLSKIT" csr create --cn '*.service-now.com' --country USA --key ec.key -o t.csr
expect_eq "text mode: exit 1" "$RC" 1
expect_match "text mode prints the finding id" 'subject-servicenow-domain' "$ERR"
expect_match "text mode says nothing was written" 'nothing written' "$ERR"
expect_no_file "text mode: nothing written" t.csr
# --force writes despite error findings
mtk --json csr create --cn '*.service-now.com' --country USA --key ec.key -o forced.csr --force
expect_eq "--force: written, exit 1 (the findings stand, as bundle --force)" "$RC" 1
expect_eq "--force: findings still reported" "$(finding_ids)" "subject-invalid subject-servicenow-domain"
expect_rc 0 "--force: request written and valid" openssl req -in forced.csr -verify -noout

# keys in other formats and encrypted keys
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out pk8.pem 2>/dev/null
openssl rsa -in pk8.pem -traditional -out pkcs1.pem 2>/dev/null
openssl pkey -in pk8.pem -outform DER -out key.der
openssl pkey -in pk8.pem -aes256 -passout pass:rightpw -out enc.pem
for k in pkcs1.pem key.der; do
	expect_rc 0 "--key in $k" "$MTLSKIT" csr create --cn mid01.example.com --key "$k" -o "k-$k.csr"
	expect_eq "request from $k carries its key" "$(openssl req -in "k-$k.csr" -noout -pubkey)" "$(openssl pkey -in pk8.pem -pubout)"
done
export RIGHT=rightpw WRONG=wrongpw
expect_rc 0 "encrypted key with --pass" "$MTLSKIT" csr create --cn mid01.example.com --key enc.pem --pass env:RIGHT -o e1.csr
expect_rc 4 "encrypted key with the wrong password: exit 4" "$MTLSKIT" csr create --cn mid01.example.com --key enc.pem --pass env:WRONG -o e2.csr
expect_no_file "wrong password: nothing written" e2.csr
expect_rc 4 "encrypted key and no password: exit 4" "$MTLSKIT" csr create --cn mid01.example.com --key enc.pem -o e3.csr
expect_rc 3 "--key that is not a key: exit 3" "$MTLSKIT" csr create --cn mid01.example.com --key client.csr -o e4.csr
expect_no_file "no key: nothing written" e4.csr
# --new-key --out-pass encrypts the new key
expect_rc 0 "--new-key with --out-pass" "$MTLSKIT" csr create --cn mid01.example.com --new-key ec:P-256 --key-out enc-new.key --out-pass env:RIGHT -o e5.csr
expect_match "new key encrypted" 'ENCRYPTED PRIVATE KEY' "$(head -1 enc-new.key)"
expect_eq "request carries the encrypted key" "$(openssl req -in e5.csr -noout -pubkey)" "$(openssl pkey -in enc-new.key -passin env:RIGHT -pubout)"
# existing outputs
expect_rc 2 "existing CSR is not replaced" "$MTLSKIT" csr create --cn mid01.example.com --new-key ec:P-256 --key-out n1.key -o client.csr
expect_no_file "no key made when the CSR exists" n1.key

# --- certreq INF ---
expect_rc 0 "--certreq-inf (RSA)" "$MTLSKIT" csr create --cn mid01.example.com --org "Example Corp" --locality "San Diego" \
	--state California --country US --san DNS:mid01.example.com,IP:10.1.2.3 --new-key rsa:2048 --key-out inf.key \
	-o inf.csr --certreq-inf req.inf
inf=$(tr -d '\r' <req.inf)
expect_match "INF has CRLF line endings" $'\r$' "$(head -1 req.inf)"
for want in '^\[Version\]$' '^Signature="\$Windows NT\$"$' '^\[NewRequest\]$' \
	'^Subject = "CN=mid01.example.com, O=Example Corp, L=San Diego, S=California, C=US"$' \
	'^KeyLength = 2048$' '^KeyAlgorithm = RSA$' '^KeySpec = 1$' '^Exportable = TRUE$' '^MachineKeySet = TRUE$' \
	'^ProviderName = "Microsoft RSA SChannel Cryptographic Provider"$' '^ProviderType = 12$' \
	'^RequestType = PKCS10$' '^KeyUsage = 0xa0$' '^HashAlgorithm = SHA256$' \
	'^\[EnhancedKeyUsageExtension\]$' '^OID=1\.3\.6\.1\.5\.5\.7\.3\.2$' '^\[Extensions\]$' \
	'^2\.5\.29\.17 = "\{text\}"$' '^_continue_ = "dns=mid01\.example\.com&"$' '^_continue_ = "ipaddress=10\.1\.2\.3&"$'; do
	expect_match "INF: $want" "$want" "$inf"
done
expect_no_match "client INF has no serverAuth" '1\.3\.6\.1\.5\.5\.7\.3\.1' "$inf"
expect_rc 0 "--certreq-inf (EC, server)" "$MTLSKIT" csr create --cn web.example.com --usage server --san DNS:web.example.com \
	--new-key ec:P-256 --key-out infec.key -o infec.csr --certreq-inf ec.inf
inf=$(tr -d '\r' <ec.inf)
for want in '^KeyAlgorithm = ECDSA_P256$' '^KeyLength = 256$' '^ProviderName = "Microsoft Software Key Storage Provider"$' \
	'^KeyUsage = 0x80$' '^OID=1\.3\.6\.1\.5\.5\.7\.3\.1$' '^Exportable = TRUE$' '^MachineKeySet = TRUE$' '^RequestType = PKCS10$'; do
	expect_match "EC INF: $want" "$want" "$inf"
done
expect_no_match "EC INF has no KeySpec" '^KeySpec' "$inf"
expect_rc 0 "--certreq-inf P-384" "$MTLSKIT" csr create --cn a.example.com --new-key ec:P-384 --key-out i384.key -o i384.csr --certreq-inf p384.inf
expect_match "P-384 INF: SHA384 and ECDSA_P384" 'KeyAlgorithm = ECDSA_P384' "$(tr -d '\r' <p384.inf)"
expect_match "P-384 INF: HashAlgorithm SHA384" 'HashAlgorithm = SHA384' "$(tr -d '\r' <p384.inf)"
expect_rc 3 "--certreq-inf with Ed25519 is unsupported" "$MTLSKIT" csr create --cn a.example.com --new-key ed25519 --key-out ied.key -o ied.csr --certreq-inf ed.inf
expect_no_file "Ed25519 INF: nothing written (no key)" ied.key
expect_no_file "Ed25519 INF: nothing written (no csr)" ied.csr
expect_rc 0 "csr create --help" "$MTLSKIT" csr create --help
done_testing
