#!/usr/bin/env bash
# package-test.sh - the Debian package, installed, runs the README demo.
# Usage: scripts/package-test.sh [--install] [DEB]
#   DEB        default: dist/mtlskit_*.deb, built with scripts/package.sh if absent
#   (default)  `dpkg -x` into a fresh root directory; the demo runs with that
#              root's usr/bin/mtlskit and usr/bin/mtlskit-gateway
#   --install  `dpkg -i` for real (root, a throwaway machine), the demo with
#              /usr/bin's binaries, then `dpkg --purge` (the system user made
#              by systemd-sysusers stays, as Debian leaves such users)
# Not part of the test command: building the package takes ~2.5 min here.
# TAP output; exit 0 when every check passed.
set -uo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
install=0
[ "${1:-}" = --install ] && { install=1; shift; }
deb=${1:-$(ls dist/mtlskit_*.deb 2>/dev/null | tail -n 1)}
if [ -z "$deb" ]; then deb=$(bash scripts/package.sh | tail -n 1) || exit 1; fi
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
T=$(mktemp -d "${TMPDIR:-/tmp}/mtlskit-pkgtest.XXXXXX")
trap 'rm -rf "$T"' EXIT
echo "# package: $deb"

files=$(dpkg -c "$deb" | awk '{print $6}' | sed 's|^\.||')
for f in /usr/bin/mtlskit /usr/bin/mtlskit-gateway /usr/share/man/man1/mtlskit.1.gz \
	/usr/share/man/man1/mtlskit-keystore.1.gz /usr/share/man/man8/mtlskit-gateway.8.gz \
	/usr/share/man/man5/mtlskit-gateway.conf.5.gz /usr/share/man/man5/mtlskit-usermap.5.gz \
	/usr/share/bash-completion/completions/mtlskit /usr/share/zsh/site-functions/_mtlskit \
	/lib/systemd/system/mtlskit-gateway.service /usr/lib/sysusers.d/mtlskit-gateway.conf \
	/usr/share/doc/mtlskit/examples/gateway.conf /usr/share/doc/mtlskit/examples/users.map \
	/usr/share/doc/mtlskit/copyright; do
	check "the package holds $f" grep -qx "$f" <<<"$files"
done
check "postinst creates the gateway's user (systemd-sysusers)" \
	grep -q 'systemd-sysusers.*mtlskit-gateway.conf' <(dpkg-deb -I "$deb" postinst)
post=$(dpkg-deb -I "$deb" postinst)
check "postinst does not start the gateway (no deb-systemd-invoke)" bash -c '! grep -q deb-systemd-invoke <<<"$1"' _ "$post"
check "postinst enables the unit only if it was enabled before (--no-enable)" \
	bash -c '[ "$(grep -c "deb-systemd-helper enable" <<<"$1")" = "$(grep -c "was-enabled" <<<"$1")" ]' _ "$post"

demo() { # BIN_DIR
	MTLSKIT=$1/mtlskit MTLSKIT_GATEWAY=$1/mtlskit-gateway MTLSKIT_DEMO_DIR=$T/demo \
		bash "$SRC/scripts/demo.sh" >"$T/demo.log" 2>&1
}
if [ $install = 0 ]; then
	root=$T/root
	check "dpkg -x into a fresh root" dpkg -x "$deb" "$root"
	bin=$root/usr/bin
	check "the extracted mtlskit runs" bash -c '"$1" --help >/dev/null' _ "$bin/mtlskit"
	check "man reads the extracted mtlskit-ca(1)" bash -c 'man -l "$1" 2>/dev/null | grep -q "ca sign"' _ "$root/usr/share/man/man1/mtlskit-ca.1.gz"
else
	[ "$(id -u)" = 0 ] || { echo "package-test.sh: --install needs root" >&2; exit 2; }
	check "dpkg -i" bash -c 'dpkg -i "$1" >"$2" 2>&1' _ "$deb" "$T/dpkg.log"
	bin=/usr/bin
	check "the system user mtlskit-gateway exists" bash -c 'id mtlskit-gateway >/dev/null'
	check "man finds mtlskit-gateway.conf(5)" bash -c 'man -w 5 mtlskit-gateway.conf >/dev/null'
	check "the unit is installed, not enabled" bash -c '! systemctl is-enabled mtlskit-gateway.service >/dev/null 2>&1'
fi
start=$(date +%s)
if demo "$bin"; then ok "the README demo runs with $bin ($(($(date +%s) - start)) s)"
else not_ok "the README demo runs with $bin"; tail -n 30 "$T/demo.log" | sed 's/^/# /'; fi
check "the demo's gateway refused the revoked client (log reason revoked)" grep -q '"reason":"revoked"' "$T/demo/gateway.log"
if [ $install = 1 ]; then
	check "dpkg --purge" bash -c 'dpkg --purge mtlskit >>"$1" 2>&1' _ "$T/dpkg.log"
	check "purged: /usr/bin/mtlskit is gone" test ! -e /usr/bin/mtlskit
fi
echo "1..$n"
[ $fail = 0 ]
