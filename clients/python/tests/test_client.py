"""The egressd Python client against a real egressd on loopback.

One egressd serves the whole module (tests/daemon.py); tests that change
state work on sandboxes and policies of their own, so their order does
not matter.  Run: python3 -m unittest discover -s clients/python/tests
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from daemon import TOKEN, Daemon, free_port  # noqa: E402

import egressd  # noqa: E402
from egressd import (  # noqa: E402
    BadRequest,
    Conflict,
    Egressd,
    EgressdError,
    Event,
    NotFound,
    Unauthorized,
    Unreachable,
)

D: Daemon


def setUpModule() -> None:
    global D
    D = Daemon()
    try:
        D.start()
    except Exception:
        D.stop()
        raise


def tearDownModule() -> None:
    D.stop()


def client() -> Egressd:
    return Egressd(socket=D.socket)


def wait_events(sb: "egressd.Sandbox", n: int, **kw) -> list:
    """Events reach the API from the audit queue: poll, bounded (5 s)."""
    deadline = time.monotonic() + 5
    while True:
        evs = sb.audit(limit=1000, **kw)
        if len(evs) >= n or time.monotonic() > deadline:
            return evs
        time.sleep(0.05)


class TestRead(unittest.TestCase):
    def test_health(self) -> None:
        self.assertIs(client().health(), True)

    def test_metrics(self) -> None:
        self.assertIn("egressd_build_info", client().metrics())

    def test_sandboxes(self) -> None:
        sbs = {s["id"]: s for s in client().sandboxes()}
        self.assertEqual(sbs["agent-1"]["sources"], ["127.0.0.1/32"])
        self.assertEqual(sbs["ci-runner"]["intercept"], False)
        self.assertEqual(sbs["learner"]["policies"], ["learning"])

    def test_network(self) -> None:
        n = client().sandbox("agent-1").network()
        self.assertEqual(n["mode"], "block-all")
        self.assertIn("pypi.org", n["egress"]["allowed_domains"])
        self.assertIn("169.254.169.254/32", n["egress"]["denied_cidrs"])

    def test_stats(self) -> None:
        s = client().stats()
        self.assertIn("generation", s)
        self.assertIn("deny", s["connections"])

    def test_explain(self) -> None:
        c = client()
        e = c.explain("agent-1", "pypi.org")
        self.assertEqual((e["action"], e["reason"], e["port"]), ("allow", "rule", 443))
        self.assertEqual(e["rule"], "allow.hosts pypi.org")
        e = c.explain("agent-1", "pypi.org", port=22)
        self.assertEqual((e["action"], e["reason"]), ("deny", "port-not-allowed"))
        e = c.sandbox("agent-1").explain("nope.example", 8080)
        self.assertEqual(e["reason"], "no-matching-allow")
        self.assertIsNone(e["rule"])

    def test_explain_query_escaped(self) -> None:
        # '&' must stay inside the host value, not start a parameter.
        with self.assertRaises(BadRequest) as cm:
            client().explain("agent-1", "a b&port=1")
        self.assertIn('host "a b&port=1"', cm.exception.message)


class TestEgress(unittest.TestCase):
    """allow / deny / unallow / undeny / enable / disable on a sandbox
    made through the API for this class."""

    ID = "py-egress"

    @classmethod
    def setUpClass(cls) -> None:
        cls.sb = client().sandbox(cls.ID)
        n = cls.sb.set_network(mode="block-all", sources=["127.0.0.10/32"],
                               allowed_domains=["first.example"], policies=[])
        assert n["source"] == "api", n

    @classmethod
    def tearDownClass(cls) -> None:
        cls.sb.delete()

    def eg(self) -> dict:
        return self.sb.network()["egress"]

    def test_allow_deny_unallow(self) -> None:
        n = self.sb.egress.allow(["pypi.org", "*.pythonhosted.org"])
        self.assertIn("*.pythonhosted.org", n["egress"]["allowed_domains"])
        self.assertEqual(client().explain(self.ID, "a.pythonhosted.org")["action"], "allow")
        # One string is one host, not a list of characters.
        n = self.sb.egress.allow("single.example")
        self.assertIn("single.example", n["egress"]["allowed_domains"])
        n = self.sb.egress.deny(["pypi.org"])
        self.assertIn("pypi.org", n["egress"]["denied_domains"])
        self.assertNotIn("pypi.org", n["egress"]["allowed_domains"])
        self.assertEqual(client().explain(self.ID, "pypi.org")["reason"], "denied-by-rule")
        n = self.sb.egress.unallow(["*.pythonhosted.org", "single.example"])
        self.assertNotIn("*.pythonhosted.org", n["egress"]["allowed_domains"])
        self.assertNotIn("single.example", self.eg()["allowed_domains"])

    def test_undeny(self) -> None:
        self.sb.egress.deny(["undeny.example"])
        try:
            n = self.sb.egress.undeny(["undeny.example"])
        except NotFound as e:
            if e.no_such_route:
                self.skipTest("this egressd has no POST .../egress/undeny "
                              f"(answered 404 {e.message!r})")
            raise
        self.assertNotIn("undeny.example", n["egress"]["denied_domains"])

    def test_enable_disable(self) -> None:
        self.assertIs(self.sb.egress.disable()["intercept"], False)
        self.assertEqual(client().explain(self.ID, "x.example")["reason"], "intercept-off")
        self.assertIs(self.sb.egress.enable()["intercept"], True)
        self.assertEqual(client().explain(self.ID, "x.example")["action"], "deny")

    def test_bad_host(self) -> None:
        with self.assertRaises(BadRequest) as cm:
            self.sb.egress.allow(["https://pypi.org/simple"])
        self.assertEqual(cm.exception.status, 400)
        self.assertIn("hosts are hostnames, not URLs", cm.exception.message)

    def test_unknown_sandbox(self) -> None:
        with self.assertRaises(NotFound) as cm:
            client().sandbox("ghost").egress.allow(["a.example"])
        self.assertEqual(cm.exception.status, 404)
        self.assertEqual(cm.exception.message, 'no sandbox "ghost"')
        self.assertFalse(cm.exception.no_such_route)


class TestNetwork(unittest.TestCase):
    def test_set_network_and_delete(self) -> None:
        sb = client().sandbox("py-net")
        n = sb.set_network(mode="block-all", sources=["127.0.0.11/32"], policies=[],
                           allowed_domains=["a.example"], denied_domains=["b.example"],
                           allowed_cidrs=["192.0.2.0/24"], denied_cidrs=["192.0.2.7/32"],
                           allowed_ports=[443, "8000-8100"], denied_ports=[25])
        self.assertEqual(n["id"], "py-net")
        self.assertEqual(n["egress"]["allowed_ports"], [443, "8000-8100"])
        self.assertEqual(n["egress"]["denied_cidrs"], ["192.0.2.7/32"])
        self.assertIn("py-net", [s["id"] for s in client().sandboxes()])
        # Lists left out are emptied; mode stays unless given.
        n = sb.set_network(allowed_domains=["c.example"])
        self.assertEqual(n["egress"]["allowed_domains"], ["c.example"])
        self.assertEqual(n["egress"]["denied_domains"], [])
        self.assertEqual(n["mode"], "block-all")
        n = sb.set_network(mode="allow-all", intercept=False)
        self.assertEqual((n["mode"], n["intercept"]), ("allow-all", False))
        self.assertEqual(sb.delete(), {"id": "py-net", "deleted": "sandbox"})
        with self.assertRaises(NotFound):
            sb.network()
        with self.assertRaises(NotFound):
            sb.delete()

    def test_delete_config_sandbox_drops_api_changes(self) -> None:
        sb = client().sandbox("ci-runner")
        sb.egress.allow(["extra.github.example"])
        self.assertEqual({s["id"]: s["source"] for s in client().sandboxes()}["ci-runner"], "api")
        self.assertEqual(sb.delete(), {"id": "ci-runner", "deleted": "api-changes"})
        self.assertNotIn("extra.github.example", sb.network()["egress"]["allowed_domains"])

    def test_invalid_network(self) -> None:
        with self.assertRaises(BadRequest) as cm:
            client().sandbox("py-bad").set_network(mode="sometimes", sources=["127.0.0.12/32"])
        self.assertIn("mode", cm.exception.message)
        self.assertTrue(cm.exception.details)
        with self.assertRaises(NotFound):
            client().sandbox("py-bad").network()


class TestAudit(unittest.TestCase):
    """Real events: DNS queries through the filter from this class's own
    sandbox (source 127.0.0.20), and a connection straight to the listener
    (denied ``loop``)."""

    ID = "py-audit"
    SRC = "127.0.0.20"

    @classmethod
    def setUpClass(cls) -> None:
        cls.sb = client().sandbox(cls.ID)
        cls.sb.set_network(sources=[cls.SRC + "/32"], policies=[],
                           allowed_domains=["ok.example"])
        D.dns("ok.example", cls.SRC)
        D.dns("nope.example", cls.SRC)
        D.connect_listener(cls.SRC)
        cls.events = wait_events(cls.sb, 3)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.sb.delete()

    def test_events(self) -> None:
        evs = self.events
        self.assertEqual(len(evs), 3, evs)
        self.assertTrue(all(isinstance(e, Event) for e in evs))
        self.assertTrue(all(e.sandbox == self.ID for e in evs))
        # Newest first.
        self.assertEqual([e.reason for e in evs], ["loop", "no-matching-allow", "rule"])
        ok = evs[2]
        self.assertEqual((ok.action, ok.proto, ok.host, ok.policy),
                         ("allow", "dns", "ok.example", "sandbox:" + self.ID))
        self.assertEqual(ok.rule, "allow.hosts ok.example")
        self.assertTrue(ok.src.startswith(self.SRC + ":"))
        self.assertIsNone(ok.path)
        self.assertIsNone(ok.method)
        self.assertIs(ok.host_verified, True)
        self.assertIsInstance(ok.conn, int)
        self.assertEqual(ok.time.year, int(ok.ts[:4]))
        loop = evs[0]
        self.assertEqual((loop.action, loop.proto, loop.host), ("deny", "other", None))
        self.assertEqual(loop.dst, f"127.0.0.1:{D.lport}")
        self.assertEqual(loop.raw["reason"], "loop")
        self.assertEqual(loop["src"], loop.src)

    def test_limit_and_action(self) -> None:
        self.assertEqual([e.reason for e in self.sb.audit(limit=1)], ["loop"])
        self.assertEqual([e.host for e in self.sb.audit(action="allow")], ["ok.example"])
        self.assertEqual(len(self.sb.audit(action="deny")), 2)

    def test_all_sandboxes(self) -> None:
        evs = client().events(limit=1000)
        self.assertTrue({e.sandbox for e in evs} >= {self.ID})
        self.assertTrue(all(e.action == "deny" for e in client().events(action="deny")))

    def test_bad_action(self) -> None:
        with self.assertRaises(BadRequest) as cm:
            self.sb.audit(action="permit")
        self.assertIn("action must be", cm.exception.message)

    def test_unknown_sandbox(self) -> None:
        with self.assertRaises(NotFound):
            client().sandbox("ghost").audit()


class TestEventObject(unittest.TestCase):
    def test_unknown_and_missing_fields(self) -> None:
        raw = {"ts": "2026-01-02T03:04:05.678Z", "sandbox": "s", "action": "end",
               "reason": None, "bytes_up": 10, "bytes_down": 20, "duration_ms": 5,
               "host_verified": False, "future_field": {"x": 1}}
        e = Event.from_json(raw)
        self.assertEqual((e.bytes_up, e.bytes_down, e.duration_ms), (10, 20, 5))
        self.assertIs(e.host_verified, False)
        self.assertIsNone(e.would)
        self.assertEqual(e.raw["future_field"], {"x": 1})
        self.assertEqual(e.time.microsecond, 678000)
        self.assertFalse(hasattr(e, "future_field"))


class TestSuggest(unittest.TestCase):
    def test_suggest(self) -> None:
        sb = client().sandbox("learner")  # mode: learn, source 127.0.0.4
        for n in ("a.learn.example", "b.learn.example", "c.learn.example", "once.example"):
            D.dns(n, "127.0.0.4")
        wait_events(sb, 4)
        s = sb.suggest()
        hosts = {h["host"]: h["count"] for h in s["hosts"]}
        self.assertEqual(hosts.get("*.learn.example"), 3, s)
        self.assertEqual(hosts.get("once.example"), 1, s)
        self.assertEqual(set(s), {"hosts", "cidrs", "ports"})
        with self.assertRaises(NotFound):
            client().sandbox("ghost").suggest()


class TestSession(unittest.TestCase):
    def test_session(self) -> None:
        sb = client().sandbox("agent-1")
        with self.assertRaises(NotFound):
            sb.session.get()
        s = sb.session.set(allowed_domains=["pypi.org"], ttl_s=600, mode="block-all")
        try:
            self.assertEqual(s["egress"]["allowed_domains"], ["pypi.org"])
            self.assertEqual(s["ttl_s"], 600)
            got = sb.session.get()
            self.assertLessEqual(got["expires_in_s"], 600)
            self.assertGreater(got["expires_in_s"], 500)
            # The session narrows: allowed by agent-1's policy, not by it.
            e = client().explain("agent-1", "files.pythonhosted.org")
            self.assertEqual(e["action"], "deny", e)
            self.assertEqual(client().explain("agent-1", "pypi.org")["action"], "allow")
        finally:
            self.assertEqual(sb.session.clear(), {"id": "agent-1", "session": "cleared"})
        with self.assertRaises(NotFound):
            sb.session.clear()
        self.assertEqual(client().explain("agent-1", "files.pythonhosted.org")["action"], "allow")

    def test_bad_ttl(self) -> None:
        with self.assertRaises(BadRequest) as cm:
            client().sandbox("agent-1").session.set(ttl_s=0, allowed_domains=["pypi.org"])
        self.assertIn("ttl_s", cm.exception.message)


class TestPolicies(unittest.TestCase):
    def test_list_and_get_config_policy(self) -> None:
        c = client()
        pols = {p["name"]: p for p in c.policies()}
        self.assertEqual(pols["agent"]["source"], "config")
        self.assertIn("agent-1", pols["agent"]["sandboxes"])
        p = c.policy("agent").get()
        self.assertEqual(p["policy"]["profiles"], ["package-managers"])

    def test_put_use_conflict_delete(self) -> None:
        c = client()
        pol = c.policy("py-pol")
        got = pol.put({"mode": "block-all", "allow": {"hosts": ["pol.example"]}})
        self.assertEqual((got["name"], got["source"]), ("py-pol", "api"))
        self.assertEqual(pol.get()["policy"]["allow"]["hosts"], ["pol.example"])
        sb = c.sandbox("py-poluser")
        sb.set_network(sources=["127.0.0.30/32"], policies=["py-pol"])
        try:
            self.assertEqual(c.explain("py-poluser", "pol.example")["action"], "allow")
            # A PUT re-judges its users at once.
            pol.put({"allow": {"hosts": ["other.example"]}})
            self.assertEqual(c.explain("py-poluser", "pol.example")["action"], "deny")
            with self.assertRaises(Conflict) as cm:
                pol.delete()
            self.assertEqual(cm.exception.status, 409)
            self.assertEqual(cm.exception.sandboxes, ["py-poluser"])
        finally:
            sb.delete()
        self.assertEqual(pol.delete(), {"deleted": "py-pol", "config_policy_back": False})
        with self.assertRaises(NotFound):
            pol.get()
        with self.assertRaises(NotFound):
            pol.delete()

    def test_config_policy_not_deletable(self) -> None:
        with self.assertRaises(Conflict) as cm:
            client().policy("ci").delete()
        self.assertIn("config file", cm.exception.message)

    def test_invalid_policy(self) -> None:
        with self.assertRaises(BadRequest) as cm:
            client().policy("py-bad").put({"mode": "nope", "allow": {"hosts": ["https://x"]}})
        e = cm.exception
        self.assertEqual(e.status, 400)
        self.assertEqual(len(e.details), 2, e.details)
        self.assertTrue(any("hosts are hostnames" in d for d in e.details))
        self.assertIn("hosts are hostnames", str(e))
        with self.assertRaises(NotFound):
            client().policy("py-bad").get()


class TestInterception(unittest.TestCase):
    """The CA and the phantom tokens (this egressd has no tls_intercept)."""

    def test_ca_pem_not_configured(self) -> None:
        with self.assertRaises(NotFound) as cm:
            client().ca_pem()
        self.assertIn("tls_intercept", cm.exception.message)
        self.assertFalse(cm.exception.no_such_route)

    def test_phantom_get_rotate(self) -> None:
        c = client()
        tok = c.phantom("agent-1")
        self.assertRegex(tok, r"^[0-9a-f]{64}$")
        self.assertEqual(c.sandbox("agent-1").phantom(), tok)
        new = c.phantom("agent-1", rotate=True)
        self.assertRegex(new, r"^[0-9a-f]{64}$")
        self.assertNotEqual(new, tok)
        self.assertEqual(c.phantom("agent-1"), new)

    def test_phantom_unknown_sandbox(self) -> None:
        for rotate in (False, True):
            with self.assertRaises(NotFound) as cm:
                client().phantom("ghost", rotate=rotate)
            self.assertEqual(cm.exception.message, 'no sandbox "ghost"')

    def test_phantom_gone_with_its_sandbox(self) -> None:
        sb = client().sandbox("py-phantom")
        sb.set_network(mode="block-all", sources=["127.0.0.12/32"], policies=[])
        tok = sb.phantom()
        sb.delete()
        with self.assertRaises(NotFound):
            sb.phantom()
        sb.set_network(mode="block-all", sources=["127.0.0.12/32"], policies=[])
        try:
            self.assertNotEqual(sb.phantom(), tok)
        finally:
            sb.delete()


class TestReload(unittest.TestCase):
    def test_reload(self) -> None:
        r = client().reload()
        self.assertIs(r["reloaded"], True)
        self.assertEqual(client().reload()["generation"], r["generation"] + 1)

    def test_reload_rejected(self) -> None:
        with open(D.config) as f:
            good = f.read()
        try:
            D.write_config('lisen: ["127.0.0.1:1"]\n')
            with self.assertRaises(BadRequest) as cm:
                client().reload()
            self.assertIn('unknown key "lisen"', cm.exception.message)
            self.assertTrue(any(d.startswith(D.config + ":") for d in cm.exception.details),
                            cm.exception.details)
        finally:
            with open(D.config, "w") as f:
                f.write(good)
        self.assertIs(client().reload()["reloaded"], True)


class TestTransport(unittest.TestCase):
    def test_tcp_token(self) -> None:
        c = Egressd(url=D.url, token=TOKEN)
        self.assertIn("agent-1", [s["id"] for s in c.sandboxes()])
        # Token file with trailing newlines; a trailing slash on the URL.
        c = Egressd(url=D.url + "/", token_file=D.token_file)
        self.assertIs(c.health(), True)
        self.assertEqual(c.sandbox("agent-1").network()["id"], "agent-1")

    def test_bad_token(self) -> None:
        with self.assertRaises(Unauthorized) as cm:
            Egressd(url=D.url, token="wrong-token-0123456789").sandboxes()
        self.assertEqual(cm.exception.status, 401)
        self.assertEqual(cm.exception.message, "missing or invalid token")
        with self.assertRaises(Unauthorized):
            Egressd(url=D.url).stats()

    def test_env_socket(self) -> None:
        old = os.environ.get("EGRESSD_SOCKET")
        os.environ["EGRESSD_SOCKET"] = D.socket
        try:
            self.assertEqual(Egressd().socket, D.socket)
            self.assertIs(Egressd().health(), True)
        finally:
            if old is None:
                del os.environ["EGRESSD_SOCKET"]
            else:
                os.environ["EGRESSD_SOCKET"] = old

    def test_default_socket(self) -> None:
        old = os.environ.pop("EGRESSD_SOCKET", None)
        try:
            self.assertEqual(Egressd().socket, "/run/egressd/admin.sock")
        finally:
            if old is not None:
                os.environ["EGRESSD_SOCKET"] = old

    def test_missing_socket(self) -> None:
        path = os.path.join(D.tmp, "nope.sock")
        with self.assertRaises(Unreachable) as cm:
            Egressd(socket=path).sandboxes()
        self.assertIsNone(cm.exception.status)
        self.assertIn(f"cannot connect to {path}: No such file or directory", str(cm.exception))

    def test_refused(self) -> None:
        port = free_port()
        with self.assertRaises(Unreachable) as cm:
            Egressd(url=f"http://127.0.0.1:{port}", token=TOKEN).sandboxes()
        self.assertIn("Connection refused", cm.exception.message)

    def test_timeout(self) -> None:
        # A listener that accepts (the kernel does) and never answers.
        with socket.socket() as ls:
            ls.bind(("127.0.0.1", 0))
            ls.listen(1)
            url = "http://127.0.0.1:%d" % ls.getsockname()[1]
            with self.assertRaises(Unreachable) as cm:
                Egressd(url=url, token=TOKEN, timeout=0.3).health()
            self.assertIn("timed out", cm.exception.message)

    def test_closed_without_answer(self) -> None:
        with socket.socket() as ls:
            ls.bind(("127.0.0.1", 0))
            ls.listen(1)

            def serve() -> None:
                c, _ = ls.accept()
                c.recv(65536)
                c.close()

            t = threading.Thread(target=serve)
            t.start()
            url = "http://127.0.0.1:%d" % ls.getsockname()[1]
            try:
                with self.assertRaises(Unreachable) as cm:
                    Egressd(url=url, token=TOKEN, timeout=3).stats()
            finally:
                t.join(5)
            self.assertIn("without an answer", cm.exception.message)

    def test_no_such_route(self) -> None:
        with self.assertRaises(NotFound) as cm:
            client().request("GET", "/api/v1/nothing")
        self.assertTrue(cm.exception.no_such_route)

    def test_method_not_allowed(self) -> None:
        with self.assertRaises(BadRequest) as cm:
            client().request("DELETE", "/api/v1/stats")
        self.assertEqual(cm.exception.status, 405)

    def test_error_hierarchy(self) -> None:
        for cls in (BadRequest, Conflict, NotFound, Unauthorized, Unreachable,
                    egressd.BadResponse):
            self.assertTrue(issubclass(cls, EgressdError))

    def test_argument_errors(self) -> None:
        with self.assertRaises(ValueError):
            Egressd(socket="/x", url="http://127.0.0.1:1")
        with self.assertRaises(ValueError):
            Egressd(socket="/x", token=TOKEN)
        with self.assertRaises(ValueError):
            Egressd(url="ftp://x")
        with self.assertRaises(ValueError):
            Egressd(url="http://127.0.0.1:99999")
        with self.assertRaises(ValueError):
            Egressd(url=D.url, token="has space")
        with self.assertRaises(ValueError):
            Egressd(url=D.url, token_file=os.path.join(D.tmp, "nope"))
        # An id holding '/' would reach another route (egressd decodes the
        # path before splitting it): refused before any request.
        with self.assertRaises(ValueError):
            client().sandbox("agent-1/session")
        with self.assertRaises(ValueError):
            client().sandbox("")
        with self.assertRaises(ValueError):
            client().policy("a/b")


if __name__ == "__main__":
    unittest.main()
