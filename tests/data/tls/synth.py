#!/usr/bin/env python3
"""
Derive the synth_*.bin fixtures from captured ones, for what no local
client sends.  Deterministic: rerunning gives the same bytes.

synth_ech_grease.bin  python_ssl.bin with the padding extension dropped,
                      Chrome-style GREASE added (a GREASE cipher suite,
                      an empty GREASE extension first, a one-byte one last)
                      and an outer encrypted_client_hello (0xfe0d)
                      extension, as ECH clients send, before the last.
synth_frag7.bin       curl_openssl.bin's handshake message re-framed into
                      records of 1..7 bytes each.

Usage: tests/data/tls/synth.py (after capture.py).
"""

import os

HERE = os.path.dirname(os.path.abspath(__file__))


def unframe(b):
    off, hs = 0, b""
    while off + 5 <= len(b):
        n = int.from_bytes(b[off + 3:off + 5], "big")
        hs += b[off + 5:off + 5 + n]
        off += 5 + n
    return hs


def frame(hs, sizes):
    out, i = b"", 0
    while hs:
        n = sizes[i % len(sizes)]
        i += 1
        out += b"\x16\x03\x01" + len(hs[:n]).to_bytes(2, "big") + hs[:n]
        hs = hs[n:]
    return out


def u16(n):
    return n.to_bytes(2, "big")


def ext(t, data):
    return u16(t) + u16(len(data)) + data


def ech_grease(hs):
    body = hs[4:]
    p = 2 + 32
    p += 1 + body[p]
    head = body[:p]
    cs_len = int.from_bytes(body[p:p + 2], "big")
    cs = b"\x8a\x8a" + body[p + 2:p + 2 + cs_len]
    p += 2 + cs_len
    comp = body[p:p + 1 + body[p]]
    p += 1 + body[p]
    end = p + 2 + int.from_bytes(body[p:p + 2], "big")
    p += 2
    exts = [ext(0x0a0a, b"")]
    while p < end:
        t = int.from_bytes(body[p:p + 2], "big")
        n = int.from_bytes(body[p + 2:p + 4], "big")
        if t != 0x0015:
            exts.append(body[p:p + 4 + n])
        p += 4 + n
    enc = bytes(range(32))
    payload = bytes((i * 37 + 11) & 0xff for i in range(176))
    ech = (b"\x00" + b"\x00\x01\x00\x01" + b"\x2a" + u16(len(enc)) + enc +
           u16(len(payload)) + payload)
    exts.append(ext(0xfe0d, ech))
    exts.append(ext(0xfafa, b"\x00"))
    allx = b"".join(exts)
    body = head + u16(len(cs)) + cs + comp + u16(len(allx)) + allx
    return b"\x01" + len(body).to_bytes(3, "big") + body


def main():
    def rd(n):
        with open(os.path.join(HERE, n), "rb") as f:
            return f.read()

    def wr(n, b):
        with open(os.path.join(HERE, n), "wb") as f:
            f.write(b)
        print("%-22s %5d bytes" % (n, len(b)))

    wr("synth_ech_grease.bin",
       frame(ech_grease(unframe(rd("python_ssl.bin"))), [16384]))
    wr("synth_frag7.bin",
       frame(unframe(rd("curl_openssl.bin")), [1, 2, 3, 4, 5, 6, 7]))


if __name__ == "__main__":
    main()
