#!/usr/bin/env bash
# expiry-formats.sh - a tree mixing every format: PEM bundle, DER, TRUSTED
# CERTIFICATE, PKCS#7, PFX with --pass, keys and CSRs (skipped), and the
# per-file errors (wrong-password PFX, dangling symlink, unreadable file, 100 MB
# junk, a broken PEM block); dates checked against `openssl x509 -enddate`.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "${BASH_SOURCE[0]}")/expiry-fixtures.bash"

mk_ca
mk_cert soon "soon.example.com" "$(days_from_now -5)" "$(days_from_now 10)"
mk_cert expired "expired.example.com" 20200101000000Z 20200201000000Z
mk_cert later "later.example.com" "$(days_from_now -1)" "$(days_from_now 100)"
mk_cert pfx "pfx.example.com" "$(days_from_now -1)" "$(days_from_now 200)"

D=$T/tree
mkdir -p "$D/sub/deeper"
# Bundle: soon (line 1), CA, expired.  The expired block starts after the
# first two; its BEGIN line is computed from the file.
cat "$T/soon.pem" "$T/ca/ca.pem" "$T/expired.pem" >"$D/bundle.pem"
expired_line=$(grep -n 'BEGIN CERTIFICATE' "$D/bundle.pem" | sed -n 3p | cut -d: -f1)
ca_line=$(grep -n 'BEGIN CERTIFICATE' "$D/bundle.pem" | sed -n 2p | cut -d: -f1)
openssl x509 -in "$T/later.pem" -outform DER -out "$D/sub/later.der"
openssl x509 -in "$T/later.pem" -addtrust clientAuth -out "$D/sub/trusted.pem"
openssl crl2pkcs7 -nocrl -certfile "$T/later.pem" -certfile "$T/ca/ca.pem" -out "$D/sub/deeper/chain.p7b"
cp "$T/soon.key" "$D/key.pem"
cp "$T/soon.csr" "$D/request.csr"
openssl pkey -in "$T/soon.key" -outform DER -out "$D/sub/key.der"
openssl pkcs12 -export -in "$T/pfx.pem" -inkey "$T/pfx.key" -certfile "$T/ca/ca.pem" -name mid-client \
	-passout pass:s3cret -out "$D/client.p12"
openssl pkcs12 -export -in "$T/pfx.pem" -inkey "$T/pfx.key" -passout pass:other -out "$D/wrong.p12"
echo "just some notes" >"$D/notes.txt"
ln -s "$D/does-not-exist.pem" "$D/dangling.pem"
truncate -s 100M "$D/junk.bin"
printf -- '-----BEGIN CERTIFICATE-----\nnot*base64!\n-----END CERTIFICATE-----\n' >"$D/broken.pem"
export P=s3cret

mtk --json expiry --pass env:P "$D"
expect_eq "a tree with per-file errors still exits 0" "$RC" 0
# soon, CA + expired (bundle), later x3 (DER, trusted, p7b), CA (p7b), pfx + CA (PFX)
expect_json "every certificate is found" '.certificates | length' 9
expect_json "soonest first: the expired one, subject as openssl prints it" '.certificates[0].subject' \
	"$(openssl x509 -in "$T/expired.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')"
expect_json "its status is expired" '.certificates[0].status' expired
expect_json "its days are negative" '.certificates[0].days_left < 0' true
expect_json "expired notAfter is what openssl says" '.certificates[0].not_after_epoch' "$(enddate_epoch "$T/expired.pem")"
expect_json "the expired block's line in the bundle" '.certificates[0].line' "$expired_line"
expect_json "then the soon one, at line 1" '.certificates[1] | "\(.path):\(.line)"' "$D/bundle.pem:1"
expect_json "soon notAfter is what openssl says" '.certificates[1].not_after_epoch' "$(enddate_epoch "$T/soon.pem")"
expect_json "soon notBefore is what openssl says" '.certificates[1].not_before' \
	"$(date -u -d "$(openssl x509 -in "$T/soon.pem" -noout -startdate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)"
expect_json "serial as openssl prints it (lower case)" '.certificates[1].serial' \
	"$(openssl x509 -in "$T/soon.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)"
expect_json "issuer in RFC 2253 order" '.certificates[1].issuer' "CN=Expiry Test CA,O=Expiry Test"
expect_json "DER certificate found" '[.certificates[] | select(.path == "'"$D"'/sub/later.der")] | length' 1
expect_json "DER notAfter is what openssl says" \
	'.certificates[] | select(.path == "'"$D"'/sub/later.der") | .not_after_epoch' "$(enddate_epoch "$T/later.pem")"
expect_json "TRUSTED CERTIFICATE found" '[.certificates[] | select(.path == "'"$D"'/sub/trusted.pem")] | length' 1
expect_json "PKCS#7 certificates found" '[.certificates[] | select(.path == "'"$D"'/sub/deeper/chain.p7b")] | length' 2
expect_json "PFX certificates found with --pass" '[.certificates[] | select(.path == "'"$D"'/client.p12")] | length' 2
expect_json "PFX leaf carries its friendlyName as alias" \
	'.certificates[] | select(.path == "'"$D"'/client.p12" and .alias != null) | .alias' mid-client
expect_json "PFX notAfter is what openssl says" \
	'.certificates[] | select(.alias == "mid-client") | .not_after_epoch' "$(enddate_epoch "$T/pfx.pem")"
expect_json "the CA in the bundle, at its line" \
	'.certificates[] | select(.path == "'"$D"'/bundle.pem" and .self_issued) | .line' "$ca_line"
expect_json "no key, CSR or notes reported as a certificate" \
	'[.certificates[] | select(.path | test("key|request|notes"))] | length' 0
expect_json "keys, CSRs and text are not errors" '[.errors[] | select(.path | test("key|request|notes"))] | length' 0
expect_json "wrong-password PFX is an error" '.errors[] | select(.path == "'"$D"'/wrong.p12") | .code' MTK_E_BAD_PASSWORD
expect_json "dangling symlink is an error" '.errors[] | select(.path == "'"$D"'/dangling.pem") | .code' MTK_E_NOENT
expect_json "100 MB junk is reported, not read" '.errors[] | select(.path == "'"$D"'/junk.bin") | .code' MTK_E_TOO_LARGE
expect_json "broken PEM block reported with its line" \
	'.errors[] | select(.path == "'"$D"'/broken.pem") | "\(.code) \(.line)"' "MTK_E_PEM_SYNTAX 1"
expect_json "summary counts the errors" '.summary.errors' 4
expect_json "summary counts certificates" '.summary.certificates' 9

# Without --pass the PFX asks for one, and the rest is still read.
mtk --json expiry "$D"
expect_json "PFX without --pass: password needed" '.errors[] | select(.path == "'"$D"'/client.p12") | .code' MTK_E_PASSWORD_NEEDED
expect_json "the others are still found" '.certificates | length' 7

# Unreadable by permission: root reads anyway, so only checked as a user.
cp "$T/later.pem" "$D/locked.pem"
chmod 000 "$D/locked.pem"
if [ "$(id -u)" != 0 ]; then
	mtk --json expiry "$D/locked.pem" "$D/sub"
	expect_json "chmod 000 file is a permission error" '.errors[0].code' MTK_E_PERM
else
	ok "# SKIP chmod 000 is readable by root"
fi
rm -f "$D/locked.pem"

# A bundle bigger than the first read (16 KiB): every block, every line.
for i in $(seq 1 40); do cat "$T/soon.pem"; done >"$T/big.pem"
mtk --json expiry "$T/big.pem"
expect_json "a 40-certificate bundle gives 40 certificates" '.certificates | length' 40
expect_json "the last block's line" '[.certificates[].line] | max' \
	"$(grep -n 'BEGIN CERTIFICATE' "$T/big.pem" | tail -1 | cut -d: -f1)"
expect_rc 0 "a device named on the command line is not read" "$MTLSKIT" expiry /dev/null

# --within and the exit status.
expect_rc 1 "--within 30d with an expired certificate exits 1" "$MTLSKIT" expiry --within 30d "$D/bundle.pem"
expect_rc 1 "--within 30d with one expiring in 10 days exits 1" "$MTLSKIT" expiry --within 30d "$T/soon.pem"
expect_rc 0 "--within 5d with one expiring in 10 days exits 0" "$MTLSKIT" expiry --within 5d "$T/soon.pem"
expect_rc 0 "--within 1w accepts weeks" "$MTLSKIT" expiry --within 1w "$T/soon.pem"
expect_rc 1 "--within 300h accepts hours (12.5 days)" "$MTLSKIT" expiry --within 300h "$T/soon.pem"
expect_rc 0 "without --within an expired certificate is listed, exit 0" "$MTLSKIT" expiry "$T/expired.pem"
expect_rc 2 "--within nonsense is a usage error" "$MTLSKIT" expiry --within soon "$T/soon.pem"
mtk expiry --within 30d "$D/bundle.pem"
expect_match "text marks the expiring one" 'expiring +O=Expiry Test,CN=soon' "$OUT"
expect_match "text marks the expired one" 'expired +O=Expiry Test,CN=expired.example.com' "$OUT"
expect_match "text shows file and line" "$D/bundle.pem:$expired_line" "$OUT"
mtk --json expiry --within 30d "$T/soon.pem"
expect_json "JSON status expiring" '.certificates[0].status' expiring
expect_json "JSON summary expiring" '.summary.expiring' 1

# Exit 3: a named path is missing (the rest is still reported);
# nothing readable at all.
mtk --json expiry "$T/soon.pem" "$T/no-such-file.pem"
expect_eq "a missing named path exits 3" "$RC" 3
expect_json "the other path is still reported" '.certificates | length' 1
expect_json "the missing path is in errors" '.errors[0].code' MTK_E_NOENT
expect_rc 3 "only a dangling symlink: exit 3" "$MTLSKIT" expiry "$D/dangling.pem"
expect_rc 4 "only a wrong-password PFX: exit 4" "$MTLSKIT" expiry --pass env:P "$D/wrong.p12"
mkdir "$T/empty"
expect_rc 0 "an empty directory is fine" "$MTLSKIT" expiry "$T/empty"
expect_rc 2 "no operand is a usage error" "$MTLSKIT" expiry
mtk expiry --help
expect_match "--help documents --within" '--within' "$OUT"
# -q: the same scan for its exit status only (records keep their times
# and no names or fingerprints, nothing is printed), the same status as the
# full run in every case.
for args in "--pass env:P $D" "--pass env:P --within 30d $D" "--within 30d $D/sub" "--within 300d $D/sub" \
	"$D/bundle.pem" "$D/broken.pem" "--within 7d $T/soon.pem"; do
	# shellcheck disable=SC2086
	run "$MTLSKIT" expiry $args
	full=$RC
	# shellcheck disable=SC2086
	run "$MTLSKIT" expiry -q $args
	expect_eq "expiry -q $args: exit $full as without -q, nothing printed" "$RC/${#OUT}" "$full/0"
done
done_testing
