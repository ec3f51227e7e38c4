#!/usr/bin/env bash
# track-ca-dir.sh - `track` with an mtlskit CA directory: a PEM target and a
# MID agent keystore renewed when due (keytool and openssl read the result),
# nothing written when not due, --dry-run, a failing hook restores the old
# keystore byte for byte, status as JSON and a Prometheus textfile.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
cd "$T" || exit 1

"$MTLSKIT" ca init ca --name "Track Root" --intermediate "Track Issuing" --key-type ec:P-256 >/dev/null
"$MTLSKIT" csr create --cn mid01.example.com --org "Example Corp" --country US --usage client \
	--san DNS:mid01.example.com --new-key rsa:2048 --key-out c.key -o c.csr >/dev/null
"$MTLSKIT" ca sign ca c.csr --profile client --days 90 -o c.crt >/dev/null
old_serial=$(openssl x509 -in c.crt -noout -serial | cut -d= -f2)
nb=$(date -u -d "$(openssl x509 -in c.crt -noout -startdate | cut -d= -f2)" +%s)
mkdir d
export MTLSKIT_TRACK_DIR=$T/d

# --- the verb
mtk --help
expect_match "mtlskit --help lists track" '^  track ' "$OUT"
mtk track --help
expect_eq "track --help exits 0" "$RC" 0
expect_match "track --help names the sub-commands" 'track add .*' "$OUT"
expect_rc 2 "an unknown sub-command is a usage error" "$MTLSKIT" track frob

# --- add: checked by the same parser as run
mtk track add bad --target pem --cert c.crt --issuer ca-dir
expect_eq "add without key/ca_dir refused (exit 2)" "$RC" 2
expect_no_file "nothing written for a bad config" d/bad.conf
mtk track add web --target pem --cert "$T/c.crt" --key "$T/c.key" --issuer ca-dir --ca-dir "$T/ca" \
	--hook "touch $T/hook-ran"
expect_eq "add a PEM target" "$RC" 0
expect_mode "config 0600" d/web.conf 600

# --- not due (day 10 of 90: 2/3 is day 60)
cp c.crt c.crt.orig; cp c.key c.key.orig
now10=$(date -u -d "@$((nb + 10 * 86400))" +%Y-%m-%dT%H:%M:%SZ)
now70=$(date -u -d "@$((nb + 70 * 86400))" +%Y-%m-%dT%H:%M:%SZ)
mtk --json track run --now "$now10"
expect_eq "run with nothing due exits 0" "$RC" 0
expect_json "outcome not-due" '.certificates[0].outcome' not-due
expect_json "due at 2/3 of the lifetime" '.certificates[0].due' "$(date -u -d "@$((nb + 60 * 86400))" +%Y-%m-%dT%H:%M:%SZ)"
expect_no_file "nothing due: no state written" d/web.state
expect_rc 0 "certificate untouched" cmp c.crt c.crt.orig

# --- dry run when due
mtk --json track run --now "$now70" --dry-run
expect_json "dry run says it would renew" '.certificates[0].outcome' would-renew
expect_rc 0 "dry run changed nothing" cmp c.crt c.crt.orig
expect_no_file "dry run: no state" d/web.state

# --- due: renewed
mtk --json track run --now "$now70"
expect_eq "run renews (exit 0)" "$RC" 0
expect_json "outcome renewed" '.certificates[0].outcome' renewed
new_serial=$(openssl x509 -in c.crt -noout -serial | cut -d= -f2)
expect_no_match "openssl: a new serial" "^$old_serial\$" "$new_serial"
expect_eq "same subject" "$(openssl x509 -in c.crt -noout -subject)" "$(openssl x509 -in c.crt.orig -noout -subject)"
expect_match "clientAuth kept" "TLS Web Client Authentication" "$(openssl x509 -in c.crt -noout -ext extendedKeyUsage)"
expect_eq "new key (key_policy new)" "$(cmp -s c.key c.key.orig; echo $?)" 1
expect_eq "key matches the certificate" "$(openssl pkey -in c.key -pubout)" "$(openssl x509 -in c.crt -noout -pubkey)"
expect_mode "key 0600" c.key 600
run openssl verify -attime "$((nb + 70 * 86400))" -CAfile ca/root.crt -untrusted c.crt c.crt
expect_eq "openssl verifies the chain written with the leaf" "$RC" 0
expect_file "hook ran" hook-ran
expect_eq "backup of the old certificate, byte for byte" "$(cmp c.crt.bak-* c.crt.orig && echo same)" same
expect_no_file "no journal left" d/web.journal
expect_no_file "no staged key left" d/web.staged-key.pem

# --- status: table, JSON, Prometheus
mtk --json track status --now "$now70"
expect_json "status: last_success" '.certificates[0].last_success' "$now70"
expect_json "status: new not_after" '.certificates[0].not_after' \
	"$(date -u -d "$(openssl x509 -in c.crt -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)"
mtk track status --now "$now70" --prometheus "$T/track.prom"
expect_eq "status --prometheus exit 0" "$RC" 0
expect_match "textfile: not_after" '^mtlskit_track_not_after_seconds\{name="web",target="pem",issuer="ca-dir"\} [0-9]+$' "$(cat track.prom)"
expect_match "textfile: last_error 0" '^mtlskit_track_last_error\{name="web".*\} 0$' "$(cat track.prom)"
if command -v promtool >/dev/null; then
	run promtool check metrics <track.prom
	expect_eq "promtool check metrics accepts the textfile" "$RC" 0
fi

# --- MID agent keystore: keytool sees the new serial; a failing hook rolls back
mkdir -p agent/security && echo '<parameters/>' >agent/config.xml
"$MTLSKIT" bundle c.crt.orig c.key.orig ca/root.crt -o mid.pem >/dev/null 2>&1 || \
	"$MTLSKIT" bundle c.crt.orig c.key.orig ca/*.crt -o mid.pem >/dev/null
expect_rc 0 "mid install of the old certificate" "$MTLSKIT" mid install --agent agent mid.pem
ks=agent/security/agent_keystore.jks
cp "$ks" ks.orig
mtk track add mid --target mid --agent "$T/agent" --issuer ca-dir --ca-dir "$T/ca" --hook /bin/false
mtk --json track run mid --now "$now70"
expect_eq "failing hook: exit 1" "$RC" 1
expect_json "failing hook: rolled back" '.certificates[0].rolled_back' true
expect_rc 0 "failing hook: keystore restored byte for byte" cmp "$ks" ks.orig
expect_match "state records the error" "hook" "$(grep last_error d/mid.state)"
sed -i 's|^hook .*|hook touch '"$T"'/mid-hook|' d/mid.conf
mtk --json track run mid --now "$now70"
expect_json "MID keystore renewed" '.certificates[0].outcome' renewed
expect_json "the old serial is reported too" '.certificates[0].serial | ascii_downcase | ltrimstr("0")' \
	"$(openssl x509 -in c.crt.orig -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f' | sed 's/^0*//')"
ns=$(printf '%s' "$OUT" | jq -r '.certificates[0].new_serial' | tr 'A-F' 'a-f' | sed 's/^0*//')
run keytool -list -v -keystore "$ks" -storepass changeit -alias defaultsecuritykeypairhandle
expect_eq "keytool reads the renewed keystore" "$RC" 0
expect_match "keytool shows the new serial" "Serial number: 0*$ns" "$OUT"
expect_match "keytool: chain of 3" "Certificate chain length: 3" "$OUT"
expect_file "hook ran after the MID install" mid-hook


# --- a JKS entry: only that alias changes, every other entry stays
export KSP=ks-pass-1
"$MTLSKIT" convert c.crt.orig c.key.orig --to jks --alias web --out-pass env:KSP -o ks.jks >/dev/null 2>&1
"$MTLSKIT" keystore add-trusted ks.jks --type jks --pass env:KSP --alias other-ca ca/root.crt >/dev/null 2>&1
mtk track add ks --target keystore --keystore "$T/ks.jks" --alias web --store-pass env:KSP \
	--issuer ca-dir --ca-dir "$T/ca"
mtk --json track run ks --now "$now70"
expect_json "JKS entry renewed" '.certificates[0].outcome' renewed
ns=$(printf '%s' "$OUT" | jq -r '.certificates[0].new_serial' | tr 'A-F' 'a-f' | sed 's/^0*//')
run keytool -list -v -keystore ks.jks -storepass "$KSP" -storetype JKS
expect_match "keytool: the entry has the new serial" "Serial number: 0*$ns" "$OUT"
expect_match "keytool: the other entry is still there" 'Alias name: other-ca' "$OUT"
expect_match "keytool: two entries" 'Your keystore contains 2 entries' "$OUT"

# --- deterministic jitter: FNV-1a of the name, modulo jitter + 1 seconds
mtk track add jit --target pem --cert "$T/c.crt.orig" --key "$T/c.key.orig" --issuer ca-dir \
	--ca-dir "$T/ca" --jitter 1d
j=$(python3 -c 'import sys
h=14695981039346656037
for b in b"jit": h=((h^b)*1099511628211)%(1<<64)
print(h%86401)')
mtk --json track run jit --now "$now10"
expect_json "due = 2/3 of the lifetime - fnv1a(name) mod (jitter+1)" '.certificates[0].due' \
	"$(date -u -d "@$((nb + 60 * 86400 - j))" +%Y-%m-%dT%H:%M:%SZ)"
expect_rc 0 "track remove" "$MTLSKIT" track remove jit
expect_no_file "remove: config gone" d/jit.conf
expect_file "remove: the certificate it managed stays" c.crt.orig

# --- expired: still renewed, and said so
cp c.crt.orig exp.crt; cp c.key.orig exp.key
mtk track add exp --target pem --cert "$T/exp.crt" --key "$T/exp.key" --issuer ca-dir --ca-dir "$T/ca"
mtk track run exp --now "$(date -u -d "@$((nb + 100 * 86400))" +%Y-%m-%dT%H:%M:%SZ)"
expect_eq "expired certificate: renewed (exit 0)" "$RC" 0
expect_match "expired certificate: a warning" 'had already expired' "$ERR"

# --- list
mtk --json track list
expect_json "list: every tracked name, sorted" '[.certificates[].name] | join(" ")' "exp ks mid web"
expect_json "list: targets" '[.certificates[].target] | join(" ")' "pem keystore mid pem"

done_testing
