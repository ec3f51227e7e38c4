#!/usr/bin/env python3
"""TCP servers that misbehave, for timeout and failure tests (127.0.0.1 only).

usage: silent_server.py PORT MODE [READY_FILE]
  silent   accept and never send a byte
  close    accept, read a little, close (mid-handshake)
  full     never accept, with the accept queue filled: new connections
           get no SYN-ACK, so connect() itself waits
"""
import socket
import sys
import time

port, mode = int(sys.argv[1]), sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
if mode == "full":
    s.listen(0)
    fill = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fill.append(c)
    if len(sys.argv) > 3:
        open(sys.argv[3], "w").close()
    while True:
        time.sleep(60)
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
