#!/usr/bin/env python3
"""A stream of sandbox changes through egressd's admin API, for measuring
the data path while they land (bench/bench_proxy.sh, peer egressd-api).

    bench/churn_api.py SOCKET RATE OUT

PUTs /api/v1/sandboxes/churn-N/network at RATE changes a second (each a
sandbox with its own /32 in 10.200.0.0/16, 2,000 ids over and over, so
the state keeps 2,000 sandboxes while every change replaces one) until
SIGTERM, then writes "CHANGES SECONDS" to OUT.
"""
import http.client
import signal
import socket
import sys
import time


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def main():
    sock, rate, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    n, t0 = 0, time.monotonic()
    while not stop:
        i = n % 2000
        body = ('{"sources": ["10.200.%d.%d/32"], "egress": '
                '{"allowed_domains": ["c%d.example.com"]}}'
                % (i >> 8, i & 255, n))
        try:
            c = UnixHTTP(sock)
            c.request("PUT", "/api/v1/sandboxes/churn-%d/network" % i, body,
                      {"Content-Type": "application/json"})
            c.getresponse().read()
            c.close()
            n += 1
        except OSError:
            time.sleep(0.1)
        # Paced: the client's own CPU must not be what slows the others.
        delay = t0 + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    with open(out, "w") as f:
        f.write("%d %.3f\n" % (n, time.monotonic() - t0))


if __name__ == "__main__":
    main()
