"""The egressd admin API client (docs/admin.md), standard library only.

Design choices, and why:

* One HTTP/1.1 request per connection (``Connection: close``), like
  egressctl.  egressd serves the admin API on its main thread with a small
  cap on open connections (64 per listener, 8 per source address over
  TCP); a client that keeps idle connections open would eat into that for
  every other caller.  Connecting to a local socket costs microseconds.
* No retries.  Every mutating route changes persistent state; whether a
  retry is safe is the caller's call, and :class:`~egressd.Unreachable`
  tells it that nothing was answered.
* Results are the decoded JSON (dicts and lists) except audit events,
  which become :class:`~egressd.Event`.  The API's shapes are documented
  and grow over time; plain dicts never drop a field a newer egressd adds.
"""

from __future__ import annotations

import http.client
import json
import os
import socket as _socket
from typing import Any, Dict, Iterable, List, Mapping, Optional, Union
from urllib.parse import quote, urlencode, urlsplit

from . import __version__
from .errors import (
    BadRequest,
    BadResponse,
    Conflict,
    EgressdError,
    NotFound,
    Unauthorized,
    Unreachable,
)
from .events import Event

__all__ = ["Egressd", "Sandbox", "Egress", "Session", "Policy", "DEFAULT_SOCKET"]

#: Where egressd's packaging puts the admin socket.
DEFAULT_SOCKET = "/run/egressd/admin.sock"

JSON = Any
Hosts = Union[str, Iterable[str]]
Ports = Iterable[Union[int, str]]


class _UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over an AF_UNIX stream socket.

    http.client only knows TCP; overriding ``connect`` is the smallest
    change that keeps all of its request framing and response parsing.
    The Host header stays ``localhost`` (egressd ignores it on the socket).
    """

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            s.settimeout(self.timeout)
            s.connect(self.unix_path)
        except BaseException:
            s.close()
            raise
        self.sock = s


def _segment(value: str, what: str) -> str:
    """One path segment (a sandbox id, a policy name), percent-encoded.

    egressd decodes the whole path before it splits it on ``/``, so an id
    holding a ``/`` would not stay one segment: ``a/session`` would reach
    another route of sandbox ``a``.  Refusing it here is the only safe
    answer; egressd's ids never contain one anyway.
    """
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, not {type(value).__name__}")
    if value == "" or "/" in value:
        raise ValueError(f"{what} {value!r}: must be non-empty and contain no '/'")
    return quote(value, safe="")


def _host_list(hosts: Hosts) -> List[str]:
    """A list of host names from a list, or from one name.

    ``allow("pypi.org")`` is an easy mistake; iterating a string would
    send one host per character, so a lone string is one host.
    """
    if isinstance(hosts, str):
        return [hosts]
    out = list(hosts)
    for h in out:
        if not isinstance(h, str):
            raise TypeError(f"hosts must be strings, not {type(h).__name__}")
    return out


def _check_token(token: str) -> str:
    """The token goes verbatim into a header: refuse what would break it."""
    if token == "" or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in token):
        raise ValueError("the token must be non-empty, without blanks or control characters")
    return token


def _egress_body(
    allowed_domains: Optional[Hosts],
    denied_domains: Optional[Hosts],
    allowed_cidrs: Optional[Iterable[str]],
    denied_cidrs: Optional[Iterable[str]],
    allowed_ports: Optional[Ports],
    denied_ports: Optional[Ports],
) -> Dict[str, List[Any]]:
    eg: Dict[str, List[Any]] = {}
    for key, val in (
        ("allowed_domains", allowed_domains),
        ("denied_domains", denied_domains),
        ("allowed_cidrs", allowed_cidrs),
        ("denied_cidrs", denied_cidrs),
        ("allowed_ports", allowed_ports),
        ("denied_ports", denied_ports),
    ):
        if val is not None:
            eg[key] = _host_list(val) if key.endswith("domains") else list(val)
    return eg


class Egressd:
    """A handle on one egressd's admin API.

    Either the unix socket (trusted by its file mode, no token) or the TCP
    listener (``Authorization: Bearer TOKEN``)::

        Egressd()                                   # $EGRESSD_SOCKET or /run/egressd/admin.sock
        Egressd(socket="/run/egressd/admin.sock")
        Egressd(url="http://127.0.0.1:15000", token_file="/etc/egressd/admin.token")

    Nothing is contacted until the first call, so building one never
    fails for a daemon that is down.

    Args:
        socket: path of the admin unix socket.
        url: ``http://HOST[:PORT][/PREFIX]`` of the TCP listener; a
            ``/PREFIX`` goes in front of every API path (a daemon behind a
            reverse proxy).  ``https://`` is accepted for a TLS-terminating
            proxy in front of egressd (egressd itself speaks plain HTTP).
        token: the bearer token (TCP only).
        token_file: a file holding it; trailing blanks and newlines are
            removed, as egressctl does.  Read again on every request, so a
            long-lived client follows a rotated token.
        timeout: seconds for connecting and for each read.
    """

    def __init__(
        self,
        socket: Optional[str] = None,
        url: Optional[str] = None,
        token: Optional[str] = None,
        token_file: Optional[str] = None,
        timeout: float = 10.0,
    ) -> None:
        if socket is not None and url is not None:
            raise ValueError("give socket or url, not both")
        if token is not None and token_file is not None:
            raise ValueError("give token or token_file, not both")
        if url is None and (token is not None or token_file is not None):
            # The socket takes no token: sending one there suggests the
            # caller meant the TCP listener and would be surprised.
            raise ValueError("a token is for the TCP listener (url=...); the unix socket takes none")
        self.timeout = float(timeout)
        self._token = _check_token(token) if token is not None else None
        self._token_file = token_file
        self.socket: Optional[str] = None
        self.url: Optional[str] = None
        self._prefix = ""
        if url is None:
            self.socket = socket or os.environ.get("EGRESSD_SOCKET") or DEFAULT_SOCKET
            self.target = self.socket
        else:
            u = urlsplit(url)
            if u.scheme not in ("http", "https"):
                raise ValueError(f"url {url!r}: only http:// (or https:// through a proxy)")
            if not u.hostname or u.query or u.fragment or u.username or u.password:
                raise ValueError(f"url {url!r}: want scheme://HOST[:PORT][/PREFIX]")
            try:
                port = u.port
            except ValueError as e:
                raise ValueError(f"url {url!r}: {e}") from None
            self._https = u.scheme == "https"
            self._host = u.hostname
            self._port = port or (443 if self._https else 80)
            self._prefix = u.path.rstrip("/")
            self.url = url
            self.target = url
        if self._token_file is not None:
            self._read_token()  # fail now, not at the first request

    def __repr__(self) -> str:
        return f"Egressd({'url' if self.url else 'socket'}={self.target!r})"

    # ------------------------------------------------------------ transport

    def _read_token(self) -> str:
        assert self._token_file is not None
        try:
            with open(self._token_file, encoding="utf-8") as f:
                tok = f.read().rstrip(" \t\r\n")
        except OSError as e:
            raise ValueError(f"token file {self._token_file}: {e.strerror or e}") from None
        try:
            return _check_token(tok)
        except ValueError as e:
            raise ValueError(f"token file {self._token_file}: {e}") from None

    def _connection(self) -> http.client.HTTPConnection:
        if self.socket is not None:
            return _UnixHTTPConnection(self.socket, self.timeout)
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=self.timeout)
        return http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)

    def request(
        self,
        method: str,
        path: str,
        body: Optional[JSON] = None,
        query: Optional[Mapping[str, Any]] = None,
        raw: bool = False,
    ) -> Any:
        """Sends one request and returns the decoded JSON answer.

        The building block of every method here, public so that a route
        this client does not wrap yet is still one call away::

            client.request("GET", "/api/v1/sandboxes/agent-1/network")

        Args:
            method: ``GET``, ``POST``, ``PUT`` or ``DELETE``.
            path: the API path (the URL's ``/PREFIX`` is added).
            body: sent as compact JSON when not ``None``.
            query: query parameters; ``None`` values are left out.
            raw: return the body as text instead of decoding JSON
                (``/healthz``, ``/metrics``).

        Raises:
            Unreachable: nothing answered.
            BadResponse: the answer is not HTTP, or not JSON when JSON was
                expected.
            EgressdError: egressd refused (the subclass says how).
        """
        if query:
            q = {k: v for k, v in query.items() if v is not None}
            if q:
                path += "?" + urlencode(q, quote_via=quote)
        headers = {
            "Accept": "application/json",
            "User-Agent": f"egressd-python/{__version__}",
            "Connection": "close",
        }
        data: Optional[bytes] = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = "application/json"
        elif method in ("POST", "PUT"):
            data = b""  # egressd wants a Content-Length on every body
        if self.url is not None:
            tok = self._read_token() if self._token_file is not None else self._token
            if tok is not None:
                headers["Authorization"] = "Bearer " + tok

        conn = self._connection()
        try:
            try:
                conn.connect()
            except OSError as e:
                raise Unreachable(f"cannot connect to {self.target}: {_why(e)}") from e
            try:
                conn.request(method, self._prefix + path, body=data, headers=headers)
                resp = conn.getresponse()
                payload = resp.read()
            except http.client.RemoteDisconnected as e:
                raise Unreachable(f"{self.target} closed the connection without an answer") from e
            except OSError as e:
                raise Unreachable(f"no answer from {self.target}: {_why(e)}") from e
            except http.client.HTTPException as e:
                raise BadResponse(f"bad response from {self.target}: {e!r}") from e
        finally:
            conn.close()
        return self._answer(resp.status, payload, raw)

    def _answer(self, status: int, payload: bytes, raw: bool) -> Any:
        text = payload.decode("utf-8", errors="replace")
        if 200 <= status < 300:
            if raw:
                return text
            try:
                return json.loads(text)
            except ValueError:
                raise BadResponse(
                    f"bad response from {self.target}: not JSON: {_first_line(text)!r}",
                    status=status,
                    body=text,
                ) from None
        body: Any = text
        message = f"{self.target} answered HTTP {status}"
        details: List[str] = []
        try:
            body = json.loads(text)
        except ValueError:
            if text.strip():
                message += ": " + _first_line(text)
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            message = body["error"]
            if isinstance(body.get("errors"), list):
                details = [str(x) for x in body["errors"]]
        cls = {401: Unauthorized, 404: NotFound, 409: Conflict}.get(status)
        if cls is None:
            cls = BadRequest if 400 <= status < 500 else EgressdError
        raise cls(message, status=status, details=details, body=body)

    # ------------------------------------------------------------ handles

    def sandbox(self, id: str) -> "Sandbox":
        """A handle on sandbox ``id`` (no request is made until you call
        one of its methods; a sandbox is created by ``set_network``)."""
        return Sandbox(self, id)

    def policy(self, name: str) -> "Policy":
        """A handle on the named policy ``name``."""
        return Policy(self, name)

    # ------------------------------------------------------------ routes

    def sandboxes(self) -> List[Dict[str, Any]]:
        """``GET /api/v1/sandboxes``: ``[{"id", "sources", "policies",
        "intercept", "source"}]``; ``source`` is ``config`` or ``api``."""
        return self.request("GET", "/api/v1/sandboxes")

    def policies(self) -> List[Dict[str, Any]]:
        """``GET /api/v1/policies``: ``[{"name", "source", "sandboxes"}]``."""
        return self.request("GET", "/api/v1/policies")

    def explain(self, sandbox: str, host: str, port: int = 443) -> Dict[str, Any]:
        """``GET /api/v1/explain``: how egressd would judge ``host:port``
        for ``sandbox`` right now (port 443 is judged as TLS, 80 as HTTP):
        ``{"sandbox", "host", "port", "action", "reason", "policy", "rule",
        "note"}``; absent keys are filled with ``None``."""
        ans = self.request(
            "GET", "/api/v1/explain", query={"sandbox": sandbox, "host": host, "port": port}
        )
        if isinstance(ans, dict):
            for k in ("policy", "rule", "note"):
                ans.setdefault(k, None)
        return ans

    def events(self, limit: Optional[int] = 20, action: Optional[str] = None) -> List[Event]:
        """``GET /api/v1/events``: the newest events of every sandbox,
        newest first.  ``action`` keeps one of allow, deny, end, error;
        ``limit=None`` takes egressd's default."""
        return _events(self.request("GET", "/api/v1/events",
                                    query={"limit": limit, "action": action}))

    def stats(self) -> Dict[str, Any]:
        """``GET /api/v1/stats``: egressd's counters as nested JSON."""
        return self.request("GET", "/api/v1/stats")

    def reload(self) -> Dict[str, Any]:
        """``POST /api/v1/reload``: re-read the config file, as SIGHUP does.

        Returns ``{"reloaded": True, "generation": N}``.  An invalid file
        raises :class:`BadRequest` with every error in ``.details``; the
        running policy stays in force.
        """
        return self.request("POST", "/api/v1/reload")

    def health(self) -> bool:
        """``GET /healthz``: ``True`` when egressd answers ``ok``.

        Raises like every other call (:class:`Unreachable` when it is
        down) instead of returning ``False``, so the reason is not lost.
        """
        text = self.request("GET", "/healthz", raw=True)
        if text.strip() != "ok":
            raise BadResponse(f"bad response from {self.target}: /healthz said {text!r}",
                              status=200, body=text)
        return True

    def metrics(self) -> str:
        """``GET /metrics``: the Prometheus text exposition, as text."""
        return self.request("GET", "/metrics", raw=True)

    def ca_pem(self) -> str:
        """``GET /api/v1/ca.pem``: the CA certificate of ``tls_intercept``
        (PEM), the one the sandboxes' trust stores must hold for HTTPS
        interception.  :class:`NotFound` when interception is not
        configured."""
        pem = self.request("GET", "/api/v1/ca.pem", raw=True)
        if not pem.startswith("-----BEGIN CERTIFICATE-----"):
            raise BadResponse(f"bad response from {self.target}: /api/v1/ca.pem is not a "
                              f"PEM certificate: {_first_line(pem)!r}", status=200, body=pem)
        return pem

    def phantom(self, id: str, rotate: bool = False) -> str:
        """Sandbox ``id``'s phantom token (64 hex digits): ``GET
        .../phantom`` (made on first use), or with ``rotate`` ``POST
        .../phantom/rotate``: a new one, the old one stops working at
        once.  The sandbox presents it where the API key would go; egressd
        swaps in the secret of a credential marked ``phantom: true``.
        :class:`NotFound` for an unknown sandbox."""
        base = "/api/v1/sandboxes/" + _segment(id, "sandbox id") + "/phantom"
        if rotate:
            ans = self.request("POST", base + "/rotate")
        else:
            ans = self.request("GET", base)
        tok = ans.get("token") if isinstance(ans, dict) else None
        if not isinstance(tok, str) or len(tok) != 64:
            raise BadResponse(f"bad response from {self.target}: no phantom token",
                              status=200, body=ans)
        return tok


class Sandbox:
    """One sandbox: its network policy, audit events, suggestions and
    session.  Obtained with :meth:`Egressd.sandbox`."""

    def __init__(self, client: Egressd, id: str) -> None:
        self.client = client
        self.id = id
        self._base = "/api/v1/sandboxes/" + _segment(id, "sandbox id")
        #: allow / deny / unallow / undeny / enable / disable
        self.egress = Egress(self)
        #: a temporary narrowing policy (set / get / clear)
        self.session = Session(self)

    def __repr__(self) -> str:
        return f"Sandbox({self.id!r})"

    def network(self) -> Dict[str, Any]:
        """``GET .../network``: the effective policy: ``{"id", "mode",
        "intercept", "egress": {...}, "sources", "policies", "source",
        "rules"}``."""
        return self.client.request("GET", self._base + "/network")

    def set_network(
        self,
        *,
        mode: Optional[str] = None,
        intercept: Optional[bool] = None,
        allowed_domains: Optional[Hosts] = None,
        denied_domains: Optional[Hosts] = None,
        allowed_cidrs: Optional[Iterable[str]] = None,
        denied_cidrs: Optional[Iterable[str]] = None,
        allowed_ports: Optional[Ports] = None,
        denied_ports: Optional[Ports] = None,
        sources: Optional[Iterable[str]] = None,
        policies: Optional[Iterable[str]] = None,
    ) -> Dict[str, Any]:
        """``PUT .../network``: replace the sandbox's inline policy,
        creating the sandbox if it does not exist.

        The egress lists given replace the inline rules whole: a list left
        out ends up empty.  ``sources`` and ``policies`` (named policies;
        ``[]`` = judged by its inline rules alone) each replace the
        sandbox's list when given; ``mode`` and ``intercept`` left out
        stay as they were.

        There is deliberately no "send back what :meth:`network` returned"
        form: its ``egress`` lists are the *effective* rules (the named
        policies' and profiles' hosts included), so writing them back would
        copy every one of them into the sandbox's inline rules.  To add or
        remove a few hosts use :attr:`egress`.

        Returns the new network object.
        """
        body: Dict[str, Any] = {}
        for key, val in (("mode", mode), ("intercept", intercept)):
            if val is not None:
                body[key] = val
        for key, lst in (("sources", sources), ("policies", policies)):
            if lst is not None:
                body[key] = list(lst)
        eg = _egress_body(allowed_domains, denied_domains, allowed_cidrs,
                          denied_cidrs, allowed_ports, denied_ports)
        if eg:
            body["egress"] = eg
        return self.client.request("PUT", self._base + "/network", body=body)

    def delete(self) -> Dict[str, Any]:
        """``DELETE /api/v1/sandboxes/{id}``: removes a sandbox made through
        the API (its live connections end ``revoked``), or drops the API's
        changes to a config file's sandbox.  Returns ``{"id", "deleted"}``
        with ``deleted`` = ``sandbox`` or ``api-changes``."""
        return self.client.request("DELETE", self._base)

    def audit(self, limit: Optional[int] = 20, action: Optional[str] = None) -> List[Event]:
        """``GET .../egress/events``: this sandbox's newest events, newest
        first (egressd keeps ``audit.memory_events`` per sandbox).

        Args:
            limit: at most this many; ``None`` = egressd's default.
            action: only ``allow``, ``deny``, ``end`` or ``error`` events.
        """
        return _events(self.client.request("GET", self._base + "/egress/events",
                                           query={"limit": limit, "action": action}))

    events = audit

    def suggest(self) -> Dict[str, Any]:
        """``GET .../suggest``: what learn mode let through, as allow rules:
        ``{"hosts": [{"host", "count"}], "cidrs": [...], "ports": [...]}``,
        most used first."""
        return self.client.request("GET", self._base + "/suggest")

    def explain(self, host: str, port: int = 443) -> Dict[str, Any]:
        """Shorthand for :meth:`Egressd.explain` on this sandbox."""
        return self.client.explain(self.id, host, port)

    def phantom(self, rotate: bool = False) -> str:
        """Shorthand for :meth:`Egressd.phantom` on this sandbox."""
        return self.client.phantom(self.id, rotate)


class Egress:
    """The verbs the sandbox-platform SDKs offer on a sandbox's egress.

    Each changes the sandbox's own (inline) rules, is applied to new
    connections at once (live ones it no longer allows end ``revoked``),
    persists across restarts, and returns the sandbox's new network object.
    Hosts are names or wildcards (``*.pythonhosted.org``), never URLs.
    """

    def __init__(self, sandbox: Sandbox) -> None:
        self._sb = sandbox

    def _post(self, verb: str, hosts: Optional[Hosts] = None) -> Dict[str, Any]:
        body = None if hosts is None else {"hosts": _host_list(hosts)}
        return self._sb.client.request("POST", f"{self._sb._base}/egress/{verb}", body=body)

    def allow(self, hosts: Hosts) -> Dict[str, Any]:
        """Add ``hosts`` to the allow list (and take them off the deny list)."""
        return self._post("allow", hosts)

    def deny(self, hosts: Hosts) -> Dict[str, Any]:
        """Add ``hosts`` to the deny list (and take them off the allow list)."""
        return self._post("deny", hosts)

    def unallow(self, hosts: Hosts) -> Dict[str, Any]:
        """Take ``hosts`` off the allow list."""
        return self._post("unallow", hosts)

    def undeny(self, hosts: Hosts) -> Dict[str, Any]:
        """Take ``hosts`` off the deny list (``POST .../egress/undeny``).

        An egressd older than this route answers 404 ``no such route``:
        :class:`NotFound` with ``no_such_route`` true.
        """
        return self._post("undeny", hosts)

    def enable(self) -> Dict[str, Any]:
        """Turn interception on: the sandbox's traffic is filtered."""
        return self._post("enable")

    def disable(self) -> Dict[str, Any]:
        """Turn interception off: traffic passes unfiltered, still audited
        (``allow`` events with reason ``intercept-off``)."""
        return self._post("disable")


class Session:
    """A sandbox's session: one more policy judging it for ``ttl_s``
    seconds, on top of its own (so it can only narrow what the sandbox may
    reach).  Memory only: gone at expiry, on clear and on restart."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sb = sandbox
        self._path = sandbox._base + "/session"

    def set(
        self,
        *,
        ttl_s: int,
        mode: Optional[str] = None,
        allowed_domains: Optional[Hosts] = None,
        denied_domains: Optional[Hosts] = None,
        allowed_cidrs: Optional[Iterable[str]] = None,
        denied_cidrs: Optional[Iterable[str]] = None,
        allowed_ports: Optional[Ports] = None,
        denied_ports: Optional[Ports] = None,
    ) -> Dict[str, Any]:
        """``PUT .../session``: set (or replace) the session.

        ``ttl_s`` has no default on purpose: a narrowing that quietly lasts
        some default time is a surprise either way.  Returns the session
        as :meth:`get` does.
        """
        body: Dict[str, Any] = {"ttl_s": ttl_s}
        if mode is not None:
            body["mode"] = mode
        eg = _egress_body(allowed_domains, denied_domains, allowed_cidrs,
                          denied_cidrs, allowed_ports, denied_ports)
        if eg:
            body["egress"] = eg
        return self._sb.client.request("PUT", self._path, body=body)

    def get(self) -> Dict[str, Any]:
        """``GET .../session``: the session as set, with ``expires_in_s``;
        :class:`NotFound` when there is none."""
        return self._sb.client.request("GET", self._path)

    def clear(self) -> Dict[str, Any]:
        """``DELETE .../session``: end it now; :class:`NotFound` when there
        is none."""
        return self._sb.client.request("DELETE", self._path)


class Policy:
    """A named policy (docs/config.md schema: ``mode``, ``protocols``,
    ``profiles``, ``allow``, ``deny``, ``endpoints``, ``allow_private``,
    ``destination``)."""

    def __init__(self, client: Egressd, name: str) -> None:
        self.client = client
        self.name = name
        self._path = "/api/v1/policies/" + _segment(name, "policy name")

    def __repr__(self) -> str:
        return f"Policy({self.name!r})"

    def get(self) -> Dict[str, Any]:
        """``{"name", "source", "policy": {...}}``; :class:`NotFound` if
        unknown."""
        return self.client.request("GET", self._path)

    def put(self, policy: Mapping[str, Any]) -> Dict[str, Any]:
        """Create or replace the policy; every sandbox using it is judged
        again at once.  An invalid policy raises :class:`BadRequest` with
        the errors in ``.details`` and changes nothing."""
        return self.client.request("PUT", self._path, body=dict(policy))

    def delete(self) -> Dict[str, Any]:
        """Delete a policy set through the API: ``{"deleted",
        "config_policy_back"}``.  :class:`Conflict` while a sandbox still
        names it (``.sandboxes``) or when only the config file defines it."""
        return self.client.request("DELETE", self._path)


def _events(ans: Any) -> List[Event]:
    if not isinstance(ans, list) or not all(isinstance(e, dict) for e in ans):
        raise BadResponse("bad response: events are a JSON list of objects", body=ans)
    return [Event.from_json(e) for e in ans]


def _why(e: OSError) -> str:
    if isinstance(e, _socket.timeout):
        return "timed out"
    return e.strerror or str(e) or type(e).__name__


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0][:200] if lines else ""
