#!/usr/bin/env bash
# exit-status.sh - the README's exit-status table, as (verb, situation) ->
# status for every verb: 0 ok, 1 error findings (and --within), 2 usage
# (an existing output without --force, --json with -o -), 3 unreadable or
# malformed input, 4 wrong password or integrity, 5 network or TLS,
# 6 internal (a failed write).  Every row also checks that --json puts
# exactly one JSON document on stdout whose "exit" is the status.
. "${MTLSKIT_TESTLIB:?}"
cd "$T" || exit 1

# ---- fixtures ----
M=$MTLSKIT
source "$(dirname "$0")/../lib/verb-fixtures.sh"
verb_fixtures Exit
openssl pkey -in c.key -traditional -out pkcs1.key 2>/dev/null
cat c.crt pkcs1.key >bad-bundle.pem # a PKCS#1 key: key-not-pkcs8 for mid
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout soon.key -out soon.pem \
	-days 5 -subj "/CN=soon.example.com" 2>/dev/null
printf -- '-----BEGIN CERTIFICATE-----\nnot*base64!\n-----END CERTIFICATE-----\n' >broken.pem
mkdir -p notagent
echo exists >exists.pem
NX=/nonexistent/dir/x.pem

# ---- the table: status | verb | situation | arguments (after `mtlskit --json`) ----
table=$(cat <<EOF
0 | inspect      | a certificate                       | inspect c.crt
2 | inspect      | an unknown option                   | inspect --bogus c.crt
3 | inspect      | a missing file                      | inspect missing.pem
3 | inspect      | not a certificate                   | inspect junk.pem
3 | inspect      | a malformed PEM block               | inspect broken.pem
4 | inspect      | a PFX, wrong password               | inspect --pass env:WRONG c.p12
3 | inspect      | one good, one missing: the worst    | inspect c.crt missing.pem
0 | key generate | a new key                           | key generate -o k1.pem
2 | key generate | an existing output, no --force      | key generate -o exists.pem
0 | key generate | an existing output, --force         | key generate -o exists.pem --force
2 | key generate | an unknown key type                 | key generate --key-type dsa:1024 -o k2.pem
6 | key generate | -o into a missing directory         | key generate -o $NX
0 | csr create   | a valid request                     | csr create --cn a.example.com --key c.key -o a.csr
1 | csr create   | error findings (country USA)        | csr create --cn a.example.com --country USA --key c.key -o b.csr
1 | csr create   | error findings, --force: written    | csr create --cn a.example.com --country USA --key c.key -o b.csr --force
3 | csr create   | a missing key                       | csr create --cn a.example.com --key missing.key -o c2.csr
6 | csr create   | -o into a missing directory         | csr create --cn a.example.com --key c.key -o $NX
2 | ca init      | a directory that is not empty       | ca init agent --name X
0 | ca sign      | a client certificate                | ca sign ca c.csr --profile client -o c2.crt
3 | ca sign      | no CA there                         | ca sign nodir c.csr --profile client -o c3.crt
2 | ca sign      | an unknown --profile                | ca sign ca c.csr --profile nonsense -o c4.crt
6 | ca sign      | -o into a missing directory         | ca sign ca c.csr --profile client -o $NX
0 | ca crl       | a CRL                               | ca crl ca -o crl.pem
0 | ca list      | the index                           | ca list ca
0 | ca revoke    | a certificate it issued             | ca revoke ca c2.crt
0 | renew        | the same key                        | renew c.crt --key c.key -o r.csr
1 | renew        | a key that does not match           | renew c.crt --key soon.key -o r2.csr
1 | renew        | ... with --force: written, finding  | renew c.crt --key soon.key -o r3.csr --force
3 | renew        | a missing certificate               | renew missing.crt --key c.key -o r4.csr
0 | convert      | PEM to DER                          | convert c.crt --to der -o c.der
4 | convert      | a PFX, wrong password               | convert c.p12 --pass env:WRONG --to pem -o p.pem
3 | convert      | not a certificate                   | convert junk.pem --to der -o j.der
2 | convert      | --json with -o -                    | convert c.crt --to pem -o -
6 | convert      | -o into a missing directory         | convert c.crt --to der -o $NX
0 | bundle       | leaf, chain and key                 | bundle c.crt chain.pem c.key -o b1.pem
1 | bundle       | no root: chain-incomplete           | bundle c.crt c.key -o b2.pem
1 | bundle       | ... with --force: written, findings | bundle c.crt c.key -o b3.pem --force
2 | bundle       | an existing output, no --force      | bundle c.crt chain.pem c.key -o exists.pem
6 | bundle       | -o into a missing directory         | bundle c.crt chain.pem c.key -o $NX
0 | check        | a good bundle                       | check --profile mid bundle.pem
1 | check        | a PKCS#1 key (key-not-pkcs8)        | check --profile mid bad-bundle.pem
0 | check        | expiring, no --within (a warning)   | check soon.pem
1 | check        | expiring within an explicit --within| check --within 2w soon.pem
3 | check        | a missing file                      | check missing.pem
4 | check        | a PFX, wrong password               | check --pass env:WRONG c.p12
2 | check        | a bad --within                      | check --within soon soon.pem
0 | keystore list    | the store (changeit)            | keystore list s.jks
4 | keystore list    | wrong --pass                    | keystore list --pass env:WRONG s.jks
3 | keystore list    | not a keystore                  | keystore list junk.pem
2 | keystore add-key | an alias that exists, no --force| keystore add-key s.jks --alias mid c.crt c.key chain.pem
0 | keystore add-key | ... with --force                | keystore add-key s.jks --alias mid c.crt c.key chain.pem --force
4 | keystore add-key | a PFX, wrong --pass             | keystore add-key s.jks --alias p --pass env:WRONG c.p12
0 | keystore add-key | a PFX, --pass                   | keystore add-key s.jks --alias p --pass env:GOOD c.p12
3 | keystore remove  | an alias that is not there      | keystore remove s.jks --alias nope
6 | keystore export  | -o into a missing directory     | keystore export s.jks --alias mid -o $NX
0 | mid install  | a good bundle                       | mid install --agent agent bundle.pem
1 | mid install  | error findings (self-signed)        | mid install --agent agent soon.pem soon.key
3 | mid install  | not an agent directory              | mid install --agent notagent bundle.pem
4 | mid install  | wrong --out-pass for the keystore   | mid install --agent agent --out-pass env:WRONG bundle.pem
0 | mid show     | the installed entry                 | mid show --agent agent
1 | mid show     | expiring within --within            | mid show --agent agent --within 400d
3 | mid show     | not an agent directory              | mid show --agent notagent
0 | probe        | a TLS server                        | probe --timeout 10s 127.0.0.1:$port
5 | probe        | a closed port                       | probe --connect-timeout 2s 127.0.0.1:$closed
2 | probe        | no host                             | probe
0 | expiry       | a file                              | expiry c.crt
1 | expiry       | expiring within --within            | expiry --within 2w soon.pem
3 | expiry       | a missing path                      | expiry missing.pem
5 | expiry       | a named endpoint that fails         | expiry --timeout 2s c.crt 127.0.0.1:$closed
0 | expiry       | a tree with an unreadable file      | expiry .
2 | expiry       | --prometheus with --json            | expiry --prometheus c.crt
2 | (none)       | not a command                       | frobnicate
EOF
)

verbs_seen=""
while IFS='|' read -r want verb situation args; do
	want=$(echo $want) verb=$(echo $verb) situation=$(echo $situation)
	[ -n "$want" ] || continue
	eval "set -- $args"
	run "$MTLSKIT" --json "$@"
	if [ "$RC" = "$want" ]; then
		ok "$verb: $situation -> $want"
	else
		not_ok "$verb: $situation -> $want (got $RC)"
		_show_last
	fi
	# One JSON document whose "exit" is the status.
	got=$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["exit"])' 2>&1)
	expect_eq "$verb: $situation: one JSON document, exit $want" "$got" "$want"
	verbs_seen="$verbs_seen $(echo "$verb" | cut -d' ' -f1)"
done <<<"$table"

# Every verb has rows.
for v in inspect key csr ca renew convert bundle check keystore mid probe expiry; do
	case " $verbs_seen " in
	*" $v "*) ok "the table covers $v" ;;
	*) not_ok "the table covers $v" ;;
	esac
done

# The same statuses in text mode, with one line on stderr.
run "$MTLSKIT" key generate -o "$NX"
expect_eq "text: a failed write exits 6" "$RC" 6
expect_eq "text: one line" "$(printf '%s\n' "$ERR" | wc -l)" 1
expect_match "text: WHERE: what is wrong (cause)" \
	"^mtlskit key generate: $NX: cannot create: No such file or directory$" "$ERR"
run "$MTLSKIT" key generate -o exists.pem
expect_match "text: an existing output says it once" \
	"^mtlskit key generate: exists.pem: output file already exists \(use --force to replace it\)$" "$ERR"
run "$MTLSKIT" inspect missing.pem
expect_match "text: a missing file says it once" "^mtlskit inspect: missing.pem: No such file or directory$" "$ERR"
expect_no_match "text: no [MTK_E_...] codes" 'MTK_E_' "$ERR"
run "$MTLSKIT" expiry --prometheus -o "$NX" c.crt
expect_eq "text: expiry --prometheus -o into a missing directory exits 6" "$RC" 6
run "$MTLSKIT" expiry --timeout 2s c.crt "127.0.0.1:$closed"
expect_no_match "expiry text: no [MTK_E_...] codes" 'MTK_E_' "$ERR"

done_testing
