#!/usr/bin/env bash
# unit-coverage.sh - every library module (lib/*/*.c) has unit tests
# (issue 16: "a unit test file per module").
#
# The rule, in order:
#   named  tests/unit/test_<basename>.c exists (lib/x509/chain.c ->
#          test_chain.c);
#   calls  otherwise, a unit test calls a function the module defines (a
#          non-static definition of lib/D/F.c, by name: e.g. core/buf.c's
#          mtk_buf_* are called by test_core.c and others).
# A module that meets neither is listed below under EXCEPTIONS with the
# test that reaches it, a pattern that must occur in that test (so the
# claim is checked, not just stated) and why there is no closer test.  An
# exception for a module the rule already covers fails too, so the list
# stays short and true.  Also checked: every tests/unit/test_*.c is in the
# unit_tests list of tests/unit/meson.build (an unlisted file never runs),
# and every listed name has its file.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
SRC=${MTLSKIT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}

# module | test (path from the source root) | pattern (grep -E) | reason
cat >"$T/exceptions" <<'EOF_EXC'
lib/keystore/javaser.c|tests/unit/test_jks.c|secret_alg, "AES"|the Java serialization reader has no entry point of its own: test_jks.c decodes JCEKS secret-key entries (SecretKeySpec streams) through it; tests/fuzz/fuzz_javaser.c feeds it directly
lib/renew/acme.c|tests/interop/track-acme.sh|pebble|the ACME client needs an ACME server: track-acme.sh runs it against pebble (orders, challenges, bad nonces)
lib/renew/issue.c|tests/cli/track-helper.sh|track|the issuing helpers (spawned command, its environment and output) are driven by mtk_track_run: track-helper.sh runs real helper scripts
lib/renew/run.c|tests/cli/track-helper.sh|track|mtk_track_run installs files, takes locks and spawns helpers: track-helper.sh and track-ca-dir.sh run it end to end
EOF_EXC

cat >"$T/cov.py" <<'PY'
import os, re, sys
root, exc_file = sys.argv[1], sys.argv[2]
lib, unit = os.path.join(root, 'lib'), os.path.join(root, 'tests', 'unit')
listed = re.search(r"unit_tests\s*=\s*\[(.*?)\]", open(os.path.join(unit, 'meson.build')).read(), re.S)
listed = re.findall(r"'([^']+)'", listed.group(1)) if listed else []
files = sorted(f[5:-2] for f in os.listdir(unit) if f.startswith('test_') and f.endswith('.c'))
for f in files:
    print(('ok' if f in listed else 'FAIL') + '|tests/unit/test_%s.c is in the unit_tests list' % f)
for n in listed:
    if n not in files:
        print('FAIL|unit_tests lists %s but tests/unit/test_%s.c is missing' % (n, n))
tests = {f: open(os.path.join(unit, 'test_%s.c' % f), errors='replace').read() for f in files if f in listed}
def_re = re.compile(r'^(?!static\b)[A-Za-z_][\w \*]*?\b([a-z_]\w*)\s*\([^;{]*\)\s*\{', re.M)
exc = {}
for line in open(exc_file):
    if line.strip():
        mod, test, pat, why = line.rstrip('\n').split('|', 3)
        exc[mod] = (test, pat, why)
seen = set()
for d in sorted(os.listdir(lib)):
    if not os.path.isdir(os.path.join(lib, d)):
        continue
    for f in sorted(os.listdir(os.path.join(lib, d))):
        if not f.endswith('.c'):
            continue
        mod, base = 'lib/%s/%s' % (d, f), f[:-2]
        seen.add(mod)
        names = set(def_re.findall(open(os.path.join(lib, d, f), errors='replace').read()))
        how = None
        if base in tests:
            how = 'named: tests/unit/test_%s.c' % base
        else:
            call = re.compile(r'\b(?:%s)\s*\(' % '|'.join(map(re.escape, sorted(names)))) if names else None
            callers = [t for t, txt in tests.items() if call and call.search(txt)]
            if callers:
                how = 'calls: ' + ', '.join('test_%s.c' % t for t in callers[:3]) + \
                      (' (+%d)' % (len(callers) - 3) if len(callers) > 3 else '')
        if mod in exc:
            test, pat, why = exc[mod]
            if how:
                print('FAIL|%s: listed as an exception but covered (%s): drop the exception' % (mod, how))
                continue
            path = os.path.join(root, test)
            if not os.path.exists(path):
                print('FAIL|%s: exception names %s, which does not exist' % (mod, test))
            elif not re.search(pat, open(path, errors='replace').read()):
                print('FAIL|%s: exception names %s, which does not contain /%s/' % (mod, test, pat))
            else:
                print('ok|%s: exception: %s' % (mod, test))
            continue
        print(('ok|%s: %s' % (mod, how)) if how else
              ('FAIL|%s: no unit test (add tests/unit/test_%s.c, or an exception with its reason)' % (mod, base)))
for mod in sorted(set(exc) - seen):
    print('FAIL|exception for %s, which is not a module of lib/' % mod)
PY

run python3 "$T/cov.py" "$SRC" "$T/exceptions"
expect_eq "the coverage reader ran" "$RC" 0
while IFS='|' read -r verdict desc; do
	if [ "$verdict" = ok ]; then ok "$desc"; else not_ok "$desc"; fi
done <<<"$OUT"
# The modules issue 16 named have their own files now.
for m in x509/chain x509/subject formats/detect x509/ksgen expiry/endpoint keystore/p12; do
	expect_match "lib/$m.c has its own test file" "^ok\|lib/$m\.c: named" "$OUT"
done
# The rule finds a gap: a module with no test is reported by name.
mkdir -p "$T/src/lib/x509" "$T/src/tests/unit"
printf 'int mtk_orphan(void)\n{\n\treturn 0;\n}\n' >"$T/src/lib/x509/orphan.c"
printf "unit_tests = [\n  'other',\n]\n" >"$T/src/tests/unit/meson.build"
printf 'int main(void) { return 0; }\n' >"$T/src/tests/unit/test_other.c"
printf 'int main(void) { return 0; }\n' >"$T/src/tests/unit/test_stray.c"
: >"$T/noexc"
run python3 "$T/cov.py" "$T/src" "$T/noexc"
expect_match "a module without a test is named" \
	'^FAIL\|lib/x509/orphan\.c: no unit test \(add tests/unit/test_orphan\.c' "$OUT"
expect_match "an unlisted test file is named" '^FAIL\|tests/unit/test_stray\.c is in the unit_tests list' "$OUT"
printf 'lib/x509/orphan.c|tests/unit/test_other.c|mtk_orphan|why\n' >"$T/exc2"
run python3 "$T/cov.py" "$T/src" "$T/exc2"
expect_match "an exception whose evidence is missing fails" \
	'^FAIL\|lib/x509/orphan\.c: exception names tests/unit/test_other\.c, which does not contain /mtk_orphan/' "$OUT"
printf 'int main(void) { return mtk_orphan(); }\n' >"$T/src/tests/unit/test_other.c"
run python3 "$T/cov.py" "$T/src" "$T/exc2"
expect_match "a stale exception fails" '^FAIL\|lib/x509/orphan\.c: listed as an exception but covered' "$OUT"
done_testing
