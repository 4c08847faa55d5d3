"""Typed views of the API's answers. Each keeps the JSON it came from in `raw`, exactly as the server sent it."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

TERMINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "BLOCKED", "STOPPED", "TIME_OUT"})


def _time(value: str | None) -> datetime.datetime | None:
    """The API's `2026-03-28T10:30:00.000Z` as an aware UTC datetime."""
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


@dataclass(frozen=True)
class Billing:
    """A run's three costs, in integer micro-dollars (1 USD = 1,000,000)."""

    calculated_micros: int  # our price x billed units
    actual_micros: int  # what the provider charged Monid
    reported_micros: int  # what you are charged

    @classmethod
    def from_api(cls, body: dict) -> Billing:
        return cls(
            calculated_micros=body["calculatedCost"]["value"],
            actual_micros=body["actualCost"]["value"],
            reported_micros=body["reportedCost"]["value"],
        )


@dataclass(frozen=True)
class Run:
    """A run as the API showed it. `status` is ours (did the run happen); `provider_status` is the provider's HTTP
    status (what it answered): a provider 404 "no match" is `status == "COMPLETED"`, `provider_status == 404`.

    An async run's 202 answer and a stop's answer are partial: fields they do not carry are None.
    """

    id: str
    status: str
    provider: str | None = None
    endpoint: str | None = None
    provider_status: int | None = None
    provider_error: Any = None  # the provider's own error body, unchanged
    error: str | None = None  # our side's message for FAILED, TIME_OUT and BLOCKED runs
    output: Any = None
    input: Any = None
    result_count: int | None = None
    output_truncated: bool = False
    price: dict | None = None
    billing: Billing | None = None
    cost_usd: float | None = None  # what you were charged, in dollars, once the run has ended
    stoppable: bool = False
    test_mode: bool | None = None
    created_at: datetime.datetime | None = None
    started_at: datetime.datetime | None = None
    completed_at: datetime.datetime | None = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, body: dict) -> Run:
        provider_response = body.get("providerResponse") or {}
        error = body.get("error") or {}
        cost = body.get("cost") or {}
        return cls(
            id=body["runId"],
            status=body["status"],
            provider=body.get("provider"),
            endpoint=body.get("endpoint"),
            provider_status=provider_response.get("httpStatus"),
            provider_error=provider_response.get("error"),
            error=error.get("message") or body.get("reason"),
            output=body.get("output"),
            input=body.get("input"),
            result_count=body.get("resultCount"),
            output_truncated=bool(body.get("outputTruncated")),
            price=body.get("price"),
            billing=Billing.from_api(body["billing"]) if body.get("billing") else None,
            cost_usd=cost.get("value"),
            stoppable=bool(body.get("stoppable")),
            test_mode=body.get("testMode"),
            created_at=_time(body.get("createdAt")),
            started_at=_time(body.get("startedAt")),
            completed_at=_time(body.get("completedAt")),
            raw=body,
        )

    @property
    def terminal(self) -> bool:
        """The run has ended and will never change again."""
        return self.status in TERMINAL_STATUSES

    @property
    def ok(self) -> bool:
        """The run completed and the provider answered 2xx: `output` holds the data."""
        return self.status == "COMPLETED" and self.provider_status is not None and 200 <= self.provider_status < 300

    @property
    def failure(self) -> str | None:
        """Why an ended run is not ok, in a few words; None while it is running or when it is ok."""
        if not self.terminal or self.ok:
            return None
        if self.status == "COMPLETED":
            return f"the provider answered HTTP {self.provider_status}"
        return f"the run ended {self.status}" + (f": {self.error}" if self.error else "")


@dataclass(frozen=True)
class Balance:
    """The workspace's wallet, in dollars: what is left to spend (after holds) and what is held for runs in flight."""

    balance_usd: float
    held_usd: float
    currency: str = "USD"
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, body: dict) -> Balance:
        return cls(
            balance_usd=body["balance"]["value"],
            held_usd=body["held"]["value"],
            currency=body["balance"]["currency"],
            raw=body,
        )


def _endpoint_fields(body: dict) -> dict:
    """The fields EndpointMatch (discover) and EndpointInfo (inspect) share, read from either answer."""
    return {
        "provider": body["provider"],
        "endpoint": body["endpoint"],
        "name": body.get("name", body["endpoint"]),
        "description": body.get("description", ""),
        "price": body.get("price", {}),
        "provider_name": body.get("providerName", ""),
        "tags": body.get("tags", []),
        "raw": body,
    }


@dataclass(frozen=True)
class EndpointMatch:
    """One result of discover(), best first."""

    provider: str
    endpoint: str
    name: str
    description: str
    price: dict
    score: float
    provider_name: str = ""
    tags: list = field(default_factory=list)
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, body: dict) -> EndpointMatch:
        return cls(**_endpoint_fields(body), score=body.get("score", 0.0))


@dataclass(frozen=True)
class EndpointInfo:
    """What inspect() tells about an endpoint: what a run needs (`input_schema`) and what it costs."""

    provider: str
    endpoint: str
    name: str
    description: str
    price: dict
    input_schema: dict
    method: str = ""
    doc_url: str = ""
    notes: list = field(default_factory=list)
    provider_name: str = ""
    tags: list = field(default_factory=list)
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, body: dict) -> EndpointInfo:
        return cls(
            **_endpoint_fields(body),
            input_schema=body.get("inputSchema", {}),
            method=body.get("method", ""),
            doc_url=body.get("docUrl", ""),
            notes=body.get("notes", []),
        )


@dataclass(frozen=True)
class Workspace:
    """A workspace as the API names it; `workspace_id` is its slug (workspaces have no other public id)."""

    workspace_id: str
    name: str
    slug: str
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, body: dict) -> Workspace:
        return cls(workspace_id=body["workspaceId"], name=body["name"], slug=body["slug"], raw=body)


@dataclass(frozen=True)
class User:
    """The member who made the key; each field None for a workspace without members."""

    user_id: str | None
    username: str | None
    email: str | None

    @classmethod
    def from_api(cls, body: dict) -> User:
        return cls(user_id=body.get("userId"), username=body.get("username"), email=body.get("email"))


@dataclass(frozen=True)
class Whoami:
    """What whoami() tells about the key: who made it and the workspace it acts in."""

    user: User
    workspace: Workspace
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, body: dict) -> Whoami:
        return cls(
            user=User.from_api(body.get("user") or {}), workspace=Workspace.from_api(body["workspace"]), raw=body
        )
