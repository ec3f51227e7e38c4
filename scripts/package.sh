#!/usr/bin/env bash
# package.sh - builds the Debian package (debhelper + Meson) from the
# committed tree and checks it with lintian.
# Usage: scripts/package.sh [OUT_DIR]      (default: dist/)
#
# The packaging lives in packaging/debian/ and is copied to debian/ in a
# temporary copy of the tree (`git archive HEAD`: only committed files), so
# the repository's top level stays free of a debian/ directory and a build
# never picks up local build directories.  Prints the .deb's path last.
# Exit status: 0 built and lintian found no error; 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
OUT=${1:-$SRC/dist}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

scripts/deps.sh package

version=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
work=$(mktemp -d "${TMPDIR:-/tmp}/mtlskit-pkg.XXXXXX")
trap 'rm -rf "$work"' EXIT
tree=$work/mtlskit-$version
mkdir "$tree"
git archive --format=tar HEAD | tar -x -C "$tree"
cp -r "$tree/packaging/debian" "$tree/debian"

start=$(date +%s)
(cd "$tree" && dpkg-buildpackage -b -us -uc -rfakeroot) >"$work/build.log" 2>&1 || {
	cp "$work/build.log" "$OUT/build.log"; tail -n 40 "$work/build.log" >&2
	echo "package.sh: dpkg-buildpackage failed" >&2
	exit 1
}
echo "package.sh: built in $(($(date +%s) - start)) s" >&2
deb=$(ls "$work"/mtlskit_"$version"_*.deb)
changes=$(ls "$work"/mtlskit_"$version"_*.changes)
cp "$work"/mtlskit_"$version"_* "$work"/mtlskit-dbgsym_"$version"_*.deb "$OUT"/ 2>/dev/null || true

# lintian: errors fail the build; warnings are listed (see README, "Debian package").
lintian --fail-on error --tag-display-limit 0 "$changes" >"$work/lintian.txt" 2>&1 && lrc=0 || lrc=$?
cp "$work/lintian.txt" "$OUT/lintian.txt"
sed 's/^/lintian: /' "$work/lintian.txt" >&2
if [ "$lrc" -ne 0 ]; then
	echo "package.sh: lintian reports errors" >&2
	exit 1
fi
echo "$OUT/$(basename "$deb")"
