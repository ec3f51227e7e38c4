#!/usr/bin/env bash
# convert.sh - mtlskit convert against the openssl commands people use for
# the same job.  Prints mean times and ratios (mtlskit / openssl; < 1.0 means
# mtlskit is faster).  Both sides write to standard output so neither pays
# for fsync.  Usage: MTLSKIT=build/cli/mtlskit bench/convert.sh
set -uo pipefail
: "${MTLSKIT:=$(dirname "$0")/../build/cli/mtlskit}"
command -v hyperfine >/dev/null || { echo "hyperfine is needed" >&2; exit 1; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1
export PW=bench-pass
openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -subj "/CN=Bench Root" \
	-days 3 -addext basicConstraints=critical,CA:TRUE 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj "/CN=bench.example.com" 2>/dev/null
openssl x509 -req -in leaf.csr -CA root.pem -CAkey root.key -CAcreateserial -out leaf.pem -days 3 2>/dev/null
openssl rsa -in leaf.key -traditional -out pkcs1.pem 2>/dev/null
openssl pkcs12 -export -inkey leaf.key -in leaf.pem -certfile root.pem -passout env:PW -out modern.p12
openssl pkcs12 -export -legacy -inkey leaf.key -in leaf.pem -certfile root.pem -passout env:PW -out legacy.p12

M=$MTLSKIT
cases=(
	"pfx-read-legacy|$M convert legacy.p12 --pass env:PW --to pem -o -|openssl pkcs12 -in legacy.p12 -nodes -legacy -passin env:PW"
	"pfx-read-modern|$M convert modern.p12 --pass env:PW --to pem -o -|openssl pkcs12 -in modern.p12 -nodes -passin env:PW"
	"key-pkcs1-to-pkcs8|$M convert pkcs1.pem --to pkcs8 -o -|openssl pkcs8 -topk8 -nocrypt -in pkcs1.pem"
	"pfx-write-modern|$M convert leaf.key leaf.pem root.pem --to pkcs12 --out-pass env:PW -o -|openssl pkcs12 -export -inkey leaf.key -in leaf.pem -certfile root.pem -passout env:PW"
)
# Wall time on a shared machine is noisy; CPU time (user + system) is shown too.
printf '%-20s %9s %9s %6s %9s %9s %6s\n' case "mtk ms" "ossl ms" ratio "mtk cpu" "ossl cpu" ratio
for c in "${cases[@]}"; do
	IFS='|' read -r name ours peer <<<"$c"
	hyperfine -N --warmup 3 --min-runs 30 --export-json "$W/$name.json" "$ours" "$peer" >/dev/null 2>&1 ||
		{ echo "$name: hyperfine failed" >&2; continue; }
	a=$(jq '.results[0].mean * 1000' "$W/$name.json")
	b=$(jq '.results[1].mean * 1000' "$W/$name.json")
	ca=$(jq '(.results[0].user + .results[0].system) * 1000' "$W/$name.json")
	cb=$(jq '(.results[1].user + .results[1].system) * 1000' "$W/$name.json")
	printf '%-20s %9.2f %9.2f %6.2f %9.2f %9.2f %6.2f\n' "$name" "$a" "$b" "$(echo "$a / $b" | bc -l)" \
		"$ca" "$cb" "$(echo "$ca / $cb" | bc -l)"
done
