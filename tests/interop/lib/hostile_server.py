#!/usr/bin/env python3
"""Hostile TLS servers and proxies on 127.0.0.1, for deadline and escaping tests.

usage: hostile_server.py PORT MODE [ARGS...]
  trickle-hello           read the ClientHello, then send one byte a second
                          (the start of a ServerHello record that never ends)
  trickle-http CERT KEY   finish the TLS handshake, read the request, then send
                          the status line one byte a second
  http CERT KEY HEX       finish the TLS handshake, read the request, answer
                          with the bytes HEX (a whole response) and close
  proxy HEX               read a CONNECT request, answer with the bytes HEX, close
  proxy-trickle           read a CONNECT request, answer one byte a second
  big-hello               read the ClientHello, answer with a ServerHello whose
                          header claims 16 MB (over OpenSSL's limit)

Every loop is bounded: at most MAX_CONN connections, at most MAX_TRICKLE bytes
trickled per connection, and the process ends after LIFETIME seconds.
"""
import signal
import socket
import ssl
import sys
import threading
import time

MAX_CONN = 16
MAX_TRICKLE = 90
LIFETIME = 180

# A TLS handshake record header announcing 16384 bytes, then a ServerHello
# header: a client must wait for the rest, which comes a byte a second.
SLOW_HELLO = bytes.fromhex("1603034000" "02003ffc" "0303") + bytes(MAX_TRICKLE)


def read_until(conn, marker, limit=65536, timeout=10):
    conn.settimeout(timeout)
    data = b""
    while marker not in data and len(data) < limit:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def read_hello(conn):
    conn.settimeout(10)
    try:
        head = conn.recv(5)
        if len(head) == 5:
            need = int.from_bytes(head[3:5], "big")
            got = 0
            while got < need:
                chunk = conn.recv(need - got)
                if not chunk:
                    break
                got += len(chunk)
    except OSError:
        pass


def trickle(conn, data):
    for i in range(min(len(data), MAX_TRICKLE)):
        try:
            conn.sendall(data[i:i + 1])
        except OSError:
            return
        time.sleep(1)


def tls_wrap(conn, cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    conn.settimeout(10)
    return ctx.wrap_socket(conn, server_side=True)


def handle(conn, mode, args):
    try:
        if mode == "trickle-hello":
            read_hello(conn)
            trickle(conn, SLOW_HELLO)
        elif mode == "big-hello":
            read_hello(conn)
            conn.sendall(bytes.fromhex("1603030004" "02ffffff"))
            conn.settimeout(5)
            conn.recv(64)
        elif mode == "trickle-http":
            t = tls_wrap(conn, args[0], args[1])
            read_until(t, b"\r\n\r\n")
            trickle(t, b"HTTP/1.1 200 OK\r\nServer: slow\r\n\r\n")
        elif mode == "http":
            t = tls_wrap(conn, args[0], args[1])
            read_until(t, b"\r\n\r\n")
            t.sendall(bytes.fromhex(args[2]))
            t.close()
        elif mode == "proxy":
            read_until(conn, b"\r\n\r\n")
            conn.sendall(bytes.fromhex(args[0]))
        elif mode == "proxy-trickle":
            read_until(conn, b"\r\n\r\n")
            trickle(conn, b"HTTP/1.1 200 Connection established\r\n\r\n")
    except (OSError, ssl.SSLError):
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


def main():
    port, mode, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    signal.alarm(LIFETIME)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    for _ in range(MAX_CONN):
        conn, _ = s.accept()
        threading.Thread(target=handle, args=(conn, mode, args), daemon=True).start()
    time.sleep(MAX_TRICKLE + 5)


if __name__ == "__main__":
    main()
