#!/usr/bin/env python3
"""Traffic and odds and ends for tests/ctl/run.sh (standard library only).

    helper.py free-port            a port free for TCP and UDP on 127.0.0.1
    helper.py dns PORT NAME [SRC]  one A query over UDP from SRC (default
                                   127.0.0.1) to 127.0.0.1:PORT; prints the
                                   rcode of the answer (3 s at most)
    helper.py connect PORT         a TCP connection to 127.0.0.1:PORT that
                                   sends a request and reads until the peer
                                   closes or resets it
"""

import random
import socket
import struct
import sys


def free_port():
    for _ in range(50):
        t = socket.socket()
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            u.close()
            t.close()
        return port
    sys.exit("no free port")


def dns(port, name, src):
    qid = random.randrange(65536)
    msg = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        msg += bytes([len(label)]) + label.encode()
    msg += b"\0" + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.bind((src, 0))
    s.sendto(msg, ("127.0.0.1", port))
    while True:
        r = s.recv(4096)
        if len(r) >= 4 and struct.unpack(">H", r[:2])[0] == qid:
            print(r[3] & 15)
            return 0


def connect(port):
    try:
        c = socket.create_connection(("127.0.0.1", port), timeout=3)
        c.sendall(b"GET / HTTP/1.1\r\nHost: x.example\r\n\r\n")
        while c.recv(4096):
            pass
    except OSError:
        # Refused, reset at any point, or timed out: all are an answer.
        pass
    return 0


def main():
    a = sys.argv[1:]
    if a == ["free-port"]:
        print(free_port())
        return 0
    if len(a) in (3, 4) and a[0] == "dns":
        return dns(int(a[1]), a[2], a[3] if len(a) == 4 else "127.0.0.1")
    if len(a) == 2 and a[0] == "connect":
        return connect(int(a[1]))
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
