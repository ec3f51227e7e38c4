#!/usr/bin/env bash
# expiry-endpoint.sh - a TLS endpoint on loopback (openssl s_server): the
# chain as sent, with the dates openssl reports; a closed port and a silent
# server are per-operand errors with exit 5 when nothing else was read.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "${BASH_SOURCE[0]}")/expiry-fixtures.bash"

mk_ca
mk_cert srv "localhost" "$(days_from_now -1)" "$(days_from_now 20)"
port=$(free_port)
openssl s_server -accept "127.0.0.1:$port" -cert "$T/srv.pem" -key "$T/srv.key" \
	-cert_chain "$T/ca/ca.pem" -www -quiet </dev/null >/dev/null 2>&1 &
TAP_PIDS="${TAP_PIDS:-} $!"
wait_port "$port" || diag "s_server did not start"

mtk --json expiry --within 30d "127.0.0.1:$port"
expect_eq "an expiring server certificate with --within exits 1" "$RC" 1
expect_json "the server's chain: leaf and CA" '.certificates | length' 2
expect_json "leaf first (soonest), as the endpoint" '.certificates[0].endpoint' "127.0.0.1:$port"
expect_json "leaf at depth 0" '.certificates[0].depth' 0
expect_json "leaf notAfter is what openssl says" '.certificates[0].not_after_epoch' "$(enddate_epoch "$T/srv.pem")"
expect_json "leaf subject" '.certificates[0].subject' \
	"$(openssl x509 -in "$T/srv.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')"
expect_json "leaf status expiring" '.certificates[0].status' expiring
expect_json "CA at depth 1" '.certificates[1].depth' 1
expect_json "CA notAfter is what openssl says" '.certificates[1].not_after_epoch' "$(enddate_epoch "$T/ca/ca.pem")"
expect_json "source is tls" '.certificates[0].source' tls
expect_json "summary counts the endpoint" '.summary.endpoints' 1

# Files and endpoints together, sorted as one list.
mk_cert file "file.example.com" "$(days_from_now -1)" "$(days_from_now 5)"
mtk --json expiry "$T/file.pem" "tls://127.0.0.1:$port"
expect_json "tls:// form, and files and endpoints in one sorted list" \
	'[.certificates[] | .path // .endpoint] | join(" ")' "$T/file.pem 127.0.0.1:$port 127.0.0.1:$port"

# A closed port: connection refused, exit 5 when nothing else was read.
closed=$(free_port)
mtk --json expiry "127.0.0.1:$closed"
expect_eq "a closed port exits 5" "$RC" 5
expect_json "connection refused is MTK_E_CONNECT" '.errors[0].code' MTK_E_CONNECT
expect_json "the error names the endpoint" '.errors[0].path' "127.0.0.1:$closed"
# ...and with a readable file beside it, the file is reported, and the named
# endpoint that failed still sets the exit status (the worst of the inputs).
mtk --json expiry "127.0.0.1:$closed" "$T/file.pem"
expect_eq "a failed endpoint beside a good file exits 5" "$RC" 5
expect_json "the file's certificate is reported" '.certificates | length' 1

# A server that accepts and never answers: the handshake timeout fires.
silent=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
c, _ = s.accept(); time.sleep(30)' "$silent" &
TAP_PIDS="${TAP_PIDS:-} $!"
wait_port "$silent" || diag "silent server did not start"
mtk --json expiry --timeout 1 "127.0.0.1:$silent"
expect_eq "a silent server exits 5" "$RC" 5
expect_json "the handshake times out" '.errors[0].code' MTK_E_TIMEOUT
# A server that accepts and closes at once (RST): OpenSSL's write of the
# ClientHello must give exit 5, never death by SIGPIPE (141); 10 tries, since
# the race decides whether the write or the read sees the close first.
hangup=$(free_port)
python3 -c '
import socket, struct, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
for _ in range(10):
    c, _ = s.accept()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()' "$hangup" &
TAP_PIDS="${TAP_PIDS:-} $!"
wait_port "$hangup" || diag "hang-up server did not start"
codes=""
for _ in 1 2 3 4 5 6 7 8 9; do
	"$MTLSKIT" expiry --timeout 2 "127.0.0.1:$hangup" >/dev/null 2>&1
	codes="$codes$? "
done
expect_eq "a server that hangs up: exit 5 every time, never SIGPIPE" "$codes" "5 5 5 5 5 5 5 5 5 "
expect_rc 2 "--timeout 0 is a usage error" "$MTLSKIT" expiry --timeout 0 "127.0.0.1:$port"
done_testing
