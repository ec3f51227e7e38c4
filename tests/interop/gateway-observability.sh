#!/usr/bin/env bash
# gateway-observability.sh - what operators plug in: the Prometheus alert
# rules (packaging/prometheus) pass `promtool check rules` and their unit
# tests (`promtool test rules`: each alert fires, with its labels and text,
# exactly when it should); the Grafana dashboard (packaging/grafana) is JSON
# whose every query parses (promtool, as recording rules); and every series
# those two use is one a running gateway's /metrics exports, every family
# /metrics exports is documented in docs/gateway.md and the reverse, and
# promtool's linter accepts the exposition.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "$0")/lib/gw-fixtures.sh"
P=$MTLSKIT_SRC/packaging
RULES=$P/prometheus/mtlskit-gateway-rules.yml
DASH=$P/grafana/mtlskit.json

run promtool check rules "$RULES"
expect_eq "promtool check rules" "$RC" 0
expect_match "  ... finds the 12 rules" 'SUCCESS: 12 rules found' "$OUT"
run promtool test rules "$P/prometheus/mtlskit-gateway-rules.test.yml"
expect_eq "promtool test rules: every alert fires when it should, with its labels and summary" "$RC" 0
[ "$RC" = 0 ] || diag "$OUT" "$ERR"
# Negative control: a rule file whose CRL alert forgot the `> 0` guard makes
# the unit tests fail (a CRL without nextUpdate would alert).
sed 's/(mtlskit_gateway_crl_next_update_seconds - time() < 86400) > 0/mtlskit_gateway_crl_next_update_seconds - time() < 86400/' \
	"$RULES" >"$T/mtlskit-gateway-rules.yml"
cp "$P/prometheus/mtlskit-gateway-rules.test.yml" "$T/"
run promtool test rules "$T/mtlskit-gateway-rules.test.yml"
expect_eq "negative control: the unit tests catch a CRL alert without its guard" "$RC" 1

# --- the dashboard
run jq -e '.panels | length' "$DASH"
expect_eq "the dashboard is JSON with panels" "$RC" 0
{
	echo "groups:"
	echo "  - name: dashboard"
	echo "    rules:"
	i=0
	jq -r '.panels[].targets[].expr' "$DASH" | sed -e 's/\$__rate_interval/5m/g' -e 's/\$__range/1h/g' \
		-e 's/\$instance/.*/g' | while IFS= read -r e; do
		i=$((i + 1))
		printf '      - record: dashboard:q%d\n        expr: %s\n' "$i" "$(jq -Rn --arg e "$e" '$e')"
	done
} >"$T/dash-rules.yml"
run promtool check rules "$T/dash-rules.yml"
expect_eq "every dashboard query parses (promtool, as recording rules)" "$RC" 0
[ "$RC" = 0 ] || diag "$OUT" "$ERR"

# --- a running gateway's /metrics
gw_pki
gw_backend b1
gw_conf "$T/gw.conf" "$BACKEND_PORT" "crl $T/crl1.pem"
gw_start obs "$T/gw.conf" || { not_ok "gateway starts"; done_testing; }
gw_curl alice "https://127.0.0.1:$GW_PORT/"
expect_eq "alice's request is served" "$(http_code)" 200
gw_curl mallory "https://127.0.0.1:$GW_PORT/"
run curl -sS "http://127.0.0.1:$GW_ADMIN/metrics"
scrape=$OUT
printf '%s\n' "$scrape" >"$T/metrics.txt"
run promtool check metrics <"$T/metrics.txt"
expect_eq "promtool check metrics: no lint problem" "$RC$OUT$ERR" 0
exported=$(sed -n 's/^# TYPE \([a-z_]*\) .*/\1/p' "$T/metrics.txt" | sort -u)
expect_eq "the gateway exports 14 families (crl and client-cert series present)" "$(echo "$exported" | wc -l)" 14
used=$( { grep -oE 'mtlskit_gateway_[a-z_]+' "$RULES"; jq -r '.panels[].targets[].expr, .templating.list[].definition? // empty' "$DASH" |
	grep -oE 'mtlskit_gateway_[a-z_]+'; } | sed -E 's/_(bucket|sum|count)$//' | sort -u)
expect_eq "the rules and dashboard use only series the gateway exports" "$(comm -13 <(echo "$exported") <(echo "$used") | tr '\n' ' ')" ""
documented=$(sed -n '/^## Metrics/,/^## /p' "$MTLSKIT_SRC/docs/gateway.md" | grep -oE '^\| `mtlskit_gateway_[a-z_]+' | sed 's/^| `//' | sort -u)
expect_eq "docs/gateway.md documents every exported family" "$(comm -23 <(echo "$exported") <(echo "$documented") | tr '\n' ' ')" ""
expect_eq "docs/gateway.md documents no family the gateway lacks" "$(comm -13 <(echo "$exported") <(echo "$documented") | tr '\n' ' ')" ""
reasons=$(sed -n 's/^mtlskit_gateway_rejections_total{reason="\([a-z-]*\)"}.*/\1/p' "$T/metrics.txt")
missing=""
for r in $reasons; do sed -n '/^## Metrics/,/^## /p' "$MTLSKIT_SRC/docs/gateway.md" | grep -q "\`$r\`" || missing+=" $r"; done
expect_eq "docs/gateway.md's metrics section names every rejection reason /metrics exports" "$missing" ""
expect_eq "mallory's refusal is counted (unknown-ca)" "$(metric 'mtlskit_gateway_rejections_total{reason="unknown-ca"}')" 1
gw_finish
done_testing
