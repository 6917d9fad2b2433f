#!/usr/bin/env python3
"""A stand-in for systemd's notification socket: binds a unix datagram socket
(the path goes into the daemon's NOTIFY_SOCKET), and writes every message it
receives as one JSON line {"t": monotonic seconds, "wall": epoch seconds,
"pid": sender pid from SCM_CREDENTIALS, "msg": "READY=1"} to OUT (flushed at
once). A datagram may carry several assignments, one per line: each becomes
its own JSON line. Exits after --max-seconds (so it can never outlive a test
by long) or on SIGTERM. Prints "listening" on stdout once bound.
"""
import argparse
import json
import os
import signal
import socket
import struct
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket_path")
    ap.add_argument("out")
    ap.add_argument("--max-seconds", type=float, default=120)
    a = ap.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if os.path.exists(a.socket_path):
        os.unlink(a.socket_path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(a.socket_path)
    # Ask the kernel for the sender's credentials, as systemd does
    # (NotifyAccess=main accepts only messages from the main pid).
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    deadline = time.monotonic() + a.max_seconds
    with open(a.out, "a", buffering=1) as out:
        print("listening", flush=True)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            s.settimeout(min(left, 1.0))
            try:
                data, anc, _flags, _addr = s.recvmsg(4096, socket.CMSG_SPACE(12))
            except socket.timeout:
                continue
            pid = None
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(payload) >= 12:
                    pid, _uid, _gid = struct.unpack("iII", payload[:12])
            now, wall = time.monotonic(), time.time()
            for line in data.decode("utf-8", "replace").split("\n"):
                if line:
                    out.write(json.dumps({"t": now, "wall": wall, "pid": pid, "msg": line}) + "\n")


if __name__ == "__main__":
    main()
