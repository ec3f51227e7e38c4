#!/usr/bin/env bash
# install.sh - `meson install` into a DESTDIR: the binaries, the man pages
# (when scdoc was found), the bash and zsh completions, the systemd unit and
# its sysusers.d entry, and the example configuration under
# share/doc/mtlskit/examples; the installed example passes
# `mtlskit-gateway --check` once its paths point at real files.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
: "${MTLSKIT_BUILD:?}" "${MTLSKIT_GATEWAY:?}"
D="$T/root"

run meson install -C "$MTLSKIT_BUILD" --no-rebuild --quiet --destdir "$D"
expect_eq "meson install --destdir exits 0" "$RC" 0
[ "$RC" = 0 ] || _show_last
intro() { meson introspect "$MTLSKIT_BUILD" --buildoptions | jq -r --arg n "$1" '.[] | select(.name == $n) | .value'; }
prefix=$(intro prefix)
bindir=$prefix/$(intro bindir)
docdir=$prefix/$(intro datadir)/doc/mtlskit
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo "$prefix/lib/systemd/system")
sysusersdir=$(pkg-config --variable=sysusersdir systemd 2>/dev/null || echo "$prefix/lib/sysusers.d")
files=$(cd "$D" && find . -type f -o -type l | sed 's|^\.||' | sort)
diag "installed:" "$files"
for f in "$bindir/mtlskit" "$bindir/mtlskit-gateway" "$unitdir/mtlskit-gateway.service" \
	"$sysusersdir/mtlskit-gateway.conf" "$docdir/examples/gateway.conf" "$docdir/examples/users.map"; do
	expect_match "installed: $f" "^$f\$" "$files"
done
mandir=$prefix/$(intro mandir)
if command -v scdoc >/dev/null; then
	pages="man1/mtlskit.1 man8/mtlskit-gateway.8 man5/mtlskit-gateway.conf.5 man5/mtlskit-usermap.5 man5/mtlskit-track.conf.5"
	for v in $("$MTLSKIT" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\)  .*/\1/p' | grep -vxE 'help|version'); do
		pages+=" man1/mtlskit-$v.1"
	done
	missing=""
	for p in $pages; do grep -qx "$mandir/$p" <<<"$files" || missing+=" $mandir/$p"; done
	expect_eq "installed: a man page for mtlskit, each verb, the gateway and its two files" "$missing" ""
	expect_eq "no other man page" "$(grep "^$mandir/" <<<"$files" | wc -l)" "$(echo $pages | wc -w)"
	run man -l "$D$mandir/man1/mtlskit-ca.1"
	expect_match "the installed mtlskit-ca(1) renders (man -l)" 'ca sign' "$OUT"
else
	ok "# SKIP scdoc not installed: no man pages"
fi
for f in "$prefix/share/bash-completion/completions/mtlskit" "$prefix/share/zsh/site-functions/_mtlskit"; do
	expect_match "installed: $f" "^$f\$" "$files"
done
expect_eq "the installed bash completion is the one built (and tested)" \
	"$(cmp "$D$prefix/share/bash-completion/completions/mtlskit" "$MTLSKIT_BUILD/packaging/completions/mtlskit" && echo same)" same
expect_eq "the installed zsh completion is the one built (and tested)" \
	"$(cmp "$D$prefix/share/zsh/site-functions/_mtlskit" "$MTLSKIT_BUILD/packaging/completions/_mtlskit" && echo same)" same
expect_mode "the bash completion is mode 644" "$D$prefix/share/bash-completion/completions/mtlskit" 644
# Nothing outside the standard places (man pages and completions from other
# parts of the install are allowed there).
allowed="^($bindir/|$docdir/|$prefix/share/(man|bash-completion|zsh)/|$unitdir/|$sysusersdir/)"
expect_eq "nothing installed outside bin, share/{doc,man,completions} and systemd's dirs" \
	"$(printf '%s\n' "$files" | grep -Ev "$allowed" || true)" ""
expect_mode "the unit is mode 644" "$D$unitdir/mtlskit-gateway.service" 644

unit=$D$unitdir/mtlskit-gateway.service
expect_match "the unit runs the installed binary" "^ExecStart=$bindir/mtlskit-gateway --config /etc/mtlskit/gateway.conf\$" "$(cat "$unit")"
expect_match "the unit names the installed examples" "^Documentation=file:$docdir/examples/gateway.conf\$" "$(cat "$unit")"
expect_match "sysusers.d creates the unit's user" '^u mtlskit-gateway ' "$(cat "$D$sysusersdir/mtlskit-gateway.conf")"

# --- the example configuration, its /etc/mtlskit paths moved to $T/etc
mkdir -p "$T/etc"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/etc/server.key" \
	-out "$T/etc/server.pem" -subj /CN=gw.example.com -days 30 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" \
	-out "$T/etc/clients-ca.pem" -subj /CN=clients -days 30 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
sed "s|/etc/mtlskit/|$T/etc/|" "$D$docdir/examples/gateway.conf" >"$T/etc/gateway.conf"
cp "$D$docdir/examples/users.map" "$T/etc/users.map"
expect_rc 0 "the example configuration passes --check" "$MTLSKIT_GATEWAY" --check --config "$T/etc/gateway.conf"
expect_match "--check counts its CA, user map lines and backend" \
	'^configuration ok: 1 CA file\(s\), 2 user map entries, 1 backend\(s\)$' "$OUT"
done_testing
