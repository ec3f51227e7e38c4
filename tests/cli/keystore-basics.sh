#!/usr/bin/env bash
# keystore-basics.sh - the keystore verbs with our binary and openssl only:
# JSON shapes, exit statuses for bad input, atomic edits, help.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"

C=$MTLSKIT_SRC/tests/fuzz/corpus
export STOREPW=changeit JPW=storepw1 WRONG=wrongpass NEWPW=newpass99 SHORT=abc

mtk keystore --help
expect_eq "keystore --help exits 0" "$RC" 0
help=$OUT
for s in list add-key add-trusted import-trusted install-reply export remove passwd genkey csr; do
	expect_match "keystore --help lists $s" "^  $s " "$help"
	expect_rc 0 "keystore $s --help" "$MTLSKIT" keystore "$s" --help
done
expect_rc 0 "mid install --help" "$MTLSKIT" mid install --help
expect_rc 0 "mid show --help" "$MTLSKIT" mid show --help
expect_rc 2 "keystore with no sub-command: usage" "$MTLSKIT" keystore
expect_rc 2 "list with no file: usage" "$MTLSKIT" keystore list
expect_rc 2 "export without --alias: usage" "$MTLSKIT" keystore export "$C/jks/keytool-ec.jks"

# keytool-made stores, checked in as fuzz seeds.
mtk --json keystore list "$C/jks/keytool-ec.jks"
expect_eq "list keytool JKS with the default password" "$RC" 0
expect_json "JSON: type" '.type' jks
expect_json "JSON: version" '.version' 2
expect_json "JSON: one EC key entry" '.entries[0] | "\(.alias) \(.type) \(.chain_length) \(.certificates[0].key_type)"' \
	"eckey PrivateKeyEntry 1 EC"
expect_json "JSON: SHA-256 fingerprint" '.entries[0].certificates[0].sha256' \
	"86:60:00:31:37:A2:2F:BD:73:15:69:5E:BC:E9:65:B7:37:F0:85:50:C6:F5:30:51:5B:67:C6:5E:90:F1:8B:AB"
mtk --json keystore list --pass env:JPW "$C/jceks/keytool-mix.jceks"
expect_json "JCEKS: three entries" '[.entries[].type] | sort | join(",")' \
	"PrivateKeyEntry,SecretKeyEntry,trustedCertEntry"
expect_json "JCEKS: secret key described" '.entries[] | select(.type=="SecretKeyEntry") | "\(.secret.algorithm)-\(.secret.bits)"' "AES-256"

# Bad input: exit statuses and messages.
mtk --json keystore list --pass env:WRONG "$C/jks/keytool-ec.jks"
expect_eq "wrong password: exit 4" "$RC" 4
expect_json "wrong password: error code" '.error.code' MTK_E_INTEGRITY
expect_match "wrong password: message" 'keystore password is incorrect or the file was altered' "$(printf '%s' "$OUT" | jq -r .error.detail)"
expect_rc 4 "tampered JKS: exit 4" "$MTLSKIT" keystore list "$C/jks/tampered"
expect_rc 3 "truncated JKS: exit 3" "$MTLSKIT" keystore list "$C/jks/truncated-half"
expect_rc 3 "digest cut short: exit 3" "$MTLSKIT" keystore list "$C/jks/truncated-digest"
expect_rc 3 "absurd entry count: exit 3" "$MTLSKIT" keystore list "$C/jks/absurd-count"
expect_match "absurd entry count: explained" 'impossible' "$ERR"
expect_rc 3 "unknown tag: exit 3" "$MTLSKIT" keystore list "$C/jks/unknown-tag"
expect_match "unknown tag: keytool's words" 'Unrecognized keystore entry: 7' "$ERR"
expect_rc 3 "4-byte UTF-8 alias: exit 3" "$MTLSKIT" keystore list "$C/jks/alias-4byte-utf8"
expect_rc 3 "huge certificate length: exit 3" "$MTLSKIT" keystore list "$C/jks/huge-cert-len"
expect_rc 3 "not a keystore: exit 3" "$MTLSKIT" keystore list "$MTLSKIT_SRC/tests/cli/basics.sh"

# Edits are atomic and keep the file intact on failure.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/k.pem" -out "$T/c.pem" \
	-days 30 -subj "/CN=t.example.com" >/dev/null 2>&1
cat "$T/c.pem" "$T/k.pem" >"$T/b.pem"
mtk --json keystore add-key "$T/s.jks" --alias One "$T/b.pem"
expect_eq "add-key creates a store" "$RC" 0
expect_json "add-key: alias as given" '.alias' One
expect_mode "store is 0600" "$T/s.jks" 600
sum=$(sha256sum <"$T/s.jks")
expect_rc 2 "add-key onto an existing alias without --force: refused" \
	"$MTLSKIT" keystore add-key "$T/s.jks" --alias ONE "$T/b.pem"
expect_rc 2 "a non-ASCII alias: refused" "$MTLSKIT" keystore add-trusted "$T/s.jks" --alias "café" "$T/c.pem"
expect_match "non-ASCII alias: explained" 'ASCII' "$ERR"
expect_rc 4 "edit with the wrong password: exit 4" "$MTLSKIT" keystore remove --pass env:WRONG "$T/s.jks" --alias one
expect_eq "failed edits leave the store byte for byte" "$(sha256sum <"$T/s.jks")" "$sum"
expect_rc 0 "add-key --force replaces" "$MTLSKIT" keystore add-key "$T/s.jks" --alias ONE --force "$T/b.pem"
mtk --json keystore list "$T/s.jks"
expect_json "replace keeps one entry, alias lower-case" '[.entries[].alias] | join(",")' one
expect_rc 2 "a new store with a short password: refused" \
	"$MTLSKIT" keystore genkey "$T/short.jks" --pass env:SHORT --alias a --dname CN=a --keyalg EC
expect_no_file "no file left behind" "$T/short.jks"

# export --with-key gives back the key we put in.
mtk keystore export "$T/s.jks" --alias one --with-key
expect_eq "export --with-key: our key" "$(printf '%s\n' "$OUT" | openssl pkey -pubout 2>/dev/null)" \
	"$(openssl pkey -in "$T/k.pem" -pubout)"
mtk keystore export "$T/s.jks" --alias one --der -o "$T/c.der"
expect_eq "export --der: the certificate" "$(openssl x509 -inform DER -in "$T/c.der" -noout -fingerprint -sha256)" \
	"$(openssl x509 -in "$T/c.pem" -noout -fingerprint -sha256)"

# Conversions between the three types through the model.
for t in jceks pkcs12; do
	mtk keystore add-key "$T/s.$t" --type "$t" --alias one "$T/b.pem"
	mtk --json keystore list "$T/s.$t"
	expect_json "$t store written and read back" '"\(.type) \(.entries[0].alias)"' "$t one"
done
mtk keystore add-key "$T/from.jks" --alias copied --from "$T/s.pkcs12" --from-alias one
expect_eq "add-key --from a PKCS12 entry" "$RC" 0
mtk keystore export "$T/from.jks" --alias copied --with-key
expect_eq "the copied key is the same key" "$(printf '%s\n' "$OUT" | openssl pkey -pubout 2>/dev/null)" \
	"$(openssl pkey -in "$T/k.pem" -pubout)"

# PFX as a source (openssl, legacy algorithms included).
openssl pkcs12 -export -in "$T/c.pem" -inkey "$T/k.pem" -passout pass:pfxpass1 -out "$T/m.pfx" 2>/dev/null
openssl pkcs12 -export -legacy -in "$T/c.pem" -inkey "$T/k.pem" -passout pass:pfxpass1 -out "$T/l.pfx" 2>/dev/null
export PFXPW=pfxpass1
expect_rc 0 "add-key from a PFX" "$MTLSKIT" keystore add-key "$T/p.jks" --alias m --pass env:PFXPW "$T/m.pfx"
expect_rc 0 "add-key from a legacy (RC2/3DES) PFX, old spelling --src-pass" "$MTLSKIT" keystore add-key "$T/p.jks" --alias l --src-pass env:PFXPW "$T/l.pfx"
mtk --json keystore list --pass env:PFXPW "$T/l.pfx"
expect_json "legacy PFX listed as a keystore" '.entries[0].type' PrivateKeyEntry

# PKCS12 keystores asking for absurd key-derivation work (counts rewritten
# by tests/lib/der-iter.py): refused at once with exit 3, naming the part;
# nothing is decrypted, and a store written from them never appears.
openssl pkcs12 -export -nomac -certpbe AES-256-CBC -keypbe AES-256-CBC -in "$T/c.pem" -inkey "$T/k.pem" \
	-passout pass:pfxpass1 -out "$T/nm.pfx" 2>/dev/null
for spec in "m.pfx mac MAC" "nm.pfx certs certificate.encryption" "nm.pfx key private.key"; do
	set -- $spec
	python3 "$MTLSKIT_SRC/tests/lib/der-iter.py" "$T/$1" "$T/big-$2.p12" "$2" 6000000 || not_ok "der-iter.py $spec"
	mtk keystore list --pass env:PFXPW "$T/big-$2.p12"
	expect_eq "keystore list, $2 count 6,000,000: exit 3" "$RC" 3
	expect_match "keystore list, $2 count: says which part and why" \
		"the $3 asks for more than 5000000 key-derivation iterations; refused" "$ERR"
	mtk keystore add-key "$T/never-$2.jks" --alias x --pass env:PFXPW "$T/big-$2.p12"
	expect_eq "add-key from it: exit 3" "$RC" 3
	expect_match "add-key from it: the same reason" "the $3 asks for more than 5000000" "$ERR"
	expect_no_file "add-key from it: no keystore written" "$T/never-$2.jks"
done

# The agent directory is told by its config.xml: the MID Server's own
# directory (the parent of agent/) is refused, naming what was looked for and
# where the agent directory is; nothing is written there.
mkdir -p "$T/mid/agent/bin" "$T/mid/agent/conf" "$T/mid/agent/security"
printf '<?xml version="1.0" encoding="UTF-8"?>\n<parameters/>\n' >"$T/mid/agent/config.xml"
for verb in install show; do
	if [ "$verb" = install ]; then extra=("$T/s.jks"); else extra=(); fi
	mtk mid "$verb" --agent "$T/mid" "${extra[@]}"
	expect_eq "mid $verb --agent <parent of agent/>: exit 3" "$RC" 3
	expect_match "mid $verb: names the file it looked for" "looked for $T/mid/config.xml" "$ERR"
	expect_match "mid $verb: points at the agent directory below" "found $T/mid/agent/config.xml \(use $T/mid/agent\)" "$ERR"
	mtk --json mid "$verb" --agent "$T/mid/agent/bin" "${extra[@]}"
	expect_eq "mid $verb --agent <no config.xml anywhere>: exit 3" "$RC" 3
	expect_json "mid $verb: JSON error MTK_E_NOT_FOUND" '.error.code' MTK_E_NOT_FOUND
	expect_match "mid $verb: JSON detail names config.xml" 'looked for .*/bin/config.xml' \
		"$(printf '%s' "$OUT" | jq -r .error.detail)"
	mtk mid "$verb" --agent "$T/no-such-dir" "${extra[@]}"
	expect_eq "mid $verb --agent <missing>: exit 3" "$RC" 3
done
expect_no_file "nothing written in the parent directory" "$T/mid/security"
expect_eq "nothing written in a directory without config.xml" "$(ls "$T/mid/agent/bin")" ""

# mid show on an agent directory without the alias.
mkdir -p "$T/agent/security"
printf '<?xml version="1.0" encoding="UTF-8"?>\n<parameters/>\n' >"$T/agent/config.xml"
cp "$T/s.jks" "$T/agent/security/agent_keystore.jks"
mtk --json mid show --agent "$T/agent"
expect_eq "mid show without defaultsecuritykeypairhandle: exit 1" "$RC" 1
expect_eq "mid show: finding keystore-alias" "$(finding_ids)" keystore-alias
# keystore csr --usage/--san (keytool -ext's job), and install-reply naming the
# issuer it cannot find, with a CA made by mtlskit.
"$MTLSKIT" ca init "$T/rca" --name "Reply Root" --intermediate "Reply Issuing" >/dev/null 2>&1
"$MTLSKIT" keystore genkey "$T/r.jks" --alias client --keyalg EC --dname "CN=client.example.com, C=GB" >/dev/null 2>&1
expect_rc 0 "keystore csr --usage client --san" "$MTLSKIT" keystore csr "$T/r.jks" --alias client \
	--usage client --san DNS:client.example.com,IP:192.0.2.7 -o "$T/r.csr"
run openssl req -in "$T/r.csr" -noout -text
expect_match "csr --usage client: clientAuth requested" 'TLS Web Client Authentication' "$OUT"
expect_match "csr --san: both names" 'DNS:client.example.com, IP Address:192.0.2.7' "$OUT"
expect_match "csr: the entry's subject" 'Subject: C = GB, CN = client.example.com' "$OUT"
expect_rc 0 "keystore csr without options (keytool -certreq)" "$MTLSKIT" keystore csr "$T/r.jks" --alias client -o "$T/plain.csr"
run openssl req -in "$T/plain.csr" -noout -text
expect_no_match "csr without options: no extension requested" 'Extended Key Usage|Alternative Name' "$OUT"
expect_rc 2 "keystore csr --usage nonsense: usage" "$MTLSKIT" keystore csr "$T/r.jks" --alias client --usage nonsense
expect_rc 2 "keystore csr --san nonsense: usage" "$MTLSKIT" keystore csr "$T/r.jks" --alias client --san "FOO:x"
expect_rc 2 "--usage on another sub-verb: usage" "$MTLSKIT" keystore list "$T/r.jks" --usage client
"$MTLSKIT" ca sign "$T/rca" "$T/r.csr" --profile client -o "$T/r.crt" >/dev/null 2>&1
run "$MTLSKIT" keystore install-reply "$T/r.jks" --alias client "$T/r.crt"
expect_eq "a one-certificate reply with no trusted issuer: exit 3" "$RC" 3
expect_match "... names the issuer and the certificate" "issuer 'CN=Reply Issuing' of 'CN=client.example.com,C=GB'" "$ERR"
"$MTLSKIT" keystore add-trusted "$T/r.jks" --alias root "$T/rca/root.crt" >/dev/null 2>&1
run "$MTLSKIT" keystore install-reply "$T/r.jks" --alias client "$T/r.crt"
expect_match "with only the root trusted, the missing link is named" "issuer 'CN=Reply Issuing'" "$ERR"
"$MTLSKIT" keystore add-trusted "$T/r.jks" --alias issuing "$T/rca/issuing.crt" >/dev/null 2>&1
expect_rc 0 "with the issuing CA trusted too, the one-certificate reply installs" \
	"$MTLSKIT" keystore install-reply "$T/r.jks" --alias client "$T/r.crt"
mtk --json keystore list "$T/r.jks"
expect_json "the entry's chain is completed from the trusted entries: 3" \
	'.entries[] | select(.alias=="client") | .chain_length' 3
done_testing
