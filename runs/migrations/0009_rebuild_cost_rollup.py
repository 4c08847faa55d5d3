"""The daily cost rollup, now kept per provider, endpoint and status too (billing.0006), rebuilt from the runs.

Rows written before billing.0006 have none of the three, and billing cannot fill them in: it knows nothing of
runs. Runs know both, so the rebuild is here, with the historical models and the same code as
runs.services.cost_rollup_rebuild.
"""

from django.db import migrations
from django.db.models import Sum

from runs.rollup import cost_rollup_build

# Run.TERMINAL when this was written: a migration must not follow the code as it changes.
TERMINAL = ("COMPLETED", "FAILED", "BLOCKED", "STOPPED", "TIMED_OUT")


def rebuild(apps, schema_editor):
    cost_rollup_build(
        run_model=apps.get_model("runs", "Run"),
        rollup_model=apps.get_model("billing", "KeyDailyCost"),
        statuses=TERMINAL,
    )


def one_row_per_key_and_day(apps, schema_editor):
    """Backwards: the rows of each key and day summed into one, as the rollup was before billing.0006."""
    KeyDailyCost = apps.get_model("billing", "KeyDailyCost")
    fields = ("run_count", "calculated_cost_micros", "actual_cost_micros", "reported_cost_micros")
    merged = [
        KeyDailyCost(
            api_key_id=row["api_key_id"],
            day=row["day"],
            provider="",
            endpoint="",
            status="",
            **{field: row[f"sum_{field}"] for field in fields},
        )
        for row in KeyDailyCost.objects.order_by()
        .values("api_key_id", "day")
        .annotate(**{f"sum_{field}": Sum(field) for field in fields})
    ]
    KeyDailyCost.objects.all().delete()
    KeyDailyCost.objects.bulk_create(merged, batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [("runs", "0008_blocked_controls"), ("billing", "0006_keydailycost_groups")]

    operations = [migrations.RunPython(rebuild, one_row_per_key_and_day)]
