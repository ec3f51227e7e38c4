#!/usr/bin/env bash
# keystore-pkcs12-edit.sh - a PKCS12 truststore of many entries edited by
# mtlskit (which keeps unchanged certificates as the bytes it read and
# writes their bags back as they were): keytool and openssl still read it
# with the right count, and every certificate left is byte for byte the one
# that was there.  Stores made by mtlskit and by keytool, one with a key
# entry among the trusted ones.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"

if ! command -v keytool >/dev/null; then
	echo "1..0 # SKIP keytool is not installed"
	exit 0
fi
export PW=changeit
N=40

# N self-signed CA certificates, one EC key (openssl, a few ms each).
mkdir -p "$T/certs"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ca.key" 2>/dev/null
for i in $(seq -w 1 $N); do
	openssl req -x509 -key "$T/ca.key" -out "$T/certs/ca$i.pem" -days 30 \
		-subj "/CN=Edit CA $i/O=Example" 2>/dev/null
done

# Every certificate of a PFX, one base64 body per line, sorted: equal lists
# mean byte-identical DER.
p12_certs() {
	openssl pkcs12 -in "$1" -nokeys -passin pass:changeit 2>/dev/null |
		awk '/-----BEGIN CERTIFICATE-----/{c=""; on=1; next}
		     /-----END CERTIFICATE-----/{print c; on=0; next}
		     on{c=c $0}' | sort
}
kt_count() { keytool -list -storetype PKCS12 -keystore "$1" -storepass changeit 2>/dev/null |
	sed -n 's/^Your keystore contains \([0-9,]*\) entr.*/\1/p' | tr -d ,; }
ossl_count() { openssl pkcs12 -info -nokeys -in "$1" -passin pass:changeit 2>/dev/null | grep -c 'BEGIN CERTIFICATE'; }
body() { grep -v -- '-----' "$1" | tr -d '\n'; }

# ------------------------------------------------- a store mtlskit made
mtk keystore import-trusted "$T/ours.p12" --type pkcs12 --pass env:PW "$T/certs"
expect_eq "import-trusted: $N certificates into a new PKCS12" "$RC" 0
expect_eq "keytool counts $N entries" "$(kt_count "$T/ours.p12")" "$N"
p12_certs "$T/ours.p12" >"$T/before.txt"

mtk keystore remove "$T/ours.p12" --alias "edit ca 07" --pass env:PW
expect_eq "remove one entry of $N: exit 0" "$RC" 0
expect_eq "keytool -list -storetype PKCS12: $((N - 1)) entries" "$(kt_count "$T/ours.p12")" "$((N - 1))"
expect_eq "openssl pkcs12 -info -nokeys: $((N - 1)) certificates" "$(ossl_count "$T/ours.p12")" "$((N - 1))"
p12_certs "$T/ours.p12" >"$T/after.txt"
expect_eq "the $((N - 1)) certificates left are byte-identical to before" \
	"$(grep -v -x -F "$(body "$T/certs/ca07.pem")" "$T/before.txt")" "$(cat "$T/after.txt")"
run keytool -list -storetype PKCS12 -keystore "$T/ours.p12" -storepass changeit -alias "edit ca 08"
expect_match "keytool: an untouched entry is still a trusted certificate" 'trustedCertEntry' "$OUT"
mtk keystore export "$T/ours.p12" --alias "edit ca 08" --pass env:PW
expect_eq "export of an untouched entry: the PEM that was imported" "$OUT" "$(cat "$T/certs/ca08.pem")"

mtk keystore add-trusted "$T/ours.p12" --alias added --pass env:PW "$T/certs/ca07.pem"
expect_eq "add-trusted after the remove: exit 0" "$RC" 0
expect_eq "keytool: $N entries again" "$(kt_count "$T/ours.p12")" "$N"
expect_eq "every certificate is the one imported, byte for byte" "$(p12_certs "$T/ours.p12")" "$(cat "$T/before.txt")"

# A key entry among them: its chain is decoded, the trusted bags kept.
mtk keystore genkey "$T/ours.p12" --alias client --subject "CN=client.example.com" \
	--key-type ec:P-256 --pass env:PW
expect_eq "genkey into the truststore: exit 0" "$RC" 0
mtk keystore remove "$T/ours.p12" --alias "edit ca 01" --pass env:PW
expect_eq "keytool: $N entries (one key, $((N - 1)) trusted)" "$(kt_count "$T/ours.p12")" "$N"
run keytool -list -storetype PKCS12 -keystore "$T/ours.p12" -storepass changeit -alias client
expect_match "keytool: the key entry is a PrivateKeyEntry" 'PrivateKeyEntry' "$OUT"
mtk keystore list --json --pass env:PW "$T/ours.p12"
expect_json "mtlskit: $((N - 1)) trusted entries" '[.entries[] | select(.type=="trustedCertEntry")] | length' "$((N - 1))"

# ------------------------------------------------- a store keytool made
# (12 entries: a keytool call takes about a second.)
NK=12
for i in $(seq -w 1 $NK); do
	keytool -importcert -noprompt -storetype PKCS12 -keystore "$T/kt.p12" -storepass changeit \
		-alias "kt$i" -file "$T/certs/ca$i.pem" >/dev/null 2>&1
done
expect_eq "keytool made a PKCS12 of $NK entries" "$(kt_count "$T/kt.p12")" "$NK"
# "alias, date, type, fingerprint" per entry, as keytool -list prints them.
kt_entries() { keytool -list -storetype PKCS12 -keystore "$1" -storepass changeit 2>/dev/null |
	grep -A1 'trustedCertEntry' | grep -v '^--$' | paste -d' ' - - | sort; }
want=$(kt_entries "$T/kt.p12" | grep -v '^kt07,')
p12_certs "$T/kt.p12" >"$T/kbefore.txt"
mtk keystore remove "$T/kt.p12" --alias kt07 --pass env:PW
expect_eq "remove from keytool's store: exit 0" "$RC" 0
expect_eq "keytool: $((NK - 1)) entries" "$(kt_count "$T/kt.p12")" "$((NK - 1))"
expect_eq "openssl: $((NK - 1)) certificates" "$(ossl_count "$T/kt.p12")" "$((NK - 1))"
expect_eq "keytool's certificates left are byte-identical" \
	"$(p12_certs "$T/kt.p12")" "$(grep -v -x -F "$(body "$T/certs/ca07.pem")" "$T/kbefore.txt")"
expect_eq "keytool lists the other aliases and fingerprints as before" "$(kt_entries "$T/kt.p12")" "$want"

done_testing
