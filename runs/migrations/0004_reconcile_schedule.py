from django.db import migrations

NAME = "monid: reconcile stalled runs"


def create_schedule(apps, schema_editor):
    """Idempotent: migrating again, or on many machines, leaves exactly one schedule."""
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME, defaults={"func": "runs.tasks.reconcile_runs", "schedule_type": "I", "minutes": 1, "repeats": -1}
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0003_run_lease"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
