# expiry-fixtures.bash - fixtures shared by tests/cli/expiry-*.sh (sourced; not
# named *.sh so the suite does not run it as a test).  Makes a CA in $T/ca for
# `openssl ca`, so certificates can carry any start and end date (no faketime).
mk_ca() {
	mkdir -p "$T/ca/newcerts"
	: >"$T/ca/index.txt"
	echo 1000 >"$T/ca/serial"
	cat >"$T/ca/ca.cnf" <<CNF
[ca]
default_ca = d
[d]
dir = $T/ca
database = $T/ca/index.txt
new_certs_dir = $T/ca/newcerts
serial = $T/ca/serial
default_md = sha256
policy = p
unique_subject = no
email_in_dn = no
[p]
commonName = supplied
organizationName = optional
organizationalUnitName = optional
[req]
distinguished_name = dn
[dn]
CNF
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca/ca.key" \
		-out "$T/ca/ca.pem" -subj "/O=Expiry Test/CN=Expiry Test CA" -days 3650 2>/dev/null
}
# mk_cert NAME CN START END   (dates as YYYYMMDDHHMMSSZ) -> $T/NAME.pem, $T/NAME.key
mk_cert() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$1.key" \
		-out "$T/$1.csr" -subj "/O=Expiry Test/CN=$2" 2>/dev/null
	openssl ca -batch -config "$T/ca/ca.cnf" -cert "$T/ca/ca.pem" -keyfile "$T/ca/ca.key" \
		-in "$T/$1.csr" -out "$T/$1.pem" -startdate "$3" -enddate "$4" -notext 2>/dev/null
}
# A date N days from now, in openssl ca's format.
days_from_now() { date -u -d "@$(($(date +%s) + $1 * 86400))" +%Y%m%d%H%M%SZ; }
# notAfter as openssl prints it, converted to epoch seconds.
enddate_epoch() { date -u -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%s; }
