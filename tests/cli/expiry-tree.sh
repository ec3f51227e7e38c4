#!/usr/bin/env bash
# expiry-tree.sh - walking: symlinked directories (skipped by default,
# followed with --follow-symlinks, loops detected), symlinked files always
# read, FIFOs never opened, a file vanishing (dangling link), --threads 1
# and 4 give the same answer; the --by-issuer CA rotation view; the MID
# keystore read with its default password.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "${BASH_SOURCE[0]}")/expiry-fixtures.bash"

mk_ca
mk_cert a "a.example.com" "$(days_from_now -1)" "$(days_from_now 40)"
mk_cert b "b.example.com" "$(days_from_now -1)" "$(days_from_now 60)"
D=$T/tree
mkdir -p "$D/real/deep" "$T/outside"
cp "$T/a.pem" "$D/real/deep/a.pem"
cp "$T/b.pem" "$T/outside/b.pem"
ln -s "$D" "$D/real/loop"             # a loop back to the top
ln -s "$T/outside" "$D/outside-link"  # a symlinked directory
ln -s "$T/b.pem" "$D/b-link.pem"      # a symlinked file
mkfifo "$D/fifo.pem"                  # must not hang

mtk --json expiry "$D"
expect_eq "default walk exits 0" "$RC" 0
expect_json "default: symlinked dirs skipped, symlinked file read" \
	'[.certificates[].path] | sort | join(" ")' "$D/b-link.pem $D/real/deep/a.pem"
expect_json "no errors by default" '.errors | length' 0

mtk --json expiry --follow-symlinks "$D"
expect_eq "--follow-symlinks exits 0" "$RC" 0
expect_json "--follow-symlinks: the outside directory is read" \
	'[.certificates[].path] | sort | join(" ")' "$D/b-link.pem $D/outside-link/b.pem $D/real/deep/a.pem"
expect_json "the loop is detected and reported once" \
	'[.errors[] | select(.code == "MTK_E_DIR_LOOP")] | length' 1
expect_json "the loop names the link" '.errors[] | select(.code == "MTK_E_DIR_LOOP") | .path' "$D/real/loop"

# Same answer with one thread and with four.
mtk --json expiry --threads 1 "$D"
one=$(printf '%s' "$OUT" | jq -c '[.certificates[] | [.path, .not_after_epoch]]')
mtk --json expiry --threads 4 "$D"
four=$(printf '%s' "$OUT" | jq -c '[.certificates[] | [.path, .not_after_epoch]]')
expect_eq "--threads 1 and 4 agree" "$one" "$four"

# A file removed between listing and reading is the same as a dangling link.
ln -s "$T/gone.pem" "$D/gone-link.pem"
cp "$T/a.pem" "$T/gone.pem"
rm "$T/gone.pem"
mtk --json expiry "$D"
expect_json "a vanished file is reported" '.errors[] | select(.path == "'"$D"'/gone-link.pem") | .code' MTK_E_NOENT
rm "$D/gone-link.pem"

# --by-issuer: two generations of a CA with the same name (a rotation), a
# leaf whose CA is not in the scan.
R=$T/rot
mkdir "$R"
cp "$T/ca/ca.pem" "$R/ca-old.pem"
openssl req -x509 -key "$T/ca/ca.key" -out "$R/ca-new.pem" -subj "/O=Expiry Test/CN=Expiry Test CA" -days 7300 2>/dev/null
cat "$T/a.pem" "$T/b.pem" >"$R/leaves.pem"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/o.key" -out "$T/other-ca.pem" \
	-subj "/CN=Other CA" -days 30 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/o2.key" -subj "/CN=orphan" -out "$T/o2.csr" 2>/dev/null
openssl x509 -req -in "$T/o2.csr" -CA "$T/other-ca.pem" -CAkey "$T/o.key" -days 20 -out "$R/orphan.pem" 2>/dev/null
mtk --json expiry --by-issuer "$R"
expect_eq "--by-issuer exits 0" "$RC" 0
expect_json "two issuers" '.issuers | length' 2
expect_json "groups sorted by CA expiry; a CA not in the scan sorts last" \
	'.issuers[0].issuer' "CN=Expiry Test CA,O=Expiry Test"
expect_json "both CA generations are listed" '.issuers[0].ca_certificates | length' 2
expect_json "old CA generation expires first" '.issuers[0].ca_certificates[0].not_after_epoch' "$(enddate_epoch "$R/ca-old.pem")"
expect_json "new CA generation" '.issuers[0].ca_certificates[1].not_after_epoch' "$(enddate_epoch "$R/ca-new.pem")"
expect_json "its dependents, soonest first" '[.issuers[0].dependents[].subject] | join(" ")' \
	"O=Expiry Test,CN=a.example.com O=Expiry Test,CN=b.example.com"
expect_json "the orphan's CA is not in the scan" '.issuers[1].ca_found' false
expect_json "the orphan depends on it" '.issuers[1].dependents[0].subject' "CN=orphan"
mtk expiry --by-issuer "$R"
expect_match "text view names the issuer" '^Issuer CN=Expiry Test CA,O=Expiry Test' "$OUT"
expect_match "text view counts the dependents" '2 certificates depend on it' "$OUT"
expect_match "text view says when the CA is missing" 'CA certificate: not found in the scan' "$OUT"

# The MID Server keystore: changeit is tried by name.
mkdir -p "$T/agent/security"
keytool -importcert -noprompt -alias defaultsecuritykeypairhandle -file "$T/a.pem" \
	-keystore "$T/agent/security/agent_keystore.jks" -storetype JKS -storepass changeit >/dev/null 2>&1
cp "$T/agent/security/agent_keystore.jks" "$T/agent/security/other.jks"
mtk --json expiry "$T/agent"
if printf '%s' "$OUT" | jq -e '.errors[] | select(.code == "MTK_E_UNSUPPORTED")' >/dev/null; then
	ok "# SKIP keystore entries need the keystore module (not in this build)"
	ok "# SKIP"
	ok "# SKIP"
else
	expect_json "agent_keystore.jks is read with changeit" \
		'.certificates[] | select(.path | endswith("agent_keystore.jks")) | .alias' defaultsecuritykeypairhandle
	expect_json "its notAfter is what openssl says" \
		'.certificates[] | select(.path | endswith("agent_keystore.jks")) | .not_after_epoch' "$(enddate_epoch "$T/a.pem")"
	expect_json "another name gets no default password" \
		'.errors[] | select(.path | endswith("other.jks")) | .exit' 4
fi
done_testing
