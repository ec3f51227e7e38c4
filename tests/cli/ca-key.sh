#!/usr/bin/env bash
# ca-key.sh - `key generate`: every type, PKCS#8, mode 0600, encryption that
# openssl reads back (PBES2/PBKDF2/AES-256-CBC), public key output.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"

for t in rsa:2048 ec:P-256 ec:P-384 ed25519; do
	f="$T/k-${t/:/-}.pem"
	expect_rc 0 "key generate --type $t" "$MTLSKIT" key generate --type "$t" -o "$f"
	expect_mode "$t key is mode 0600" "$f" 600
	expect_match "$t key is PKCS#8" '^-----BEGIN PRIVATE KEY-----' "$(head -1 "$f")"
	expect_match "$t public key printed on stdout" 'BEGIN PUBLIC KEY' "$OUT"
	run openssl pkey -in "$f" -noout -text
	case $t in
	rsa:2048) expect_match "openssl reads a 2048-bit RSA key" 'Private-Key: \(2048 bit' "$OUT" ;;
	ec:P-256) expect_match "openssl reads a P-256 key" 'NIST CURVE: P-256' "$OUT" ;;
	ec:P-384) expect_match "openssl reads a P-384 key" 'NIST CURVE: P-384' "$OUT" ;;
	ed25519) expect_match "openssl reads an Ed25519 key" 'ED25519 Private-Key' "$OUT" ;;
	esac
done

# rsa:3072 and rsa:4096 accepted (4096 is slow; generate once)
expect_rc 0 "key generate --type rsa:3072" "$MTLSKIT" key generate --type rsa:3072 -o "$T/k3072.pem"
run openssl pkey -in "$T/k3072.pem" -noout -text
expect_match "openssl reads a 3072-bit key" 'Private-Key: \(3072 bit' "$OUT"

# --json with the public key in the document
mtk --json key generate --type ec:P-256 -o "$T/j.pem"
expect_json "--json names the type" '.type' 'ec:P-256'
expect_json "--json public key PEM" '.public_key_pem | startswith("-----BEGIN PUBLIC KEY-----")' true
expect_json "--json not encrypted" '.encrypted' false

# public key to a file matches the private key
expect_rc 0 "--pub-out" "$MTLSKIT" key generate --type ec:P-256 -o "$T/p.key" --pub-out "$T/p.pub"
expect_eq "public key file is the key's public half" "$(openssl pkey -in "$T/p.key" -pubout)" "$(cat "$T/p.pub")"

# encrypted with --out-pass: PBES2, PBKDF2 (HMAC-SHA256), AES-256-CBC
export KEYPW=s3cret-pw
expect_rc 0 "--out-pass env:KEYPW" "$MTLSKIT" key generate --type rsa:2048 -o "$T/enc.key" --out-pass env:KEYPW
expect_match "encrypted PKCS#8" '^-----BEGIN ENCRYPTED PRIVATE KEY-----' "$(head -1 "$T/enc.key")"
expect_mode "encrypted key is mode 0600" "$T/enc.key" 600
run openssl asn1parse -in "$T/enc.key"
expect_match "PBES2" ':PBES2' "$OUT"
expect_match "PBKDF2" ':PBKDF2' "$OUT"
expect_match "HMAC-SHA256 PRF" ':hmacWithSHA256' "$OUT"
expect_match "AES-256-CBC" ':aes-256-cbc' "$OUT"
expect_rc 0 "openssl decrypts it with the password" openssl pkey -in "$T/enc.key" -passin env:KEYPW -noout
expect_rc 1 "openssl refuses a wrong password" openssl pkey -in "$T/enc.key" -passin pass:wrong -noout

# bad usage
expect_rc 2 "unknown type is a usage error" "$MTLSKIT" key generate --type rsa:1024 -o "$T/bad.pem"
expect_no_file "nothing written for a bad type" "$T/bad.pem"
expect_rc 2 "-o is required" "$MTLSKIT" key generate --type ec:P-256
expect_rc 2 "existing file is not replaced" "$MTLSKIT" key generate --type ec:P-256 -o "$T/p.key"
expect_eq "existing key unchanged" "$(openssl pkey -in "$T/p.key" -pubout)" "$(cat "$T/p.pub")"
expect_rc 0 "--force replaces it" "$MTLSKIT" key generate --type ec:P-256 -o "$T/p.key" --force
expect_rc 0 "key --help" "$MTLSKIT" key generate --help
expect_match "help lists the types" 'ed25519' "$OUT"
done_testing
