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
# x509-certificate-exporter's names, so its dashboard and alerts work as is.
expect_match "HELP line for notAfter" '^# HELP x509_cert_not_after ' "$PROM"
expect_match "TYPE gauge for notAfter" '^# TYPE x509_cert_not_after gauge$' "$PROM"
expect_match "TYPE gauge for notBefore" '^# TYPE x509_cert_not_before gauge$' "$PROM"
expect_match "TYPE for expired" '^# TYPE x509_cert_expired gauge$' "$PROM"
expect_match "TYPE for expiring (mtlskit's own)" '^# TYPE mtlskit_cert_expiring gauge$' "$PROM"
expect_match "read errors" '^x509_read_errors 0$' "$PROM"
expect_no_match "no old metric names" 'mtlskit_cert_not_after_seconds' "$PROM"
soon_na=$(enddate_epoch "$T/soon.pem")
soon_nb=$(date -u -d "$(openssl x509 -in "$T/soon.pem" -noout -startdate | cut -d= -f2)" +%s)
soon_fp=$(openssl x509 -in "$T/soon.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)
soon_serial=$(printf '%d' "0x$(openssl x509 -in "$T/soon.pem" -noout -serial | cut -d= -f2)")
labels="filename=\"bundle.pem\",filepath=\"$T/d/bundle.pem\",issuer_C=\"\",issuer_CN=\"Expiry Test CA\",issuer_L=\"\",issuer_O=\"Expiry Test\",issuer_OU=\"\",issuer_ST=\"\",serial_number=\"$soon_serial\",subject_C=\"\",subject_CN=\"soon.example.com\",subject_L=\"\",subject_O=\"Expiry Test\",subject_OU=\"\",subject_ST=\"\",alias=\"\",keystore=\"\",endpoint=\"\",sha256=\"$soon_fp\""
expect_match "notAfter of soon is openssl's, with the exporter's labels" \
	"^x509_cert_not_after\\{$labels\\} $soon_na\$" "$PROM"
expect_match "notBefore of soon is openssl's" "^x509_cert_not_before\\{$labels\\} $soon_nb\$" "$PROM"
expect_match "serial_number is decimal (openssl's hex 1000 is 4096)" 'serial_number="4096"' "$PROM"
expect_match "expired=1 for the expired one" \
	'^x509_cert_expired\{filename="bundle.pem",.*subject_CN="expired.example.com".*\} 1$' "$PROM"
expect_match "expiring=1 for the one within 30 days" \
	'^mtlskit_cert_expiring\{filename="bundle.pem",.*subject_CN="soon.example.com".*\} 1$' "$PROM"
expect_match "expiring=0 for the one in 50 days" '^mtlskit_cert_expiring\{filename="odd.pem".*\} 0$' "$PROM"
# openssl prints O=Quote \" and \\ back\, slash; the exporter's subject_O is
# the value itself (Quote " and \ back, slash), then Prometheus escapes \ and ".
expect_match "labels escaped (quote, backslash, comma)" \
	'subject_O="Quote \\" and \\\\ back, slash"' "$PROM"
expect_match "path with a space is kept" "filepath=\"$T/sub dir/odd.pem\"" "$PROM"
expect_eq "a certificate twice in one file is written once" \
	"$(grep -c '^x509_cert_not_after{filename="twice.pem"' "$T/out.prom")" 1
expect_eq "the same certificate in three files: three series" \
	"$(grep -c "^x509_cert_not_after{.*sha256=\"$soon_fp\"" "$T/out.prom")" 3
expect_match "scan totals" '^mtlskit_expiry_certificates 6$' "$PROM"
expect_match "window in seconds" '^mtlskit_expiry_window_seconds 2592000$' "$PROM"
# Families are whole: every series of a family follows its TYPE line.
expect_eq "each family's series are together" \
	"$(awk '/^# TYPE/ { f = $3; next } /^[a-z]/ { split($0, a, "[{ ]"); if (a[1] != f) bad++ } END { print bad + 0 }' "$T/out.prom")" 0

# -o: atomic write, no overwrite without --force.
mtk expiry --prometheus -o "$T/textfile/expiry.prom" "$T/d"
expect_eq "-o into a missing directory is a failed write (exit 6)" "$RC" 6
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
