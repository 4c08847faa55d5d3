from django.core.management.base import BaseCommand, CommandError

from providers.engine.loader import ConnectorError
from providers.services import catalog_seed


class Command(BaseCommand):
    help = "Load the bundled connectors (providers/connectors/) into the catalog (safe to run again)."

    def handle(self, *args, **options):
        try:
            providers, endpoints = catalog_seed()
        except ConnectorError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Catalog loaded: {providers} providers, {endpoints} endpoints.")
