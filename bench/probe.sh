#!/usr/bin/env bash
# probe.sh - `mtlskit probe` against `openssl s_client -connect ... </dev/null`
# for one full handshake to a local `openssl s_server`, with and without a
# required client certificate.  Prints mtlskit time / openssl time.
#
#   bench/probe.sh [path/to/mtlskit]     (default: build/cli/mtlskit)
set -euo pipefail
cd "$(dirname "$0")/.."
MTLSKIT=${1:-build/cli/mtlskit}
[ -x "$MTLSKIT" ] || { echo "build first: meson setup build && ninja -C build" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine is needed" >&2; exit 2; }
W=$(mktemp -d)
PIDS=""
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; rm -rf "$W"' EXIT
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
waitp() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/ca.key" -out "$W/ca.crt" -subj "/CN=Bench CA" -days 30 2>/dev/null
for n in srv cli; do
	openssl req -newkey rsa:2048 -nodes -keyout "$W/$n.key" -out "$W/$n.csr" -subj "/CN=localhost" 2>/dev/null
	openssl x509 -req -in "$W/$n.csr" -CA "$W/ca.crt" -CAkey "$W/ca.key" -CAcreateserial -out "$W/$n.crt" -days 30 2>/dev/null
done
P1=$(port)
openssl s_server -accept "127.0.0.1:$P1" -cert "$W/srv.crt" -key "$W/srv.key" -cert_chain "$W/ca.crt" -quiet >/dev/null 2>&1 </dev/null &
PIDS="$PIDS $!"
P2=$(port)
openssl s_server -accept "127.0.0.1:$P2" -cert "$W/srv.crt" -key "$W/srv.key" -cert_chain "$W/ca.crt" \
	-Verify 1 -verify_return_error -CAfile "$W/ca.crt" -quiet >/dev/null 2>&1 </dev/null &
PIDS="$PIDS $!"
waitp "$P1"; waitp "$P2"

bench() { # name, mtlskit command, openssl command
	hyperfine -N --warmup 3 --min-runs 30 --export-json "$W/$1.json" -n mtlskit "$2" -n openssl "$3" >/dev/null
	jq -r --arg n "$1" '.results as $r | ($r[0].mean / $r[1].mean) as $ratio |
		"\($n)\t\($r[0].mean*1000|.*100|round/100) ms\t\($r[1].mean*1000|.*100|round/100) ms\t\($ratio*100|round/100)"' "$W/$1.json"
}
printf 'case\tmtlskit\topenssl\tratio\n'
bench "handshake" "$MTLSKIT probe 127.0.0.1:$P1 --ca $W/ca.crt" \
	"openssl s_client -connect 127.0.0.1:$P1 -CAfile $W/ca.crt"
bench "handshake-json" "$MTLSKIT --json probe 127.0.0.1:$P1 --ca $W/ca.crt" \
	"openssl s_client -connect 127.0.0.1:$P1 -CAfile $W/ca.crt"
bench "mtls" "$MTLSKIT probe 127.0.0.1:$P2 --ca $W/ca.crt --cert $W/cli.crt --key $W/cli.key" \
	"openssl s_client -connect 127.0.0.1:$P2 -CAfile $W/ca.crt -cert $W/cli.crt -key $W/cli.key"
