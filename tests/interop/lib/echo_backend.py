#!/usr/bin/env python3
"""Tiny backends for the gateway tests, loopback only.

HTTP (default): HTTP/1.1 with keep-alive; the response body lists the request
headers exactly as received ("Name: value" lines), then "--", then the body.
The response carries X-Backend: NAME so tests see which backend answered.

--proxy-v2: a TCP server that reads a PROXY protocol v2 header, answers with
one JSON line describing it (addresses, TLVs), then echoes what follows;
when the other side closes its sending half, it answers "BYE <bytes echoed>"
and closes.
"""
import argparse
import http.server
import ipaddress
import json
import socketserver
import struct
import time

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


class Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _reply(self, send_body=True):
        if self.path.startswith("/slow"):
            time.sleep(1.5)  # lets tests signal the gateway mid-request
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        text = "".join(f"{k}: {v}\n" for k, v in self.headers.items()).encode()
        text += b"--\n" + body
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.send_header("X-Backend", self.server.name)
        self.end_headers()
        if send_body:
            self.wfile.write(text)

    def do_GET(self):
        self._reply()

    do_POST = do_PUT = do_DELETE = do_GET

    def do_HEAD(self):
        self._reply(send_body=False)

    def log_message(self, *a):
        pass


def read_exact(f, n):
    b = f.read(n)
    if len(b) != n:
        raise EOFError
    return b


def parse_tlvs(data):
    out = []
    i = 0
    while i < len(data):
        t, ln = data[i], struct.unpack(">H", data[i + 1:i + 3])[0]
        out.append((t, data[i + 3:i + 3 + ln]))
        i += 3 + ln
    return out


class PP2(socketserver.StreamRequestHandler):
    def handle(self):
        f = self.rfile
        if read_exact(f, 12) != SIG:
            self.wfile.write(b'{"error":"no signature"}\n')
            return
        vc, fam, ln = struct.unpack(">BBH", read_exact(f, 4))
        body = read_exact(f, ln)
        d = {"version": vc >> 4, "command": vc & 15, "family": fam}
        if fam == 0x11:
            s, dst, sp, dp = struct.unpack(">4s4sHH", body[:12])
            d.update(src=str(ipaddress.IPv4Address(s)), dst=str(ipaddress.IPv4Address(dst)), sport=sp, dport=dp)
            rest = body[12:]
        elif fam == 0x21:
            s, dst, sp, dp = struct.unpack(">16s16sHH", body[:36])
            d.update(src=str(ipaddress.IPv6Address(s)), dst=str(ipaddress.IPv6Address(dst)), sport=sp, dport=dp)
            rest = body[36:]
        else:
            rest = body
        tl = {}
        for t, v in parse_tlvs(rest):
            if t == 0x20:
                tl["ssl_client"] = v[0]
                tl["ssl_verify"] = struct.unpack(">I", v[1:5])[0]
                names = {0x21: "ssl_version", 0x22: "ssl_cn", 0x23: "ssl_cipher", 0x24: "ssl_sig_alg", 0x25: "ssl_key_alg"}
                for st, sv in parse_tlvs(v[5:]):
                    tl[names.get(st, hex(st))] = sv.decode()
            elif t == 0xE0:
                tl["sha256"] = v.hex()
            elif t == 0xE1:
                tl["user"] = v.decode()
            elif t == 0xE2:
                tl["roles"] = v.decode()
            elif t == 0xE3:
                tl["subject"] = v.decode()
            else:
                tl[hex(t)] = v.hex()
        d["tlv"] = tl
        self.wfile.write(json.dumps(d, sort_keys=True).encode() + b"\n")
        self.wfile.flush()
        total = 0
        while True:
            chunk = self.rfile.read1(65536)  # rfile may hold bytes already
            if not chunk:
                break
            total += len(chunk)
            self.wfile.write(chunk)
        # the peer closed its sending side: a last line proves that what is
        # sent after a half-close still reaches it
        self.wfile.write(b"BYE %d\n" % total)


class TS(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--name", default="backend")
    ap.add_argument("--proxy-v2", action="store_true")
    a = ap.parse_args()
    if a.proxy_v2:
        srv = TS(("127.0.0.1", a.port), PP2)
    else:
        http.server.ThreadingHTTPServer.allow_reuse_address = True
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Echo)
        srv.daemon_threads = True
    srv.name = a.name
    srv.serve_forever()


if __name__ == "__main__":
    main()
