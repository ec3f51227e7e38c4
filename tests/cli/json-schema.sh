#!/usr/bin/env bash
# json-schema.sh - every verb's --json output, success and failure, is one
# JSON document valid against its schema in docs/schema/ (draft 7, checked
# with python3-jsonschema), and every time in it is RFC 3339 UTC.
. "${MTLSKIT_TESTLIB:?}"
cd "$T" || exit 1
SCHEMAS=$MTLSKIT_SRC/docs/schema

# Debian's python3-jsonschema (4.10) is what deps.sh installs; another
# python3 earlier on PATH may lack it.
PY=
for p in /usr/bin/python3 python3; do
	if "$p" -c 'import jsonschema' 2>/dev/null; then PY=$p; break; fi
done
if [ -z "$PY" ]; then
	echo "1..0 # SKIP python3-jsonschema is not installed (scripts/deps.sh test)"
	exit 0
fi

cat >validate.py <<'EOF'
import glob, json, re, sys, warnings
warnings.simplefilter("ignore")  # RefResolver is deprecated in newer releases
import jsonschema

schema_dir, name, path = sys.argv[1:4]
store = {}
for f in glob.glob(schema_dir + "/*.json"):
    with open(f) as fp:
        s = json.load(fp)
    jsonschema.Draft7Validator.check_schema(s)
    store[s["$id"]] = s
schema = store["https://mtlskit.invalid/schema/%s.json" % name]
with open(path) as fp:
    text = fp.read()
try:
    doc = json.loads(text)  # exactly one document: trailing bytes fail here
except ValueError as e:
    print("not one JSON document: %s" % e)
    sys.exit(1)
resolver = jsonschema.RefResolver.from_schema(schema, store=store)
errors = [e for e in jsonschema.Draft7Validator(schema, resolver=resolver).iter_errors(doc)]
for e in errors[:5]:
    print("%s: %s" % ("/".join(str(p) for p in e.absolute_path), e.message[:200]))
# Times the schema does not name are still RFC 3339: no "... UTC" anywhere.
old = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})? UTC$|^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
def walk(v, where):
    if isinstance(v, dict):
        for k, x in v.items():
            walk(x, where + "/" + k)
    elif isinstance(v, list):
        for n, x in enumerate(v):
            walk(x, "%s/%d" % (where, n))
    elif isinstance(v, str) and old.search(v):
        errors.append(v)
        print("%s: not RFC 3339: %s" % (where, v))
walk(doc, "")
sys.exit(1 if errors else 0)
EOF

# ---- fixtures ----
M=$MTLSKIT
source "$(dirname "$0")/../lib/verb-fixtures.sh"
verb_fixtures Schema
openssl pkcs12 -export -nokeys -in ca/root.crt -passout pass:changeit -out trust.p12 2>/dev/null
mkdir -p td # track's directory

# ---- schema | exit | arguments (after `mtlskit --json`) ----
cases=$(cat <<EOF
inspect  | 0 | inspect c.crt chain.pem c.key
inspect  | 0 | inspect --pass env:GOOD c.p12
inspect  | 3 | inspect missing.pem
inspect  | 4 | inspect --pass env:WRONG c.p12
key      | 0 | key generate -o k.pem
key      | 2 | key generate -o k.pem
key      | 6 | key generate -o /nonexistent/dir/k.pem
csr      | 0 | csr create --cn a.example.com --key c.key -o a.csr
csr      | 1 | csr create --cn a.example.com --country USA --key c.key -o b.csr
csr      | 2 | csr create --subject /CN=a/XX=1 --key c.key -o b.csr
ca       | 0 | ca init ca2 --name "Second Root" --key-type ec:P-256
ca       | 0 | ca sign ca c.csr --profile client -o c2.crt
ca       | 0 | ca revoke ca c2.crt
ca       | 0 | ca crl ca -o crl.pem
ca       | 0 | ca list ca
ca       | 3 | ca sign nodir c.csr --profile client -o c3.crt
renew    | 0 | renew c.crt --key c.key -o r.csr
renew    | 3 | renew missing.crt --key c.key -o r2.csr
convert  | 0 | convert c.crt --to der -o c.der
convert  | 2 | convert c.crt --to pem -o -
convert  | 4 | convert c.p12 --pass env:WRONG --to pem -o p.pem
bundle   | 0 | bundle c.crt chain.pem c.key -o b.pem
bundle   | 1 | bundle c.crt c.key -o b2.pem
check    | 0 | check --profile mid bundle.pem
check    | 1 | check --profile mid c.crt
check    | 3 | check missing.pem
keystore | 0 | keystore list s.jks
keystore | 0 | keystore list --pass pass:changeit trust.p12
keystore | 0 | keystore add-key s2.jks --alias m --pass env:GOOD c.p12
keystore | 0 | keystore add-trusted s2.jks --alias root ca/root.crt
keystore | 0 | keystore export s2.jks --alias m -o ex.pem
keystore | 0 | keystore csr s2.jks --alias m -o ks.csr
keystore | 0 | keystore genkey s2.jks --alias g --subject "CN=g.example.com, O=Example"
keystore | 0 | keystore remove s2.jks --alias g
keystore | 0 | keystore passwd s2.jks --out-pass pass:new-pass-1
keystore | 4 | keystore list --pass env:WRONG s.jks
keystore | 3 | keystore list junk.pem
mid      | 0 | mid install --agent agent bundle.pem
mid      | 0 | mid show --agent agent
mid      | 3 | mid show --agent .
probe    | 0 | probe --timeout 10s 127.0.0.1:$port
probe    | 5 | probe --connect-timeout 2s 127.0.0.1:$closed
probe    | 2 | probe
expiry   | 0 | expiry c.crt chain.pem
expiry   | 1 | expiry --within 400d c.crt
expiry   | 5 | expiry --timeout 2s 127.0.0.1:$closed
expiry   | 3 | expiry missing.pem
expiry   | 0 | expiry --unique c.crt c.crt chain.pem
track    | 0 | track add t1 --dir td --target pem --cert $T/c.crt --key $T/c.key --issuer ca-dir --ca-dir $T/ca
track    | 0 | track list --dir td
track    | 0 | track status --dir td
track    | 0 | track run --dir td
track    | 0 | track run --dir td --dry-run --force-renew
track    | 3 | track remove --dir td nothere
EOF
)
n=0
while IFS='|' read -r schema want args; do
	schema=$(echo $schema) want=$(echo $want)
	[ -n "$schema" ] || continue
	eval "set -- $args"
	run "$MTLSKIT" --json "$@"
	n=$((n + 1))
	printf '%s' "$OUT" >"doc-$n.json"
	if [ "$RC" = "$want" ]; then ok "$*: exit $want"; else not_ok "$*: exit $want (got $RC)"; _show_last; fi
	report=$("$PY" validate.py "$SCHEMAS" "$schema" "doc-$n.json" 2>&1)
	if [ $? = 0 ]; then
		ok "$*: valid against docs/schema/$schema.json"
	else
		not_ok "$*: valid against docs/schema/$schema.json"
		diag "$report"
	fi
done <<<"$cases"

# expiry --jsonl: each line is one certificate object, as in --json
run "$MTLSKIT" expiry --jsonl c.crt chain.pem
expect_eq "expiry --jsonl: exit 0" "$RC" 0
bad=0 lines=0
while IFS= read -r l; do
	lines=$((lines + 1))
	printf '%s' "$l" >line.json
	"$PY" validate.py "$SCHEMAS" expiry-line line.json >/dev/null 2>&1 || bad=$((bad + 1))
done <<<"$OUT"
expect_eq "expiry --jsonl: every line ($lines) valid against docs/schema/expiry-line.json" "$bad" 0
expect_eq "expiry --jsonl: as many lines as --json has certificates" "$lines" \
	"$("$MTLSKIT" expiry --json c.crt chain.pem | jq '.certificates | length')"

# A document that breaks the rules is caught (the check itself works).
printf '{"command": "expiry", "ok": true, "exit": 0, "findings": [], "certificates": [{"days_left": 1, "status": "ok", "path": "x", "not_after": "2026-11-22 06:21:48 UTC"}], "errors": [], "summary": {"certificates": 1, "errors": 0}}' >bad.json
expect_rc 1 "an old-style time fails validation" "$PY" validate.py "$SCHEMAS" expiry bad.json
printf '{"command": "key generate", "ok": true, "exit": 0, "findings": []}\n{"again": 1}' >two.json
expect_rc 1 "two documents fail validation" "$PY" validate.py "$SCHEMAS" key two.json

done_testing
