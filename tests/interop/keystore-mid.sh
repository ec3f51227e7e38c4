#!/usr/bin/env bash
# keystore-mid.sh - `mtlskit mid install` end to end: the bundle is checked
# first (refused with findings, keystore untouched), the agent keystore keeps
# its other entries, keytool lists the result, and a Java TLS client loading
# agent_keystore.jks completes an mTLS handshake with openssl s_server
# -Verify 1.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "${BASH_SOURCE[0]}")/keystore-pki.inc"

if ! command -v keytool >/dev/null || ! command -v javac >/dev/null; then
	echo "1..0 # SKIP keytool/javac are not installed"
	exit 0
fi
mk_pki "$T/pki"
P=$T/pki
A=$T/agent
KS=$A/security/agent_keystore.jks
# What an installed agent directory has (manage-certificates runs from it).
mkdir -p "$A/bin" "$A/conf"
printf '<?xml version="1.0" encoding="UTF-8"?>\n<parameters/>\n' >"$A/config.xml"
export WRONG=notthepass

# An existing agent keystore with another entry, made by keytool.
mkdir -m 700 "$A/security"
keytool -noprompt -importcert -storetype JKS -keystore "$KS" -storepass changeit -alias instance-ca \
	-file "$P/root.pem" >/dev/null 2>&1

# Refusals first: nothing may be written.
before=$(sha256sum "$KS")
mtk --json mid install --agent "$A" "$P/leaf.pem" "$P/leaf.key"
expect_eq "incomplete chain: refused with exit 1" "$RC" 1
expect_match "incomplete chain: finding chain-incomplete" 'chain-incomplete' "$(finding_ids)"
expect_json "incomplete chain: not installed" '.installed' false
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/self.key" -out "$T/self.pem" -days 30 \
	-subj "/CN=self.example.com" -addext extendedKeyUsage=clientAuth >/dev/null 2>&1
mtk --json mid install --agent "$A" "$T/self.pem" "$T/self.key"
expect_eq "self-signed leaf: refused with exit 1" "$RC" 1
expect_match "self-signed leaf: finding leaf-self-signed" 'leaf-self-signed' "$(finding_ids)"
expect_eq "refused installs leave the keystore byte for byte" "$(sha256sum "$KS")" "$before"

mtk mid show --agent "$A"
expect_eq "show without the alias: exit 1" "$RC" 1
expect_match "show without the alias: finding keystore-alias" 'keystore-alias' "$OUT"
expect_rc 4 "wrong --out-pass on the agent keystore: exit 4" \
	"$MTLSKIT" mid install --agent "$A" --out-pass env:WRONG "$P/bundle.pem"
expect_match "wrong --out-pass: keytool-like message" 'keystore password is incorrect' "$ERR"

# The install.
mtk --json mid install --agent "$A" "$P/bundle.pem"
expect_eq "install: exit 0" "$RC" 0
expect_json "install: two entries, the other one kept" '.entries' 2
expect_json "install: chain of 3" '.chain | length' 3
expect_mode "agent keystore is 0600" "$KS" 600
expect_json "install: changed" '.changed' true
# The keytool-made store it replaced is kept, stamped, before the rename.
bak=$(printf '%s' "$OUT" | jq -r .backup)
expect_match "install: the backup is named KEYSTORE.bak-<UTC stamp>" \
	"^$KS\\.bak-[0-9]{8}T[0-9]{6}Z\$" "$bak"
expect_mode "the backup is 0600" "$bak" 600
run keytool -list -storetype JKS -keystore "$bak" -storepass changeit
expect_match "keytool lists the backup: the old store, 1 entry" 'Your keystore contains 1 entry' "$OUT"
expect_match "keytool lists the backup: the old instance-ca entry" '^instance-ca, .*trustedCertEntry' "$OUT"
expect_eq "the backup is the old store byte for byte" "$(sha256sum <"$bak")" "$(printf '%s' "$before" | cut -d' ' -f1)  -"
expect_mode "security directory is 0700" "$A/security" 700
run keytool -list -v -storetype JKS -keystore "$KS" -storepass changeit
expect_eq "keytool lists the agent keystore: the MID entry with the chain, and the other entry" \
	"$(printf '%s' "$OUT" | kt_summary)" \
	"$(printf 'defaultsecuritykeypairhandle|PrivateKeyEntry|%s,%s,%s,\ninstance-ca|trustedCertEntry|%s,\n' \
		"$(fp256 "$P/leaf.pem")" "$(fp256 "$P/int.pem")" "$(fp256 "$P/root.pem")" "$(fp256 "$P/root.pem")" | sort)"

mtk --json mid show --agent "$A"
expect_eq "show: exit 0" "$RC" 0
expect_json "show: present" '.present' true
expect_json "show: leaf first" '.chain[0].sha256' "$(fp256 "$P/leaf.pem")"
expect_json "show: days left of the leaf" '.days_left >= 364' true

# The same bundle again changes nothing and says so: exit 0, not a byte or
# the mtime touched, no backup, so configuration tools can run it every time.
sum=$(sha256sum <"$KS") mtime=$(stat -c %y "$KS") nbak=$(ls "$KS".bak-* | wc -l)
sleep 1.1 # a rewrite would show in the mtime and in a new backup stamp
mtk --json mid install --agent "$A" "$P/bundle.pem"
expect_eq "same bundle again: exit 0" "$RC" 0
expect_json "same bundle again: changed false" '.changed' false
expect_json "same bundle again: no backup" '.backup' null
expect_json "same bundle again: still installed" '.installed' true
expect_eq "same bundle again: the keystore's bytes are untouched" "$(sha256sum <"$KS")" "$sum"
expect_eq "same bundle again: the keystore's mtime is untouched" "$(stat -c %y "$KS")" "$mtime"
expect_eq "same bundle again: no new backup" "$(ls "$KS".bak-* | wc -l)" "$nbak"
mtk mid install --agent "$A" "$P/leaf.pem" "$P/int.pem" "$P/root.pem" "$P/leaf.key"
expect_eq "the same key and chain from separate files: exit 0" "$RC" 0
expect_match "... text says unchanged" '^unchanged: defaultsecuritykeypairhandle in .* nothing written' "$OUT"
expect_eq "... the keystore's bytes are untouched" "$(sha256sum <"$KS")" "$sum"

# Re-install replaces only the MID alias (EC this time), keeping the RSA one
# in a new backup.
mtk --json mid install --agent "$A" "$P/ec-bundle.pem"
expect_json "another bundle: changed" '.changed' true
bak2=$(printf '%s' "$OUT" | jq -r .backup)
expect_match "another bundle: a second backup" "^$KS\\.bak-[0-9]{8}T[0-9]{6}Z" "$bak2"
[ "$bak2" != "$bak" ] && ok "the second backup did not replace the first" || not_ok "the second backup did not replace the first"
run keytool -list -storetype JKS -keystore "$bak2" -storepass changeit
expect_match "keytool lists the second backup: the RSA leaf that was replaced" "$(fp256 "$P/leaf.pem")" "$OUT"
run keytool -list -storetype JKS -keystore "$KS" -storepass changeit
expect_match "re-install: still 2 entries" 'Your keystore contains 2 entries' "$OUT"
expect_match "re-install: the EC leaf is installed" "$(fp256 "$P/ec.pem")" "$OUT"
mtk mid install --agent "$A" "$P/bundle.pem"
expect_match "text names the backup" "^Kept the replaced keystore as $KS\\.bak-" "$OUT"

# What `mtlskit bundle` would fix is fixed, with a warning for each: a PKCS#1
# key, the chain root first, CRLF line ends (a Windows editor's bundle).
openssl pkey -in "$P/leaf.key" -traditional -out "$T/leaf-pkcs1.key" 2>/dev/null
cat "$T/leaf-pkcs1.key" "$P/root.pem" "$P/int.pem" "$P/leaf.pem" | sed 's/$/\r/' >"$T/messy.pem"
expect_match "fixture: a PKCS#1 key" '^-----BEGIN RSA PRIVATE KEY-----' "$(head -1 "$T/messy.pem")"
A2=$T/agent2
mkdir -p "$A2" && printf '<parameters/>\n' >"$A2/config.xml"
mtk --json mid install --agent "$A2" "$T/messy.pem"
expect_eq "messy bundle: installed, exit 0" "$RC" 0
expect_json "messy bundle: changed" '.changed' true
expect_eq "messy bundle: a warning for each thing fixed" "$(finding_ids)" "chain-order key-not-pkcs8 pem-crlf"
expect_json "messy bundle: all warnings, no error" '[.findings[] | select(.severity != "warning")] | length' 0
run keytool -list -v -storetype JKS -keystore "$A2/security/agent_keystore.jks" -storepass changeit
expect_eq "keytool: the messy bundle became leaf -> intermediate -> root with its key" \
	"$(printf '%s' "$OUT" | kt_summary)" \
	"$(printf 'defaultsecuritykeypairhandle|PrivateKeyEntry|%s,%s,%s,\n' \
		"$(fp256 "$P/leaf.pem")" "$(fp256 "$P/int.pem")" "$(fp256 "$P/root.pem")")"
sum=$(sha256sum <"$KS")
mtk --json mid install --agent "$A" "$T/messy.pem"
expect_json "messy bundle of the installed key and chain: unchanged" '.changed' false
expect_eq "... and the keystore's bytes are untouched" "$(sha256sum <"$KS")" "$sum"
mtk mid install --agent "$A2" "$P/leaf.pem" "$P/leaf.key"
expect_eq "what normalising cannot fix still refuses: exit 1" "$RC" 1
expect_match "... chain-incomplete stays an error" 'error +chain-incomplete' "$ERR"

# A Java TLS client using the keystore: mTLS handshake with openssl s_server.
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$T/srv.ext"
openssl req -newkey rsa:2048 -nodes -keyout "$T/srv.key" -out "$T/srv.csr" -subj "/CN=localhost" >/dev/null 2>&1
openssl x509 -req -in "$T/srv.csr" -CA "$P/int.pem" -CAkey "$P/int.key" -CAcreateserial -days 30 \
	-extfile "$T/srv.ext" -out "$T/srv.pem" >/dev/null 2>&1
mkdir -p "$T/classes"
javac -d "$T/classes" "$MTLSKIT_SRC/tests/interop/java/MtlsClient.java"
expect_eq "javac compiles the client" "$?" 0
PORT=$(free_port)
# stdin held open (s_server stops at its EOF); -naccept 2: wait_port's probe, then the client.
sleep 60 2>/dev/null </dev/null | openssl s_server -accept "127.0.0.1:$PORT" -cert "$T/srv.pem" -key "$T/srv.key" \
	-cert_chain "$P/int.pem" -Verify 1 -CAfile "$P/root.pem" -verify_return_error -naccept 2 \
	>"$T/server.log" 2>&1 &
TAP_PIDS="${TAP_PIDS:-} $!"
wait_port "$PORT"
run java -cp "$T/classes" MtlsClient 127.0.0.1 "$PORT" "$KS" changeit "$P/root.pem"
expect_match "Java client: mTLS handshake completes with our agent keystore" '^HANDSHAKE OK TLSv1\.[23] CN=localhost' "$OUT"
for _ in $(seq 1 50); do grep -q 'hello from java' "$T/server.log" && break; sleep 0.1; done
server=$(cat "$T/server.log")
expect_match "s_server verified the client chain" 'depth=0 .*CN ?= ?mid01\.example\.com' "$server"
expect_match "s_server received the client's data" 'hello from java' "$server"
expect_no_match "s_server saw no verification error" 'verify error' "$server"
done_testing
