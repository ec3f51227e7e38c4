# probe-fixtures.sh - sourced by tests/interop/probe-*.sh after tap.sh.
# Makes a small PKI in $T with openssl and starts servers on loopback.

# mkca NAME SUBJECT: self-signed CA $T/NAME.crt / .key
mkca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$1.key" -out "$T/$1.crt" \
		-subj "$2" -days 365 -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
# mkint NAME SUBJECT ISSUER: intermediate CA signed by ISSUER
mkint() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$1.key" -out "$T/$1.csr" -subj "$2" 2>/dev/null
	printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$T/$1.ext"
	openssl x509 -req -in "$T/$1.csr" -CA "$T/$3.crt" -CAkey "$T/$3.key" -CAcreateserial \
		-out "$T/$1.crt" -days 365 -extfile "$T/$1.ext" 2>/dev/null
}
# mkleaf NAME SUBJECT ISSUER USAGE(server|client) [DAYS]
mkleaf() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$1.key" -out "$T/$1.csr" -subj "$2" 2>/dev/null
	if [ "$4" = server ]; then
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$T/$1.ext"
	else
		printf 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n' >"$T/$1.ext"
	fi
	openssl x509 -req -in "$T/$1.csr" -CA "$T/$3.crt" -CAkey "$T/$3.key" -CAcreateserial \
		-out "$T/$1.crt" -days "${5:-200}" -extfile "$T/$1.ext" 2>/dev/null
}
# s_server PORT ARGS...: openssl s_server on 127.0.0.1:PORT in the background
s_server() {
	local port=$1
	shift
	openssl s_server -accept "127.0.0.1:$port" -www -quiet "$@" >"$T/s_server.$port.log" 2>&1 </dev/null &
	TAP_PIDS="${TAP_PIDS:-} $!"
	wait_port "$port" || diag "s_server on $port did not start: $(cat "$T/s_server.$port.log")"
}
LIBDIR="$MTLSKIT_SRC/tests/interop/lib"
# The system interpreter when there is one: a version-manager shim on PATH
# (pyenv) can cost seconds per start, and free_port starts python each time.
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
