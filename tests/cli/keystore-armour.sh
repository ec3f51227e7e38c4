#!/usr/bin/env bash
# keystore-armour.sh - a PFX in PEM armour is a PKCS12 keystore for every
# keystore verb, in each armour the object loader reads: Windows `certutil
# -encode` of a .pfx (its base64 under BEGIN/END CERTIFICATE, CRLF lines)
# and GnuTLS's -----BEGIN PKCS12-----.  The PFX comes from openssl; what the
# listing says is checked against openssl's own reading of the certificate.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
cd "$T" || exit 1
export P12PW=armourpw1 WRONG=wrongpass

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem -out c.pem \
	-days 30 -subj "/CN=armour.example.com" 2>/dev/null
openssl pkcs12 -export -in c.pem -inkey k.pem -name client -passout env:P12PW -out a.pfx 2>/dev/null
want=$(openssl x509 -in c.pem -noout -fingerprint -sha256 | cut -d= -f2)

# certutil -encode a.pfx: CRLF lines, 64 columns, a CERTIFICATE label.
{
	printf -- '-----BEGIN CERTIFICATE-----\r\n'
	base64 -w 64 a.pfx | sed 's/$/\r/'
	printf -- '-----END CERTIFICATE-----\r\n'
} >certutil.txt
# GnuTLS certtool --to-p12 writes PKCS12 as the label.
{
	echo '-----BEGIN PKCS12-----'
	base64 -w 64 a.pfx
	echo '-----END PKCS12-----'
} >gnutls.pem

for f in certutil.txt gnutls.pem; do
	mtk --json keystore list --pass env:P12PW "$f"
	expect_eq "$f: list with the right password" "$RC" 0
	expect_json "$f: a PKCS12 store" '.type' pkcs12
	expect_json "$f: its key entry" '.entries | map("\(.alias) \(.type)") | join(",")' \
		"client PrivateKeyEntry"
	expect_json "$f: the certificate openssl reads" '.entries[0].certificates[0].sha256' "$want"
	mtk --json keystore list --pass env:WRONG "$f"
	expect_eq "$f: wrong password: exit 4" "$RC" 4
	expect_json "$f: wrong password: integrity" '.error.code' MTK_E_INTEGRITY
done

# The object loader reads the same file as the same PFX.
mtk --json inspect --pass env:P12PW certutil.txt
expect_eq "inspect reads the certutil armour" "$RC" 0

# Two armoured PFX in one file are not one keystore.
cat certutil.txt certutil.txt >two.txt
mtk keystore list --pass env:P12PW two.txt
expect_eq "two armoured PFX: not a keystore (exit 3)" "$RC" 3
# A certificate under its own label is a certificate, not a keystore.
mtk keystore list --pass env:P12PW c.pem
expect_eq "a PEM certificate: not a keystore (exit 3)" "$RC" 3

# An edit writes the store back in DER, which openssl reads.
cp certutil.txt edit.txt
mtk keystore add-trusted edit.txt --alias extra --pass env:P12PW c.pem
expect_eq "add-trusted to the armoured store" "$RC" 0
run openssl pkcs12 -in edit.txt -passin env:P12PW -nokeys -info
expect_eq "openssl reads the edited store" "$RC" 0
expect_match "openssl: the added entry" 'friendlyName: extra' "$OUT$ERR"

done_testing
