"""A run past its deadline ends TIME_OUT, Monid's spelling, which its CLI waits for; it was TIMED_OUT.

The runs stored with the old word are rewritten, and so is every other copy of it: the cost rollup's rows (billing
keeps the runs' statuses as strings) and the detail of the runs' "ended" timeline events, which starts with the
status. The check constraint, which allows one word or the other, is dropped while the rows change.
"""

from django.db import migrations, models
from django.db.models import Value
from django.db.models.functions import Replace


def rename(apps, old: str, new: str) -> None:
    apps.get_model("runs", "Run").objects.filter(status=old).update(status=new)
    apps.get_model("billing", "KeyDailyCost").objects.filter(status=old).update(status=new)
    apps.get_model("runs", "RunEvent").objects.filter(kind="ended", detail__startswith=old).update(
        detail=Replace("detail", Value(old), Value(new))
    )


def forwards(apps, schema_editor):
    rename(apps, "TIMED_OUT", "TIME_OUT")


def backwards(apps, schema_editor):
    rename(apps, "TIME_OUT", "TIMED_OUT")


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0010_apikey_expiry_limit_last_use"),
        ("providers", "0010_time_out_help_text"),
        ("runs", "0018_run_key_in_flight"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="run", name="runs_run_status_valid"),
        migrations.AlterField(
            model_name="run",
            name="status",
            field=models.CharField(
                choices=[
                    ("READY", "Ready"),
                    ("RUNNING", "Running"),
                    ("STOPPING", "Stopping"),
                    ("COMPLETED", "Completed"),
                    ("FAILED", "Failed"),
                    ("BLOCKED", "Blocked"),
                    ("STOPPED", "Stopped"),
                    ("TIME_OUT", "Time Out"),
                ],
                default="READY",
                max_length=10,
            ),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.AddConstraint(
            model_name="run",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    status__in=["READY", "RUNNING", "STOPPING", "COMPLETED", "FAILED", "BLOCKED", "STOPPED", "TIME_OUT"]
                ),
                name="runs_run_status_valid",
            ),
        ),
    ]
