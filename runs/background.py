"""The loop that keeps runs moving: it hands due steps to the workers, settles ended runs (see
services.runs_settle) and resumes stalled runs. It runs in one worker process of each qcluster (started from
django-q2's post_spawn signal, see runs/apps.py), or in `manage.py dispatch_runs` processes of its own.

Busy, it comes round every POLL_SECONDS; idle, it sleeps until the earliest step booked, the next
reconcile, or a wake from queue.wake() (see queue.doorbell; where a wake cannot reach it, on PostgreSQL without
Redis, it looks again at most IDLE_MAX_SECONDS later).
"""

import fcntl
import logging
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.utils import timezone

from monid_site import metrics

from . import queue
from .models import Run
from .services import DISPATCH_BATCH, runs_dispatch, runs_reconcile, runs_settle

logger = logging.getLogger("monid.runs")

POLL_SECONDS = 0.02  # how late a new run or a due check can be handed out, at most, while runs keep coming
IDLE_MAX_SECONDS = 0.5  # where no wake reaches it, how late an idle loop notices a new run, at most
# Each runs every time round; each returns how much it did. More than 0 means work is coming in: the loop comes
# round again after POLL_SECONDS (which fills the next tasks' batches), at once after a full batch.
JOBS: list[Callable[[], int]] = [runs_dispatch, runs_settle]


def loop(stopping: threading.Event, jobs: list[Callable[[], int]] = JOBS) -> None:
    """Runs the jobs, and the reconciler every MONID_RECONCILE_SECONDS, until `stopping` is set."""
    with queue.doorbell() as doorbell:
        _rounds(stopping, jobs, doorbell)


def _rounds(stopping: threading.Event, jobs: list[Callable[[], int]], doorbell: queue.Doorbell) -> None:
    reconciled, idle_cap = -math.inf, POLL_SECONDS
    while not stopping.is_set():
        try:
            if time.monotonic() - reconciled >= settings.MONID_RECONCILE_SECONDS:
                metrics.runs_reconciled(runs_reconcile())
                reconciled = time.monotonic()
            done = [job() for job in jobs]
            if max(done, default=0) >= DISPATCH_BATCH:
                continue
            if any(done):
                idle_cap = POLL_SECONDS
                stopping.wait(POLL_SECONDS)
                continue
            # Where a wake arrives on new work, only booked steps and the reconciler bound the wait; elsewhere the
            # wait backs off, so a new run waits at most IDLE_MAX_SECONDS.
            reconcile_in = reconciled + settings.MONID_RECONCILE_SECONDS - time.monotonic()
            wait = min(reconcile_in, _next_step_in(), math.inf if doorbell.rings_on_work else idle_cap)
            idle_cap = min(2 * idle_cap, IDLE_MAX_SECONDS)
        except Exception:
            # Neither a database restart nor a bug may end what keeps every async run moving.
            logger.exception("Dispatching runs failed; trying again in a second")
            connection.close()
            stopping.wait(1)
            continue
        doorbell.wait(max(POLL_SECONDS, wait), stopping)


def _next_step_in() -> float:
    """Seconds until the earliest booked step (the partial index runs_run_step_due serves it)."""
    due = (
        Run.objects.filter(next_step_at__isnull=False)
        .order_by("next_step_at")
        .values_list("next_step_at", flat=True)
        .first()
    )
    return math.inf if due is None else (due - timezone.now()).total_seconds()


def start_in_worker(sender, proc_name: str, **kwargs) -> None:
    """post_spawn receiver, called in each new worker process of a qcluster. django-q2 sends it nowhere else,
    and one worker is enough: each worker starts a thread that waits for a lock held by the cluster's workers
    in turn, and the one that holds it runs the loop. The lock goes with its holder's death (recycled after
    500 tasks, killed on a timeout), and another worker's thread takes over the loop."""
    if settings.MONID_DISPATCH_IN_WORKER:
        threading.Thread(target=_loop_when_elected, name="run dispatcher", daemon=True).start()


def _loop_when_elected() -> None:
    # The sentinel, which spawned this worker and every other of its cluster, names the lock.
    path = os.path.join(tempfile.gettempdir(), f"monid-dispatcher-{os.getppid()}.lock")
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        logger.info("Dispatching due runs in worker %s", os.getpid())
        try:
            loop(threading.Event())  # stopped only with its process: the worker ends, or is killed
        finally:
            connection.close()
