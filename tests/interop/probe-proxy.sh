#!/usr/bin/env bash
# probe-proxy.sh - --proxy through tinyproxy (HTTP CONNECT): the mTLS
# handshake goes through; a proxy that refuses CONNECT and a proxy that is
# down fail with exit 5 naming the stage.
source "$MTLSKIT_TESTLIB"
source "$MTLSKIT_SRC/tests/interop/lib/probe-fixtures.sh"

if ! command -v tinyproxy >/dev/null; then
	ok "# SKIP tinyproxy is not installed"
	done_testing
fi
mkca root "/CN=Proxy Test Root/O=Example Corp"
mkleaf srv "/CN=localhost" root server
mkleaf mid "/CN=mid01.example.com" root client
S=$(free_port)
s_server "$S" -cert "$T/srv.crt" -key "$T/srv.key" -Verify 1 -verify_return_error -CAfile "$T/root.crt"

tinyproxy_start() { # PORT CONNECTPORT
	cat >"$T/tinyproxy.$1.conf" <<CONF
Port $1
Listen 127.0.0.1
Timeout 10
Allow 127.0.0.1
ConnectPort $2
MaxClients 10
LogLevel Info
CONF
	tinyproxy -d -c "$T/tinyproxy.$1.conf" >"$T/tinyproxy.$1.log" 2>&1 </dev/null &
	TAP_PIDS="${TAP_PIDS:-} $!"
	wait_port "$1" || diag "tinyproxy did not start: $(cat "$T/tinyproxy.$1.log")"
}
P=$(free_port)
tinyproxy_start "$P" "$S"
BADP=$(free_port)
tinyproxy_start "$BADP" 1

mtk --json probe "localhost:$S" --proxy "http://127.0.0.1:$P" --ca "$T/root.crt" --cert "$T/mid.crt" --key "$T/mid.key"
expect_eq "through the proxy: exit 0" "$RC" 0
expect_json "mTLS accepted through the tunnel" '.client_auth.status' accepted
expect_json "chain verified through the tunnel" '.verification.verified' true
expect_json "the proxy is reported" '.proxy' "http://127.0.0.1:$P"
expect_match "tinyproxy logged our CONNECT" "CONNECT.*localhost:$S|Established connection to host \"localhost\"|connect.*localhost" \
	"$(cat "$T/tinyproxy.$P.log")"

mtk --json probe "localhost:$S" --proxy "http://127.0.0.1:$BADP"
expect_eq "proxy refusing CONNECT: exit 5" "$RC" 5
expect_json "stage proxy" '.stage' proxy
expect_json "MTK_E_PROXY" '.error.code' MTK_E_PROXY
expect_match "the proxy's answer is quoted" '403' "$(printf '%s' "$OUT" | jq -r .error.detail)"
mtk probe "localhost:$S" --proxy "http://127.0.0.1:$BADP"
expect_match "one line naming the proxy stage" '^mtlskit probe: proxy CONNECT: .*refused CONNECT' "$ERR"
expect_eq "exactly one line on stderr" "$(printf '%s\n' "$ERR" | wc -l)" 1

DOWN=$(free_port)
mtk --json probe "localhost:$S" --proxy "http://127.0.0.1:$DOWN"
expect_eq "proxy down: exit 5" "$RC" 5
expect_json "stage connect (to the proxy)" '.stage' connect
expect_match "the proxy is named" 'proxy 127.0.0.1' "$(printf '%s' "$OUT" | jq -r .error.detail)"

mtk probe "localhost:$S" --proxy "socks5://127.0.0.1:$P"
expect_eq "non-http proxy URL: usage error" "$RC" 2
mtk probe "localhost:$S" --proxy "http://user:pw@127.0.0.1:$P"
expect_eq "credentials in the proxy URL refused" "$RC" 2
done_testing
