#!/usr/bin/env python3
"""Time per sandbox created through the admin API as the count grows.

    bench/bench_api.py build/egressd [N] [WINDOW]

Starts egressd on loopback (no root: admin socket, state and audit in a
temp dir, upstream.mark 0), then creates N sandboxes one by one with
PUT /api/v1/sandboxes/{id}/network, each with its own /32 source and one
allowed host, and prints the median and p90 time per call for the calls
around 100, 1,000, ... and the ratio of the last window to the first
(docs/admin.md: one change should cost what it changes).
"""
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=60)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def put(sock, path, body):
    c = UnixHTTP(sock)
    c.request("PUT", path, body, {"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status != 200:
        raise SystemExit("PUT %s: %d %s" % (path, r.status, data[:200]))


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "build/egressd"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    window = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    tmp = tempfile.mkdtemp(prefix="egressd-bench-api.")
    sock = os.path.join(tmp, "admin.sock")
    port = 20000 + os.getpid() % 20000
    cfg = os.path.join(tmp, "egressd.yaml")
    with open(cfg, "w") as f:
        f.write('listen: ["127.0.0.1:%d"]\nupstream: { mark: 0 }\n'
                'admin: { socket: %s }\nstate_dir: %s\n'
                'audit: { file: %s }\npolicies:\n  base:\n'
                '    allow: { hosts: ["pypi.org"] }\n'
                % (port, sock, os.path.join(tmp, "state"),
                   os.path.join(tmp, "audit.jsonl")))
    p = subprocess.Popen([binary, "-c", cfg], stderr=open(
        os.path.join(tmp, "egressd.log"), "w"))
    try:
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        times = []
        for i in range(n):
            ip = "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255)
            body = ('{"sources": ["%s/32"], "policies": ["base"], '
                    '"egress": {"allowed_domains": ["h%d.example.com"]}}'
                    % (ip, i))
            t0 = time.perf_counter()
            put(sock, "/api/v1/sandboxes/sb-%d/network" % i, body)
            times.append((time.perf_counter() - t0) * 1000)
        marks = [m for m in (100, 1000, 2000, 5000, 10000) if m <= n]
        print("| sandboxes | median ms per create | p90 ms |")
        print("|---:|---:|---:|")
        first = None
        for m in marks:
            w = times[max(0, m - window):m]
            med = statistics.median(w)
            p90 = sorted(w)[int(len(w) * 0.9) - 1]
            first = first if first is not None else med
            print("| %d | %.2f | %.2f |" % (m, med, p90))
        last = statistics.median(times[-window:])
        print("last/first window ratio: %.2f" % (last / first))
    finally:
        p.terminate()
        p.wait(timeout=30)


if __name__ == "__main__":
    main()
