"""Provider health per endpoint, as agents and operators read it: the newest sampling that runs.health made from
the endpoint's recent runs (whose docstring, and the README's "Provider health", define the states), and each
endpoint's history over the last day.

Agents are told it in the words of Monid's own API (`metrics.status`), which has one more than our states:
`healthy`, `degraded` and `outage` are the newest sampling's state, when it knows one (a live signal); without one
(too few runs in the window, no recent run, or no recent sampling), the newest known state of the last
HISTORY_HOURS says `stable` when it was healthy (clean recent history, no live signal) and `degraded` when it was
degraded or an outage (errors of late, none seen now); with neither, nothing is known and no status is given.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, Max, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import TruncHour
from django.utils import timezone

from .models import Endpoint, EndpointHealthSample

State = EndpointHealthSample.State
STALE_WINDOWS = 2
HISTORY_HOURS = 24
SEVERITY = {State.UNKNOWN: 0, State.HEALTHY: 1, State.DEGRADED: 2, State.OUTAGE: 3}
ONE_HOUR = datetime.timedelta(hours=1)
HEALTHY, STABLE, DEGRADED, OUTAGE = "healthy", "stable", "degraded", "outage"  # Monid's words, best first
STATUSES = (HEALTHY, STABLE, DEGRADED, OUTAGE)


def health_window() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.MONID_HEALTH_WINDOW_MINUTES)


def _fresh_samples(*, now: datetime.datetime) -> QuerySet:
    """Samples recent enough to say something about now."""
    return EndpointHealthSample.objects.filter(at__gte=now - STALE_WINDOWS * health_window())


def _newest_samples(*, now: datetime.datetime) -> QuerySet:
    """The samples of the newest sampling, or none when it is stale."""
    fresh = _fresh_samples(now=now)
    return fresh.filter(at=Subquery(fresh.order_by("-at").values("at")[:1]))


@dataclass(frozen=True)
class Health:
    """What agents are told of an endpoint: its status in Monid's words (None: nothing known), and the median and
    p95 durations of the runs that status was judged on."""

    status: str | None = None
    median_ms: int | None = None
    p95_ms: int | None = None


def endpoints_health(endpoints: list[Endpoint], *, now: datetime.datetime | None = None) -> dict[int, Health]:
    """Each endpoint's Health (by id), as the module docstring maps our states onto Monid's words, in one query for
    them all: each endpoint's newest known sample of the last HISTORY_HOURS, and when the newest sampling was."""
    now = now or timezone.now()
    known = EndpointHealthSample.objects.filter(at__gte=now - HISTORY_HOURS * ONE_HOUR).exclude(state=State.UNKNOWN)
    newest_known = known.filter(endpoint=OuterRef("pk")).order_by("-at").values("pk")[:1]
    ids = Endpoint.objects.filter(pk__in=[endpoint.pk for endpoint in endpoints]).values(sample=newest_known)
    live_at = Subquery(_fresh_samples(now=now).order_by("-at").values("at")[:1])
    health = {endpoint.pk: Health() for endpoint in endpoints}
    for sample in known.filter(pk__in=ids).annotate(live_at=live_at):
        if sample.at == sample.live_at:  # the newest sampling knows its state: a live signal
            status = sample.state
        else:
            status = STABLE if sample.state == State.HEALTHY else DEGRADED
        health[sample.endpoint_id] = Health(status, sample.median_ms, sample.p95_ms)
    return health


def endpoints_in_outage_count(*, now: datetime.datetime | None = None) -> int:
    """How many endpoints the newest sampling finds in outage: discover leaves them out, or ranks them last."""
    return _newest_samples(now=now or timezone.now()).filter(state=State.OUTAGE).count()


def endpoint_health_board(*, now: datetime.datetime) -> list[dict]:
    """The operators' table: each endpoint sampled in the last HISTORY_HOURS, worst first, with its `sample` of
    the newest sampling (None: unknown now), `state`, and `history`, one {hour, state} per hour, oldest first: the
    worst state sampled in that hour, None when there was no sample."""
    first_hour = now.replace(minute=0, second=0, microsecond=0) - (HISTORY_HOURS - 1) * ONE_HOUR
    worst = Max(Case(*(When(state=state, then=Value(severity)) for state, severity in SEVERITY.items())))
    hours = (
        EndpointHealthSample.objects.filter(at__gte=first_hour, at__lte=now)
        .annotate(hour=TruncHour("at"))
        .values("endpoint_id", "hour")
        .annotate(worst=worst)
        .order_by()
    )
    by_severity = {severity: state for state, severity in SEVERITY.items()}
    history = defaultdict(lambda: [None] * HISTORY_HOURS)
    for row in hours:
        history[row["endpoint_id"]][(row["hour"] - first_hour) // ONE_HOUR] = by_severity[row["worst"]]
    newest = {sample.endpoint_id: sample for sample in _newest_samples(now=now)}
    rows = [
        {
            "endpoint": endpoint,
            "sample": newest.get(endpoint.pk),
            "state": newest[endpoint.pk].state if endpoint.pk in newest else State.UNKNOWN,
            "history": [
                {"hour": first_hour + n * ONE_HOUR, "state": state} for n, state in enumerate(history[endpoint.pk])
            ],
        }
        for endpoint in Endpoint.objects.select_related("provider").filter(pk__in=list(history))
    ]
    return sorted(rows, key=lambda row: (-SEVERITY[row["state"]], row["endpoint"].provider.slug, row["endpoint"].path))


def health_table(samples: list[EndpointHealthSample]) -> str:
    """The samples as a plain-text table (endpoint, state, runs, success %, median, p95), for a terminal."""
    if not samples:
        return "None: every endpoint is unknown."
    names = [f"{sample.endpoint.provider.slug} {sample.endpoint.path}" for sample in samples]
    width = max(len("endpoint"), *map(len, names))
    lines = [f"{'endpoint':<{width}}  {'state':<8}  {'runs':>6}  {'success':>7}  {'median':>9}  {'p95':>9}"]
    for name, sample in zip(names, samples):
        success = "-" if sample.success_percent is None else f"{sample.success_percent:.1f}%"
        median, p95 = ("-" if ms is None else f"{ms} ms" for ms in (sample.median_ms, sample.p95_ms))
        lines.append(f"{name:<{width}}  {sample.state:<8}  {sample.counted:>6}  {success:>7}  {median:>9}  {p95:>9}")
    return "\n".join(lines)
