#!/usr/bin/env bash
# expiry-scale.sh - the formats machines read, streamed row by row: --jsonl
# lines are --json's rows; every row carries the SHA-256 fingerprint openssl
# computes; --unique finds one certificate in a PEM file, a PFX, a JKS made
# by keytool and a CA directory and lists its four places; the reader pool
# gives the same output with one worker as with the default; a PEM bundle
# larger than the read window (and than the old 64 MiB input limit) is read
# whole, in bounded memory.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "${BASH_SOURCE[0]}")/expiry-fixtures.bash"

# Half a day off the day boundaries, so days_left does not change between
# two runs that compare output.
half_day_from_now() { date -u -d "@$(($(date +%s) + $1 * 86400 + 43200))" +%Y%m%d%H%M%SZ; }
mk_ca
mk_cert soon "soon.example.com" "$(days_from_now -5)" "$(half_day_from_now 10)"
mk_cert later "later.example.com" "$(days_from_now -5)" "$(half_day_from_now 200)"
# The CA was made with -days 3650: its days_left drops by one when the
# second it was made in is over.  Let that happen before comparing runs.
sleep 1
mkdir -p "$T/tree/a/b" "$T/tree/c"
cat "$T/soon.pem" "$T/later.pem" >"$T/tree/a/bundle.pem"
cp "$T/later.pem" "$T/tree/a/b/later.pem"
cp "$T/ca/ca.pem" "$T/tree/c/ca.pem"
for i in 1 2 3 4 5 6; do cp "$T/soon.pem" "$T/tree/c/soon-$i.pem"; done

# --json and --jsonl: the same rows.
mtk expiry --json "$T/tree"
expect_eq "--json exits 0" "$RC" 0
JSON=$OUT
expect_eq "--json is exactly one JSON document" "$(printf '%s' "$JSON" | jq -s 'length')" 1
expect_json "the document carries the common members" '[.command, .ok, .exit] | join(" ")' "expiry true 0"
expect_json "all certificates listed" '.certificates | length' 10
expect_json "summary after the streamed arrays" '.summary.certificates' 10
mtk expiry --jsonl "$T/tree"
expect_eq "--jsonl exits 0" "$RC" 0
JSONL=$OUT
expect_eq "one line per certificate" "$(printf '%s\n' "$JSONL" | wc -l)" 10
bad=0
while IFS= read -r l; do printf '%s' "$l" | jq -e 'type == "object"' >/dev/null 2>&1 || bad=$((bad + 1)); done <<<"$JSONL"
expect_eq "every --jsonl line parses as one JSON object" "$bad" 0
expect_eq "--jsonl lines are --json's rows, in order" \
	"$(printf '%s\n' "$JSONL" | jq -cS . | sha256sum)" \
	"$(printf '%s' "$JSON" | jq -cS '.certificates[]' | sha256sum)"

# Fingerprints are openssl's.
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f; }
soon_fp=$(fp "$T/soon.pem")
later_fp=$(fp "$T/later.pem")
ca_fp=$(fp "$T/ca/ca.pem")
printf '%s' "$JSON" >"$T/out.json"
OUT=$(cat "$T/out.json")
expect_json "fingerprint of soon.example.com is openssl's" \
	"[.certificates[] | select(.subject == \"O=Expiry Test,CN=soon.example.com\") | .sha256] | unique | join(\" \")" "$soon_fp"
expect_json "fingerprint of later.example.com is openssl's" \
	"[.certificates[] | select(.subject == \"O=Expiry Test,CN=later.example.com\") | .sha256] | unique | join(\" \")" "$later_fp"
expect_json "fingerprint of the CA is openssl's" \
	"[.certificates[] | select(.subject == \"CN=Expiry Test CA,O=Expiry Test\") | .sha256] | join(\" \")" "$ca_fp"
mtk expiry "$T/tree/a/b"
expect_match "the table shows the fingerprint" "sha256 $later_fp\$" "$OUT"

# The scan's own time is the one line two runs may differ in.
notime() { printf '%s\n' "$1" | grep -v '^mtlskit_expiry_last_scan_timestamp_seconds '; }

# The reader pool: the same output however many workers read.
for f in "" --json --jsonl --prometheus; do
	mtk expiry $f --workers 1 "$T/tree"
	one=$(notime "$OUT")
	mtk expiry $f "$T/tree"
	expect_eq "--workers 1 and the default pool give the same output ${f:-(table)}" "$(notime "$OUT")" "$one"
done
mtk expiry --json "$T/tree"
def=$OUT
mtk expiry --workers 8 --json "$T/tree"
expect_eq "--workers 8 gives the same document" "$OUT" "$def"
expect_rc 2 "--workers 0 is a usage error" "$MTLSKIT" expiry --workers 0 "$T/tree"
expect_rc 2 "--json with --jsonl is a usage error" "$MTLSKIT" expiry --json --jsonl "$T/tree"
expect_rc 2 "--unique with --prometheus is a usage error" "$MTLSKIT" expiry --unique --prometheus "$T/tree"

# --unique: one certificate kept in a PEM file, a PFX, a JKS and a CA.
u=$T/unique
mkdir -p "$u"
run "$MTLSKIT" ca init "$u/ca" --name "Unique Root" --intermediate "Unique Issuing" --key-type ec:P-256
expect_eq "ca init" "$RC" 0
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/u.key" -out "$T/u.csr" \
	-subj "/O=Unique/CN=unique.example.com" 2>/dev/null
run "$MTLSKIT" ca sign "$u/ca" "$T/u.csr" --profile client --days 90 -o "$T/u.crt"
expect_eq "ca sign" "$RC" 0
u_fp=$(fp "$T/u.crt")
mkdir -p "$u/pem"
cp "$T/u.crt" "$u/pem/client.pem"
openssl pkcs12 -export -in "$T/u.crt" -inkey "$T/u.key" -name client -passout pass:changeit \
	-out "$u/client.p12" 2>/dev/null
if command -v keytool >/dev/null; then
	keytool -importcert -noprompt -alias trusted-client -file "$T/u.crt" -keystore "$u/trust.jks" \
		-storetype JKS -storepass changeit >/dev/null 2>&1
	expect_file "keytool made the JKS" "$u/trust.jks"
else
	not_ok "keytool is missing (Debian package default-jdk-headless, scripts/deps.sh)"
fi
mtk expiry --unique --json --pass pass:changeit "$u"
expect_eq "--unique exits 0" "$RC" 0
expect_json "one row for the certificate" "[.certificates[] | select(.sha256 == \"$u_fp\")] | length" 1
expect_json "with its four places" "[.certificates[] | select(.sha256 == \"$u_fp\") | .locations[]] | length" 4
expect_json "the PEM file, the PFX, the JKS and the CA directory" \
	"[.certificates[] | select(.sha256 == \"$u_fp\") | .locations[] | (.path | sub(\"^.*/unique/\"; \"\")) + \" \" + (.alias // \"-\")] | sort | join(\", \")" \
	"ca/certs/$(ls "$u/ca/certs" | grep -i "$(openssl x509 -in "$T/u.crt" -noout -serial | cut -d= -f2)" | head -1) -, client.p12 client, pem/client.pem -, trust.jks trusted-client"
expect_json "every place once" "[.certificates[] | .locations | length] | add" \
	"$(mtk expiry --json --pass pass:changeit "$u" >/dev/null; printf '%s' "$OUT" | jq '.certificates | length')"
mtk expiry --unique --pass pass:changeit "$u"
expect_eq "the --unique table lists each place on its own line" \
	"$(printf '%s\n' "$OUT" | grep -c '^ *at ')" \
	"$(mtk expiry --json --pass pass:changeit "$u" >/dev/null; printf '%s' "$OUT" | jq '.certificates | length')"
mtk expiry --unique --jsonl --pass pass:changeit "$u"
expect_eq "--unique --jsonl: one line per certificate" "$(printf '%s\n' "$OUT" | grep -c "\"sha256\":\"$u_fp\"")" 1

# A bundle larger than the read window (1 MiB) and than the old 64 MiB
# input ceiling: every certificate, the right line numbers, bounded memory.
cat "$T/soon.pem" "$T/later.pem" >"$T/pair.pem"
pl=$(wc -l <"$T/pair.pem")
for i in $(seq 1 64); do cat "$T/pair.pem"; done >"$T/p64.pem"
for i in $(seq 1 16); do cat "$T/p64.pem"; done >"$T/p1k.pem"
: >"$T/big.pem"
bytes=$(stat -c %s "$T/p1k.pem")
reps=$(((70 * 1024 * 1024) / bytes + 1))
for i in $(seq 1 "$reps"); do cat "$T/p1k.pem"; done >"$T/big.pem"
want=$((reps * 1024 * 2))
run /usr/bin/time -f '%M' "$MTLSKIT" expiry --jsonl "$T/big.pem"
expect_eq "a $(($(stat -c %s "$T/big.pem") >> 20)) MiB bundle is read (exit 0)" "$RC" 0
expect_eq "every certificate of it" "$(printf '%s\n' "$OUT" | grep -c '"sha256"')" "$want"
expect_eq "the last one's line is its BEGIN line" \
	"$(printf '%s\n' "$OUT" | jq -s 'map(.line) | max')" "$(grep -n BEGIN "$T/big.pem" | tail -1 | cut -d: -f1)"
rss=$(printf '%s\n' "$ERR" | tail -1)
if ldd "$MTLSKIT" 2>/dev/null | grep -q 'libasan'; then
	ok "memory stays bounded # SKIP AddressSanitizer's shadow memory and quarantine (max RSS ${rss} KiB)"
elif [ "$rss" -lt 65536 ]; then ok "memory stays bounded (max RSS ${rss} KiB < 64 MiB)"; else
	not_ok "memory stays bounded (max RSS ${rss} KiB)"; fi
# Records beyond the memory budget go to sorted runs on disk and are merged
# back: the same output, in every view, as with everything in memory.
mkdir -p "$T/spill/x" "$T/spill/y"
cp "$T/p1k.pem" "$T/spill/x/a.pem"
cp "$T/p1k.pem" "$T/spill/y/b.pem"
cp "$T/tree/c/"*.pem "$T/spill/y/"
for f in "" --json --jsonl --prometheus --unique "--unique --json"; do
	mtk expiry $f --mem-budget 0 "$T/spill"
	whole=$(notime "$OUT")
	mtk expiry $f --mem-budget 1 "$T/spill"
	expect_eq "runs on disk merge back to the same output ${f:-(table)}" "$(notime "$OUT")" "$whole"
done
mtk expiry --json --mem-budget 1 "$T/spill"
expect_json "all of them" '.summary.certificates' $((2 * 2048 + 7))
TMPDIR=$T/no-such-dir run "$MTLSKIT" expiry --mem-budget 1 "$T/spill"
expect_eq "no room for the runs: the scan fails (exit 6), it does not lose records" "$RC" 6
expect_match "and says why" 'cannot write the records beyond the memory budget' "$ERR"
# A block cut by the window's end is carried over: a bundle whose blocks
# straddle every 1 MiB boundary (odd padding) reads the same.
{ for i in $(seq 1 1500); do printf 'junk %*s\n' $((i % 97)) x; cat "$T/soon.pem"; done; } >"$T/odd.pem"
mtk expiry --jsonl "$T/odd.pem"
expect_eq "blocks across window boundaries: all 1500" "$(printf '%s\n' "$OUT" | grep -c '"sha256"')" 1500
expect_eq "each on the line of its BEGIN marker" "$(printf '%s\n' "$OUT" | jq -r .line | sort -n | tr '\n' ' ')" \
	"$(grep -n BEGIN "$T/odd.pem" | cut -d: -f1 | sort -n | tr '\n' ' ')"
done_testing
