#!/usr/bin/env bash
# bench/gateway-instr.sh - instructions mtlskit-gateway binaries execute per
# full mTLS handshake (TLS 1.3, ECDSA P-256, one GET each), counted by
# callgrind, so small changes show on a loaded machine and on VMs without
# hardware counters.  verify_cache on (the same client again: cache hits)
# and off; several binaries (a build before and after a change) are run
# interleaved, BENCH_REPEAT rounds.
#
#   bench/gateway-instr.sh [GATEWAY...]   (default: BUILD_DIR's, ./build)
#
# Per handshake, after one second of warm-up, two figures: the worker thread
# as a whole (the TLS handshake, verification, identity, proxying), and the
# gateway's own part:
# accept, the verify callback, the handshake-done callback (identity and
# the start of the request), inclusive.  Needs valgrind and jq.
# Loopback only; each run is bounded by BENCH_DURATION seconds.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${BUILD_DIR:-$ROOT/build}" && pwd)
[ $# -gt 0 ] || set -- "$BUILD/gateway/mtlskit-gateway"
LOAD=$BUILD/bench/loadclient
REP=${BENCH_REPEAT:-2}
DUR=${BENCH_DURATION:-4}
for p in valgrind callgrind_annotate callgrind_control jq; do command -v $p >/dev/null || { echo "needs $p" >&2; exit 2; }; done
for x in "$LOAD" "$@"; do [ -x "$x" ] || { echo "missing $x (build first)" >&2; exit 2; }; done
export MTLSKIT_GATEWAY=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/gw-instr.XXXXXX")
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null; done; sleep 0.3; rm -rf "$T"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() { for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
diag() { :; }
source "$ROOT/tests/interop/lib/gw-fixtures.sh"
gw_pki >/dev/null 2>&1

# The tests' echo backend: its speed does not count here, only the
# gateway's instructions.
gw_backend instr
BPORT=$BACKEND_PORT
PIDS="$PIDS ${TAP_PIDS:-}"

# run1 BINARY VERIFY_CACHE TOGGLES... -> "OPS INSTRUCTIONS"
run1() {
	local bin=$1 vc=$2 port out gp res
	shift 2
	port=$(free_port)
	out=$T/cg.out
	cat >"$T/gw.conf" <<GW
listen 127.0.0.1:$port
cert $T/srv-ec-chain.pem
key $T/srv-ec.key
ca $T/ca1/ca.pem
usermap $T/users.map
backend 127.0.0.1:$BPORT
workers 1
access_log off
max_connections_per_ip 0
verify_cache $vc
GW
	rm -f "$out"
	valgrind --tool=callgrind --callgrind-out-file="$out" --collect-atstart=no "$@" \
		"$bin" --config "$T/gw.conf" 2>/dev/null &
	gp=$!
	wait_port "$port" || { kill "$gp"; echo "0 0"; return; }
	# a first second of handshakes (the first verification, lazy
	# initialisation), then the counters zeroed: steady state only
	"$LOAD" --mode handshake --port "$port" --cert "$T/alice-chain.pem" --key "$T/alice.key" \
		--concurrency 1 --duration 1 --tls 1.3 >/dev/null
	callgrind_control -z "$gp" >/dev/null 2>&1
	res=$("$LOAD" --mode handshake --port "$port" --cert "$T/alice-chain.pem" --key "$T/alice.key" \
		--concurrency 1 --duration "$DUR" --tls 1.3)
	kill "$gp"
	wait "$gp" 2>/dev/null
	echo "$(jq -r .ops <<<"$res") $(callgrind_annotate "$out" 2>/dev/null |
		awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')"
}
per() { awk -v a="$2" -v n="$1" 'BEGIN { if (n > 0) printf "%.0f", a / n; else print "n/a" }'; }

echo "instructions per full handshake (callgrind; load $(cut -d' ' -f1-3 /proc/loadavg))"
for i in $(seq 1 $#); do echo "binary $i: ${!i}"; done
printf '%-8s %-14s %14s %14s\n' binary verify_cache worker "gateway's own"
for r in $(seq 1 "$REP"); do
	for vc in 4096 0; do
		for i in $(seq 1 $#); do
			read -r n1 all < <(run1 "${!i}" "$vc" --toggle-collect=worker_main)
			read -r n2 own < <(run1 "${!i}" "$vc" --toggle-collect=gw_accept \
				--toggle-collect=app_verify --toggle-collect=hs_event)
			printf '%-8s %-14s %14s %14s\n' "$i" "$vc" "$(per "$n1" "$all")" "$(per "$n2" "$own")"
		done
	done
done
