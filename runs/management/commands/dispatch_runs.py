import logging
import signal
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from monid_site import metrics
from runs.services import DISPATCH_BATCH, runs_dispatch, runs_reconcile, runs_settle

logger = logging.getLogger("monid.runs")

POLL_SECONDS = 0.02  # how late a new run or a due check can be handed out, at most


class Command(BaseCommand):
    help = ("Hands async runs whose next step (the start, a status check) is due to the django-q2 workers, "
            "settles ended runs (their holds released, their charges taken) and resumes stalled runs. "
            "Run one next to the workers (more are safe on PostgreSQL); Ctrl-C or SIGTERM stops it.")

    def handle(self, *args, **options):
        stopping = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopping.set())
        self.stderr.write("Dispatching due runs…")
        reconciled = 0.0
        while not stopping.is_set():
            try:
                if time.monotonic() - reconciled >= settings.MONID_RECONCILE_SECONDS:
                    metrics.runs_reconciled(runs_reconcile())
                    reconciled = time.monotonic()
                dispatched = runs_dispatch()
                settled = runs_settle()
            except DatabaseError:
                # A database restart must not end the process that keeps every async run moving.
                logger.exception("Dispatching runs failed; trying again in a second")
                close_old_connections()
                stopping.wait(1)
                continue
            if dispatched < DISPATCH_BATCH and not settled:  # under load, waiting a little fills the next tasks' batches
                stopping.wait(POLL_SECONDS)
