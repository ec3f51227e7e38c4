#!/usr/bin/env bash
# inspect-pfx.sh - PFX/PKCS#12 of every flavour openssl writes (modern
# AES/PBKDF2, -legacy RC2-40, 3DES + SHA-1 MAC as Windows certutil writes,
# -nomac, empty password), described without a password as
# `openssl pkcs12 -info` describes them, and opened with --pass.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$MTLSKIT_SRC/tests/lib/inspect-fixtures.sh"
mk_pki && mk_pfx || { not_ok "fixtures"; done_testing; }
cd "$T" || exit 1

ct='.files[0].container'
# What openssl says: "MAC: sha1, Iteration 2048"
ossl_mac() { openssl pkcs12 -in "$1" -info -noout -passin env:PFXPW ${2:-} 2>&1 | sed -n 's/^MAC: \([^,]*\), Iteration \([0-9]*\).*/\1 \2/p'; }
# "PKCS7 Encrypted data: pbeWithSHA1And40BitRC2-CBC, Iteration 2048"
ossl_certenc() { openssl pkcs12 -in "$1" -info -noout -passin env:PFXPW ${2:-} 2>&1 | sed -n 's/^PKCS7 Encrypted data: \([^,]*\).*/\1/p' | head -1; }
# How many certificates openssl extracts.
ossl_certs() { openssl pkcs12 -in "$1" -nokeys -passin env:PFXPW ${2:-} 2>/dev/null | grep -c -- '-----BEGIN CERTIFICATE'; }

for f in modern.p12 legacy.p12 3des.p12; do
	extra=$([ $f = legacy.p12 ] && echo -legacy)
	# --- no password: what the file is, exit 0 ---
	mtk inspect --json $f
	expect_eq "$f no password: exit 0" "$RC" 0
	expect_json "$f no password: format pkcs12" '.files[0].format' pkcs12
	expect_json "$f no password: needs a password" "$ct.needs_password" true
	expect_json "$f no password: nothing decrypted" '.files[0].objects | length' 0
	expect_json "$f no password: MAC algorithm and iterations as openssl" \
		"$ct.mac | \"\(.algorithm) \(.iterations)\"" "$(ossl_mac $f "$extra")"
	# --- with the password ---
	mtk inspect --json --pass env:PFXPW $f
	expect_eq "$f --pass: exit 0" "$RC" 0
	expect_json "$f --pass: as many certificates as openssl extracts" \
		'[.files[0].objects[] | select(.type=="certificate")] | length' "$(ossl_certs $f "$extra")"
	expect_json "$f --pass: one private key, alias mid-client" \
		'[.files[0].objects[] | select(.type=="private-key") | .alias] | join(",")' mid-client
	expect_json "$f --pass: the key matches exactly one certificate" \
		'.files[0].objects[] | select(.type=="private-key") | .matches | length' 1
	leafidx=$(printf '%s' "$OUT" | jq '.files[0].objects[] | select(.type=="private-key") | .matches[0].index')
	expect_json "$f --pass: matched certificate is the leaf" \
		".files[0].objects[] | select(.type==\"certificate\" and .index==$leafidx) | .sha256" "$(ossl_sha256 leaf.pem)"
	expect_json "$f --pass: the leaf has the key's alias" \
		'.files[0].objects[] | select(.type=="certificate" and .sha256=="'"$(ossl_sha256 leaf.pem)"'") | .alias' mid-client
	expect_json "$f --pass: no findings" '.findings | length' 0
	# --- wrong password ---
	mtk inspect --json --pass pass:not-it $f
	expect_eq "$f wrong password: exit 4" "$RC" 4
	expect_json "$f wrong password: error code" '.files[0].error.code' MTK_E_BAD_PASSWORD
	expect_json "$f wrong password: the file is still identified" "$ct.mac.algorithm" "$(ossl_mac $f "$extra" | cut -d' ' -f1)"
	expect_match "$f wrong password: says so on stderr" "^mtlskit inspect: $f: wrong password" "$ERR"
done

mtk inspect --json modern.p12
expect_json "modern: AES-256 PBES2 certificates" "$ct.certificates_encryption.algorithm" "PBES2/PBKDF2/hmacWithSHA256/AES-256-CBC"
expect_match "openssl agrees: PBES2, AES-256-CBC" 'PBES2, PBKDF2, AES-256-CBC' "$(openssl pkcs12 -in modern.p12 -info -noout -passin env:PFXPW 2>&1)"
expect_json "modern: not legacy" "$ct.legacy" false
mtk inspect --json legacy.p12
expect_json "legacy: RC2-40 certificates (openssl: $(ossl_certenc legacy.p12 -legacy))" "$ct.certificates_encryption.algorithm" PBE-SHA1-RC2-40
expect_eq "openssl names the same algorithm" "$(ossl_certenc legacy.p12 -legacy)" pbeWithSHA1And40BitRC2-CBC
expect_json "legacy: 3DES key" "$ct.key_encryption.algorithm" PBE-SHA1-3DES
expect_json "legacy: flagged legacy" "$ct.legacy" true
mtk inspect --json 3des.p12
expect_json "3DES: certificates" "$ct.certificates_encryption.algorithm" PBE-SHA1-3DES
expect_eq "openssl names the same algorithm" "$(ossl_certenc 3des.p12)" pbeWithSHA1And3-KeyTripleDES-CBC
expect_json "3DES: not legacy (3DES is in the default provider)" "$ct.legacy" false
mtk inspect --no-color legacy.p12
expect_match "legacy text: MAC line" 'MAC +sha1, 2048 iterations' "$OUT"
expect_match "legacy text: password needed" 'password +needed: give --pass' "$OUT"
mtk inspect --no-color --pass env:PFXPW legacy.p12
expect_match "legacy text with --pass: alias shown" 'private key \[alias "mid-client"\]' "$OUT"

# Iteration counts other than the default are reported.
openssl pkcs12 -export -iter 5000 -inkey leaf.key -in leaf.pem -passout env:PFXPW -out iter.p12
mtk inspect --json iter.p12
expect_json "-iter 5000: certificate encryption iterations" "$ct.certificates_encryption.iterations" 5000
expect_json "-iter 5000: MAC iterations as openssl" "$ct.mac.iterations" "$(ossl_mac iter.p12 | cut -d' ' -f2)"

# -nomac: no integrity; the key needs the password, the file is described.
mtk inspect --json nomac.p12
expect_eq "nomac no password: exit 0" "$RC" 0
expect_json "nomac: MAC null" "$ct.mac" null
expect_match "openssl agrees the MAC is absent" 'MAC is absent' "$(openssl pkcs12 -in nomac.p12 -info -noout -passin env:PFXPW 2>&1)"
expect_json "nomac: needs a password" "$ct.needs_password" true
mtk inspect --json --pass env:PFXPW nomac.p12
expect_json "nomac --pass: certificate and key" '[.files[0].objects[].type] | sort | join(",")' certificate,private-key
mtk inspect --json --pass pass:not-it nomac.p12
expect_eq "nomac wrong password: exit 4" "$RC" 4

# Empty password: opened without --pass.
mtk inspect --json emptypw.p12
expect_eq "empty password: exit 0" "$RC" 0
expect_json "empty password: no password needed" "$ct.needs_password" false
expect_json "empty password: certificate and key listed" '[.files[0].objects[].type] | sort | join(",")' certificate,private-key
expect_json "empty password: leaf SHA-256 as openssl" \
	'.files[0].objects[] | select(.type=="certificate") | .sha256' "$(ossl_sha256 leaf.pem)"

# Absurd key-derivation iteration counts (a crafted file asking for minutes
# of work): refused at once, exit 3, naming the part, before any MAC or
# decryption is computed.  6,000,000 is over the 5,000,000 limit (Java's);
# 2^40 does not fit OpenSSL's int at all.
iter() { python3 "$MTLSKIT_SRC/tests/lib/der-iter.py" "$@"; }
# (without a MAC, so that the encryption's count is the first thing read;
# openssl -nomac leaves certificates unencrypted unless told otherwise)
_ossl pkcs12 -export -nomac -certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -inkey leaf.key -in leaf.pem \
	-name mid-client -passout env:PFXPW -out nomac3des.p12
_ossl pkcs12 -export -nomac -certpbe AES-256-CBC -keypbe AES-256-CBC -inkey leaf.key -in leaf.pem \
	-name mid-client -passout env:PFXPW -out nomacaes.p12
for spec in "modern.p12 mac 6000000 MAC" "3des.p12 mac 1099511627776 MAC" \
	"nomacaes.p12 certs 6000000 certificate.encryption" "nomac.p12 key 6000000 private.key" \
	"nomac3des.p12 certs 6000000 certificate.encryption" "nomac3des.p12 key 1099511627776 private.key"; do
	set -- $spec
	out="iter-$2-$3-$1"
	iter "$1" "$out" "$2" "$3" || not_ok "der-iter.py $spec"
	start=$(date +%s%N)
	mtk inspect --json --pass env:PFXPW "$out"
	ms=$((($(date +%s%N) - start) / 1000000))
	expect_eq "$spec: exit 3" "$RC" 3
	expect_json "$spec: MTK_E_TOO_LARGE" '.files[0].error.code' MTK_E_TOO_LARGE
	expect_match "$spec: names the part and the limit" \
		"the $4 asks for more than 5000000 key-derivation iterations; refused" "$ERR"
	# at the old speed 6,000,000 iterations took ~2 s; refused, it is instant
	if [ "$ms" -lt 5000 ]; then ok "$spec: refused without the work"; else not_ok "$spec: took $ms ms"; fi
done
# A count at the limit's order that real files use still opens.
iter modern.p12 iter-ok.p12 mac 2048
mtk inspect --json --pass env:PFXPW iter-ok.p12
expect_eq "re-encoded PFX with 2,048 MAC iterations: exit 0" "$RC" 0

# Truncated PFX: exit 3, says truncated.
head -c 1200 modern.p12 >cut.p12
mtk inspect --json cut.p12
expect_eq "truncated PFX: exit 3" "$RC" 3
expect_json "truncated PFX: MTK_E_TRUNCATED" '.files[0].error.code' MTK_E_TRUNCATED

done_testing
