"""The daily cost rollup is kept per provider, endpoint and terminal status too.

Rows written before this have empty provider, endpoint and status; migration runs.0009 rebuilds them all from
the runs (billing knows nothing of runs, so it cannot).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("billing", "0005_spend_controls")]

    operations = [
        migrations.RemoveConstraint(model_name="keydailycost", name="billing_keydailycost_one_row_per_key_day"),
        migrations.RemoveIndex(model_name="keydailycost", name="billing_keydailycost_day"),
        migrations.AddField(
            model_name="keydailycost",
            name="provider",
            field=models.CharField(default="", help_text="The provider's slug", max_length=50),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="keydailycost",
            name="endpoint",
            field=models.CharField(default="", help_text="The endpoint's path", max_length=200),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="keydailycost",
            name="status",
            field=models.CharField(default="", help_text="The runs' terminal status", max_length=10),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="keydailycost", name="day", field=models.DateField(help_text="The UTC day the runs ended")
        ),
        migrations.AddConstraint(
            model_name="keydailycost",
            constraint=models.UniqueConstraint(
                fields=("day", "api_key", "provider", "endpoint", "status"),
                name="billing_keydailycost_one_row_per_group",
            ),
        ),
    ]
