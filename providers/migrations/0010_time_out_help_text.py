from django.db import migrations, models


class Migration(migrations.Migration):
    """Help texts only: a run past its deadline now ends TIME_OUT (runs.0019)."""

    dependencies = [("providers", "0009_provider_credential")]

    operations = [
        migrations.AlterField(
            model_name="endpoint",
            name="deadline_seconds",
            field=models.PositiveIntegerField(
                default=600, help_text="A run still unfinished this long after it was created ends TIME_OUT, uncharged"
            ),
        ),
        migrations.AlterField(
            model_name="endpointhealthsample",
            name="counted",
            field=models.PositiveIntegerField(
                help_text="Live runs that ended in the window COMPLETED, FAILED or TIME_OUT"
            ),
        ),
    ]
