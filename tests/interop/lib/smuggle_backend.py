#!/usr/bin/env python3
"""Logging backends for the gateway's smuggling and limits tests (loopback only).

  --kind http   Python's http.server (HTTP/1.1, keep-alive, threads)
  --kind wsgi   Python's wsgiref (a WSGI app: headers reach it as HTTP_* keys,
                so X_Client_User and X-Client-User are the same name)

Every request the server parsed is one JSON line in --log:
  {"be", "method", "path", "user", "roles", "xff", "xfp", "cl", "te",
   "body" (bytes read), "xc" (sorted x-client-* names, "_" read as "-"),
   "hop" (hop-by-hop names present, see HOP)}
and every request it refused is {"be", "err", "raw"}. "user"/"roles" hold
every value of that header joined with "," (several means the gateway let
one through). The answer is 200 "ok TARGET\\n" with a Content-Length (a
client sees whose answer it got), except:
  .../chunked-resp   a chunked answer (http only)
  .../extra          the answer followed by a whole second response (http only)
  .../big?n=BYTES    BYTES of zeros with a Content-Length, written as fast as
                     the socket takes them
  .../slowread       reads the body 16 KiB per 20 ms, then answers
"""
import argparse
import http.server
import json
import socketserver
import sys
import threading
import time
import wsgiref.simple_server

# Hop-by-hop names that must never reach a backend (x-hop: listed in the
# client's Connection header by one variant).
HOP = ("keep-alive", "upgrade", "te", "trailer", "proxy-authorization", "proxy-connection", "expect",
       "transfer-encoding", "x-hop")
LOCK = threading.Lock()
LOG = None
NAME = "python"


def log(obj):
    obj["be"] = NAME
    line = json.dumps(obj, sort_keys=True) + "\n"
    with LOCK:
        LOG.write(line)
        LOG.flush()


def norm(name):
    return name.strip().lower().replace("_", "-")


def joined(pairs, want):
    vals = [v.strip() for k, v in pairs if norm(k) == want]
    return ",".join(vals) if vals else None


def big_size(path):
    q = path.split("?", 1)[1] if "?" in path else ""
    for kv in q.split("&"):
        if kv.startswith("n="):
            return int(kv[2:])
    return 0


def read_slowly(f, n):
    got = 0
    while got < n:
        b = f.read(min(16384, n - got))
        if not b:
            break
        got += len(b)
        time.sleep(0.02)
    return got


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def __getattr__(self, name):
        if name.startswith("do_"):
            return self._any
        raise AttributeError(name)

    def _any(self):
        h = list(self.headers.items())
        cl = self.headers.get("Content-Length")
        n = 0
        if cl is not None and cl.strip().isdigit():
            if "/slowread" in self.path:
                n = read_slowly(self.rfile, int(cl))
            else:
                n = len(self.rfile.read(int(cl)))
        log({"method": self.command, "path": self.path, "user": joined(h, "x-client-user"),
             "roles": joined(h, "x-client-roles"), "xff": joined(h, "x-forwarded-for"),
             "xfp": joined(h, "x-forwarded-proto"), "cl": cl, "te": self.headers.get("Transfer-Encoding"),
             "body": n, "xc": sorted({norm(k) for k, _ in h if norm(k).startswith("x-client-")}),
             "hop": sorted({k.lower() for k, _ in h if k.lower() in HOP})})
        if "/big" in self.path:
            total = big_size(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(total))
            self.end_headers()
            block = bytes(1 << 16)
            try:
                while total > 0:
                    k = min(total, len(block))
                    self.wfile.write(block[:k])
                    total -= k
            except OSError:
                self.close_connection = True
            return
        body = b"ok %s\n" % self.path.encode("latin-1", "replace")
        if "/chunked-resp" in self.path:
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
            return
        out = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        if "/extra" in self.path:
            out += b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nX-Smuggled: yes\r\n\r\nsmuggled\n"
        self.wfile.write(out)

    def log_error(self, fmt, *args):
        raw = getattr(self, "raw_requestline", b"") or b""
        log({"err": fmt % args, "raw": raw[:200].decode("latin-1")})

    def log_request(self, *a):
        pass

    def log_message(self, *a):
        pass


def wsgi_app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if environ.get("QUERY_STRING"):
        path += "?" + environ["QUERY_STRING"]
    cl = environ.get("CONTENT_LENGTH")
    n = 0
    if cl and cl.strip().isdigit():
        if "/slowread" in path:
            n = read_slowly(environ["wsgi.input"], int(cl))
        else:
            n = len(environ["wsgi.input"].read(int(cl)))
    log({"method": environ.get("REQUEST_METHOD"), "path": path,
         "user": environ.get("HTTP_X_CLIENT_USER"), "roles": environ.get("HTTP_X_CLIENT_ROLES"),
         "xff": environ.get("HTTP_X_FORWARDED_FOR"), "xfp": environ.get("HTTP_X_FORWARDED_PROTO"),
         "cl": cl, "te": environ.get("HTTP_TRANSFER_ENCODING"), "body": n,
         "xc": sorted(k[5:].lower().replace("_", "-") for k in environ if k.startswith("HTTP_X_CLIENT_")),
         "hop": sorted(k[5:].lower().replace("_", "-") for k in environ
                       if k.startswith("HTTP_") and k[5:].lower().replace("_", "-") in HOP)})
    if "/big" in path:
        total = big_size(path)
        start_response("200 OK", [("Content-Length", str(total))])
        block = bytes(1 << 16)
        return (block[:min(len(block), total - i)] for i in range(0, total, len(block)))
    body = b"ok %s\n" % path.encode("latin-1", "replace")
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


class WsgiHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_error(self, fmt, *args):
        raw = getattr(self, "raw_requestline", b"") or b""
        log({"err": fmt % args, "raw": raw[:200].decode("latin-1")})

    def log_message(self, *a):
        pass


class ThreadingWSGIServer(socketserver.ThreadingMixIn, wsgiref.simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global LOG, NAME
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", choices=["http", "wsgi"], required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    LOG = open(a.log, "a")
    NAME = "http.server" if a.kind == "http" else "wsgiref"
    if a.kind == "http":
        http.server.ThreadingHTTPServer.allow_reuse_address = True
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
        srv.daemon_threads = True
    else:
        srv = wsgiref.simple_server.make_server("127.0.0.1", a.port, wsgi_app,
                                                server_class=ThreadingWSGIServer, handler_class=WsgiHandler)
    sys.stdout.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
