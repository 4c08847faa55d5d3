"""Prometheus metrics at /metrics: counters and histograms of what happens (requests, runs ended, provider calls,
reconciler resumptions), and gauges read from the database and the broker at scrape time (queue, runs in flight,
wallets), so those are right whichever process serves the scrape.

With PROMETHEUS_MULTIPROC_DIR in the environment (it must be there before the process starts), prometheus-client
keeps each process's counts in files there and a scrape adds up the files of every process of the machine: gunicorn's
workers and the qclusters' workers alike. Without it (tests, a laptop) counts stay in the process.

This module imports no app of ours at load time: the provider adapters import it, and the runs app imports them.
"""

import functools
import hmac
import logging
import os

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from .errors import error_body

logger = logging.getLogger("monid.metrics")

MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
# What a scrape adds up in multiprocess mode is the files; the metrics themselves then live in a registry never read.
_events = CollectorRegistry()
# Client-supplied methods are not labels: one made-up method per request would be one new series each.
HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
# Up to a minute: a sync provider's call, or `monid_run` waiting for a run, is answered within a request.
SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

HTTP_REQUESTS = Counter("monid_http_requests", "HTTP requests answered, by URL pattern, method and status",
                        ["route", "method", "status"], registry=_events)
HTTP_SECONDS = Histogram("monid_http_request_duration_seconds", "Time to answer an HTTP request, by URL pattern",
                         ["route", "method"], buckets=SECONDS_BUCKETS, registry=_events)
RUNS_ENDED = Counter("monid_runs_ended", "Runs ended, by provider, endpoint, live or test, the status they ended "
                     "in and the class of the provider's HTTP status (none: no answer)",
                     ["provider", "endpoint", "mode", "status", "http_class"], registry=_events)
RUN_COSTS = Counter("monid_run_cost_micros", "Costs of the runs ended, in micro-dollars: calculated (our price), "
                    "actual (what the provider billed us), reported (what the customer was charged)",
                    ["provider", "endpoint", "mode", "cost"], registry=_events)
PROVIDER_SECONDS = Histogram("monid_provider_request_duration_seconds", "Time of one HTTP request to a provider "
                             "(each retry is one), by operation and outcome (2xx…5xx, timeout, error)",
                             ["provider", "operation", "outcome"], buckets=SECONDS_BUCKETS, registry=_events)
RECONCILED = Counter("monid_reconciler_runs", "Runs the reconciler found stalled: resumed (async) or failed (sync)",
                     ["action"], registry=_events)


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


class StateCollector:
    """Gauges read at scrape time by a few queries, each over an index or a small table: the runs not ended (by
    status) and those not yet settled, the broker's waiting tasks, and the wallet table (one row per workspace;
    never the ledger)."""

    def collect(self):
        # Imported here: this module is imported by the adapters, which the runs app imports.
        from django.db.models import Sum
        from django.db.models.functions import Coalesce

        from billing.models import Wallet

        from . import ops

        now = timezone.now()
        runs = ops.runs_in_flight(now=now)
        yield _gauge("monid_runs_in_flight", "Runs not yet ended", runs["in_flight"])
        yield _gauge("monid_runs_due", "Async runs whose next step is due and not yet handed to a worker", runs["due"])
        yield _gauge("monid_runs_due_oldest_seconds", "How long the longest-waiting due run has waited (0: none)",
                     runs["oldest_due_seconds"] or 0)
        yield _gauge("monid_runs_stepping", "Async runs a worker is stepping at this moment", runs["stepping"])
        settlement = ops.runs_to_settle(now=now)
        yield _gauge("monid_runs_to_settle", "Runs ended whose hold the settler has not yet released and charged",
                     settlement["count"])
        yield _gauge("monid_settlement_lag_seconds", "How long ago the oldest run still to settle ended (0: the "
                     "settler has caught up)", settlement["lag_seconds"])
        broker = ops.broker_state()
        yield _gauge("monid_queue_up", "1 when the django-q2 broker answered this scrape, else 0", "error" not in broker)
        if "error" not in broker:
            yield _gauge("monid_queue_tasks", "Tasks waiting in the django-q2 broker", broker["queued"])
            yield _gauge("monid_queue_oldest_task_age_seconds", "Seconds since the oldest waiting task was queued "
                         "(0: none waits)", queue_oldest_age_seconds(now=now))
        wallets = Wallet.objects.aggregate(balance=Coalesce(Sum("balance_micros"), 0),
                                           held=Coalesce(Sum("held_micros"), 0))
        yield _gauge("monid_wallets_balance_micros", "Sum of every wallet's balance, in micro-dollars",
                     wallets["balance"])
        yield _gauge("monid_wallets_held_micros", "Sum held on every wallet for live runs in flight, in micro-dollars",
                     wallets["held"])


def _gauge(name: str, documentation: str, value) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))


def queue_oldest_age_seconds(*, now) -> float:
    """How long the task at the head of our queue has waited since it was queued: Redis keeps a list, the ORM
    broker a table whose oldest waiting row is the lowest id; each task carries the time it was queued."""
    from django_q.brokers.orm import ORM
    from django_q.signing import SignedPackage

    from runs import queue

    broker = queue.broker()
    if isinstance(broker, ORM):
        payload = (broker.get_connection().filter(key=broker.list_key, lock__lte=now).order_by("pk")
                   .values_list("payload", flat=True).first())
    else:
        payload = broker.connection.lindex(broker.list_key, 0)
    return max(0.0, (now - SignedPackage.loads(payload)["started"]).total_seconds()) if payload else 0.0


@functools.cache
def _registry_scraped() -> CollectorRegistry:
    """The events (this process's, or every process's files) and the state read at scrape time."""
    if MULTIPROCESS_DIR:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=MULTIPROCESS_DIR)
    else:
        registry = _events
    registry.register(StateCollector())
    return registry


@never_cache
@require_safe
def metrics_page(request):
    """Prometheus's scrape: `Authorization: Bearer <MONID_METRICS_TOKEN>`; 404 while no token is set (off)."""
    token = settings.MONID_METRICS_TOKEN
    if not token:
        raise Http404("Metrics are off: set MONID_METRICS_TOKEN.")
    if not hmac.compare_digest(request.headers.get("Authorization", "").encode(), f"Bearer {token}".encode()):
        return JsonResponse(error_body(401, "Send the header 'Authorization: Bearer <MONID_METRICS_TOKEN>'."),
                            status=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    encoder, content_type = choose_encoder(request.headers.get("Accept"))
    return HttpResponse(encoder(_registry_scraped()), content_type=content_type)

