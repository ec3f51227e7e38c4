#!/usr/bin/env bash
# probe-intercept.sh - a chain minted by a TLS-inspection CA ("Zscaler Root
# CA") is flagged tls-intercepted; --expect-issuer catches any other
# substitute; a normal chain is not flagged.
source "$MTLSKIT_TESTLIB"
source "$MTLSKIT_SRC/tests/interop/lib/probe-fixtures.sh"

mkca zroot "/C=US/ST=California/O=Zscaler Inc./OU=Zscaler Inc./CN=Zscaler Root CA"
mkint zint "/C=US/O=Zscaler Inc./CN=Zscaler Intermediate Root CA (zscaler.net)" zroot
mkleaf zleaf "/CN=localhost" zint server
mkca real "/CN=DigiCert Global Root G2 (test copy)/O=DigiCert Inc"
mkleaf rleaf "/CN=localhost" real server
mkca pan "/CN=Corp-Forward-Trust/O=Palo Alto Networks/OU=PAN-OS"
mkleaf pleaf "/CN=localhost" pan server

Z=$(free_port)
s_server "$Z" -cert "$T/zleaf.crt" -key "$T/zleaf.key" -cert_chain "$T/zint.crt"
R=$(free_port)
s_server "$R" -cert "$T/rleaf.crt" -key "$T/rleaf.key"
P=$(free_port)
s_server "$P" -cert "$T/pleaf.crt" -key "$T/pleaf.key"

mtk --json probe "localhost:$Z"
expect_eq "intercepted chain: exit 1 (error finding)" "$RC" 1
expect_eq "tls-intercepted finding" "$(finding_ids)" tls-intercepted
expect_json "product named" '.interception.product' Zscaler
expect_json "the leaf is marked as minted by the inspection CA" '.chain[0].interception_product' Zscaler
expect_match "the message says the client certificate is stripped" 'strips the client certificate' \
	"$(printf '%s' "$OUT" | jq -r '.findings[0].message')"
expect_match "the advice asks for a bypass (no command: the proxy is not ours)" 'exempt .* from TLS inspection' \
	"$(printf '%s' "$OUT" | jq -r '.findings[0].advice')"
mtk probe "localhost:$Z"
expect_match "text marks the inspection CA" 'TLS inspection CA' "$OUT"
expect_match "text shows the finding" 'error   tls-intercepted' "$OUT"

mtk --json probe "localhost:$P"
expect_json "Palo Alto forward-trust CA recognised" '.interception.product' "Palo Alto Networks"

mtk --json probe "localhost:$R"
expect_eq "ordinary chain: exit 0" "$RC" 0
expect_json "not intercepted" '.interception.detected' false
mtk --json probe "localhost:$R" --expect-issuer DigiCert
expect_json "expected issuer present: not intercepted" '.interception.detected' false
mtk --json probe "localhost:$R" --expect-issuer "GlobalSign"
expect_eq "expected issuer absent: exit 1" "$RC" 1
expect_match "expected issuer absent: tls-intercepted" "tls-intercepted" "$(finding_ids)"
expect_json "the missing pattern is reported" '.interception.expected_issuer_missing' GlobalSign
done_testing
