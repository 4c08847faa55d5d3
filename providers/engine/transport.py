"""How the protocols reach a provider: over HTTP through one pooled session with timeouts and bounded retries,
or, in test mode, from an endpoint's recorded fixtures."""

import codecs
import datetime
import functools
import json as _json
import os
import random
import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from monid_site import metrics

CONNECT_TIMEOUT_SECONDS = 5
RETRY_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 8.0
RETRY_AFTER_CAP_SECONDS = 30.0
READ_CHUNK_BYTES = 65536  # a body read with max_bytes comes this much at a time: it overshoots by one chunk at most
_sleep = time.sleep  # a seam for tests, which record the waits instead of waiting
# A path segment kept in a metric's operation: a word (`actor-runs`, `enrich`) or a version; anything else (a run,
# dataset or actor id, a record key) is an id, so that an operation is one series, not one per run.
_WORD_SEGMENT = re.compile(r"[a-z]+(?:-[a-z]+)*|v\d+")
_BLANK = re.compile(r"[ \t\n\r]*")
_decoder = _json.JSONDecoder()

# Connections are kept alive and reused, up to 32 per provider host. The environment is read once, not on every
# request as requests does by default (proxies, NO_PROXY, ~/.netrc: about 0.3 ms a call): the proxies of a base
# URL once per process (_proxies), a CA bundle here.
_session = requests.Session()
_session.mount("http://", HTTPAdapter(pool_connections=8, pool_maxsize=32))
_session.mount("https://", HTTPAdapter(pool_connections=8, pool_maxsize=32))
_session.trust_env = False
_session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True


@functools.lru_cache(maxsize=64)
def _proxies(base_url: str) -> dict:
    """The proxies HTTP(S)_PROXY and NO_PROXY give for this base URL."""
    return requests.utils.get_environ_proxies(base_url)


def backoff_seconds(attempt: int, retry_after: str | None) -> float:
    """The provider's Retry-After (seconds or an HTTP date, capped) when it gave one; else "full jitter":
    a uniform draw below base x 2^attempt, capped, so many workers retrying together do not stampede."""
    if retry_after:
        try:
            seconds = float(retry_after)
        except ValueError:
            try:
                seconds = (parsedate_to_datetime(retry_after) - datetime.datetime.now(datetime.UTC)).total_seconds()
            except (TypeError, ValueError):
                seconds = None
        if seconds is not None:
            return min(RETRY_AFTER_CAP_SECONDS, max(0.0, seconds))
    return random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt))


class ProviderUnavailable(Exception):
    """The provider could not be reached or its control plane did not answer sensibly; `retryable` says if trying
    later can help."""

    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


class ProviderTimeout(ProviderUnavailable):
    """The provider accepted the request but did not answer in time."""


@dataclass(frozen=True)
class Reply:
    """One HTTP answer of a provider: its status, headers (names lower-cased) and JSON body, and how many bytes
    of the body were read. `cut` when the body ran past the `max_bytes` asked for and was read no further: its
    body is then the elements of the JSON array it begins that arrived whole."""

    status: int
    headers: dict
    body: Any
    size: int
    cut: bool = False


class HttpTransport:
    """A provider's API over HTTP: its base URL, its credential placed as its auth scheme says."""

    def __init__(
        self,
        *,
        slug: str,
        name: str,
        base_url: str,
        auth: dict,
        credential: str,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
        read_timeout: float | None = None,
    ):
        self.slug, self.name, self.base_url = slug, name, base_url.rstrip("/")
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        scheme = auth["scheme"]
        self.headers = {"Accept": "application/json"}
        self.auth_query = {}
        if scheme == "bearer":
            self.headers["Authorization"] = f"Bearer {credential}"
        elif scheme == "header":
            self.headers[auth["name"]] = credential
        else:
            self.auth_query[auth["name"]] = credential

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json: Any = None,
        retry: bool = False,
        read_timeout: float | None = None,
        max_bytes: int | None = None,
    ) -> Reply:
        """One HTTP call and its JSON body.

        With `retry` (control-plane calls only), connection failures, timeouts, 429, 5xx and unreadable bodies are
        tried again after a capped, jittered exponential backoff, or after the provider's own Retry-After.
        With `max_bytes`, the body is read a chunk at a time and no further once past it (`Reply.cut`), so an
        answer bigger than the caller can keep never sits in memory whole.
        """
        timeout = (self.connect_timeout, read_timeout or self.read_timeout or settings.PROVIDER_TIMEOUT_SECONDS)
        attempts = RETRY_ATTEMPTS if retry else 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response, body, cut = self._send(
                    method,
                    path,
                    max_bytes=max_bytes,
                    timeout=timeout,
                    params={**(params or {}), **self.auth_query},
                    json=json,
                )
                if not last and (response.status_code == 429 or response.status_code >= 500):
                    _sleep(backoff_seconds(attempt, response.headers.get("Retry-After")))
                    continue
                size = len(body)  # before _json_of frees a bounded body
                return Reply(
                    status=response.status_code,
                    headers={k.lower(): v for k, v in response.headers.items()},
                    body=self._json_of(response, body, bounded=max_bytes is not None, cut=cut),
                    size=size,
                    cut=cut,
                )
            except requests.ReadTimeout as exc:
                if last:
                    raise ProviderTimeout(
                        f"{self.name} did not answer within {timeout[1]:g} s", retryable=True
                    ) from exc
            except requests.RequestException as exc:
                if last:
                    raise ProviderUnavailable(
                        f"{self.name} could not be reached: {type(exc).__name__}", retryable=True
                    ) from exc
            except ProviderUnavailable:
                if last:
                    raise
            _sleep(backoff_seconds(attempt, None))
        raise AssertionError("unreachable")

    def _send(
        self, method: str, path: str, *, max_bytes: int | None, **kwargs
    ) -> tuple[requests.Response, bytes | bytearray, bool]:
        """One HTTP request, its body read (see _read) and timed with it, as requests times a body it reads
        whole, for the metrics by provider, operation and outcome (its status class, or a timeout or another
        failure)."""
        began, outcome = time.perf_counter(), "error"
        try:
            response = _session.request(
                method,
                self.base_url + path,
                headers=self.headers,
                proxies=_proxies(self.base_url),
                stream=max_bytes is not None,
                **kwargs,
            )
            body, cut = _read(response, max_bytes)
            outcome = f"{response.status_code // 100}xx"
            return response, body, cut
        except requests.Timeout:
            outcome = "timeout"
            raise
        finally:
            metrics.provider_request_observed(
                provider=self.slug,
                operation=operation_of(method, path),
                outcome=outcome,
                seconds=time.perf_counter() - began,
            )

    def _json_of(self, response: requests.Response, body: bytes | bytearray, *, bounded: bool, cut: bool):
        """The body's JSON; a bounded one is UTF-8 (RFC 8259) and its bytes are freed as soon as they are text,
        so a big body is held twice at most (as text, then as values), not three times."""
        if not body and response.status_code == 204:
            return None
        try:
            if not bounded:
                return response.json()
            text = codecs.utf_8_decode(body, "strict", not cut)[0]  # not final: a character cut short is left out
            body.clear()
            return leading_elements(text) if cut else _json.loads(text)
        except ValueError as exc:
            raise ProviderUnavailable(
                f"{self.name} answered HTTP {response.status_code} with a body that is not JSON", retryable=True
            ) from exc


def _read(response: requests.Response, max_bytes: int | None) -> tuple[bytes | bytearray, bool]:
    """The response's body, or with `max_bytes` its first bytes once they run past it, the rest left unread
    (True). The response is closed either way: a body read to its end gives its connection back to the pool,
    one left unread drops it, since no other answer can follow on it."""
    if max_bytes is None:
        return response.content, False
    body = bytearray()
    try:
        for chunk in response.iter_content(READ_CHUNK_BYTES):
            body += chunk
            if len(body) > max_bytes:
                return body, True
        return body, False
    finally:
        response.close()


def leading_elements(text: str) -> list:
    """The elements of the JSON array that `text`, a body cut short, begins with: those that arrived whole,
    each followed by its "," or the closing "]" (a number cut short still parses, but is followed by neither).
    Raises ValueError when `text` does not begin an array."""
    at = _BLANK.match(text).end()
    if not text.startswith("[", at):
        raise ValueError("not a JSON array")
    elements, at = [], at + 1
    while True:
        try:
            element, end = _decoder.raw_decode(text, _BLANK.match(text, at).end())
        except ValueError:  # cut inside this element (or the array is empty)
            return elements
        at = _BLANK.match(text, end).end()
        if text[at : at + 1] not in (",", "]"):
            return elements
        elements.append(element)
        if text[at] == "]":
            return elements
        at += 1


class FixtureTransport:
    """A provider replayed from an endpoint's recorded fixture: each request is answered by the first recorded
    call with its method and path (and, when `strict`, the query parameters and body it recorded), so a
    test-mode run goes through the same protocol code as a live one without leaving the process. Its answers
    are never cut (`max_bytes`): recorded bodies are small."""

    def __init__(self, *, name: str, calls: list[dict], strict: bool = False):
        self.name, self.calls, self.strict = name, calls, strict

    def request(self, method: str, path: str, *, params: dict | None = None, json: Any = None, **_) -> Reply:
        query = {key: str(value) for key, value in (params or {}).items()}
        for call in self.calls:
            recorded = call["request"]
            if recorded["method"] != method or recorded["path"] != path:
                continue
            if self.strict and (
                any(query.get(k) != v for k, v in recorded.get("query", {}).items())
                or ("body" in recorded and recorded["body"] != json)
            ):
                continue
            response = call["response"]
            body = response.get("body")
            return Reply(
                status=response["status"],
                headers={k.lower(): v for k, v in response.get("headers", {}).items()},
                body=body,
                size=len(_json.dumps(body)),
            )
        if self.strict:
            raise AssertionError(f"No recorded call matches {method} {path} {query} {_json.dumps(json)[:500]}")
        return Reply(
            status=404,
            headers={},
            size=0,
            body={
                "error": {"type": "not-recorded", "message": f"Test mode has no recorded answer for {method} {path}."}
            },
        )


def operation_of(method: str, path: str) -> str:
    """`GET /v2/actor-runs/{id}`: the request's method and path with its ids left out."""
    return f"{method} " + "/".join(
        part if not part or _WORD_SEGMENT.fullmatch(part) else "{id}" for part in path.split("/")
    )
