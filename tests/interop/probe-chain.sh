#!/usr/bin/env bash
# probe-chain.sh - the server chain as sent: verification (system store vs
# --ca), host name, order problems, --save-chain compared with
# `openssl s_client -showcerts`, --save-dir, OCSP stapling, ALPN.
source "$MTLSKIT_TESTLIB"
source "$MTLSKIT_SRC/tests/interop/lib/probe-fixtures.sh"

mkca root "/CN=Chain Root CA/O=Example Corp"
mkint issuing "/CN=Chain Issuing CA/O=Example Corp" root
mkleaf srv "/CN=localhost" issuing server
mkca other "/CN=Other Root"
cat "$T/issuing.crt" "$T/root.crt" >"$T/chain-good.pem"
cat "$T/root.crt" "$T/issuing.crt" >"$T/chain-reversed.pem"

# OCSP response for the leaf, stapled by s_server -status_file.
serial=$(openssl x509 -in "$T/srv.crt" -noout -serial | cut -d= -f2)
end=$(date -u -d "$(openssl x509 -in "$T/srv.crt" -noout -enddate | cut -d= -f2)" +%y%m%d%H%M%SZ)
printf 'V\t%s\t\t%s\tunknown\t/CN=localhost\n' "$end" "$serial" >"$T/index.txt"
openssl ocsp -issuer "$T/issuing.crt" -cert "$T/srv.crt" -no_nonce -reqout "$T/ocsp-req.der" 2>/dev/null
openssl ocsp -index "$T/index.txt" -rsigner "$T/issuing.crt" -rkey "$T/issuing.key" \
	-CA "$T/issuing.crt" -reqin "$T/ocsp-req.der" -respout "$T/ocsp-resp.der" -ndays 1 >/dev/null 2>&1

GOOD=$(free_port)
s_server "$GOOD" -cert "$T/srv.crt" -key "$T/srv.key" -cert_chain "$T/chain-good.pem" \
	-status_file "$T/ocsp-resp.der" -alpn h2,http/1.1
REV=$(free_port)
s_server "$REV" -cert "$T/srv.crt" -key "$T/srv.key" -cert_chain "$T/chain-reversed.pem"
NOINT=$(free_port)
s_server "$NOINT" -cert "$T/srv.crt" -key "$T/srv.key"

# The leaf was signed for 200 days moments ago: one second later it has
# 199 whole days left, whatever second the probe lands in.
sleep 1
mtk --json probe "localhost:$GOOD" --ca "$T/root.crt"
expect_eq "good chain: exit 0" "$RC" 0
expect_json "three certificates sent" '.chain | length' 3
expect_json "sent in order" '.chain_order_ok' true
expect_json "verified against --ca" '.verification.verified' true
expect_json "host name localhost matches" '.hostname.match' true
expect_json "ALPN h2 chosen from our offer" '.tls.alpn' h2
expect_json "OCSP response stapled" '.ocsp.stapled' true
expect_json "OCSP response status" '.ocsp.response_status' successful
expect_json "OCSP says the leaf is good" '.ocsp.cert_status' good
expect_json "days left reported per certificate" '.chain[0].days_left' 199
expect_json "leaf subject" '.chain[0].subject' CN=localhost
expect_json "no findings" '.findings | length' 0

mtk --json probe "localhost:$GOOD"
expect_json "a private CA does not verify against the system store" '.verification.verified' false
expect_json "system store named as the trust" '.verification.trust' system
mtk --json probe "localhost:$GOOD" --ca "$T/other.crt"
expect_eq "chain not leading to --ca: exit 1" "$RC" 1
expect_eq "chain-untrusted finding" "$(finding_ids)" chain-untrusted
mtk --json probe "127.0.0.1:$GOOD" --sni wrong.example.net --ca "$T/root.crt"
expect_json "host name mismatch when the name is not in the certificate" '.hostname.match' false
expect_json "the name checked is the SNI name" '.hostname.name' wrong.example.net
mtk --json probe "localhost:$GOOD" --http / --method GET --ca "$T/root.crt"
expect_json "with --http only http/1.1 is offered" '.tls.alpn' http/1.1
expect_json "HTTP status from s_server -www" '.http.status' 200
expect_json "status line" '.http.status_line' "HTTP/1.0 200 ok"
expect_json "Content-Type header" '.http.headers["Content-Type"]' text/html

# --save-chain is what openssl s_client -showcerts shows, leaf first.
openssl s_client -connect "127.0.0.1:$GOOD" -showcerts </dev/null 2>/dev/null |
	sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' >"$T/showcerts.pem"
mtk probe "localhost:$GOOD" --save-chain "$T/saved.pem"
expect_eq "save-chain: exit 0" "$RC" 0
if cmp -s "$T/saved.pem" "$T/showcerts.pem"; then ok "--save-chain equals s_client -showcerts"; else not_ok "--save-chain equals s_client -showcerts"; diff "$T/saved.pem" "$T/showcerts.pem" | head | while read -r l; do diag "$l"; done; fi
expect_eq "openssl verifies the saved chain's leaf" \
	"$(openssl verify -CAfile "$T/root.crt" -untrusted "$T/saved.pem" "$T/srv.crt" 2>&1)" "$T/srv.crt: OK"
mtk probe "localhost:$GOOD" --save-chain "$T/saved.pem"
expect_eq "an existing file is not replaced without --force" "$RC" 2
mtk probe "localhost:$GOOD" --save-chain "$T/saved.pem" --force
expect_eq "--force replaces it" "$RC" 0
mtk probe "localhost:$GOOD" --save-dir "$T/trust"
expect_eq "save-dir: exit 0" "$RC" 0
expect_eq "leaf.pem is the leaf" "$(openssl x509 -in "$T/trust/leaf.pem" -noout -subject -nameopt RFC2253)" "subject=CN=localhost"
expect_eq "intermediate-1.pem is the issuing CA" \
	"$(openssl x509 -in "$T/trust/intermediate-1.pem" -noout -fingerprint)" \
	"$(openssl x509 -in "$T/issuing.crt" -noout -fingerprint)"
expect_eq "root.pem is the root" \
	"$(openssl x509 -in "$T/trust/root.pem" -noout -fingerprint)" \
	"$(openssl x509 -in "$T/root.crt" -noout -fingerprint)"

# Out of order: root before the issuing CA.
mtk --json probe "localhost:$REV" --ca "$T/root.crt"
expect_json "reversed chain flagged" '.chain_order_ok' false
expect_eq "chain-order finding" "$(finding_ids)" chain-order
mtk probe "localhost:$REV" --save-chain "$T/fixed.pem"
expect_eq "the saved chain is put in order: issuer of the leaf second" \
	"$(openssl storeutl -noout -text -certs "$T/fixed.pem" 2>/dev/null | grep -c 'Subject:')" 3
expect_match "2nd certificate of the saved chain is the issuing CA" 'Chain Issuing CA' \
	"$(openssl crl2pkcs7 -nocrl -certfile "$T/fixed.pem" | openssl pkcs7 -print_certs -noout | sed -n 4p)"
expect_no_file "no root.pem without --save-dir" "$T/root.pem"

# Missing intermediate: the server sends only its leaf.
mtk --json probe "localhost:$NOINT" --ca "$T/root.crt"
expect_json "leaf alone does not verify" '.verification.verified' false
expect_eq "missing intermediate: chain-incomplete" "$(finding_ids)" "chain-incomplete chain-untrusted"
expect_json "OCSP not stapled" '.ocsp.stapled' false
mtk --json probe "localhost:$NOINT" --save-dir "$T/leafonly"
expect_file "leaf.pem written" "$T/leafonly/leaf.pem"
expect_no_file "no root.pem when the server did not send one" "$T/leafonly/root.pem"
done_testing
