#!/usr/bin/env python3
"""Client and judge of tests/interop/gateway-smuggle.sh (loopback only).

  send CA CERT KEY OUT NAME=PORT...
      sends every variant of smuggle_variants.py as raw bytes over mTLS to
      each gateway (one TLS connection per variant per gateway, several at
      once), reads the responses it gets until the gateway closes or stays
      quiet, and writes one JSON line per (gateway, variant) to OUT.
  check RESULTS NAME=GATEWAY_LOG:BACKEND_LOG...
      compares what each client got, what each gateway logged and what each
      backend parsed; prints "description<TAB>got<TAB>want" lines for the
      shell's expect_eq.
Every wait is bounded: 0.6 s of silence once the responses expected are
complete, 4 s per connection.
"""
import concurrent.futures
import json
import os
import re
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smuggle_variants import VARIANTS  # noqa: E402

IDENTITY = "alice|mid_server,itil"
MARK = re.compile(r"^/s(\d{3})(?=[/?]|$)")


def marker(i):
    return "/s%03d" % (i + 1)


def variant_bytes(i, raw):
    return raw.replace("/s###", marker(i)).encode("latin-1")


def options(v):
    return v[4] if len(v) > 4 and v[4] else {}


def parse_responses(buf, eof):
    """Responses in buf: [(status, chunked, body)], and whether buf ends on a
    response boundary (False while one is incomplete)."""
    out = []
    i = 0
    while i < len(buf):
        j = buf.find(b"\r\n\r\n", i)
        if j < 0:
            return out, False
        lines = buf[i:j].decode("latin-1").split("\r\n")
        try:
            status = int(lines[0].split(" ")[1])
        except (IndexError, ValueError):
            return out + [(-1, False, buf[i:i + 60])], True
        hdr = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            hdr.setdefault(k.strip().lower(), []).append(v.strip())
        i = j + 4
        te = ",".join(hdr.get("transfer-encoding", [])).lower()
        if 100 <= status < 200 or status in (204, 304):
            out.append((status, False, b""))
            continue
        if "chunked" in te:
            body = b""
            while True:
                k = buf.find(b"\r\n", i)
                if k < 0:
                    return out, False
                try:
                    n = int(buf[i:k].split(b";")[0], 16)
                except ValueError:
                    return out + [(status, True, b"bad chunk")], True
                if n == 0:
                    end = buf.find(b"\r\n\r\n", k)
                    if end < 0:
                        return out, False
                    i = end + 4
                    break
                if len(buf) < k + 2 + n + 2:
                    return out, False
                body += buf[k + 2:k + 2 + n]
                i = k + 2 + n + 2
            out.append((status, True, body))
        elif "content-length" in hdr:
            n = int(hdr["content-length"][0])
            if len(buf) - i < n:
                return out, False
            out.append((status, False, buf[i:i + n]))
            i += n
        else:
            if not eof:
                return out, False
            out.append((status, False, buf[i:]))
            i = len(buf)
    return out, True


def exchange(port, ctx, data, mark, want_n=1, quiet=0.6, limit=4.0):
    """Sends data, reads until the gateway closes, or until want_n responses
    are complete and nothing more came for `quiet` seconds, or `limit`."""
    t0 = time.monotonic()
    buf = b""
    eof = False
    err = None
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=limit)
        s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
        s.sendall(data)
        while True:
            left = limit - (time.monotonic() - t0)
            if left <= 0:
                err = "timeout"
                break
            s.settimeout(min(quiet, left))
            try:
                d = s.recv(65536)
            except socket.timeout:
                resp, whole = parse_responses(buf, False)
                if whole and len(resp) >= want_n:
                    break
                continue
            if not d:
                eof = True
                break
            buf += d
        s.close()
    except (ssl.SSLError, OSError) as e:
        eof = True
        if not buf:
            err = type(e).__name__
    resp, whole = parse_responses(buf, eof)
    return {
        "statuses": [r[0] for r in resp],
        "chunked": [r[1] for r in resp],
        "incomplete": not whole,
        "smuggled": b"smuggled" in buf or b"X-Smuggled" in buf,
        # a backend's answer names its request's target: one without this
        # connection's marker was meant for another request
        "foreign": [r[2][:60].decode("latin-1") for r in resp if 200 <= r[0] < 300 and mark not in r[2]],
        "closed": eof,
        "error": err,
        "ms": int((time.monotonic() - t0) * 1000),
    }


def send(ca, cert, key, out, targets):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.load_cert_chain(cert, key)
    jobs = []
    for t in targets:
        name, port = t.split("=")
        for i, v in enumerate(VARIANTS):
            jobs.append((name, int(port), i, v))

    def one(job):
        name, port, i, v = job
        mark = marker(i).encode()
        want_n = max(len(a.split()) for a in v[1].split("|"))
        r = exchange(port, ctx, variant_bytes(i, v[3]), mark, want_n)
        r.update(gw=name, idx=i, name=v[0])
        follow = []
        for _ in range(options(v).get("followups", 0)):
            f = exchange(port, ctx, variant_bytes(i, "GET /s###/after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), mark)
            follow.append(f)
        r["followups"] = follow
        return r

    with open(out, "w") as f, concurrent.futures.ThreadPoolExecutor(8) as pool:
        for r in pool.map(one, jobs):
            f.write(json.dumps(r) + "\n")


def read_jsonl(path):
    rows, bad = [], []
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            for ln in f:
                ln = ln.strip()
                if not ln:
                    continue
                try:
                    rows.append(json.loads(ln))
                except ValueError:
                    bad.append(ln[:80])
    except OSError as e:
        bad.append(str(e))
    return rows, bad


def key(method, path):
    return "%s %s" % (method, (path or "").split("?", 1)[0])


def idx_of(path):
    m = MARK.match(path or "")
    return int(m.group(1)) - 1 if m else None


def printable(x):
    return "".join(c if " " <= c <= "~" else "\\x%02x" % ord(c) if ord(c) < 256 else "\\u%04x" % ord(c)
                   for c in str(x))


def cut_short(r, alts):
    """A backend that closes its connection after every response (wsgiref
    answers HTTP/1.0) may make the gateway close the client's connection after
    relaying that response: pipelined requests after it are then never read.
    The statuses got are accepted when they are a prefix of an expected
    sequence ending on a backend's 2xx and the gateway closed; returns how
    many requests of that connection were forwarded, or None."""
    got = r["statuses"]
    if not got or not r["closed"] or r["incomplete"] or r["error"] or not 200 <= got[-1] < 300:
        return None
    for a in alts:
        want = [int(x) for x in a.split()]
        if len(got) < len(want) and want[:len(got)] == got:
            return sum(1 for x in got if 200 <= x < 300)
    return None


def check(results, specs):
    res = {}
    for r in read_jsonl(results)[0]:
        res[(r["gw"], r["idx"])] = r
    lines = []

    def row(desc, got, want):
        lines.append("\t".join(printable(x) for x in (desc, got, want)))

    for spec in specs:
        name, _, logs = spec.partition("=")
        gwlog, belog, closes = (logs.split(":") + [""])[:3]
        gw_rows, gw_bad = read_jsonl(gwlog)
        be_rows, be_bad = read_jsonl(belog)
        gw_fwd, be_seen, be_ident = {}, {}, {}
        stray = list(be_bad)
        nopath = 0
        gw_users = set()
        for r in gw_rows:
            if r.get("event") != "request":
                continue
            if "path" not in r:
                nopath += 1
                continue
            i = idx_of(r["path"])
            if i is not None and r.get("backend"):
                gw_fwd.setdefault(i, []).append(key(r.get("method"), r["path"]))
                gw_users.add(str(r.get("user")))
        xff, xfp, xc, hop = set(), set(), set(), set()
        for r in be_rows:
            i = idx_of(r.get("path"))
            if "err" in r or i is None or (r.get("status") not in (None, "200")):
                stray.append(r.get("err") or r.get("request") or r.get("path"))
                if i is None:
                    continue
            be_seen.setdefault(i, []).append(key(r.get("method"), r.get("path")))
            ident = "%s|%s" % (r.get("user") or None, r.get("roles") or None)
            if ident != IDENTITY:
                be_ident.setdefault(i, []).append(ident)
            if r.get("xff") != "127.0.0.1":
                xff.add(str(r.get("xff")))
            if r.get("xfp") != "https":
                xfp.add(str(r.get("xfp")))
            hop.update(r.get("hop", []))
            hop.update(k[2:] for k, v in r.items() if k.startswith("h_") and v)
            if r.get("te"):
                hop.add("transfer-encoding")
            for n in r.get("xc", []):
                if n not in ("x-client-user", "x-client-roles", "x-client-cert-sha256", "x-client-cert-subject"):
                    xc.add(n)
        smuggled = []
        for i, v in enumerate(VARIANTS):
            vname = "%s %s %s" % (name, marker(i)[1:], v[0])
            opts = options(v)
            r = res.get((name, i))
            if r is None:
                row(vname + ": the client ran", "no result", "a result")
                continue
            got = " ".join(str(s) for s in r["statuses"]) or "none"
            if r["incomplete"]:
                got += " (incomplete)"
            if r["error"]:
                got += " (%s)" % r["error"]
            alts = v[1].split("|")
            kept = cut_short(r, alts) if closes == "closes" else None
            row(vname + ": client gets " + v[1], got, got if got in alts or kept is not None else v[1])
            fw = sorted(gw_fwd.get(i, []))
            seen = sorted(be_seen.get(i, []))
            row(vname + ": backend parsed exactly what the gateway logged as forwarded",
                ",".join(seen) or "-", ",".join(fw) or "-")
            if v[2] is not None:
                want = [x.replace("/s###", marker(i)) for x in v[2].split(",") if x]
                if kept is not None:  # the requests after the cut never left the client
                    nf = opts.get("followups", 0)
                    want = want[:len(want) - nf][:kept] + want[len(want) - nf:]
                row(vname + ": forwarded requests", ",".join(fw) or "-", ",".join(sorted(want)) or "-")
            row(vname + ": every request the backend parsed carries alice's identity only",
                ",".join(be_ident.get(i, [])) or "ok", "ok")
            last = alts[0].split()[-1]
            if last >= "400":
                row(vname + ": the gateway closes the connection after its " + last, "closed" if r["closed"] else "open", "closed")
            if "cl" in opts:
                cls = [b.get("cl") for b in be_rows if idx_of(b.get("path")) == i and "err" not in b]
                row(vname + ": backend sees Content-Length " + opts["cl"], cls[0] if cls else "nothing", opts["cl"])
            if opts.get("nochunked"):
                row(vname + ": HTTP/1.0 client gets no chunked framing",
                    "chunked" if any(r["chunked"]) else "plain", "plain")
            for f in r.get("followups", []):
                row(vname + ": a later client gets its own answer",
                    " ".join(str(s) for s in f["statuses"]) or "none", "200")
            for x in [r] + r.get("followups", []):
                if x["smuggled"]:
                    smuggled.append(v[0] + ": X-Smuggled")
                smuggled.extend("%s: %s" % (v[0], body.strip()) for body in x["foreign"])
        row(name + ": no client received a response meant for another request", ",".join(smuggled) or "none", "none")
        row(name + ": the backend parsed nothing but the gateway's requests (no stray or refused request)",
            " | ".join(str(s)[:60] for s in stray[:4]) or "none", "none")
        row(name + ": X-Forwarded-For is the client address on every forwarded request", ",".join(sorted(xff)) or "ok", "ok")
        row(name + ": X-Forwarded-Proto is https on every forwarded request", ",".join(sorted(xfp)) or "ok", "ok")
        if name != "nginx":  # nginx drops names with "_" and logs one value per name
            row(name + ": no x-client-* header but the gateway's four reaches the backend", ",".join(sorted(xc)) or "ok", "ok")
        row(name + ": no hop-by-hop header of a client reaches the backend", ",".join(sorted(hop)) or "none", "none")
        row(name + ": every request line of the gateway log has a path", nopath, 0)
        row(name + ": the gateway logged user alice on every request it forwarded", ",".join(sorted(gw_users)), "alice")
        row(name + ": every gateway log line is JSON", " | ".join(gw_bad[:3]) or "ok", "ok")
    print("\n".join(lines))


def main():
    if sys.argv[1] == "send":
        send(*sys.argv[2:6], sys.argv[6:])
    elif sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3:])
    else:
        sys.exit("usage: smuggle_client.py send|check ...")


if __name__ == "__main__":
    main()
