#!/usr/bin/env python3
"""Mock of egressd's admin API, for the few checks in tests/ctl/run.sh that
a real egressd cannot answer.  Python 3 standard library only.

Everything else in tests/ctl/run.sh runs against a real egressd started
on loopback: do not add checks here that a real one can answer, as this
mock is a second implementation of the API and drifts from the real one
(daemon/admin.c; proxy/admin.c before it).  What it is kept for:

    events with an HTTP method and path, and "end" events (a real egressd
        logs them only for intercepted connections: NAT, i.e. root);
    events answered chunked (with a chunk extension and a trailer);
    /healthz without Content-Length (the body ends at close);
    sandbox "not-json"   GET .../network answers 200 with an HTML body;
    sandbox "html-error" GET .../network answers 502 with an HTML body;
    sandbox "slow"       GET .../network waits 3 s, then 404.
    /api/v1/ca.pem answers 200 with an HTML body, not a certificate;
    GET .../phantom answers a token that is not 64 hex digits.

Serves the same in-memory state on a unix socket (no token, as the real
socket is guarded by file modes) and on 127.0.0.1:PORT (Bearer token).

    mock_admin.py serve --socket PATH --token-file FILE --port-file FILE
    mock_admin.py client --socket PATH METHOD PATH [JSON]   (test helper)

Test hooks, not part of the real API:
    POST /_mock/events {"events": [{...}, ...]}  append audit events
    POST /_mock/set {"reload_fail": true}        make reload fail
Framing varies on purpose: events come chunked, /healthz has no
Content-Length (ends at close), everything else has a Content-Length.
"""

import argparse
import http.client
import http.server
import json
import os
import re
import socket
import socketserver
import sys
import threading
import time
import urllib.parse

LOCK = threading.Lock()
START = time.time()

# Rules that come from policies, as the daemon would resolve them.
POLICY_RULES = {
    "agent": [
        ("allow.hosts", "pypi.org", "policy agent"),
        ("allow.hosts", "files.pythonhosted.org", "profile package-managers"),
        ("allow.ports", 443, "policy agent"),
        ("allow.ports", "8000-8100", "policy agent"),
    ],
    "ci": [
        ("allow.hosts", "*.github.com", "policy ci"),
        ("allow.ports", 443, "policy ci"),
    ],
}

KIND_KEY = {
    "allow.hosts": "allowed_domains", "deny.hosts": "denied_domains",
    "allow.cidrs": "allowed_cidrs", "deny.cidrs": "denied_cidrs",
    "allow.ports": "allowed_ports", "deny.ports": "denied_ports",
}


def empty_egress():
    return {k: [] for k in ("allowed_domains", "denied_domains",
                            "allowed_cidrs", "denied_cidrs",
                            "allowed_ports", "denied_ports")}


STATE = {
    "generation": 1,
    "reload_fail": False,
    "next_conn": 100,
    "sandboxes": {
        "agent-1": {
            "sources": ["198.18.0.2/32"], "policies": ["agent"],
            "intercept": True, "source": "config", "mode": "block-all",
            "inline": dict(empty_egress(),
                           denied_cidrs=["169.254.169.254/32"]),
        },
        "ci-runner": {
            "sources": ["198.18.0.3/32", "198.18.0.4/32"],
            "policies": ["ci"], "intercept": False, "source": "api",
            "mode": "block-all", "inline": empty_egress(),
        },
    },
    # Oldest first; the API answers newest first.
    "events": [
        {"ts": "2024-05-01T12:00:01.000Z", "sandbox": "agent-1",
         "action": "allow", "reason": "rule", "policy": "agent",
         "rule": "profiles.package-managers pypi.org", "proto": "tls",
         "host": "pypi.org", "method": None, "path": None, "ech": False,
         "src": "198.18.0.2:40001", "dst": "151.101.0.223:443", "conn": 1},
        {"ts": "2024-05-01T12:00:02.000Z", "sandbox": "agent-1",
         "action": "deny", "reason": "no-matching-allow", "policy": None,
         "rule": None, "proto": "http", "host": "evil.example",
         "method": "GET", "path": "/x", "ech": False,
         "src": "198.18.0.2:40002", "dst": "93.184.216.34:80", "conn": 2},
        {"ts": "2024-05-01T12:00:03.000Z", "sandbox": "ci-runner",
         "action": "allow", "reason": "intercept-off", "policy": None,
         "rule": None, "proto": "tls", "host": "api.github.com",
         "method": None, "path": None, "ech": False,
         "src": "198.18.0.3:50001", "dst": "140.82.112.6:443", "conn": 3},
        {"ts": "2024-05-01T12:00:04.500Z", "sandbox": "agent-1",
         "action": "end", "reason": None, "policy": "agent",
         "rule": "profiles.package-managers pypi.org", "proto": "tls",
         "host": "pypi.org", "method": None, "path": None, "ech": False,
         "src": "198.18.0.2:40001", "dst": "151.101.0.223:443", "conn": 1,
         "bytes_up": 812, "bytes_down": 90211, "duration_ms": 3500},
        {"ts": "2024-05-01T12:00:05.000Z", "sandbox": "agent-1",
         "action": "deny", "reason": "no-matching-allow", "policy": None,
         "rule": None, "proto": "dns", "host": "tracker.example",
         "method": None, "path": None, "ech": False,
         "src": "198.18.0.2:53000", "dst": "198.18.0.1:53", "conn": None},
    ],
}

HOST_RE = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*"
                     r"[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


class ApiError(Exception):
    def __init__(self, status, msg, extra=None):
        super().__init__(msg)
        self.status = status
        self.body = dict({"error": msg}, **(extra or {}))


def check_host(h, what="hosts"):
    if not isinstance(h, str):
        raise ApiError(400, "%s: hosts are strings" % what)
    if "://" in h or "/" in h:
        raise ApiError(400, '%s: "%s": hosts are hostnames, not URLs '
                       "(drop the scheme and path)" % (what, h))
    n = h.lower().rstrip(".")
    if not n or len(n) > 253 or not HOST_RE.match(n):
        raise ApiError(400, '%s: "%s": not a valid host name' % (what, h))
    return n


def get_sandbox(sid):
    sb = STATE["sandboxes"].get(sid)
    if sb is None:
        raise ApiError(404, 'no sandbox "%s"' % sid)
    return sb


def rules_of(sid, sb):
    rules = []
    for p in sb["policies"]:
        for kind, pat, frm in POLICY_RULES.get(p, []):
            rules.append({"kind": kind, "pattern": pat, "from": frm})
    for kind, key in KIND_KEY.items():
        for pat in sb["inline"][key]:
            rules.append({"kind": kind, "pattern": pat,
                          "from": "sandbox %s (%s)" % (sid, sb["source"])})
    return rules


def network(sid):
    sb = get_sandbox(sid)
    rules = rules_of(sid, sb)
    egress = empty_egress()
    for r in rules:
        lst = egress[KIND_KEY[r["kind"]]]
        if r["pattern"] not in lst:
            lst.append(r["pattern"])
    return {"mode": sb["mode"], "intercept": sb["intercept"],
            "egress": egress, "sources": list(sb["sources"]),
            "policies": list(sb["policies"]), "source": sb["source"],
            "rules": rules}


def host_matches(pat, host):
    if pat.startswith("*."):
        return host.endswith(pat[1:])
    return pat == host


def port_in(spec, port):
    if isinstance(spec, int):
        return spec == port
    lo, _, hi = str(spec).partition("-")
    return int(lo) <= port <= int(hi or lo)


def explain(q):
    sid = q.get("sandbox", [None])[0]
    host = q.get("host", [None])[0]
    if sid is None or host is None:
        raise ApiError(400, "explain: sandbox and host are required")
    sb = get_sandbox(sid)
    h = check_host(host, "host")
    port_s = q.get("port", ["443"])[0]
    if not port_s.isdigit() or not 1 <= int(port_s) <= 65535:
        raise ApiError(400, 'port: "%s": 1-65535' % port_s)
    port = int(port_s)
    res = {"sandbox": sid, "host": h, "port": port, "action": "deny",
           "reason": "no-matching-allow", "policy": None, "rule": None,
           "note": None}
    rules = rules_of(sid, sb)
    if not sb["intercept"]:
        res.update(action="allow", reason="intercept-off")
        return res
    for r in rules:
        if r["kind"] == "deny.hosts" and host_matches(r["pattern"], h):
            res.update(reason="denied-by-rule", rule="deny.hosts " +
                       r["pattern"], policy=r["from"])
            return res
    ports = [r["pattern"] for r in rules if r["kind"] == "allow.ports"]
    if ports and not any(port_in(p, port) for p in ports):
        res.update(reason="port-not-allowed")
        return res
    for r in rules:
        if r["kind"] == "allow.hosts" and host_matches(r["pattern"], h):
            # "profile package-managers" -> "profiles.package-managers"
            kind, _, name = r["from"].partition(" ")
            kind = {"policy": "policies", "profile": "profiles"}.get(
                kind, kind)
            res.update(action="allow", reason="rule",
                       policy=(sb["policies"] or [None])[0],
                       rule="%s.%s %s" % (kind, name, r["pattern"]),
                       note="allowed by a host rule: at run time the "
                            "destination address must also be public")
            return res
    return res


def events(q, sid=None):
    if sid is not None:
        get_sandbox(sid)
    limit_s = q.get("limit", ["100"])[0]
    if not limit_s.isdigit() or not 1 <= int(limit_s) <= 100000:
        raise ApiError(400, 'limit: "%s": 1-100000' % limit_s)
    action = q.get("action", [None])[0]
    if action is not None and action not in ("allow", "deny", "end",
                                             "error"):
        raise ApiError(400, 'action: "%s": allow, deny, end or error'
                       % action)
    out = []
    for ev in reversed(STATE["events"]):
        if sid is not None and ev["sandbox"] != sid:
            continue
        if action is not None and ev["action"] != action:
            continue
        out.append(ev)
        if len(out) >= int(limit_s):
            break
    return out


def change_hosts(sid, verb, body):
    sb = get_sandbox(sid)
    hosts = body.get("hosts") if isinstance(body, dict) else None
    if not isinstance(hosts, list) or not hosts:
        raise ApiError(400, "hosts: a non-empty list of host names")
    names = [check_host(h) for h in hosts]
    inl = sb["inline"]
    for n in names:
        if verb == "allow":
            if n in inl["denied_domains"]:
                inl["denied_domains"].remove(n)
            if n not in inl["allowed_domains"]:
                inl["allowed_domains"].append(n)
        elif verb == "deny":
            if n in inl["allowed_domains"]:
                inl["allowed_domains"].remove(n)
            if n not in inl["denied_domains"]:
                inl["denied_domains"].append(n)
        else:
            # egressd: unallow takes off the allow list, undeny the deny list
            key = "allowed_domains" if verb == "unallow" else \
                "denied_domains"
            if n in inl[key]:
                inl[key].remove(n)
    return network(sid)


def put_network(sid, body):
    if not isinstance(body, dict) or not isinstance(body.get("egress"),
                                                    dict):
        raise ApiError(400, "network: an object with egress")
    sb = STATE["sandboxes"].setdefault(sid, {
        "sources": [], "policies": [], "intercept": True, "source": "api",
        "mode": "block-all", "inline": empty_egress()})
    sb["mode"] = body.get("mode", sb["mode"])
    sb["intercept"] = bool(body.get("intercept", sb["intercept"]))
    if "sources" in body:
        sb["sources"] = list(body["sources"])
    eg = empty_egress()
    eg.update({k: list(v) for k, v in body["egress"].items() if k in eg})
    for h in eg["allowed_domains"] + eg["denied_domains"]:
        check_host(h, "egress")
    sb["inline"] = eg
    return network(sid)


def stats():
    return {"uptime_s": int(time.time() - START),
            "generation": STATE["generation"], "active_connections": 3,
            "connections": {"allow": 10, "deny": 2, "error": 0},
            "bytes_up": 123, "bytes_down": 4567,
            "dns_queries": {"allow": 4, "deny": 1},
            "audit_events": {"written": len(STATE["events"]), "dropped": 0},
            "reloads": {"ok": STATE["generation"] - 1, "failed": 0}}


def reload_config():
    if STATE["reload_fail"]:
        raise ApiError(400, "config rejected", {"errors": [
            "/etc/egressd/egressd.yaml:3:7: unknown key \"lisen\"",
            "/etc/egressd/egressd.yaml:9:3: sandbox \"x\": no sources"]})
    STATE["generation"] += 1
    return {"reloaded": True, "generation": STATE["generation"],
            "warnings": []}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-egressd/0"
    verbose = False

    def address_string(self):
        # Unix peers have no address; the base class would index ''.
        return self.client_address[0] if self.client_address else "unix"

    def log_message(self, fmt, *args):
        if Handler.verbose:
            sys.stderr.write("mock: %s %s\n" % (self.address_string(),
                                                fmt % args))

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def send_json(self, status, obj, chunked=False):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(data), 7):
                part = data[i:i + 7]
                ext = ";n=1" if i == 0 else ""
                self.wfile.write(b"%x%s\r\n%s\r\n" % (len(part),
                                                      ext.encode(), part))
            self.wfile.write(b"0\r\nX-Trailer: 1\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        self.close_connection = True

    def send_text(self, status, text, ctype="text/plain", length=True):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Connection", "close")
        if length:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiError(400, "body: not JSON")

    def dispatch(self, method):
        try:
            if self.server.token is not None:
                want = "Bearer " + self.server.token
                if self.headers.get("Authorization") != want:
                    raise ApiError(401, "missing or invalid token")
            url = urllib.parse.urlsplit(self.path)
            q = urllib.parse.parse_qs(url.query, keep_blank_values=True)
            segs = [urllib.parse.unquote(s) for s in url.path.split("/")]
            self.route(method, url.path, segs, q)
        except ApiError as e:
            self.send_json(e.status, e.body)
        except BrokenPipeError:
            pass

    def route(self, method, path, segs, q):
        def want(m):
            if method != m:
                raise ApiError(405, "method %s not allowed" % method)

        if path == "/healthz":
            want("GET")
            # No Content-Length: the body ends when the connection does.
            return self.send_text(200, "ok\n", length=False)
        if path == "/_mock/events":
            want("POST")
            with LOCK:
                for ev in (self.body() or {}).get("events", []):
                    e = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S",
                                             time.gmtime()) +
                         ".%03dZ" % (int(time.time() * 1000) % 1000),
                         "sandbox": "agent-1", "action": "deny",
                         "reason": "no-matching-allow", "policy": None,
                         "rule": None, "proto": "tls", "host": None,
                         "method": None, "path": None, "ech": False,
                         "src": "198.18.0.2:41000",
                         "dst": "203.0.113.9:443",
                         "conn": STATE["next_conn"]}
                    STATE["next_conn"] += 1
                    e.update(ev)
                    STATE["events"].append(e)
            return self.send_json(200, {"events": len(STATE["events"])})
        if path == "/_mock/set":
            want("POST")
            with LOCK:
                STATE.update(self.body() or {})
            return self.send_json(200, {"ok": True})
        if segs[:3] != ["", "api", "v1"]:
            raise ApiError(404, "no route %s" % path)
        rest = segs[3:]
        with LOCK:
            if rest == ["sandboxes"]:
                want("GET")
                out = [{"id": k, "sources": v["sources"],
                        "policies": v["policies"],
                        "intercept": v["intercept"], "source": v["source"]}
                       for k, v in STATE["sandboxes"].items()]
                return self.send_json(200, out)
            if len(rest) == 3 and rest[0] == "sandboxes" and \
                    rest[2] == "network":
                sid = rest[1]
                if sid == "not-json" and method == "GET":
                    return self.send_text(200, "<html>not the API</html>",
                                          "text/html")
                if sid == "html-error":
                    return self.send_text(502, "<html>\r\n<h1>Bad "
                                          "Gateway</h1></html>",
                                          "text/html")
                if sid == "slow":
                    LOCK.release()
                    try:
                        time.sleep(3)
                    finally:
                        LOCK.acquire()
                if method == "PUT":
                    return self.send_json(200, put_network(sid,
                                                           self.body()))
                want("GET")
                return self.send_json(200, network(sid))
            if len(rest) == 4 and rest[0] == "sandboxes" and \
                    rest[2] == "egress":
                sid, verb = rest[1], rest[3]
                if verb == "events":
                    want("GET")
                    return self.send_json(200, events(q, sid), True)
                want("POST")
                if verb in ("allow", "deny", "unallow", "undeny"):
                    return self.send_json(200, change_hosts(sid, verb,
                                                            self.body()))
                if verb in ("enable", "disable"):
                    get_sandbox(sid)["intercept"] = verb == "enable"
                    return self.send_json(200, network(sid))
            if rest == ["ca.pem"]:
                want("GET")
                return self.send_text(200, "<html>not a cert</html>",
                                      "text/html")
            if len(rest) == 3 and rest[0] == "sandboxes" and \
                    rest[2] == "phantom":
                want("GET")
                get_sandbox(rest[1])
                return self.send_json(200, {"token": "abc123"})
            if rest == ["events"]:
                want("GET")
                return self.send_json(200, events(q), True)
            if rest == ["explain"]:
                want("GET")
                return self.send_json(200, explain(q))
            if rest == ["reload"]:
                want("POST")
                return self.send_json(200, reload_config())
            if rest == ["stats"]:
                want("GET")
                return self.send_json(200, stats())
        raise ApiError(404, "no route %s" % path)


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    token = None


class TcpServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    token = None


def serve(args):
    Handler.verbose = args.verbose
    with open(args.token_file) as f:
        token = f.read().rstrip()
    if os.path.exists(args.socket):
        os.unlink(args.socket)
    us = UnixServer(args.socket, Handler)
    ts = TcpServer(("127.0.0.1", 0), Handler)
    ts.token = token
    for s in (us, ts):
        threading.Thread(target=s.serve_forever, daemon=True).start()
    # Written last, atomically: its presence means both are listening.
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % ts.server_address[1])
    os.rename(tmp, args.port_file)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=5)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(self.unix_path)


def client(args):
    c = UnixConnection(args.socket)
    body = args.json.encode() if args.json else None
    headers = {"Content-Type": "application/json"} if body else {}
    c.request(args.method, args.path, body=body, headers=headers)
    r = c.getresponse()
    sys.stdout.write(r.read().decode() + "\n")
    return 0 if r.status == 200 else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--socket", required=True)
    s.add_argument("--token-file", required=True)
    s.add_argument("--port-file", required=True)
    s.add_argument("--verbose", action="store_true")
    c = sub.add_parser("client")
    c.add_argument("--socket", required=True)
    c.add_argument("method")
    c.add_argument("path")
    c.add_argument("json", nargs="?")
    args = ap.parse_args()
    if args.cmd == "serve":
        serve(args)
        return 0
    return client(args)


if __name__ == "__main__":
    sys.exit(main())
