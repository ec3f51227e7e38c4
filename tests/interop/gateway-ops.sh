#!/usr/bin/env bash
# gateway-ops.sh - operations of mtlskit-gateway: SIGHUP reload under load
# (zero failed requests), a broken reload refused, live connections keep
# their configuration, timeouts (handshake, header, idle), dead backends
# (502, retry), connection limit, SIGTERM drain, dropping root.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "$0")/lib/gw-fixtures.sh"
CLIENT="$GW_PY $(dirname "$0")/lib/gw_client.py"

gw_pki
gw_backend b1
B1=$BACKEND_PORT
cp "$T/users.map" "$T/users-v1.map"
{ cat "$T/users.map"; echo "carol   itil   $(gw_fp "$T/carol.pem")"; } >"$T/users-v2.map"
gw_conf "$T/a.conf" "$B1" "usermap $T/live.map"
gw_conf "$T/b.conf" "$B1" "usermap $T/live.map" "ca $T/ca2/ca.pem"
cp "$T/users-v1.map" "$T/live.map"
cp "$T/a.conf" "$T/live.conf"
swap() { cp "$1" "$2.tmp" && mv "$2.tmp" "$2"; }
gw_start ops "$T/live.conf" || { not_ok "gateway starts"; done_testing; }
URL="https://127.0.0.1:$GW_PORT"

gw_curl carol "$URL/"
expect_eq "before reload: carol unmapped (403)" "$(http_code)" 403
gw_curl bob "$URL/"
expect_eq "before reload: CA 2 not trusted" "$(http_code)" 000

# --- a live keep-alive connection keeps the state it started with
rm -f "$T/go"
$CLIENT keepalive "$GW_PORT" "$T/srv/ca.pem" "$T/alice.pem" "$T/alice.key" "$T/go" >"$T/ka.out" &
ka=$!
for _ in $(seq 1 50); do [ -s "$T/ka.out" ] && break; sleep 0.1; done

# --- reload under load: two request loops while SIGHUP swaps map and CA
loop() { # N OUTFILE
	for _ in $(seq 1 "$1"); do
		curl -s -o /dev/null --max-time 10 -w '%{http_code}\n' --cacert "$T/srv/ca.pem" \
			--cert "$T/alice.pem" --key "$T/alice.key" "$URL/load" >>"$2"
	done
}
: >"$T/load1"; : >"$T/load2"
loop 40 "$T/load1" & l1=$!
loop 40 "$T/load2" & l2=$!
for i in 1 2 3 4 5 6; do
	sleep 0.3
	if [ $((i % 2)) = 1 ]; then swap "$T/users-v2.map" "$T/live.map"; swap "$T/b.conf" "$T/live.conf"
	else swap "$T/users-v1.map" "$T/live.map"; swap "$T/a.conf" "$T/live.conf"; fi
	kill -HUP "$GW_PID"
done
wait "$l1" "$l2"
total=$(cat "$T/load1" "$T/load2" | wc -l)
good=$(cat "$T/load1" "$T/load2" | grep -c '^200$')
expect_eq "reload under load: every one of $total requests answered 200" "$good" "$total"
expect_eq "reload under load: 80 requests made" "$total" 80
expect_eq "six reloads succeeded" "$(metric 'mtlskit_gateway_reloads_total{result="ok"}')" 6
expect_eq "generation counts the reloads" "$(metric mtlskit_gateway_config_generation)" 7
expect_match "log: reload events" '"event":"reload".*"result":"ok"' "$(cat "$GW_LOG")"

# now on config b + map v2 (after an even number of swaps, a + v1; swap once more)
swap "$T/users-v2.map" "$T/live.map"; swap "$T/b.conf" "$T/live.conf"
kill -HUP "$GW_PID"; sleep 0.5
gw_curl carol "$URL/"
expect_eq "after reload: carol mapped by the new map" "$(http_code)" 200
expect_match "after reload: carol's identity" '^X-Client-User: carol$' "$OUT"
gw_curl bob "$URL/"
expect_eq "after reload: the new CA is trusted" "$(http_code)" 200

# the connection opened before all reloads still works on its old state
touch "$T/go"
wait "$ka"
expect_eq "live connection survived 7 reloads: both requests 200 as alice" "$(cat "$T/ka.out")" "$(printf '200 alice\n200 alice')"

# --- a broken reload is refused and the old configuration stays
echo "this is not a map line" >"$T/broken.map"
swap "$T/broken.map" "$T/live.map"
kill -HUP "$GW_PID"; sleep 0.5
expect_match "log: refused reload names the bad line" '"error":"[^"]*live.map:1:[^"]*".*"result":"refused"' "$(grep '"refused"' "$GW_LOG")"
expect_eq "metrics: one failed reload" "$(metric 'mtlskit_gateway_reloads_total{result="failed"}')" 1
gw_curl carol "$URL/"
expect_eq "after the refused reload carol is still mapped (old map kept)" "$(http_code)" 200
echo "garbage" >"$T/bad-ca.pem"
swap "$T/users-v2.map" "$T/live.map"
{ cat "$T/b.conf"; echo "ca $T/bad-ca.pem"; } >"$T/c.conf"; swap "$T/c.conf" "$T/live.conf"
kill -HUP "$GW_PID"; sleep 0.5
expect_eq "a CA file without certificates: reload refused" "$(metric 'mtlskit_gateway_reloads_total{result="failed"}')" 2
gw_curl bob "$URL/"
expect_eq "after the refused CA reload bob still passes" "$(http_code)" 200

# --- timeouts
gw_conf "$T/to.conf" "$B1" "handshake_timeout 400ms" "header_timeout 400ms" "idle_timeout 400ms"
gw_start to "$T/to.conf"
run $CLIENT stall "$GW_PORT"
expect_eq "a client stalled mid-handshake is cut off" "$OUT" closed
expect_match "log: handshake-timeout" '"reason":"handshake-timeout"' "$(cat "$GW_LOG")"
run $CLIENT partial "$GW_PORT" "$T/srv/ca.pem" "$T/alice.pem" "$T/alice.key"
expect_eq "an unfinished request head gets 408" "$OUT" "HTTP/1.1 408 Request Timeout"
run $CLIENT idle "$GW_PORT" "$T/srv/ca.pem" "$T/alice.pem" "$T/alice.key"
expect_eq "an idle connection is closed" "$OUT" closed

# --- dead backends: 502, and retry on the next one
dead=$(free_port)
gw_conf "$T/dead.conf" "$dead"
gw_start dead "$T/dead.conf"
gw_curl alice "https://127.0.0.1:$GW_PORT/"
expect_eq "dead backend: 502" "$(http_code)" 502
expect_match "log: 502 with the reason" '"status":502' "$(cat "$GW_LOG")"
gw_conf "$T/retry.conf" "$dead" "backend 127.0.0.1:$B1"
gw_start retry "$T/retry.conf"
codes=""
for _ in 1 2 3 4; do gw_curl alice "https://127.0.0.1:$GW_PORT/"; codes="$codes$(http_code) "; done
expect_eq "first backend dead, second alive: every request 200 (retried)" "$codes" "200 200 200 200 "
expect_match "metrics: backend errors counted" '^[1-9]' "$(metric mtlskit_gateway_backend_errors_total)"

# --- connection limit
gw_conf "$T/lim.conf" "$B1" "max_connections 1" "workers 1"
gw_start lim "$T/lim.conf"
$CLIENT hold "$GW_PORT" 5 &
for _ in $(seq 1 50); do [ "$(metric mtlskit_gateway_active_connections)" = 1 ] && break; sleep 0.1; done
gw_curl alice "https://127.0.0.1:$GW_PORT/"
expect_eq "over max_connections: refused" "$(http_code)" 000
expect_eq "metrics: connection-limit rejection" "$(metric 'mtlskit_gateway_rejections_total{reason="connection-limit"}')" 1

# --- SIGTERM drains: the request in flight completes, then the process exits 0
gw_conf "$T/drain.conf" "$B1"
gw_start drain "$T/drain.conf"
( gw_curl alice "https://127.0.0.1:$GW_PORT/slow"; echo "$(http_code)" >"$T/slow.code" ) &
slow=$!
sleep 0.5
kill -TERM "$GW_PID"
wait "$slow"
expect_eq "SIGTERM: the request in flight still gets 200" "$(cat "$T/slow.code")" 200
wait "$GW_PID"
expect_eq "SIGTERM: the gateway exits 0 after draining" "$?" 0
expect_match "log: draining then stopped" '"event":"draining"' "$(cat "$GW_LOG")"
expect_match "log: stopped" '"event":"stopped"' "$(cat "$GW_LOG")"

# --- dropping root after binding
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	chmod 755 "$T"; chmod 644 "$T"/*.pem "$T"/*.key "$T"/*.map "$T"/ca*/ca.pem 2>/dev/null
	gw_conf "$T/priv.conf" "$B1" "user nobody"
	gw_start priv "$T/priv.conf"
	uid=$(awk '/^Uid:/ { print $2 }' "/proc/$GW_PID/status")
	expect_eq "user nobody: the running gateway has nobody's uid" "$uid" "$(id -u nobody)"
	gw_curl alice "https://127.0.0.1:$GW_PORT/"
	expect_eq "user nobody: still serving" "$(http_code)" 200
else
	ok "# SKIP not root: privilege drop not tested"
fi
gw_finish
done_testing
