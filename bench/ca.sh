#!/usr/bin/env bash
# bench/ca.sh - mtlskit csr create / ca sign against the openssl commands
# that do the same work; prints mtlskit time / openssl time (target <= 1.0).
#
#   bench/ca.sh [path/to/mtlskit]      (default: build/cli/mtlskit)
#
# Needs hyperfine and jq.  Results: docs/perf/ca.md.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
M=$(readlink -f "${1:-$here/build/cli/mtlskit}")
W=$(mktemp -d "${TMPDIR:-/tmp}/mtk-bench-ca.XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W"
RUNS=${RUNS:-40}

"$M" ca init ca --name "Bench Root" --intermediate "Bench Issuing" --key-type ec:P-256 >/dev/null
"$M" csr create --cn mid01.example.com --org "Example Corp" --country US --san DNS:mid01.example.com \
	--new-key ec:P-256 --key-out leaf.key -o leaf.csr >/dev/null
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
