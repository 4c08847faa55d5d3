from django.core.management.base import BaseCommand

from providers.emulators import server


class Command(BaseCommand):
    help = (
        "Serve the Apify and PDL emulators (keys sandbox-apify-token, sandbox-pdl-key), for benches and "
        "fault tests that point live keys at them with APIFY_API_BASE_URL and PDL_API_BASE_URL."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)

    def handle(self, *args, host, port, **options):
        server.serve_forever(host, port)
