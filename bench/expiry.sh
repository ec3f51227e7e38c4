#!/usr/bin/env bash
# bench/expiry.sh - `mtlskit expiry` against its peers on a tree of 100,000
# small PEM files (warm cache).  Not a test: it prints times and ratios.
#
#   bench/expiry.sh [BUILD_DIR]        (default: $MTLSKIT_BUILD, else build)
#   EXPIRY_BENCH_DIR=/tmp/x FILES=100000 bench/expiry.sh
#   FLOOR_ONLY=1 bench/expiry.sh   (only the bundle scan vs its floor)
#
# Peers: a `find -exec openssl x509 -noout -enddate` loop, measured on a
# 1,000-file subset and extrapolated to the whole tree (100 runs of it would
# take minutes); a Python `cryptography` loop (Debian python3-cryptography)
# over the whole tree.  Ratio = mtlskit time / peer time (lower is better).
# Then the output formats against the table run, a slow filesystem
# simulated by bench/slowopen.c (LD_PRELOAD, 2 ms per open) with the reader
# pool against one reader, and max RSS over a BUNDLE_MB (1024) MiB bundle in
# every format.  RUNS, PY_RUNS and SKIP_OPENSSL=1 shorten it on a busy
# machine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=${1:-${MTLSKIT_BUILD:-$src/build}} # scripts/bench.sh sets MTLSKIT_BUILD (release build)
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

mean() { jq -r ".results[$2].mean" "$out/$1.json"; }
cpu() { jq -r ".results[$2] | (.user + .system)" "$out/$1.json"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }
# The floor of a bundle scan (bench/expiry-floor.c: map, find the blocks,
# table base64, walk the DER to notAfter; no fingerprint, no names, no
# output) against `expiry -q` (the same scan for an exit status: records
# keep their times only) and the full table and --jsonl (which also hash,
# render and print every certificate), on the first FLOOR_MB (100) MiB of the
# bundle.  Target: the scan <= 1.5x the floor.
floor_bench() {
	local floor=$build/bench/expiry-floor fmb fb f0 i name
	[ -x "$floor" ] || { echo "no $floor: ninja -C $build" >&2; return 0; }
	fmb=${FLOOR_MB:-100}
	fb=$dir/bundle-floor-$fmb.pem
	if [ ! -f "$fb" ]; then
		head -c $((fmb << 20)) "$big" | awk '{ buf = buf $0 "\n" } /^-----END CERTIFICATE-----$/ { printf "%s", buf; buf = "" }' >"$fb"
	fi
	echo "floor bundle: $(($(stat -c %s "$fb") >> 20)) MiB, $(grep -c BEGIN "$fb") certificates; load average $(cut -d' ' -f1-3 /proc/loadavg)"
	cat "$fb" >/dev/null
	hyperfine -N -i --warmup 1 --runs "${FLOOR_RUNS:-10}" --export-json "$out/floor.json" \
		"$floor $fb" "$mtk expiry -q $fb" "$mtk expiry $fb" "$mtk expiry --jsonl $fb" >/dev/null
	f0=$(mean floor 0)
	for i in 1 2 3; do
		name=$(jq -r ".results[$i].command" "$out/floor.json" | sed "s|$mtk |mtlskit |; s|$fb|BUNDLE|")
		printf '%-32s %.3f s vs floor %.3f s: %.2fx wall, %.2fx cpu%s\n' "$name" "$(mean floor "$i")" "$f0" \
			"$(ratio "$(mean floor "$i")" "$f0")" "$(ratio "$(cpu floor "$i")" "$(cpu floor 0)")" \
			"$([ "$i" = 1 ] && echo '  (target <= 1.5)')"
	done
}
# FLOOR_ONLY=1: only the bundle floor comparison (needs the 1 GiB bundle
# of a full run, or makes it).
if [ -n "${FLOOR_ONLY:-}" ]; then
	big=$dir/bundle-${BUNDLE_MB:-1024}.pem
	[ -f "$big" ] || { echo "no $big yet: run bench/expiry.sh once" >&2; exit 2; }
	floor_bench
	exit 0
fi
echo "machine: $(nproc) cores; load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine -N --warmup 3 --runs ${RUNS:-10} --export-json "$out/mtlskit.json" \
	"$mtk expiry $dir/tree" \
	"$mtk expiry --prometheus $dir/tree" \
	"$mtk expiry --workers 1 $dir/tree" \
	"$mtk expiry --json $dir/tree" \
	"$mtk expiry --jsonl $dir/tree"
hyperfine -N --warmup 3 --runs 20 --export-json "$out/mtlskit-1000.json" "$mtk expiry $subset"
# SKIP_OPENSSL=1 leaves out the slowest peer (1,000 processes a run) on a
# busy machine.
if [ -z "${SKIP_OPENSSL:-}" ]; then
	hyperfine -N --warmup 1 --runs 3 --export-json "$out/openssl-1000.json" \
		"find $subset -type f -exec openssl x509 -noout -enddate -in {} ;"
fi
hyperfine -N --warmup 1 --runs ${PY_RUNS:-3} --export-json "$out/python.json" "$py $here/expiry-py.py $dir/tree"

m=$(mean mtlskit 0)
mp=$(mean mtlskit 1)
m1=$(mean mtlskit 2)
ms=$(mean mtlskit-1000 0)
o=$([ -z "${SKIP_OPENSSL:-}" ] && mean openssl-1000 0 || echo "")
p=$(mean python 0)
echo
printf '%-52s %10s %14s\n' "what ($files files)" "seconds" "files/second"
row() { awk -v n="$3" -v t="$2" -v w="$1" 'BEGIN { printf "%-52s %10.3f %14.0f\n", w, t, n / t }'; }
mj=$(mean mtlskit 3)
ml=$(mean mtlskit 4)
row "mtlskit expiry (table, 4 workers)" "$m" "$files"
row "mtlskit expiry --prometheus" "$mp" "$files"
row "mtlskit expiry --json" "$mj" "$files"
row "mtlskit expiry --jsonl" "$ml" "$files"
row "mtlskit expiry --workers 1" "$m1" "$files"
row "mtlskit expiry, 1,000-file subset" "$ms" 1000
if [ -n "$o" ]; then
	row "find -exec openssl x509 -enddate, 1,000 files" "$o" 1000
	oe=$(awk -v o="$o" -v n="$files" 'BEGIN { print o * n / 1000 }')
	row "  ... extrapolated to the whole tree" "$oe" "$files"
fi
row "python3 cryptography loop" "$p" "$files"
echo
echo "mtlskit CPU time (user+sys), 4 workers: $(cpu mtlskit 0) s"
echo "ratio --json / table: $(ratio "$mj" "$m"); --jsonl / table: $(ratio "$ml" "$m"); --prometheus / table: $(ratio "$mp" "$m")  (target <= 1.3)"
if [ -n "$o" ]; then
	echo "ratio mtlskit / openssl loop (extrapolated): $(ratio "$m" "$oe")  ($(ratio "$oe" "$m")x faster)"
	echo "ratio mtlskit / openssl loop (same 1,000 files): $(ratio "$ms" "$o")  ($(ratio "$o" "$ms")x faster)"
fi
echo "ratio mtlskit / python cryptography: $(ratio "$m" "$p")  ($(ratio "$p" "$m")x faster)"
for i in 0 1 3 4; do
	what=$(jq -r ".results[$i].command" "$out/mtlskit.json" |
		awk '{ s = ""; for (i = 3; i < NF; i++) s = s " " $i; print s == "" ? " (table)" : s }')
	echo "CPU (user+sys)$what: $(cpu mtlskit $i) s"
done
echo "python CPU (user+sys): $(cpu python 0) s; ratio python / mtlskit table by CPU: $(ratio "$(cpu python 0)" "$(cpu mtlskit 0)")x"
echo "load average after the timed runs: $(cut -d' ' -f1-3 /proc/loadavg)"

# A slow filesystem, simulated: every open() sleeps SLOWOPEN_US (2 ms) via
# the LD_PRELOAD shim bench/slowopen.c.  The pooled walk against one reader
# on 2,000 files (the whole tree would take minutes at one reader).
shim=$build/bench/libslowopen.so
slow=$dir/tree-slow
if [ -f "$shim" ]; then
	mkdir -p "$slow"
	[ -d "$slow/d000" ] || cp -r "$dir/tree/d000" "$dir/tree/d001" "$slow/"
	hyperfine -N --warmup 1 --runs 3 --export-json "$out/slow.json" \
		"env LD_PRELOAD=$shim $mtk expiry --workers 1 $slow" \
		"env LD_PRELOAD=$shim $mtk expiry $slow" \
		"env LD_PRELOAD=$shim $mtk expiry --workers 8 $slow"
	s1=$(mean slow 0); s4=$(mean slow 1); s8=$(mean slow 2)
	echo "slow filesystem (2 ms per open, 2,000 files): --workers 1 $s1 s, default (4) $s4 s, 8: $s8 s"
	echo "ratio --workers 1 / pooled (4): $(ratio "$s1" "$s4")x; / 8 workers: $(ratio "$s1" "$s8")x  (target >= 3)"
fi

# Memory: max RSS (GNU time) over a PEM bundle of BUNDLE_MB (default 1024)
# MiB, about a million certificates, in every format; output discarded.
mb=${BUNDLE_MB:-1024}
big=$dir/bundle-$mb.pem
if [ ! -f "$big" ]; then
	first=("$dir"/tree/d000/*.pem)
	cat "${first[@]:0:64}" >"$dir/unit.pem"
	for i in $(seq 1 16); do cat "$dir/unit.pem"; done >"$dir/unit16.pem"
	unit=$(stat -c %s "$dir/unit16.pem")
	for i in $(seq 1 $(((mb << 20) / unit))); do cat "$dir/unit16.pem"; done >"$big.tmp"
	mv "$big.tmp" "$big"
fi
n=$(grep -c BEGIN "$big")
echo "bundle: $(($(stat -c %s "$big") >> 20)) MiB, $n certificates"
for f in "" --json --jsonl --prometheus; do
	/usr/bin/time -f '%M %e' -o "$out/rss" "$mtk" expiry $f "$big" >/dev/null
	read -r kb secs <"$out/rss"
	printf 'max RSS %-14s %8d KiB  %6.1f s  (%d bytes per certificate)\n' "${f:-table}" "$kb" "$secs" $((kb * 1024 / n))
done

floor_bench
