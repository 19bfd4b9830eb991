#!/usr/bin/env python3
"""Client side of bench/bench_intercept.sh's idle phase, run in the sandbox.

  bench_intercept_idle.py N HOST PORT CA READY_FILE HOLD_S

Opens N TLS connections to HOST:PORT (SNI HOST, chain and name checked
against the bundle CA), at most 16 handshakes at a time, and asks one
keep-alive `GET /small` on each: through an intercepting proxy a
connection is only whole (both TLS sessions, the upstream connection)
once a request went through.  Then writes "open OK FAILED SECONDS" to
READY_FILE, holds every connection HOLD_S seconds (the bench samples the
proxy's memory now) and prints "held ALIVE": how many are still open.
"""
import asyncio
import os
import ssl
import sys
import time

N, HOST, PORT, CA, READY, HOLD = (int(sys.argv[1]), sys.argv[2], int(sys.argv[3]),
                                  sys.argv[4], sys.argv[5], float(sys.argv[6]))
REQUEST = b"GET /small HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (HOST.encode(), PORT)


async def one_request(ctx, gate, kept, failed):
    async with gate:
        try:
            rd, wr = await asyncio.wait_for(
                asyncio.open_connection(HOST, PORT, ssl=ctx, server_hostname=HOST), 10)
            wr.write(REQUEST)
            head = await asyncio.wait_for(rd.readuntil(b"\r\n\r\n"), 10)
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await asyncio.wait_for(rd.readexactly(length), 10)
            if not head.startswith(b"HTTP/1.1 200"):
                raise ValueError(head.split(b"\r\n")[0])
            kept.append((rd, wr))
        except (OSError, ValueError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError) as e:
            if not failed:
                print("first failure: %r" % e, file=sys.stderr, flush=True)
            failed.append(1)


async def main():
    ctx = ssl.create_default_context(cafile=CA)
    ctx.set_alpn_protocols(["http/1.1"])
    gate = asyncio.Semaphore(16)
    kept, failed = [], []
    start = time.monotonic()
    await asyncio.gather(*(one_request(ctx, gate, kept, failed) for _ in range(N)))
    took = time.monotonic() - start
    with open(READY + ".tmp", "w") as f:
        f.write("open %d %d %.1f\n" % (len(kept), len(failed), took))
    os.rename(READY + ".tmp", READY)
    # the event loop keeps reading meanwhile: a peer's close shows as EOF
    await asyncio.sleep(HOLD)
    alive = sum(1 for rd, wr in kept if not rd.at_eof() and not wr.is_closing())
    print("held %d" % alive, flush=True)
    for _, wr in kept:
        wr.transport.abort()


asyncio.run(main())
