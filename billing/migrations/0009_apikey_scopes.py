from django.db import migrations, models


def scopes_as_before(apps, schema_editor):
    """Existing keys keep doing what they did: a live key everything, a test key all but manage."""
    apps.get_model("billing", "ApiKey").objects.filter(mode="live").update(scopes="runs catalog manage")


class Migration(migrations.Migration):
    dependencies = [("billing", "0008_request_window")]

    operations = [
        migrations.AddField(
            model_name="apikey", name="scopes", field=models.CharField(default="runs catalog", max_length=100)
        ),
        migrations.AddConstraint(
            model_name="apikey",
            constraint=models.CheckConstraint(
                condition=models.Q(("mode", "test"), ("scopes__contains", "manage"), _negated=True),
                name="billing_apikey_test_never_manages",
            ),
        ),
        # Last: PostgreSQL will not alter a table whose rows this transaction has changed.
        migrations.RunPython(scopes_as_before, migrations.RunPython.noop),
    ]
