#!/usr/bin/env python3
"""Client side of bench/bench_dns.sh, run inside the sandbox namespace.

  dnsbench.py tls HOSTFMT COUNT IP CA      median ms per TLS connection
  dnsbench.py dns SERVER PORT NAMEFMT COUNT INFLIGHT [SOCKETS]   queries/s

TLS: COUNT sequential connections (TCP + TLS handshake + close) to IP:443,
SNI HOSTFMT % i; prints the median and p90 in ms.  DNS: COUNT A queries for
NAMEFMT % i over UDP with INFLIGHT outstanding, spread over SOCKETS client
sockets (default 8: a resolver library uses a new source port per query,
and the kernel spreads queries over a server's SO_REUSEPORT sockets by
source port); prints queries/s.
"""
import random, select, socket, ssl, statistics, struct, sys, time


def tls(hostfmt, count, ip, ca):
    ctx = ssl.create_default_context(cafile=ca)
    times = []
    for i in range(count):
        host = hostfmt % i if "%" in hostfmt else hostfmt
        t0 = time.perf_counter()
        s = socket.create_connection((ip, 443), timeout=10)
        t = ctx.wrap_socket(s, server_hostname=host)
        t.close()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print("%.3f %.3f" % (statistics.median(times), times[int(len(times) * 0.9)]))


def query(qid, name):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", 1, 1)


def dns(server, port, namefmt, count, inflight, nsock=8):
    socks = []
    for _ in range(nsock):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        socks.append(s)
    sent = done = 0
    pending = {}
    t0 = time.perf_counter()
    deadline = t0 + 60
    while done < count and time.perf_counter() < deadline:
        while sent < count and len(pending) < inflight:
            qid = random.randrange(65536)
            while qid in pending:
                qid = random.randrange(65536)
            socks[sent % nsock].sendto(query(qid, namefmt % sent if "%" in namefmt else namefmt), (server, port))
            pending[qid] = time.perf_counter()
            sent += 1
        r, _, _ = select.select(socks, [], [], 1.0)
        if not r:
            # a lost datagram: forget the oldest and go on
            if pending:
                pending.pop(min(pending, key=pending.get))
                done += 1
            continue
        for s in r:
            while True:
                try:
                    data = s.recv(4096)
                except BlockingIOError:
                    break
                qid = struct.unpack(">H", data[:2])[0]
                if pending.pop(qid, None) is not None:
                    done += 1
    print("%.0f" % (done / (time.perf_counter() - t0)))


if __name__ == "__main__":
    if sys.argv[1] == "tls":
        tls(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    else:
        dns(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6]),
            int(sys.argv[7]) if len(sys.argv) > 7 else 8)
