#!/usr/bin/env bash
# inspect-formats.sh - every certificate-side input (PEM bundle, DER, PKCS#7
# PEM/DER, CRL PEM/DER, CSR PEM/DER) described as openssl describes it.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$MTLSKIT_SRC/tests/lib/inspect-fixtures.sh"
mk_pki && mk_csr && mk_crl || { not_ok "fixtures"; done_testing; }
cd "$T" || exit 1

# --- a PEM bundle with three blocks -------------------------------------
mtk inspect --json bundle.pem
expect_eq "bundle: exit 0" "$RC" 0
expect_json "bundle: format pem" '.files[0].format' pem
expect_json "bundle: 3 blocks" '.files[0].blocks' 3
expect_json "bundle: 3 certificates" '[.files[0].objects[] | select(.type=="certificate")] | length' 3
expect_eq "bundle: block lines are the BEGIN lines grep finds" \
	"$(printf '%s' "$OUT" | jq -r '[.files[0].objects[].line] | join(" ")')" \
	"$(grep -n -- '-----BEGIN' bundle.pem | cut -d: -f1 | paste -sd' ')"
i=0
for c in leaf inter root; do
	expect_json "bundle[$i] $c: SHA-256 as openssl" ".files[0].objects[$i].sha256" "$(ossl_sha256 $c.pem)"
	expect_json "bundle[$i] $c: SHA-1 as openssl" ".files[0].objects[$i].sha1" \
		"$(openssl x509 -in $c.pem -noout -fingerprint -sha1 | sed 's/^[^=]*=//')"
	expect_json "bundle[$i] $c: serial as openssl" ".files[0].objects[$i].serial" "$(ossl_serial $c.pem)"
	expect_json "bundle[$i] $c: subject as openssl RFC 2253" ".files[0].objects[$i].subject" "$(ossl_subject $c.pem)"
	expect_json "bundle[$i] $c: issuer as openssl RFC 2253" ".files[0].objects[$i].issuer" \
		"$(openssl x509 -in $c.pem -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')"
	expect_json "bundle[$i] $c: notAfter as openssl" ".files[0].objects[$i].not_after" \
		"$(date -u -d "$(openssl x509 -in $c.pem -noout -enddate | sed 's/^notAfter=//')" +%Y-%m-%dT%H:%M:%SZ)"
	i=$((i + 1))
done
expect_json "leaf: serial 0a1b2c3d4e5f" '.files[0].objects[0].serial' 0a1b2c3d4e5f
expect_json "leaf: SANs in order" '.files[0].objects[0].san | join(",")' \
	"DNS:mid01.example.com,DNS:mid01,IP:10.1.2.3,email:ops@example.com"
expect_json "leaf: key usage" '.files[0].objects[0].key_usage | join(",")' "digitalSignature,keyEncipherment"
expect_json "leaf: key usage critical" '.files[0].objects[0].key_usage_critical' true
expect_json "leaf: EKU" '.files[0].objects[0].extended_key_usage | join(",")' "clientAuth,serverAuth"
expect_json "leaf: CA:FALSE" '.files[0].objects[0].basic_constraints.ca' false
expect_json "leaf: RSA 2048" '.files[0].objects[0].key | "\(.type) \(.bits)"' "RSA 2048"
expect_json "leaf: sha256WithRSA? no: signed by the EC intermediate" '.files[0].objects[0].signature_algorithm' ecdsa-with-SHA256
expect_json "leaf: days left 364 or 365" '.files[0].objects[0].days_left | . == 364 or . == 365' true
expect_json "leaf: not self-signed" '.files[0].objects[0].self_signed' false
ski=$(openssl x509 -in leaf.pem -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' ')
expect_json "leaf: SKI as openssl" '.files[0].objects[0].ski' "$ski"
iski=$(openssl x509 -in inter.pem -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' ')
expect_json "leaf: AKI is the intermediate's SKI" '.files[0].objects[0].aki' "$iski"
expect_json "inter: CA with path length 0" '.files[0].objects[1].basic_constraints | "\(.ca) \(.path_len) \(.critical)"' "true 0 true"
expect_json "root: EC P-256" '.files[0].objects[2].key | "\(.type) \(.curve) \(.bits)"' "EC P-256 256"
expect_json "root: self-signed" '.files[0].objects[2].self_signed' true
expect_json "clean bundle: no findings" '.findings | length' 0

mtk inspect --no-color bundle.pem
expect_match "text: header names the file, PEM and block count" '^bundle.pem: PEM, 3 blocks$' "$OUT"
expect_match "text: each block with its line" "certificate \(line $(grep -n -- '-----BEGIN' bundle.pem | sed -n 2p | cut -d: -f1)\)" "$OUT"
expect_match "text: SHA-256 line" "SHA-256 +$(ossl_sha256 leaf.pem)" "$OUT"
expect_match "text: days left" 'days left\)' "$OUT"
expect_no_match "text: no colour when piped" $'\033' "$OUT"

# --- DER certificate -----------------------------------------------------
openssl x509 -in leaf.pem -outform DER -out leaf.der
mtk inspect --json leaf.der
expect_json "DER: format der-certificate" '.files[0].format' der-certificate
expect_json "DER: no line numbers" '.files[0].objects[0].line' null
expect_json "DER: SHA-256 as openssl" '.files[0].objects[0].sha256' "$(ossl_sha256 leaf.der DER)"

# --- PKCS#7 PEM and DER -------------------------------------------------
openssl crl2pkcs7 -nocrl -certfile bundle.pem -out chain.p7b
openssl crl2pkcs7 -nocrl -certfile bundle.pem -outform DER -out chain-der.p7b
for f in chain.p7b chain-der.p7b; do
	mtk inspect --json $f
	expect_eq "$f: exit 0" "$RC" 0
	expect_json "$f: 3 certificates (as openssl pkcs7 -print_certs)" '.files[0].objects | length' \
		"$(openssl pkcs7 -in $f $([ $f = chain-der.p7b ] && echo -inform DER) -print_certs | grep -c -- '-----BEGIN CERTIFICATE')"
	expect_json "$f: leaf first, same SHA-256" '.files[0].objects[0].sha256' "$(ossl_sha256 leaf.pem)"
	expect_json "$f: root last, same SHA-256" '.files[0].objects[2].sha256' "$(ossl_sha256 root.pem)"
done
expect_json "DER p7b: format pkcs7" '.files[0].format' pkcs7
mtk inspect --json chain.p7b
expect_json "PEM p7b: all three from the block on line 1" '[.files[0].objects[].line] | unique | join(",")' 1

# --- CRL PEM and DER ----------------------------------------------------
for f in crl.pem crl.der; do
	mtk inspect --json $f inter.pem
	inf=$([ $f = crl.der ] && echo DER || echo PEM)
	expect_eq "$f: exit 0" "$RC" 0
	expect_json "$f: type crl" '.files[0].objects[0].type' crl
	expect_json "$f: issuer as openssl" '.files[0].objects[0].issuer' \
		"$(openssl crl -in $f -inform $inf -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')"
	expect_json "$f: revoked count as openssl" '.files[0].objects[0].revoked_count' \
		"$(openssl crl -in $f -inform $inf -noout -text | grep -c 'Serial Number:')"
	expect_json "$f: revoked serials as openssl" '[.files[0].objects[0].revoked[].serial] | sort | join(",")' \
		"$(openssl crl -in $f -inform $inf -noout -text | sed -n 's/.*Serial Number: //p' | tr 'A-F' 'a-f' | sort | paste -sd,)"
	expect_json "$f: the leaf revoked for keyCompromise" \
		'.files[0].objects[0].revoked[] | select(.serial=="0a1b2c3d4e5f") | .reason' keyCompromise
	expect_json "$f: CRL number as openssl" '.files[0].objects[0].crl_number' \
		"$(openssl crl -in $f -inform $inf -noout -crlnumber | sed 's/^crlNumber=0x//' | xargs -I{} printf '%d' 0x{})"
	expect_json "$f: nextUpdate as openssl" '.files[0].objects[0].next_update' \
		"$(date -u -d "$(openssl crl -in $f -inform $inf -noout -nextupdate | sed 's/^nextUpdate=//')" +%Y-%m-%dT%H:%M:%SZ)"
	expect_json "$f: signature verified by the intermediate given alongside" '.files[0].objects[0].verified_by.file' inter.pem
done
mtk inspect --no-color crl.pem
expect_match "CRL text: revoked 2 with serials" 'revoked +2: .*0a1b2c3d4e5f' "$OUT"

# --- CSR PEM and DER ----------------------------------------------------
for f in leaf.csr leaf.csr.der; do
	mtk inspect --json $f
	expect_json "$f: type certificate-request" '.files[0].objects[0].type' certificate-request
	expect_json "$f: subject as openssl" '.files[0].objects[0].subject' \
		"$(openssl req -in $f $([ $f = leaf.csr.der ] && echo -inform DER) -noout -subject -nameopt RFC2253 | sed 's/^subject=//')"
	expect_json "$f: requested SAN" '.files[0].objects[0].san | join(",")' "DNS:mid02.example.com"
	expect_json "$f: requested EKU" '.files[0].objects[0].extended_key_usage | join(",")' clientAuth
	expect_json "$f: key RSA 2048" '.files[0].objects[0].key.description' "RSA 2048"
done
expect_json "CSR DER: format der-csr" '.files[0].format' der-csr
# openssl 3.0 req -verify exits 0 either way: read what it says.
ossl_verify() { openssl req -in "$1" ${2:+-inform $2} -noout -verify 2>&1 | grep -q 'verify OK' && echo true || echo false; }
v=$(ossl_verify leaf.csr)
mtk inspect --json leaf.csr
expect_json "CSR: signature valid, as openssl req -verify" '.files[0].objects[0].signature_valid' "$v"
# Damage one byte of the subject: the self-signature no longer verifies.
python3 - "$T/leaf.csr.der" "$T/bad.csr.der" <<'EOF'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
i = d.find(b'mid02')
d[i] = ord('M')
open(sys.argv[2], 'wb').write(d)
EOF
v=$(ossl_verify bad.csr.der DER)
expect_eq "tampered CSR: openssl req -verify fails" "$v" false
mtk inspect --json bad.csr.der
expect_eq "tampered CSR: still described, exit 0" "$RC" 0
expect_json "tampered CSR: signature_valid false, as openssl" '.files[0].objects[0].signature_valid' false
mtk inspect --no-color bad.csr.der
expect_match "tampered CSR text: INVALID" 'signature +.*INVALID' "$OUT"

# --- hostile names: an ESC in the subject, a file name that is not UTF-8 --
F=$(printf 'odd\377name.pem')
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout odd.key \
	-subj "/CN=$(printf 'evil\033[31mred')" -days 30 -out "$F" 2>/dev/null
mtk inspect --json "$F"
expect_eq "hostile names: exit 0" "$RC" 0
expect_json "hostile names: valid JSON, file name escaped" '.files[0].file' 'odd\xFFname.pem'
expect_json "hostile names: ESC escaped in the subject" '.files[0].objects[0].subject' 'CN=evil\1B[31mred'
mtk inspect --no-color "$F"
expect_no_match "hostile names: no raw ESC reaches the terminal" $'\033' "$OUT"

# --- standard input -----------------------------------------------------
run sh -c "'$MTLSKIT' inspect --json - < leaf.pem"
expect_json "stdin: '-' is read" '.files[0].objects[0].sha256' "$(ossl_sha256 leaf.pem)"

done_testing
