import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def owned_by_their_runs_keys(apps, schema_editor):
    """An Idempotency-Key belongs to the API key of the run it made; one that made no run yet (a request in flight,
    or abandoned) is dropped: at worst a retry of that request makes its run anew."""
    IdempotencyKey, Run = apps.get_model("runs", "IdempotencyKey"), apps.get_model("runs", "Run")
    IdempotencyKey.objects.update(
        api_key_id=Subquery(Run.objects.filter(pk=OuterRef("run_id")).values("api_key_id")[:1])
    )
    IdempotencyKey.objects.filter(api_key__isnull=True).delete()


class Migration(migrations.Migration):
    """In two steps (with 0017), since PostgreSQL will not alter a table whose rows this transaction changed."""

    dependencies = [("billing", "0008_request_window"), ("runs", "0015_connectors")]

    operations = [
        migrations.AddField(
            model_name="idempotencykey",
            name="api_key",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="billing.apikey"
            ),
        ),
        migrations.RunPython(owned_by_their_runs_keys, migrations.RunPython.noop),
    ]
