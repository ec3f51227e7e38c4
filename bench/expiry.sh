#!/usr/bin/env bash
# bench/expiry.sh - `mtlskit expiry` against its peers on a tree of 100,000
# small PEM files (warm cache).  Not a test: it prints times and ratios.
#
#   bench/expiry.sh [BUILD_DIR]        (default: build)
#   EXPIRY_BENCH_DIR=/tmp/x FILES=100000 bench/expiry.sh
#
# Peers: a `find -exec openssl x509 -noout -enddate` loop, measured on a
# 1,000-file subset and extrapolated to the whole tree (100 runs of it would
# take minutes); a Python `cryptography` loop (Debian python3-cryptography)
# over the whole tree.  Ratio = mtlskit time / peer time (lower is better).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=${1:-$src/build}
mtk=$build/cli/mtlskit
dir=${EXPIRY_BENCH_DIR:-/tmp/mtlskit-bench-expiry}
files=${FILES:-100000}
py=/usr/bin/python3
out=$dir/results
[ -x "$mtk" ] || { echo "build mtlskit first (ninja -C $build)" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine is needed" >&2; exit 2; }
$py -c 'import cryptography' 2>/dev/null || { echo "apt-get install python3-cryptography" >&2; exit 2; }

if [ ! -f "$dir/tree/.done-$files" ]; then
	rm -rf "$dir/tree"
	$py "$here/expiry-mktree.py" "$dir/tree" "$files"
	touch "$dir/tree/.done-$files"
fi
subset=$dir/tree/d000 # 1,000 files
mkdir -p "$out"
# Warm the page cache.
find "$dir/tree" -type f -exec cat {} + >/dev/null

echo "machine: $(nproc) cores; load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine -N --warmup 3 --runs 10 --export-json "$out/mtlskit.json" \
	"$mtk expiry $dir/tree" \
	"$mtk expiry --prometheus $dir/tree" \
	"$mtk expiry --threads 1 $dir/tree"
hyperfine -N --warmup 3 --runs 20 --export-json "$out/mtlskit-1000.json" "$mtk expiry $subset"
hyperfine -N --warmup 1 --runs 3 --export-json "$out/openssl-1000.json" \
	"find $subset -type f -exec openssl x509 -noout -enddate -in {} ;"
hyperfine -N --warmup 1 --runs 3 --export-json "$out/python.json" "$py $here/expiry-py.py $dir/tree"

mean() { jq -r ".results[$2].mean" "$out/$1.json"; }
cpu() { jq -r ".results[$2] | (.user + .system)" "$out/$1.json"; }
m=$(mean mtlskit 0)
mp=$(mean mtlskit 1)
m1=$(mean mtlskit 2)
ms=$(mean mtlskit-1000 0)
o=$(mean openssl-1000 0)
p=$(mean python 0)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }
echo
printf '%-52s %10s %14s\n' "what ($files files)" "seconds" "files/second"
row() { awk -v n="$3" -v t="$2" -v w="$1" 'BEGIN { printf "%-52s %10.3f %14.0f\n", w, t, n / t }'; }
row "mtlskit expiry (2 threads)" "$m" "$files"
row "mtlskit expiry --prometheus" "$mp" "$files"
row "mtlskit expiry --threads 1" "$m1" "$files"
row "mtlskit expiry, 1,000-file subset" "$ms" 1000
row "find -exec openssl x509 -enddate, 1,000 files" "$o" 1000
oe=$(awk -v o="$o" -v n="$files" 'BEGIN { print o * n / 1000 }')
row "  ... extrapolated to the whole tree" "$oe" "$files"
row "python3 cryptography loop" "$p" "$files"
echo
echo "mtlskit CPU time (user+sys), 2 threads: $(cpu mtlskit 0) s"
echo "ratio mtlskit / openssl loop (extrapolated): $(ratio "$m" "$oe")  ($(ratio "$oe" "$m")x faster)"
echo "ratio mtlskit / openssl loop (same 1,000 files): $(ratio "$ms" "$o")  ($(ratio "$o" "$ms")x faster)"
echo "ratio mtlskit / python cryptography: $(ratio "$m" "$p")  ($(ratio "$p" "$m")x faster)"
