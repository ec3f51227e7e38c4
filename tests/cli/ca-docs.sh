#!/usr/bin/env bash
# ca-docs.sh - every ```sh example in docs/ca.md runs as written, in order,
# in an empty directory (a block that documents a refusal says
# "# exit status 1" and must exit 1).
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
mkdir -p "$T/bin" "$T/work"
ln -s "$MTLSKIT" "$T/bin/mtlskit"
doc="$MTLSKIT_SRC/docs/ca.md"
n=0
while IFS= read -r -d '' block; do
	n=$((n + 1))
	want=0
	if printf '%s' "$block" | grep -q '# exit status 1'; then want=1; fi
	first=$(printf '%s' "$block" | grep -v '^#' | head -1)
	# one shell per block; stop at the first failing command
	if [ "$want" = 0 ]; then
		run env PATH="$T/bin:$PATH" bash -e -c "cd '$T/work' && $block"
	else
		run env PATH="$T/bin:$PATH" bash -c "cd '$T/work' && $block"
	fi
	if [ "$RC" = "$want" ]; then ok "docs/ca.md example $n exits $want: $first"; else
		not_ok "docs/ca.md example $n exits $want: $first (exit $RC)"; _show_last; fi
done < <(awk '/^```sh$/ {inb=1; b=""; next} /^```$/ && inb {inb=0; printf "%s%c", b, 0; next} inb {b = b $0 "\n"}' "$doc")
expect_eq "docs/ca.md has examples" "$([ "$n" -ge 5 ] && echo yes)" yes
expect_file "the demo CA exists" "$T/work/lab-ca/ca.conf"
expect_file "the renewal request exists" "$T/work/renew2.csr"
expect_no_file "the refused example wrote nothing" "$T/work/x.csr"
done_testing
