#!/usr/bin/env bash
# bench/usermap.sh - the user map parse (what mtlskit-gateway spends on its
# map at start and on every SIGHUP reload) over a generated 100,000-line map,
# this tree's lib/gateway/usermap.c against an older one, in one run:
# median wall time of 15 parses (3 interleaved rounds) and, when valgrind is
# installed, the instructions executed inside mtk_usermap_parse (callgrind).
#
#   bench/usermap.sh [BUILD_DIR]     (default: $MTLSKIT_BUILD, else build)
#   USERMAP_BASE=REV                 the older usermap.c (default: the last
#                                    version that sorted with qsort_r)
#   USERMAP_LINES=N                  map size (default 100000)
#
# Both sides are compiled here from bench/usermap.c with the same flags and
# linked against BUILD_DIR's libmtlskit.a (their own usermap.c wins over the
# archive's).  Results: docs/perf/gateway.md ("User map reload").
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
B=$(readlink -f "${1:-${MTLSKIT_BUILD:-$here/build}}")
LINES=${USERMAP_LINES:-100000}
W=$(mktemp -d "${TMPDIR:-/tmp}/mtk-bench-usermap.XXXXXX")
trap 'rm -rf "$W"' EXIT
[ -f "$B/lib/libmtlskit.a" ] || { echo "no $B/lib/libmtlskit.a: build first (ninja -C $B)" >&2; exit 1; }

CFLAGS=(-O2 -std=c11 -D_GNU_SOURCE -I"$here/include")
build() { # NAME DIR-with-usermap.c-and-lines.h
	cc "${CFLAGS[@]}" -I"$2" -o "$W/$1" "$here/bench/usermap.c" "$2/usermap.c" "$B/lib/libmtlskit.a" -lcrypto
}
mkdir -p "$W/cur"
cp "$here/lib/gateway/usermap.c" "$here/lib/gateway/lines.h" "$W/cur/"
build usermap-cur "$W/cur"
sides=(cur)
base=${USERMAP_BASE:-}
if [ -z "$base" ] && git -C "$here" rev-parse --git-dir >/dev/null 2>&1; then
	c=$(git -C "$here" log -n1 --format=%H -S'qsort_r' -- lib/gateway/usermap.c || true)
	# c removed qsort_r (its parent is the base), or, before that commit
	# exists, added it (then c itself still holds the old parser)
	if [ -n "$c" ]; then
		if git -C "$here" show "$c:lib/gateway/usermap.c" | grep -q qsort_r; then base=$c; else base="$c^"; fi
	fi
fi
if [ -n "$base" ]; then
	mkdir -p "$W/base"
	git -C "$here" show "$base:lib/gateway/usermap.c" >"$W/base/usermap.c"
	git -C "$here" show "$base:lib/gateway/lines.h" >"$W/base/lines.h"
	build usermap-base "$W/base"
	sides=(base cur)
	echo "base: usermap.c at $(git -C "$here" rev-parse --short "$base")"
fi

declare -A best
for round in 1 2 3; do
	for s in "${sides[@]}"; do
		out=$("$W/usermap-$s" "$LINES" 15)
		echo "$s round $round: $out"
		ms=$(printf '%s' "$out" | sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p')
		if [ -z "${best[$s]:-}" ] || awk -v a="$ms" -v b="${best[$s]}" 'BEGIN { exit !(a < b) }'; then
			best[$s]=$ms
		fi
	done
done
for s in "${sides[@]}"; do echo "$s: best median of 15 parses of $LINES lines: ${best[$s]} ms"; done
if [ -n "$base" ]; then
	awk -v a="${best[base]}" -v b="${best[cur]}" 'BEGIN { printf "wall time base/cur: %.1fx faster\n", a / b }'
fi

if command -v valgrind >/dev/null; then
	declare -A ir
	for s in "${sides[@]}"; do
		valgrind --tool=callgrind --toggle-collect=mtk_usermap_parse --callgrind-out-file="$W/$s.cg" \
			"$W/usermap-$s" "$LINES" 1 >/dev/null 2>"$W/$s.vg"
		ir[$s]=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$W/$s.cg")
		echo "$s: instructions in mtk_usermap_parse (callgrind): ${ir[$s]} ($((ir[$s] / LINES)) a line)"
	done
	if [ -n "$base" ]; then
		awk -v a="${ir[base]}" -v b="${ir[cur]}" 'BEGIN { printf "instructions base/cur: %.1fx fewer\n", a / b }'
	fi
else
	echo "valgrind not installed: no instruction counts"
fi
