#!/usr/bin/env bash
# track-fleet.sh - what operators run for `track`: the service and timer pass
# `systemd-analyze verify`; the Alertmanager rules pass `promtool check
# rules` and `promtool test rules` (each alert fires when it should and not
# before); a textfile from `track status --prometheus` passes `promtool
# check metrics`.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
SRC=${MTLSKIT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
RULES=$SRC/packaging/prometheus/mtlskit-track-rules.yml
UNIT="$MTLSKIT_BUILD/packaging/mtlskit-track.service"

if command -v systemd-analyze >/dev/null; then
	bindir=$(sed -n 's|^ExecStart=\(.*\)/mtlskit track run$|\1|p' "$UNIT")
	expect_match "the unit runs mtlskit track run from bindir" '^/' "$bindir"
	sed "s|$bindir/mtlskit|$MTLSKIT|" "$UNIT" >"$T/mtlskit-track.service"
	cp "$SRC/packaging/systemd/mtlskit-track.timer" "$T/"
	expect_rc 0 "systemd-analyze verify accepts service and timer" \
		systemd-analyze verify "$T/mtlskit-track.service" "$T/mtlskit-track.timer"
	expect_eq "verify prints nothing" "$OUT$ERR" ""
	expect_match "the timer spreads a fleet" '^RandomizedDelaySec=1h$' "$(cat "$T/mtlskit-track.timer")"
else
	ok "# SKIP systemd-analyze not installed (Debian package systemd)"
fi

if ! command -v promtool >/dev/null; then
	ok "# SKIP promtool not installed (Debian package prometheus)"
	done_testing
fi
expect_rc 0 "promtool check rules" promtool check rules "$RULES"
expect_match "four rules" 'SUCCESS: 4 rules found' "$OUT"

cat >"$T/rules-test.yml" <<YML
rule_files:
  - $RULES
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # ok: renewed, next renewal in 60 days, expires in 90
      - series: 'mtlskit_track_last_error{name="ok",target="pem",issuer="ca-dir"}'
        values: '0x3000'
      - series: 'mtlskit_track_next_renewal_seconds{name="ok",target="pem",issuer="ca-dir"}'
        values: '5184000x3000'
      - series: 'mtlskit_track_not_after_seconds{name="ok",target="pem",issuer="ca-dir"}'
        values: '7776000x3000'
      # broken: failing since t=0, due at t=0, expires at 3 days
      - series: 'mtlskit_track_last_error{name="broken",target="mid",issuer="helper"}'
        values: '1x3000'
      - series: 'mtlskit_track_next_renewal_seconds{name="broken",target="mid",issuer="helper"}'
        values: '0x3000'
      - series: 'mtlskit_track_not_after_seconds{name="broken",target="mid",issuer="helper"}'
        values: '259200x3000'
      - series: 'node_textfile_mtime_seconds{file="/var/lib/prometheus/node-exporter/mtlskit-track.prom"}'
        values: '0x3000'
    alert_rule_test:
      - eval_time: 30m
        alertname: MtlskitRenewalFailing
        exp_alerts: []
      - eval_time: 2h
        alertname: MtlskitRenewalFailing
        exp_alerts:
          - exp_labels: {severity: warning, name: broken, target: mid, issuer: helper}
            exp_annotations:
              summary: "renewal of broken (mid, issuer helper) failed"
              description: "See \`mtlskit track status\` on  for the last error."
      - eval_time: 47h
        alertname: MtlskitRenewalOverdue
        exp_alerts: []
      - eval_time: 49h
        alertname: MtlskitRenewalOverdue
        exp_alerts:
          - exp_labels: {severity: warning, name: broken, target: mid, issuer: helper}
            exp_annotations:
              summary: "broken was due for renewal more than two days ago"
      - eval_time: 1h
        alertname: MtlskitCertificateExpiringSoon
        exp_alerts:
          - exp_labels: {severity: critical, name: broken, target: mid, issuer: helper}
            exp_annotations:
              summary: "broken expires in less than 7 days"
      - eval_time: 49h
        alertname: MtlskitTrackTextfileStale
        exp_alerts:
          - exp_labels: {severity: warning, file: "/var/lib/prometheus/node-exporter/mtlskit-track.prom"}
            exp_annotations:
              summary: "mtlskit-track.timer has not run for two days on "
YML
expect_rc 0 "promtool test rules: each alert fires when it should, not before" promtool test rules "$T/rules-test.yml"

# a real textfile
cd "$T" || exit 1
"$MTLSKIT" ca init ca --name "Fleet Root" --key-type ec:P-256 >/dev/null
"$MTLSKIT" csr create --cn a.example.com --country US --usage client --new-key ec:P-256 --key-out a.key -o a.csr >/dev/null
"$MTLSKIT" ca sign ca a.csr --profile client -o a.crt >/dev/null
mkdir d
export MTLSKIT_TRACK_DIR=$T/d
"$MTLSKIT" track add a --target pem --cert "$T/a.crt" --key "$T/a.key" --issuer ca-dir --ca-dir "$T/ca" >/dev/null
"$MTLSKIT" track add b --target pem --cert "$T/missing.crt" --key "$T/a.key" --issuer ca-dir --ca-dir "$T/ca" >/dev/null
mtk track status --prometheus "$T/t.prom"
expect_eq "status with a broken entry: exit 1" "$RC" 1
run promtool check metrics <"$T/t.prom"
expect_eq "promtool check metrics accepts the textfile" "$RC" 0
expect_eq "promtool has nothing to say" "$OUT$ERR" ""
expect_match "the broken one is last_error 1" '^mtlskit_track_last_error\{name="b",target="pem",issuer="ca-dir"\} 1$' "$(cat "$T/t.prom")"
expect_no_match "no not_after for the unreadable one (not 1970)" 'not_after_seconds\{name="b"' "$(cat "$T/t.prom")"
done_testing
