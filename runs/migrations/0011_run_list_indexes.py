# The runs list's filters stay fast at 1,000,000 runs (bench/pages.py): an endpoint's runs newest first at any
# depth, and the rare provider HTTP classes (3xx, 5xx) without reading the runs of every other class.

from django.db import migrations, models

# The index Django made for the endpoint foreign key (its name is a hash of table and column, alike everywhere).
# The (endpoint, -id) index serves every lookup it served, so it goes, and a run insert maintains one index more,
# not two. Dropped by name: as an AlterField(db_index=False), SQLite would copy the whole table and PostgreSQL
# re-check every row's foreign key under a lock.
ENDPOINT_FK_INDEX = "runs_run_endpoint_id_82ecec25"


class Migration(migrations.Migration):
    dependencies = [("runs", "0010_run_events")]

    operations = [
        migrations.AddIndex(
            model_name="run", index=models.Index(fields=["endpoint", "-id"], name="runs_run_endpoint_newest")
        ),
        migrations.AddIndex(
            model_name="run", index=models.Index(fields=["provider_http_status", "-id"], name="runs_run_http_newest")
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="run",
                    name="endpoint",
                    field=models.ForeignKey(
                        db_index=False, on_delete=models.deletion.PROTECT, related_name="runs", to="providers.endpoint"
                    ),
                )
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{ENDPOINT_FK_INDEX}"',
                    reverse_sql=f'CREATE INDEX "{ENDPOINT_FK_INDEX}" ON "runs_run" ("endpoint_id")',
                )
            ],
        ),
    ]
