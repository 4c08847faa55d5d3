import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("runs", "0016_idempotency_key_api_key")]

    operations = [
        migrations.RemoveConstraint(model_name="idempotencykey", name="runs_idempotencykey_one_per_workspace"),
        migrations.RemoveField(model_name="idempotencykey", name="workspace"),
        migrations.AlterField(
            model_name="idempotencykey",
            name="api_key",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="billing.apikey"),
        ),
        migrations.AddConstraint(
            model_name="idempotencykey",
            constraint=models.UniqueConstraint(fields=["api_key", "key"], name="runs_idempotencykey_one_per_api_key"),
        ),
    ]
