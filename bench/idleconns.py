#!/usr/bin/env python3
"""Client side of bench/bench_proxy.sh's idle phase, run in the sandbox.

  idleconns.py N HOST PORTS CA READY_FILE HOLD_S

Opens up to N TLS connections (TCP + full handshake, SNI HOST) to HOST on
the comma-separated PORTS in turn, with 8 threads; stops early after 200
failures in a row.  Writes "open OK FAILED SECONDS" to READY_FILE once
done, then holds them HOLD_S seconds (the bench samples the proxy now),
checks which are still open and prints "held ALIVE".
"""
import socket, ssl, sys, threading, time

n, host, ports, ca, ready, hold = (int(sys.argv[1]), sys.argv[2],
    [int(p) for p in sys.argv[3].split(",")], sys.argv[4], sys.argv[5],
    float(sys.argv[6]))
ctx = ssl.create_default_context(cafile=ca)
keep, lock = [], threading.Lock()
state = {"next": 0, "fail": 0, "streak": 0}


def worker():
    while True:
        with lock:
            if state["next"] >= n or state["streak"] >= 50:
                return
            i = state["next"]
            state["next"] += 1
        try:
            s = socket.create_connection((host, ports[i % len(ports)]), timeout=3)
            t = ctx.wrap_socket(s, server_hostname=host)
            t.setblocking(False)
            with lock:
                keep.append(t)
                state["streak"] = 0
        except OSError:
            with lock:
                state["fail"] += 1
                state["streak"] += 1


t0 = time.monotonic()
ths = [threading.Thread(target=worker) for _ in range(8)]
for t in ths:
    t.start()
for t in ths:
    t.join()
took = time.monotonic() - t0
with open(ready + ".tmp", "w") as f:
    f.write("open %d %d %.1f\n" % (len(keep), state["fail"], took))
import os
os.rename(ready + ".tmp", ready)
time.sleep(hold)
alive = 0
for t in keep:
    try:
        if t.recv(1):
            alive += 1
    except ssl.SSLWantReadError:
        alive += 1
    except OSError:
        pass
print("held %d" % alive, flush=True)
