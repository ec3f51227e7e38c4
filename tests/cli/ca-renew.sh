#!/usr/bin/env bash
# ca-renew.sh - `renew CERT`: the renewal request carries the certificate's
# subject, SANs, keyUsage and EKU (as openssl reads them); same key or new
# key; key-mismatch when the key is not the certificate's.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
cd "$T" || exit 1

"$MTLSKIT" ca init ca --name "Renew Root" --intermediate "Renew Issuing" --key-type ec:P-256 >/dev/null
"$MTLSKIT" csr create --cn mid01.example.com --org "Example Corp" --locality "San Diego" --state California \
	--country US --usage client --san DNS:mid01.example.com,IP:10.9.8.7 --new-key rsa:2048 --key-out old.key -o old.csr >/dev/null
"$MTLSKIT" ca sign ca old.csr --profile client -o old.crt >/dev/null

expect_rc 0 "renew with the same key" "$MTLSKIT" renew old.crt --key old.key -o renew.csr
run openssl req -in renew.csr -verify -noout -text
expect_eq "openssl verifies the renewal request" "$RC" 0
expect_eq "same subject" "$(openssl req -in renew.csr -noout -subject | sed 's/^subject=//')" \
	"$(openssl x509 -in old.crt -noout -subject | sed 's/^subject=//')"
expect_match "SANs carried" 'DNS:mid01.example.com, IP Address:10.9.8.7' "$OUT"
expect_match "keyUsage carried (critical)" 'X509v3 Key Usage: critical' "$OUT"
expect_match "keyUsage bits carried" 'Digital Signature, Key Encipherment' "$OUT"
expect_match "EKU carried" 'TLS Web Client Authentication' "$OUT"
expect_eq "same key" "$(openssl req -in renew.csr -noout -pubkey)" "$(openssl x509 -in old.crt -noout -pubkey)"
expect_rc 0 "the CA signs the renewal" "$MTLSKIT" ca sign ca renew.csr --profile client -o new.crt
expect_eq "renewed certificate has the old subject" "$(openssl x509 -in new.crt -noout -subject)" "$(openssl x509 -in old.crt -noout -subject)"
expect_match "renewed certificate has the SANs" 'DNS:mid01.example.com, IP Address:10.9.8.7' "$(openssl x509 -in new.crt -noout -ext subjectAltName)"

# new key
mtk --json renew old.crt --new-key ec:P-256 --key-out new.key -o renew2.csr
expect_eq "renew with a new key" "$RC" 0
expect_json "--json new_key" '.new_key' true
expect_mode "new key 0600" new.key 600
expect_eq "request carries the new key" "$(openssl req -in renew2.csr -noout -pubkey)" "$(openssl pkey -in new.key -pubout)"
run openssl req -in renew2.csr -noout -text
expect_eq "RSA -> EC: keyUsage keeps only digitalSignature" "$(echo "$OUT" | grep -A1 'Key Usage: critical' | tail -1 | tr -d ' ')" "DigitalSignature"
expect_match "RSA -> EC: EKU carried" 'TLS Web Client Authentication' "$OUT"

# certificate in DER and in a PFX
openssl x509 -in old.crt -outform DER -out old.der
expect_rc 0 "renew a DER certificate" "$MTLSKIT" renew old.der --key old.key -o renew3.csr
openssl pkcs12 -export -in old.crt -inkey old.key -passout pass:pfxpw -out old.p12 2>/dev/null
export PFXPW=pfxpw
expect_rc 0 "renew from a PFX (--pass), key from the PFX too" "$MTLSKIT" renew old.p12 --key old.p12 --pass env:PFXPW -o renew4.csr
expect_eq "PFX renewal keeps the key" "$(openssl req -in renew4.csr -noout -pubkey)" "$(openssl x509 -in old.crt -noout -pubkey)"

# key-mismatch: failing and passing case
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key 2>/dev/null
mtk --json renew old.crt --key other.key -o mismatch.csr
expect_eq "key that is not the certificate's: exit 1" "$RC" 1
expect_eq "key-mismatch finding" "$(finding_ids)" "key-mismatch"
expect_json "key-mismatch is an error" '.findings[0].severity' error
expect_json "key-mismatch fix says --new-key" '.findings[0].fix | test("--new-key")' true
expect_no_file "key-mismatch: nothing written" mismatch.csr
mtk --json renew old.crt --key old.key -o match.csr
expect_eq "matching key: no finding" "$RC/$(finding_ids)" "0/"
expect_rc 1 "key-mismatch with --force writes (exit 1: the finding stands)" "$MTLSKIT" renew old.crt --key other.key -o forced.csr --force
expect_eq "--force: request carries the given key" "$(openssl req -in forced.csr -noout -pubkey)" "$(openssl pkey -in other.key -pubout)"

# encrypted key, wrong password
openssl pkey -in old.key -aes256 -passout pass:right -out old-enc.key
export RIGHT=right WRONG=wrong
expect_rc 0 "encrypted key with --pass" "$MTLSKIT" renew old.crt --key old-enc.key --pass env:RIGHT -o e1.csr
expect_rc 4 "encrypted key, wrong --pass: exit 4" "$MTLSKIT" renew old.crt --key old-enc.key --pass env:WRONG -o e2.csr
expect_no_file "wrong password: nothing written" e2.csr

# a certificate on ServiceNow's domain is still flagged at renewal
"$MTLSKIT" csr create --cn acme.service-now.com --new-key ec:P-256 --key-out sn.key -o sn.csr --force >/dev/null 2>&1
"$MTLSKIT" ca sign ca sn.csr -o sn.crt >/dev/null
mtk --json renew sn.crt --key sn.key -o sn-renew.csr
expect_eq "renewing a service-now.com certificate: subject-servicenow-domain" "$RC/$(finding_ids)" "1/subject-servicenow-domain"

# --usage forces the use: a server certificate renewed as a client one asks
# for clientAuth only (what the leaf-no-client-auth fix runs)
"$MTLSKIT" csr create --cn srv.example.com --usage server --san DNS:srv.example.com --new-key rsa:2048 --key-out srv.key -o srv.csr >/dev/null 2>&1
"$MTLSKIT" ca sign ca srv.csr --profile server -o srv.crt >/dev/null
expect_rc 0 "renew --usage client" "$MTLSKIT" renew srv.crt --key srv.key --usage client -o srv-client.csr
run openssl req -in srv-client.csr -noout -text
expect_match "--usage client: the request asks for clientAuth" 'TLS Web Client Authentication' "$OUT"
expect_eq "--usage client: and not serverAuth" "$(printf '%s' "$OUT" | grep -c 'TLS Web Server Authentication')" 0
expect_match "--usage client: keyUsage as csr create sets it" 'Digital Signature, Key Encipherment' "$OUT"
expect_match "--usage client: the SAN is kept" 'DNS:srv.example.com' "$OUT"
expect_rc 0 "renew --usage both" "$MTLSKIT" renew srv.crt --key srv.key --usage both -o srv-both.csr
run openssl req -in srv-both.csr -noout -text
expect_match "--usage both: client and server" 'TLS Web Server Authentication, TLS Web Client Authentication|TLS Web Client Authentication, TLS Web Server Authentication' "$OUT"
mtk --json renew srv.crt --key srv.key --usage client -o srv-client2.csr
expect_json "--usage client: JSON says so" '.usage' client
expect_rc 2 "--usage nonsense: usage error" "$MTLSKIT" renew srv.crt --key srv.key --usage nonsense -o srv-x.csr

# usage errors and bad input
expect_rc 2 "renew needs --key or --new-key" "$MTLSKIT" renew old.crt -o x.csr
expect_rc 2 "--new-key needs --key-out" "$MTLSKIT" renew old.crt --new-key ec:P-256 -o x.csr
expect_rc 3 "renew a file without a certificate: exit 3" "$MTLSKIT" renew old.csr --key old.key -o x.csr
expect_rc 3 "renew a missing file: exit 3" "$MTLSKIT" renew nope.crt --key old.key -o x.csr
expect_no_file "bad input: nothing written" x.csr
expect_rc 0 "renew --help" "$MTLSKIT" renew --help
done_testing
