"""notify_listen.py - plays systemd's side of sd_notify(3) for the tests.

Binds an AF_UNIX datagram socket at PATH (a leading '@' = the abstract
namespace) and prints every message it receives as one line, its own
newlines shown as '|'.  On the first READY=1 it reads the gateway's ready
file and connects to the port at once, printing CONNECT=ok or
CONNECT=refused: READY=1 must come only once the gateway accepts.
Exits after SECONDS (default 60) so a test never hangs on it.
"""
import json
import socket
import sys
import time

path, ready_file = sys.argv[1], sys.argv[2]
deadline = time.monotonic() + (float(sys.argv[3]) if len(sys.argv) > 3 else 60)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + path[1:] if path.startswith("@") else path)
print("LISTENING", flush=True)
connected = False
while time.monotonic() < deadline:
    s.settimeout(max(0.05, deadline - time.monotonic()))
    try:
        msg = s.recv(4096).decode("utf-8", "replace")
    except socket.timeout:
        break
    print(msg.replace("\n", "|"), flush=True)
    if not connected and "READY=1" in msg.split("\n"):
        connected = True
        try:
            port = json.load(open(ready_file))["port"]
            c = socket.create_connection(("127.0.0.1", port), timeout=2)
            c.close()
            print("CONNECT=ok", flush=True)
        except (OSError, ValueError, KeyError) as e:
            print("CONNECT=refused %s" % e, flush=True)
