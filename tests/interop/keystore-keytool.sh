#!/usr/bin/env bash
# keystore-keytool.sh - Java 17 keytool both ways: stores keytool makes are
# listed by us with the aliases, entry types and SHA-256 fingerprints keytool
# prints; stores we write are listed, imported and re-saved by keytool, and
# the keys it recovers are ours.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "${BASH_SOURCE[0]}")/keystore-pki.inc"

if ! command -v keytool >/dev/null; then
	echo "1..0 # SKIP keytool is not installed"
	exit 0
fi
KT() { keytool -noprompt "$@" 2>/dev/null; }
export STOREPW=changeit KEYPW=keypass1 JPW=storepw1 NEWPW=newpass99

mk_pki "$T/pki"
P=$T/pki

# ---------------------------------------------------------------- keytool -> us
# JKS: an RSA key, an EC key whose key password differs, a chain of 3
# (imported from a PFX made by openssl) and a trusted root.
KT -genkeypair -storetype JKS -keystore "$T/kt.jks" -storepass changeit -alias RsaKey \
	-keyalg RSA -keysize 2048 -dname "CN=rsa.example.com, O=Example" -validity 30
KT -genkeypair -storetype JKS -keystore "$T/kt.jks" -storepass changeit -keypass keypass1 \
	-alias eckey -keyalg EC -dname "CN=ec.example.com"
openssl pkcs12 -export -in "$P/leaf.pem" -inkey "$P/leaf.key" -certfile <(cat "$P/int.pem" "$P/root.pem") \
	-name chain3 -passout pass:changeit -out "$T/chain.p12"
KT -importkeystore -srckeystore "$T/chain.p12" -srcstoretype PKCS12 -srcstorepass changeit \
	-destkeystore "$T/kt.jks" -deststoretype JKS -deststorepass changeit
KT -importcert -storetype JKS -keystore "$T/kt.jks" -storepass changeit -alias root -file "$P/root.pem"
# JCEKS: an RSA key, an AES secret key, a trusted certificate.
KT -genkeypair -storetype JCEKS -keystore "$T/kt.jceks" -storepass storepw1 -alias rsakey \
	-keyalg RSA -keysize 2048 -dname "CN=jceks.example.com"
KT -genseckey -storetype JCEKS -keystore "$T/kt.jceks" -storepass storepw1 -alias aeskey \
	-keyalg AES -keysize 256
KT -importcert -storetype JCEKS -keystore "$T/kt.jceks" -storepass storepw1 -alias root -file "$P/root.pem"

want=$(keytool -list -v -keystore "$T/kt.jks" -storepass changeit 2>/dev/null | kt_summary)
mtk keystore list --json "$T/kt.jks"
expect_eq "keytool JKS: exit 0 with the default password" "$RC" 0
expect_eq "keytool JKS: aliases, entry types and SHA-256 fingerprints match keytool -list -v" \
	"$(printf '%s' "$OUT" | mtk_summary)" "$want"
expect_json "keytool JKS: 4 entries" '.count' 4
expect_json "keytool JKS: chain of 3 from the imported PFX" \
	'.entries[] | select(.alias=="chain3") | .chain_length' 3
expect_json "keytool JKS: chain order leaf, intermediate, root" \
	'[.entries[] | select(.alias=="chain3") | .certificates[].sha256] | join(" ")' \
	"$(fp256 "$P/leaf.pem") $(fp256 "$P/int.pem") $(fp256 "$P/root.pem")"
expect_json "keytool JKS: MixedCase alias stored lower-case" '[.entries[].alias] | index("rsakey") != null' true

want=$(keytool -list -v -storetype JCEKS -keystore "$T/kt.jceks" -storepass storepw1 2>/dev/null | kt_summary)
mtk keystore list --json --pass env:JPW "$T/kt.jceks"
expect_eq "keytool JCEKS: listing matches keytool -list -v" "$(printf '%s' "$OUT" | mtk_summary)" "$want"
expect_json "keytool JCEKS: the secret key is AES 256-bit" \
	'.entries[] | select(.alias=="aeskey") | "\(.type) \(.secret.algorithm) \(.secret.bits)"' \
	"SecretKeyEntry AES 256"
mtk keystore list -v --pass env:JPW "$T/kt.jceks"
expect_match "keytool JCEKS: text listing names the secret key" 'Secret key: AES 256-bit' "$OUT"

# Wrong passwords, and a key password that differs from the store's.
expect_rc 4 "wrong store password: exit 4" "$MTLSKIT" keystore list --pass env:KEYPW "$T/kt.jks"
expect_match "wrong store password: keytool-like message" \
	'keystore password is incorrect or the file was altered' "$ERR"
expect_rc 4 "no --pass and not changeit: exit 4" "$MTLSKIT" keystore list "$T/kt.jceks"
expect_rc 4 "export --with-key without the key password: exit 4" \
	"$MTLSKIT" keystore export "$T/kt.jks" --alias eckey --with-key
expect_match "wrong key password: Cannot recover key" 'Cannot recover key' "$ERR"
mtk keystore export "$T/kt.jks" --alias eckey --with-key --key-pass env:KEYPW -o "$T/eckey.pem"
expect_eq "key password differs: export --with-key --key-pass works" "$RC" 0
expect_mode "exported key file is 0600" "$T/eckey.pem" 600
KT -importkeystore -srckeystore "$T/kt.jks" -srcstorepass changeit -srcalias eckey -srckeypass keypass1 \
	-destkeystore "$T/eckt.p12" -deststoretype PKCS12 -deststorepass changeit
expect_eq "key password differs: the key we recovered is the one keytool recovers" \
	"$(openssl pkey -in "$T/eckey.pem" -pubout 2>/dev/null)" \
	"$(openssl pkcs12 -in "$T/eckt.p12" -nocerts -nodes -passin pass:changeit 2>/dev/null | openssl pkey -pubout)"

# ---------------------------------------------------------------- us -> keytool
# JKS from the MID bundle (leaf, intermediate, root, PKCS#8 key), plus a trusted root.
mtk keystore add-key "$T/our.jks" --alias Leaf "$P/bundle.pem"
expect_eq "add-key from a PEM bundle creates a JKS" "$RC" 0
expect_mode "new keystore is 0600" "$T/our.jks" 600
mtk keystore add-trusted "$T/our.jks" --alias Root "$P/root.pem"
expect_eq "add-trusted" "$RC" 0
run keytool -list -v -storetype JKS -keystore "$T/our.jks" -storepass changeit
expect_eq "keytool lists our JKS" "$RC" 0
expect_match "keytool: Keystore type JKS" '^Keystore type: JKS' "$OUT"
expect_match "keytool: 2 entries" 'Your keystore contains 2 entries' "$OUT"
expect_eq "keytool: our JKS has the expected entries and fingerprints" "$(printf '%s' "$OUT" | kt_summary)" \
	"$(printf 'leaf|PrivateKeyEntry|%s,%s,%s,\nroot|trustedCertEntry|%s,\n' "$(fp256 "$P/leaf.pem")" \
		"$(fp256 "$P/int.pem")" "$(fp256 "$P/root.pem")" "$(fp256 "$P/root.pem")" | sort)"
expect_match "keytool: chain length 3" 'Certificate chain length: 3' "$OUT"
KT -importkeystore -srckeystore "$T/our.jks" -srcstorepass changeit -srcalias leaf \
	-destkeystore "$T/our-rec.p12" -deststoretype PKCS12 -deststorepass changeit
expect_eq "keytool recovers our JKS key: it is the bundle's key" \
	"$(openssl pkcs12 -in "$T/our-rec.p12" -nocerts -nodes -passin pass:changeit 2>/dev/null | openssl pkey -pubout)" \
	"$(openssl pkey -in "$P/leaf.key" -pubout)"

# JCEKS with a key password different from the store password, EC key.
mtk keystore add-key "$T/our.jceks" --type jceks --alias ec --out-pass env:STOREPW --key-pass env:KEYPW \
	"$P/ec-bundle.pem"
expect_eq "add-key to JCEKS with a separate key password" "$RC" 0
run keytool -list -v -storetype JCEKS -keystore "$T/our.jceks" -storepass changeit
expect_match "keytool lists our JCEKS" 'Keystore type: JCEKS' "$OUT"
expect_match "keytool: our JCEKS key entry" 'Entry type: PrivateKeyEntry' "$OUT"
KT -importkeystore -srckeystore "$T/our.jceks" -srcstoretype JCEKS -srcstorepass changeit -srcalias ec \
	-srckeypass keypass1 -destkeystore "$T/our-ec.p12" -deststoretype PKCS12 -deststorepass changeit
expect_eq "keytool recovers our JCEKS key (PBEWithMD5AndTripleDES) with the key password" \
	"$(openssl pkcs12 -in "$T/our-ec.p12" -nocerts -nodes -passin pass:changeit 2>/dev/null | openssl pkey -pubout)" \
	"$(openssl pkey -in "$P/ec.key" -pubout)"

# PKCS12 as Java writes it, with a trusted entry (Oracle attribute).
mtk keystore add-key "$T/our.p12" --alias leaf "$P/bundle.pem"
mtk keystore add-trusted "$T/our.p12" --alias root "$P/root.pem"
run keytool -list -v -keystore "$T/our.p12" -storepass changeit
expect_eq "keytool: our PKCS12 has a chain-3 key entry and a trusted entry" "$(printf '%s' "$OUT" | kt_summary)" \
	"$(printf 'leaf|PrivateKeyEntry|%s,%s,%s,\nroot|trustedCertEntry|%s,\n' "$(fp256 "$P/leaf.pem")" \
		"$(fp256 "$P/int.pem")" "$(fp256 "$P/root.pem")" "$(fp256 "$P/root.pem")" | sort)"
run keytool -noprompt -importkeystore -srckeystore "$T/our.p12" -srcstorepass changeit \
	-destkeystore "$T/p12-to.jks" -deststoretype JKS -deststorepass changeit
expect_match "keytool converts our PKCS12 to JKS: 2 entries" '2 entries successfully imported, 0 entries failed' "$OUT$ERR"

# The keytool-made JCEKS (secret key included) edited by us stays valid for keytool.
cp "$T/kt.jceks" "$T/edit.jceks"
mtk keystore add-trusted "$T/edit.jceks" --pass env:JPW --alias int "$P/int.pem"
run keytool -list -storetype JCEKS -keystore "$T/edit.jceks" -storepass storepw1
expect_match "keytool: edited JCEKS keeps the secret key" 'aeskey, .*SecretKeyEntry' "$OUT"
expect_match "keytool: edited JCEKS has 4 entries" 'Your keystore contains 4 entries' "$OUT"

# genkey + csr + install-reply, as keytool -genkeypair / -certreq / -importcert.
mtk keystore genkey "$T/gen.jks" --alias MidKey --dname "CN=mid03.example.com, O=Example, C=US" --keyalg RSA
expect_eq "genkey: exit 0" "$RC" 0
mtk keystore csr "$T/gen.jks" --alias midkey -o "$T/gen.csr"
run openssl req -in "$T/gen.csr" -noout -verify -subject
expect_match "csr: openssl verifies the request" 'verify OK|Certificate request self-signature verify OK' "$OUT$ERR"
openssl x509 -req -in "$T/gen.csr" -CA "$P/int.pem" -CAkey "$P/int.key" -CAcreateserial -days 10 \
	-extfile "$P/leaf.ext" -out "$T/gen-reply.pem" 2>/dev/null
expect_rc 3 "install-reply without the CAs: refused" \
	"$MTLSKIT" keystore install-reply "$T/gen.jks" --alias midkey "$T/gen-reply.pem"
expect_match "install-reply: keytool's message" 'Failed to establish chain from reply' "$ERR"
expect_rc 1 "install-reply of another key's certificate: refused" \
	"$MTLSKIT" keystore install-reply "$T/gen.jks" --alias midkey "$P/leaf.pem"
expect_match "install-reply: public keys differ" "Public keys in reply and keystore don't match" "$ERR"
mtk keystore add-trusted "$T/gen.jks" --alias root "$P/root.pem"
mtk keystore add-trusted "$T/gen.jks" --alias int "$P/int.pem"
mtk keystore install-reply "$T/gen.jks" --alias midkey "$T/gen-reply.pem"
expect_match "install-reply: installed" 'Certificate reply was installed in keystore' "$OUT"
run keytool -list -v -keystore "$T/gen.jks" -storepass changeit -alias midkey
expect_match "keytool: the entry now has a chain of 3" 'Certificate chain length: 3' "$OUT"
expect_match "keytool: genkey made an RSA 2048 key" 'Subject Public Key Algorithm: 2048-bit RSA key' "$OUT"
expect_match "keytool: genkey owner, kept by the reply" 'Owner: CN=mid03.example.com, O=Example, C=US' "$OUT"

# passwd: store password, then a key password.
mtk keystore passwd "$T/gen.jks" --out-pass env:NEWPW
expect_eq "passwd: exit 0" "$RC" 0
KT -importkeystore -srckeystore "$T/gen.jks" -srcstorepass newpass99 -srcalias midkey -srckeypass newpass99 \
	-destkeystore "$T/gen-rec0.p12" -deststoretype PKCS12 -deststorepass changeit
expect_file "passwd: keytool opens the store with the new password, and the key that shared it follows it" "$T/gen-rec0.p12"
mtk keystore passwd "$T/gen.jks" --pass env:NEWPW --alias midkey --out-pass env:KEYPW
expect_eq "passwd --alias: exit 0" "$RC" 0
KT -importkeystore -srckeystore "$T/gen.jks" -srcstorepass newpass99 -srcalias midkey -srckeypass keypass1 \
	-destkeystore "$T/gen-rec.p12" -deststoretype PKCS12 -deststorepass changeit
expect_file "keytool recovers the key with its new key password" "$T/gen-rec.p12"

# remove
mtk keystore remove "$T/gen.jks" --pass env:NEWPW --alias int
run keytool -list -keystore "$T/gen.jks" -storepass newpass99
expect_match "keytool: 2 entries after remove" 'Your keystore contains 2 entries' "$OUT"
expect_rc 3 "remove of a missing alias: exit 3" "$MTLSKIT" keystore remove "$T/gen.jks" --pass env:NEWPW --alias nope
expect_match "missing alias: keytool's message" 'Alias <nope> does not exist' "$ERR"

# Damaged files: tampered and truncated.
cp "$T/our.jks" "$T/tampered.jks"
flip_byte "$T/tampered.jks" 200
expect_rc 4 "tampered JKS: exit 4" "$MTLSKIT" keystore list "$T/tampered.jks"
head -c 900 "$T/our.jks" >"$T/trunc.jks"
expect_rc 3 "truncated JKS: exit 3" "$MTLSKIT" keystore list "$T/trunc.jks"
expect_match "truncated JKS: says so" 'truncated' "$ERR"
done_testing
