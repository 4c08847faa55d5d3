from django.conf import settings
from django.core.management.base import BaseCommand

from providers.health import health_table
from runs.health import endpoint_health_sample


class Command(BaseCommand):
    help = (
        "Sample every endpoint's health now, as the scheduled task does every minute: store it (the API and "
        "/ops/providers/ read the newest sampling) and print it."
    )

    def handle(self, *args, **options):
        samples = endpoint_health_sample()
        self.stdout.write(f"Live runs ended in the last {settings.MONID_HEALTH_WINDOW_MINUTES} minutes:")
        self.stdout.write(health_table(samples))
