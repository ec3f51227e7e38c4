#!/usr/bin/env bash
# gateway-limits.sh - mtlskit-gateway under clients that misbehave (issue 14):
# a client that stops reading a 300 MB response, a client that uploads into a
# backend that reads slowly, a huge request head to the admin listener (RSS
# measured from /proc/PID/status, bound: 64 MB above idle); the per-address
# connection limit; a flood of idle and garbage connections under
# `ulimit -n 64` (logs stay JSON, no busy loop, legitimate clients served after).
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "$0")/lib/gw-fixtures.sh"

LC="$GW_LIB/limits_client.py"
BOUND_KB=$((64 * 1024))
gw_pki
BPORT=$(free_port)
"$GW_PY" "$GW_LIB/smuggle_backend.py" --kind http --port "$BPORT" --log "$T/backend.jsonl" 2>>"$T/backend.stderr" &
TAP_PIDS="${TAP_PIDS:-} $!"
wait_port "$BPORT" || diag "backend did not start"
tls_args=("$T/srv/ca.pem" "$T/alice.pem" "$T/alice.key")
# json FIELD: from the last run's stdout
jf() { printf '%s' "$OUT" | jq -r ".$1 // empty" 2>/dev/null; }
served_within_5s() { # PATH: alice's status, retried until 200 (20 tries, 0.25 s apart)
	local code=000
	for _ in $(seq 1 20); do
		gw_curl alice "https://127.0.0.1:$GW_PORT$1"
		code=$(http_code)
		[ "$code" = 200 ] && break
		sleep 0.25
	done
	echo "$code"
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }
bad_json() { # FILES...: lines that are not JSON (at most 3)
	cat "$@" 2>/dev/null | jq -R -r '. as $l | try (fromjson | empty) catch $l' | head -3
}

gw_conf "$T/gw.conf" "$BPORT" "max_body 1g" "drain_timeout 1s" "header_timeout 2s"
gw_start main "$T/gw.conf" || { not_ok "gateway starts"; done_testing; }
ok "gateway starts"
gw_curl alice "https://127.0.0.1:$GW_PORT/warm"
expect_eq "a first request (warms the gateway up): 200" "$(http_code)" 200
IDLE=$(awk '/^VmRSS:/ { print $2 }' "/proc/$GW_PID/status")
diag "idle RSS after one request: $IDLE kB"
# grown: the last run's peak RSS above the idle size measured once above
grown() { echo $(($(jf max) - IDLE)); }

# --- slow reader: 300 MB response, the client reads the head then nothing for 5 s
run "$GW_PY" "$LC" slowread "$GW_PORT" "${tls_args[@]}" "$GW_PID" 5 "/big?n=300000000"
expect_eq "slow reader: the response starts (200)" "$(jf status)" 200
grow=$(grown)
diag "slow reader: RSS before $(jf idle) kB, peak $(jf max) kB (+$grow kB above idle)"
if [ "$grow" -lt "$BOUND_KB" ]; then ok "slow reader: gateway RSS stays under idle + 64 MB"; else not_ok "slow reader: gateway RSS stays under idle + 64 MB (+$grow kB)"; fi
gw_curl alice "https://127.0.0.1:$GW_PORT/after-slowread"
expect_eq "after the slow reader: a request is served" "$(http_code)" 200

# --- uploader into a slow backend: a 300 MB body written as fast as the gateway
# takes it, for 5 s, to a backend that reads 800 kB/s (the gateway must stop
# reading from the client, not buffer the difference)
run "$GW_PY" "$LC" slowupload "$GW_PORT" "${tls_args[@]}" "$GW_PID" 5 /slowread 300000000
grow=$(grown)
diag "slow uploader: sent $(jf sent) bytes; RSS before $(jf idle) kB, peak $(jf max) kB (+$grow kB above idle)"
if [ "$(jf sent)" -gt 1000000 ]; then ok "slow uploader: the gateway took the start of the body"; else not_ok "slow uploader: the gateway took the start of the body (sent $(jf sent))"; fi
if [ "$grow" -lt "$BOUND_KB" ]; then ok "slow uploader: gateway RSS stays under idle + 64 MB"; else not_ok "slow uploader: gateway RSS stays under idle + 64 MB (+$grow kB)"; fi

# --- a huge request head to the admin listener: 431, memory bounded
run "$GW_PY" "$LC" bighead "$GW_ADMIN" "$GW_PID" 32000000
grow=$(grown)
diag "admin head: sent $(jf sent) bytes; RSS before $(jf idle) kB, peak $(jf max) kB (+$grow kB above idle)"
expect_eq "admin listener: an oversized request head gets 431" "$(jf status)" 431
if [ "$(jf sent)" -lt 10000000 ]; then ok "admin listener: stops reading the head long before 10 MB"; else not_ok "admin listener: stops reading the head long before 10 MB (took $(jf sent))"; fi
if [ "$grow" -lt "$BOUND_KB" ]; then ok "admin listener: RSS stays under idle + 64 MB"; else not_ok "admin listener: RSS stays under idle + 64 MB (+$grow kB)"; fi
run curl -s --max-time 5 "http://127.0.0.1:$GW_ADMIN/healthz"
expect_eq "admin listener still answers /healthz" "$OUT" ok
# the admin listener has the main one's header_timeout (2 s here)
run "$GW_PY" "$LC" stall "$GW_ADMIN" 6
diag "admin listener, half a head: $OUT"
t=$(jf closed_after)
if [ -n "$t" ] && awk -v t="$t" 'BEGIN { exit !(t >= 1.5 && t < 5) }'; then
	ok "admin listener: half a request head is cut off after header_timeout (2 s)"
else
	not_ok "admin listener: half a request head is cut off after header_timeout (2 s) (closed after: ${t:-never in 6 s})"
fi
gw_finish

# --- max_connections counts every accepted socket, before any handshake
gw_conf "$T/maxc.conf" "$BPORT" "max_connections 10" "drain_timeout 1s"
gw_start maxc "$T/maxc.conf" || not_ok "gateway with max_connections 10 starts"
rm -f "$T/go"
"$GW_PY" "$LC" hold "$GW_PORT" 20 1 "$T/go" >"$T/hold0.out" 2>&1 &
hold_pid=$!
for _ in $(seq 1 100); do [ -s "$T/hold0.out" ] && break; sleep 0.1; done
OUT=$(cat "$T/hold0.out")
expect_eq "max_connections 10: of 20 TCP connections without a handshake, 10 closed" "$(jf closed)" 10
touch "$T/go"
wait "$hold_pid"
gw_finish

# --- max_connections_per_ip 20: 40 idle connections, the excess closed at once
gw_conf "$T/perip.conf" "$BPORT" "max_connections_per_ip 20" "drain_timeout 1s"
if gw_start perip "$T/perip.conf"; then
	ok "max_connections_per_ip is a setting"
	rm -f "$T/go"
	"$GW_PY" "$LC" hold "$GW_PORT" 40 1 "$T/go" >"$T/hold.out" 2>&1 &
	hold_pid=$!
	for _ in $(seq 1 100); do [ -s "$T/hold.out" ] && break; sleep 0.1; done
	OUT=$(cat "$T/hold.out")
	expect_eq "40 idle connections from one address: 20 closed within 1 s" "$(jf closed)" 20
	expect_eq "40 idle connections from one address: 20 kept" "$(jf open)" 20
	gw_curl alice "https://127.0.0.1:$GW_PORT/while-held"
	expect_eq "a 21st client from that address is refused while 20 are held" "$(http_code)" 000
	touch "$T/go"
	wait "$hold_pid"
	expect_eq "once they close, a legitimate client is served" "$(served_within_5s /after-held)" 200
	expect_match "log: a rejection with reason address-connection-limit" '"event":"reject".*"reason":"address-connection-limit"' "$(cat "$GW_LOG")"
	n=$(metric 'mtlskit_gateway_rejections_total{reason="address-connection-limit"}')
	if [ "${n:-0}" -ge 20 ] 2>/dev/null; then ok "metrics: at least 20 connection-limit rejections"; else not_ok "metrics: at least 20 connection-limit rejections (got '${n:-none}')"; fi
	expect_eq "per-address limit: every log line is JSON" "$(bad_json "$GW_LOG" "$T/gw-perip.stderr")" ""
	gw_finish
else
	not_ok "max_connections_per_ip is a setting"
	diag "$(cat "$T/gw-perip.stderr")"
fi

# --- ulimit -n 64: 200 idle and garbage connections, then a legitimate client
old=$(ulimit -Sn)
ulimit -Sn 64
gw_conf "$T/fd.conf" "$BPORT" "workers 1" "drain_timeout 1s"
gw_start fd "$T/fd.conf"
started=$?
ulimit -Sn "$old"
if [ "$started" = 0 ]; then
	ok "gateway starts under ulimit -n 64"
	gw_curl alice "https://127.0.0.1:$GW_PORT/before-flood"
	expect_eq "before the flood: 200" "$(http_code)" 200
	t0=$(cpu_ticks "$GW_PID")
	run "$GW_PY" "$LC" flood "$GW_PORT" 200 6
	diag "flood: $(jf opened) connections opened"
	t1=$(cpu_ticks "$GW_PID")
	hz=$(getconf CLK_TCK)
	diag "gateway CPU over the flood: $((t1 - t0)) ticks at $hz Hz"
	if [ $((t1 - t0)) -lt $((2 * hz)) ]; then ok "flood: no busy loop (gateway CPU < 2 s over a 6 s flood)"; else not_ok "flood: no busy loop (gateway CPU $((t1 - t0)) ticks, $hz per second)"; fi
	expect_eq "flood: the gateway is still running" "$(kill -0 "$GW_PID" 2>/dev/null && echo yes)" yes
	expect_eq "after the flood: a legitimate client gets 200" "$(served_within_5s /after-flood)" 200
	expect_eq "flood: every stderr and log line is JSON" "$(bad_json "$GW_LOG" "$T/gw-fd.stderr")" ""
	emfile=$(cat "$GW_LOG" "$T/gw-fd.stderr" | jq -R -c 'fromjson? | select(tostring | test("(?i)emfile|too many open files"))' 2>/dev/null | wc -l)
	if [ "$emfile" -ge 1 ]; then ok "flood: the fd exhaustion is a JSON log line"; else not_ok "flood: the fd exhaustion is a JSON log line"; fi
	gw_finish
else
	not_ok "gateway starts under ulimit -n 64"
	diag "$(cat "$T/gw-fd.stderr")"
fi
done_testing
