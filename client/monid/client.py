"""The Monid API client: one requests.Session, typed answers, typed errors, safe retries and polling."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import requests
from urllib3.exceptions import NewConnectionError

from . import __version__, credentials
from .errors import APIConnectionError, Conflict, MonidError, RunTimeout, error_for
from .models import Balance, EndpointInfo, EndpointMatch, Run, Whoami, Workspace

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_FIRST, RETRY_MAX, RETRY_AFTER_MAX = 0.5, 8.0, 120.0  # seconds, for the client's own retries of one request
POLL_FIRST, POLL_FACTOR, POLL_MAX = 1.0, 1.5, 10.0  # seconds between polls while waiting for a run
MAX_PAGE_SIZE = 100  # the API's largest `limit`


class Monid:
    """A client for one API key.

    `api_key` defaults to the environment's MONID_API_KEY, then to the active key of `monid keys`; `base_url` to
    MONID_API_BASE_URL, then http://127.0.0.1:8000. `timeout` bounds each HTTP request in seconds (a sync run is
    answered within its request, so leave room for it). `max_retries` is how many times a request that got no
    answer, a 5xx or a 429 is tried again. `sleep` and `clock` are time.sleep and time.monotonic unless a test
    swaps them.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 60.0,
        max_retries: int = 3,
        session: requests.Session | None = None,
        sleep: Callable[[float], Any] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        api_key = api_key or default_api_key()
        if not api_key:
            raise ValueError(
                "No API key: pass api_key=, set MONID_API_KEY (monid_live_… or monid_test_…) or store one with "
                "`monid keys add -k KEY -l LABEL`."
            )
        self.base_url = (base_url or os.environ.get("MONID_API_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.timeout, self.max_retries, self.sleep, self.clock = timeout, max_retries, sleep, clock
        self.session = session or requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {api_key}", "User-Agent": f"monid-python/{__version__}"})

    def __enter__(self) -> Monid:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    # Catalog

    def discover(
        self, query: str, limit: int = 5, *, min_score: float | None = None, include_unavailable: bool = False
    ) -> list[EndpointMatch]:
        """The endpoints that fit a need described in plain words, best first: those scoring at least `min_score`
        (0 to 1), and with `include_unavailable` those in outage too, ranked last."""
        body = self._call(
            "POST",
            "/v1/discover",
            json=discover_request(query, limit=limit, min_score=min_score, include_unavailable=include_unavailable),
        )
        return [EndpointMatch.from_api(result) for result in body["results"]]

    def inspect(self, provider: str, endpoint: str) -> EndpointInfo:
        """What a run of this endpoint needs (its input JSON Schema) and what it costs."""
        return EndpointInfo.from_api(
            self._call("POST", "/v1/inspect", json={"provider": provider, "endpoint": endpoint})
        )

    # Runs

    def run(
        self,
        provider: str,
        endpoint: str,
        input: dict | None = None,
        *,
        wait: bool = True,
        timeout: float = 600.0,
        idempotency_key: str | None = None,
        on_poll: Callable[[Run], Any] | None = None,
    ) -> Run:
        """Runs an endpoint. With `wait`, an async run is polled until it ends (at most `timeout` seconds, then
        RunTimeout); without, an async run comes back as accepted (status RUNNING, partial).

        The request carries an Idempotency-Key (a fresh one unless given), reused by the client's own retries,
        so a retried call never starts a second run. `on_poll` is called with the run each time it is seen
        while waiting.
        """
        body = {"provider": provider, "endpoint": endpoint, "input": {} if input is None else input}
        run = Run.from_api(
            self._call("POST", "/v1/run", json=body, idempotency_key=idempotency_key or str(uuid.uuid4()))
        )
        if wait and not run.terminal:
            return self.wait(run, timeout=timeout, on_poll=on_poll)
        return run

    def wait(self, run: Run | str, *, timeout: float = 600.0, on_poll: Callable[[Run], Any] | None = None) -> Run:
        """Polls a run until it ends: the first poll after about 1 s, then 1.5 times longer each time, at most
        10 s apart. Raises RunTimeout (with the run as last seen) after `timeout` seconds."""
        if isinstance(run, str):
            run = self.get_run(run)
        deadline, delay = self.clock() + timeout, POLL_FIRST
        if on_poll:
            on_poll(run)
        while not run.terminal:
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise RunTimeout(
                    f"Run {run.id} is still {run.status} after {timeout:g} s of waiting; it goes on on the server.",
                    run=run,
                )
            self.sleep(min(delay, remaining))
            delay = min(delay * POLL_FACTOR, POLL_MAX)
            run = self.get_run(run.id)
            if on_poll:
                on_poll(run)
        return run

    def get_run(self, run_id: str) -> Run:
        """The run as it stands now, with its output once it has ended."""
        return Run.from_api(self._call("GET", f"/v1/runs/{quote(run_id, safe='')}"))

    def list_runs(
        self,
        *,
        status: str | None = None,
        provider: str | None = None,
        endpoint: str | None = None,
        limit: int | None = None,
        page_size: int | None = None,
    ) -> Iterator[Run]:
        """The workspace's runs, newest first (without input and output), at most `limit` of them (all when
        None). Pages of `page_size` are fetched as the iteration reaches them, following the API's cursors."""
        page_size = page_size or min(limit or MAX_PAGE_SIZE, MAX_PAGE_SIZE)
        filters = {
            name: value for name, value in (("status", status), ("provider", provider), ("endpoint", endpoint)) if value
        }
        yielded, cursor = 0, None
        while limit is None or yielded < limit:
            params = {**filters, "limit": page_size if limit is None else min(page_size, limit - yielded)}
            if cursor:
                params["cursor"] = cursor
            page = self._call("GET", "/v1/runs", params=params)
            for item in page["items"]:
                yield Run.from_api(item)
                yielded += 1
            cursor = page.get("cursor")
            if not cursor:
                return

    def stop_run(self, run_id: str) -> Run:
        """Asks for an async run to be stopped: it comes back STOPPING (partial) and ends STOPPED; poll it with
        wait() to see it end. Conflict when it has already ended."""
        return Run.from_api(self._call("POST", f"/v1/runs/{quote(run_id, safe='')}/stop", retry_unanswered=False))

    # Resources

    def resources(
        self,
        *,
        provider: str | None = None,
        resource_type: str | None = None,
        state: str | None = None,
        limit: int | None = None,
    ) -> list[dict]:
        """The workspace's provisioned resources (phone numbers and the like, kept by a provider between runs), as
        Monid's API lists them; this server provisions none, so the list is empty."""
        query = resources_query(provider=provider, resource_type=resource_type, state=state, limit=limit)
        return self._call("GET", "/v1/resources", params=query)["items"]

    # Wallet

    def balance(self) -> Balance:
        """The workspace's wallet: what it can still spend, and what is held for runs in flight."""
        return Balance.from_api(self._call("GET", "/v1/wallet/balance"))

    # Identity

    def whoami(self) -> Whoami:
        """Who made the key, and the workspace it acts in."""
        return Whoami.from_api(self._call("GET", "/v1/auth/whoami"))

    def workspaces(self) -> list[Workspace]:
        """The workspaces the key can act in: its own, alone."""
        return [Workspace.from_api(workspace) for workspace in self._call("GET", "/v1/auth/workspaces")["workspaces"]]

    # HTTP

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict | None = None,
        idempotency_key: str | None = None,
        retry_unanswered: bool = True,
    ) -> Any:
        """One API call, retried after no answer, a 5xx or a 429 (waiting out its Retry-After); the answer's
        JSON, or the typed error. Without `retry_unanswered` (a request that must not be sent twice and has no
        Idempotency-Key), only what the server surely never acted on is retried: a refused connection or a 429."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        retry_unanswered = retry_unanswered or idempotency_key is not None
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self.session.request(
                    method, self.base_url + path, json=json, params=params, headers=headers, timeout=self.timeout
                )
            except requests.RequestException as exc:
                never_sent = isinstance(exc, requests.ConnectTimeout) or _refused(exc)
                if last or not (retry_unanswered or never_sent):
                    raise APIConnectionError(f"No answer from {self.base_url}: {exc}") from exc
                self.sleep(_backoff(attempt))
                continue
            body = _body(response)
            error = (
                None
                if response.ok
                else error_for(
                    response.status_code,
                    body,
                    request_id=response.headers.get("x-request-id"),
                    retry_after=_retry_after(response),
                )
            )
            if error is None:
                if not isinstance(body, (dict, list)):
                    raise MonidError(
                        f"HTTP {response.status_code} from {self.base_url}{path} was not JSON: {str(body)[:200]!r}",
                        status=response.status_code,
                    )
                return body
            retryable = (
                response.status_code == 429
                or (retry_unanswered and response.status_code in RETRY_STATUSES)
                # our own earlier try of this very request may still be running on the server
                or (
                    attempt > 0
                    and idempotency_key is not None
                    and isinstance(error, Conflict)
                    and response.status_code == 409
                )
            )
            if last or not retryable:
                raise error
            retry_after = _retry_after(response)
            self.sleep(min(retry_after, RETRY_AFTER_MAX) if retry_after is not None else _backoff(attempt))
        raise AssertionError("unreachable")


def default_api_key() -> str | None:
    """The key used when none is given: MONID_API_KEY, else the one `monid keys` (or Monid's CLI) made active."""
    return os.environ.get("MONID_API_KEY") or credentials.active_key()


def discover_request(
    query: str, *, limit: int | None = None, min_score: float | None = None, include_unavailable: bool = False
) -> dict:
    """The body of POST /v1/discover, leaving out what is not given (the server's defaults then apply)."""
    body: dict[str, Any] = {"query": query}
    if limit is not None:
        body["limit"] = limit
    if min_score is not None:
        body["minScore"] = min_score
    if include_unavailable:
        body["includeUnavailable"] = True
    return body


def resources_query(
    *,
    provider: str | None = None,
    resource_type: str | None = None,
    state: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> dict:
    """The query of GET /v1/resources, leaving out what is not given."""
    query = {"provider": provider, "resourceType": resource_type, "state": state, "limit": limit, "cursor": cursor}
    return {name: value for name, value in query.items() if value is not None}


def _backoff(attempt: int) -> float:
    return min(RETRY_FIRST * 2**attempt, RETRY_MAX)


def _refused(exc: requests.RequestException) -> bool:
    """The connection was never made, so the request never reached the server."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


def _retry_after(response: requests.Response) -> float | None:
    try:
        return max(0.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None  # absent, or an HTTP date, which this API never sends


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text
