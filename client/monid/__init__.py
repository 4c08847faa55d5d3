"""Monid's Python client: `Monid().run("pdl", "/person/enrich", {"email": "sean@example.com"})`."""

__version__ = "0.1.0"

from .client import Monid  # noqa: E402
from .errors import (  # noqa: E402
    APIConnectionError,
    AuthenticationError,
    BadRequest,
    Conflict,
    MonidError,
    NotFound,
    PaymentRequired,
    RateLimited,
    RunTimeout,
    ServerError,
)
from .models import Balance, Billing, EndpointInfo, EndpointMatch, Run, User, Whoami, Workspace  # noqa: E402

__all__ = [
    "Monid",
    "Run",
    "Billing",
    "Balance",
    "EndpointMatch",
    "EndpointInfo",
    "Whoami",
    "User",
    "Workspace",
    "MonidError",
    "BadRequest",
    "AuthenticationError",
    "PaymentRequired",
    "NotFound",
    "Conflict",
    "RateLimited",
    "ServerError",
    "APIConnectionError",
    "RunTimeout",
]
