"""Apify v2: asynchronous; a run is started, followed until terminal, then its default dataset is read."""

import datetime
import json
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .base import Adapter, ProviderAnswer, ProviderUnavailable

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED"}
MAX_WAIT_SECONDS = 60  # Apify holds a status request at most this long
STATUS_READ_MARGIN_SECONDS = 30  # how much longer than the requested wait a status answer may take
DATASET_PAGE_SIZE = 1000  # items per dataset read at most
DATASET_PAGE_BYTES = 2_000_000  # and about this much JSON, so a dataset of big items never comes in one huge body


@dataclass(frozen=True)
class ApifyRun:
    id: str
    status: str
    status_message: str
    dataset_id: str
    usage_total_micros: int

    @property
    def is_terminal(self):
        return self.status in TERMINAL


def usd_to_micros(amount) -> int:
    """Apify reports dollars as a JSON number; Monid counts integer micro-dollars, rounded half up."""
    return int((Decimal(str(amount)) * 1_000_000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def actor_id(path: str) -> str:
    """Monid names actors like '/apidojo/tweet-scraper'; Apify's URLs want 'apidojo~tweet-scraper'."""
    return path.strip("/").replace("/", "~")


class ApifyAdapter(Adapter):
    name = "Apify"
    slug = "apify"

    def headers(self):
        return {"Authorization": f"Bearer {self.credential}", "Accept": "application/json"}

    def start(self, *, path: str, actor_input: dict) -> ApifyRun | ProviderAnswer:
        """Starts the actor; a refusal (bad input, unknown actor, no credit) is the provider's final answer."""
        # Not retried: a start that timed out may have started a run, and a second start would run it twice.
        response, body = self.fetch("POST", f"/v2/acts/{actor_id(path)}/runs", json=actor_input)
        if response.status_code >= 300:
            return ProviderAnswer(http_status=response.status_code, error=body)
        return self._run_of(body)

    def runs_started_since(self, *, path: str, since: datetime.datetime) -> list[ApifyRun]:
        """The actor's runs started since `since`, oldest first."""
        runs: list[ApifyRun] = []
        while True:
            page = self._ok_body(*self.fetch("GET", f"/v2/acts/{actor_id(path)}/runs", retry=True, params={
                "startedAfter": since.astimezone(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "offset": len(runs), "limit": 1000}))
            try:
                items = page["data"]["items"]
            except (KeyError, TypeError) as exc:
                raise ProviderUnavailable("Apify answered a run list we could not read", retryable=True) from exc
            runs.extend(self._run_of({"data": item}) for item in items)
            if not items:
                return runs

    def input_of(self, *, run_id: str):
        """The input a run was started with, as Apify stored it."""
        return self._ok_body(*self.fetch("GET", f"/v2/actor-runs/{run_id}/key-value-store/records/INPUT",
                                         retry=True))

    def status(self, *, run_id: str, wait_seconds: int = 0) -> ApifyRun:
        """The run's state, held by Apify until it ends or `wait_seconds` (at most MAX_WAIT_SECONDS) pass."""
        return self._run_of(self._ok_body(*self.fetch(
            "GET", f"/v2/actor-runs/{run_id}", params={"waitForFinish": wait_seconds}, retry=True,
            read_timeout=wait_seconds + STATUS_READ_MARGIN_SECONDS)))

    def abort(self, *, run_id: str) -> ApifyRun:
        return self._run_of(self._ok_body(*self.fetch("POST", f"/v2/actor-runs/{run_id}/abort", retry=True)))

    def items(self, *, dataset_id: str, max_bytes: int, max_items: int | None = None) -> tuple[list, bool]:
        """The dataset's items, read in pages, up to `max_bytes` of compact JSON and `max_items` items; True
        when more were left.

        Reading stops at the cap, so memory stays bounded by it whatever the dataset's size.
        """
        items: list = []
        # size: "[", then each item and its "," or "]"; a first page small enough to learn how big items are.
        size, limit = 1, min(DATASET_PAGE_SIZE, 100)
        while True:
            response, body = self.fetch("GET", f"/v2/datasets/{dataset_id}/items", retry=True, params={
                "format": "json", "clean": "true", "offset": len(items), "limit": limit})
            page = self._ok_body(response, body)
            if not isinstance(page, list):
                raise ProviderUnavailable("Apify answered dataset items with something other than a list",
                                          retryable=True)
            for item in page:
                size += len(json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode()) + 1
                if size > max_bytes or (max_items is not None and len(items) >= max_items):
                    return items, True
                items.append(item)
            total = response.headers.get("X-Apify-Pagination-Total")
            if not page or (total is not None and total.isdigit() and len(items) >= int(total)):
                return items, False
            limit = max(1, min(DATASET_PAGE_SIZE, DATASET_PAGE_BYTES * len(page) // max(1, len(response.content))))

    def answer(self, run: ApifyRun, *, max_bytes: int, max_items: int | None = None) -> ProviderAnswer:
        """A terminal run as the provider's answer: its dataset on success, an error body otherwise."""
        if run.status == "SUCCEEDED":
            items, truncated = self.items(dataset_id=run.dataset_id, max_bytes=max_bytes, max_items=max_items)
            return ProviderAnswer(http_status=200, output=items, result_count=len(items), output_truncated=truncated,
                                  actual_cost_micros=run.usage_total_micros, provider_run_id=run.id)
        http_status, error_type = {"TIMED-OUT": (504, "run-timed-out")}.get(run.status, (500, "run-failed"))
        return ProviderAnswer(http_status=http_status, provider_run_id=run.id,
                              error={"type": error_type, "message": run.status_message or run.status},
                              actual_cost_micros=run.usage_total_micros)

    def _ok_body(self, response, body):
        if response.status_code >= 300:
            raise ProviderUnavailable(f"Apify answered HTTP {response.status_code}: {body}",
                                      retryable=response.status_code == 429 or response.status_code >= 500)
        return body

    def _run_of(self, body) -> ApifyRun:
        try:
            data = body["data"]
            return ApifyRun(id=data["id"], status=data["status"], status_message=data.get("statusMessage") or "",
                            dataset_id=data.get("defaultDatasetId") or "",
                            usage_total_micros=usd_to_micros(data.get("usageTotalUsd") or 0))
        except (KeyError, TypeError, ArithmeticError, ValueError) as exc:
            raise ProviderUnavailable("Apify answered with a run object we could not read", retryable=True) from exc
