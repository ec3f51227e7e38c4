#!/usr/bin/env bash
# probe-hostile.sh - servers and proxies that trickle bytes or send terminal
# escape sequences (lib/hostile_server.py, Python on 127.0.0.1):
#   - a byte-a-second handshake, HTTP response or CONNECT reply ends at the
#     --timeout deadline (+ 1 s at most) with exit 5 naming the stage;
#   - ESC/BEL in a status line, a reason phrase, a header value or a proxy's
#     CONNECT reply never reach stdout or stderr raw; --json stays valid;
#   - a response that is not HTTP is an HTTP-stage failure: exit 5;
#   - an oversized handshake message refused by this client is reported as
#     this client's decision, not as an alert from the server.
source "$MTLSKIT_TESTLIB"
source "$MTLSKIT_SRC/tests/interop/lib/probe-fixtures.sh"

ESC=$'\x1b'
BEL=$'\x07'
hostile() { # PORT MODE ARGS...: start hostile_server.py, wait for its port
	"$PY" "$LIBDIR/hostile_server.py" "$@" >"$T/hostile.$1.log" 2>&1 </dev/null &
	TAP_PIDS="${TAP_PIDS:-} $!"
	wait_port "$1" || diag "hostile server $2 did not start: $(cat "$T/hostile.$1.log")"
}
hex() { printf '%b' "$1" | od -An -tx1 -v | tr -d ' \n'; }
# timed ARGS...: mtk ARGS, with the wall time in $EL (seconds, 2 decimals)
timed() {
	local t0 t1
	t0=$(date +%s.%N)
	mtk "$@"
	t1=$(date +%s.%N)
	EL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
}
# within LO HI DESC: $EL is in [LO, HI]
within() {
	expect_eq "$3 (took ${EL}s, limit $2s)" \
		"$(awk -v e="$EL" -v lo="$1" -v hi="$2" 'BEGIN { print (e >= lo && e <= hi) ? "yes" : "no" }')" yes
}
no_escapes() { # DESC: neither ESC nor BEL in the last run's stdout or stderr
	expect_no_match "$1: no ESC byte on stdout" "$ESC" "$OUT"
	expect_no_match "$1: no ESC byte on stderr" "$ESC" "$ERR"
	expect_no_match "$1: no BEL byte on stdout or stderr" "$BEL" "$OUT$ERR"
}

mkca root "/CN=Hostile Root"
mkleaf srv "/CN=localhost" root server

# 1. A handshake trickled one byte a second.
P=$(free_port)
hostile "$P" trickle-hello
timed probe "127.0.0.1:$P" --timeout 3s
expect_eq "trickled handshake: exit 5" "$RC" 5
within 2.9 4.0 "trickled handshake: ends at the 3 s deadline"
expect_match "names the TLS handshake stage and the limit" \
	'^mtlskit probe: TLS handshake: 127\.0\.0\.1:[0-9]+: not finished within 3000 ms' "$ERR"
timed --json probe "127.0.0.1:$P" --timeout 2s
expect_eq "trickled handshake, --json: exit 5" "$RC" 5
within 1.9 3.0 "trickled handshake, --json: ends at the 2 s deadline"
expect_json "stage handshake" '.stage' handshake
expect_json "MTK_E_TIMEOUT" '.error.code' MTK_E_TIMEOUT

# 2. The HTTP stage trickled: the whole probe's deadline holds there too.
H=$(free_port)
hostile "$H" trickle-http "$T/srv.crt" "$T/srv.key"
timed probe "localhost:$H" --ca "$T/root.crt" --http / --timeout 3s
expect_eq "trickled HTTP response: exit 5" "$RC" 5
within 2.9 4.0 "trickled HTTP response: ends at the 3 s deadline"
expect_match "names the HTTP stage" '^mtlskit probe: HTTP: 127\.0\.0\.1:[0-9]+: no complete response within 3000 ms' "$ERR"
timed --json probe "localhost:$H" --ca "$T/root.crt" --http / --method GET --timeout 2
expect_json "stage http" '.stage' http
expect_json "HTTP timeout is MTK_E_TIMEOUT" '.error.code' MTK_E_TIMEOUT
within 1.9 3.0 "trickled HTTP response, --json: ends at the 2 s deadline"

# 3. Escape sequences in a status line / reason phrase, and a C1 control
# (U+009B, a one-character CSI) in a header value (http-parser itself
# refuses C0 controls in header values).
E=$(free_port)
hostile "$E" http "$T/srv.crt" "$T/srv.key" \
	"$(hex 'HTTP/1.1 200 \x1b]0;PWN\x07\x1b[2JOK\r\nServer: \xc2\x9b2Jevil\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')"
mtk probe "localhost:$E" --ca "$T/root.crt" --http /
expect_eq "escapes in the status line: the probe still succeeds" "$RC" 0
no_escapes "status line"
expect_match "the status line is shown escaped" 'HTTP/1\.1 200 \\x1B\]0;PWN\\x07\\x1B\[2JOK' "$OUT"
expect_match "the Server header is shown escaped" 'Server: \\xC2\\x9B2Jevil' "$OUT"
expect_no_match "no C1 CSI (U+009B) in the header on stdout" $'\xc2\x9b' "$OUT"
mtk --json probe "localhost:$E" --ca "$T/root.crt" --http /
no_escapes "status line, --json"
expect_json "--json parses, status 200" '.http.status' 200
expect_json "--json: the status line, escaped" '.http.status_line' 'HTTP/1.1 200 \x1B]0;PWN\x07\x1B[2JOK'
expect_json "--json: the header, escaped" '.http.headers.Server' '\xC2\x9B2Jevil'

R=$(free_port)
hostile "$R" http "$T/srv.crt" "$T/srv.key" \
	"$(hex 'HTTP/1.1 503 \x1b[31mDown\x1b]2;T\x07 \xc2\x9b2J for now\r\nContent-Length: 0\r\n\r\n')"
mtk probe "localhost:$R" --ca "$T/root.crt" --http / --method GET
no_escapes "reason phrase"
expect_no_match "no C1 CSI (U+009B) on stdout" $'\xc2\x9b' "$OUT"
expect_match "the reason phrase is shown escaped" '503 \\x1B\[31mDown\\x1B\]2;T\\x07 \\xC2\\x9B2J for now' "$OUT"

# 4. Not HTTP at all: an HTTP-stage failure is a network failure, exit 5.
N=$(free_port)
hostile "$N" http "$T/srv.crt" "$T/srv.key" "$(hex '\x1b]0;PWN\x07 garbage\r\n\r\n')"
mtk --json probe "localhost:$N" --ca "$T/root.crt" --http /
expect_eq "a response that is not HTTP: exit 5" "$RC" 5
expect_json "stage http" '.stage' http
expect_json "MTK_E_HTTP" '.error.code' MTK_E_HTTP
expect_json "exit 5 in the JSON error" '.error.exit' 5
mtk probe "localhost:$N" --ca "$T/root.crt" --http /
expect_eq "not HTTP, text: exit 5" "$RC" 5
expect_match "names the HTTP stage" '^mtlskit probe: HTTP: 127\.0\.0\.1:[0-9]+: not an HTTP response' "$ERR"
no_escapes "not HTTP"

# 5. A proxy whose CONNECT reply carries escapes, and one that trickles it.
X=$(free_port)
hostile "$X" proxy "$(hex 'HTTP/1.1 407 \x1b[31mEvil\x1b]0;T\x07 reason\r\nContent-Length: 0\r\n\r\n')"
mtk probe "localhost:$H" --proxy "http://127.0.0.1:$X" --timeout 5
expect_eq "a proxy refusing CONNECT: exit 5" "$RC" 5
no_escapes "CONNECT reply"
expect_match "the reason is quoted escaped, the stage named" \
	'^mtlskit probe: proxy CONNECT: 127\.0\.0\.1:[0-9]+ refused CONNECT localhost:[0-9]+: 407 \\x1B\[31mEvil\\x1B\]0;T\\x07 reason' "$ERR"
mtk --json probe "localhost:$H" --proxy "http://127.0.0.1:$X" --timeout 5
no_escapes "CONNECT reply, --json"
expect_json "--json: stage proxy" '.stage' proxy
expect_json "--json: MTK_E_PROXY" '.error.code' MTK_E_PROXY
expect_match "--json: the detail holds the escaped reason" '407 \\x1B\[31mEvil' "$(printf '%s' "$OUT" | jq -r .error.detail)"

Y=$(free_port)
hostile "$Y" proxy-trickle
timed probe "localhost:$H" --proxy "http://127.0.0.1:$Y" --timeout 2s
expect_eq "a trickling proxy: exit 5" "$RC" 5
within 1.9 3.0 "a trickling proxy: ends at the 2 s deadline"
expect_match "names the proxy CONNECT stage" \
	'^mtlskit probe: proxy CONNECT: 127\.0\.0\.1:[0-9]+ did not finish its answer within 2000 ms' "$ERR"

# 6. An oversized handshake message: this client refuses it.
B=$(free_port)
hostile "$B" big-hello
mtk --json probe "127.0.0.1:$B" --timeout 5
expect_eq "oversized ServerHello: exit 5" "$RC" 5
expect_json "MTK_E_TLS" '.error.code' MTK_E_TLS
expect_match "says this client decided" "this client refused the server's handshake and sent alert 'illegal parameter'" \
	"$(printf '%s' "$OUT" | jq -r .error.detail)"
expect_match "OpenSSL's reason is kept" 'excessive message size' "$(printf '%s' "$OUT" | jq -r .error.openssl)"
mtk probe "127.0.0.1:$B" --timeout 5
expect_no_match "never claims the server sent the alert" 'server sent alert' "$ERR"
done_testing
