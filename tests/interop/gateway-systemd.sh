#!/usr/bin/env bash
# gateway-systemd.sh - mtlskit-gateway under systemd: the unit passes
# `systemd-analyze verify` and keeps its `systemd-analyze security` exposure,
# and the sd_notify protocol (READY=1 once accepting, RELOADING=1/READY=1
# around SIGHUP, STOPPING=1 on SIGTERM) as a Python datagram socket sees it.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "$0")/lib/gw-fixtures.sh"
UNIT="$MTLSKIT_BUILD/packaging/mtlskit-gateway.service"

# --- the unit, with ExecStart pointing at the binary under test (verify
# checks that every Exec* command exists)
if command -v systemd-analyze >/dev/null; then
	bindir=$(sed -n 's|^ExecStart=\(.*\)/mtlskit-gateway .*|\1|p' "$UNIT")
	sed "s|$bindir/mtlskit-gateway|$MTLSKIT_GATEWAY|" "$UNIT" >"$T/mtlskit-gateway.service"
	expect_rc 0 "systemd-analyze verify accepts the unit" systemd-analyze verify "$T/mtlskit-gateway.service"
	expect_eq "verify prints nothing" "$OUT$ERR" ""
	run systemd-analyze security --offline=true "$T/mtlskit-gateway.service"
	level=$(printf '%s' "$OUT" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p')
	diag "systemd-analyze security exposure: $level"
	expect_match "security exposure stays below 2.0 (docs/gateway.md records 1.5)" '^(0\.[0-9]|1\.[0-9])$' "$level"
	expect_no_match "no capability beyond CAP_NET_BIND_SERVICE" 'CapabilityBoundingSet=~CAP_(SYS|DAC|SET|CHOWN|NET_ADMIN)' \
		"$(printf '%s' "$OUT" | grep '^✗')"
else
	ok "# SKIP systemd-analyze not installed (Debian package systemd)"
fi

# --- sd_notify
gw_pki
gw_backend b1
gw_conf "$T/gw.conf" "$BACKEND_PORT"
cp "$T/gw.conf" "$T/good.conf"
"$GW_PY" "$GW_LIB/notify_listen.py" "$T/notify.sock" "$T/gw-n.ready" 60 >"$T/notify.out" 2>&1 &
TAP_PIDS="${TAP_PIDS:-} $!"
for _ in $(seq 1 50); do [ -s "$T/notify.out" ] && break; sleep 0.1; done
wait_for() { # PATTERN: until notify.out has it (<= 10 s)
	for _ in $(seq 1 100); do grep -Eq -- "$1" "$T/notify.out" && return 0; sleep 0.1; done
	return 1
}
NOTIFY_SOCKET="$T/notify.sock" gw_start n "$T/gw.conf" || { not_ok "gateway starts"; done_testing; }
wait_for '^CONNECT='
expect_eq "first message: READY=1 with a status" "$(sed -n 2p "$T/notify.out")" "READY=1|STATUS=serving"
expect_eq "READY=1 came once the port accepts" "$(grep '^CONNECT=' "$T/notify.out")" "CONNECT=ok"
gw_curl alice "https://127.0.0.1:$GW_PORT/"
expect_eq "and it serves" "$(http_code)" 200

kill -HUP "$GW_PID"
wait_for 'READY=1.*' && wait_for '^RELOADING=1'
for _ in $(seq 1 50); do [ "$(grep -c '^READY=1' "$T/notify.out")" -ge 2 ] && break; sleep 0.1; done
expect_match "SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1" \
	'^RELOADING=1\|MONOTONIC_USEC=[0-9]+ READY=1\|STATUS=serving$' "$(sed -n '4,5p' "$T/notify.out" | tr '\n' ' ' | sed 's/ $//')"
expect_match "the log has the reload" '"event":"reload".*"result":"ok"' "$(cat "$GW_LOG")"

echo "bogus_key 1" >>"$T/gw.conf"
kill -HUP "$GW_PID"
for _ in $(seq 1 50); do [ "$(grep -c '^READY=1' "$T/notify.out")" -ge 3 ] && break; sleep 0.1; done
expect_match "a refused reload: READY=1 again, STATUS says so" \
	'^READY=1\|STATUS=reload refused' "$(sed -n 7p "$T/notify.out")"

kill -TERM "$GW_PID"
wait_for '^STOPPING=1'
expect_eq "SIGTERM: STOPPING=1" "$(tail -n 1 "$T/notify.out")" "STOPPING=1"
gw_finish

# --- an abstract socket (@name), as some systemd versions hand out
ABS="@mtlskit-test-$$-$RANDOM"
"$GW_PY" "$GW_LIB/notify_listen.py" "$ABS" "$T/gw-a.ready" 30 >"$T/notify.out" 2>&1 &
TAP_PIDS="${TAP_PIDS:-} $!"
for _ in $(seq 1 50); do [ -s "$T/notify.out" ] && break; sleep 0.1; done
NOTIFY_SOCKET="$ABS" gw_start a "$T/good.conf" || not_ok "gateway starts (abstract socket)"
wait_for '^CONNECT='
expect_eq "abstract NOTIFY_SOCKET: READY=1 arrives" "$(grep -c '^READY=1' "$T/notify.out")" 1
gw_finish
done_testing
