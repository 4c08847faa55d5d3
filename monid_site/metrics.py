"""Prometheus counters and histograms of what happens (requests, runs ended, provider calls, reconciler
resumptions), which the apps count into. The page at /metrics, and the gauges it reads from the apps' tables at
scrape time, are ops.metrics's.

With PROMETHEUS_MULTIPROC_DIR in the environment (it must be there before the process starts), prometheus-client
keeps each process's counts in files there and a scrape adds up the files of every process of the machine: gunicorn's
workers and the qclusters' workers alike. Without it (tests, a laptop) counts stay in the process.
"""

import functools
import logging
import os

from prometheus_client import CollectorRegistry, Counter, Histogram

logger = logging.getLogger("monid.metrics")

MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
# What a scrape adds up in multiprocess mode is the files; the metrics themselves then live in a registry never read.
EVENTS = CollectorRegistry()
# Client-supplied methods are not labels: one made-up method per request would be one new series each.
HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
# Up to a minute: a sync provider's call, or `monid_run` waiting for a run, is answered within a request.
SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

HTTP_REQUESTS = Counter(
    "monid_http_requests",
    "HTTP requests answered, by URL pattern, method and status",
    ["route", "method", "status"],
    registry=EVENTS,
)
HTTP_SECONDS = Histogram(
    "monid_http_request_duration_seconds",
    "Time to answer an HTTP request, by URL pattern",
    ["route", "method"],
    buckets=SECONDS_BUCKETS,
    registry=EVENTS,
)
RUNS_ENDED = Counter(
    "monid_runs_ended",
    "Runs ended, by provider, endpoint, live or test, the status they ended "
    "in and the class of the provider's HTTP status (none: no answer)",
    ["provider", "endpoint", "mode", "status", "http_class"],
    registry=EVENTS,
)
RUN_COSTS = Counter(
    "monid_run_cost_micros",
    "Costs of the runs ended, in micro-dollars: calculated (our price), "
    "actual (what the provider billed us), reported (what the customer was charged)",
    ["provider", "endpoint", "mode", "cost"],
    registry=EVENTS,
)
PROVIDER_SECONDS = Histogram(
    "monid_provider_request_duration_seconds",
    "Time of one HTTP request to a provider (each retry is one), by operation and outcome (2xx…5xx, timeout, error)",
    ["provider", "operation", "outcome"],
    buckets=SECONDS_BUCKETS,
    registry=EVENTS,
)
RECONCILED = Counter(
    "monid_reconciler_runs",
    "Runs the reconciler found stalled: resumed (async) or failed (sync)",
    ["action"],
    registry=EVENTS,
)


def _never_fails(count):
    """A count that cannot be written (a full disk under PROMETHEUS_MULTIPROC_DIR, a bug here) is logged and
    lost: it must never fail, or roll back, what it counts."""

    @functools.wraps(count)
    def counting(*args, **kwargs):
        try:
            count(*args, **kwargs)
        except Exception:
            logger.exception("A metric could not be counted")

    return counting


def route_of(request) -> str:
    """The URL pattern a request matched (`v1/runs/<str:run_id>`), never its path, whose ids would make a series
    each; "unrouted" when it matched none (an unknown path, or a static file answered before routing)."""
    match = getattr(request, "resolver_match", None)
    return match.route if match else "unrouted"


@_never_fails
def request_observed(request, response, seconds: float) -> None:
    route, method = route_of(request), request.method if request.method in HTTP_METHODS else "other"
    HTTP_REQUESTS.labels(route, method, response.status_code).inc()
    HTTP_SECONDS.labels(route, method).observe(seconds)


def http_class(status: int | None) -> str:
    return f"{status // 100}xx" if status else "none"


@_never_fails
def run_ended(run) -> None:
    """Counts a run that has just ended, and its costs; called once per run, by the one that ended it."""
    labels = (run.endpoint.provider.slug, run.endpoint.path, "test" if run.is_test else "live")
    RUNS_ENDED.labels(*labels, run.status, http_class(run.provider_http_status)).inc()
    for cost in ("calculated", "actual", "reported"):
        RUN_COSTS.labels(*labels, cost).inc(getattr(run, f"{cost}_cost_micros"))


@_never_fails
def provider_request_observed(*, provider: str, operation: str, outcome: str, seconds: float) -> None:
    PROVIDER_SECONDS.labels(provider, operation, outcome).observe(seconds)


@_never_fails
def runs_reconciled(counts: dict) -> None:
    """Counts what one reconciler sweep did (runs_reconcile's answer)."""
    for action in ("resumed", "failed"):
        RECONCILED.labels(action).inc(counts[action])
