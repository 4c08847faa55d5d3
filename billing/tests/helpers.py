"""What many billing tests do: write rows of the daily cost rollup directly, or make a key with the command."""

import datetime
import io

from django.core.management import call_command

from billing.models import ApiKey, KeyDailyCost

FEB_10, FEB_11 = datetime.date(2025, 2, 10), datetime.date(2025, 2, 11)
# The cost summary's run counts, by status and in all, in the order its table, its CSV and its totals give them.
RUN_COUNTS = ["completed", "failed", "blocked", "stopped", "time_out", "runs"]


def rollup(
    label,
    *,
    day=FEB_10,
    provider="pdl",
    endpoint="/person/enrich",
    status="COMPLETED",
    runs=1,
    calculated=None,
    actual=0,
    reported=0,
):
    """One row of the daily rollup, as settling `runs` runs of the key labelled `label` would leave it. Unless
    said otherwise the runs were calculated what was reported, as a live key's charged runs are."""
    return KeyDailyCost.objects.create(
        api_key=ApiKey.objects.get(label=label),
        day=day,
        provider=provider,
        endpoint=endpoint,
        status=status,
        run_count=runs,
        calculated_cost_micros=reported if calculated is None else calculated,
        actual_cost_micros=actual,
        reported_cost_micros=reported,
    )


def create_api_key(*args: str) -> str:
    """The key that `manage.py create_api_key` makes in acme (alice's workspace) with these arguments prints."""
    out = io.StringIO()
    call_command("create_api_key", "--workspace", "acme", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()
