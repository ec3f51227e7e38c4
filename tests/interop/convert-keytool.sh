#!/usr/bin/env bash
# convert-keytool.sh - Java 17 keytool reads what `convert --to pkcs12`
# writes (aliases, entry types, fingerprints, trusted entries), and convert
# reads what keytool writes (modern and the old-Java legacy flavour).
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "${BASH_SOURCE[0]}")/../cli/convert.fixtures"
command -v keytool >/dev/null || { echo "1..0 # SKIP keytool not installed"; exit 0; }
mkfix
cd "$T" || exit 1
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }

# --- keytool reads our java profile with a trusted entry ---
expect_rc 0 "java profile with --trusted" "$MTLSKIT" convert "$FX/leaf.pem" "$FX/leaf.key" "$FX/cas.pem" \
	--to pkcs12 --compat java --alias MID-Client --trusted "$FX/root.pem" --out-pass env:PW -o java.p12
run keytool -list -v -storetype PKCS12 -keystore java.p12 -storepass:env PW
L=$OUT
expect_eq "keytool: exit 0" "$RC" 0
expect_match "keytool: 2 entries" 'Your keystore contains 2 entries' "$L"
expect_match "keytool: key alias lower-cased" '^Alias name: mid-client$' "$L"
expect_match "keytool: trusted alias" '^Alias name: convert test root$' "$L"
keyblk=$(printf '%s\n' "$L" | awk '/^Alias name: mid-client$/,/^\*\*\*\*\*/')
trblk=$(printf '%s\n' "$L" | awk '/^Alias name: convert test root$/,/^\*\*\*\*\*/')
expect_match "keytool: mid-client is a PrivateKeyEntry" 'Entry type: PrivateKeyEntry' "$keyblk"
expect_match "keytool: chain length 3" 'Certificate chain length: 3' "$keyblk"
expect_match "keytool: leaf fingerprint" "SHA256: $(fp "$FX/leaf.pem")" "$keyblk"
expect_match "keytool: intermediate fingerprint" "SHA256: $(fp "$FX/int.pem")" "$keyblk"
expect_match "keytool: root is a trustedCertEntry" 'Entry type: trustedCertEntry' "$trblk"
expect_match "keytool: trusted fingerprint" "SHA256: $(fp "$FX/root.pem")" "$trblk"

# keytool can move it into JKS (what the MID Server keystore is)
expect_rc 0 "keytool -importkeystore into JKS" keytool -importkeystore -noprompt -srckeystore java.p12 \
	-srcstoretype PKCS12 -srcstorepass:env PW -destkeystore out.jks -deststoretype JKS -deststorepass:env PW
run keytool -list -storetype JKS -keystore out.jks -storepass:env PW
expect_match "JKS holds the key entry" 'mid-client, .*PrivateKeyEntry' "$OUT"

# modern and legacy profiles open in keytool too
for p in modern legacy; do
	expect_rc 0 "$p profile" "$MTLSKIT" convert "$FX/leaf.key" "$FX/leaf.pem" "$FX/cas.pem" --to pkcs12 \
		--compat $p --alias client --out-pass env:PW -o $p.p12
	run keytool -list -v -storetype PKCS12 -keystore $p.p12 -storepass:env PW
	expect_match "keytool lists $p: PrivateKeyEntry" 'Entry type: PrivateKeyEntry' "$OUT"
	expect_match "keytool lists $p: alias" '^Alias name: client$' "$OUT"
	expect_match "keytool lists $p: chain length 3" 'Certificate chain length: 3' "$OUT"
done

# --- we read what keytool writes ---
keytool -genkeypair -alias jkey -keyalg RSA -keysize 2048 -dname "CN=java.example.com" -validity 3 \
	-storetype PKCS12 -keystore kt.p12 -storepass:env PW 2>/dev/null
keytool -genkeypair -J-Dkeystore.pkcs12.legacy -alias oldjava -keyalg RSA -keysize 2048 \
	-dname "CN=oldjava.example.com" -validity 3 -storetype PKCS12 -keystore kt-legacy.p12 -storepass:env PW 2>/dev/null
for f in kt kt-legacy; do
	mtk --json convert $f.p12 --pass env:PW --split-out $f
	expect_eq "keytool's $f.p12: split exit 0" "$RC" 0
	expect_eq "keytool's $f.p12: key matches its certificate" \
		"$(pub_of $f.key)" "$(openssl x509 -in $f.crt -noout -pubkey)"
done
expect_rc 0 "old-Java PFX uses RC2/3DES (openssl needs -legacy)" openssl pkcs12 -info -noout -legacy -in kt-legacy.p12 -passin env:PW
expect_match "old-Java PFX: RC2 certificates" 'RC2' "$ERR"
mtk --json convert kt-legacy.p12 --pass env:PW --to pem -o kt-legacy.pem
expect_json "old-Java PFX: read with no flag, alias kept" '.key.alias' oldjava
done_testing
