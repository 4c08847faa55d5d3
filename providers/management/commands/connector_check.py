from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from providers.engine.loader import ConnectorError, connector_load
from providers.engine.replay import fixture_replay
from providers.models import Endpoint, Provider


class Command(BaseCommand):
    help = (
        "Check a connector folder without loading it into the catalog: every file, and a strict replay of "
        "every fixture case. Exits 1 on the first bad file or on any case that does not replay."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")

    def handle(self, *args, path, **options):
        try:
            connector = connector_load(Path(path))
        except ConnectorError as exc:
            raise CommandError(str(exc)) from None
        provider = Provider(**connector.provider)
        failures = 0
        for spec in connector.endpoints:
            endpoint = Endpoint(provider=provider, **spec)
            for case in spec["fixtures"]:
                problems = fixture_replay(endpoint, case)
                failures += bool(problems)
                self.stdout.write(f"{'FAIL' if problems else 'ok  '} {endpoint.path} {case}")
                for problem in problems:
                    self.stdout.write(f"       {problem}")
        if failures:
            raise CommandError(f"{failures} fixture case(s) do not replay.")
        self.stdout.write(f"{provider.slug}: {len(connector.endpoints)} endpoints, every case replays.")
