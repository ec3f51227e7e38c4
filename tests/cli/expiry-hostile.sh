#!/usr/bin/env bash
# expiry-hostile.sh - endpoints cannot stall a scan or write to the terminal:
# a server that trickles its handshake a byte a second is cut at the
# --timeout deadline (+ 1 s at most) with exit 5 naming the stage, whatever
# form the duration takes; an oversized handshake message is this client's
# refusal, not the server's alert; a file name with escape sequences is
# printed escaped.  Servers: tests/interop/lib/hostile_server.py on 127.0.0.1.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "${BASH_SOURCE[0]}")/expiry-fixtures.bash"

HOSTILE="$MTLSKIT_SRC/tests/interop/lib/hostile_server.py"
PY=$(command -v /usr/bin/python3 || command -v python3)
hostile() { # PORT MODE
	"$PY" "$HOSTILE" "$@" >"$T/hostile.$1.log" 2>&1 </dev/null &
	TAP_PIDS="${TAP_PIDS:-} $!"
	wait_port "$1" || diag "hostile server $2 did not start: $(cat "$T/hostile.$1.log")"
}
timed() { # ARGS...: mtk ARGS, wall time in $EL
	local t0 t1
	t0=$(date +%s.%N)
	mtk "$@"
	t1=$(date +%s.%N)
	EL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
}
within() { # LO HI DESC
	expect_eq "$3 (took ${EL}s, limit $2s)" \
		"$(awk -v e="$EL" -v lo="$1" -v hi="$2" 'BEGIN { print (e >= lo && e <= hi) ? "yes" : "no" }')" yes
}

P=$(free_port)
hostile "$P" trickle-hello

timed expiry "127.0.0.1:$P" --timeout 3
expect_eq "a trickled handshake exits 5" "$RC" 5
within 2.9 4.0 "--timeout 3 is a total for the handshake"
expect_match "the error names the endpoint and the TLS handshake stage" \
	"^mtlskit expiry: 127\.0\.0\.1:$P: TLS handshake: not finished within 3000 ms" "$ERR"

timed --json expiry "127.0.0.1:$P" --timeout 2s
expect_eq "--timeout 2s (a duration, as probe takes): exit 5" "$RC" 5
within 1.9 3.0 "--timeout 2s ends at 2 s"
expect_json "MTK_E_TIMEOUT" '.errors[0].code' MTK_E_TIMEOUT
expect_json "the error's exit is 5" '.errors[0].exit' 5
expect_match "the message names the stage" '^TLS handshake: not finished within 2000 ms' \
	"$(printf '%s' "$OUT" | jq -r '.errors[0].message')"

timed expiry "127.0.0.1:$P" --timeout 700ms
expect_eq "--timeout 700ms: exit 5" "$RC" 5
within 0.6 1.7 "--timeout 700ms ends at 0.7 s"

# Two trickling endpoints: each gets its own deadline, the scan ends after
# both (about 2 x 1 s), not never.
timed --json expiry "127.0.0.1:$P" "tls://127.0.0.1:$P" --timeout 1s
expect_json "both endpoints are listed as errors" '.errors | length' 2
within 1.9 3.0 "two trickling endpoints: 2 x 1 s"

expect_rc 2 "--timeout soon is a usage error" "$MTLSKIT" expiry --timeout soon "127.0.0.1:$P"
expect_rc 2 "--timeout 0 is a usage error" "$MTLSKIT" expiry --timeout 0 "127.0.0.1:$P"
expect_rc 2 "--timeout over 600 s is a usage error" "$MTLSKIT" expiry --timeout 601s "127.0.0.1:$P"

# An oversized ServerHello: OpenSSL in this client refuses it.
B=$(free_port)
hostile "$B" big-hello
mtk --json expiry "127.0.0.1:$B" --timeout 5
expect_eq "an oversized handshake message exits 5" "$RC" 5
expect_json "MTK_E_TLS" '.errors[0].code' MTK_E_TLS
expect_match "says this client refused it, with OpenSSL's reason" \
	"^TLS handshake: this client refused the server's handshake \(excessive message size\)" \
	"$(printf '%s' "$OUT" | jq -r '.errors[0].message')"
expect_no_match "does not blame a server alert" 'server sent alert' "$OUT"

# A file name with escape sequences is listed escaped, on stdout and stderr.
mk_ca
mkdir -p "$T/evil"
cp "$T/ca/ca.pem" "$T/evil/"$'ca\x1b]0;PWN\x07.pem'
printf -- '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' >"$T/evil/"$'bad\x1b[2J.pem'
mtk expiry "$T/evil"
expect_no_match "no ESC byte on stdout" $'\x1b' "$OUT"
expect_no_match "no ESC byte on stderr" $'\x1b' "$ERR"
expect_match "the certificate's file is shown escaped" 'ca\\x1B\]0;PWN\\x07\.pem' "$OUT"
expect_match "the broken file's error is shown escaped" 'bad\\x1B\[2J\.pem' "$ERR"
done_testing
