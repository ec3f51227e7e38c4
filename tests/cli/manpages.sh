#!/usr/bin/env bash
# manpages.sh - the man pages (docs/man/*.scd) against the binaries:
# - every page renders with scdoc;
# - every long option a verb's --help prints (and its sub-commands' --help)
#   has an entry in that verb's page (a definition line `*--opt*`), and every option a page documents (its
#   definition lines, `*--opt*`) is one some --help of that verb prints
#   (or a common option of `mtlskit --help`);
# - mtlskit-gateway(8) against `mtlskit-gateway --help`, and
#   mtlskit-gateway.conf(5) against the settings table of lib/gateway/gwconfig.c;
# - the EXAMPLES of the verb pages run as written, in one directory, in the
#   order a reader would follow (probe and the gateway pages need a server
#   and are not run).
# A failure says which option is missing from which page or --help.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$MTLSKIT_SRC/tests/lib/cli-options.sh"
: "${MTLSKIT_GATEWAY:?}"
MAN=$MTLSKIT_SRC/docs/man

# Options a page documents: the long options on its definition lines (lines
# that start with `*-`, the scdoc term of an option).
page_opts() { grep -E '^\*-' "$1" | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u; }
# Does the page mention --opt as a whole word?
page_has() { grep -qE -- "$2([^a-z0-9-]|\$)" "$1"; }

for f in "$MAN"/*.scd; do
	if scdoc <"$f" >"$T/page" 2>"$T/err"; then ok "scdoc renders $(basename "$f")"
	else not_ok "scdoc renders $(basename "$f")"; diag "$(cat "$T/err")"; fi
done

common=$(cli_common_opts)
expect_match "mtlskit --help names the common options" '--json' "$common"
verbs=$(cli_verbs)
expect_eq "mtlskit --help lists the thirteen verbs" "$(echo $verbs)" \
	"inspect key csr ca renew convert bundle check keystore mid probe expiry track"

# --- mtlskit(1): every verb and every common option
missing=""
for v in $verbs; do grep -q "\*mtlskit-$v\*(1)" "$MAN/mtlskit.1.scd" || missing+=" mtlskit-$v(1)"; done
for o in $common; do page_has "$MAN/mtlskit.1.scd" "$o" || missing+=" $o"; done
expect_eq "mtlskit.1.scd names every verb's page and every common option of mtlskit --help" "$missing" ""

# --- one page per verb
for v in $verbs; do
	page=$MAN/mtlskit-$v.1.scd
	if [ ! -f "$page" ]; then not_ok "docs/man/mtlskit-$v.1.scd exists"; continue; fi
	missing=""
	defined=$(page_opts "$page")
	for s in "" $(cli_subverbs "$v"); do
		for o in $(cli_help_opts "$v" $s); do
			grep -qxF -- "$o" <<<"$defined" || missing+=" $o (from 'mtlskit $v${s:+ $s} --help')"
		done
	done
	expect_eq "mtlskit-$v.1.scd defines (an OPTIONS entry) every option of 'mtlskit $v [SUB] --help'" "$missing" ""
	known=$( { cli_verb_opts "$v"; echo "$common"; echo --help; } | sort -u)
	extra=""
	for o in $(page_opts "$page"); do
		grep -qxF -- "$o" <<<"$known" || extra+=" $o"
	done
	expect_eq "every option in mtlskit-$v.1.scd's OPTIONS is printed by some 'mtlskit $v ... --help' (or mtlskit --help)" "$extra" ""
	missing=""
	for sec in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES "SEE ALSO"; do
		grep -qx "# $sec" "$page" || missing+=" section '$sec'"
	done
	expect_eq "mtlskit-$v.1.scd has NAME..SEE ALSO, EXIT STATUS and EXAMPLES" "$missing" ""
done

# --- mtlskit-gateway(8)
page=$MAN/mtlskit-gateway.8.scd
missing=""
for o in $("$MTLSKIT_GATEWAY" --help | _cli_longopts); do
	page_has "$page" "$o" || missing+=" $o (from 'mtlskit-gateway --help')"
done
expect_eq "mtlskit-gateway.8.scd documents every option of mtlskit-gateway --help" "$missing" ""
known=$( { "$MTLSKIT_GATEWAY" --help | _cli_longopts; echo --help; echo --version; } | sort -u)
extra=""
for o in $(page_opts "$page"); do grep -qxF -- "$o" <<<"$known" || extra+=" $o"; done
expect_eq "every option in mtlskit-gateway.8.scd is in mtlskit-gateway --help" "$extra" ""
run "$MTLSKIT_GATEWAY" --version
expect_match "--version, which the page documents, works" '^mtlskit-gateway ' "$OUT"

# --- mtlskit-gateway.conf(5): the settings table of gwconfig.c, both ways
page=$MAN/mtlskit-gateway.conf.5.scd
keys=$(sed -n 's/^[[:space:]]*{"\([a-z_]*\)", T_[A-Z]*, OFF(.*/\1/p' "$MTLSKIT_SRC/lib/gateway/gwconfig.c" | sort -u)
expect_match "gwconfig.c's table has the settings (listen ... ready_file)" 'ready_file' "$keys"
documented=$(sed -n '/^# SETTINGS/,/^# /s/^\*\([a-z_]*\)\*.*/\1/p' "$page" | sort -u)
expect_eq "mtlskit-gateway.conf.5.scd SETTINGS: keys of gwconfig.c it lacks" \
	"$(comm -23 <(echo "$keys") <(echo "$documented") | tr '\n' ' ')" ""
expect_eq "mtlskit-gateway.conf.5.scd SETTINGS: keys gwconfig.c does not know" \
	"$(comm -13 <(echo "$keys") <(echo "$documented") | tr '\n' ' ')" ""

# --- mtlskit-track.conf(5): the keys lib/renew/conf.c knows, both ways
page=$MAN/mtlskit-track.conf.5.scd
keys=$( { sed -n '/^static mtk_rc conf_set/,/^}/p' "$MTLSKIT_SRC/lib/renew/conf.c" | grep -oE '\{"[a-z_]+", &c->' | sed 's/{"//; s/",.*//'
	sed -n '/^static mtk_rc conf_set/,/^}/p' "$MTLSKIT_SRC/lib/renew/conf.c" | grep -oE 'strcmp\(key, "[a-z_]+"\)' | sed 's/.*"\(.*\)".*/\1/'; } | sort -u)
expect_match "conf.c's settings found (target ... post_check)" 'post_check' "$keys"
documented=$(sed -n '/^# SETTINGS/,/^# /p' "$page" | grep -E '^\*[a-z_]+\*' | grep -oE '\*[a-z_]+\*' | tr -d '*' | sort -u)
expect_eq "mtlskit-track.conf.5.scd SETTINGS: keys of lib/renew/conf.c it lacks" \
	"$(comm -23 <(echo "$keys") <(echo "$documented") | tr '\n' ' ')" ""
expect_eq "mtlskit-track.conf.5.scd SETTINGS: keys lib/renew/conf.c does not know" \
	"$(comm -13 <(echo "$keys") <(echo "$documented") | tr '\n' ' ')" ""

# --- the examples run as written
examples() { # the code blocks of a page's EXAMPLES section, scdoc escapes undone
	sed -n '/^# EXAMPLES/,/^# /p' "$1" | awk '/^```/{inb=!inb; next} inb' | sed 's/\\\\/\\/g'
}
bindir=$(dirname "$MTLSKIT")
mkdir "$T/ex" "$T/ex1"
for v in ca key csr renew bundle check convert keystore mid inspect expiry track; do
	examples "$MAN/mtlskit-$v.1.scd" >"$T/ex-$v.sh"
	(cd "$T/ex" && PATH=$bindir:$PATH bash -e -o pipefail "$T/ex-$v.sh") >"$T/ex-$v.out" 2>&1
	rc=$?
	expect_eq "the EXAMPLES of mtlskit-$v(1) run as written ($(wc -l <"$T/ex-$v.sh") lines)" "$rc" 0
	[ "$rc" = 0 ] || diag "$(tail -n 15 "$T/ex-$v.out")"
done
examples "$MAN/mtlskit.1.scd" >"$T/ex-main.sh"
(cd "$T/ex1" && PATH=$bindir:$PATH bash -e -o pipefail "$T/ex-main.sh") >"$T/ex-main.out" 2>&1
rc=$?
expect_eq "the EXAMPLES of mtlskit(1) run as written" "$rc" 0
[ "$rc" = 0 ] || diag "$(tail -n 15 "$T/ex-main.out")"
done_testing
