#!/usr/bin/env bash
# convert-pfx.sh - PFX read in every flavour with no extra flag and split
# into key / certificate / chain; PFX written in the modern, legacy and java
# profiles and judged by `openssl pkcs12 -info`; the refusals (no key, wrong
# key, wrong password, damaged or truncated file, two keys).
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "${BASH_SOURCE[0]}")/convert.fixtures"
mkfix
cd "$T" || exit 1
WANT=$(pub_of "$FX/leaf.key")

# --- read every flavour, no -legacy flag ---
for f in modern legacy-rc2 windows-3des nomac empty-pass; do
	pass=(--pass env:PW)
	[ "$f" = empty-pass ] && pass=()
	expect_rc 0 "$f.p12: --split-out" "$MTLSKIT" --json convert "$FX/$f.p12" "${pass[@]}" --split-out "$f"
	expect_json "$f.p12: three files" '.outputs | length' 3
	expect_eq "$f.p12: key is PKCS#8" "$(head -1 "$f.key")" "-----BEGIN PRIVATE KEY-----"
	expect_eq "$f.p12: key is the original" "$(pub_of "$f.key")" "$WANT"
	expect_mode "$f.p12: key is 0600" "$f.key" 600
	expect_eq "$f.p12: .crt is the key's certificate" "$(openssl x509 -in "$f.crt" -noout -subject)" "subject=CN = mid01.example.com, O = Example"
	expect_eq "$f.p12: chain intermediate first" "$(openssl x509 -in "$f-chain.pem" -noout -subject)" "subject=CN = Convert Test Issuing CA, O = Example"
	run openssl verify -CAfile "$FX/root.pem" -untrusted "$f-chain.pem" "$f.crt"
	expect_eq "$f.p12: openssl verify -CAfile root -untrusted chain crt" "$OUT" "$f.crt: OK"
done
mtk --json convert "$FX/legacy-rc2.p12" --pass env:PW --to pem -o rc2.pem
expect_json "legacy input recognised as legacy" '.inputs[0].legacy' true
expect_json "legacy input: RC2 certificates" '.inputs[0].cert_encryption' "PBE-SHA1-RC2-40"
expect_rc 0 "the same PEM comes out of every flavour" cmp rc2.pem <(cat modern.crt modern-chain.pem modern.key)

# --- bad input: nothing written ---
expect_rc 4 "wrong password: exit 4" env PW=wrong "$MTLSKIT" convert "$FX/modern.p12" --pass env:PW --split-out bad
expect_match "says wrong password" 'wrong password' "$ERR"
expect_no_file "no partial output on a wrong password" bad.key
expect_rc 4 "legacy PFX, wrong password: exit 4" env PW=wrong "$MTLSKIT" convert "$FX/legacy-rc2.p12" --pass env:PW --to pem -o bad.pem
expect_no_file "nothing written" bad.pem
expect_rc 4 "no-MAC PFX, wrong password: exit 4" env PW=wrong "$MTLSKIT" convert "$FX/nomac.p12" --pass env:PW --to pem -o bad.pem
expect_rc 4 "password-protected PFX, no --pass and no terminal: exit 4" "$MTLSKIT" convert "$FX/modern.p12" --to pem -o bad.pem
expect_match "asks for --pass" 'give --pass' "$ERR"
cp "$FX/modern.p12" flipped.p12
n=$(stat -c %s flipped.p12)
flip_byte flipped.p12 $((n - 25))
expect_eq "the byte was changed" "$(cmp "$FX/modern.p12" flipped.p12 >/dev/null 2>&1; echo $?)" 1
expect_rc 4 "MAC altered near the end: exit 4" "$MTLSKIT" convert flipped.p12 --pass env:PW --to pem -o bad.pem
expect_match "says integrity / altered" 'altered' "$ERR"
head -c $((n / 2)) "$FX/modern.p12" >trunc.p12
expect_rc 3 "truncated PFX: exit 3" "$MTLSKIT" convert trunc.p12 --pass env:PW --to pem -o bad.pem
expect_no_file "nothing written from bad input" bad.pem

# --- write: the three profiles, as openssl sees them ---
for order in "$FX/root.pem $FX/leaf.key $FX/int.pem $FX/leaf.pem" "$FX/cas.pem $FX/leaf.pem $FX/leaf.key"; do
	# shellcheck disable=SC2086
	expect_rc 0 "pkcs12 from inputs in any order" env OP=outpw "$MTLSKIT" convert $order --to pkcs12 --out-pass env:OP -o any.p12 --force
	run openssl pkcs12 -in any.p12 -passin pass:outpw -nokeys -clcerts
	expect_match "the key's certificate is the leaf" 'subject=CN = mid01.example.com' "$OUT"
done

mtk --json convert "$FX/modern.p12" --pass env:PW --to pkcs12 --out-pass env:PW -o modern-out.p12
expect_eq "modern: exit 0" "$RC" 0
expect_json "modern: JSON compat" '.compat' modern
expect_mode "PFX is 0600" modern-out.p12 600
info=$(openssl pkcs12 -info -noout -in modern-out.p12 -passin env:PW 2>&1)
expect_match "modern: MAC sha256" '^MAC: sha256, Iteration 2048' "$info"
expect_match "modern: certificates PBES2/PBKDF2/AES-256-CBC" '^PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256' "$info"
expect_match "modern: key PBES2/PBKDF2/AES-256-CBC" '^Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256' "$info"
expect_eq "modern: three certificates" "$(printf '%s\n' "$info" | grep -c '^Certificate bag')" 3
expect_eq "modern: key unchanged" "$(openssl pkcs12 -in modern-out.p12 -passin env:PW -nocerts -nodes | openssl pkey -pubout)" "$WANT"

expect_rc 0 "legacy" "$MTLSKIT" convert "$FX/leaf.key" "$FX/leaf.pem" "$FX/cas.pem" --to pkcs12 --compat legacy --alias "MID Client" --out-pass env:PW -o legacy-out.p12
info=$(openssl pkcs12 -info -noout -in legacy-out.p12 -passin env:PW 2>&1)
expect_match "legacy: MAC sha1" '^MAC: sha1' "$info"
expect_match "legacy: certificates 3DES" '^PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC' "$info"
expect_match "legacy: key 3DES" '^Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC' "$info"
expect_no_match "legacy: no AES anywhere" 'AES' "$info"
expect_no_match "legacy: readable without -legacy (no RC2)" 'unsupported|Error' "$info"
expect_match "legacy: friendlyName is the alias" 'friendlyName: MID Client' "$(openssl pkcs12 -in legacy-out.p12 -passin env:PW -nokeys -clcerts)"

expect_rc 0 "java with --trusted" "$MTLSKIT" convert "$FX/leaf.key" "$FX/leaf.pem" "$FX/cas.pem" --to pkcs12 --compat java --alias "MyClient" --trusted "$FX/root.pem" --out-pass env:PW -o java.p12
info=$(openssl pkcs12 -info -noout -in java.p12 -passin env:PW 2>&1)
expect_match "java: MAC sha256, 10000 iterations" '^MAC: sha256, Iteration 10000' "$info"
expect_match "java: MAC salt 20 bytes" 'salt length: 20' "$info"
expect_match "java: certificates PBES2 AES-256 10000" '^PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 10000, PRF hmacWithSHA256' "$info"
expect_match "java: key PBES2 AES-256 10000" '^Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 10000, PRF hmacWithSHA256' "$info"
attrs=$(openssl pkcs12 -in java.p12 -passin env:PW -nodes -info 2>/dev/null)
expect_match "java: friendlyName lower-cased" 'friendlyName: myclient' "$attrs"
expect_match "java: localKeyID is \"Time <ms>\"" 'localKeyID: 54 69 6D 65 20 3[0-9]' "$attrs"
expect_eq "java: trusted attribute once (the root entry only)" "$(printf '%s\n' "$attrs" | grep -c '2.16.840.1.113894.746875.1.1')" 1
expect_match "java: trusted entry named after the CN" 'friendlyName: convert test root' "$attrs"
# the key's own certificate never carries it
expect_no_match "java: leaf bag has no trusted attribute" '2.16.840.1.113894' "$(openssl pkcs12 -in java.p12 -passin env:PW -nokeys -clcerts)"

# our own PFX read back: round trip
for f in modern-out legacy-out java; do
	expect_rc 0 "$f.p12 read back" "$MTLSKIT" convert $f.p12 --pass env:PW --to pkcs8 -o $f.rt.key
	expect_eq "$f.p12 round trip keeps the key" "$(pub_of $f.rt.key)" "$WANT"
done

# empty output password: openssl and we read it back
expect_rc 0 "PFX with an empty password" "$MTLSKIT" convert "$FX/leaf.key" "$FX/leaf.pem" --to pkcs12 --out-pass pass: -o empty-out.p12
expect_rc 0 "openssl opens it with the empty password" openssl pkcs12 -info -noout -in empty-out.p12 -passin pass:
expect_rc 0 "we read it with no --pass" "$MTLSKIT" convert empty-out.p12 --to pkcs8 -o empty-out.key
expect_eq "same key" "$(pub_of empty-out.key)" "$WANT"
# a PFX whose MAC is keyed with an absent password (Windows, PKCS12_create(NULL, ...)),
# made through libcrypto itself; read with no --pass and with an explicit empty one
python3 - "$FX/leaf.key" "$FX/leaf.pem" nullpw.p12 <<'PY'
import ctypes, ctypes.util, sys
c = ctypes.CDLL(ctypes.util.find_library("crypto") or "libcrypto.so.3")
for f in ("BIO_new_file", "PEM_read_bio_PrivateKey", "PEM_read_bio_X509", "PKCS12_create"):
    getattr(c, f).restype = ctypes.c_void_p
c.BIO_new_file.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
c.PEM_read_bio_PrivateKey.argtypes = c.PEM_read_bio_X509.argtypes = [ctypes.c_void_p] * 4
c.PKCS12_create.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p,
                            ctypes.c_void_p] + [ctypes.c_int] * 5
c.i2d_PKCS12_bio.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
c.BIO_free.argtypes = [ctypes.c_void_p]
kb, xb = c.BIO_new_file(sys.argv[1].encode(), b"r"), c.BIO_new_file(sys.argv[2].encode(), b"r")
key, cert = c.PEM_read_bio_PrivateKey(kb, None, None, None), c.PEM_read_bio_X509(xb, None, None, None)
p12 = c.PKCS12_create(None, None, key, cert, None, 146, 146, 0, 0, 0)  # 146: PBE-SHA1-3DES
out = c.BIO_new_file(sys.argv[3].encode(), b"wb")
sys.exit(0 if p12 and c.i2d_PKCS12_bio(out, p12) == 1 and c.BIO_free(out) else 1)
PY
expect_eq "absent-password PFX made" "$?" 0
expect_rc 0 "absent-password PFX, no --pass" "$MTLSKIT" convert nullpw.p12 --to pkcs8 -o nullpw1.key
expect_rc 0 "absent-password PFX, --pass pass: (empty)" "$MTLSKIT" convert nullpw.p12 --pass pass: --to pkcs8 -o nullpw2.key
expect_eq "same key" "$(pub_of nullpw2.key)" "$WANT"
# standard output: the PFX bytes on stdout, the summary on stderr
run bash -c '"$MTLSKIT" convert "$1" "$2" --to pkcs12 --out-pass env:PW -o - > stdout.p12' _ "$FX/leaf.key" "$FX/leaf.pem"
expect_eq "-o -: exit 0" "$RC" 0
expect_match "-o -: summary on stderr" 'wrote -' "$ERR"
expect_rc 0 "-o -: openssl reads what came out on stdout" openssl pkcs12 -info -noout -in stdout.p12 -passin env:PW

# --- refusals ---
mtk --json convert "$FX/leaf.pem" "$FX/int.pem" "$FX/root.pem" --to pkcs12 --out-pass env:PW -o nokey.p12
expect_eq "certificates only -> pkcs12: exit 1" "$RC" 1
expect_eq "finding key-missing" "$(finding_ids)" "key-missing"
expect_json "key-missing is an error" '.findings[0].severity' error
expect_match "explains the server key is never exportable" 'never exportable' "$(printf '%s' "$OUT" | jq -r '.findings[0].message')"
expect_match "advice names csr create" 'mtlskit csr create' "$(printf '%s' "$OUT" | jq -r '.findings[0].advice')"
expect_no_file "nothing written" nokey.p12
mtk convert "$FX/leaf.pem" "$FX/int.pem" --to pkcs12 --out-pass env:PW -o nokey.p12
expect_match "text mode names key-missing" 'key-missing' "$ERR"
mtk --json convert "$FX/root.key" "$FX/leaf.pem" "$FX/int.pem" --to pkcs12 --out-pass env:PW -o mismatch.p12
expect_eq "key matching no certificate: exit 1" "$RC" 1
expect_eq "finding key-mismatch" "$(finding_ids)" "key-mismatch"
expect_no_file "nothing written" mismatch.p12
expect_rc 1 "split with a mismatched key: exit 1" "$MTLSKIT" convert "$FX/root.key" "$FX/leaf.pem" --split-out mm
expect_no_file "no split file written" mm.crt
expect_rc 2 "pkcs12 without --out-pass (no terminal): exit 2" "$MTLSKIT" convert "$FX/leaf.key" "$FX/leaf.pem" --to pkcs12 -o nopass.p12
expect_no_file "nothing written" nopass.p12
expect_rc 2 "--compat without pkcs12: exit 2" "$MTLSKIT" convert "$FX/leaf.pem" --to pem --compat java -o x.pem

# two keys: two PFX with different aliases
openssl req -newkey rsa:2048 -nodes -keyout leaf2.key -out leaf2.csr -subj "/CN=mid02.example.com" 2>/dev/null
openssl x509 -req -in leaf2.csr -CA "$FX/int.pem" -CAkey "$FX/int.key" -CAcreateserial -out leaf2.pem -days 3 2>/dev/null
openssl pkcs12 -export -inkey "$FX/leaf.key" -in "$FX/leaf.pem" -name first -passout env:PW -out a.p12
openssl pkcs12 -export -inkey leaf2.key -in leaf2.pem -name second -passout env:PW -out b.p12
expect_rc 2 "two keys, no --alias: exit 2" "$MTLSKIT" convert a.p12 b.p12 --pass env:PW --to pkcs8 -o two.key
expect_match "names the aliases to choose from" 'first, second.*--alias' "$ERR"
expect_no_file "nothing written" two.key
expect_rc 0 "--alias picks one" "$MTLSKIT" convert a.p12 b.p12 "$FX/int.pem" --pass env:PW --alias SECOND --split-out two
expect_eq "the chosen key" "$(pub_of two.key)" "$(pub_of leaf2.key)"
expect_eq "its certificate" "$(openssl x509 -in two.crt -noout -subject)" "subject=CN = mid02.example.com"
expect_rc 3 "--alias naming no key: exit 3" "$MTLSKIT" convert a.p12 b.p12 --pass env:PW --alias third --to pkcs8 -o three.key
expect_rc 0 "two keys, one with a certificate: that one" "$MTLSKIT" convert "$FX/root.key" "$FX/leaf.key" "$FX/leaf.pem" --to pkcs8 -o one.key
expect_eq "the key with a certificate" "$(pub_of one.key)" "$WANT"
done_testing
