#!/usr/bin/env bash
# layering.sh - the library's layers, read from its #include lines:
#   core -> formats -> keystore -> x509 -> tls | gateway -> expiry -> renew
# (each may include only its own layer and those before it), so there is no
# include circle and no codec reaches up into the loader; and every header
# of include/mtlskit/ is needed by cli/ or gateway/ (directly or through
# another public header): what only the library uses lives beside its
# sources.  The layer of a public header is the directory that defines most
# of the functions it declares.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
SRC=${MTLSKIT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
cat >"$T/layers.py" <<'PY'
import collections, os, re, sys
root = sys.argv[1]
rank = {'core': 0, 'formats': 1, 'keystore': 2, 'x509': 3, 'tls': 4, 'gateway': 4,
        'expiry': 5, 'renew': 6}
lib, pub = os.path.join(root, 'lib'), os.path.join(root, 'include', 'mtlskit')
mods = sorted(d for d in os.listdir(lib) if os.path.isdir(os.path.join(lib, d)))
unknown = [m for m in mods if m not in rank]
inc_re = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
def_re = re.compile(r'^[A-Za-z_][\w \*]*?\b(mtk_\w+)\s*\([^;]*?\)\s*\{', re.M)
defined = {}
for m in mods:
    for f in os.listdir(os.path.join(lib, m)):
        if f.endswith('.c'):
            for name in def_re.findall(open(os.path.join(lib, m, f), errors='replace').read()):
                defined.setdefault(name, m)
def pub_layer(h):
    txt = open(os.path.join(pub, h), errors='replace').read()
    c = collections.Counter(defined[n] for n in re.findall(r'\b(mtk_\w+)\s*\(', txt) if n in defined)
    return c.most_common(1)[0][0] if c else 'core'  # types and macros only
layer = {}
for h in os.listdir(pub):
    layer[os.path.join(pub, h)] = pub_layer(h)
def resolve(frm, inc):
    for base in (os.path.dirname(frm), lib, os.path.join(root, 'include')):
        p = os.path.normpath(os.path.join(base, inc))
        if os.path.exists(p):
            return p
    return None
bad = []
for m in mods:
    for f in sorted(os.listdir(os.path.join(lib, m))):
        path = os.path.join(lib, m, f)
        if not f.endswith(('.c', '.h')):
            continue
        for inc in inc_re.findall(open(path, errors='replace').read()):
            p = resolve(path, inc)
            if p is None:
                continue
            if p.startswith(lib + os.sep):
                tm = os.path.relpath(p, lib).split(os.sep)[0]
            else:
                tm = layer.get(p)
            if tm and tm != m and rank.get(tm, 99) >= rank.get(m, -1):
                bad.append(f'lib/{m}/{f} includes "{inc}" ({tm}, not below {m})')
print('unknown-modules:' + ' '.join(unknown))
print('upward:' + ' | '.join(bad))
# public headers used by cli/ or gateway/, transitively through public headers
used, todo = set(), []
for d in ('cli', 'gateway'):
    for f in os.listdir(os.path.join(root, d)):
        if f.endswith(('.c', '.h')):
            p = os.path.join(root, d, f)
            todo += [resolve(p, i) for i in inc_re.findall(open(p, errors='replace').read())]
while todo:
    p = todo.pop()
    if p is None or p in used or not p.startswith(pub + os.sep):
        continue
    used.add(p)
    todo += [resolve(p, i) for i in inc_re.findall(open(p, errors='replace').read())]
unused = sorted(os.path.basename(h) for h in layer if h not in used)
print('unused-public:' + ' '.join(unused))
print('modules:' + ' '.join(mods))
PY
run python3 "$T/layers.py" "$SRC"
expect_eq "the layering check ran" "$RC" 0
expect_match "it saw the library's modules" '^modules:.*core.*formats.*keystore.*x509' "$OUT"
expect_eq "every lib/ directory has a place in the layers" "$(sed -n 's/^unknown-modules://p' <<<"$OUT")" ""
expect_eq "no include from a lower layer to a higher one (hence no circle)" "$(sed -n 's/^upward://p' <<<"$OUT")" ""
expect_eq "every public header is used by cli/ or gateway/" "$(sed -n 's/^unused-public://p' <<<"$OUT")" ""

# The check itself: a formats file that includes the loader is caught.
[ -n "${LAYERING_NESTED:-}" ] && done_testing && exit
mkdir -p "$T/src/lib" "$T/src/include" "$T/src/cli" "$T/src/gateway"
cp -r "$SRC/lib/." "$T/src/lib/" && cp -r "$SRC/include/." "$T/src/include/"
cp "$SRC"/cli/*.[ch] "$T/src/cli/" && cp "$SRC"/gateway/*.[ch] "$T/src/gateway/"
sed -i '1i #include "mtlskit/load.h"' "$T/src/lib/formats/detect.c"
printf '#ifndef X\n#define X\nint mtk_nobody_uses_this(void);\n#endif\n' >"$T/src/include/mtlskit/orphan.h"
LAYERING_NESTED=1 MTLSKIT_SRC="$T/src" run bash "$0"
expect_match "negative control: an upward include is reported" 'not ok .*no include from a lower layer' "$OUT"
expect_match "negative control: it names the file and the header" 'lib/formats/detect.c includes "mtlskit/load.h" \(x509' "$OUT"
expect_match "negative control: an unused public header is reported" 'orphan.h' "$OUT"
done_testing
