"""The `apify-actor` protocol (Apify v2), written once for every actor: an endpoint file names the actor by its
path (/apidojo/tweet-scraper) and needs no code.

A run is started with the input and Apify's own caps, followed by status checks until terminal, then its
default dataset is read in pages, up to a byte cap. A run a crash left behind is found by its input.
"""

import datetime
import json

from . import usage
from .answers import ProviderAnswer, ProviderProgress
from .http import usd_to_micros
from .transport import ProviderUnavailable

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED"}
MAX_WAIT_SECONDS = 60  # Apify holds a status request at most this long
STATUS_READ_MARGIN_SECONDS = 30  # how much longer than the requested wait a status answer may take
DATASET_PAGE_SIZE = 1000  # items per dataset read at most
DATASET_FIRST_PAGE_SIZE = 100  # what recorded fixtures ask for first; a strict replay matches it
DATASET_PAGE_BYTES = 2_000_000  # and about this much JSON, so a dataset of big items never comes in one huge body
DATASET_SLACK_BYTES = 262_144  # how far a read may go past the budget: brackets, commas, a provider's whitespace


def actor_id(path: str) -> str:
    """Monid names actors like '/apidojo/tweet-scraper'; Apify's URLs want 'apidojo~tweet-scraper'."""
    return path.strip("/").replace("/", "~")


class ApifyActorProtocol:
    is_async = True

    def __init__(self, *, endpoint, transport):
        self.endpoint, self.transport = endpoint, transport
        self.actor = actor_id(endpoint.path)

    def start(self, *, params: dict, units: int, hold: int) -> ProviderProgress | ProviderAnswer:
        """Starts the actor; a refusal (bad input, unknown actor, no credit) is the provider's final answer."""
        actor_input, query = self.sent_input(params=params, units=units, hold=hold)
        # Not retried: a start that timed out may have started a run, and a second start would run it twice.
        reply = self.transport.request("POST", f"/v2/acts/{self.actor}/runs", params=query, json=actor_input)
        if reply.status >= 300:
            return ProviderAnswer(http_status=reply.status, error=reply.body)
        return self._progress(reply.body)

    def sent_input(self, *, params: dict, units: int, hold: int) -> tuple[dict, dict]:
        """The actor input and the start's query parameters for this run's input."""
        return usage.provider_input(usage=self.endpoint.usage, params=params, units=units, hold=hold)

    def check(self, *, run_id: str, wait_seconds: int = 0) -> ProviderProgress:
        """The run's state, held by Apify until it ends or `wait_seconds` (at most MAX_WAIT_SECONDS) pass."""
        return self._progress(
            self._ok(
                self.transport.request(
                    "GET",
                    f"/v2/actor-runs/{run_id}",
                    params={"waitForFinish": wait_seconds},
                    retry=True,
                    read_timeout=wait_seconds + STATUS_READ_MARGIN_SECONDS,
                )
            )
        )

    def stop(self, *, run_id: str) -> ProviderProgress:
        return self._progress(self._ok(self.transport.request("POST", f"/v2/actor-runs/{run_id}/abort", retry=True)))

    def collect(self, progress: ProviderProgress, *, max_bytes: int, max_items: int | None = None) -> ProviderAnswer:
        """A finished run as the provider's answer: its dataset on success, an error body otherwise."""
        status, message, dataset_id = progress.handle
        if status == "SUCCEEDED":
            items, truncated = self._items(dataset_id=dataset_id, max_bytes=max_bytes, max_items=max_items)
            return ProviderAnswer(
                http_status=200,
                output=items,
                result_count=len(items),
                billed_units=len(items),
                output_truncated=truncated,
                actual_cost_micros=progress.actual_cost_micros,
                provider_run_id=progress.run_id,
            )
        http_status, error_type = {"TIMED-OUT": (504, "run-timed-out")}.get(status, (500, "run-failed"))
        return ProviderAnswer(
            http_status=http_status,
            provider_run_id=progress.run_id,
            error={"type": error_type, "message": message or status},
            actual_cost_micros=progress.actual_cost_micros,
        )

    def find_left_behind(
        self, *, since: datetime.datetime, params: dict, units: int, hold: int, recorded
    ) -> str | None:
        """The oldest run of this actor started since `since`, with the input this run sends, whose id
        `recorded` (ids -> the set of those our runs hold) does not claim; None if there is none. Runs
        already recorded are ruled out before any input is read: one list request, then one per candidate."""
        sent, _ = self.sent_input(params=params, units=units, hold=hold)
        started = self._runs_started_since(since)
        claimed = recorded([run_id for run_id in started])
        return next(
            (run_id for run_id in started if run_id not in claimed and _sent(sent, self._input_of(run_id))), None
        )

    def _runs_started_since(self, since: datetime.datetime) -> list[str]:
        """The ids of the actor's runs started since `since`, oldest first."""
        runs: list[str] = []
        while True:
            page = self._ok(
                self.transport.request(
                    "GET",
                    f"/v2/acts/{self.actor}/runs",
                    retry=True,
                    params={
                        "startedAfter": since.astimezone(datetime.UTC)
                        .isoformat(timespec="milliseconds")
                        .replace("+00:00", "Z"),
                        "offset": len(runs),
                        "limit": 1000,
                    },
                )
            )
            try:
                items = page["data"]["items"]
                runs.extend(item["id"] for item in items)
            except (KeyError, TypeError) as exc:
                raise ProviderUnavailable("Apify answered a run list we could not read", retryable=True) from exc
            if not items:
                return runs

    def _input_of(self, run_id: str):
        """The input a run was started with, as Apify stored it."""
        return self._ok(
            self.transport.request("GET", f"/v2/actor-runs/{run_id}/key-value-store/records/INPUT", retry=True)
        )

    def _items(self, *, dataset_id: str, max_bytes: int, max_items: int | None) -> tuple[list, bool]:
        """The dataset's items, read in pages, up to `max_bytes` of compact JSON and `max_items` items; True
        when more were left.

        A worker holds the items it keeps and one read, whatever the items' sizes: each read stops once past the
        budget left (or DATASET_PAGE_BYTES, if smaller, unless it asks for a single item) plus DATASET_SLACK_BYTES,
        and keeps the items that arrived whole. An item bigger than the budget left is never read whole, since
        it cannot fit (nor is one that comes with more than DATASET_SLACK_BYTES of whitespace, at the very edge).
        """
        items: list = []
        size, limit = 1, min(DATASET_PAGE_SIZE, DATASET_FIRST_PAGE_SIZE)  # size: "[", each item and its "," or "]"
        while True:
            left = max_bytes - size
            reply = self.transport.request(
                "GET",
                f"/v2/datasets/{dataset_id}/items",
                retry=True,
                params={"format": "json", "clean": "true", "offset": len(items), "limit": limit},
                max_bytes=(left if limit == 1 else min(left, DATASET_PAGE_BYTES)) + DATASET_SLACK_BYTES,
            )
            page = self._ok(reply)
            if not isinstance(page, list):
                raise ProviderUnavailable(
                    "Apify answered dataset items with something other than a list", retryable=True
                )
            for item in page:
                size += len(json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode()) + 1
                if size > max_bytes or (max_items is not None and len(items) >= max_items):
                    return items, True
                items.append(item)
            total = reply.headers.get("x-apify-pagination-total")
            if (not page and not reply.cut) or (total is not None and total.isdigit() and len(items) >= int(total)):
                return items, False
            if not page and limit == 1:  # cut before the one item asked for arrived whole: it cannot fit
                return items, True
            # Cut before any item arrived whole: that item alone next, with all the budget left to read it in.
            limit = (
                1
                if not page
                else _page_limit(budget=min(max_bytes - size, DATASET_PAGE_BYTES), average=(size - 1) // len(items))
            )

    def _ok(self, reply):
        if reply.status >= 300:
            raise ProviderUnavailable(
                f"Apify answered HTTP {reply.status}: {json.dumps(reply.body)[:500]}",
                retryable=reply.status == 429 or reply.status >= 500,
            )
        return reply.body

    def _progress(self, body) -> ProviderProgress:
        try:
            data = body["data"]
            status = data["status"]
            state = (
                ProviderProgress.STOPPED
                if status == "ABORTED"
                else ProviderProgress.FINISHED
                if status in TERMINAL
                else ProviderProgress.RUNNING
            )
            return ProviderProgress(
                run_id=data["id"],
                state=state,
                detail=status,
                actual_cost_micros=usd_to_micros(data.get("usageTotalUsd") or 0),
                handle=(status, data.get("statusMessage") or "", data.get("defaultDatasetId") or ""),
            )
        except (KeyError, TypeError) as exc:
            raise ProviderUnavailable("Apify answered with a run object we could not read", retryable=True) from exc


def _page_limit(*, budget: int, average: int) -> int:
    """How many items of about `average` bytes the next read asks for, to bring about `budget` bytes."""
    return max(1, min(DATASET_PAGE_SIZE, budget // max(1, average)))


def _sent(params: dict, stored) -> bool:
    """Whether `stored` is the input we send as `params`: the platform may add the actor's defaults to it."""
    return isinstance(stored, dict) and all(stored.get(key) == value for key, value in params.items())
