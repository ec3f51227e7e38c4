#!/usr/bin/env bash
# bench/ca.sh - mtlskit csr create / ca sign against the openssl commands
# that do the same work; prints mtlskit time / openssl time (target <= 1.0).
#
#   bench/ca.sh [path/to/mtlskit]        (default: build/cli/mtlskit)
#   bench/ca.sh index [path/to/mtlskit]  ca sign / revoke / crl against
#       `openssl ca` on indexes of 10 and of INDEX_N (100,000) issued
#       certificates, generated with the same random serials in each tool's
#       index format (1% revoked).  Targets: at INDEX_N, <= 1.5x openssl ca
#       and <= 2x mtlskit's own time at 10.
#
# Needs hyperfine and jq.  Results: docs/perf/ca.md.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
MODE=basic
if [ "${1:-}" = index ]; then
	MODE=index
	shift
fi
M=$(readlink -f "${1:-$here/build/cli/mtlskit}")
W=$(mktemp -d "${TMPDIR:-/tmp}/mtk-bench-ca.XXXXXX")
[ -n "${KEEP:-}" ] || trap 'rm -rf "$W"' EXIT
cd "$W"
RUNS=${RUNS:-40}

"$M" ca init ca --name "Bench Root" --intermediate "Bench Issuing" --key-type ec:P-256 >/dev/null
"$M" csr create --cn mid01.example.com --org "Example Corp" --country US --san DNS:mid01.example.com \
	--new-key ec:P-256 --key-out leaf.key -o leaf.csr >/dev/null

# --- bench/ca.sh index: ca sign / revoke / crl at 10 and at N issued
# certificates, mtlskit against `openssl ca` ---
index_mode() {
	N=${INDEX_N:-100000}
	RUNS=${INDEX_RUNS:-15}

	mkdir -p oca/certs
	echo 01 >oca/crlnumber
	echo "unique_subject = no" >oca/index.txt.attr
	cat >oca.cnf <<-'CNF'
	[ca]
	default_ca = bench
	[bench]
	database = oca/index.txt
	serial = oca/serial
	crlnumber = oca/crlnumber
	new_certs_dir = oca/certs
	certificate = ca/issuing.crt
	private_key = ca/issuing.key
	default_md = sha256
	default_days = 365
	default_crl_days = 7
	policy = policy_any
	unique_subject = no
	copy_extensions = copy
	email_in_dn = no
	x509_extensions = leaf_ext
	crl_extensions = crl_ext
	[policy_any]
	countryName = optional
	organizationName = optional
	commonName = supplied
	[leaf_ext]
	basicConstraints = critical,CA:FALSE
	keyUsage = critical,digitalSignature
	extendedKeyUsage = clientAuth
	subjectKeyIdentifier = hash
	authorityKeyIdentifier = keyid:always
	[crl_ext]
	authorityKeyIdentifier = keyid:always
	CNF

	# The same entries in both formats: random 128-bit serials (the last word
	# is the line number, so they are distinct), expiry 2027, every 100th
	# revoked.  mtlskit: status serial not_after revoked_at reason profile
	# subject; openssl ca: status not_after revoked_at[,reason] serial file
	# subject.
	gen_index() { # COUNT MTLSKIT_OUT OPENSSL_OUT
		awk -v n="$1" -v mo="$2" -v oo="$3" 'BEGIN {
			srand(16);
			print "# mtlskit CA index: status\tserial\tnot_after\trevoked_at\treason\tprofile\tsubject" > mo;
			for (k = 0; k < n; k++) {
				s = sprintf("%08X%08X%08X%08X", 1 + int(rand() * 2147483646), int(rand() * 4294967295),
					    int(rand() * 4294967295), k);
				cn = sprintf("host%06d.example.com", k);
				if (k % 100 == 42) {
					printf "R\t%s\t20270101000000Z\t20260102000000Z\tsuperseded\tclient\tCN=%s,O=Example Corp,C=US\n", s, cn > mo;
					printf "R\t270101000000Z\t260102000000Z,superseded\t%s\tunknown\t/C=US/O=Example Corp/CN=%s\n", s, cn > oo;
				} else {
					printf "V\t%s\t20270101000000Z\t-\t-\tclient\tCN=%s,O=Example Corp,C=US\n", s, cn > mo;
					printf "V\t270101000000Z\t\t%s\tunknown\t/C=US/O=Example Corp/CN=%s\n", s, cn > oo;
				}
			}
		}'
	}
	ossl_ca() { openssl ca -config oca.cnf -batch -notext "$@" 2>/dev/null; }

	for n in 10 "$N"; do
		gen_index "$n" "m$n.base" "o$n.base"
		# openssl ca's next serial: fresh and random, as mtlskit's are
		openssl rand -hex 16 | tr a-f A-F | sed 's/^./4/' >oca/serial
		# Both tools accept the generated index: each signs one certificate on
		# it, which the revoke runs then revoke.
		cp "m$n.base" ca/index.txt
		"$M" ca sign ca leaf.csr --profile client --days 365 -o "m$n.crt" --force >/dev/null
		cp ca/index.txt "m$n.rev"
		cp "o$n.base" oca/index.txt
		ossl_ca -in leaf.csr -out "o$n.crt"
		cp oca/index.txt "o$n.rev"
		echo "index of $n: mtlskit $(grep -c '^[VR]' "m$n.rev") entries, openssl $(grep -c '^[VR]' "o$n.rev")"
	done

	# One hyperfine call per operation; its commands in the order
	# mtlskit@10, openssl@10, mtlskit@N, openssl@N.  --prepare puts the index
	# back before every run, so each run sees the same size.  mtlskit writes
	# the index with fsync (temporary file, rename); openssl ca does not.
	hf() { # NAME then 4 x (PREPARE COMMAND)
		local name=$1 args=()
		shift
		while [ $# -gt 0 ]; do
			# sync: the copy's dirty pages are written before the timed run,
		# not by the first fsync inside it
		args+=(--prepare "sh -c '$1 && sync'" "$2")
			shift 2
		done
		hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$name.json" "${args[@]}" >/dev/null
	}
	O="openssl ca -config oca.cnf -batch -notext"
	hf sign \
		"cp m10.base ca/index.txt" "$M ca sign ca leaf.csr --profile client --days 365 -o m.crt --force" \
		"cp o10.base oca/index.txt" "$O -in leaf.csr -out o.crt" \
		"cp m$N.base ca/index.txt" "$M ca sign ca leaf.csr --profile client --days 365 -o m.crt --force" \
		"cp o$N.base oca/index.txt" "$O -in leaf.csr -out o.crt"
	hf revoke \
		"cp m10.rev ca/index.txt" "$M ca revoke ca m10.crt --reason superseded" \
		"cp o10.rev oca/index.txt" "$O -revoke o10.crt -crl_reason superseded" \
		"cp m$N.rev ca/index.txt" "$M ca revoke ca m$N.crt --reason superseded" \
		"cp o$N.rev oca/index.txt" "$O -revoke o$N.crt -crl_reason superseded"
	hf crl \
		"cp m10.rev ca/index.txt" "$M ca crl ca -o m.crl --scope leaf --days 7 --force" \
		"cp o10.rev oca/index.txt" "$O -gencrl -crldays 7 -out o.crl" \
		"cp m$N.rev ca/index.txt" "$M ca crl ca -o m.crl --scope leaf --days 7 --force" \
		"cp o$N.rev oca/index.txt" "$O -gencrl -crldays 7 -out o.crl"
	echo "revoked in the last CRLs: mtlskit $(openssl crl -in m.crl -noout -text | grep -c 'Serial Number'), openssl $(openssl crl -in o.crl -noout -text | grep -c 'Serial Number')"

	echo "work directory: $W ($(df -T "$W" | awk 'NR==2 {print $2}')); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
	table '.mean'
	echo
	echo "CPU time (user + system):"
	table '(.user + .system)'
}
# table JQ_EXPR: one row per operation from hyperfine's results, in ms
table() {
	echo "| operation | mtlskit @10 | openssl @10 | mtlskit @$N | openssl @$N | mtlskit / openssl @$N | mtlskit @$N / @10 |"
	echo "|---|---|---|---|---|---|---|"
	for op in sign revoke crl; do
		jq -r --arg op "$op" "[.results[] | $1 * 1000] | \"\\(\$op)\\t\\(.[0])\\t\\(.[1])\\t\\(.[2])\\t\\(.[3])\"" "$op.json" |
			awk -F'\t' '{ printf "| %s | %.1f ms | %.1f ms | %.1f ms | %.1f ms | %.2f | %.2f |\n", $1, $2, $3, $4, $5, $4/$5, $4/$2 }'
	done
}
if [ "$MODE" = index ]; then
	index_mode
	exit 0
fi

cat >ext.cnf <<'CNF'
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF

subj="/C=US/ST=California/L=San Diego/O=Example Corp/CN=mid01.example.com"
hyperfine -N --warmup 3 --runs "$RUNS" --export-json csr.json \
	-n "mtlskit csr create --new-key ec:P-256" \
	"$M csr create --subject '$subj' --usage client --new-key ec:P-256 --key-out m.key -o m.csr --force" \
	-n "openssl req -new -newkey ec P-256" \
	"openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout o.key -out o.csr -subj '$subj' -addext 'keyUsage=critical,digitalSignature' -addext 'extendedKeyUsage=clientAuth'" \
	>/dev/null

hyperfine -N --warmup 3 --runs "$RUNS" --export-json sign.json \
	-n "mtlskit ca sign" \
	"$M ca sign ca leaf.csr --profile client --days 365 -o m.crt --force" \
	-n "openssl x509 -req -CA" \
	"openssl x509 -req -in leaf.csr -CA ca/issuing.crt -CAkey ca/issuing.key -CAcreateserial -CAserial o.srl -days 365 -sha256 -extfile ext.cnf -copy_extensions copy -out o.crt" \
	>/dev/null

report() {
	jq -r '.results | "\(.[0].command)\t\(.[0].mean*1000)\t\((.[0].user+.[0].system)*1000)\t\(.[1].command)\t\(.[1].mean*1000)\t\((.[1].user+.[1].system)*1000)"' "$1" |
		awk -F'\t' '{ printf "| %-38s | %7.2f ms | %6.2f ms | %-34s | %7.2f ms | %6.2f ms | %5.2f | %5.2f |\n", $1, $2, $3, $4, $5, $6, $2/$5, $3/$6 }'
}
echo "work directory: $W ($(df -T "$W" | awk 'NR==2 {print $2}'))"
echo "| mtlskit | wall | cpu | openssl | wall | cpu | wall ratio | cpu ratio |"
echo "|---|---|---|---|---|---|---|---|"
report csr.json
report sign.json
