#!/usr/bin/env python3
"""Clients of tests/interop/gateway-limits.sh (loopback only). Each prints one
JSON line; RSS values are the gateway's VmRSS in kB (/proc/PID/status),
sampled every 50 ms while the client misbehaves.

  slowread PORT CA CERT KEY PID SECONDS TARGET
      GET TARGET, read the response head, then read nothing for SECONDS
  slowupload PORT CA CERT KEY PID SECONDS TARGET BYTES
      POST TARGET with Content-Length BYTES, write the body as fast as the
      gateway takes it for SECONDS
  bighead PORT PID BYTES
      plain HTTP: a request head with one header of up to BYTES, written
      until the server answers or stops reading; then its status
  hold PORT N SECONDS GOFILE
      N idle TCP connections; after SECONDS prints how many the server
      closed, then holds the rest until GOFILE exists (at most 30 s)
  flood PORT N SECONDS
      N TCP connections, every other one sending garbage; held SECONDS
  stall PORT SECONDS
      plain TCP: half a request head, then wait (at most SECONDS) for the
      server to answer or close; prints its status line and when
Every wait is bounded.
"""
import errno
import json
import os
import select
import socket
import ssl
import sys
import threading
import time

import gw_client  # beside this file: one TLS client set-up for the gateway tests


def rss(pid):
    try:
        with open("/proc/%s/status" % pid) as f:
            for ln in f:
                if ln.startswith("VmRSS:"):
                    return int(ln.split()[1])
    except OSError:
        pass
    return 0


def sample(pid, seconds, stop=None):
    hi = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end and not (stop and stop.is_set()):
        hi = max(hi, rss(pid))
        time.sleep(0.05)
    return max(hi, rss(pid))


def tls(port, ca, cert, key):
    return gw_client.tls(port, ca, cert, key, timeout=10)


def read_head(s):
    buf = b""
    while b"\r\n\r\n" not in buf and len(buf) < 65536:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    line = buf.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    return parts[1] if len(parts) > 1 else "none"


def slowread(port, ca, cert, key, pid, seconds, target):
    idle = rss(pid)
    s = tls(port, ca, cert, key)
    s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % target.encode())
    status = read_head(s)
    hi = sample(pid, float(seconds))
    s.close()
    return {"status": status, "idle": idle, "max": hi}


def slowupload(port, ca, cert, key, pid, seconds, target, nbytes):
    idle = rss(pid)
    s = tls(port, ca, cert, key)
    s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (target.encode(), int(nbytes)))
    stop = threading.Event()
    sent = [0]

    def writer():
        block = b"u" * 65536
        s.settimeout(0.2)
        while not stop.is_set() and sent[0] < int(nbytes):
            try:
                sent[0] += s.send(block)
            except (socket.timeout, ssl.SSLWantWriteError):
                continue
            except OSError:
                break

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    hi = sample(pid, float(seconds))
    stop.set()
    t.join(2)
    s.close()
    return {"sent": sent[0], "idle": idle, "max": hi}


def bighead(port, pid, nbytes):
    idle = rss(pid)
    hi = idle
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ")
    block = b"a" * 65536
    sent = 0
    resp = b""
    s.setblocking(False)
    end = time.monotonic() + 5
    while sent < int(nbytes) and time.monotonic() < end:
        r, w, _ = select.select([s], [s], [], 1.0)
        if r:
            try:
                d = s.recv(65536)
            except OSError:
                break
            resp += d
            break  # the server answered (or closed): stop sending
        if w:
            try:
                sent += s.send(block)
            except BlockingIOError:
                pass
            except OSError:
                break
        elif not r:
            break  # neither readable nor writable for 1 s: the server stopped reading
        hi = max(hi, rss(pid))
    s.setblocking(True)
    s.settimeout(3)
    try:
        while len(resp) < 4096:
            d = s.recv(4096)
            if not d:
                break
            resp += d
    except OSError:
        pass
    hi = max(hi, sample(pid, 0.3))
    s.close()
    parts = resp.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
    return {"status": parts[1] if len(parts) > 1 else "none", "sent": sent, "idle": idle, "max": hi}


def peer_closed(s):
    s.setblocking(False)
    try:
        return s.recv(1, socket.MSG_PEEK) == b""
    except (BlockingIOError, socket.timeout):
        return False
    except OSError:
        return True


def hold(port, n, seconds, gofile):
    conns = [socket.create_connection(("127.0.0.1", int(port)), timeout=5) for _ in range(int(n))]
    time.sleep(float(seconds))
    closed = sum(1 for s in conns if peer_closed(s))
    print(json.dumps({"closed": closed, "open": len(conns) - closed}), flush=True)
    end = time.monotonic() + 30
    while not os.path.exists(gofile) and time.monotonic() < end:
        time.sleep(0.05)
    for s in conns:
        s.close()
    return None


def flood(port, n, seconds):
    conns = []
    for i in range(int(n)):
        s = socket.socket()
        s.setblocking(False)
        err = s.connect_ex(("127.0.0.1", int(port)))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            continue
        conns.append(s)
    _, w, _ = select.select([], conns, [], 2.0)
    garbage = [b"\x16\x03\x01\x00\x05hello", b"GET / HTTP/1.1\r\n", b"\x00" * 64, b"\xff" * 512]
    for i, s in enumerate(w):
        if i % 2:
            try:
                s.send(garbage[i % len(garbage)])
            except OSError:
                pass
    time.sleep(float(seconds))
    for s in conns:
        s.close()
    return {"opened": len(w)}


def stall(port, seconds):
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=float(seconds))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    buf = b""
    try:
        while True:
            d = s.recv(4096)
            if not d:
                break
            buf += d
    except socket.timeout:
        return {"closed_after": None, "status": "none"}
    except OSError:
        pass
    parts = buf.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
    return {"closed_after": round(time.monotonic() - t0, 2), "status": parts[1] if len(parts) > 1 else "none"}


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    fn = {"slowread": slowread, "slowupload": slowupload, "bighead": bighead, "hold": hold, "flood": flood, "stall": stall}[mode]
    out = fn(*args)
    if out is not None:
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
