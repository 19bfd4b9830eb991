"""Typed errors for the egressd admin API.

egressd answers every refusal as ``{"error": "..."}`` with a 4xx status
(docs/admin.md).  Callers mostly want to branch on *what kind* of refusal
it was (the sandbox is gone, a policy is still in use, the token is wrong)
rather than parse messages, so each status family gets its own class; the
server's words stay available as ``.message`` for logs and humans.
"""

from __future__ import annotations

from typing import Any, List, Optional

__all__ = [
    "EgressdError",
    "BadRequest",
    "Unauthorized",
    "NotFound",
    "Conflict",
    "Unreachable",
    "BadResponse",
]


class EgressdError(Exception):
    """Base of every error this client raises about egressd.

    Attributes:
        status: the HTTP status egressd answered (``None`` when it did not
            answer at all, see :class:`Unreachable`).
        message: the ``error`` string of egressd's answer, or a description
            of what went wrong on the way.
        details: the ``errors`` list egressd sends with a rejected config
            or policy (every validation message, in the config file's
            words); empty otherwise.
        body: the whole decoded error answer (a dict when it was JSON),
            so fields a newer egressd adds are not lost; for example the
            ``sandboxes`` still using a policy on a 409.
    """

    def __init__(
        self,
        message: str,
        status: Optional[int] = None,
        details: Optional[List[str]] = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.details: List[str] = list(details or [])
        self.body = body

    def __str__(self) -> str:
        head = self.message if self.status is None else f"{self.status}: {self.message}"
        if self.details and self.details != [self.message]:
            return head + "\n" + "\n".join(self.details)
        return head


class BadRequest(EgressdError):
    """egressd refused the request itself (400, 405, 408, 411, 413, 431...).

    Usually a value egressd validated and rejected: a URL where a host name
    belongs, an unknown key, an invalid policy (then ``details`` lists every
    problem).  Retrying the same request will not help.
    """


class Unauthorized(EgressdError):
    """401: the TCP listener wants ``Authorization: Bearer TOKEN`` and the
    token was missing or wrong."""


class NotFound(EgressdError):
    """404: no such sandbox, policy or session, or no such route.

    A route this egressd does not know (an older daemon) is also a 404;
    its message starts with ``no such route`` and :attr:`no_such_route`
    is true, so callers can tell "too old" from "that sandbox is gone".
    """

    @property
    def no_such_route(self) -> bool:
        return self.message.startswith("no such route")


class Conflict(EgressdError):
    """409: the change contradicts the running state, e.g. deleting a
    policy a sandbox still names (``body["sandboxes"]`` lists them) or one
    only the config file defines."""

    @property
    def sandboxes(self) -> List[str]:
        """The sandboxes egressd named as still using the policy, if any."""
        if isinstance(self.body, dict) and isinstance(self.body.get("sandboxes"), list):
            return list(self.body["sandboxes"])
        return []


class Unreachable(EgressdError):
    """egressd did not answer: socket missing, connection refused, timeout,
    or the connection closed before a response.  ``status`` is ``None``.

    Kept apart from the refusals above because the remedy differs: a
    refusal means the request was wrong, this means the daemon (or the
    path to it) is down and a retry later may succeed.
    """


class BadResponse(EgressdError):
    """Something answered that this client cannot read: not HTTP at all, or
    a success whose body is not the JSON expected.  (An error status is
    always raised by status, whatever its body: a reverse proxy's HTML 404
    is still a :class:`NotFound`, a 5xx the base :class:`EgressdError`.)"""
