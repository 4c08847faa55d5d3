"""The errors the client raises: one class per kind of answer, all under MonidError."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Run


class MonidError(Exception):
    """Any error from the API or on the way to it. `status` is the HTTP status (None when there was no answer)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        details: list[dict] | None = None,
        request_id: str | None = None,
        body: Any = None,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.details = details or []
        self.request_id = request_id
        self.body = body

    def __str__(self) -> str:
        prefix = f"HTTP {self.status}: " if self.status is not None else ""
        lines = [f"{prefix}{self.message}"]
        lines += [f"  {detail.get('path', '?')}: {detail.get('message', '')}" for detail in self.details]
        return "\n".join(lines)


class BadRequest(MonidError):
    """400 (and 413, 415): the request is wrong; `details` lists each failing path of the input."""


class AuthenticationError(MonidError):
    """401: the API key is missing, malformed, unknown, revoked or expired."""


class PaymentRequired(MonidError):
    """402: the workspace's wallet cannot cover the run's price."""


class NotFound(MonidError):
    """404: no such run, provider or endpoint (or not yours)."""


class Conflict(MonidError):
    """409 (the run cannot be stopped; an Idempotency-Key still in flight) or 422 (a key reused with another body)."""


class RateLimited(MonidError):
    """429: the key made too many requests this minute; `retry_after` is how many seconds to wait."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(MonidError):
    """5xx: something failed on the server's side; the client already retried."""


class APIConnectionError(MonidError):
    """No answer at all: the server could not be reached, or the connection broke (the client already retried)."""


class RunTimeout(MonidError):
    """run(wait=True) gave up waiting; the run goes on on the server. `run` is how it was last seen."""

    def __init__(self, message: str, *, run: Run):
        super().__init__(message)
        self.run = run
        self.run_id = run.id


_BY_STATUS = {
    400: BadRequest,
    401: AuthenticationError,
    402: PaymentRequired,
    404: NotFound,
    409: Conflict,
    413: BadRequest,
    415: BadRequest,
    422: Conflict,
    429: RateLimited,
}


def error_for(status: int, body: Any, *, request_id: str | None = None, retry_after: float | None = None) -> MonidError:
    """The typed error for an API answer `{code, message, details?}` (or whatever a proxy answered instead)."""
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        message, details = body["message"], body.get("details")
    else:
        message, details = (str(body)[:500] if body else f"HTTP {status} with no error message"), None
    kind = _BY_STATUS.get(status) or (ServerError if status >= 500 else MonidError)
    kwargs = {
        "status": status,
        "details": details if isinstance(details, list) else None,
        "request_id": request_id,
        "body": body,
    }
    if kind is RateLimited:
        return RateLimited(message, retry_after=retry_after, **kwargs)
    return kind(message, **kwargs)
