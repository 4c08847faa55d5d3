from django.core.management.base import BaseCommand

from providers.services import catalog_seed


class Command(BaseCommand):
    help = "Load the default provider and endpoint catalog (safe to run again)."

    def handle(self, *args, **options):
        providers, endpoints = catalog_seed()
        self.stdout.write(f"Catalog loaded: {providers} providers, {endpoints} endpoints.")
