"""The operators' queue health page: what waits in the django-q2 broker, which tasks failed, the runs in
flight and whether a cluster is alive. Read-only; the same on the ORM broker (SQLite) and Redis. And the provider
health page: each endpoint's health now and over the last day (providers.health)."""

import functools

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe
from django_q.models import Failure, Schedule

from providers.health import endpoint_health_board

from .queries import (
    RECONCILE_FUNC,
    RECONCILE_GRACE,
    broker_state,
    clusters_reporting,
    failures_newest,
    runs_in_flight,
    runs_to_settle,
    successes_kept,
)


def operator_page(view):
    """A page for operators: read-only, signed in, and a 404 for anyone else, as if it did not exist."""

    @require_safe
    @login_required
    @functools.wraps(view)
    def page(request):
        if not request.user.is_staff:
            raise Http404("No such page.")
        return view(request)

    return page


@operator_page
def queue_health(request):
    now = timezone.now()
    return render(
        request,
        "ops/queue.html",
        {
            "now": now,
            "broker": broker_state(),
            "clusters": clusters_reporting(now=now),
            "reconciler": Schedule.objects.filter(func=RECONCILE_FUNC).order_by("next_run").first(),
            # A live cluster's scheduler takes a due schedule within about half a minute: later than this, none does.
            "overdue_before": now - RECONCILE_GRACE,
            "runs": runs_in_flight(now=now),
            "settlement": runs_to_settle(now=now),
            "successes": successes_kept(now=now),
            "failure_count": Failure.objects.count(),
            "failures": failures_newest(),
        },
    )


@operator_page
def provider_health(request):
    now = timezone.now()
    return render(
        request,
        "ops/providers.html",
        {
            "now": now,
            "rows": endpoint_health_board(now=now),
            "window_minutes": settings.MONID_HEALTH_WINDOW_MINUTES,
            "min_runs": settings.MONID_HEALTH_MIN_RUNS,
            "outage_below": settings.MONID_HEALTH_OUTAGE_BELOW_PERCENT,
            "degraded_below": settings.MONID_HEALTH_DEGRADED_BELOW_PERCENT,
            "slow_percent": settings.MONID_HEALTH_SLOW_PERCENT,
        },
    )
