#!/usr/bin/env python3
"""TCP servers that misbehave, for timeout and failure tests (127.0.0.1 only).

usage: silent_server.py PORT MODE
  silent   accept and never send a byte
  close    accept, read a little, close (mid-handshake)
"""
import socket
import sys
import time

port, mode = int(sys.argv[1]), sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(16)
held = []
while True:
    c, _ = s.accept()
    if mode == "silent":
        held.append(c)
    else:
        c.recv(5)
        c.shutdown(socket.SHUT_RDWR)
        c.close()
