#!/usr/bin/env python3
"""Fake internet for the egressd end-to-end tests (python3 stdlib only).

Sub-commands:
  serve        run the servers (HTTP :80, HTTPS :443, banner :2222, DNS :53)
  blob-sha256  print the sha256 of the /blob body
  sans         print an openssl subjectAltName value for the given --host list

Every server binds [::] dual-stack, so it answers on every address of the
namespace it runs in (the test addresses live on that namespace's lo).

HTTP(S), for any Host:
  /blob  -> BLOB_SIZE deterministic bytes (random.Random(BLOB_SEED))
  /echo  -> "method=M\nhost=H\npath=P\n" (P is the raw request target)
  /headers[/...] -> JSON {"method", "path", "headers": [[name, value], ...]}: every
            header line as received, in order, duplicates kept
  /ws    -> with Upgrade: websocket, 101 then an echo of every byte
  other  -> "hello from H\n" (H = the Host header without port)
DNS (UDP): A/AAAA from the --host name=ip[,ip...] map, NXDOMAIN for other names.

--request-log FILE appends "SCHEME METHOD TARGET host=HOST" for every request
served (before its answer), so a test can prove a request never arrived.
--sni-certs DIR: a TLS client asking for NAME (SNI) gets DIR/NAME.pem with
DIR/NAME.key when that file exists (looked up at each handshake), else --cert.
"""
import argparse
import hashlib
import http.server
import json
import os
import random
import socket
import socketserver
import ssl
import struct
import sys
import threading
from urllib.parse import urlsplit

BLOB_SIZE = 20 * 1024 * 1024
BLOB_SEED = 0x1E9D
_blob = None


def blob():
    global _blob
    if _blob is None:
        _blob = random.Random(BLOB_SEED).randbytes(BLOB_SIZE)
    return _blob


def log(*a):
    print("fakenet:", *a, file=sys.stderr, flush=True)


def bind_dual(sock, port):
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("::", port))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakenet/1"
    timeout = 30

    def log_message(self, fmt, *args):
        if self.server.verbose:
            log(self.client_address[0], fmt % args)

    def host(self):
        h = self.headers.get("Host")
        if h is None:
            return urlsplit(self.path).hostname or ""
        if h.startswith("["):
            return h[: h.find("]") + 1]
        return h.rsplit(":", 1)[0] if h.count(":") == 1 else h

    def send_body(self, body, ctype="text/plain"):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        mv = memoryview(body)
        for i in range(0, len(mv), 256 * 1024):
            self.wfile.write(mv[i:i + 256 * 1024])

    def serve(self):
        self.server.log_request_line(self)
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        path = urlsplit(self.path).path
        if path == "/ws" and self.headers.get("Upgrade", "").lower() == "websocket":
            # Not real WebSocket framing: after 101 the stream just echoes
            # bytes back, which is all a splice test needs.
            self.send_response(101, "Switching Protocols")
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.end_headers()
            self.wfile.flush()
            while True:
                data = self.connection.recv(65536)
                if not data:
                    break
                self.connection.sendall(data)
            self.close_connection = True
            return
        if path == "/blob":
            self.send_body(blob(), "application/octet-stream")
        elif path == "/headers" or path.startswith("/headers/"):
            self.send_body(json.dumps({"method": self.command, "path": self.path,
                                       "headers": [[k, v] for k, v in self.headers.items()]}).encode() + b"\n",
                           "application/json")
        elif path == "/echo":
            self.send_body(("method=%s\nhost=%s\npath=%s\n" % (
                self.command, self.headers.get("Host", ""), self.path)).encode())
        else:
            self.send_body(("hello from %s\n" % self.host()).encode())

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = serve


class HTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, port, ssl_ctx, verbose, reqlog=None):
        self.ssl_ctx = ssl_ctx
        self.verbose = verbose
        self.reqlog = reqlog
        super().__init__(("::", port), Handler, bind_and_activate=False)
        bind_dual(self.socket, port)
        self.server_address = self.socket.getsockname()
        self.server_name, self.server_port = "fakenet", port  # no getfqdn(): no DNS here
        self.server_activate()

    def log_request_line(self, h):
        if self.reqlog is None:
            return
        line = "%s %s %s host=%s\n" % ("https" if self.ssl_ctx else "http", h.command, h.path,
                                        h.headers.get("Host", ""))
        self.reqlog.write(line)

    def finish_request(self, request, client_address):
        request.settimeout(30)
        if self.ssl_ctx is None:
            return super().finish_request(request, client_address)
        try:
            tls = self.ssl_ctx.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as e:
            if self.verbose:
                log("tls handshake from", client_address[0], "failed:", e)
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


class BannerHandler(socketserver.BaseRequestHandler):
    """Server-speaks-first: sends the banner on accept, then echoes until EOF."""

    def handle(self):
        s = self.request
        s.settimeout(30)
        try:
            s.sendall(self.server.banner)
            while True:
                d = s.recv(65536)
                if not d:
                    break
                s.sendall(d)
        except OSError:
            pass


class BannerServer(socketserver.ThreadingTCPServer):
    address_family = socket.AF_INET6
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port, banner):
        self.banner = banner
        super().__init__(("::", port), BannerHandler, bind_and_activate=False)
        bind_dual(self.socket, port)
        self.server_activate()


class RequestLog:
    """One line per request, appended whole and flushed at once."""

    def __init__(self, path):
        self.f = open(path, "a", encoding="utf-8", errors="replace")
        self.lock = threading.Lock()

    def write(self, line):
        with self.lock:
            self.f.write(line)
            self.f.flush()


def sni_certs(ctx, d):
    """--sni-certs: a name with DIR/NAME.pem gets that certificate instead."""
    cache = {}

    def pick(sock, name, _ctx):
        if not name:
            return None
        base = os.path.join(d, os.path.basename(name.lower()))
        try:
            mtime = os.stat(base + ".pem").st_mtime_ns
        except OSError:
            return None
        c = cache.get(base)
        if c is None or c[0] != mtime:
            alt = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            alt.load_cert_chain(base + ".pem", base + ".key")
            c = cache[base] = (mtime, alt)
        sock.context = c[1]
        return None

    ctx.sni_callback = pick


def parse_hosts(items):
    m = {}
    for it in items:
        name, _, ips = it.partition("=")
        m[name.lower().rstrip(".")] = [ip for ip in ips.split(",") if ip]
    return m


def dns_serve(sock, hosts, verbose):
    while True:
        try:
            q, peer = sock.recvfrom(4096)
            r = dns_answer(q, hosts)
        except Exception as e:  # never die on a bad packet
            log("dns error:", e)
            continue
        if r:
            if verbose:
                log("dns reply to", peer[0])
            sock.sendto(r, peer)


def dns_answer(q, hosts):
    if len(q) < 12:
        return None
    qid, flags, qd = struct.unpack("!HHH", q[:6])
    if flags & 0x8000 or qd != 1:
        return None
    i, labels = 12, []
    while True:
        n = q[i]
        if n == 0:
            i += 1
            break
        labels.append(q[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    qtype, qclass = struct.unpack("!HH", q[i:i + 4])
    question = q[12:i + 4]
    name = ".".join(labels).lower().rstrip(".")
    rcode, answers = 0, []
    if name not in hosts:
        rcode = 3
    else:
        for ip in hosts[name]:
            fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
            t = 28 if fam == socket.AF_INET6 else 1
            if t == qtype and qclass == 1:
                rd = socket.inet_pton(fam, ip)
                answers.append(struct.pack("!HHHIH", 0xC00C, t, 1, 60, len(rd)) + rd)
    rflags = 0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | rcode
    return struct.pack("!HHHHHH", qid, rflags, 1, len(answers), 0, 0) + question + b"".join(answers)


def cmd_serve(a):
    hosts = parse_hosts(a.host)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    if a.sni_certs:
        sni_certs(ctx, a.sni_certs)
    reqlog = RequestLog(a.request_log) if a.request_log else None
    blob()  # generate before announcing readiness
    servers = [HTTPServer(a.http_port, None, a.verbose, reqlog), HTTPServer(a.https_port, ctx, a.verbose, reqlog)]
    if a.banner_port:
        servers.append(BannerServer(a.banner_port, a.banner.encode().decode("unicode_escape").encode("latin-1")))
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    if a.dns_port:
        ds = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        bind_dual(ds, a.dns_port)
        threads.append(threading.Thread(target=dns_serve, args=(ds, hosts, a.verbose), daemon=True))
    for t in threads:
        t.start()
    if a.ready:
        with open(a.ready + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(a.ready + ".tmp", a.ready)
    log("ready: http :%d https :%d banner :%s dns :%s" % (a.http_port, a.https_port, a.banner_port, a.dns_port))
    threading.Event().wait()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--cert", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--http-port", type=int, default=80)
    s.add_argument("--https-port", type=int, default=443)
    s.add_argument("--banner-port", type=int, default=2222)
    s.add_argument("--banner", default="SSH-2.0-fake\\r\\n")
    s.add_argument("--dns-port", type=int, default=53)
    s.add_argument("--host", action="append", default=[], help="name=ip[,ip...] (DNS map)")
    s.add_argument("--ready", help="file written once every server listens")
    s.add_argument("--request-log", help="append one line per request served")
    s.add_argument("--sni-certs", help="directory of NAME.pem/NAME.key served for SNI NAME")
    s.add_argument("-v", "--verbose", action="store_true")
    sub.add_parser("blob-sha256")
    sa = sub.add_parser("sans")
    sa.add_argument("--host", action="append", default=[])
    a = p.parse_args()
    if a.cmd == "blob-sha256":
        print(hashlib.sha256(blob()).hexdigest())
    elif a.cmd == "sans":
        hosts = parse_hosts(a.host)
        names = list(hosts) + ["*.example.com", "*.example.org", "*.wild.example.org", "*.y.wild.example.org"]
        ips = sorted({ip for v in hosts.values() for ip in v})
        print(",".join(["DNS:" + n for n in names] + ["IP:" + ip for ip in ips]))
    else:
        cmd_serve(a)


if __name__ == "__main__":
    main()
