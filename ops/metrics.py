"""Prometheus's scrape at /metrics: the counters the apps keep (monid_site.metrics), and gauges read from the
database and the broker at scrape time (queue, runs in flight, wallets), so those are right whichever process serves
the scrape."""

import functools
import hmac

from django.conf import settings
from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_q.brokers.orm import ORM
from django_q.signing import SignedPackage
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from billing.models import Wallet
from monid_site import metrics
from monid_site.errors import error_body
from runs import queue

from . import queries


class StateCollector:
    """Gauges read at scrape time by a few queries, each over an index or a small table: the runs not ended (by
    status) and those not yet settled, the broker's waiting tasks, and the wallet table (one row per workspace;
    never the ledger)."""

    def collect(self):
        now = timezone.now()
        runs = queries.runs_in_flight(now=now)
        yield _gauge("monid_runs_in_flight", "Runs not yet ended", runs["in_flight"])
        yield _gauge("monid_runs_due", "Async runs whose next step is due and not yet handed to a worker", runs["due"])
        yield _gauge(
            "monid_runs_due_oldest_seconds",
            "How long the longest-waiting due run has waited (0: none)",
            runs["oldest_due_seconds"] or 0,
        )
        yield _gauge("monid_runs_stepping", "Async runs a worker is stepping at this moment", runs["stepping"])
        settlement = queries.runs_to_settle(now=now)
        yield _gauge(
            "monid_runs_to_settle",
            "Runs ended whose hold the settler has not yet released and charged",
            settlement["count"],
        )
        yield _gauge(
            "monid_settlement_lag_seconds",
            "How long ago the oldest run still to settle ended (0: the settler has caught up)",
            settlement["lag_seconds"],
        )
        broker = queries.broker_state()
        yield _gauge(
            "monid_queue_up", "1 when the django-q2 broker answered this scrape, else 0", "error" not in broker
        )
        if "error" not in broker:
            yield _gauge("monid_queue_tasks", "Tasks waiting in the django-q2 broker", broker["queued"])
            yield _gauge(
                "monid_queue_oldest_task_age_seconds",
                "Seconds since the oldest waiting task was queued (0: none waits)",
                queue_oldest_age_seconds(now=now),
            )
        wallets = Wallet.objects.aggregate(
            balance=Coalesce(Sum("balance_micros"), 0), held=Coalesce(Sum("held_micros"), 0)
        )
        yield _gauge(
            "monid_wallets_balance_micros", "Sum of every wallet's balance, in micro-dollars", wallets["balance"]
        )
        yield _gauge(
            "monid_wallets_held_micros",
            "Sum held on every wallet for live runs in flight, in micro-dollars",
            wallets["held"],
        )


def _gauge(name: str, documentation: str, value) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))


def queue_oldest_age_seconds(*, now) -> float:
    """How long the task at the head of our queue has waited since it was queued: Redis keeps a list, the ORM
    broker a table whose oldest waiting row is the lowest id; each task carries the time it was queued."""
    broker = queue.broker()
    if isinstance(broker, ORM):
        payload = (
            broker.get_connection()
            .filter(key=broker.list_key, lock__lte=now)
            .order_by("pk")
            .values_list("payload", flat=True)
            .first()
        )
    else:
        payload = broker.connection.lindex(broker.list_key, 0)
    return max(0.0, (now - SignedPackage.loads(payload)["started"]).total_seconds()) if payload else 0.0


@functools.cache
def _registry_scraped() -> CollectorRegistry:
    """The events (this process's, or every process's files) and the state read at scrape time."""
    if metrics.MULTIPROCESS_DIR:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=metrics.MULTIPROCESS_DIR)
    else:
        registry = metrics.EVENTS
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
        return JsonResponse(
            error_body(401, "Send the header 'Authorization: Bearer <MONID_METRICS_TOKEN>'."),
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    encoder, content_type = choose_encoder(request.headers.get("Accept"))
    return HttpResponse(encoder(_registry_scraped()), content_type=content_type)
