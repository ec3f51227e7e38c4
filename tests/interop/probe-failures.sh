#!/usr/bin/env bash
# probe-failures.sh - every failing stage exits 5 with one line naming it,
# and nothing waits past the timeouts: DNS failure, refused connection, a
# server that accepts and never speaks TLS, a plain-HTTP port, a server that
# closes mid-handshake, a proxy that resets the tunnel; and usage errors.
source "$MTLSKIT_TESTLIB"
source "$MTLSKIT_SRC/tests/interop/lib/probe-fixtures.sh"

one_line() { expect_eq "$1: one line on stderr" "$(printf '%s\n' "$ERR" | wc -l)" 1; }

mtk --json probe no-such-host.invalid --timeout 3
expect_eq "unknown host: exit 5" "$RC" 5
expect_json "stage resolve" '.stage' resolve
expect_match "DNS or timeout code" 'MTK_E_(DNS|TIMEOUT)' "$(printf '%s' "$OUT" | jq -r .error.code)"
mtk probe no-such-host.invalid --timeout 3
expect_match "stderr names resolve" '^mtlskit probe: resolve: no-such-host.invalid' "$ERR"
one_line resolve

CLOSED=$(free_port)
mtk --json probe "127.0.0.1:$CLOSED"
expect_eq "refused: exit 5" "$RC" 5
expect_json "stage connect" '.stage' connect
expect_json "MTK_E_CONNECT" '.error.code' MTK_E_CONNECT
mtk probe "[::1]:$CLOSED"
expect_eq "IPv6 literal refused: exit 5" "$RC" 5
expect_match "IPv6 address shown in brackets" "connect: \\[::1\\]:$CLOSED" "$ERR"

SILENT=$(free_port)
"$PY" "$LIBDIR/silent_server.py" "$SILENT" silent >/dev/null 2>&1 </dev/null &
TAP_PIDS="${TAP_PIDS:-} $!"
wait_port "$SILENT"
mtk --json probe "127.0.0.1:$SILENT" --timeout 1
expect_eq "silent server: exit 5" "$RC" 5
expect_json "stage handshake" '.stage' handshake
expect_json "MTK_E_TIMEOUT" '.error.code' MTK_E_TIMEOUT
mtk probe "127.0.0.1:$SILENT" --timeout 500ms
expect_match "stderr names the handshake and the limit" 'handshake: 127.0.0.1:[0-9]+: no TLS answer within 500 ms' "$ERR"
one_line timeout

FULL=$(free_port)
"$PY" "$LIBDIR/silent_server.py" "$FULL" full "$T/full.ready" >/dev/null 2>&1 </dev/null &
TAP_PIDS="${TAP_PIDS:-} $!"
for _ in $(seq 1 100); do [ -e "$T/full.ready" ] && break; sleep 0.1; done
mtk --json probe "127.0.0.1:$FULL" --connect-timeout 700ms
expect_eq "connect that never completes: exit 5" "$RC" 5
expect_json "stage connect" '.stage' connect
expect_json "MTK_E_TIMEOUT" '.error.code' MTK_E_TIMEOUT
expect_match "the connect timeout is named" 'no answer within 700 ms' "$(printf '%s' "$OUT" | jq -r .error.detail)"

CLOSER=$(free_port)
"$PY" "$LIBDIR/silent_server.py" "$CLOSER" close >/dev/null 2>&1 </dev/null &
TAP_PIDS="${TAP_PIDS:-} $!"
wait_port "$CLOSER"
mtk --json probe "127.0.0.1:$CLOSER" --timeout 5
expect_eq "closed mid-handshake: exit 5" "$RC" 5
expect_json "stage handshake" '.stage' handshake
expect_json "MTK_E_TLS" '.error.code' MTK_E_TLS

# A proxy that opens the tunnel and goes away at once (FIN, then RST): the
# reset arrives in CLOSE_WAIT, so the ClientHello's write() raises SIGPIPE
# every time unless the verb ignores it (cli_net_begin); exit 5, never 141.
GONE=$(free_port)
"$PY" -c '
import socket, struct, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); s.settimeout(60)
for _ in range(8):
    c, _ = s.accept()
    data = b""
    while b"\r\n\r\n" not in data:
        d = c.recv(4096)
        if not d:
            break
        data += d
    if data.startswith(b"CONNECT "):
        c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        c.shutdown(socket.SHUT_WR)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()' "$GONE" >/dev/null 2>&1 </dev/null &
TAP_PIDS="${TAP_PIDS:-} $!"
wait_port "$GONE"
codes=""
for _ in 1 2 3; do
	"$MTLSKIT" probe 127.0.0.1:443 --proxy "http://127.0.0.1:$GONE" --timeout 5 >/dev/null 2>&1
	codes="$codes$? "
done
expect_eq "a proxy that resets the tunnel: exit 5 every time, never SIGPIPE (141)" "$codes" "5 5 5 "
mtk --json probe 127.0.0.1:443 --proxy "http://127.0.0.1:$GONE" --timeout 5
expect_json "the tunnel was open: the failure is the handshake's" '.stage' handshake

HTTPP=$(free_port)
"$PY" -m http.server "$HTTPP" --bind 127.0.0.1 >/dev/null 2>&1 </dev/null &
TAP_PIDS="${TAP_PIDS:-} $!"
wait_port "$HTTPP"
mtk --json probe "127.0.0.1:$HTTPP" --timeout 5
expect_eq "plain HTTP port: exit 5" "$RC" 5
expect_json "stage handshake" '.stage' handshake
expect_match "says it is not TLS" 'does not speak TLS' "$(printf '%s' "$OUT" | jq -r .error.detail)"

# A TLS server that never answers the HTTP request: the http stage times out.
mkca root "/CN=Failures Root"
mkleaf srv "/CN=localhost" root server
S=$(free_port)
s_server "$S" -cert "$T/srv.crt" -key "$T/srv.key"
mtk --json probe "localhost:$S" --http / --method HEAD --timeout 1
expect_eq "no HTTP answer: exit 5" "$RC" 5
expect_json "stage http" '.stage' http
expect_json "MTK_E_TIMEOUT" '.error.code' MTK_E_TIMEOUT

# Usage.
expect_rc 2 "no host" "$MTLSKIT" probe
expect_rc 2 "two hosts" "$MTLSKIT" probe a b
expect_rc 2 "bad port" "$MTLSKIT" probe localhost:99999
expect_rc 2 "bad timeout" "$MTLSKIT" probe localhost --timeout soon
expect_rc 2 "bad method" "$MTLSKIT" probe localhost --http / --method POST
expect_rc 2 "--key without --cert" "$MTLSKIT" probe localhost --key k.pem
expect_rc 2 "--keystore without --alias" "$MTLSKIT" probe localhost --keystore ks.jks
expect_rc 2 "two identities" "$MTLSKIT" probe localhost --cert a --pfx b
expect_rc 0 "--help" "$MTLSKIT" probe --help
expect_match "--help shows the usage" 'Usage: mtlskit probe' "$OUT"
mtk --json probe localhost:0
expect_json "usage error in JSON" '.error.code' MTK_E_USAGE
done_testing
