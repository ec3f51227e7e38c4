#!/usr/bin/env bash
# convert-producers.sh - the files other tools make, made here at test time by
# each producer family (OpenSSL 3, Java 17 keytool, GnuTLS certtool, NSS
# pk12util, python cryptography, node-forge, Windows-style armour), read by
# inspect/convert, and every conversion read back by independent consumers
# (openssl, certtool, pk12util, keytool and a Java KeyStore program).
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
JAVA_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/java/ReadStores.java"
for t in keytool java certtool pk12util certutil; do
	command -v $t >/dev/null || { echo "1..0 # SKIP $t not installed (scripts/deps.sh test)"; exit 0; }
done
cd "$T" || exit 1
export PW=s3cret-Pass NPW=n3w-Pass1 WRONG=not-the-pass EMPTY=
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }
pub_of() { openssl pkey -in "$1" -pubout 2>/dev/null; }

# --- the PKI: root -> issuing CA -> RSA leaf, EC leaf; an unrelated root ---
ca_ext='basicConstraints=critical,CA:TRUE
keyUsage=keyCertSign,cRLSign'
printf '%s\n' "$ca_ext" >ca.ext
printf 'keyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n' >leaf.ext
openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -subj "/CN=Interop Root" \
	-days 30 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -subj "/CN=Unrelated Root" \
	-days 30 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout int.key -out int.csr -subj "/CN=Interop Issuing CA" 2>/dev/null
openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -CAcreateserial -out int.pem -days 30 \
	-extfile ca.ext 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj "/CN=mid01.example.com" 2>/dev/null
openssl x509 -req -in leaf.csr -CA int.pem -CAkey int.key -CAcreateserial -out leaf.pem -days 30 \
	-extfile leaf.ext 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec.key -out ec.csr \
	-subj "/CN=ec.example.com" 2>/dev/null
openssl x509 -req -in ec.csr -CA int.pem -CAkey int.key -CAcreateserial -out ec.pem -days 30 \
	-extfile leaf.ext 2>/dev/null
cat int.pem root.pem >cas.pem
FPL=$(fp leaf.pem) FPI=$(fp int.pem) FPR=$(fp root.pem) FPE=$(fp ec.pem) FPO=$(fp other.pem)
LEAFPUB=$(openssl x509 -in leaf.pem -noout -pubkey)

JAVA_ARGS=() # FILE TYPE PASSWORD triples, read by one JVM at the end
java_read() { JAVA_ARGS+=("$@"); }

# family NAME FILE PASS_ENV(or "") [FPS]: inspect, split, every conversion
# target and its read-back, wrong password, damaged copy.
family() {
	local n=$1 f=$2 pv=$3 want=${4:-"$FPL $FPI $FPR"} pass=() fps c
	[ -n "$pv" ] && pass=(--pass "env:$pv")
	mtk --json inspect "$f" "${pass[@]}"
	fps=$(printf '%s' "$OUT" | jq -r '[.files[0].objects[]?.sha256 // empty] | join(" ")')
	for c in $want; do
		expect_match "$n: inspect lists $c" "$c" "$fps"
	done
	mtk --json convert "$f" "${pass[@]}" --split-out "$n-split"
	expect_eq "$n: --split-out exit 0" "$RC" 0
	expect_eq "$n: the extracted key matches the leaf" "$(pub_of "$n-split.key")" "$LEAFPUB"
	# PEM: openssl and certtool see the same certificates
	mtk convert "$f" "${pass[@]}" --to pem -o "$n.pem"
	expect_eq "$n: --to pem exit 0" "$RC" 0
	expect_eq "$n: openssl reads the PEM key, it matches the leaf" "$(pub_of "$n.pem")" "$LEAFPUB"
	run certtool --certificate-info --infile "$n.pem"
	expect_match "$n: certtool reads the PEM leaf" 'mid01.example.com' "$OUT"
	expect_eq "$n: PEM holds leaf, issuing CA, root (openssl)" \
		"$(openssl crl2pkcs7 -nocrl -certfile "$n.pem" | openssl pkcs7 -print_certs | grep -c '^subject=')" 3
	# PKCS#8: openssl and certtool
	mtk convert "$f" "${pass[@]}" --to pkcs8 -o "$n.p8"
	expect_eq "$n: openssl reads the PKCS#8 key" "$(pub_of "$n.p8")" "$LEAFPUB"
	expect_rc 0 "$n: certtool reads the PKCS#8 key" certtool --key-info --infile "$n.p8"
	# PKCS#12, three profiles: openssl (all), certtool (legacy), pk12util (modern), Java (java, modern)
	for c in modern legacy java; do
		mtk convert "$f" "${pass[@]}" --to pkcs12 --compat $c --alias "$n" --out-pass env:NPW -o "$n-$c.p12"
		expect_eq "$n: --to pkcs12 --compat $c exit 0" "$RC" 0
		run openssl pkcs12 -in "$n-$c.p12" -passin env:NPW -nodes $([ $c = legacy ] && echo -legacy)
		expect_eq "$n: openssl reads the $c PFX: the key matches the leaf" "$(printf '%s\n' "$OUT" | pub_of /dev/stdin)" "$LEAFPUB"
		expect_eq "$n: openssl reads the $c PFX: 3 certificates" "$(printf '%s\n' "$OUT" | grep -c 'BEGIN CERTIFICATE')" 3
	done
	run certtool --p12-info --inder --infile "$n-legacy.p12" --password "$NPW"
	expect_eq "$n: certtool reads the legacy PFX: 3 certificates" "$(printf '%s\n' "$OUT" | grep -c 'BEGIN CERTIFICATE')" 3
	run pk12util -l "$n-modern.p12" -W "$NPW" -d "sql:$T/nss"
	expect_match "$n: pk12util lists the modern PFX's leaf" 'mid01.example.com' "$OUT"
	java_read "$n-java.p12" PKCS12 "$NPW" "$n-modern.p12" PKCS12 "$NPW"
	# JKS and JCEKS: keytool and the Java KeyStore API
	for c in jks jceks; do
		mtk convert "$f" "${pass[@]}" --to $c --alias "$n" --out-pass env:NPW -o "$n.$c"
		expect_eq "$n: --to $c exit 0" "$RC" 0
		java_read "$n.$c" "${c^^}" "$NPW"
	done
	run keytool -list -v -keystore "$n.jks" -storepass:env NPW
	expect_match "$n: keytool reads the JKS: chain length 3" 'Certificate chain length: 3' "$OUT"
	expect_match "$n: keytool reads the JKS: leaf fingerprint" "SHA256: $FPL" "$OUT"
	# the MID Server bundle, loaded by Java as the MID Server does
	mtk bundle "$f" "${pass[@]}" -o "$n-bundle.pem"
	expect_eq "$n: bundle exit 0" "$RC" 0
	java_read "$n-bundle.pem" MIDBUNDLE -
	# wrong password, damaged copy
	if [ -n "$pv" ] && [ -n "${!pv}" ]; then
		expect_rc 4 "$n: wrong password -> exit 4" "$MTLSKIT" convert "$f" --pass env:WRONG --to pem -o "$n-wrong.pem"
	fi
	head -c $(($(stat -c %s "$f") * 2 / 3)) "$f" >"$n.damaged"
	expect_rc 3 "$n: damaged (cut) copy -> exit 3" "$MTLSKIT" convert "$n.damaged" "${pass[@]}" --to pem -o "$n-damaged.pem"
}
mkdir nss && certutil -N -d "sql:$T/nss" --empty-password

# ===== OpenSSL 3 =====
ossl=(openssl pkcs12 -export -inkey leaf.key -in leaf.pem -certfile cas.pem -name ossl)
"${ossl[@]}" -passout env:PW -out ossl-default.p12
"${ossl[@]}" -legacy -passout env:PW -out ossl-legacy.p12
"${ossl[@]}" -certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1 -iter 1 -maciter -passout env:PW -out ossl-3des-iter1.p12
"${ossl[@]}" -keypbe AES-128-CBC -certpbe AES-128-CBC -macalg sha512 -iter 50000 -passout env:PW -out ossl-aes128.p12
"${ossl[@]}" -passout pass: -out ossl-empty.p12
"${ossl[@]}" -legacy -passout pass: -out ossl-emptylegacy.p12
"${ossl[@]}" -keypbe NONE -certpbe NONE -nomac -passout pass: -out ossl-unprotected.p12
family ossl-default ossl-default.p12 PW
family ossl-legacy ossl-legacy.p12 PW
for v in 3des-iter1 aes128; do
	mtk convert ossl-$v.p12 --pass env:PW --split-out ossl-$v
	expect_eq "openssl $v PFX: the key matches the leaf" "$(pub_of ossl-$v.key)" "$LEAFPUB"
done
family ossl-empty ossl-empty.p12 ""
# empty password / none: to JKS and JCEKS, keystore list, with no --pass (issue 19 item 1)
for v in empty emptylegacy unprotected; do
	mtk convert ossl-$v.p12 --to jks --out-pass env:NPW -o ossl-$v-whole.jks
	expect_eq "openssl $v PFX: whole-store --to jks with no --pass" "$RC" 0
	mtk keystore list ossl-$v.p12
	expect_eq "openssl $v PFX: keystore list with no --pass" "$RC" 0
	expect_match "openssl $v PFX: keystore list shows the key entry" 'ossl.*PrivateKeyEntry' "$OUT"
done
java_read ossl-empty-whole.jks JKS "$NPW"
# a damaged empty-password PFX: the MAC fails because it was altered, not for a password
cp ossl-empty.p12 ossl-empty-altered.p12
flip_byte ossl-empty-altered.p12 $(($(stat -c %s ossl-empty.p12) - 30))
mtk convert ossl-empty-altered.p12 --to pem -o altered.pem
expect_eq "altered empty-password PFX: exit 4 (integrity)" "$RC" 4
expect_match "altered empty-password PFX: says altered, not 'give --pass'" 'altered' "$ERR"
# -nodes text output (Bag Attributes lines around the blocks)
openssl pkcs12 -in ossl-default.p12 -passin env:PW -nodes -out ossl-nodes.txt
mtk convert ossl-nodes.txt --split-out ossl-nodes
expect_eq "openssl -nodes text: the key matches the leaf" "$(pub_of ossl-nodes.key)" "$LEAFPUB"
# every PEM and DER key form
openssl pkey -in leaf.key -traditional -out k-pkcs1.pem
openssl pkey -in leaf.key -out k-pkcs8.pem
openssl pkey -in leaf.key -outform DER -out k-pkcs8.der
openssl rsa -in leaf.key -outform DER -traditional -out k-pkcs1.der 2>/dev/null
openssl pkcs8 -topk8 -in leaf.key -v2 aes-256-cbc -passout env:PW -out k-enc.pem
openssl rsa -in leaf.key -aes256 -traditional -passout env:PW -out k-legacy-aes.pem 2>/dev/null
openssl rsa -in leaf.key -des -traditional -provider legacy -provider default -passout env:PW -out k-legacy-des.pem 2>/dev/null
expect_match "openssl wrote a DES-CBC legacy PEM key" 'DEK-Info: DES-CBC,' "$(cat k-legacy-des.pem)"
for k in k-pkcs1.pem k-pkcs8.pem k-pkcs8.der k-pkcs1.der k-enc.pem k-legacy-aes.pem k-legacy-des.pem; do
	mtk convert $k --pass env:PW --to pkcs8 -o $k.p8
	expect_eq "key form $k: read (exit 0)" "$RC" 0
	expect_eq "key form $k: same key" "$(pub_of $k.p8)" "$LEAFPUB"
done
expect_rc 4 "DES-CBC legacy PEM: wrong password -> exit 4" "$MTLSKIT" convert k-legacy-des.pem --pass env:WRONG --to pkcs8 -o x.p8
# explicit-parameter EC key (issue 19 item 6)
openssl ec -in ec.key -param_enc explicit -out ec-explicit.key 2>/dev/null
expect_match "openssl wrote explicit EC parameters" 'Field Type' "$(openssl ec -in ec-explicit.key -text -noout 2>/dev/null)"
mtk convert ec-explicit.key ec.pem int.pem root.pem --to jks --alias ecx --out-pass env:NPW -o ecx.jks
expect_eq "explicit EC: --to jks exit 0" "$RC" 0
java_read ecx.jks JKS "$NPW" ecx-bundle.pem MIDBUNDLE -
mtk convert ec-explicit.key --to pkcs8 -o ecx.p8
expect_match "explicit EC: written with the curve's name (openssl)" 'ASN1 OID: prime256v1' "$(openssl pkey -in ecx.p8 -text -noout)"
expect_rc 0 "explicit EC: certtool reads the PKCS#8 key" certtool --key-info --infile ecx.p8
mtk bundle ec.pem ec-explicit.key int.pem root.pem -o ecx-bundle.pem
expect_eq "explicit EC: bundle exit 0" "$RC" 0
expect_no_match "explicit EC: bundle key has no explicit parameters" 'Field Type' "$(openssl pkey -in ecx-bundle.pem -text -noout 2>/dev/null)"

# ===== Windows-style: ADCS certnew.p7b and certutil -encode of a PFX =====
openssl crl2pkcs7 -nocrl -certfile leaf.pem -certfile int.pem -certfile root.pem -outform DER -out chain.p7b.der
{ echo '-----BEGIN CERTIFICATE-----'; base64 -w 64 chain.p7b.der; echo '-----END CERTIFICATE-----'; } >certnew.p7b
expect_rc 0 "openssl reads certnew.p7b's label as PKCS#7" openssl pkcs7 -in certnew.p7b -print_certs -noout
mtk --json inspect certnew.p7b
fps=$(printf '%s' "$OUT" | jq -r '[.files[0].objects[]?.sha256 // empty] | join(" ")')
for c in "$FPL" "$FPI" "$FPR"; do expect_match "certnew.p7b: inspect lists $c" "$c" "$fps"; done
expect_match "certnew.p7b: a note says what the label hid" 'PKCS#7' "$(printf '%s' "$OUT" | jq -r '.files[0].objects[0].note')"
mtk convert certnew.p7b leaf.key --to jks --out-pass env:NPW -o certnew.jks
expect_eq "certnew.p7b + key: --to jks exit 0" "$RC" 0
java_read certnew.jks JKS "$NPW"
"${ossl[@]}" -certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1 -passout env:PW -out win.pfx
{ echo '-----BEGIN CERTIFICATE-----'; base64 -w 64 win.pfx; echo '-----END CERTIFICATE-----'; } >win-encoded.txt
family certutil-encode win-encoded.txt PW

# ===== GnuTLS certtool: armoured by default, empty and null passwords =====
cat leaf.pem cas.pem >leaf-chain.pem # certtool takes the whole chain from --load-certificate
gt=(certtool --to-p12 --load-privkey leaf.key --load-certificate leaf-chain.pem --p12-name gnutls)
"${gt[@]}" --password "$PW" --outfile gnutls.p12 >/dev/null 2>&1
"${gt[@]}" --empty-password --outfile gnutls-empty.p12 >/dev/null 2>&1
"${gt[@]}" --null-password --outfile gnutls-null.p12 >/dev/null 2>&1
"${gt[@]}" --password "$PW" --outder --outfile gnutls.pfx >/dev/null 2>&1
expect_match "certtool armours its PFX" '^-----BEGIN PKCS12-----' "$(head -1 gnutls.p12)"
family gnutls gnutls.p12 PW
family gnutls-der gnutls.pfx PW
mtk --json keystore list --pass env:PW gnutls.p12
expect_eq "keystore list reads certtool's armoured PFX" "$RC" 0
expect_json "keystore list: the key entry, under certtool's name" '[.entries[] | select(.type == "PrivateKeyEntry") | .alias] | .[0]' gnutls
mtk --json keystore list --pass pass:wrong-password gnutls.p12
expect_eq "keystore list, armoured PFX, wrong password: exit 4" "$RC" 4
for v in empty null; do
	mtk convert gnutls-$v.p12 --split-out gnutls-$v
	expect_eq "certtool --$v-password: key with no --pass" "$(pub_of gnutls-$v.key)" "$LEAFPUB"
done

# ===== NSS pk12util =====
openssl pkcs12 -export -inkey leaf.key -in leaf.pem -certfile cas.pem -name nss -passout env:PW -out nss-in.p12
pk12util -i nss-in.p12 -d "sql:$T/nss" -W "$PW" >/dev/null
pk12util -o nss.p12 -n nss -d "sql:$T/nss" -W "$PW" >/dev/null
family nss nss.p12 PW

# ===== python cryptography (Debian python3-cryptography) =====
PY=/usr/bin/python3
if $PY -c 'import cryptography' 2>/dev/null; then
	$PY - <<'PYEOF'
import os
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12, load_pem_private_key, BestAvailableEncryption, NoEncryption
key = load_pem_private_key(open("leaf.key", "rb").read(), None)
cert = x509.load_pem_x509_certificate(open("leaf.pem", "rb").read())
cas = [x509.load_pem_x509_certificate(open(f, "rb").read()) for f in ("int.pem", "root.pem")]
open("py.p12", "wb").write(pkcs12.serialize_key_and_certificates(b"py", key, cert, cas, BestAvailableEncryption(os.environ["PW"].encode())))
open("py-noenc.p12", "wb").write(pkcs12.serialize_key_and_certificates(b"py", key, cert, cas, NoEncryption()))
PYEOF
	family python py.p12 PW
	family python-noenc py-noenc.p12 ""
	mtk convert py-noenc.p12 --to jceks --out-pass env:NPW -o py-noenc-whole.jceks
	expect_eq "python NoEncryption PFX: whole-store --to jceks with no --pass" "$RC" 0
else
	ok "# SKIP python3-cryptography not installed"
fi

# ===== node-forge (npm, into a temporary directory; skipped offline) =====
if command -v npm >/dev/null && command -v node >/dev/null &&
	timeout 60 npm install --silent --no-audit --no-fund --prefix "$T/forge" node-forge >/dev/null 2>&1; then
	NODE_PATH="$T/forge/node_modules" node - <<'JSEOF'
const forge = require('node-forge'), fs = require('fs');
const key = forge.pki.privateKeyFromPem(fs.readFileSync('leaf.key', 'utf8'));
const certs = ['leaf.pem', 'int.pem', 'root.pem'].map(f => forge.pki.certificateFromPem(fs.readFileSync(f, 'utf8')));
for (const [out, pw, opt] of [['forge.p12', process.env.PW, {algorithm: '3des'}], ['forge-aes.p12', process.env.PW, {algorithm: 'aes256'}], ['forge-null.p12', null, {}]]) {
	const asn1 = forge.pkcs12.toPkcs12Asn1(key, certs, pw, Object.assign({friendlyName: 'forge'}, opt));
	fs.writeFileSync(out, Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary'));
}
JSEOF
	family forge forge.p12 PW
	family forge-aes forge-aes.p12 PW
	mtk convert forge-null.p12 --split-out forge-null
	expect_eq "node-forge null password: key with no --pass" "$(pub_of forge-null.key)" "$LEAFPUB"
else
	ok "# SKIP node-forge: npm registry unreachable"
fi

# ===== Java 17 keytool + KeyStore API =====
openssl pkcs12 -export -inkey leaf.key -in leaf.pem -certfile cas.pem -name jleaf -passout env:PW -out j-src.p12
kt() { keytool "$@" >/dev/null 2>&1; }
kt -importkeystore -srckeystore j-src.p12 -srcstoretype PKCS12 -srcstorepass:env PW -destkeystore kt.jks \
	-deststoretype JKS -deststorepass:env PW -noprompt
kt -importkeystore -srckeystore j-src.p12 -srcstoretype PKCS12 -srcstorepass:env PW -destkeystore kt.jceks \
	-deststoretype JCEKS -deststorepass:env PW -noprompt
kt -importkeystore -srckeystore j-src.p12 -srcstoretype PKCS12 -srcstorepass:env PW -destkeystore kt.p12 \
	-deststoretype PKCS12 -deststorepass:env PW -noprompt
kt -genseckey -alias aes1 -keyalg AES -keysize 256 -keystore kt.jceks -storetype JCEKS -storepass:env PW
family keytool-jks kt.jks PW
family keytool-jceks kt.jceks PW
family keytool-p12 kt.p12 PW
run keytool -list -v -keystore kt.jks -storepass:env PW
expect_match "keytool reports the fingerprints inspect lists" "SHA256: $FPL" "$OUT"
kt -importcert -noprompt -alias other-root -file other.pem -keystore kt.jks -storepass:env PW
# multi-entry: two key entries, CAs, an unrelated trusted root; --alias picks one (item 2)
kt -genkeypair -alias second -keyalg RSA -keysize 2048 -dname CN=second -validity 3 -keystore kt.jks -storepass:env PW
mtk convert kt.jks --pass env:PW --alias jleaf --to jks --out-pass env:NPW -o multi-alias.jks
expect_eq "multi-entry JKS --alias jleaf --to jks: exit 0" "$RC" 0
run keytool -list -v -keystore multi-alias.jks -storepass:env NPW
expect_match "keytool: the key entry's chain is its own: length 3" 'Certificate chain length: 3' "$OUT"
expect_no_match "keytool: the unrelated root is not in the chain" "$FPO" "$OUT"
mtk convert leaf.pem leaf.key other.pem --to jks --out-pass env:NPW -o unrelated.jks
run keytool -list -v -keystore unrelated.jks -storepass:env NPW
expect_match "leaf + key + an unrelated certificate: keytool chain length 1" 'Certificate chain length: 1' "$OUT"
# whole store JKS -> JKS and JCEKS -> JCEKS under a new password: keys re-encrypted (item 3)
mtk convert kt.jks --pass env:PW --to jks --out-pass env:NPW -o kt-new.jks
expect_eq "JKS -> JKS with --out-pass: exit 0" "$RC" 0
mtk convert kt.jceks --pass env:PW --to jceks --out-pass env:NPW -o kt-new.jceks
expect_eq "JCEKS -> JCEKS with --out-pass: exit 0" "$RC" 0
java_read kt-new.jks JKS "$NPW" kt-new.jceks JCEKS "$NPW"
# whole-store PKCS12 -> JKS: real dates, trusted entries too (item 5)
"${ossl[@]}" -passout env:PW -out dated.p12
mtk convert kt.p12 --pass env:PW --to jks --out-pass env:NPW -o dated.jks
run keytool -list -keystore dated.jks -storepass:env NPW
expect_no_match "PKCS12 -> JKS: no entry dated Jan 1, 1970" 'Jan 1, 1970' "$OUT"
expect_match "PKCS12 -> JKS: dated this year" "$(date -u +%Y)" "$OUT"
mtk convert ossl-default.p12 --pass env:PW --trusted other.pem --to jks --out-pass env:NPW -o dated2.jks
run keytool -list -keystore dated2.jks -storepass:env NPW
expect_no_match "PFX + --trusted -> JKS: no entry dated Jan 1, 1970" 'Jan 1, 1970' "$OUT"
# a JCEKS secret-key entry does not block whole-store conversion to PKCS12 (item 10)
mtk convert kt.jceks --pass env:PW --to pkcs12 --out-pass env:NPW -o kt-secret.p12
expect_eq "JCEKS with a secret key -> PKCS12: exit 0" "$RC" 0
run keytool -list -keystore kt-secret.p12 -storetype PKCS12 -storepass:env NPW
expect_match "keytool: the secret key is a SecretKeyEntry in the PKCS12" 'aes1, .*SecretKeyEntry' "$OUT"
expect_match "keytool: the key entry is kept" 'jleaf, .*PrivateKeyEntry' "$OUT"
expect_rc 0 "openssl verifies the PKCS12's MAC and reads it" openssl pkcs12 -in kt-secret.p12 -passin env:NPW -nokeys -noout
expect_rc 2 "JCEKS with a secret key -> JKS: refused (JKS holds no secret keys)" \
	"$MTLSKIT" convert kt.jceks --pass env:PW --to jks --out-pass env:NPW -o kt-secret.jks
java_read kt-secret.p12 PKCS12 "$NPW" kt.jceks JCEKS "$PW"
# a secret key in keytool's own PKCS12 survives an edit (it was dropped)
kt -importkeystore -srckeystore kt.jceks -srcstoretype JCEKS -srcstorepass:env PW -destkeystore kt-sec.p12 \
	-deststoretype PKCS12 -deststorepass:env PW -noprompt
mtk keystore add-trusted kt-sec.p12 --pass env:PW --alias extra-root other.pem
expect_eq "keytool PKCS12 with a secret key: add-trusted exit 0" "$RC" 0
run keytool -list -keystore kt-sec.p12 -storetype PKCS12 -storepass:env PW
expect_match "keytool: the secret key is still there after the edit" 'aes1, .*SecretKeyEntry' "$OUT"
expect_match "keytool: the new trusted entry is there" 'extra-root, .*trustedCertEntry' "$OUT"
expect_rc 2 "a secret key read from PKCS12 -> JCEKS: refused, not dropped" \
	"$MTLSKIT" convert kt-sec.p12 --pass env:PW --to jceks --out-pass env:NPW -o kt-sec.jceks
java_read kt-sec.p12 PKCS12 "$PW"
# a key password that differs from the store password (item 4)
kt -genkeypair -alias kp -keyalg RSA -keysize 2048 -dname CN=kp -validity 3 -keystore kp.jks -storetype JKS \
	-storepass:env PW -keypass:env NPW
mtk convert kp.jks --pass env:PW --split-out kp
expect_eq "differing key password, only --pass: exit 4" "$RC" 4
expect_match "differing key password: names the alias and --key-pass" 'alias kp.*--key-pass' "$ERR"
mtk convert kp.jks --pass env:PW --key-pass env:NPW --split-out kp
expect_eq "differing key password, --key-pass: exit 0" "$RC" 0
mtk inspect kp.jks --pass env:PW
expect_match "inspect: the key password differs, give --key-pass" 'key-pass' "$OUT"
mtk --json check --profile mid kp.jks --pass env:PW
expect_eq "check --profile mid: exit 1" "$RC" 1
expect_json "check: key-encrypted names the key whose password differs" \
	'[.findings[] | select(.id == "key-encrypted") | .message | test("alias kp has a password that differs")] | any' true
# a password-less trust store (Java PKCS12 with no MAC and no encryption)
kt -J-Dkeystore.pkcs12.certProtectionAlgorithm=NONE -J-Dkeystore.pkcs12.macAlgorithm=NONE -importcert -noprompt \
	-alias trust-root -file root.pem -keystore trust.p12 -storetype PKCS12 -storepass:env PW
mtk --json inspect trust.p12
expect_match "password-less trust store: inspect lists the root" "$FPR" "$OUT"
mtk keystore list trust.p12
expect_match "password-less trust store: keystore list with no --pass" 'trust-root.*trustedCertEntry' "$OUT"
mtk convert trust.p12 --to jks --out-pass env:NPW -o trust.jks
expect_eq "password-less trust store: --to jks with no --pass" "$RC" 0
run keytool -list -keystore trust.jks -storepass:env NPW
expect_match "keytool reads the converted trust store" 'trust-root.*trustedCertEntry' "$OUT"

# ===== one JVM reads every keystore written above =====
run java "$JAVA_SRC" "${JAVA_ARGS[@]}"
JOUT=$OUT
SECRET=$(printf '%s\n' "$JOUT" | awk '$1 == "kt.jceks" && $2 == "aes1" { print $6 }')
expect_match "Java: keytool's AES key read from its JCEKS" '^AES-256-' "$SECRET"
expect_no_match "Java loads every keystore" 'LOAD-ERROR|ERROR:' "$JOUT"
[ -n "$ERR" ] && diag "$ERR"
for ((i = 0; i < ${#JAVA_ARGS[@]}; i += 3)); do
	f=${JAVA_ARGS[i]}
	line=$(printf '%s\n' "$JOUT" | grep "^$f ")
	case $f in
	ecx.jks | ecx-bundle.pem) expect_match "Java: $f key entry, chain 3, EC key matches" " key 3 $FPE,$FPI,$FPR match$" "$line" ;;
	kt-new.jceks) expect_match "Java: $f key entry opens with the new password" " key 3 $FPL,$FPI,$FPR match$" "$line"
		expect_match "Java: $f secret key opens with the new password" " aes1 secret 0 - $SECRET\$" "$line" ;;
	kt-secret.p12 | kt-sec.p12) expect_match "Java: $f key entry, chain 3, key matches the leaf" " key 3 $FPL,$FPI,$FPR match$" "$line"
		expect_match "Java: $f the same AES key as in the JCEKS" " aes1 secret 0 - $SECRET\$" "$line" ;;
	*) expect_match "Java: $f key entry, chain 3, key matches the leaf" " key 3 $FPL,$FPI,$FPR match$" "$line" ;;
	esac
done
done_testing
