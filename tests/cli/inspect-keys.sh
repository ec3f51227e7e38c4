#!/usr/bin/env bash
# inspect-keys.sh - private keys in every form: described without
# decrypting, decrypted with --pass, matched to the certificate among the
# inputs; wrong password is exit 4.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$MTLSKIT_SRC/tests/lib/inspect-fixtures.sh"
mk_pki && mk_keys || { not_ok "fixtures"; done_testing; }
cd "$T" || exit 1

obj='.files[0].objects[0]'
# form, encrypted, key description (null when not decrypted)
check_key() {
	local f=$1 form=$2 enc=$3 desc=$4
	mtk inspect --json "$f"
	expect_eq "$f: exit 0" "$RC" 0
	expect_json "$f: private-key" "$obj.type" private-key
	expect_json "$f: form $form" "$obj.form" "$form"
	expect_json "$f: encrypted $enc" "$obj.encrypted" "$enc"
	expect_json "$f: key $desc" "$obj.key.description // \"null\"" "$desc"
}
check_key leaf.key pkcs8 false "RSA 2048"
check_key key-pkcs1.pem pkcs1 false "RSA 2048"
check_key key-sec1.pem sec1 false "EC P-256"
check_key key-pkcs8-enc.pem pkcs8-encrypted true null
check_key key-legacy-enc.pem legacy-encrypted-pem true null
check_key key-ed25519.pem pkcs8 false Ed25519
check_key key-pkcs8.der pkcs8 false "RSA 2048"
mtk inspect --json key-pkcs8.der
expect_json "DER key: format der-key" '.files[0].format' der-key

# The encryption algorithm, as openssl asn1parse sees it.
mtk inspect --json key-pkcs8-enc.pem
expect_json "encrypted PKCS#8: algorithm shown" "$obj.encryption" "PBES2/PBKDF2/hmacWithSHA256/AES-256-CBC"
expect_match "openssl agrees it is PBES2 + AES-256-CBC" 'aes-256-cbc' \
	"$(openssl asn1parse -in key-pkcs8-enc.pem | tr 'A-Z' 'a-z')"
expect_json "encrypted PKCS#8: not decrypted" "$obj.decrypted" false
mtk inspect --json key-legacy-enc.pem
expect_json "legacy PEM: DEK-Info cipher shown" "$obj.encryption" \
	"PEM $(sed -n 's/^DEK-Info: \([^,]*\),.*/\1/p' key-legacy-enc.pem)"

# --pass: decrypted and matched to the certificate among the inputs.
for f in key-pkcs8-enc.pem key-legacy-enc.pem; do
	mtk inspect --json --pass env:KEYPW "$f" bundle.pem
	expect_eq "$f --pass: exit 0" "$RC" 0
	expect_json "$f --pass: decrypted" "$obj.decrypted" true
	expect_json "$f --pass: RSA 2048 (as openssl)" "$obj.key.bits" \
		"$(openssl pkey -in $f -passin env:KEYPW -noout -text 2>/dev/null | sed -n 's/.*Private-Key: (\([0-9]*\) bit.*/\1/p')"
	expect_json "$f --pass: matches exactly the leaf" "[$obj.matches[] | \"\(.file):\(.line)\"] | join(\",\")" "bundle.pem:1"
	expect_json "$f --pass: the leaf points back at the key" '.files[1].objects[0].private_key.file' "$f"
	expect_json "$f --pass: the root has no key" '.files[1].objects[2].private_key' null
	mtk inspect --json --pass pass:wrong-password "$f"
	expect_eq "$f wrong password: exit 4" "$RC" 4
	expect_json "$f wrong password: error code" '.files[0].error.code' MTK_E_BAD_PASSWORD
	expect_match "$f wrong password: one line naming the file" "^mtlskit inspect: $f.*wrong password" "$ERR"
done
mtk inspect --json key-ed25519.pem leaf.pem
expect_json "unrelated key matches nothing" "$obj.matches | length" 0
mtk inspect --no-color --pass env:KEYPW key-pkcs8-enc.pem leaf.pem
expect_match "text: the matching certificate is named" 'matches +leaf.pem:1 ' "$OUT"
expect_match "text: the certificate names its key" 'private key +key-pkcs8-enc.pem:1' "$OUT"

# A PEM with a certificate and its key in one file.
cat leaf.pem key-pkcs1.pem >combo.pem
mtk inspect --json combo.pem
expect_json "combo: 2 blocks" '.files[0].blocks' 2
expect_json "combo: key on the second BEGIN line" '.files[0].objects[1].line' \
	"$(grep -n -- '-----BEGIN' combo.pem | sed -n 2p | cut -d: -f1)"
expect_json "combo: key matches the cert in the same file" '.files[0].objects[1].matches[0].line' 1

# A public key is matched too, without claiming to be the private key.
openssl pkey -in leaf.key -pubout -out pub.pem
mtk inspect --json pub.pem leaf.pem
expect_json "public key: type" "$obj.type" public-key
expect_json "public key: matches the leaf" "$obj.matches[0].file" leaf.pem
expect_json "public key: the leaf has no private_key" '.files[1].objects[0].private_key' null

# --pass from a file and an fd, never needed on argv.
printf '%s\n' "$KEYPW" >pw.txt
mtk inspect --json --pass file:pw.txt key-pkcs8-enc.pem
expect_json "--pass file: works" "$obj.decrypted" true
run bash -c "exec 3<pw.txt; '$MTLSKIT' inspect --json --pass fd:3 key-pkcs8-enc.pem"
expect_json "--pass fd: works" "$obj.decrypted" true
mtk inspect --pass pass:"$KEYPW" key-pkcs8-enc.pem
expect_match "--pass pass: warns that it is visible" 'visible to other users' "$ERR"
mtk inspect --pass file:does-not-exist key-pkcs8-enc.pem
expect_eq "--pass file:missing is an error before reading inputs" "$RC" 3

done_testing
