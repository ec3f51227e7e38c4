#!/usr/bin/env bash
# gateway-smuggle.sh - a differential request-smuggling suite (issue 14).
#
# Over 100 raw request variants (tests/interop/lib/smuggle_variants.py: field
# name and colon whitespace, Content-Length / Transfer-Encoding permutations
# and spellings, obs-fold, bare CR/LF, NUL, chunk sizes and extensions,
# trailers, pipelining after bodies and errors, HTTP/1.0 keep-alive, Expect,
# "_"/"-" identity names, X-Forwarded-For spoofing, the opening attack of the
# issue) are sent over mTLS as alice (mapped, low privilege) through four
# gateways, each in front of a backend with a different parser: nginx, Node.js
# `http`, Python `http.server`, Python `wsgiref`. Every backend logs each
# request it parsed and the identity it saw. For every variant and backend:
# the client got the expected status(es); the backend parsed exactly the
# requests the gateway logged as forwarded (and those the contract says);
# each carried alice's identity and nothing else.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "$0")/lib/gw-fixtures.sh"

NODE=$(command -v node || command -v nodejs)
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -n "$NODE" ] || { not_ok "node is installed (scripts/deps.sh test)"; done_testing; }
[ -x "$NGINX" ] || { not_ok "nginx is installed (scripts/deps.sh test)"; done_testing; }

gw_pki

# --- the four backends, each logging JSON lines to $T/be-NAME.jsonl
declare -A BPORT
BPORT[nginx]=$(free_port)
mkdir -p "$T/nginx"
nguser=""
[ "$(id -u)" -eq 0 ] && nguser="user root;" # workers must reach the private temp dirs in $T
sed -e "s|@DIR@|$T/nginx|g; s|@PORT@|${BPORT[nginx]}|; s|@USER@|$nguser|" \
	"$GW_LIB/smuggle_nginx.conf" >"$T/nginx/nginx.conf"
"$NGINX" -p "$T/nginx" -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf" 2>>"$T/nginx/stderr" &
TAP_PIDS="${TAP_PIDS:-} $!"
BPORT[node]=$(free_port)
"$NODE" "$GW_LIB/smuggle_backend.js" "${BPORT[node]}" "$T/be-node.jsonl" 2>>"$T/node.stderr" &
TAP_PIDS="${TAP_PIDS:-} $!"
BPORT[http.server]=$(free_port)
"$GW_PY" "$GW_LIB/smuggle_backend.py" --kind http --port "${BPORT[http.server]}" --log "$T/be-http.server.jsonl" \
	2>>"$T/http.stderr" &
TAP_PIDS="${TAP_PIDS:-} $!"
BPORT[wsgiref]=$(free_port)
"$GW_PY" "$GW_LIB/smuggle_backend.py" --kind wsgi --port "${BPORT[wsgiref]}" --log "$T/be-wsgiref.jsonl" \
	2>>"$T/wsgi.stderr" &
TAP_PIDS="${TAP_PIDS:-} $!"

# --- one gateway per backend
BES="nginx node http.server wsgiref"
targets=() specs=()
for be in $BES; do
	if wait_port "${BPORT[$be]}"; then ok "backend $be listens"; else not_ok "backend $be listens"; diag "$(cat "$T"/*.stderr "$T/nginx/error.log" 2>/dev/null | tail -5)"; fi
	gw_conf "$T/gw-$be.conf" "${BPORT[$be]}" "max_body 4096" "idle_timeout 5s" "header_timeout 5s"
	if gw_start "$be" "$T/gw-$be.conf"; then ok "gateway in front of $be starts"; else not_ok "gateway in front of $be starts"; continue; fi
	targets+=("$be=$GW_PORT")
	blog="$T/be-$be.jsonl"
	[ "$be" = nginx ] && blog="$T/nginx/access.jsonl"
	# wsgiref closes after every answer: the gateway may then close the client's connection
	[ "$be" = wsgiref ] && blog="$blog:closes"
	specs+=("$be=$GW_LOG:$blog")
done

# --- send every variant to every gateway (a few connections at once)
start=$(date +%s)
run "$GW_PY" "$GW_LIB/smuggle_client.py" send "$T/srv/ca.pem" "$T/alice.pem" "$T/alice.key" "$T/results.jsonl" "${targets[@]}"
expect_eq "the client ran every variant against every gateway" "$RC" 0
[ "$RC" = 0 ] || diag "$ERR"
diag "variants sent in $(($(date +%s) - start)) s"
sleep 0.5 # the backends' last log lines

# --- judge: status, gateway log vs backend log, identity, per variant and backend
run "$GW_PY" "$GW_LIB/smuggle_client.py" check "$T/results.jsonl" "${specs[@]}"
[ "$RC" = 0 ] || { not_ok "the judge ran"; diag "$ERR"; }
while IFS=$'\t' read -r desc got want; do
	[ -n "$desc" ] && expect_eq "$desc" "$got" "$want"
done <<<"$OUT"

# --- the gateways' own output stays JSON
for be in $BES; do
	bad=$(cat "$T/gw-$be.stderr" "$T/gw-$be.log" 2>/dev/null | jq -R -r '. as $l | try (fromjson | empty) catch $l' | head -3)
	expect_eq "gateway in front of $be: every stderr and log line is JSON" "$bad" ""
done
gw_finish
done_testing
