#!/usr/bin/env bash
# track-gateway.sh - the MID ordering end to end: a MID agent keystore issued
# by an mtlskit CA, mtlskit-gateway in front of a backend with the old
# certificate's fingerprint mapped.  At renewal the new certificate is NOT
# installed while the gateway answers 403 (old keystore kept, the new one
# staged 0600); once its fingerprint is mapped and the gateway reloaded, the
# next run installs it, the hook runs, and the Java client authenticates
# with the renewed keystore.  Then kill -9 at random points of runs: the
# managed files are always the whole old set or the whole new set.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "$0")/lib/gw-fixtures.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$T" || exit 1

gw_pki
"$MTLSKIT" ca init mca --name "MID Root" --key-type ec:P-256 >/dev/null
"$MTLSKIT" csr create --cn mid01.example.com --org "Example Corp" --country US --usage client \
	--new-key ec:P-256 --key-out old.key -o old.csr >/dev/null
"$MTLSKIT" ca sign mca old.csr --profile client -o old.crt >/dev/null
cat old.crt mca/root.crt old.key >bundle.pem
mkdir -p agent && echo '<parameters/>' >agent/config.xml
"$MTLSKIT" mid install --agent agent bundle.pem >/dev/null 2>&1
KS=agent/security/agent_keystore.jks
cp "$KS" ks.old
echo "midsrv mid_server $(gw_fp old.crt)" >>users.map
gw_backend b1
gw_conf "$T/gw.conf" "$BACKEND_PORT" "ca $T/mca/root.crt"
gw_start track "$T/gw.conf" || { not_ok "gateway starts"; done_testing; }

mkdir d
export MTLSKIT_TRACK_DIR=$T/d
mtk track add mid --target mid --agent "$T/agent" --issuer ca-dir --ca-dir "$T/mca" \
	--verify "127.0.0.1:$GW_PORT" --verify-ca "$T/srv/ca.pem" --verify-path /mid/health \
	--hook "touch $T/hook-ran"
expect_eq "track add mid with a verify endpoint" "$RC" 0

# --- the gateway refuses the new certificate (not mapped): staged, not installed
mtk --json track run --force-renew
expect_eq "not accepted: exit 0 (staged is progress)" "$RC" 0
expect_json "outcome staged" '.certificates[0].outcome' staged
expect_match "the reason: the gateway's 403" '403' "$(printf '%s' "$OUT" | jq -r '.certificates[0].message')"
expect_rc 0 "old keystore untouched, byte for byte" cmp "$KS" ks.old
expect_mode "staged certificate 0600" d/mid.staged-cert.pem 600
expect_mode "staged key 0600" d/mid.staged-key.pem 600
expect_no_file "hook not run" hook-ran
staged_fp=$(gw_fp d/mid.staged-cert.pem)
expect_match "gateway log: the new certificate was unmapped" 'unmapped|not-mapped|403' "$(cat "$GW_LOG")"

# a second run retries the verify with the same staged certificate (no new issue)
mtk --json track run
expect_json "retry: still staged" '.certificates[0].outcome' staged
expect_eq "retry: the same staged certificate" "$(gw_fp d/mid.staged-cert.pem)" "$staged_fp"

# --- its fingerprint mapped, gateway reloaded: the next run installs it
echo "midsrv2 mid_server $staged_fp" >>users.map
kill -HUP "$GW_PID"
for _ in $(seq 1 50); do
	[ "$(metric 'mtlskit_gateway_reloads_total{result="ok"}')" = 1 ] && break
	sleep 0.1
done
mtk --json track run
expect_eq "accepted: exit 0" "$RC" 0
expect_json "outcome renewed" '.certificates[0].outcome' renewed
expect_file "hook ran" hook-ran
expect_no_file "staged files removed" d/mid.staged-cert.pem
run keytool -list -v -keystore "$KS" -storepass changeit -alias defaultsecuritykeypairhandle
expect_match "keytool: the installed certificate is the staged one" \
	"SHA256: ${staged_fp#sha256:}" "$OUT"
expect_eq "a timestamped backup holds the old keystore" "$(cmp "$(ls agent/security/agent_keystore.jks.bak-* | head -1)" ks.old && echo same)" same

if command -v javac >/dev/null && command -v keytool >/dev/null; then
	mkdir -p classes
	javac -d classes "$HERE/java/GatewayClient.java" 2>/dev/null
	keytool -importcert -noprompt -alias gateway-ca -file srv/ca.pem -keystore trust.jks \
		-storetype JKS -storepass changeit >/dev/null 2>&1
	export GW_KS_PASS=changeit GW_TS_PASS=changeit
	run java -cp classes GatewayClient "https://127.0.0.1:$GW_PORT/java" "$T/$KS" "$T/trust.jks"
	expect_match "Java client with the renewed agent keystore: 200" '^STATUS 200$' "$OUT"
	expect_match "the backend sees the renewed certificate's user" '^X-Client-User: midsrv2$' "$OUT"
else
	ok "# SKIP no javac/keytool"
fi

# --- kill -9 at random points: always the complete old set or the complete new set
"$MTLSKIT" ca sign mca old.csr --profile client -o pem.crt >/dev/null
cp old.key pem.key
cat mca/root.crt >pem-chain.crt
mtk track add pem --target pem --cert "$T/pem.crt" --key "$T/pem.key" --chain "$T/pem-chain.crt" \
	--issuer ca-dir --ca-dir "$T/mca"
pair_ok() { # the key file belongs to the certificate file
	[ "$(openssl pkey -in pem.key -pubout 2>/dev/null)" = "$(openssl x509 -in pem.crt -noout -pubkey 2>/dev/null)" ]
}
mixed=0 kills=0 journals=0
for i in $(seq 1 30); do
	"$MTLSKIT" track run pem --force-renew >/dev/null 2>&1 &
	p=$!
	sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
	kill -9 "$p" 2>/dev/null && kills=$((kills + 1))
	wait "$p" 2>/dev/null
	[ -e d/pem.journal ] && journals=$((journals + 1))
	# a later run (or status) first restores from the journal; what a reader sees
	# between runs must already be whole once that run has looked at it
	"$MTLSKIT" track run pem --dry-run >/dev/null 2>&1
	"$MTLSKIT" track run pem --now 2000-01-01 >/dev/null 2>&1
	pair_ok || mixed=$((mixed + 1))
done
diag "kill -9 landed in $kills of 30 runs, $journals of them during an install (journal left)"
expect_eq "after 30 kill -9: never a certificate with another key" "$mixed" 0
mtk track run pem --force-renew
expect_eq "a clean run after the kills succeeds" "$RC" 0
expect_rc 0 "and leaves a whole pair" pair_ok

# --- the gateway's own server certificate as a target; the hook reloads it
"$MTLSKIT" csr create --cn gw.example.com --country US --usage server --san DNS:gw.example.com,IP:127.0.0.1 \
	--new-key ec:P-256 --key-out gw2.key -o gw2.csr >/dev/null
"$MTLSKIT" ca sign mca gw2.csr --profile server -o gw2.crt --chain-out gw2-chain.crt >/dev/null
cat gw2.crt gw2-chain.crt >gw2-full.crt
gw_conf "$T/gw2.conf" "$BACKEND_PORT"
sed -i '/^cert /d; /^key /d' gw2.conf
printf 'cert %s\nkey %s\n' "$T/gw2-full.crt" "$T/gw2.key" >>gw2.conf
gw_start gw2 "$T/gw2.conf" || not_ok "second gateway starts"
served() { openssl s_client -connect "127.0.0.1:$GW_PORT" </dev/null 2>/dev/null | openssl x509 -noout -serial; }
before=$(served)
expect_eq "the gateway serves the mtlskit-issued certificate" "$before" "$(openssl x509 -in gw2.crt -noout -serial)"
mtk track add gw --target gateway --cert "$T/gw2-full.crt" --key "$T/gw2.key" \
	--issuer ca-dir --ca-dir "$T/mca" --hook "kill -HUP $GW_PID"
mtk --json track run gw --force-renew
expect_json "gateway certificate renewed" '.certificates[0].outcome' renewed
for _ in $(seq 1 50); do
	[ "$(metric 'mtlskit_gateway_reloads_total{result="ok"}')" = 1 ] && break
	sleep 0.1
done
expect_eq "after the hook's SIGHUP the gateway serves the renewed certificate" "$(served)" \
	"$(openssl x509 -in gw2-full.crt -noout -serial)"
expect_no_match "and not the old one" "^$before\$" "$(served)"
expect_match "renewed as a server certificate" 'TLS Web Server Authentication' \
	"$(openssl x509 -in gw2-full.crt -noout -ext extendedKeyUsage)"

gw_finish
done_testing
