import signal
import threading

from django.core.management.base import BaseCommand

from runs.background import loop


class Command(BaseCommand):
    help = (
        "Hands async runs whose next step (the start, a status check) is due to the django-q2 workers, "
        "settles ended runs and resumes stalled ones, as each qcluster does unless MONID_DISPATCH_IN_WORKER=0. "
        "More are safe on PostgreSQL; Ctrl-C or SIGTERM stops it."
    )

    def handle(self, *args, **options):
        stopping = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopping.set())
        self.stderr.write("Dispatching due runs…")
        loop(stopping)
