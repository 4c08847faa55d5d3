# Each endpoint's health, sampled every minute from its recent live runs (runs/health.py).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("providers", "0005_search")]

    operations = [
        migrations.CreateModel(
            name="EndpointHealthSample",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField()),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("healthy", "Healthy"),
                            ("degraded", "Degraded"),
                            ("outage", "Outage"),
                            ("unknown", "Unknown"),
                        ],
                        max_length=8,
                    ),
                ),
                (
                    "counted",
                    models.PositiveIntegerField(
                        help_text="Live runs that ended in the window COMPLETED, FAILED or TIMED_OUT"
                    ),
                ),
                (
                    "successes",
                    models.PositiveIntegerField(help_text="Those the provider did not fail (see runs.health)"),
                ),
                (
                    "median_ms",
                    models.PositiveIntegerField(
                        blank=True, help_text="The counted runs' median duration, in milliseconds", null=True
                    ),
                ),
                (
                    "p95_ms",
                    models.PositiveIntegerField(
                        blank=True, help_text="Their 95th percentile duration, in milliseconds", null=True
                    ),
                ),
                (
                    "endpoint",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="health_samples",
                        to="providers.endpoint",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["at"], name="providers_healthsample_at")],
                "constraints": [
                    models.UniqueConstraint(fields=("endpoint", "at"), name="providers_healthsample_one_per_time"),
                    models.CheckConstraint(
                        condition=models.Q(("successes__lte", models.F("counted"))),
                        name="providers_healthsample_successes_of_counted",
                    ),
                ],
            },
        )
    ]
