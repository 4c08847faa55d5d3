from django.core.management.base import BaseCommand, CommandError

from providers.engine.loader import ConnectorError
from providers.services import catalog_import


class Command(BaseCommand):
    help = (
        "Load a connector folder (one with a provider.yaml), or every connector folder under PATH, into the "
        "catalog. Safe to run again: operators' prices and switches are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")

    def handle(self, *args, path, **options):
        try:
            providers, endpoints = catalog_import(folder=path)
        except ConnectorError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Catalog loaded from {path}: {providers} providers, {endpoints} endpoints.")
