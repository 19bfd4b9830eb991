#!/usr/bin/env python3
"""Time per sandbox created through the admin API as the count grows.

    bench/bench_api.py build/egressd [N] [WINDOW] [--max-ratio R] [--kill9]

Starts egressd on loopback (no root: admin socket, state and audit in a
temp dir, upstream.mark 0), then creates N sandboxes one by one with
PUT /api/v1/sandboxes/{id}/network, each with its own /32 source and one
allowed host, and prints the median and p90 time per call for the calls
around 100, 1,000, ... and the ratio of the last window to the first
(docs/admin.md: one change costs what it changes), and the resident
memory per sandbox.

--max-ratio R  exit 1 when the last window's median is over R times the
               first's (the CI scaling test: a ratio holds on a noisy
               machine where absolute times do not).
--kill9        then kill -9 egressd, leave a line cut short at the end of
               its change log (a crash mid-append), start it again on the
               same state_dir, and check that every sandbox came back
               (state.json plus the log), printing the restart time; then
               one more change, kill -9 and restart: it must be there too
               (the cut line did not swallow it).
"""
import http.client
import json
import os
import signal
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


def call(sock, method, path, body=None):
    c = UnixHTTP(sock)
    c.request(method, path, body, {"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status != 200:
        raise SystemExit("%s %s: %d %s" % (method, path, r.status, data[:200]))
    return data


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def start(binary, cfg, log, sock):
    """egressd started and answering, and how long that took (s)."""
    t0 = time.perf_counter()
    p = subprocess.Popen([binary, "-c", cfg], stderr=open(log, "a"))
    for _ in range(1200):
        if p.poll() is not None:
            raise SystemExit("egressd exited %d: see %s" % (p.returncode, log))
        try:
            call(sock, "GET", "/healthz")
            return p, time.perf_counter() - t0
        except (OSError, SystemExit):
            time.sleep(0.01)
    p.kill()
    raise SystemExit("egressd did not answer on %s" % sock)


def lost(sock, ids):
    """The ids of <ids> that egressd does not list."""
    got = json.loads(call(sock, "GET", "/api/v1/sandboxes"))
    have = {s["id"] for s in (got["sandboxes"] if isinstance(got, dict)
                              else got)}
    return [i for i in ids if i not in have]


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    max_ratio = None
    if "--max-ratio" in sys.argv:
        max_ratio = float(sys.argv[sys.argv.index("--max-ratio") + 1])
        args.remove(sys.argv[sys.argv.index("--max-ratio") + 1])
    kill9 = "--kill9" in sys.argv
    binary = args[0] if len(args) > 0 else "build/egressd"
    n = int(args[1]) if len(args) > 1 else 2000
    window = int(args[2]) if len(args) > 2 else 100
    tmp = tempfile.mkdtemp(prefix="egressd-bench-api.")
    sock = os.path.join(tmp, "admin.sock")
    port = 20000 + os.getpid() % 20000
    cfg = os.path.join(tmp, "egressd.yaml")
    log = os.path.join(tmp, "egressd.log")
    with open(cfg, "w") as f:
        f.write('listen: ["127.0.0.1:%d"]\nupstream: { mark: 0 }\n'
                'admin: { socket: %s }\nstate_dir: %s\n'
                'audit: { file: %s }\npolicies:\n  base:\n'
                '    allow: { hosts: ["pypi.org"] }\n'
                % (port, sock, os.path.join(tmp, "state"),
                   os.path.join(tmp, "audit.jsonl")))
    p, _ = start(binary, cfg, log, sock)
    rc = 0
    try:
        rss0 = rss_kib(p.pid)
        times = []
        for i in range(n):
            ip = "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255)
            body = ('{"sources": ["%s/32"], "policies": ["base"], '
                    '"egress": {"allowed_domains": ["h%d.example.com"]}}'
                    % (ip, i))
            t0 = time.perf_counter()
            call(sock, "PUT", "/api/v1/sandboxes/sb-%d/network" % i, body)
            times.append((time.perf_counter() - t0) * 1000)
        rss1 = rss_kib(p.pid)
        marks = [m for m in (100, 1000, 2000, 5000, 10000) if m < n] + [n]
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
        ratio = last / first
        print("last/first window ratio: %.2f" % ratio)
        print("resident memory per sandbox: %.1f KiB" %
              ((rss1 - rss0) / max(n, 1)))
        if max_ratio is not None and ratio > max_ratio:
            print("FAIL: the last %d creates took %.2fx the first %d "
                  "(limit %.1fx)" % (window, ratio, window, max_ratio))
            rc = 1
        if kill9:
            state_log = os.path.join(tmp, "state", "state.log")
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=30)
            # A crash in the middle of an append leaves a line cut short.
            with open(state_log, "a") as f:
                f.write('{"put": {"id": "torn", "sources": ["10.25')
            p, took = start(binary, cfg, log, sock)
            missing = lost(sock, ["sb-%d" % i for i in range(n)])
            print("restart after kill -9: %.2f s, %d of %d sandboxes back"
                  % (took, n - len(missing), n))
            # The torn line must not prefix the next change's line.
            call(sock, "PUT", "/api/v1/sandboxes/after-crash/network",
                 '{"sources": ["10.254.0.1/32"], "policies": ["base"]}')
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=30)
            p, _ = start(binary, cfg, log, sock)
            missing += lost(sock, ["after-crash"])
            if lost(sock, ["torn"]) == []:
                missing.append("torn (a line cut short was replayed)")
            if missing:
                print("FAIL: lost after kill -9: %s ..." % missing[0])
                rc = 1
    finally:
        p.terminate()
        p.wait(timeout=30)
    sys.exit(rc)


if __name__ == "__main__":
    main()
