#!/usr/bin/env python3
"""A stream of sandbox changes through egressd's admin API, for measuring
the data path while they land (bench/bench_proxy.sh, peer egressd-api).

    bench/churn_api.py SOCKET RATE OUT

PUTs /api/v1/sandboxes/churn-N/network at RATE changes a second (each a
sandbox with its own /32 in 10.200.0.0/16, 2,000 ids over and over, so
the state keeps 2,000 sandboxes while every change replaces one) until
SIGTERM, then writes "CHANGES SECONDS" to OUT.
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "clients", "python"))
from egressd import Egressd, EgressdError  # noqa: E402


def main():
    sock, rate, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    api = Egressd(socket=sock, timeout=30)
    n, t0 = 0, time.monotonic()
    while not stop:
        i = n % 2000
        try:
            api.sandbox("churn-%d" % i).set_network(
                sources=["10.200.%d.%d/32" % (i >> 8, i & 255)],
                allowed_domains=["c%d.example.com" % n])
            n += 1
        except (OSError, EgressdError):
            time.sleep(0.1)
        # Paced: the client's own CPU must not be what slows the others.
        delay = t0 + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    with open(out, "w") as f:
        f.write("%d %.3f\n" % (n, time.monotonic() - t0))


if __name__ == "__main__":
    main()
