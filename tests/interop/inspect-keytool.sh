#!/usr/bin/env bash
# inspect-keytool.sh - keystores made by Java 17 keytool: JKS and JCEKS are
# recognised by magic with the version and entry count keytool reports; a
# keytool-made PKCS12 is opened with --pass and its certificates have the
# fingerprints and aliases keytool lists.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$MTLSKIT_SRC/tests/lib/inspect-fixtures.sh"
if ! command -v keytool >/dev/null; then
	ok "# SKIP keytool not installed"
	done_testing
fi
mk_pki || { not_ok "fixtures"; done_testing; }
cd "$T" || exit 1
SP=changeit

kt() { keytool "$@" -storepass "$SP" >/dev/null 2>&1 || diag "keytool $* failed"; }
# "Your keystore contains N entries"
kt_count() { keytool -list -keystore "$1" -storetype "$2" -storepass "$SP" 2>/dev/null | sed -n 's/^Your keystore contains \([0-9]*\) entr.*/\1/p'; }
# SHA-256 of an entry's certificate as keytool prints it
kt_sha256() { keytool -list -v -alias "$3" -keystore "$1" -storetype "$2" -storepass "$SP" 2>/dev/null | sed -n 's/^[[:space:]]*SHA256: //p' | head -1; }

for type in JKS JCEKS; do
	ks=store.$(echo $type | tr 'A-Z' 'a-z')
	kt -genkeypair -alias client -keyalg RSA -keysize 2048 -dname "CN=mid01.example.com,O=Example" \
		-validity 30 -storetype $type -keystore $ks -keypass $SP
	kt -importcert -noprompt -alias root -file root.pem -storetype $type -keystore $ks
	kt -importcert -noprompt -alias inter -file inter.pem -storetype $type -keystore $ks
	n=$(kt_count $ks $type)
	expect_eq "$type: keytool lists 3 entries" "$n" 3
	mtk inspect --json $ks
	expect_eq "$type: exit 0" "$RC" 0
	expect_json "$type: format" '.files[0].format' "$(echo $type | tr 'A-Z' 'a-z')"
	expect_json "$type: entry count as keytool -list" '.files[0].container.entries' "$n"
	expect_json "$type: version 2 (what keytool writes)" '.files[0].container.version' 2
	mtk inspect --no-color $ks
	expect_match "$type text: header" "^$ks: $type keystore, version 2, $n entries" "$OUT"
	# The certificate keytool exports is the one keytool lists.
	keytool -exportcert -alias client -keystore $ks -storetype $type -storepass $SP -file client.der >/dev/null 2>&1
	mtk inspect --json client.der
	expect_json "$type: exported cert SHA-256 as keytool -list -v" '.files[0].objects[0].sha256' "$(kt_sha256 $ks $type client)"
	expect_json "$type: exported cert subject" '.files[0].objects[0].subject' "CN=mid01.example.com,O=Example"
	expect_json "$type: keytool's key pair is self-signed" '.files[0].objects[0].self_signed' true
done

# A truncated keystore header: exit 3.
head -c 6 store.jks >cut.jks
mtk inspect --json cut.jks
expect_eq "truncated JKS header: exit 3" "$RC" 3
expect_json "truncated JKS header: MTK_E_TRUNCATED" '.files[0].error.code' MTK_E_TRUNCATED

# A PKCS12 keystore written by keytool (key pair + two trusted certificates):
# opened with --pass, aliases and fingerprints as keytool lists them.
kt -genkeypair -alias client -keyalg EC -groupname secp256r1 -dname "CN=mid02.example.com" \
	-validity 30 -storetype PKCS12 -keystore store.p12 -keypass $SP
kt -importcert -noprompt -alias root -file root.pem -storetype PKCS12 -keystore store.p12
kt -importcert -noprompt -alias inter -file inter.pem -storetype PKCS12 -keystore store.p12
mtk inspect --json store.p12
expect_eq "keytool PKCS12 no password: exit 0" "$RC" 0
expect_json "keytool PKCS12: needs a password" '.files[0].container.needs_password' true
expect_json "keytool PKCS12: MAC as openssl reports" '.files[0].container.mac | "\(.algorithm) \(.iterations)"' \
	"$(openssl pkcs12 -in store.p12 -info -noout -passin pass:$SP 2>&1 | sed -n 's/^MAC: \([^,]*\), Iteration \([0-9]*\).*/\1 \2/p')"
SPW=$SP mtk inspect --json --pass env:SPW store.p12
expect_eq "keytool PKCS12 --pass: exit 0" "$RC" 0
# One keytool -list -v for all aliases: "Alias name: X" ... "SHA256: ..." (first per alias).
keytool -list -v -keystore store.p12 -storetype PKCS12 -storepass $SP >listv.txt 2>/dev/null
for alias in client root inter; do
	expect_json "keytool PKCS12: alias $alias has keytool's SHA-256" \
		"[.files[0].objects[] | select(.type==\"certificate\" and .alias==\"$alias\") | .sha256] | first" \
		"$(awk -v a="$alias" '/^Alias name: /{cur=$3; seen=0} cur==a && !seen && /SHA256: /{sub(/.*SHA256: /,""); print; seen=1}' listv.txt)"
done
expect_json "keytool PKCS12: the key (alias client) matches the client certificate" \
	'.files[0].objects[] | select(.type=="private-key") | "\(.alias) \(.matches | length)"' "client 1"
mtk inspect --json --pass pass:wrong store.p12
expect_eq "keytool PKCS12 wrong password: exit 4" "$RC" 4

done_testing
