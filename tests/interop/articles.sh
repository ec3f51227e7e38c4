#!/usr/bin/env bash
# articles.sh - the knowledge-base articles' own recipes (../shared/context
# 002, 003 and 004), run with keytool/openssl as they say and again with
# mtlskit alone: `check --profile outbound|mid` finds nothing wrong (no error,
# no warning) in what either built, and `mtlskit keystore list` agrees with
# `keytool -list -v` (aliases, entry types, SHA-256 fingerprints, chain
# lengths) on every store.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"

if ! command -v keytool >/dev/null; then
	echo "1..0 # SKIP keytool is not installed"
	exit 0
fi
W=$T/articles
mkdir -p "$W" && cd "$W" || exit 1
export P=pass123
KT() { keytool -noprompt "$@" 2>/dev/null; }

# "Your CA" (a private CA: root + issuing) and the third party's certificate.
"$MTLSKIT" ca init ca --name "HOMELAB Root CA" --intermediate "HOMELAB Issuing CA" >/dev/null 2>&1
openssl req -x509 -newkey rsa:2048 -nodes -keyout 3rd.key -out 3rdPublicCert.pem -days 365 \
	-subj "/CN=api.partner.example" -addext "subjectAltName=DNS:api.partner.example" 2>/dev/null
[ -s ca/root.crt ] && [ -s 3rdPublicCert.pem ] || { echo "Bail out! fixtures"; exit 1; }

# keytool -list -v, as "alias|type|chain length|SHA-256 of the first certificate", sorted.
kt_view() {
	keytool -list -v -keystore "$1" -storepass "$2" 2>/dev/null | awk '
		function flush() { if (a != "") print a "|" t "|" (n ? n : 1) "|" f; a = ""; n = 0; f = "" }
		/^Alias name: / { flush(); a = substr($0, 13) }
		/^Entry type: / { t = substr($0, 13) }
		/^Certificate chain length: / { n = $4 }
		/^\t ?SHA256: / && f == "" { f = $2 }
		/SHA256: / && f == "" { f = $NF }
		END { flush() }' | sort
}
mtk_view() {
	"$MTLSKIT" keystore list --json --pass "env:$2" "$1" |
		jq -r '.entries[] | "\(.alias)|\(.type)|\(.certificates | length)|\(.certificates[0].sha256)"' | sort
}
# check: zero errors and zero warnings (information is allowed).
clean() { # DESC PROFILE FILE [args]
	local desc=$1 profile=$2
	shift 2
	mtk check --json --profile "$profile" "$@"
	expect_eq "$desc: check --profile $profile: 0 errors, 0 warnings" \
		"$RC $(printf '%s' "$OUT" | jq -r '[([.findings[] | select(.severity=="error")] | length), ([.findings[] | select(.severity=="warning")] | length)] | join(" ")')" "0 0 0"
	[ "$RC" = 0 ] || diag "$(printf '%s' "$OUT" | jq -c '[.findings[] | {id, severity, where, message}]')"
	expect_eq "$desc: no chain-broken, no chain-order" \
		"$(printf '%s' "$OUT" | jq -r '[.findings[].id | select(. == "chain-broken" or . == "chain-order")] | length')" 0
	if [ "$profile" = outbound ]; then
		expect_eq "$desc: nothing said about the MID Server or its bundle" \
			"$(printf '%s' "$OUT" | jq -r '[.findings[] | .message, .fix, .advice | select(. != null) | select(test("MID Server|mtlskit bundle|mid install"))] | length')" 0
	fi
}
agree() { # DESC STORE PASSVAR WANT-ENTRIES
	local kv mv
	kv=$(kt_view "$2" "${!3}")
	mv=$(mtk_view "$2" "$3")
	expect_eq "$1: mtlskit keystore list agrees with keytool -list -v" "$mv" "$kv"
	expect_eq "$1: $4 entries" "$(printf '%s\n' "$kv" | grep -c .)" "$4"
}

# ------------------------------------------------------------ article 002, keytool
# (JKS: article 003 says the record takes JKS, not PKCS12 — Java 17's default.)
KT -genkey -alias ServiceNow_alias -keyalg RSA -validity 365 -keystore myKeystore.keystore \
	-storepass pass123 -keypass pass123 -storetype JKS -dname "CN=client.example.com, O=Example Ltd, C=GB"
KT -export -alias ServiceNow_alias -keystore myKeystore.keystore -storepass pass123 -file yourPublicCert.cer
openssl x509 -inform der -in yourPublicCert.cer -out yourPublicCert.pem
openssl x509 -outform der -in 3rdPublicCert.pem -out 3rdPublicCert.cer
KT -import -alias Puppet -keystore myKeystore.keystore -file 3rdPublicCert.cer -storepass pass123
clean "002 keytool" outbound myKeystore.keystore --pass env:P
expect_match "002 keytool: the self-signed key entry is information, not an error" \
	'leaf-self-signed' "$(printf '%s' "$OUT" | jq -r '[.findings[] | select(.severity=="info") | .id] | join(" ")')"
expect_match "002 keytool: its advice speaks of the keystore (keystore csr / install-reply)" \
	'mtlskit keystore csr myKeystore.keystore --alias servicenow_alias' \
	"$(printf '%s' "$OUT" | jq -r '.findings[] | select(.id=="leaf-self-signed") | .advice')"
expect_eq "002 keytool: no fix and no advice mentions the MID Server bundle" \
	"$(printf '%s' "$OUT" | jq -r '[.findings[] | .fix, .advice | select(. != null) | select(test("mtlskit bundle|mid install"))] | length')" 0
agree "002 keytool" myKeystore.keystore P 2
# the same recipe without -storetype: Java 17 writes PKCS12, which the record refuses
KT -genkey -alias ServiceNow_alias -keyalg RSA -validity 365 -keystore p12.keystore \
	-storepass pass123 -keypass pass123 -dname "CN=client.example.com, O=Example Ltd, C=GB"
mtk check --json --profile outbound p12.keystore --pass env:P
expect_eq "002 keytool, Java 17 default store type (PKCS12): keystore-type is reported" \
	"$(printf '%s' "$OUT" | jq -r '[.findings[].id] | index("keystore-type") != null')" true

# ------------------------------------------------------------ article 002, mtlskit
"$MTLSKIT" keystore genkey m002.jks --alias ServiceNow_alias --keyalg RSA --validity 365 \
	--dname "CN=client.example.com, O=Example Ltd, C=GB" --pass env:P >/dev/null 2>&1
"$MTLSKIT" keystore add-trusted m002.jks --alias Puppet 3rdPublicCert.cer --pass env:P >/dev/null 2>&1
clean "002 mtlskit" outbound m002.jks --pass env:P
agree "002 mtlskit" m002.jks P 2
run keytool -list -keystore m002.jks -storepass pass123
expect_match "002 mtlskit: keytool reads the store" 'Your keystore contains 2 entries' "$OUT"

# ------------------------------------------------------------ article 003, keytool
KT -genkey -alias client -keyalg RSA -keysize 2048 -validity 365 -storetype JKS -keystore k003.jks \
	-storepass pass123 -keypass pass123 -dname "CN=client.example.com, O=Example Ltd, L=London, ST=London, C=GB"
KT -certreq -alias client -keystore k003.jks -storepass pass123 -file k003.csr \
	-ext "EKU=clientAuth" -ext "SAN=dns:client.example.com"
"$MTLSKIT" ca sign ca k003.csr --profile client -o k003.crt >/dev/null 2>&1
KT -import -trustcacerts -alias root -file ca/root.crt -keystore k003.jks -storepass pass123
KT -import -trustcacerts -alias issuing -file ca/issuing.crt -keystore k003.jks -storepass pass123
KT -import -trustcacerts -alias client -file k003.crt -keystore k003.jks -storepass pass123
expect_eq "003 keytool: the reply's chain is 3 long" \
	"$(kt_view k003.jks "$P" | grep '^client|' | cut -d'|' -f3)" 3
clean "003 keytool" outbound k003.jks --pass env:P
agree "003 keytool" k003.jks P 3
# the reply as a keytool PKCS12 is refused as keystore-type, nothing else
KT -importkeystore -srckeystore k003.jks -srcstorepass pass123 -destkeystore k003.p12 \
	-deststoretype PKCS12 -deststorepass pass123
mtk check --json --profile outbound k003.p12 --pass env:P
expect_eq "003 keytool, as PKCS12: only keystore-type" \
	"$(printf '%s' "$OUT" | jq -r '[.findings[] | select(.severity != "info") | .id] | unique | join(" ")')" keystore-type

# the same store converted by mtlskit (issue 19, item 11): still no finding
run "$MTLSKIT" convert k003.jks --pass env:P --to jks --out-pass env:P -o k003-conv.jks
expect_eq "003 keytool store converted by mtlskit: written" "$RC" 0
clean "003 converted" outbound k003-conv.jks --pass env:P
agree "003 converted" k003-conv.jks P 3

# ------------------------------------------------------------ article 003, mtlskit
"$MTLSKIT" keystore genkey m003.jks --alias client --keyalg RSA --validity 365 --pass env:P \
	--dname "CN=client.example.com, O=Example Ltd, L=London, ST=London, C=GB" >/dev/null 2>&1
run "$MTLSKIT" keystore csr m003.jks --alias client --pass env:P --usage client \
	--san DNS:client.example.com -o m003.csr
expect_eq "003 mtlskit: keystore csr --usage --san" "$RC" 0
run openssl req -in m003.csr -noout -text
expect_match "003 mtlskit: the request asks for clientAuth" 'TLS Web Client Authentication' "$OUT"
expect_match "003 mtlskit: and carries the SAN" 'DNS:client.example.com' "$OUT"
"$MTLSKIT" ca sign ca m003.csr --profile client -o m003.crt >/dev/null 2>&1
# a one-certificate reply before the CA is trusted: keytool and mtlskit both
# refuse; mtlskit names the issuer it did not find
cp m003.jks m003-kt.jks
run keytool -noprompt -importcert -alias client -file m003.crt -keystore m003-kt.jks -storepass pass123
expect_match "003: keytool refuses a reply whose issuer it cannot find" 'Failed to establish chain from reply' "$OUT$ERR"
run "$MTLSKIT" keystore install-reply m003.jks --alias client --pass env:P m003.crt
expect_eq "003 mtlskit: refused too (exit 3)" "$RC" 3
expect_match "003 mtlskit: names the issuer it could not find" "issuer 'CN=HOMELAB Issuing CA'" "$ERR"
"$MTLSKIT" keystore add-trusted m003.jks --alias root ca/root.crt --pass env:P >/dev/null 2>&1
"$MTLSKIT" keystore add-trusted m003.jks --alias issuing ca/issuing.crt --pass env:P >/dev/null 2>&1
KT -importcert -trustcacerts -alias root -file ca/root.crt -keystore m003-kt.jks -storepass pass123
KT -importcert -trustcacerts -alias issuing -file ca/issuing.crt -keystore m003-kt.jks -storepass pass123
run "$MTLSKIT" keystore install-reply m003.jks --alias client --pass env:P m003.crt
expect_eq "003 mtlskit: the one-certificate reply installs once the CAs are trusted" "$RC" 0
run keytool -noprompt -importcert -alias client -file m003.crt -keystore m003-kt.jks -storepass pass123
expect_match "003: keytool installs the same reply" 'Certificate reply was installed' "$OUT$ERR"
expect_eq "003: the same chain as keytool completes (length 3, same certificates)" \
	"$(keytool -list -v -alias client -keystore m003.jks -storepass pass123 2>/dev/null | grep -E 'chain length|SHA256:')" \
	"$(keytool -list -v -alias client -keystore m003-kt.jks -storepass pass123 2>/dev/null | grep -E 'chain length|SHA256:')"
clean "003 mtlskit" outbound m003.jks --pass env:P
expect_eq "003 mtlskit: not even information (CA-issued, clientAuth)" \
	"$(printf '%s' "$OUT" | jq -r '[.findings[].id] | join(" ")')" ""
agree "003 mtlskit" m003.jks P 3

# ------------------------------------------------------------ article 004, openssl
# Key, CSR, the CA's certificate and chain, then the bundle by hand:
# leaf -> intermediate -> root -> unencrypted PKCS#8 key.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out mid.key 2>/dev/null
openssl req -new -key mid.key -out mid.csr \
	-subj "/C=GB/ST=London/L=London/O=Example Ltd/CN=mid01.example.com" 2>/dev/null
"$MTLSKIT" ca sign ca mid.csr --profile client -o mid.crt --chain-out mid-chain.pem >/dev/null 2>&1
cat mid.crt ca/issuing.crt ca/root.crt mid.key >manual-bundle.pem
clean "004 openssl" mid manual-bundle.pem
expect_match "004 openssl: the key is PKCS#8 ('BEGIN PRIVATE KEY')" '^-----BEGIN PRIVATE KEY-----' "$(cat mid.key)"
# and with mtlskit, from the parts in any order
run "$MTLSKIT" bundle mid.key mid-chain.pem mid.crt -o mtk-bundle.pem
expect_eq "004 mtlskit: bundle writes it" "$RC" 0
expect_eq "004: the same bytes as the bundle built by hand" "$(cmp manual-bundle.pem mtk-bundle.pem && echo same)" same
clean "004 mtlskit" mid mtk-bundle.pem
A=$W/mid/agent
mkdir -p "$A/security" && : >"$A/config.xml"
run "$MTLSKIT" mid install --agent "$W/mid" mtk-bundle.pem
expect_eq "004: the MID Server's own directory (parent of agent/) is refused" "$RC" 3
expect_match "004: ... saying what it looked for" "looked for $W/mid/config.xml" "$ERR"
expect_rc 0 "004: mid install into the agent directory" "$MTLSKIT" mid install --agent "$A" mtk-bundle.pem
export CHANGEIT=changeit
clean "004 agent keystore" mid "$A/security/agent_keystore.jks" --alias defaultsecuritykeypairhandle --pass env:CHANGEIT
agree "004 agent keystore" "$A/security/agent_keystore.jks" CHANGEIT 1
expect_eq "004: keytool sees defaultsecuritykeypairhandle with the chain of 3" \
	"$(kt_view "$A/security/agent_keystore.jks" changeit | cut -d'|' -f1-3)" "defaultsecuritykeypairhandle|PrivateKeyEntry|3"
done_testing
