from django.conf import settings
from django.core.management.base import BaseCommand

from providers.adapters import SANDBOX_CREDENTIALS
from providers.emulators import server


class Command(BaseCommand):
    help = "Serve the built-in Apify and PDL emulators that test-mode (monid_test_) keys talk to."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=int(settings.MONID_SANDBOX_URL.rsplit(":", 1)[-1]))

    def handle(self, *args, host, port, **options):
        server.serve_forever(host, port, pdl_key=SANDBOX_CREDENTIALS["pdl"],
                             apify_token=SANDBOX_CREDENTIALS["apify"])
