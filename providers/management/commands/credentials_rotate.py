from django.core.management.base import BaseCommand, CommandError

from providers.credentials import CredentialUnreadable, credentials_key_problem
from providers.services import provider_credentials_rotate


class Command(BaseCommand):
    help = (
        "Encrypt every provider credential set in the dashboard with the newest key of MONID_CREDENTIALS_KEY "
        "(its first), after which the older keys can be dropped from it."
    )

    def handle(self, *args, **options):
        problem = credentials_key_problem()
        if problem:
            raise CommandError(problem)
        try:
            count = provider_credentials_rotate()
        except CredentialUnreadable as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{count} credential(s) now encrypted with the newest key.")
