"""What every adapter shares: one pooled HTTP session, timeouts, bounded retries and the answer it hands back."""

import datetime
import functools
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
_sleep = time.sleep  # a seam for tests, which record the waits instead of waiting
# A path segment kept in a metric's operation: a word (`actor-runs`, `enrich`) or a version; anything else (a run,
# dataset or actor id, a record key) is an id, so that an operation is one series, not one per run.
_WORD_SEGMENT = re.compile(r"[a-z]+(?:-[a-z]+)*|v\d+")

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
    return random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** attempt))


class ProviderUnavailable(Exception):
    """The provider could not be reached or its control plane did not answer sensibly; `retryable` says if trying later can help."""

    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


class ProviderTimeout(ProviderUnavailable):
    """The provider accepted the request but did not answer in time."""


@dataclass(frozen=True)
class ProviderAnswer:
    """The provider's final word on a run: its HTTP status and either its data or its error body."""

    http_status: int
    output: Any = None
    error: Any = None
    result_count: int | None = None
    output_truncated: bool = False
    actual_cost_micros: int = 0
    provider_run_id: str = ""


class Adapter:
    name = "provider"
    slug = "provider"  # the catalog's, as the metrics label a provider

    def __init__(self, *, base_url: str, credential: str):
        self.base_url = base_url.rstrip("/")
        self.credential = credential

    def headers(self) -> dict:
        raise NotImplementedError

    def fetch(self, method: str, path: str, *, retry: bool = False, read_timeout: float | None = None,
              **kwargs) -> tuple[requests.Response, Any]:
        """One HTTP call and its JSON body.

        With `retry` (control-plane calls only), connection failures, timeouts, 429, 5xx and unreadable bodies are
        tried again after a capped, jittered exponential backoff, or after the provider's own Retry-After.
        """
        timeout = (CONNECT_TIMEOUT_SECONDS, read_timeout or settings.PROVIDER_TIMEOUT_SECONDS)
        attempts = RETRY_ATTEMPTS if retry else 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._request(method, path, timeout=timeout, **kwargs)
                if not last and (response.status_code == 429 or response.status_code >= 500):
                    _sleep(backoff_seconds(attempt, response.headers.get("Retry-After")))
                    continue
                return response, self.json_of(response)
            except requests.ReadTimeout as exc:
                if last:
                    raise ProviderTimeout(f"{self.name} did not answer within {timeout[1]:g} s", retryable=True) from exc
            except requests.RequestException as exc:
                if last:
                    raise ProviderUnavailable(f"{self.name} could not be reached: {type(exc).__name__}",
                                              retryable=True) from exc
            except ProviderUnavailable:
                if last:
                    raise
            _sleep(backoff_seconds(attempt, None))
        raise AssertionError("unreachable")

    def _request(self, method: str, path: str, **kwargs) -> requests.Response:
        """One HTTP request, timed for the metrics by provider, operation and outcome (its status class, or a
        timeout or another failure)."""
        began, outcome = time.perf_counter(), "error"
        try:
            response = _session.request(method, self.base_url + path, headers=self.headers(),
                                        proxies=_proxies(self.base_url), **kwargs)
            outcome = f"{response.status_code // 100}xx"
            return response
        except requests.Timeout:
            outcome = "timeout"
            raise
        finally:
            metrics.provider_request_observed(provider=self.slug,
                                              operation=operation_of(method, path), outcome=outcome,
                                              seconds=time.perf_counter() - began)

    def json_of(self, response: requests.Response):
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderUnavailable(
                f"{self.name} answered HTTP {response.status_code} with a body that is not JSON", retryable=True
            ) from exc


def operation_of(method: str, path: str) -> str:
    """`GET /v2/actor-runs/{id}`: the request's method and path with its ids left out."""
    return f"{method} " + "/".join(part if not part or _WORD_SEGMENT.fullmatch(part) else "{id}"
                                   for part in path.split("/"))
