"""The provider health sampling's schedule, owned by the app whose task it runs.

Migration providers.0007 created it first (left as it was: applied migrations are history); this one asserts the
same schedule, by the same name, so that runs' own migrations create it whatever becomes of providers'."""

from django.db import migrations

NAME = "monid: sample provider health"


def create_schedule(apps, schema_editor):
    """Idempotent: after providers.0007, or migrating again, or on many machines, leaves exactly one schedule."""
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={"func": "runs.tasks.sample_endpoint_health", "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0020_run_settled_at"),
        ("providers", "0007_health_schedule"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    # Backwards, the schedule stays: providers.0007, still applied, made it, and its own reverse deletes it.
    operations = [migrations.RunPython(create_schedule, migrations.RunPython.noop)]
