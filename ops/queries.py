"""What the operators' pages, the metrics' gauges, the probes and `doctor` read: the django-q2 broker and its
clusters, the runs in flight and to settle, and the tasks kept. Read-only; the same on the ORM broker (SQLite) and
Redis."""

import datetime
import logging

from django.db.models import Count, Max, Min, Q
from django_q.conf import Conf
from django_q.models import Failure, Success
from django_q.status import Stat

from monid_site.logs import redact
from runs import queue
from runs.models import Run

logger = logging.getLogger("monid.ops")

FAILURES_SHOWN = 20
RECONCILE_FUNC = "runs.tasks.reconcile_runs"  # the schedule migration runs.0004 creates
RECONCILE_GRACE = datetime.timedelta(minutes=1)


def broker_state() -> dict:
    """The broker, how many tasks wait in our queue and (ORM broker only: Redis does not say) how many a worker
    has taken and not yet acknowledged; or why the broker did not answer."""
    broker = queue.broker()
    try:
        return {
            "name": broker.info(),
            "queue": broker.list_key,
            "queued": broker.queue_size(),
            "taken": broker.lock_size(),
        }
    except Exception as exc:  # the page is most wanted when the broker is down: show the rest
        logger.warning("The queue page could not reach the broker: %r", exc)
        return {"error": type(exc).__name__}


def clusters_reporting(*, now: datetime.datetime) -> list[dict] | None:
    """Each qcluster that has reported lately, with the age of its last report; None when the reports cannot be
    read. django-q2 keeps a report for 3 seconds after each one, in Redis or (ORM broker) the cache, so a
    cluster that stopped or died drops off the list within seconds."""
    try:
        stats = Stat.get_all(broker=queue.broker())
    except Exception as exc:
        logger.warning("The queue page could not read the clusters' reports: %r", exc)
        return None
    return [
        {
            "host": stat.host,
            "id": stat.cluster_id,
            "status": stat.status,
            "workers": len(stat.workers),
            "up_seconds": stat.uptime() if stat.tob else None,
            "report_age_seconds": max(0.0, (now - stat.timestamp).total_seconds()),
        }
        for stat in sorted(stats, key=lambda stat: (stat.host, str(stat.cluster_id)))
    ]


def runs_in_flight(*, now: datetime.datetime) -> dict:
    """Runs not yet ended, in one query: how many, how many have a step due now and the longest one has waited,
    how many a worker holds at this moment, and how many wait for a later status check."""
    due = Q(next_step_at__lte=now)
    counts = Run.objects.filter(status__in=Run.IN_FLIGHT).aggregate(
        in_flight=Count("pk"),
        due=Count("pk", filter=due),
        oldest_due=Min("next_step_at", filter=due),
        stepping=Count("pk", filter=Q(lease_until__gt=now)),
        waiting=Count("pk", filter=Q(next_step_at__gt=now)),
    )
    oldest = counts.pop("oldest_due")
    return {**counts, "oldest_due_seconds": (now - oldest).total_seconds() if oldest else None}


def runs_to_settle(*, now: datetime.datetime) -> dict:
    """Runs ended and not yet settled, and how long ago the oldest ended: the settler's lag (0 when it has caught
    up). One query over the runs_run_to_settle index, which holds only those runs."""
    found = Run.objects.filter(settled_at__isnull=True, completed_at__isnull=False).aggregate(
        count=Count("pk"), oldest=Min("completed_at")
    )
    return {
        "count": found["count"],
        "lag_seconds": max(0.0, (now - found["oldest"]).total_seconds()) if found["oldest"] else 0.0,
    }


def successes_kept(*, now: datetime.datetime) -> dict | None:
    """Successful tasks in the last hour and the latest one's end; None when the cluster keeps none
    (Q_CLUSTER save_limit below 0: every run is its own record)."""
    if Conf.SAVE_LIMIT < 0:
        return None
    return Success.objects.aggregate(
        last_hour=Count("pk", filter=Q(stopped__gte=now - datetime.timedelta(hours=1))), latest=Max("stopped")
    )


def failures_newest(limit: int = FAILURES_SHOWN) -> list[dict]:
    """The newest failed tasks: function, name, when and the first line of the error. Never the task's
    arguments, nor the traceback."""
    failures = Failure.objects.order_by("-stopped").values("func", "name", "stopped", "result")[:limit]
    return [
        {
            "func": failure["func"],
            "name": failure["name"],
            "stopped": failure["stopped"],
            "error": error_first_line(failure["result"]),
        }
        for failure in failures
    ]


def error_first_line(result) -> str:
    """django-q2 stores a failure as "<error> : <traceback>": the error's first line, without secrets."""
    line = next(iter(str(result or "").splitlines()), "")
    return redact(line.removesuffix(" : Traceback (most recent call last):").strip())[:300]
