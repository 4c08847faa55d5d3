import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    """created_at's value now comes from Python (run_create gives it) rather than auto_now_add: nothing changes in
    the database, so only Django's idea of the field changes (on SQLite a real AlterField would copy the table)."""

    dependencies = [("runs", "0013_prune_outputs_schedule")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="run",
                    name="created_at",
                    field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
                )
            ]
        )
    ]
