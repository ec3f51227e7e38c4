#!/usr/bin/env bash
# probe-clientauth.sh - the client-certificate view against openssl s_server:
# required (-Verify), optional (-verify), none; the acceptable CA list as
# the server's -CAfile holds it; accepted and rejected identities in PEM,
# PFX; TLS 1.3 and TLS 1.2.
source "$MTLSKIT_TESTLIB"
source "$MTLSKIT_SRC/tests/interop/lib/probe-fixtures.sh"

mkca root "/CN=Probe Root CA/O=Example Corp"
mkca other "/CN=Unrelated CA/O=Elsewhere"
mkint issuing "/CN=Probe Issuing CA/O=Example Corp" root
mkleaf srv "/CN=localhost" root server
mkleaf mid "/CN=mid01.example.com/O=Example Corp" issuing client
mkleaf stranger "/CN=stranger.example.org" other client
cat "$T/mid.crt" "$T/issuing.crt" "$T/root.crt" "$T/mid.key" >"$T/mid-bundle.pem"
cat "$T/stranger.crt" "$T/stranger.key" >"$T/stranger-bundle.pem"
openssl pkcs12 -export -in "$T/mid.crt" -inkey "$T/mid.key" -certfile "$T/issuing.crt" \
	-out "$T/mid.pfx" -passout pass:secret123 2>/dev/null
# The server trusts the root and lists both CAs of the client chain.
cat "$T/root.crt" "$T/issuing.crt" >"$T/client-cas.pem"

REQ=$(free_port)
s_server "$REQ" -cert "$T/srv.crt" -key "$T/srv.key" -Verify 2 -verify_return_error \
	-CAfile "$T/client-cas.pem"
OPT=$(free_port)
s_server "$OPT" -cert "$T/srv.crt" -key "$T/srv.key" -verify 2 -CAfile "$T/client-cas.pem"
NONE=$(free_port)
s_server "$NONE" -cert "$T/srv.crt" -key "$T/srv.key"
REQ12=$(free_port)
s_server "$REQ12" -tls1_2 -cert "$T/srv.crt" -key "$T/srv.key" -Verify 2 -verify_return_error \
	-CAfile "$T/client-cas.pem"

# --- no certificate given ---
mtk --json probe "127.0.0.1:$REQ" --ca "$T/root.crt"
expect_eq "required server, no --cert: exit 0 (an answer, not a failure)" "$RC" 0
expect_json "client certificate requested" '.client_auth.requested' true
expect_json "TLS 1.3 refusal without a certificate reads as required" '.client_auth.status' required
expect_json "the alert is certificate_required" '.client_auth.alert.name' "certificate required"
expect_json "TLS 1.3 was negotiated" '.tls.protocol' TLSv1.3
# The acceptable-CA list is the server's -CAfile, as openssl prints its subjects.
want=$(for f in root issuing; do openssl x509 -in "$T/$f.crt" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'; done)
got=$(printf '%s' "$OUT" | jq -r '.client_auth.acceptable_cas[].name')
expect_eq "acceptable CA names equal the -CAfile subjects (openssl x509 -subject)" "$got" "$want"
expect_json "the server chain verifies against --ca" '.verification.verified' true
expect_json "host name 127.0.0.1 matches the IP SAN" '.hostname.match' true

mtk --json probe "127.0.0.1:$REQ12" --ca "$T/root.crt"
expect_eq "TLS 1.2 required server, no --cert: exit 0" "$RC" 0
expect_json "TLS 1.2 refusal during the handshake reads as required" '.client_auth.status' required
expect_json "TLS 1.2 server still showed its chain" '.chain[0].subject' CN=localhost

mtk --json probe "127.0.0.1:$OPT"
expect_json "optional client auth (-verify) reads as requested" '.client_auth.status' requested
expect_json "no alert from an optional server" '.client_auth.alert' null
mtk --json probe "127.0.0.1:$NONE"
expect_json "no client auth: not requested" '.client_auth.status' none
expect_json "no client auth: empty CA list" '.client_auth.acceptable_cas | length' 0
mtk probe "127.0.0.1:$REQ" --ca "$T/root.crt"
expect_match "text names the requirement" 'Client certificate: REQUIRED' "$OUT"
expect_match "text lists the acceptable CA" 'CN=Probe Issuing CA,O=Example Corp|O=Example Corp,CN=Probe Issuing CA' "$OUT"

# --- an accepted identity ---
mtk --json probe "127.0.0.1:$REQ" --ca "$T/root.crt" --cert "$T/mid-bundle.pem"
expect_eq "accepted identity: exit 0" "$RC" 0
expect_json "bundle identity accepted" '.client_auth.status' accepted
expect_json "identity subject reported" '.client_auth.identity.subject' "O=Example Corp,CN=mid01.example.com"
expect_json "the leaf's issuer is marked in the CA list" \
	'[.client_auth.acceptable_cas[] | select(.matches=="issuer") | .name] | length' 1
mtk --json probe "127.0.0.1:$REQ12" --ca "$T/root.crt" --cert "$T/mid.crt" --key "$T/mid.key" \
	--http / --method GET
expect_json "TLS 1.2: separate cert and key accepted" '.client_auth.status' accepted
expect_json "TLS 1.2: HTTP answered after the mTLS handshake" '.http.status' 200
mtk --json probe "127.0.0.1:$REQ" --pfx "$T/mid.pfx"
expect_eq "PFX without its password cannot load (exit 4)" "$RC" 4
run env PFXPASS=secret123 "$MTLSKIT" --json probe "127.0.0.1:$REQ" --pfx "$T/mid.pfx" --pass env:PFXPASS
expect_json "PFX identity accepted" '.client_auth.status' accepted
openssl pkcs12 -export -in "$T/mid.crt" -inkey "$T/mid.key" -certfile "$T/issuing.crt" \
	-name mid-entry -out "$T/ks.p12" -passout pass:changeit 2>/dev/null
run env KSPASS=changeit "$MTLSKIT" --json probe "127.0.0.1:$REQ" --keystore "$T/ks.p12" --alias mid-entry --pass env:KSPASS
expect_json "PKCS12 keystore entry by alias accepted" '.client_auth.status' accepted
run env KSPASS=changeit "$MTLSKIT" --json probe "127.0.0.1:$REQ" --keystore "$T/ks.p12" --alias nope --pass env:KSPASS
expect_eq "unknown alias: exit 3" "$RC" 3
expect_match "the alias is named" "no entry with alias 'nope'" "$(printf '%s' "$OUT" | jq -r .error.detail)"
mtk probe "127.0.0.1:$REQ" --cert "$T/mid-bundle.pem"
expect_match "text says accepted" 'sent and ACCEPTED' "$OUT"

# --- a rejected identity (issuer unknown to the server) ---
mtk --json probe "127.0.0.1:$REQ" --ca "$T/root.crt" --cert "$T/stranger-bundle.pem"
expect_eq "rejected identity: exit 5" "$RC" 5
expect_json "rejected status" '.client_auth.status' rejected
expect_json "the alert s_server sent" '.client_auth.alert.name' "unknown CA"
expect_match "the explanation names the trust list" 'does not trust the CA' \
	"$(printf '%s' "$OUT" | jq -r '.client_auth.alert.explanation')"
expect_json "the CA list has no match for this identity" \
	'[.client_auth.acceptable_cas[] | select(.matches != null)] | length' 0
expect_match "note: Java clients would send nothing" 'Java clients' \
	"$(printf '%s' "$OUT" | jq -r '.client_auth.note')"
expect_json "error names the handshake stage" '.error.detail | startswith("TLS handshake:")' true
mtk probe "127.0.0.1:$REQ12" --cert "$T/stranger-bundle.pem"
expect_eq "TLS 1.2 rejected identity: exit 5" "$RC" 5
expect_match "one-line reason on stderr" 'rejected the client certificate .alert .unknown CA' "$ERR"
# What the server logged agrees: it refused the certificate.
expect_match "s_server saw the unknown issuer" 'unable to get local issuer|unknown ca|certificate verify failed' \
	"$(cat "$T/s_server.$REQ12.log")"

# --- identity errors ---
mtk probe "127.0.0.1:$REQ" --cert "$T/mid.crt"
expect_eq "certificate without key: exit 3" "$RC" 3
mtk probe "127.0.0.1:$REQ" --cert "$T/mid.crt" --key "$T/stranger.key"
expect_eq "key of another certificate: exit 1 (key mismatch)" "$RC" 1
mtk probe "127.0.0.1:$REQ" --cert "$T/missing.pem"
expect_eq "missing identity file: exit 3" "$RC" 3
done_testing
