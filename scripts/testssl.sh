#!/usr/bin/env bash
# testssl.sh - runs Debian's testssl.sh (the `testssl` command) against
# mtlskit-gateway with the test PKI on a loopback port, and prints the
# verdict: the offered protocols and ciphers, and every finding above LOW.
# Not part of the test command (it takes a few minutes and judges TLS
# configuration, not behaviour).  Exit status 0 when no finding is MEDIUM,
# HIGH or CRITICAL and no CBC or non-forward-secret cipher is offered.
#
#   bash scripts/testssl.sh [BUILD_DIR]      (default: ./build)
#   TESTSSL_OUT=DIR keeps the JSON and log there (default: a temporary dir)
#
# testssl 3.0 cannot present a client certificate; the gateway asks for one
# after its ServerHello, so protocol, cipher and vulnerability checks see
# the whole server side; testssl notes "client authentication required"
# and skips the HTTP checks.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/deps.sh build testssl || exit 1
BUILD=${1:-build}
[ -d "$BUILD" ] || meson setup "$BUILD" >/dev/null || exit 1
ninja -C "$BUILD" gateway/mtlskit-gateway >/dev/null || exit 1
export MTLSKIT_GATEWAY=$(cd "$BUILD" && pwd)/gateway/mtlskit-gateway
T=$(mktemp -d "${TMPDIR:-/tmp}/mtk-testssl.XXXXXX")
OUTDIR=${TESTSSL_OUT:-$T}
mkdir -p "$OUTDIR"
TAP_PIDS=""
cleanup() { for p in $TAP_PIDS; do kill "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
diag() { printf '# %s\n' "$@" >&2; }
source tests/interop/lib/gw-fixtures.sh
gw_pki >/dev/null 2>&1
gw_backend b1
# Server certificates as a production one would be: with a CRL distribution
# point (testssl rates a certificate without CRL/OCSP URI as HIGH); the
# chain is trusted with --add-ca (the test CA is not in the system store).
printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\ncrlDistributionPoints=URI:http://127.0.0.1/srv.crl\n' >"$T/srv.ext"
for kt in ec rsa; do
	openssl req -new -key "$T/srv-$kt.key" -subj "/CN=srv-$kt.example.com/O=Example Corp" 2>/dev/null |
		openssl x509 -req -CA "$T/srv/ca.pem" -CAkey "$T/srv/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
			-days 90 -sha256 -extfile "$T/srv.ext" -out "$T/srv-$kt.pem" 2>/dev/null
	cat "$T/srv-$kt.pem" "$T/srv/ca.pem" >"$T/srv-$kt-chain.pem"
done
gw_conf "$T/gw.conf" "$BACKEND_PORT"
gw_start testssl "$T/gw.conf" || exit 1
echo "gateway: $("$MTLSKIT_GATEWAY" --version), default TLS policy, ECDSA P-256 and RSA 2048 certificates, port $GW_PORT"
echo "testssl: $(testssl --version 2>/dev/null | grep -m1 -o 'testssl.sh *[0-9][^ ]*' || echo testssl)"
rm -f "$OUTDIR/testssl.json"
# -p protocols, -s cipher categories, -f forward secrecy, -E ciphers per
# protocol, -S server defaults, -U vulnerabilities.
testssl --quiet --color 0 --warnings off --openssl-timeout 10 --ip 127.0.0.1 --add-ca "$T/srv/ca.pem" \
	--jsonfile "$OUTDIR/testssl.json" -p -s -f -E -S -U "127.0.0.1:$GW_PORT" >"$OUTDIR/testssl.log" 2>&1
echo "full report: $OUTDIR/testssl.log (kept only with TESTSSL_OUT)"
echo
echo "== protocols and ciphers offered"
grep -E '^ (SSLv2|SSLv3|TLS 1(\.[0-3])?) +' "$OUTDIR/testssl.log" | sed -n '1,6p'
jq -r '.[] | select(.id | startswith("cipher-tls1")) | .finding' "$OUTDIR/testssl.json" | sed 's/^/  /'
echo
echo "== findings above LOW (severity: id: finding)"
above=$(jq -r '.[] | select(.severity == "MEDIUM" or .severity == "HIGH" or .severity == "CRITICAL") | "\(.severity): \(.id): \(.finding)"' "$OUTDIR/testssl.json")
echo "${above:-  none}"
echo
status=0
offered=$(jq -r '.[] | select(.id | startswith("cipher-tls1")) | .finding' "$OUTDIR/testssl.json")
# columns: TLS 1.2  HEXCODE  NAME  KX [BITS]  ENCRYPTION  BITS  RFC-NAME
cbc=$(grep -v -E ' (AESGCM|ChaCha20|AESCCM) ' <<<"$offered" || true)
nofs=$(awk '$5 !~ /^(ECDH|DH)$/' <<<"$offered")
[ -n "$above" ] && status=1
[ -n "$cbc" ] && { echo "CBC ciphers offered:"; echo "$cbc"; status=1; }
[ -n "$nofs" ] && { echo "ciphers without forward secrecy offered:"; echo "$nofs"; status=1; }
if [ $status = 0 ]; then
	echo "verdict: no finding above LOW, no CBC, forward secrecy only"
else
	echo "verdict: see above"
fi
exit $status
