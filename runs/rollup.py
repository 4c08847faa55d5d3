"""The daily cost rollup (billing.KeyDailyCost) rebuilt from the runs themselves: runs sums them, billing's
service writes the rows.

A plain function of the models it is given, so that migration runs.0009 can pass its historical models and
runs.services.cost_rollup_rebuild the current ones: one piece of code, whichever calls it.
"""

import datetime

from django.db.models import Count, F, Sum
from django.db.models.functions import Coalesce, TruncDate

from billing.services import key_daily_costs_replace

BATCH = 2000


def cost_rollup_build(*, run_model, rollup_model, statuses) -> int:
    """Replaces every rollup row with the runs that ended (`statuses`), summed by key, UTC day, provider,
    endpoint and status in one grouped aggregate; returns how many rows it wrote.

    The day is the UTC date of completed_at, as run_finish records it; a run ended without one counts on the
    day it was created.
    """
    groups = (
        run_model.objects.filter(status__in=statuses)
        .order_by()
        .values(
            "api_key_id",
            "status",
            provider_slug=F("endpoint__provider__slug"),
            path=F("endpoint__path"),
            ended_on=TruncDate(Coalesce("completed_at", "created_at"), tzinfo=datetime.UTC),
        )
        .annotate(
            runs=Count("pk"),
            calculated=Sum("calculated_cost_micros"),
            actual=Sum("actual_cost_micros"),
            reported=Sum("reported_cost_micros"),
        )
    )
    rows = (
        {
            "api_key_id": group["api_key_id"],
            "day": group["ended_on"],
            "provider": group["provider_slug"],
            "endpoint": group["path"],
            "status": group["status"],
            "run_count": group["runs"],
            "calculated_cost_micros": group["calculated"],
            "actual_cost_micros": group["actual"],
            "reported_cost_micros": group["reported"],
        }
        for group in groups.iterator(chunk_size=BATCH)
    )
    return key_daily_costs_replace(groups=rows, rollup_model=rollup_model)
