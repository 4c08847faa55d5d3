from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    """The rate limiter counts in Django's cache; without Redis that cache is a database table (a no-op otherwise)."""
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
