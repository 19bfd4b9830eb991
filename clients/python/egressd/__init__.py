"""Python client for egressd's admin API (standard library only).

    from egressd import Egressd
    Egressd().sandbox("agent-1").egress.allow(["pypi.org"])

See clients/python/README.md and docs/admin.md.
"""

__version__ = "0.1.0"

from .errors import (  # noqa: E402
    BadRequest,
    BadResponse,
    Conflict,
    EgressdError,
    NotFound,
    Unauthorized,
    Unreachable,
)
from .events import Event  # noqa: E402
from .client import DEFAULT_SOCKET, Egress, Egressd, Policy, Sandbox, Session  # noqa: E402

__all__ = [
    "Egressd",
    "Sandbox",
    "Egress",
    "Session",
    "Policy",
    "Event",
    "EgressdError",
    "BadRequest",
    "BadResponse",
    "Conflict",
    "NotFound",
    "Unauthorized",
    "Unreachable",
    "DEFAULT_SOCKET",
    "__version__",
]
