#!/usr/bin/env python3
"""Small TLS clients for the gateway's operational tests (loopback only).

  keepalive PORT CA CERT KEY GOFILE  one connection: GET, wait for GOFILE, GET again;
                                     prints "STATUS USER" per response
  stall PORT                         TCP connect, half a TLS record, then wait:
                                     prints "closed" when the gateway hangs up
  idle PORT CA CERT KEY              handshake, send nothing: prints "closed" on hang-up
  partial PORT CA CERT KEY           send half a request head: prints the status line
  hold PORT SECONDS                  TCP connect and hold (connection limit)
Every wait is bounded (20 s).
"""
import socket
import ssl
import sys
import time


def tls(port, ca, cert, key, timeout=20):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.load_cert_chain(cert, key)
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=timeout)
    return ctx.wrap_socket(s, server_hostname="127.0.0.1")


def read_response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return None, None
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    status = lines[0].split()[1]
    hdrs = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
    n = int(hdrs.get("content-length", 0))
    while len(body) < n:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    user = "-"
    for l in body.decode(errors="replace").splitlines():
        if l.lower().startswith("x-client-user:"):
            user = l.split(":", 1)[1].strip()
    return status, user


def main():
    cmd, port = sys.argv[1], sys.argv[2]
    if cmd == "keepalive":
        ca, cert, key, go = sys.argv[3:7]
        s = tls(port, ca, cert, key)
        s.sendall(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n")
        print(*read_response(s), flush=True)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                open(go).close()
                break
            except OSError:
                time.sleep(0.05)
        s.sendall(b"GET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
        print(*read_response(s), flush=True)
    elif cmd == "stall":
        s = socket.create_connection(("127.0.0.1", int(port)), timeout=20)
        s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # a ClientHello cut short
        try:
            print("closed" if s.recv(100) == b"" else "data")
        except ConnectionResetError:
            print("closed")
        except socket.timeout:
            print("open")
    elif cmd == "idle":
        s = tls(port, *sys.argv[3:6])
        try:
            print("closed" if s.recv(100) == b"" else "data")
        except (ConnectionResetError, ssl.SSLError):
            print("closed")
        except socket.timeout:
            print("open")
    elif cmd == "partial":
        s = tls(port, *sys.argv[3:6])
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        try:
            print(s.recv(100).decode().split("\r\n")[0])
        except socket.timeout:
            print("open")
    elif cmd == "hold":
        s = socket.create_connection(("127.0.0.1", int(port)), timeout=20)
        time.sleep(float(sys.argv[3]))
        s.close()


if __name__ == "__main__":
    main()
