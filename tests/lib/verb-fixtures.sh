# verb-fixtures.sh - the inputs that the per-verb table tests (exit-status.sh,
# json-schema.sh) share, made in the current directory with mtlskit and
# openssl: a CA (ca/, root + issuing), a client key and certificate
# (c.key, c.crt, chain.pem), the MID bundle, a PFX (password right-pass), a
# JKS with the key entry (s.jks), a MID agent directory (agent/), a file that
# is not a certificate (junk.pem); GOOD/WRONG passwords in the environment;
# a closed port ($closed) and a TLS server on $port (killed at exit).
verb_fixtures() { # CA_NAME
	local M=$MTLSKIT
	$M ca init ca --name "$1 Root CA" --intermediate "$1 Issuing CA" >/dev/null 2>&1
	$M csr create --cn mid01.example.com --org Example --country US --new-key ec:P-256 --key-out c.key \
		-o c.csr >/dev/null 2>&1
	$M ca sign ca c.csr --profile client -o c.crt --chain-out chain.pem >/dev/null 2>&1
	$M bundle c.crt chain.pem c.key -o bundle.pem >/dev/null 2>&1
	openssl pkcs12 -export -in c.crt -inkey c.key -passout pass:right-pass -out c.p12 2>/dev/null
	printf 'this is not a certificate\n' >junk.pem
	$M keystore add-key s.jks --alias mid c.crt c.key chain.pem -q
	mkdir -p agent && echo "<parameters/>" >agent/config.xml
	export GOOD=right-pass WRONG=wrong-pass
	closed=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.pem \
		-days 30 -subj "/CN=localhost" 2>/dev/null
	timeout 120 openssl s_server -accept "127.0.0.1:$port" -cert srv.pem -key srv.key -quiet -www \
		>/dev/null 2>&1 </dev/null &
	TAP_PIDS="${TAP_PIDS:-} $!"
	for _ in $(seq 1 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
		sleep 0.1
	done
}
