#!/usr/bin/env bash
# convert-keys.sh - keys in every form to PKCS#8 (plain, encrypted, DER),
# certificates DER <-> PEM, PKCS#7 to PEM, inputs in any order to one PEM in
# chain order.  openssl is the judge of every output.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "${BASH_SOURCE[0]}")/convert.fixtures"
mkfix
cd "$T" || exit 1
WANT=$(pub_of "$FX/leaf.key")

# --- keys: every input form -> unencrypted PKCS#8 ---
openssl rsa -in "$FX/leaf.key" -traditional -out pkcs1.pem 2>/dev/null
openssl rsa -in "$FX/leaf.key" -traditional -aes256 -passout env:PW -out legacy-enc.pem 2>/dev/null
openssl pkcs8 -topk8 -in "$FX/leaf.key" -v2 aes-256-cbc -passout env:PW -out p8-aes.pem
openssl pkcs8 -topk8 -in "$FX/leaf.key" -v2 des3 -v2prf hmacWithSHA1 -passout env:PW -out p8-des3.pem
openssl pkcs8 -topk8 -in "$FX/leaf.key" -scrypt -passout env:PW -out p8-scrypt.pem
openssl pkcs8 -topk8 -in "$FX/leaf.key" -v1 PBE-SHA1-3DES -passout env:PW -out p8-pbes1.pem
openssl pkcs8 -topk8 -in "$FX/leaf.key" -nocrypt -outform DER -out p8.der
expect_match "fixture is PKCS#1" 'BEGIN RSA PRIVATE KEY' "$(head -1 pkcs1.pem)"
for k in pkcs1.pem legacy-enc.pem p8-aes.pem p8-des3.pem p8-scrypt.pem p8-pbes1.pem p8.der "$FX/leaf.key"; do
	n=$(basename "$k")
	expect_rc 0 "$n -> pkcs8" "$MTLSKIT" convert "$k" --pass env:PW --to pkcs8 -o "$n.out"
	expect_eq "$n -> BEGIN PRIVATE KEY" "$(head -1 "$n.out")" "-----BEGIN PRIVATE KEY-----"
	expect_eq "$n -> same key as the original (openssl pkey -pubout)" "$(pub_of "$n.out")" "$WANT"
	expect_mode "$n -> key file is 0600" "$n.out" 600
done
openssl ecparam -name prime256v1 -genkey -noout -out sec1.pem 2>/dev/null
expect_match "fixture is SEC1" 'BEGIN EC PRIVATE KEY' "$(head -1 sec1.pem)"
expect_rc 0 "SEC1 -> pkcs8" "$MTLSKIT" convert sec1.pem --to pkcs8 -o sec1.p8
expect_eq "SEC1 -> BEGIN PRIVATE KEY" "$(head -1 sec1.p8)" "-----BEGIN PRIVATE KEY-----"
expect_eq "SEC1 -> same EC key" "$(pub_of sec1.p8)" "$(pub_of sec1.pem)"
openssl genpkey -algorithm ed25519 -out ed.pem 2>/dev/null
expect_rc 0 "Ed25519 -> pkcs8" "$MTLSKIT" convert ed.pem --to pkcs8 -o ed.p8
expect_eq "Ed25519 -> same key" "$(pub_of ed.p8)" "$(pub_of ed.pem)"

# wrong / missing password on an encrypted key
expect_rc 4 "encrypted PKCS#8 with the wrong password: exit 4" \
	env PW=nope "$MTLSKIT" convert p8-aes.pem --pass env:PW --to pkcs8 -o wrong.p8
expect_match "says wrong password" 'wrong password' "$ERR"
expect_no_file "nothing written on a wrong password" wrong.p8
expect_rc 4 "encrypted key with no password (no terminal): exit 4" \
	"$MTLSKIT" convert legacy-enc.pem --to pkcs8 -o nopass.p8
expect_no_file "nothing written without the password" nopass.p8

# --out-pass: PBES2 / PBKDF2-HMAC-SHA256 / AES-256-CBC
expect_rc 0 "encrypted PKCS#8 out" env OP=outpw "$MTLSKIT" convert pkcs1.pem --to pkcs8 --out-pass env:OP -o enc.p8
expect_eq "encrypted -> BEGIN ENCRYPTED PRIVATE KEY" "$(head -1 enc.p8)" "-----BEGIN ENCRYPTED PRIVATE KEY-----"
asn=$(openssl asn1parse -in enc.p8 2>&1)
expect_match "PBES2" 'PBES2' "$asn"
expect_match "PBKDF2" 'PBKDF2' "$asn"
expect_match "HMAC-SHA256" 'hmacWithSHA256' "$asn"
expect_match "AES-256-CBC" 'aes-256-cbc' "$asn"
expect_eq "openssl decrypts it to the same key" "$(openssl pkey -in enc.p8 -passin pass:outpw -pubout)" "$WANT"
expect_mode "encrypted key is 0600" enc.p8 600

# --to der of a key: DER PKCS#8
expect_rc 0 "key -> der" "$MTLSKIT" convert legacy-enc.pem --pass env:PW --to der -o key.der
expect_eq "DER PKCS#8 read by openssl" "$(openssl pkey -inform DER -in key.der -pubout)" "$WANT"
expect_match "DER is PKCS#8 (AlgorithmIdentifier rsaEncryption, not PKCS#1)" 'd=2 .*OBJECT +:rsaEncryption' "$(openssl asn1parse -inform DER -in key.der | sed -n 4p)"
expect_mode "DER key is 0600" key.der 600
expect_rc 2 "key + certificates -> der is refused (one object)" \
	"$MTLSKIT" convert "$FX/leaf.key" "$FX/leaf.pem" --to der -o both.der
expect_no_file "nothing written" both.der

# existing output is never replaced without --force
expect_rc 2 "existing output: exit 2" "$MTLSKIT" convert pkcs1.pem --to pkcs8 -o enc.p8
expect_match "existing output: says --force" 'force' "$ERR"
expect_rc 0 "--force replaces it" "$MTLSKIT" convert pkcs1.pem --to pkcs8 -o enc.p8 --force
expect_eq "replaced with the plain key" "$(head -1 enc.p8)" "-----BEGIN PRIVATE KEY-----"

# --- certificates ---
expect_rc 0 "PEM -> DER" "$MTLSKIT" convert "$FX/leaf.pem" --to der -o leaf.der
expect_eq "DER equals openssl's" "$(openssl x509 -in "$FX/leaf.pem" -outform DER | sha256sum)" "$(sha256sum <leaf.der)"
expect_mode "certificate is 0644" leaf.der 644
expect_rc 0 "DER -> PEM" "$MTLSKIT" convert leaf.der --to pem -o leaf.pem
expect_eq "PEM equals the original" "$(cat leaf.pem)" "$(openssl x509 -in "$FX/leaf.pem")"
expect_rc 2 "several certificates -> der is refused" "$MTLSKIT" convert "$FX/cas.pem" --to der -o cas.der

openssl crl2pkcs7 -nocrl -certfile "$FX/root.pem" -certfile "$FX/leaf.pem" -certfile "$FX/int.pem" -outform DER -out b.p7b
expect_rc 0 "PKCS#7 .p7b -> PEM" "$MTLSKIT" --json convert b.p7b --to pem -o p7.pem
expect_eq "three certificates" "$(grep -c 'BEGIN CERTIFICATE' p7.pem)" 3
expect_eq "leaf first" "$(openssl x509 -in p7.pem -noout -subject)" "subject=CN = mid01.example.com, O = Example"
expect_json "JSON: chain complete" '.chain_complete' true
expect_json "JSON: chain of two issuers" '.chain | length' 2

# several inputs in the wrong order -> one PEM leaf -> root
expect_rc 0 "root, leaf, intermediate -> one PEM" "$MTLSKIT" --json convert "$FX/root.pem" "$FX/leaf.pem" "$FX/int.pem" --to pem -o chain.pem
expect_json "JSON: reordered" '.reordered' true
subs=$(openssl crl2pkcs7 -nocrl -certfile chain.pem | openssl pkcs7 -print_certs -noout | grep '^subject' | tr '\n' '|')
expect_eq "order leaf -> intermediate -> root" "$subs" "subject=CN = mid01.example.com, O = Example|subject=CN = Convert Test Issuing CA, O = Example|subject=CN = Convert Test Root, O = Example|"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -out other.pem -subj "/CN=Unrelated" -days 3 2>/dev/null
expect_rc 0 "an unrelated certificate is appended" "$MTLSKIT" --json convert other.pem "$FX/int.pem" "$FX/leaf.pem" "$FX/root.pem" --to pem -o mixed.pem
expect_match "with a warning" 'not part of the chain' "$ERR"
expect_json "JSON: one unrelated" '.unrelated[0].subject' "CN=Unrelated"
expect_eq "unrelated one is last" "$(openssl crl2pkcs7 -nocrl -certfile mixed.pem | openssl pkcs7 -print_certs -noout | grep '^subject' | tail -1)" "subject=CN = Unrelated"

# key + certificates -> PEM bundle: certificates leaf -> root, then the key
expect_rc 0 "key and certificates -> PEM bundle" "$MTLSKIT" convert "$FX/leaf.key" "$FX/root.pem" "$FX/int.pem" "$FX/leaf.pem" --to pem -o bundle.pem
expect_eq "bundle: key last, PKCS#8" "$(grep BEGIN bundle.pem | tr '\n' '|')" "-----BEGIN CERTIFICATE-----|-----BEGIN CERTIFICATE-----|-----BEGIN CERTIFICATE-----|-----BEGIN PRIVATE KEY-----|"
expect_mode "bundle with a key is 0600" bundle.pem 600
expect_rc 0 "openssl verifies the bundle's leaf with its chain" openssl verify -CAfile "$FX/root.pem" -untrusted bundle.pem bundle.pem
mtk --json convert "$FX/leaf.key" "$FX/leaf.pem" "$FX/cas.pem" --to pem --out-pass env:PW -o bundle-enc.pem
expect_json "bundle with --out-pass: exit 0" '.exit' 0
expect_json "bundle in order: not reordered" '.reordered' false
expect_eq "bundle with --out-pass: key encrypted" "$(grep -c 'BEGIN ENCRYPTED PRIVATE KEY' bundle-enc.pem)" 1
expect_eq "openssl decrypts the bundle's key" "$(openssl pkey -in bundle-enc.pem -passin env:PW -pubout)" "$WANT"
openssl req -new -key "$FX/leaf.key" -subj /CN=x -out x.csr
expect_rc 0 "a CSR among the inputs is skipped" "$MTLSKIT" convert x.csr "$FX/leaf.pem" --to pem -o withcsr.pem
expect_match "with a warning" '1 object .*not converted' "$ERR"


# usage
expect_rc 2 "--to pkcs8 with only certificates: exit 2" "$MTLSKIT" convert "$FX/leaf.pem" --to pkcs8 -o nokey.p8
expect_match "says there is no private key" 'no private key' "$ERR"
expect_rc 2 "unknown --to: exit 2" "$MTLSKIT" convert "$FX/leaf.pem" --to xml -o x
expect_rc 2 "no -o: exit 2" "$MTLSKIT" convert "$FX/leaf.pem" --to pem
expect_rc 0 "--help" "$MTLSKIT" convert --help
expect_match "--help names --split-out" 'split-out' "$OUT"
expect_rc 3 "a missing input: exit 3" "$MTLSKIT" convert nosuch.pem --to pem -o x.pem
done_testing
