#!/usr/bin/env bash
# expiry-prometheus.sh - the textfile-collector output: promtool accepts it,
# labels are escaped, values are what openssl reports, -o writes atomically
# and never replaces a file without --force.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "${BASH_SOURCE[0]}")/expiry-fixtures.bash"

mk_ca
mk_cert soon "soon.example.com" "$(days_from_now -5)" "$(days_from_now 10)"
mk_cert expired "expired.example.com" 20200101000000Z 20200201000000Z
# A subject with a double quote, a backslash and a comma: escaped twice
# (RFC 2253, then Prometheus).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/odd.key" \
	-out "$T/odd.pem" -subj '/O=Quote " and \\ back, slash/CN=odd' -days 50 2>/dev/null
mkdir "$T/d" "$T/sub dir"
cat "$T/soon.pem" "$T/expired.pem" >"$T/d/bundle.pem"
cp "$T/odd.pem" "$T/sub dir/odd.pem"
cp "$T/soon.pem" "$T/d/same.pem"
cat "$T/soon.pem" "$T/soon.pem" >"$T/d/twice.pem" # one label set, written once

mtk expiry --prometheus --within 30d "$T/d" "$T/sub dir"
expect_eq "--prometheus --within with an expired certificate exits 1" "$RC" 1
PROM=$OUT
printf '%s\n' "$PROM" >"$T/out.prom"
if command -v promtool >/dev/null; then
	run promtool check metrics <"$T/out.prom"
	expect_eq "promtool check metrics accepts it" "$RC" 0
	[ "$RC" = 0 ] || diag "$ERR" "$PROM"
else
	not_ok "promtool is missing (Debian package prometheus, scripts/deps.sh)"
fi
expect_match "HELP line for notAfter" '^# HELP mtlskit_cert_not_after_seconds ' "$PROM"
expect_match "TYPE gauge for notAfter" '^# TYPE mtlskit_cert_not_after_seconds gauge$' "$PROM"
expect_match "TYPE for expired" '^# TYPE mtlskit_cert_expired gauge$' "$PROM"
expect_match "TYPE for expiring" '^# TYPE mtlskit_cert_expiring gauge$' "$PROM"
soon_na=$(enddate_epoch "$T/soon.pem")
expect_match "notAfter of soon is openssl's" \
	"^mtlskit_cert_not_after_seconds\\{path=\"$T/d/bundle.pem\",alias=\"\",subject=\"O=Expiry Test,CN=soon.example.com\",issuer=\"CN=Expiry Test CA,O=Expiry Test\",serial=\"1000\"\\} $soon_na\$" "$PROM"
expect_match "expired=1 for the expired one" \
	'^mtlskit_cert_expired\{path="[^"]*/bundle.pem",alias="",subject="O=Expiry Test,CN=expired.example.com".*\} 1$' "$PROM"
expect_match "expiring=1 for the one within 30 days" \
	'^mtlskit_cert_expiring\{path="[^"]*/bundle.pem",alias="",subject="O=Expiry Test,CN=soon.example.com".*\} 1$' "$PROM"
expect_match "expiring=0 for the one in 50 days" '^mtlskit_cert_expiring\{path="[^"]*odd.pem".*\} 0$' "$PROM"
# openssl prints O=Quote \" and \\ back\, slash; Prometheus escapes \ and ".
expect_match "labels escaped (quote, backslash, comma)" \
	'subject="CN=odd,O=Quote \\\\\\" and \\\\\\\\ back\\\\, slash"' "$PROM"
expect_match "path with a space is kept" "path=\"$T/sub dir/odd.pem\"" "$PROM"
expect_eq "a certificate twice in one file is written once" \
	"$(grep -c '^mtlskit_cert_not_after_seconds{path="[^"]*/twice.pem"' "$T/out.prom")" 1
expect_match "scan totals" '^mtlskit_expiry_certificates 6$' "$PROM"
expect_match "window in seconds" '^mtlskit_expiry_window_seconds 2592000$' "$PROM"

# -o: atomic write, no overwrite without --force.
mtk expiry --prometheus -o "$T/textfile/expiry.prom" "$T/d"
expect_eq "-o into a missing directory fails (exit 3)" "$RC" 3
mkdir "$T/textfile"
mtk expiry --prometheus -o "$T/textfile/expiry.prom" "$T/d"
expect_eq "-o writes the file" "$RC" 0
expect_file "the file exists" "$T/textfile/expiry.prom"
expect_eq "stdout is empty with -o" "$OUT" ""
expect_eq "no temporary file left behind" "$(ls -A "$T/textfile" | wc -l)" 1
mtk expiry --prometheus -o "$T/textfile/expiry.prom" "$T/d"
expect_eq "an existing file is not replaced without --force" "$RC" 2
mtk expiry --prometheus --force -o "$T/textfile/expiry.prom" "$T/sub dir"
expect_eq "--force replaces it" "$RC" 0
expect_match "the new content is in place" 'odd.pem' "$(cat "$T/textfile/expiry.prom")"
expect_no_match "the old content is gone" 'bundle.pem' "$(cat "$T/textfile/expiry.prom")"
expect_rc 2 "--prometheus with --json is a usage error" "$MTLSKIT" expiry --json --prometheus "$T/d"
expect_rc 2 "-o without --prometheus is a usage error" "$MTLSKIT" expiry -o "$T/x" "$T/d"
done_testing
