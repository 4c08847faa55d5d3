"""What every adapter shares: one pooled HTTP session, timeouts, bounded retries and the answer it hands back."""

import time
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

CONNECT_TIMEOUT_SECONDS = 5
RETRY_DELAYS_SECONDS = (0.5, 1.5)

_session = requests.Session()
_session.mount("http://", HTTPAdapter(pool_connections=8, pool_maxsize=32))
_session.mount("https://", HTTPAdapter(pool_connections=8, pool_maxsize=32))


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
    actual_cost_micros: int = 0
    provider_run_id: str = ""


class Adapter:
    name = "provider"

    def __init__(self, *, base_url: str, credential: str):
        self.base_url = base_url.rstrip("/")
        self.credential = credential

    def headers(self) -> dict:
        raise NotImplementedError

    def request(self, method: str, path: str, *, retry: bool = False, read_timeout: float | None = None,
                **kwargs) -> requests.Response:
        """One HTTP call; with `retry`, connection failures, 429 and 5xx are tried again with backoff."""
        timeout = (CONNECT_TIMEOUT_SECONDS, read_timeout or settings.PROVIDER_TIMEOUT_SECONDS)
        attempts = len(RETRY_DELAYS_SECONDS) + 1 if retry else 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = _session.request(method, self.base_url + path, headers=self.headers(),
                                            timeout=timeout, **kwargs)
            except requests.ReadTimeout as exc:
                if last:
                    raise ProviderTimeout(f"{self.name} did not answer within {timeout[1]:g} s", retryable=True) from exc
            except requests.RequestException as exc:
                if last:
                    raise ProviderUnavailable(f"{self.name} could not be reached: {type(exc).__name__}",
                                              retryable=True) from exc
            else:
                if last or not (response.status_code == 429 or response.status_code >= 500):
                    return response
            time.sleep(RETRY_DELAYS_SECONDS[attempt])
        raise AssertionError("unreachable")

    def json_of(self, response: requests.Response):
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderUnavailable(
                f"{self.name} answered HTTP {response.status_code} with a body that is not JSON", retryable=True
            ) from exc
