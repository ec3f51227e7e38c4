#!/usr/bin/env bash
# bench/gateway.sh - mtlskit-gateway against nginx (ssl_verify_client on,
# proxy_pass) and stunnel4, on loopback, with client certificates.
#
#   bench/gateway.sh [BUILD_DIR]        (default: ./build)
#   BENCH_DURATION=5 BENCH_REPEAT=3 BENCH_CONC=8 bench/gateway.sh
#
# Server under test pinned to CPU 0 (taskset), load client (bench/loadclient)
# and the shared backend (a separate nginx returning a 3-byte body) on CPU 1.
# Measures, each run bounded by BENCH_DURATION seconds, median of
# BENCH_REPEAT runs:
#   - full mTLS handshakes/s, TLS 1.3, one GET each: ECDSA P-256 and RSA 2048
#     server keys (client key ECDSA P-256), gateway vs nginx vs stunnel;
#   - keep-alive proxied requests/s and p50/p99 latency, gateway vs nginx;
#   - memory per idle mTLS connection (RSS growth over 1000 connections);
#   - full handshakes/s with a BENCH_CRL-entry CRL (default 100000; 0 skips)
#     of the client CA: gateway without CRL, gateway with it, nginx with it
#     (ssl_crl).  BENCH_ONLY=crl runs this part alone; BENCH_ONLY=keepalive runs
#     only the keep-alive comparison (gateway, nginx, haproxy).
# Prints a table and ratios (gateway / peer; > 1 means the gateway is better
# for rates, < 1 better for latency and memory).  Only 127.0.0.1 is used.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
export MTLSKIT_GATEWAY=$BUILD/gateway/mtlskit-gateway
LOAD=$BUILD/bench/loadclient
DUR=${BENCH_DURATION:-5}
REP=${BENCH_REPEAT:-3}
CONC=${BENCH_CONC:-8}
IDLE=${BENCH_IDLE:-1000}
for x in "$MTLSKIT_GATEWAY" "$LOAD"; do [ -x "$x" ] || { echo "missing $x (build first)" >&2; exit 2; }; done
for p in nginx stunnel4 taskset openssl jq; do command -v $p >/dev/null || { echo "needs $p" >&2; exit 2; }; done
NGINX=$(command -v nginx)
HAPROXY=$(command -v haproxy || true) # keep-alive comparison only (scripts/deps.sh bench installs it)
# The machine may be shared: every measured process (servers, backend, load
# client) runs at the same raised priority so background work disturbs all
# of them alike; runs of the different servers are interleaved.
PRIO="nice -n ${BENCH_NICE:--15}"
[ "$(id -u)" = 0 ] || PRIO=""
T=$(mktemp -d "${TMPDIR:-/tmp}/gw-bench.XXXXXX")
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null; done; sleep 0.3; rm -rf "$T"; }
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
diag() { :; }
source "$ROOT/tests/interop/lib/gw-fixtures.sh"
gw_pki >/dev/null 2>&1
CERT=$T/alice-chain.pem KEY=$T/alice.key

# --- the shared backend: nginx on CPU 1 answering "ok\n"
BPORT=$(free_port)
PPORT=$(free_port) # the same backend behind a PROXY protocol listener (gateway tcp mode)
mkdir -p "$T/be"
cat >"$T/be/nginx.conf" <<NG
worker_processes 1;
daemon off;
error_log $T/be/error.log;
pid $T/be/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $T/be; proxy_temp_path $T/be; fastcgi_temp_path $T/be; uwsgi_temp_path $T/be; scgi_temp_path $T/be;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$BPORT; location / { return 200 "ok\n"; } }
  server { listen 127.0.0.1:$PPORT proxy_protocol; location / { return 200 "ok\n"; } }
}
NG
$PRIO taskset -c 1 "$NGINX" -c "$T/be/nginx.conf" -p "$T/be" & PIDS="$PIDS $!"
wait_port "$BPORT"

start_gateway() { # KEYTYPE(ec|rsa) [mode] -> PORT, SPID
	local kt=$1 mode=${2:-http}
	PORT=$(free_port)
	cat >"$T/gw-$kt.conf" <<GW
listen 127.0.0.1:$PORT
mode $mode
cert $T/srv-$kt-chain.pem
key $T/srv-$kt.key
ca $T/ca1/ca.pem
usermap $T/users.map
backend 127.0.0.1:$( [ "$mode" = tcp ] && echo "$PPORT" || echo "$BPORT")
workers 1
access_log off
max_connections 50000
idle_timeout 120s
max_connections_per_ip 0
${EXTRA_GW:-}
GW
	$PRIO taskset -c 0 "$MTLSKIT_GATEWAY" --config "$T/gw-$kt.conf" & SPID=$!
	PIDS="$PIDS $SPID"
	wait_port "$PORT"
}
start_nginx() { # KEYTYPE -> PORT, SPID
	local kt=$1
	PORT=$(free_port)
	mkdir -p "$T/ng-$kt"
	cat >"$T/ng-$kt/nginx.conf" <<NG
worker_processes 1;
daemon off;
error_log $T/ng-$kt/error.log;
pid $T/ng-$kt/nginx.pid;
worker_rlimit_nofile 60000;
events { worker_connections 50000; }
http {
  access_log off;
  client_body_temp_path $T/ng-$kt; proxy_temp_path $T/ng-$kt; fastcgi_temp_path $T/ng-$kt; uwsgi_temp_path $T/ng-$kt; scgi_temp_path $T/ng-$kt;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  upstream be { server 127.0.0.1:$BPORT; keepalive 64; }
  server {
    listen 127.0.0.1:$PORT ssl;
    ssl_certificate $T/srv-$kt-chain.pem;
    ssl_certificate_key $T/srv-$kt.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_client_certificate $T/ca1/ca.pem;
    ssl_verify_client on;
    ${EXTRA_NG:-}
    location / {
      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Client-Cert-Subject \$ssl_client_s_dn;
      proxy_set_header X-Client-Cert-Sha256 \$ssl_client_fingerprint;
    }
  }
}
NG
	$PRIO taskset -c 0 "$NGINX" -c "$T/ng-$kt/nginx.conf" -p "$T/ng-$kt" & SPID=$!
	PIDS="$PIDS $SPID"
	wait_port "$PORT"
}
start_haproxy() { # KEYTYPE -> PORT, SPID: mTLS terminated, HTTP keep-alive to the backend
	local kt=$1
	PORT=$(free_port)
	cat "$T/srv-$kt-chain.pem" "$T/srv-$kt.key" >"$T/hap-$kt.pem"
	cat >"$T/hap-$kt.cfg" <<HAP
global
  nbthread 1
  maxconn 5000
defaults
  mode http
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  timeout http-keep-alive 120s
  option http-keep-alive
frontend fe
  bind 127.0.0.1:$PORT ssl crt $T/hap-$kt.pem ca-file $T/ca1/ca.pem verify required ssl-min-ver TLSv1.2
  http-request set-header X-Client-Cert-Subject %[ssl_c_s_dn]
  http-request set-header X-Client-Cert-Sha256 %[ssl_c_sha1,hex]
  default_backend be
backend be
  http-reuse always
  server s1 127.0.0.1:$BPORT
HAP
	$PRIO taskset -c 0 haproxy -W -db -f "$T/hap-$kt.cfg" >/dev/null 2>&1 & SPID=$!
	PIDS="$PIDS $SPID"
	wait_port "$PORT"
}
start_stunnel() { # KEYTYPE -> PORT, SPID
	local kt=$1
	PORT=$(free_port)
	cat >"$T/st-$kt.conf" <<ST
foreground = yes
pid =
output = $T/st-$kt.log
[gw]
accept = 127.0.0.1:$PORT
connect = 127.0.0.1:$BPORT
cert = $T/srv-$kt-chain.pem
key = $T/srv-$kt.key
CAfile = $T/ca1/ca.pem
verifyChain = yes
requireCert = yes
sslVersionMin = TLSv1.2
ST
	$PRIO taskset -c 0 stunnel4 "$T/st-$kt.conf" 2>/dev/null & SPID=$!
	PIDS="$PIDS $SPID"
	wait_port "$PORT"
}
stop() { kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; sleep 0.3; }

load1() { # MODE -> one JSON result
	$PRIO taskset -c 1 "$LOAD" --mode "$1" --port "$PORT" --cert "$CERT" --key "$KEY" \
		--concurrency "$CONC" --duration "$DUR" --tls 1.3
}
median() { jq -s -c 'sort_by(.rate) | .[length / 2 | floor]'; }
rss_kb() { # PID... -> total VmRSS of those processes and their children
	local total=0 p
	for p in "$@" $(pgrep -P "$1" 2>/dev/null); do
		total=$((total + $(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)))
	done
	echo "$total"
}
idle_mem() { # -> bytes per idle connection
	local before after
	sleep 0.5
	before=$(rss_kb "$SPID")
	$PRIO taskset -c 1 "$LOAD" --mode idle --port "$PORT" --cert "$CERT" --key "$KEY" --idle-conns "$IDLE" \
		--duration 4 >"$T/idle.out" &
	local lp=$!
	for _ in $(seq 1 100); do [ -s "$T/idle.out" ] && break; sleep 0.1; done
	sleep 1
	after=$(rss_kb "$SPID")
	wait "$lp"
	echo $(( (after - before) * 1024 / $(jq .open "$T/idle.out") ))
}

# big_crl N: a CRL of client CA 1 revoking N serials (none of them alice's),
# written by `openssl ca -gencrl` from a generated index.
big_crl() {
	local d=$T/ca1 n=$1
	awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++)
		printf "R\t300101000000Z\t240101000000Z\t%06X\tunknown\t/CN=revoked-%d\n", 1048576 + i, i }' >"$d/index.txt"
	openssl ca -batch -config "$d/ca.cnf" -gencrl -out "$T/big.crl" 2>/dev/null
}
# CPU ticks of the server (and its children: nginx's worker), so the cost
# per operation can be read even on a busy machine (the rate cannot).
ticks() { local t=0 p; for p in "$1" $(pgrep -P "$1"); do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
load_cpu() { # OUTFILE [MODE]: one JSON result with cpu_ms, the server's CPU per operation
	local t0 t1 res
	t0=$(ticks "$SPID"); res=$(load1 "${2:-handshake}"); t1=$(ticks "$SPID")
	jq -c --argjson t "$((t1 - t0))" --argjson hz "$(getconf CLK_TCK)" \
		'. + {cpu_ms: (if .ops > 0 then ($t * 1000 / $hz / .ops * 10000 | round) / 10000 else 0 end)}' <<<"$res" >>"$1"
}
cpu() { jq -s -r 'map(.cpu_ms) | sort | .[length / 2 | floor]' <"$T/$1"; }

CRLN=${BENCH_CRL:-100000}
declare -A R
if [ "$CRLN" -gt 0 ]; then
	big_crl "$CRLN"
	for r in $(seq 1 "$REP"); do
		start_gateway ec; load_cpu "$T/crl_gw_none"; stop
		EXTRA_GW="crl $T/big.crl" start_gateway ec; load_cpu "$T/crl_gw"; stop
		EXTRA_NG="ssl_crl $T/big.crl;" start_nginx ec; load_cpu "$T/crl_ng"; stop
	done
	for k in crl_gw_none crl_gw crl_ng; do R[$k]=$(median <"$T/$k"); done
	g0=$(jq -r .rate <<<"${R[crl_gw_none]}"); g=$(jq -r .rate <<<"${R[crl_gw]}"); n=$(jq -r .rate <<<"${R[crl_ng]}")
	echo "CRL of $CRLN entries ($(wc -c <"$T/big.crl") bytes PEM), full handshakes/s + 1 GET, ECDSA-P256, ${DUR}s, median of $REP:"
	printf '  gateway, no CRL %10s\n  gateway, CRL    %10s  (%s of the no-CRL rate; p50/p99 ms %s/%s)\n  nginx, CRL      %10s  (gateway/nginx %s; p50/p99 ms %s/%s)\n' \
		"$g0" "$g" "$(awk -v a="$g" -v b="$g0" 'BEGIN { printf "%.2f", a / b }')" \
		"$(jq -r .p50_ms <<<"${R[crl_gw]}")" "$(jq -r .p99_ms <<<"${R[crl_gw]}")" \
		"$n" "$(awk -v a="$g" -v b="$n" 'BEGIN { printf "%.2f", a / b }')" \
		"$(jq -r .p50_ms <<<"${R[crl_ng]}")" "$(jq -r .p99_ms <<<"${R[crl_ng]}")"
	echo "  errors (gateway no CRL / CRL / nginx): $(jq -r .errors <<<"${R[crl_gw_none]}")/$(jq -r .errors <<<"${R[crl_gw]}")/$(jq -r .errors <<<"${R[crl_ng]}")"
	echo "  server CPU ms per handshake (median; steady under machine load): gateway no CRL $(cpu crl_gw_none)," \
		"gateway CRL $(cpu crl_gw), nginx CRL $(cpu crl_ng) (gateway/nginx CPU $(awk -v a="$(cpu crl_gw)" -v b="$(cpu crl_ng)" 'BEGIN { printf "%.2f", a / b }'))"
	echo
fi
[ "${BENCH_ONLY:-}" = crl ] && exit 0
if [ "${BENCH_ONLY:-}" = cpu ]; then # server CPU per operation, interleaved A/B
	for r in $(seq 1 "$REP"); do
		for kt in ec rsa; do
			start_gateway "$kt"; load_cpu "$T/c_gw_$kt"; stop
			EXTRA_GW="verify_cache 0" start_gateway "$kt"; load_cpu "$T/c_gwnc_$kt"; stop
			start_nginx "$kt"; load_cpu "$T/c_ng_$kt"; stop
			[ -n "$HAPROXY" ] && { start_haproxy "$kt"; load_cpu "$T/c_hp_$kt"; stop; }
		done
		start_gateway ec; load_cpu "$T/c_gw_ka" keepalive; stop
		start_nginx ec; load_cpu "$T/c_ng_ka" keepalive; stop
		[ -n "$HAPROXY" ] && { start_haproxy ec; load_cpu "$T/c_hp_ka" keepalive; stop; }
	done
	us() { awk -v a="$(cpu "$1")" 'BEGIN { printf "%.1f", a * 1000 }'; }
	per() { awk -v a="$(cpu "$2")" -v b="$(cpu "$1")" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
	echo "server CPU per operation (µs, median of $REP, ${DUR}s runs; load $(cut -d' ' -f1-3 /proc/loadavg)); ratio = peer CPU / gateway CPU, > 1: the gateway does the same work with less CPU"
	printf '%-40s %10s %12s %10s %10s %9s %9s\n' measure gateway "gw no-vcache" nginx haproxy "nginx/gw" "hap/gw"
	for kt in ec rsa; do
		printf '%-40s %10s %12s %10s %10s %9s %9s\n' "full handshake + 1 GET, $( [ $kt = ec ] && echo ECDSA-P256 || echo RSA-2048)" \
			"$(us c_gw_$kt)" "$(us c_gwnc_$kt)" "$(us c_ng_$kt)" "$([ -n "$HAPROXY" ] && us c_hp_$kt)" \
			"$(per c_gw_$kt c_ng_$kt)" "$([ -n "$HAPROXY" ] && per c_gw_$kt c_hp_$kt)"
	done
	printf '%-40s %10s %12s %10s %10s %9s %9s\n' "keep-alive proxied request" "$(us c_gw_ka)" "" "$(us c_ng_ka)" \
		"$([ -n "$HAPROXY" ] && us c_hp_ka)" "$(per c_gw_ka c_ng_ka)" "$([ -n "$HAPROXY" ] && per c_gw_ka c_hp_ka)"
	echo "rates (ops/s, medians; noisy on a shared machine): gateway ec $(median <"$T/c_gw_ec" | jq -r .rate), nginx ec $(median <"$T/c_ng_ec" | jq -r .rate), gateway ka $(median <"$T/c_gw_ka" | jq -r .rate), nginx ka $(median <"$T/c_ng_ka" | jq -r .rate)"
	exit 0
fi
if [ "${BENCH_ONLY:-}" = keepalive ]; then # keep-alive proxied requests alone: gateway, nginx, haproxy
	for r in $(seq 1 "$REP"); do
		start_gateway ec; load1 keepalive >>"$T/gw_ka"; stop
		start_nginx ec; load1 keepalive >>"$T/ng_ka"; stop
		[ -n "$HAPROXY" ] && { start_haproxy ec; load1 keepalive >>"$T/hp_ka"; stop; }
	done
	g=$(median <"$T/gw_ka" | jq -r .rate); n=$(median <"$T/ng_ka" | jq -r .rate)
	h=$([ -n "$HAPROXY" ] && median <"$T/hp_ka" | jq -r .rate || echo 0)
	echo "keep-alive proxied requests/s, ${DUR}s, median of $REP, concurrency $CONC:"
	echo "  gateway $g   nginx $n   haproxy $h   gw/nginx $(awk -v a="$g" -v b="$n" 'BEGIN { printf "%.2f", a / b }')   gw/haproxy $(awk -v a="$g" -v b="$h" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
	echo "  all runs: gateway $(jq -r .rate "$T/gw_ka" | tr '\n' ' ')| nginx $(jq -r .rate "$T/ng_ka" | tr '\n' ' ')| haproxy $(jq -r .rate "$T/hp_ka" 2>/dev/null | tr '\n' ' ')"
	exit 0
fi
for r in $(seq 1 "$REP"); do
	for kt in ec rsa; do
		start_gateway "$kt"; load1 handshake >>"$T/gw_hs_$kt"
		[ "$kt" = ec ] && load1 keepalive >>"$T/gw_ka"
		stop
		start_nginx "$kt"; load1 handshake >>"$T/ng_hs_$kt"
		[ "$kt" = ec ] && load1 keepalive >>"$T/ng_ka"
		stop
		if [ "$kt" = ec ] && [ -n "$HAPROXY" ]; then
			start_haproxy "$kt"; load1 keepalive >>"$T/hp_ka"; stop
		fi
		start_stunnel "$kt"; load1 handshake >>"$T/st_hs_$kt"; stop
		start_gateway "$kt" tcp; load1 handshake >>"$T/gwtcp_hs_$kt"; stop
	done
done
for k in gw_hs_ec gw_hs_rsa ng_hs_ec ng_hs_rsa st_hs_ec st_hs_rsa gwtcp_hs_ec gwtcp_hs_rsa gw_ka ng_ka $([ -n "$HAPROXY" ] && echo hp_ka); do
	R[$k]=$(median <"$T/$k")
	cp "$T/$k" "${BENCH_OUT:-/dev/null}.$k" 2>/dev/null || true
done
start_gateway ec; R[gw_mem]=$(idle_mem); stop
start_nginx ec; R[ng_mem]=$(idle_mem); stop

rate() { jq -r '.rate' <<<"$1"; }
q() { jq -r ".$2" <<<"$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo "machine: $(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2 }'), $(nproc) CPUs, $(uname -r)"
echo "versions: $("$MTLSKIT_GATEWAY" --version), $("$NGINX" -v 2>&1), $(stunnel4 -version 2>&1 | grep -m1 '^stunnel')"
echo "runs: ${DUR}s each, median of $REP, concurrency $CONC, TLS 1.3, client key ECDSA P-256"
echo
printf '%-44s %12s %12s %12s %9s %9s\n' "measure" "gateway" "nginx" "stunnel" "gw/nginx" "gw/stunnel"
for kt in ec rsa; do
	name="full handshakes/s + 1 GET, server $( [ $kt = ec ] && echo ECDSA-P256 || echo RSA-2048)"
	g=$(rate "${R[gw_hs_$kt]}"); n=$(rate "${R[ng_hs_$kt]}"); s=$(rate "${R[st_hs_$kt]}")
	printf '%-44s %12s %12s %12s %9s %9s\n' "$name" "$g" "$n" "$s" "$(ratio "$g" "$n")" "$(ratio "$g" "$s")"
	gt=$(rate "${R[gwtcp_hs_$kt]}")
	printf '%-44s %12s %12s %12s %9s %9s\n' "  same, gateway in tcp mode (PROXY v2)" "$gt" "" "$s" "" "$(ratio "$gt" "$s")"
	printf '%-44s %12s %12s %12s\n' "  handshake p50 / p99 ms" "$(q "${R[gw_hs_$kt]}" p50_ms)/$(q "${R[gw_hs_$kt]}" p99_ms)" \
		"$(q "${R[ng_hs_$kt]}" p50_ms)/$(q "${R[ng_hs_$kt]}" p99_ms)" "$(q "${R[st_hs_$kt]}" p50_ms)/$(q "${R[st_hs_$kt]}" p99_ms)"
done
g=$(rate "${R[gw_ka]}"); n=$(rate "${R[ng_ka]}")
printf '%-44s %12s %12s %12s %9s\n' "keep-alive proxied requests/s" "$g" "$n" "" "$(ratio "$g" "$n")"
if [ -n "$HAPROXY" ]; then
	h=$(rate "${R[hp_ka]}")
	printf '%-44s %12s %12s %12s %9s\n' "  haproxy keep-alive requests/s (gw/haproxy)" "$g" "$h" "" "$(ratio "$g" "$h")"
fi
printf '%-44s %12s %12s %12s %9s\n' "  keep-alive p50 ms" "$(q "${R[gw_ka]}" p50_ms)" "$(q "${R[ng_ka]}" p50_ms)" "" "$(ratio "$(q "${R[gw_ka]}" p50_ms)" "$(q "${R[ng_ka]}" p50_ms)")"
printf '%-44s %12s %12s %12s %9s\n' "  keep-alive p99 ms" "$(q "${R[gw_ka]}" p99_ms)" "$(q "${R[ng_ka]}" p99_ms)" "" "$(ratio "$(q "${R[gw_ka]}" p99_ms)" "$(q "${R[ng_ka]}" p99_ms)")"
printf '%-44s %12s %12s %12s %9s\n' "memory per idle mTLS connection (bytes)" "${R[gw_mem]}" "${R[ng_mem]}" "" "$(ratio "${R[gw_mem]}" "${R[ng_mem]}")"
echo
echo "errors (gateway/nginx/stunnel, ec hs): $(q "${R[gw_hs_ec]}" errors)/$(q "${R[ng_hs_ec]}" errors)/$(q "${R[st_hs_ec]}" errors)"
