#!/usr/bin/env bash
# gateway-tcp.sh - mtlskit-gateway in TCP mode: raw bytes to the backend,
# preceded by a PROXY protocol v2 header that an independent parser (python,
# tests/interop/lib/echo_backend.py) reads: client address, PP2_TYPE_SSL
# with its sub-TLVs, and the custom identity TLVs.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "$0")/lib/gw-fixtures.sh"

gw_pki
gw_backend pp --proxy-v2
gw_conf "$T/tcp.conf" "$BACKEND_PORT" "mode tcp" "idle_timeout 5s"
gw_start tcp "$T/tcp.conf" || { not_ok "gateway starts in tcp mode"; done_testing; }
expect_eq "ready file says tcp mode" "$(jq -r .mode "$T/gw-tcp.ready")" tcp

s_client() { # WHO [extra s_client args]
	local who=$1
	shift
	run bash -c "{ printf 'hello-through-the-tunnel\n'; sleep 1; } | openssl s_client -brief -connect 127.0.0.1:$GW_PORT -CAfile $T/srv/ca.pem -cert $T/$who.pem -key $T/$who.key $* 2>/dev/null"
}
s_client alice -tls1_3
line=$(printf '%s\n' "$OUT" | head -n 1)
OUT=$line
expect_json "PROXY v2: version 2" .version 2
expect_json "PROXY v2: PROXY command" .command 1
expect_json "PROXY v2: TCP over IPv4" .family 17
expect_json "PROXY v2: client address" .src 127.0.0.1
expect_json "PROXY v2: destination port is the gateway's" .dport "$GW_PORT"
expect_json "PP2_TYPE_SSL: client flags SSL|CERT_CONN" '.tlv.ssl_client' 3
expect_json "PP2_TYPE_SSL: verify 0 (certificate verified)" '.tlv.ssl_verify' 0
expect_json "PP2_SUBTYPE_SSL_VERSION" '.tlv.ssl_version' TLSv1.3
expect_json "PP2_SUBTYPE_SSL_CN" '.tlv.ssl_cn' alice.example.com
expect_json "PP2_SUBTYPE_SSL_CIPHER" '.tlv.ssl_cipher' TLS_AES_256_GCM_SHA384
expect_json "PP2_SUBTYPE_SSL_SIG_ALG" '.tlv.ssl_sig_alg' ecdsa-with-SHA256
expect_json "PP2_SUBTYPE_SSL_KEY_ALG" '.tlv.ssl_key_alg' EC256
expect_json "custom TLV 0xE0: SHA-256 of the client certificate" '.tlv.sha256' "$(gw_fphex "$T/alice.pem")"
expect_json "custom TLV 0xE1: user" '.tlv.user' alice
expect_json "custom TLV 0xE2: roles" '.tlv.roles' mid_server,itil
expect_json "custom TLV 0xE3: subject" '.tlv.subject' "O=Example Corp,CN=alice.example.com"
s_client alice -tls1_2
expect_match "raw bytes after the header are relayed both ways" '^hello-through-the-tunnel$' "$OUT"

OUT=$(printf '%s\n' "$OUT" | head -n 1)
expect_json "TLS 1.2 reported in the header" '.tlv.ssl_version' TLSv1.2

# --- half-close: the client ends its sending side (TCP FIN after TLS data,
# as a TLS 1.3 close_notify does); the backend's later answer still arrives
cat >"$T/halfclose.py" <<'PY'
import os, socket, ssl, sys
port, ca, cert, key, ver = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(cert, key)
ctx.maximum_version = ctx.minimum_version = getattr(ssl.TLSVersion, ver)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port)), timeout=10), server_hostname="127.0.0.1")
s.sendall(b"half-closed\n")
socket.socket(fileno=os.dup(s.fileno())).shutdown(socket.SHUT_WR)
data = b""
while True:
    try:
        chunk = s.recv(65536)
    except (ssl.SSLError, OSError) as e:
        print("error:", e)
        break
    if not chunk:
        break
    data += chunk
print(data.decode(errors="replace").split("\n", 1)[1], end="")
PY
halfclose() { # TLSVERSION
	run "$GW_PY" "$T/halfclose.py" "$GW_PORT" "$T/srv/ca.pem" "$T/alice.pem" "$T/alice.key" "$1"
}
for v in TLSv1_3 TLSv1_2; do
	halfclose $v
	expect_match "half-close ($v): the client's bytes reach the backend" '^half-closed$' "$OUT"
	expect_match "half-close ($v): the backend's answer after it reaches the client" '^BYE 12$' "$OUT"
done

s_client carol
expect_eq "unmapped certificate in tcp mode: nothing reaches the backend" "$OUT" ""
expect_match "log: unmapped" '"reason":"unmapped"' "$(cat "$GW_LOG")"
s_client mallory
expect_eq "untrusted certificate in tcp mode: refused" "$OUT" ""
expect_match "log: unknown-ca" '"reason":"unknown-ca"' "$(cat "$GW_LOG")"
gw_finish
done_testing
