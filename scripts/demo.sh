#!/usr/bin/env bash
# demo.sh - THE demo command: installs what is missing, builds, and runs the
# whole life of an mTLS client certificate end to end, on loopback:
#   lab CA -> client key + CSR -> signed certificate -> checked MID bundle ->
#   MID Server keystore (JKS) + outbound JKS -> gateway in front of a backend,
#   checking the lab CA's CRLs -> authenticated mTLS requests (curl, mtlskit
#   probe, a Java client using the JKS mtlskit wrote) -> the certificate
#   renewed by `mtlskit track run` once the gateway accepts it -> revoked, the CRL republished and reloaded: refused -> expiry report.
# Everything happens in a fresh directory (kept, its path printed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
if [ -n "${MTLSKIT:-}" ] && [ -n "${MTLSKIT_GATEWAY:-}" ]; then
	# Run by the test suite: use the binaries under test as they are.
	export PATH="$(dirname "$MTLSKIT"):$(dirname "$MTLSKIT_GATEWAY"):$PATH"
else
	scripts/deps.sh demo
	if [ ! -d build ]; then meson setup build >/dev/null; fi
	ninja -C build >/dev/null
	export PATH="$SRC/build/cli:$SRC/build/gateway:$PATH"
fi
PY=$(command -v /usr/bin/python3 || command -v python3)

D=${MTLSKIT_DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/mtlskit-demo.XXXXXX")}
mkdir -p "$D"
cd "$D"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

bold=$(tput bold 2>/dev/null || true)
norm=$(tput sgr0 2>/dev/null || true)
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$norm"; }
show() { printf '$ %s\n' "$*"; "$@"; }
# SIGHUP to the gateway, then wait (10 s at most) for its next successful
# reload in the log.
reload_gateway() {
	local before
	before=$(grep -c '"event":"reload".*"result":"ok"' gateway.log || true)
	show kill -HUP "$GW_PID"
	for _ in $(seq 1 100); do
		[ "$(grep -c '"event":"reload".*"result":"ok"' gateway.log || true)" -gt "$before" ] && break
		sleep 0.1
	done
}
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_file() { for _ in $(seq 1 100); do [ -s "$1" ] && return 0; sleep 0.1; done; return 1; }

# Passwords never go on the command line: they come from the environment.
export OUTBOUND_PASS='demo-outbound-pass'

step "1. A lab CA: root + issuing intermediate (self-signed client certificates are not accepted for MID mTLS)"
show mtlskit ca init lab-ca --name "mtlskit Lab Root CA" --intermediate "mtlskit Lab Issuing CA"

step "2. The client key and CSR: subject validated, keyUsage + clientAuth EKU"
show mtlskit csr create --cn mid01.example.com --org "Example Corp" --locality "San Diego" \
	--state California --country US --usage client --new-key rsa:2048 --key-out client.key -o client.csr

step "3. The CA signs it"
show mtlskit ca sign lab-ca client.csr --profile client --days 365 -o client.crt --chain-out chain.pem
show openssl verify -CAfile lab-ca/root.crt -untrusted chain.pem client.crt

step "4. The MID Server bundle (leaf -> intermediate -> root -> PKCS#8 key), checked"
show mtlskit bundle client.crt chain.pem client.key -o bundle.pem
show mtlskit check --profile mid bundle.pem
show mtlskit check --profile upload-user client.crt

step "5. Keystores: the MID Server agent keystore, and a JKS for an outbound mTLS record"
mkdir -p agent && echo "<parameters/>" >agent/config.xml # stands in for a MID Server's agent directory
show mtlskit mid install --agent agent bundle.pem
show mtlskit mid show --agent agent
show mtlskit convert bundle.pem --to jks --alias outbound -o outbound.jks --out-pass env:OUTBOUND_PASS
show keytool -list -keystore agent/security/agent_keystore.jks -storepass changeit 2>/dev/null

step "6. A server certificate for the gateway (serverAuth, SANs for loopback)"
show mtlskit csr create --cn gateway.example.com --org "Example Corp" --locality "San Diego" --state California \
	--country US --usage server --san DNS:gateway.example.com,IP:127.0.0.1 --new-key ec:P-256 \
	--key-out server.key -o server.csr
show mtlskit ca sign lab-ca server.csr --profile server --days 90 -o server.crt --chain-out server-chain.pem
cat server.crt server-chain.pem >server-fullchain.pem

step "7. mtlskit-gateway in front of a small backend: trusts the lab CA, checks its CRLs, maps the client certificate to a user"
echo "The gateway checks revocation for every certificate of the chain, so it needs a CRL"
echo "from each CA: ca crl writes the issuing CA's and the root's into one file."
show mtlskit ca crl lab-ca -o lab-ca.crl --days 30
fp=$(openssl x509 -in client.crt -noout -fingerprint -sha256 | sed 's/^.*=/sha256:/')
printf '# user      roles        certificate\nmid.server  mid_server   %s\n' "$fp" >users.map
cat users.map
BACKEND_PORT=$(free_port)
"$PY" "$SRC/tests/interop/lib/echo_backend.py" --port "$BACKEND_PORT" --name demo-backend 2>backend.log &
pids+=($!)
cat chain.pem >client-ca.pem
cat >gateway.conf <<CONF
listen 127.0.0.1:0
admin_listen 127.0.0.1:0
cert $D/server-fullchain.pem
key $D/server.key
ca $D/client-ca.pem
crl $D/lab-ca.crl
usermap $D/users.map
backend 127.0.0.1:$BACKEND_PORT
CONF
cat gateway.conf
mtlskit-gateway --config gateway.conf --ready-file gateway.ready --access-log gateway.log 2>gateway.err &
GW_PID=$!
pids+=($GW_PID)
wait_file gateway.ready || { cat gateway.err; exit 1; }
GW_PORT=$("$PY" -c 'import json,sys; print(json.load(open("gateway.ready"))["port"])')
echo "gateway listening on 127.0.0.1:$GW_PORT"

step "8. Authenticated mTLS requests (CRL checking on)"
show curl -sS --cacert lab-ca/root.crt --cert client.crt --key client.key "https://127.0.0.1:$GW_PORT/hello"
echo
show mtlskit probe "127.0.0.1:$GW_PORT" --ca lab-ca/root.crt --cert bundle.pem --http /probe
echo "A Java TLS client using the agent keystore mtlskit wrote (as the MID Server would),"
echo "trusting the gateway through a JKS truststore mtlskit also wrote:"
export GW_KS_PASS=changeit GW_TS_PASS=demo-trust-pass
show mtlskit keystore add-trusted truststore.jks --type jks --pass env:GW_TS_PASS --alias lab-root lab-ca/root.crt
mkdir -p java
javac -d java "$SRC/tests/interop/java/GatewayClient.java"
show java -cp java GatewayClient "https://127.0.0.1:$GW_PORT/java" agent/security/agent_keystore.jks truststore.jks
echo "Without a client certificate the handshake is refused:"
if curl -sS --cacert lab-ca/root.crt "https://127.0.0.1:$GW_PORT/" 2>&1; then exit 1; fi
echo

step "9. Renewal under management: the new certificate waits until the gateway accepts it"
mkdir -p track.d
export MTLSKIT_TRACK_DIR=$D/track.d
echo "The hook rebuilds the MID bundle and installs it in the agent keystore."
show mtlskit track add client --target pem --cert "$D/client.crt" --key "$D/client.key" \
	--issuer ca-dir --ca-dir "$D/lab-ca" \
	--verify "127.0.0.1:$GW_PORT" --verify-ca "$D/lab-ca/root.crt" --verify-path /renewal-check \
	--hook-shell yes \
	--hook "mtlskit bundle $D/client.crt $D/client.key -o $D/bundle.pem --force && mtlskit mid install --agent $D/agent $D/bundle.pem"
show mtlskit track run
echo "At two thirds of its lifetime it is due (--now for a dry run):"
show mtlskit track run --now "$(date -u -d '+250 days' +%Y-%m-%d)" --dry-run
echo "Renewed now (--force-renew), the gateway does not map the new certificate yet (403):"
cp client.crt before-renewal.crt
show mtlskit track run --force-renew
show cmp before-renewal.crt client.crt && echo "client.crt unchanged; the new one is staged in track.d (0600)"
fp2=$(openssl x509 -in track.d/client.staged-cert.pem -noout -fingerprint -sha256 | sed 's/^.*=/sha256:/')
printf 'mid.server  mid_server   %s\n' "$fp2" >>users.map
reload_gateway
echo "Its fingerprint mapped and the gateway reloaded, the next run installs it:"
show mtlskit track run
show mtlskit track status
echo "The same requests with the renewed certificate:"
show curl -sS --cacert lab-ca/root.crt --cert client.crt --key client.key "https://127.0.0.1:$GW_PORT/hello"
echo
show java -cp java GatewayClient "https://127.0.0.1:$GW_PORT/java" agent/security/agent_keystore.jks truststore.jks

step "10. Revocation: the client certificate is revoked, the CRL republished and reloaded (SIGHUP)"
show mtlskit ca revoke lab-ca client.crt --reason keyCompromise
show mtlskit ca crl lab-ca -o lab-ca.crl --days 30 --force
reload_gateway
echo "The same curl and Java requests are now refused during the handshake:"
if show curl -sS --cacert lab-ca/root.crt --cert client.crt --key client.key "https://127.0.0.1:$GW_PORT/hello" 2>&1; then
	exit 1
fi
if show java -cp java GatewayClient "https://127.0.0.1:$GW_PORT/java" agent/security/agent_keystore.jks truststore.jks; then
	exit 1
fi
echo
echo "Gateway access log:"
cat gateway.log

step "11. Expiry: the CA and the MID keystore (default password tried by name), soonest first"
show mtlskit expiry --within 30d lab-ca agent

printf '\n%sDemo complete.%s Files are in %s\n' "$bold" "$norm" "$D"
