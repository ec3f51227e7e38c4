#!/usr/bin/env bash
# convert-jks.sh - `mtlskit convert --to jks|jceks|pkcs12` proven by keytool:
# a bundle becomes a JKS/JCEKS key entry with its full chain and trusted
# entries; whole stores convert between types with every entry kept; keytool's
# own stores convert back.  Passwords come from the environment only.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
cd "$T" || exit 1
export SP='store-pass-1' NP='new-pass-22'

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem \
	-subj "/CN=JKS Test Root" -days 3650 -addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj "/CN=mid01.example.com" 2>/dev/null
printf 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n' >leaf.ext
openssl x509 -req -in leaf.csr -CA root.pem -CAkey root.key -CAcreateserial -days 90 \
	-extfile leaf.ext -out leaf.pem 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -out other.pem \
	-subj "/CN=Partner CA" -days 3650 2>/dev/null
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//'; }
kt_list() { keytool -list -v -storetype "$1" -keystore "$2" -storepass "$3" 2>/dev/null; }

# --- parts in any order → JKS key entry with chain, plus a trusted entry
expect_rc 0 "bundle parts → JKS" "$MTLSKIT" convert root.pem leaf.key leaf.pem --to jks --alias Outbound \
	--trusted other.pem -o out.jks --out-pass env:SP
expect_mode "JKS is mode 0600" out.jks 600
expect_eq "JKS magic FEEDFEED" "$(head -c 4 out.jks | od -An -tx1 | tr -d ' ')" feedfeed
L=$(kt_list JKS out.jks "$SP")
expect_match "keytool: 2 entries" 'Your keystore contains 2 entries' "$L"
expect_match "keytool: alias stored lower-case, PrivateKeyEntry" 'Alias name: outbound' "$L"
expect_match "keytool: chain length 2" 'Certificate chain length: 2' "$L"
expect_match "keytool: the leaf's SHA-256" "SHA256: $(fp leaf.pem)" "$L"
expect_match "keytool: the root in the chain" "SHA256: $(fp root.pem)" "$L"
expect_match "keytool: trusted entry for the partner CA" 'Entry type: trustedCertEntry' "$L"
expect_match "keytool: partner CA fingerprint" "SHA256: $(fp other.pem)" "$L"
# the key keytool recovers is ours
keytool -importkeystore -srckeystore out.jks -srcstoretype JKS -srcstorepass "$SP" -destkeystore rt.p12 \
	-deststoretype PKCS12 -deststorepass "$SP" -noprompt >/dev/null 2>&1
openssl pkcs12 -in rt.p12 -nocerts -nodes -passin env:SP 2>/dev/null | openssl pkey -pubout >rt.pub 2>/dev/null
openssl pkey -in leaf.key -pubout >leaf.pub
expect_eq "keytool recovers our private key" "$(cat rt.pub)" "$(cat leaf.pub)"

# --- JCEKS from the same parts
expect_rc 0 "bundle → JCEKS" "$MTLSKIT" convert leaf.pem leaf.key root.pem --to jceks -o out.jceks --out-pass env:SP
expect_eq "JCEKS magic CECECECE" "$(head -c 4 out.jceks | od -An -tx1 | tr -d ' ')" cececece
expect_match "keytool reads our JCEKS key entry (alias mykey)" 'Alias name: mykey' "$(kt_list JCEKS out.jceks "$SP")"

# --- whole stores: JKS → PKCS12 → (keytool) and JKS → JCEKS, every entry kept
expect_rc 0 "JKS → PKCS12 (whole store)" "$MTLSKIT" convert out.jks --to pkcs12 -o whole.p12 --pass env:SP --out-pass env:NP
L=$(kt_list PKCS12 whole.p12 "$NP")
expect_match "PKCS12: 2 entries" 'Your keystore contains 2 entries' "$L"
expect_match "PKCS12: trusted entry kept (Java attribute)" 'Entry type: trustedCertEntry' "$L"
expect_match "PKCS12: key entry kept" 'Entry type: PrivateKeyEntry' "$L"
mtk --json convert out.jks --to jceks -o whole.jceks --pass env:SP --out-pass env:NP
expect_json "JKS → JCEKS reports 2 entries" '.entries' 2
expect_match "keytool lists both in the JCEKS" 'Your keystore contains 2 entries' "$(kt_list JCEKS whole.jceks "$NP")"

# --- keytool's own JKS converts to PKCS12 and is read back
keytool -genkeypair -alias kt -keyalg EC -dname CN=kt -storetype JKS -keystore kt.jks -storepass "$SP" \
	-keypass "$SP" -validity 30 >/dev/null 2>&1
expect_rc 0 "keytool's JKS → PKCS12" "$MTLSKIT" convert kt.jks --to pkcs12 -o kt.p12 --pass env:SP --out-pass env:SP
expect_match "keytool lists the converted entry" '^kt, .*PrivateKeyEntry' "$(keytool -list -storetype PKCS12 -keystore kt.p12 -storepass "$SP" 2>/dev/null)"

# --- errors: wrong store password, no output password, existing output
expect_rc 4 "wrong store password: exit 4" "$MTLSKIT" convert out.jks --to pkcs12 -o bad.p12 --pass pass:nope --out-pass env:NP
expect_match "says the keystore password is incorrect" 'password is incorrect or the file was altered' "$ERR"
expect_no_file "nothing written on a wrong password" bad.p12
expect_rc 2 "no --out-pass (no terminal): usage error" "$MTLSKIT" convert leaf.pem leaf.key --to jks -o x.jks
expect_rc 2 "existing output without --force" "$MTLSKIT" convert leaf.pem leaf.key --to jks -o out.jks --out-pass env:SP
expect_eq "the existing store is untouched" "$(kt_list JKS out.jks "$SP" | grep -c 'Alias name')" 2
done_testing
