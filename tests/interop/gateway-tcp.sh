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

s_client carol
expect_eq "unmapped certificate in tcp mode: nothing reaches the backend" "$OUT" ""
expect_match "log: unmapped" '"reason":"unmapped"' "$(cat "$GW_LOG")"
s_client mallory
expect_eq "untrusted certificate in tcp mode: refused" "$OUT" ""
expect_match "log: unknown-ca" '"reason":"unknown-ca"' "$(cat "$GW_LOG")"
gw_finish
done_testing
