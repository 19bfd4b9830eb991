"""Audit events as objects (docs/audit.md).

The API hands events out as the same JSON objects egressd writes to its
audit file.  :class:`Event` gives each documented field an attribute so
callers get completion and typos fail loudly, while ``raw`` keeps the
object exactly as received: fields a newer egressd adds are never lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, Optional

__all__ = ["Event"]


@dataclass(frozen=True)
class Event:
    """One audit event.

    Every field of docs/audit.md, ``None`` where egressd sent ``null`` or
    left the field out (``would`` exists only on learn events; the byte and
    time counters only on ``end`` events).

    Attributes:
        ts: RFC 3339 UTC with milliseconds, as sent (see :attr:`time`).
        sandbox: sandbox id, ``None`` when the source matched none.
        action: ``allow``, ``deny``, ``end`` or ``error``.
        reason: why (``rule``, ``learn``, ``no-matching-allow``, ``loop``,
            ``revoked``...).
        would: on ``learn`` events, the refusal ``block-all`` would have
            made.
        policy: the deciding policy (inline rules are ``sandbox:ID``).
        rule: the deciding rule text, e.g. ``deny.hosts *.evil.example``.
        proto: ``tls``, ``http``, ``other`` or ``dns``.
        host: SNI or ``Host``, normalized.
        host_verified: ``False`` only when egressd says the host is merely
            what the client claimed (egressd sends the field only then);
            ``True`` otherwise.
        method: HTTP method (HTTP only).
        path: HTTP path without the query string (HTTP only).
        ech: ``True`` when the ClientHello carried encrypted_client_hello.
        src: ``ip:port`` of the client.
        dst: ``ip:port`` of the original destination.
        conn: connection id, shared by the events of one connection.
        bytes_up: client-to-server bytes (``end`` only).
        bytes_down: server-to-client bytes (``end`` only).
        duration_ms: connection lifetime (``end`` only).
        raw: the event object exactly as egressd sent it.
    """

    ts: Optional[str] = None
    sandbox: Optional[str] = None
    action: Optional[str] = None
    reason: Optional[str] = None
    would: Optional[str] = None
    policy: Optional[str] = None
    rule: Optional[str] = None
    proto: Optional[str] = None
    host: Optional[str] = None
    host_verified: bool = True
    method: Optional[str] = None
    path: Optional[str] = None
    ech: Optional[bool] = None
    src: Optional[str] = None
    dst: Optional[str] = None
    conn: Optional[int] = None
    bytes_up: Optional[int] = None
    bytes_down: Optional[int] = None
    duration_ms: Optional[int] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, obj: Dict[str, Any]) -> "Event":
        """Builds an Event from one decoded event object.

        Unknown keys are not an error: they stay in ``raw``, so a client
        older than the daemon keeps working.
        """
        if not isinstance(obj, dict):
            raise TypeError(f"an event is a JSON object, not {type(obj).__name__}")
        known = {
            name: obj.get(name)
            for name in cls.__dataclass_fields__
            if name not in ("raw", "host_verified")
        }
        return cls(**known, host_verified=obj.get("host_verified") is not False,
                   raw=dict(obj))

    @property
    def time(self) -> Optional[datetime]:
        """``ts`` as an aware UTC datetime (``None`` if absent or unreadable)."""
        if not self.ts:
            return None
        try:
            # fromisoformat() before 3.11 does not take a trailing "Z".
            return datetime.fromisoformat(self.ts.replace("Z", "+00:00")).astimezone(timezone.utc)
        except ValueError:
            return None

    def __getitem__(self, key: str) -> Any:
        """``event["x"]`` reads the raw object: handy for new fields."""
        return self.raw[key]
