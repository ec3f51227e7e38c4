# gw-fixtures.sh - sourced by tests/interop/gateway-*.sh (after tap.sh).
#
# Builds a small PKI in $T with `openssl ca` (real dates, real CRLs):
#   srv/      server CA; srv-ec.pem/.key (ECDSA P-256), srv-rsa.pem/.key (RSA 2048),
#             both for IP 127.0.0.1, chains leaf -> CA in the .pem
#   ca1/      client CA 1: alice (mapped), carol (unmapped), expired, revoked, noeku
#   ca2/      client CA 2 (the "new" CA of a rotation): bob (mapped)
#   ca3/      a CA the gateway does not trust: mallory
#   crl1.pem / crl2.pem   CRLs of ca1 (revokes "revoked") and ca2
#   users.map  alice, bob, expired, revoked, noeku mapped by fingerprint
# and helpers to start the echo backend and the gateway on free ports.
: "${MTLSKIT_GATEWAY:?MTLSKIT_GATEWAY must point at mtlskit-gateway}"
GW_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The system interpreter: a pyenv shim first in PATH costs seconds per call.
GW_PY=$(command -v /usr/bin/python3 || command -v python3)

_gw_cnf() { # DIR
	cat >"$1/ca.cnf" <<CNF
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = $1
database = $1/index.txt
new_certs_dir = $1/new
certificate = $1/ca.pem
private_key = $1/ca.key
serial = $1/serial
default_md = sha256
policy = policy_any
default_days = 365
default_crl_days = 30
unique_subject = no
copy_extensions = none
[ policy_any ]
commonName = supplied
[ client_ext ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
[ noeku_ext ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
[ server_ext ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
CNF
}

gw_mkca() { # NAME "CN"
	local d="$T/$1"
	mkdir -p "$d/new"
	: >"$d/index.txt"
	echo 1000 >"$d/serial"
	_gw_cnf "$d"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/ca.key" 2>/dev/null
	openssl req -x509 -new -key "$d/ca.key" -subj "/CN=$2/O=mtlskit tests" -days 3650 \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out "$d/ca.pem" 2>/dev/null
}

# gw_issue CA NAME EXT [KEYSPEC] [openssl ca options...]: $T/NAME.key, $T/NAME.pem (leaf), $T/NAME-chain.pem
gw_issue() {
	local ca=$1 name=$2 ext=$3 keyspec=${4:-ec}
	shift 3
	[ $# -gt 0 ] && shift
	if [ "$keyspec" = rsa ]; then
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/$name.key" 2>/dev/null
	else
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/$name.key" 2>/dev/null
	fi
	openssl req -new -key "$T/$name.key" -subj "/CN=$name.example.com/O=Example Corp" -out "$T/$name.csr" 2>/dev/null
	openssl ca -batch -config "$T/$ca/ca.cnf" -extensions "$ext" -in "$T/$name.csr" -out "$T/$name.pem" \
		-notext -preserveDN "$@" 2>/dev/null
	cat "$T/$name.pem" "$T/$ca/ca.pem" >"$T/$name-chain.pem"
}

gw_fp() { # CERT -> sha256:AB:CD...
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=/sha256:/'
}
gw_fphex() { # CERT -> lower-case hex, no colons
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//; s/://g' | tr 'A-F' 'a-f'
}

gw_pki() {
	gw_mkca srv "Test Server CA"
	gw_mkca ca1 "Client CA One"
	gw_mkca ca2 "Client CA Two"
	gw_mkca ca3 "Untrusted CA"
	gw_issue srv srv-ec server_ext ec
	gw_issue srv srv-rsa server_ext rsa
	gw_issue ca1 alice client_ext
	gw_issue ca1 carol client_ext
	gw_issue ca1 expired client_ext ec -startdate 20200101000000Z -enddate 20210101000000Z
	gw_issue ca1 revoked client_ext
	gw_issue ca1 noeku noeku_ext
	gw_issue ca1 rsauser client_ext rsa
	gw_issue ca2 bob client_ext
	gw_issue ca3 mallory client_ext
	openssl ca -batch -config "$T/ca1/ca.cnf" -revoke "$T/revoked.pem" 2>/dev/null
	openssl ca -batch -config "$T/ca1/ca.cnf" -gencrl -out "$T/crl1.pem" 2>/dev/null
	openssl ca -batch -config "$T/ca2/ca.cnf" -gencrl -out "$T/crl2.pem" 2>/dev/null
	{
		echo "# user  roles  match"
		echo "alice   mid_server,itil   $(gw_fp "$T/alice.pem")"
		echo "bob     mid_server        $(gw_fp "$T/bob.pem")"
		echo "expired mid_server        $(gw_fp "$T/expired.pem")"
		echo "revoked mid_server        $(gw_fp "$T/revoked.pem")"
		echo "noeku   -                 $(gw_fp "$T/noeku.pem")"
		echo "rsauser mid_server        $(gw_fp "$T/rsauser.pem")"
	} >"$T/users.map"
}

# gw_backend NAME [--proxy-v2]: starts the echo backend; sets BACKEND_PORT.
gw_backend() {
	local name=$1
	shift
	BACKEND_PORT=$(free_port)
	"$GW_PY" "$GW_LIB/echo_backend.py" --port "$BACKEND_PORT" --name "$name" "$@" 2>>"$T/backend-$name.log" &
	TAP_PIDS="${TAP_PIDS:-} $!"
	wait_port "$BACKEND_PORT" || diag "backend $name did not start"
}

# gw_conf FILE BACKEND_PORT [extra lines...]: a configuration on ephemeral ports.
gw_conf() {
	local f=$1 bport=$2
	shift 2
	{
		echo "listen 127.0.0.1:0"
		echo "admin_listen 127.0.0.1:0"
		echo "cert $T/srv-ec-chain.pem"
		echo "key $T/srv-ec.key"
		echo "cert $T/srv-rsa-chain.pem"
		echo "key $T/srv-rsa.key"
		echo "ca $T/ca1/ca.pem"
		echo "usermap $T/users.map"
		echo "backend 127.0.0.1:$bport"
		echo "workers 2"
		for l in "$@"; do echo "$l"; done
	} >"$f"
}

# gw_start NAME CONF [flags...]: runs the gateway; sets GW_PID, GW_PORT, GW_ADMIN, GW_LOG.
gw_start() {
	local name=$1 conf=$2
	shift 2
	GW_LOG="$T/gw-$name.log"
	rm -f "$T/gw-$name.ready"
	"$MTLSKIT_GATEWAY" --config "$conf" --ready-file "$T/gw-$name.ready" --access-log "$GW_LOG" "$@" \
		2>>"$T/gw-$name.stderr" &
	GW_PID=$!
	TAP_PIDS="${TAP_PIDS:-} $GW_PID"
	GW_ALL="${GW_ALL:-} $GW_PID"
	for _ in $(seq 1 100); do
		[ -s "$T/gw-$name.ready" ] && break
		kill -0 "$GW_PID" 2>/dev/null || break
		sleep 0.1
	done
	GW_PORT=$(jq -r .port "$T/gw-$name.ready" 2>/dev/null)
	GW_ADMIN=$(jq -r '.admin_port // empty' "$T/gw-$name.ready" 2>/dev/null)
	if [ -z "$GW_PORT" ]; then
		diag "gateway $name did not start:" "$(cat "$T/gw-$name.stderr" 2>/dev/null)"
		return 1
	fi
	wait_port "$GW_PORT"
}

# gw_curl CLIENT [curl args...]: an mTLS request to the gateway as CLIENT.
gw_curl() {
	local who=$1
	shift
	run curl -sS --max-time 10 --cacert "$T/srv/ca.pem" --cert "$T/$who.pem" --key "$T/$who.key" \
		-w '\n%{http_code}' "$@"
}
# Last line of OUT: the HTTP status curl saw (000 when no response).
http_code() { printf '%s' "$OUT" | tail -n 1; }
metric() { # NAME{labels} -> value from /metrics
	curl -s "http://127.0.0.1:$GW_ADMIN/metrics" | awk -v m="$1" '{ v = $NF; $NF = ""; sub(/ $/, ""); if ($0 == m) print v }'
}

# gw_finish: stops every gateway this test started with SIGTERM (a clean exit,
# so ASan/LSan report leaks) and checks their stderr for sanitizer reports.
gw_finish() {
	local p rc=0
	for p in ${GW_ALL:-}; do kill -TERM "$p" 2>/dev/null; done
	for p in ${GW_ALL:-}; do
		for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		wait "$p" 2>/dev/null || rc=$?
	done
	expect_no_match "gateways exit cleanly: no sanitizer report" \
		'(AddressSanitizer|LeakSanitizer|runtime error|Assertion)' "$(cat "$T"/gw-*.stderr 2>/dev/null)"
	GW_ALL=""
}
