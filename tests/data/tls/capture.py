#!/usr/bin/env python3
"""
Capture real TLS ClientHellos on loopback for the sniff/tls.c fixtures.

For each client below: listen on 127.0.0.1:<free port>, start the client
pointed at it, read until the first handshake message (the ClientHello) is
complete -- following the record and handshake length fields, so a hello
split over several records or TCP segments is captured whole -- or until
1 s passes without it, then write the raw bytes to <name>.bin and close.
The client then fails its handshake, which is expected; only its first
flight matters.

Usage: tests/data/tls/capture.py [name ...]   (default: every client)
Run from anywhere; files land next to this script.  Stdlib only.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

JAVA_SRC = r"""
import javax.net.ssl.*;
import java.util.List;

public class Hello {
	public static void main(String[] a) throws Exception {
		SSLSocketFactory f = (SSLSocketFactory)SSLSocketFactory.getDefault();
		SSLSocket s = (SSLSocket)f.createSocket("127.0.0.1",
		    Integer.parseInt(a[0]));
		SSLParameters p = s.getSSLParameters();
		p.setServerNames(List.of(new SNIHostName(a[1])));
		s.setSSLParameters(p);
		try { s.startHandshake(); } catch (Exception e) { }
		s.close();
	}
}
"""

NODE_SRC = r"""
const tls = require('tls');
const s = tls.connect({host: '127.0.0.1', port: +process.argv[2],
    servername: process.argv[3], rejectUnauthorized: false});
s.on('error', () => {});
"""

PY_SRC = r"""
import socket, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
try:
    ctx.wrap_socket(s, server_hostname=sys.argv[2])
except Exception:
    pass
"""


def clients(tmp):
    """name -> (argv with {port}, expected SNI or None, note)."""
    java = os.path.join(tmp, "Hello.java")
    with open(java, "w") as f:
        f.write(JAVA_SRC)
    node = os.path.join(tmp, "hello.js")
    with open(node, "w") as f:
        f.write(NODE_SRC)
    py = os.path.join(tmp, "hello.py")
    with open(py, "w") as f:
        f.write(PY_SRC)
    osc = ["openssl", "s_client", "-connect", "127.0.0.1:{port}"]
    return {
        "curl_openssl": (["curl", "-sk", "--connect-to",
                          "example.org:443:127.0.0.1:{port}",
                          "https://example.org/"], "example.org"),
        "curl_tls12": (["curl", "-sk", "--tlsv1.2", "--tls-max", "1.2",
                        "--connect-to", "example.org:443:127.0.0.1:{port}",
                        "https://example.org/"], "example.org"),
        "openssl_s_client": (osc + ["-servername", "example.org"],
                             "example.org"),
        "openssl_nosni": (osc + ["-noservername"], None),
        "openssl_case_dot": (osc + ["-servername", "WWW.Example.ORG."],
                             "WWW.Example.ORG."),
        # ffdhe8192 as first group makes a 1 KB key share; -max_send_frag
        # 512 makes OpenSSL cut the hello into several 512-byte records.
        "openssl_multirecord": (osc + ["-servername", "example.org",
                                       "-groups", "ffdhe8192:X25519",
                                       "-max_send_frag", "512"],
                                "example.org"),
        "python_ssl": (["python3", py, "{port}", "example.org"],
                       "example.org"),
        "node_tls": (["node", node, "{port}", "example.org"], "example.org"),
        "java_jsse": (["java", java, "{port}", "example.org"], "example.org"),
        # wget has no --connect-to; "localhost" is the only name that
        # resolves to loopback without touching /etc/hosts.
        "wget_gnutls": (["wget", "-q", "-O", "/dev/null", "--tries=1",
                         "--no-check-certificate",
                         "https://localhost:{port}/"], "localhost"),
    }


def hello_complete(b):
    """True once <b> holds a whole first handshake message."""
    off, hs = 0, b""
    while off + 5 <= len(b):
        rlen = int.from_bytes(b[off + 3:off + 5], "big")
        hs += b[off + 5:off + 5 + rlen]
        if off + 5 + rlen > len(b):
            return False
        off += 5 + rlen
        if len(hs) >= 4 and len(hs) >= 4 + int.from_bytes(hs[1:4], "big"):
            return True
    return False


def capture(name, argv):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    argv = [a.replace("{port}", str(port)) for a in argv]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    srv.settimeout(20)   # java start-up is slow
    data = b""
    try:
        conn, _ = srv.accept()
        deadline = time.monotonic() + 1.0
        while not hello_complete(data):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            conn.settimeout(left)
            try:
                chunk = conn.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            data += chunk
        conn.close()
    finally:
        srv.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return data


def main():
    with tempfile.TemporaryDirectory() as tmp:
        table = clients(tmp)
        names = sys.argv[1:] or sorted(table)
        rc = 0
        for name in names:
            argv, sni = table[name]
            data = capture(name, argv)
            ok = hello_complete(data)
            print("%-20s %5d bytes %s sni=%s" % (name, len(data),
                  "complete" if ok else "INCOMPLETE", sni))
            if not ok:
                rc = 1
                continue
            with open(os.path.join(HERE, name + ".bin"), "wb") as f:
                f.write(data)
        return rc


if __name__ == "__main__":
    sys.exit(main())
