"""Provider health per endpoint, from its recent runs, so that an agent choosing an endpoint can avoid a broken one.

The definitions (also in the README, "Provider health"):

- The window: the runs that ended in the last MONID_HEALTH_WINDOW_MINUTES (15). Live runs only: a test-mode run
  replays recorded fixtures, never the provider, so it says nothing about it; an endpoint without live runs is unknown.
- Counted: runs that ended COMPLETED, FAILED or TIME_OUT. STOPPED (the customer's choice) and BLOCKED (our spend
  controls; never sent) say nothing about the provider and do not count at all.
- A failure of the provider: the run FAILED or TIME_OUT, or the provider answered 5xx or 429. Any other answer,
  a 4xx such as PDL's 404 "no match" or a 400 for bad input included, is the client's business: a success.
- Duration: completed_at - started_at (created_at for a run never started); the median and p95 are nearest-rank
  percentiles (the ceil(p% x n)-th shortest) of the counted runs.
- The state: `unknown` below MONID_HEALTH_MIN_RUNS (5) counted runs; `outage` when fewer than
  MONID_HEALTH_OUTAGE_BELOW_PERCENT (50) % of them succeeded; `degraded` when fewer than
  MONID_HEALTH_DEGRADED_BELOW_PERCENT (95) % did, or when the p95 duration passes MONID_HEALTH_SLOW_PERCENT (50) %
  of the endpoint's own deadline; else `healthy`.

A sampling (every minute: runs.tasks, scheduled by migration runs.0021; providers.0007 created the schedule first)
stores, through providers.services, one EndpointHealthSample, all at the same time, per endpoint with a live run
recent enough to have ended in the window, counted or not yet or no longer (so the sampling after an endpoint's last
run leaves the window says `unknown`), and deletes those older than a week. Readers take the newest sampling: an
endpoint missing from it has had no live run for long, and a sampling older than STALE_WINDOWS windows (no cluster
is sampling) says nothing about now, so both are unknown.

providers.health reads the samples (for discover, inspect and the operators' page); this module, in runs
because it reads runs, computes them, and providers.services stores them.
"""

import datetime
from collections import defaultdict

from django.conf import settings
from django.db.models import Count, F, FloatField, Func, Max, Q, Window
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from providers.health import State, health_window
from providers.models import Endpoint, EndpointHealthSample
from providers.services import endpoint_health_samples_record

from .models import Run
from .queries import run_id_at

COUNTED = [Run.Status.COMPLETED, Run.Status.FAILED, Run.Status.TIME_OUT]
PROVIDER_FAILED = (
    Q(status__in=[Run.Status.FAILED, Run.Status.TIME_OUT])
    | Q(provider_http_status__gte=500)
    | Q(provider_http_status=429)
)
PERCENTILES = (50, 95)
# A run ends TIME_OUT at the first step after its deadline, or once the reconciler finds it stalled: this late at most.
LATE_END = datetime.timedelta(minutes=5)


def health_state(*, counted: int, successes: int, p95_ms: int | None, deadline_seconds: int) -> str:
    """The module docstring's verdict on one endpoint's figures."""
    if counted < settings.MONID_HEALTH_MIN_RUNS:
        return State.UNKNOWN
    if successes * 100 < counted * settings.MONID_HEALTH_OUTAGE_BELOW_PERCENT:
        return State.OUTAGE
    slow_ms = deadline_seconds * 1000 * settings.MONID_HEALTH_SLOW_PERCENT // 100
    if successes * 100 < counted * settings.MONID_HEALTH_DEGRADED_BELOW_PERCENT or p95_ms > slow_ms:
        return State.DEGRADED
    return State.HEALTHY


def endpoint_health_compute(*, now: datetime.datetime) -> list[EndpointHealthSample]:
    """Every recently used endpoint's health over the window ending `now`, unsaved (its `endpoint` and provider
    loaded), in five queries however many runs there are."""
    since = now - health_window()
    # A run that ended in the window was made at most its deadline (and LATE_END) before: that bounds the run ids
    # to read, so the primary key's index finds them however many older runs there are.
    longest = datetime.timedelta(seconds=Endpoint.objects.aggregate(longest=Max("deadline_seconds"))["longest"] or 0)
    recent = Run.objects.order_by().filter(pk__gte=run_id_at(since - longest - LATE_END), is_test=False)
    counted = Q(completed_at__gte=since, status__in=COUNTED)
    # An endpoint whose runs have all left the window (or are still in flight) keeps a row, counting none, for a
    # while: so the newest sampling says it is unknown, even when that sampling has nothing else to say.
    figures = list(
        recent.values("endpoint_id").annotate(
            counted=Count("pk", filter=counted), failures=Count("pk", filter=counted & PROVIDER_FAILED)
        )
    )
    durations = _durations_at_percentiles(recent.filter(counted))
    endpoints = Endpoint.objects.select_related("provider").in_bulk([row["endpoint_id"] for row in figures])
    samples = []
    for row in figures:
        endpoint, successes = endpoints[row["endpoint_id"]], row["counted"] - row["failures"]
        median_ms, p95_ms = durations.get(endpoint.pk, (None, None))
        samples.append(
            EndpointHealthSample(
                endpoint=endpoint,
                at=now,
                counted=row["counted"],
                successes=successes,
                median_ms=median_ms,
                p95_ms=p95_ms,
                state=health_state(
                    counted=row["counted"],
                    successes=successes,
                    p95_ms=p95_ms,
                    deadline_seconds=endpoint.deadline_seconds,
                ),
            )
        )
    return sorted(samples, key=lambda sample: (sample.endpoint.provider.slug, sample.endpoint.path))


class ElapsedMs(Func):
    """Milliseconds from the second datetime to the first, in each database's own arithmetic: on SQLite, Django's
    datetime subtraction calls a Python function for each row, which made sampling several times slower."""

    output_field = FloatField()
    template = "EXTRACT(EPOCH FROM %(expressions)s) * 1000"
    arg_joiner = " - "

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="(julianday(%(expressions)s)) * 86400000",
            arg_joiner=") - julianday(",
            **extra_context,
        )


def _durations_at_percentiles(runs) -> dict[int, list[int]]:
    """Each endpoint's PERCENTILES of the duration of `runs`, in milliseconds, one query each. The database ranks
    each endpoint's runs by duration (a window function, on SQLite and PostgreSQL alike) and sends back only the
    runs at those ranks, so memory and traffic stay the same however many runs there are."""
    ranked = runs.annotate(
        duration=ElapsedMs("completed_at", Coalesce("started_at", "created_at")),
        rank=Window(RowNumber(), partition_by=F("endpoint_id"), order_by=F("duration").asc()),
        of=Window(Count("pk"), partition_by=F("endpoint_id")),
    )
    found = defaultdict(list)
    for percentile in PERCENTILES:
        # ceil(p% x n) in integer arithmetic, which both databases do alike
        at_rank = ranked.filter(rank=(F("of") * percentile + 99) / 100)
        for endpoint_id, duration in at_rank.values_list("endpoint_id", "duration"):
            found[endpoint_id].append(round(duration))
    return found


def endpoint_health_sample(*, now: datetime.datetime | None = None) -> list[EndpointHealthSample]:
    """Computes and stores every endpoint's health now; providers forgets the old samples. Running twice is
    harmless: the second sampling is merely the newer."""
    now = now or timezone.now()
    samples = endpoint_health_compute(now=now)
    endpoint_health_samples_record(samples=samples, now=now)
    return samples
