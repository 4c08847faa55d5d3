# Output retention (runs/retention.py): when a run's output was dropped, and an index of the runs still holding
# one, so the daily pruning reads only those. Nullable and without a default, the column is added without
# rewriting the table on either database.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("runs", "0011_run_list_indexes")]

    operations = [
        migrations.AddField(
            model_name="run", name="output_expired_at", field=models.DateTimeField(blank=True, null=True)
        ),
        migrations.AddIndex(
            model_name="run",
            index=models.Index(
                condition=models.Q(("output__isnull", False)), fields=["id"], name="runs_run_output_kept"
            ),
        ),
    ]
