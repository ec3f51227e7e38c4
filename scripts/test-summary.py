#!/usr/bin/env python3
"""Counts results over meson testlog.json files: every TAP line is one
test; a test without TAP output counts by its result; a test that failed
without any 'not ok' line (a crash, a timeout) counts as one failure.
Prints 'N passed, N failed' as the last line; exits 1 if anything failed."""
import json
import re
import sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
    except OSError as e:
        print(f"missing test log {path}: {e}")
        failed += 1
        continue
    for line in lines:
        if not line.strip():
            continue
        t = json.loads(line)
        out = t.get("stdout") or ""
        oks = nots = skips = 0
        for l in out.splitlines():
            if re.match(r"^ok\b", l):
                if re.search(r"#\s*SKIP", l, re.I):
                    skips += 1
                else:
                    oks += 1
            elif re.match(r"^not ok\b", l):
                nots += 1
        res = t.get("result", "")
        if oks + nots + skips == 0:
            if res == "OK":
                oks = 1
            elif res == "SKIP":
                skips = 1
            else:
                nots = 1
        elif res not in ("OK", "SKIP", "EXPECTEDFAIL") and nots == 0:
            nots = 1
        if res not in ("OK", "SKIP", "EXPECTEDFAIL"):
            print(f"FAILED: {t.get('name')} ({res})")
        passed += oks
        failed += nots
        skipped += skips
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)
