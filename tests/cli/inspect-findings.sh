#!/usr/bin/env bash
# inspect-findings.sh - every finding inspect reports has a triggering case
# and a clean case; findings never change inspect's exit status.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$MTLSKIT_SRC/tests/lib/inspect-fixtures.sh"
mk_pki && mk_keys || { not_ok "fixtures"; done_testing; }
cd "$T" || exit 1

# has_finding ID FILE... : inspect --json FILE..., exit 0, ID present
has_finding() {
	local id=$1
	shift
	mtk inspect --json "$@"
	expect_eq "$id on $*: exit 0 (findings never fail inspect)" "$RC" 0
	expect_match "$id on $*: reported" "(^| )$id( |$)" "$(finding_ids)"
}
no_finding() {
	local id=$1
	shift
	mtk inspect --json "$@"
	expect_no_match "$id not on clean $*" "(^| )$id( |$)" "$(finding_ids)"
}
sev() { printf '%s' "$OUT" | jq -r --arg id "$1" '[.findings[] | select(.id==$id) | .severity] | first'; }
fld() { printf '%s' "$OUT" | jq -r --arg id "$1" "[.findings[] | select(.id==\$id) | .$2] | first"; }

# --- pem-crlf -----------------------------------------------------------
sed 's/$/\r/' bundle.pem >crlf.pem
has_finding pem-crlf crlf.pem
expect_eq "pem-crlf: at line 1" "$(fld pem-crlf line)" 1
expect_match "pem-crlf: fix is a command on the file (convert: it holds no key)" '^mtlskit convert crlf.pem --to pem -o fixed.pem' "$(fld pem-crlf fix)"
expect_json "CRLF bundle: all 3 certificates still read" '.files[0].objects | length' 3
no_finding pem-crlf bundle.pem

# --- pem-stray-bytes: text before, a BOM, a trailing 0x1A ----------------
{ echo "Subject: my cert"; cat leaf.pem; } >stray.pem
has_finding pem-stray-bytes stray.pem
expect_eq "stray text: at line 1" "$(fld pem-stray-bytes line)" 1
{ printf '\xef\xbb\xbf'; cat leaf.pem; } >bom.pem
has_finding pem-stray-bytes bom.pem
expect_match "BOM: message says byte order mark" 'byte order mark' "$(fld pem-stray-bytes message)"
{ cat leaf.pem; printf '\x1a'; } >ctrlz.pem
has_finding pem-stray-bytes ctrlz.pem
expect_match "0x1A: message names it" '0x1A' "$(fld pem-stray-bytes message)"
no_finding pem-stray-bytes leaf.pem

# --- pem-blank-lines ----------------------------------------------------
{ cat leaf.pem; echo; cat inter.pem; } >blank.pem
has_finding pem-blank-lines blank.pem
expect_eq "blank line: the line of the blank" "$(fld pem-blank-lines line)" "$(grep -n '^$' blank.pem | head -1 | cut -d: -f1)"
no_finding pem-blank-lines bundle.pem
# RFC 1421 requires a blank line after the DEK-Info header: not a finding.
no_finding pem-blank-lines key-legacy-enc.pem

# --- cert-expired -------------------------------------------------------
openssl x509 -req -in leaf.req -CA inter.pem -CAkey inter.key -days -1 -out expired.pem 2>/dev/null
has_finding cert-expired expired.pem
expect_eq "cert-expired: severity error" "$(sev cert-expired)" error
expect_json "expired: days_left negative" '.files[0].objects[0].days_left < 0' true
expect_json "expired: expired true" '.files[0].objects[0].expired' true
expect_match "cert-expired: advice (the CA signs the renewal), naming renew" '^renew it: mtlskit renew expired.pem' "$(fld cert-expired advice)"
expect_eq "cert-expired: no command" "$(fld cert-expired fix)" null
no_finding cert-expired leaf.pem

# --- cert-not-yet-valid (openssl ca -startdate in the future) ----------
mkdir -p ca2 && : >ca2/index.txt
cat >ca2.cnf <<EOF
[ca]
default_ca = d
[d]
database = $T/ca2/index.txt
new_certs_dir = $T/ca2
rand_serial = yes
default_md = sha256
policy = p
unique_subject = no
[p]
commonName = supplied
EOF
openssl ca -batch -notext -config ca2.cnf -cert inter.pem -keyfile inter.key -in leaf.req \
	-startdate 20990101000000Z -enddate 21000101000000Z -out future.pem >/dev/null 2>&1
has_finding cert-not-yet-valid future.pem
expect_json "future: not_yet_valid" '.files[0].objects[0].not_yet_valid' true
expect_json "future: notBefore as openssl" '.files[0].objects[0].not_before' 2099-01-01T00:00:00Z
no_finding cert-not-yet-valid leaf.pem

# --- weak-crypto: RSA 1024, SHA-1 signature -----------------------------
openssl req -x509 -newkey rsa:1024 -nodes -keyout weak.key -subj /CN=weak -days 30 -out weak.pem 2>/dev/null
has_finding weak-crypto weak.pem
expect_json "RSA 1024: key bits as openssl" '.files[0].objects[0].key.bits' \
	"$(openssl x509 -in weak.pem -noout -text | sed -n 's/.*Public-Key: (\([0-9]*\) bit.*/\1/p')"
has_finding weak-crypto weak.key
openssl x509 -req -in leaf.req -CA inter.pem -CAkey inter.key -sha1 -days 30 -out sha1.pem 2>/dev/null
has_finding weak-crypto sha1.pem
expect_json "SHA-1: signature algorithm as openssl" '.files[0].objects[0].signature_algorithm' \
	"$(openssl x509 -in sha1.pem -noout -text | sed -n 's/ *Signature Algorithm: //p' | head -1)"
expect_eq "SHA-1 leaf: warning" "$(sev weak-crypto)" warning
openssl req -x509 -newkey rsa:2048 -nodes -keyout r.key -sha1 -subj /CN=old-root -days 30 -out sha1root.pem 2>/dev/null
has_finding weak-crypto sha1root.pem
expect_eq "SHA-1 self-signed root: only info" "$(sev weak-crypto)" info
no_finding weak-crypto bundle.pem leaf.key

# --- key-not-pkcs8 (info) -----------------------------------------------
has_finding key-not-pkcs8 key-pkcs1.pem
expect_eq "key-not-pkcs8: info in inspect" "$(sev key-not-pkcs8)" info
expect_eq "key-not-pkcs8: the convert command" "$(fld key-not-pkcs8 fix)" \
	"mtlskit convert key-pkcs1.pem --to pkcs8 -o key-pkcs1-pkcs8.pem"
has_finding key-not-pkcs8 key-sec1.pem
has_finding key-not-pkcs8 key-legacy-enc.pem
no_finding key-not-pkcs8 leaf.key
no_finding key-not-pkcs8 key-ed25519.pem key-pkcs8-enc.pem

# --- key-encrypted (info) -----------------------------------------------
has_finding key-encrypted key-pkcs8-enc.pem
expect_eq "key-encrypted: info" "$(sev key-encrypted)" info
expect_match "key-encrypted: names the algorithm" 'AES-256-CBC' "$(fld key-encrypted message)"
has_finding key-encrypted key-legacy-enc.pem
no_finding key-encrypted leaf.key key-pkcs1.pem

# --- a file name that needs quoting in the fix --------------------------
cp key-pkcs1.pem "my key.pem"
mtk inspect --json "my key.pem"
expect_eq "fix quotes a name with a space" "$(fld key-not-pkcs8 fix)" \
	"mtlskit convert 'my key.pem' --to pkcs8 -o 'my key-pkcs8.pem'"

# --- text: findings listed with their fix --------------------------------
mtk inspect --no-color crlf.pem key-pkcs1.pem
expect_eq "text with findings: exit 0" "$RC" 0
expect_match "text: Findings section" '^Findings$' "$OUT"
expect_match "text: finding line with position" 'error +pem-crlf \(line 1\)' "$OUT"
expect_match "text: fix line" 'fix: mtlskit convert key-pkcs1.pem --to pkcs8' "$OUT"

done_testing
