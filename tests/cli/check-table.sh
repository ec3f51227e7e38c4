#!/usr/bin/env bash
# check-table.sh - `mtlskit check`: a table of fixture -> profile -> the
# exact set of finding ids, covering every id check produces with a failing
# and a clean case.  Fixtures are made here with openssl.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/check-pki.sh"

pki_init
cd "$P" || exit 1

# ---- fixtures (check-pki.sh lists them) ----
pki_variants
printf 'secret\n' >secret.txt
# keytool's own PKCS12 (our clean chain imported): what a "Java Key Store"
# record refuses.
keytool_row=
if command -v keytool >/dev/null; then
	keytool -importkeystore -srckeystore l.pfx -srcstoretype PKCS12 -srcstorepass pw \
		-destkeystore ks.p12 -deststoretype PKCS12 -deststorepass changeit >/dev/null 2>&1
	[ -s ks.p12 ] && keytool_row="ks.p12 | outbound | --pass pass:changeit | keystore-type | 1"
fi

# ---- the table: fixture | profile | extra args | ids (sorted; - none) | exit ----
table=$(cat <<'EOF'
good.pem        | mid         |                                 | -                         | 0
good.pem        | auto        |                                 | -                         | 0
good.pem        | mid         | --within 400                    | cert-expiring             | 1
good.pem        | mid         | --within 30d                    | -                         | 0
pkcs1.pem       | mid         |                                 | key-not-pkcs8             | 1
pkcs1.pem       | auto        |                                 | key-not-pkcs8             | 0
enc.pem         | mid         |                                 | key-encrypted             | 1
enc.pem         | mid         | --pass file:secret.txt            | key-encrypted             | 1
enc.pem         | server      |                                 | key-encrypted leaf-no-server-auth | 1
mismatch.pem    | mid         |                                 | key-mismatch              | 1
nokey.pem       | mid         |                                 | key-missing               | 1
nokey.pem       | auto        |                                 | -                         | 0
leafkey.pem     | upload-user |                                 | key-in-upload             | 1
leaf.pem        | upload-user |                                 | -                         | 0
good.pem        | upload-user |                                 | chain-order key-in-upload | 1
leafkey.pem     | trust-store |                                 | key-in-upload             | 1
leaf.pem        | trust-store |                                 | -                         | 0
noroot.pem      | mid         |                                 | chain-incomplete          | 1
noroot.pem      | server      |                                 | chain-incomplete leaf-no-server-auth | 1
order.pem       | mid         |                                 | chain-order               | 1
order.pem       | auto        |                                 | chain-order               | 0
gap.pem         | mid         |                                 | chain-broken              | 1
good.pem        | mid         | --ca other-root.pem             | chain-untrusted           | 1
good.pem        | mid         | --ca root.pem                   | -                         | 0
noroot.pem      | mid         | --ca root.pem                   | chain-incomplete          | 1
self.pem        | mid         |                                 | leaf-self-signed          | 1
self.pem        | auto        |                                 | leaf-self-signed          | 0
srv-bundle.pem  | mid         |                                 | leaf-no-client-auth       | 1
srv-bundle.pem  | server      |                                 | -                         | 0
good.pem        | server      |                                 | leaf-no-server-auth       | 1
expired.pem     | mid         |                                 | cert-expired              | 1
notyet.pem      | mid         |                                 | cert-not-yet-valid        | 1
crlf.pem        | mid         |                                 | pem-crlf                  | 1
srv-crlf.pem    | server      |                                 | pem-crlf                  | 0
bom.pem         | mid         |                                 | pem-stray-bytes           | 1
ctrlz.pem       | mid         |                                 | pem-stray-bytes           | 1
blank.pem       | mid         |                                 | pem-blank-lines           | 0
l.pfx           | mid         | --pass pass:pw                  | keystore-type             | 1
l.pfx           | auto        | --pass pass:pw                  | -                         | 0
good.pem        | outbound    |                                 | keystore-type             | 1
l.pfx           | auto        | --pass pass:pw --alias defaultsecuritykeypairhandle | keystore-alias | 1
l.pfx           | auto        | --pass pass:pw --alias mykey    | -                         | 0
uk-bundle.pem   | mid         |                                 | subject-invalid           | 0
host-bundle.pem | mid         |                                 | subject-invalid           | 0
snow-bundle.pem | mid         |                                 | subject-servicenow-domain | 1
sha1-bundle.pem | mid         |                                 | weak-crypto               | 1
nokey.pem       | upload-ca   |                                 | chain-order               | 1
chain.pem       | upload-ca   |                                 | -                         | 0
two.pem         | upload-ca   |                                 | chain-broken              | 1
inter.pem       | upload-ca   |                                 | chain-incomplete          | 1
chain.pem       | upload-ca   | --ca other-root.pem             | chain-untrusted           | 1
EOF
)
[ -n "$keytool_row" ] && table="$table
$keytool_row"

covered=" "
while IFS='|' read -r fx prof args want wexit; do
	fx=$(echo $fx) prof=$(echo $prof) want=$(echo $want) wexit=$(echo $wexit)
	[ -n "$fx" ] || continue
	pargs=()
	[ "$prof" != auto ] && pargs=(--profile "$prof")
	# shellcheck disable=SC2086
	mtk check --json "${pargs[@]}" $args "$fx"
	got=$(finding_ids)
	[ -z "$got" ] && got=-
	expect_eq "$fx --profile $prof $(echo $args): findings {$want}" "$got" "$want"
	if [ "$RC" != "$wexit" ]; then
		not_ok "$fx --profile $prof: exit $RC, wanted $wexit"
		_show_last
	else
		ok "$fx --profile $prof: exit $wexit"
	fi
	for id in $want; do covered="$covered$id "; done
done <<<"$table"

# Every id check can produce appears in a failing row above.
for id in key-not-pkcs8 key-encrypted key-mismatch key-missing key-in-upload chain-incomplete \
	chain-order chain-broken chain-untrusted leaf-self-signed leaf-no-client-auth \
	leaf-no-server-auth cert-expired cert-not-yet-valid cert-expiring pem-crlf pem-stray-bytes \
	pem-blank-lines keystore-alias keystore-type subject-invalid subject-servicenow-domain \
	weak-crypto; do
	case "$covered" in
	*" $id "*) ok "table covers $id" ;;
	*) not_ok "table covers $id" ;;
	esac
done

# ---- what the findings say: place, message, fix ----
mtk check --json --profile mid pkcs1.pem
expect_json "key-not-pkcs8 points at the key's BEGIN line" \
	'.findings[] | select(.id=="key-not-pkcs8") | .line' "$(grep -n 'BEGIN RSA PRIVATE KEY' pkcs1.pem | cut -d: -f1)"
expect_json "key-not-pkcs8 quotes the MID Server's error" \
	'.findings[] | select(.id=="key-not-pkcs8") | .message | test("Could not find valid private key")' true
expect_json "key-not-pkcs8 fix is an mtlskit bundle command" \
	'.findings[] | select(.id=="key-not-pkcs8") | .fix' "mtlskit bundle pkcs1.pem -o fixed.pem"
expect_json "the error severity" '.findings[0].severity' error
mtk check --json --profile mid noroot.pem
expect_json "chain-incomplete quotes 'Certificate chain is not end with a CA cert'" \
	'.findings[] | select(.id=="chain-incomplete") | .message | test("Certificate chain is not end with a CA cert")' true
expect_json "chain-incomplete: advice (the root comes from the CA), no command" \
	'.findings[] | select(.id=="chain-incomplete") | [.fix, (.advice | test("mtlskit bundle noroot.pem --ca CA-CHAIN.pem -o fixed.pem"))] | tostring' '[null,true]'
mtk check --json --profile mid crlf.pem
expect_json "pem-crlf is on line 1 of the file" '.findings[] | select(.id=="pem-crlf") | [.file, .line] | join(":")' "crlf.pem:1"
mtk check --json --profile mid --pass pass:pw l.pfx
expect_json "keystore-type names the format" '.findings[] | select(.id=="keystore-type") | .where' pkcs12
expect_json "keystore-type fix converts the PFX to a bundle" \
	'.findings[] | select(.id=="keystore-type") | .fix | test("^mtlskit bundle l.pfx")' true
mtk check --json --profile mid expired.pem
expect_json "cert-expired names the date" \
	'.findings[] | select(.id=="cert-expired") | .message | test("expired on 2021-01-01")' true

# Text output: grouped per file, the fix under each finding.
mtk check --profile mid pkcs1.pem order.pem --each
expect_eq "text: exit 1 with errors" "$RC" 1
expect_match "text: a heading per file" '^pkcs1\.pem$' "$OUT"
expect_match "text: the second file's heading" '^order\.pem$' "$OUT"
expect_match "text: severity and id" '^  error   key-not-pkcs8 \(line [0-9]+\): ' "$OUT"
expect_match "text: the fix line" '^          fix: mtlskit bundle pkcs1\.pem -o fixed\.pem$' "$OUT"
expect_match "text: the summary" '^[0-9]+ errors?, [0-9]+ warnings? \(profile mid\)$' "$OUT"
mtk check --profile mid good.pem
expect_match "text: a clean file says so" '^OK: no problem found \(profile mid\)$' "$OUT"

# Parts in separate files are checked as one bundle, in any order.
mtk check --json --profile mid leaf.key root.pem leaf.pem inter.pem
expect_eq "parts in separate files: clean" "$(finding_ids)" ""
expect_eq "parts in separate files: exit 0" "$RC" 0

# Usage errors.
expect_rc 2 "unknown profile is a usage error" "$MTLSKIT" check --profile pkcs12 good.pem
expect_rc 2 "bad --within is a usage error" "$MTLSKIT" check --within soon good.pem
expect_rc 2 "no file is a usage error" "$MTLSKIT" check
done_testing
