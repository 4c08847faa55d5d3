"""The django-q2 queue that async runs' steps go through, and the doorbell of the background loop
(runs/background.py), which hands due steps to it."""

import functools
import logging
import threading

from django.conf import settings
from django_q.brokers import get_broker
from django_q.tasks import async_task

logger = logging.getLogger("monid.runs")

# A list of at most one item: a ring while the loop is busy is still there when it next waits, and a thousand
# rings cost it one wake-up.
WAKE_KEY = f"django_q:{settings.Q_CLUSTER['name']}:wake"
# The longest a wait blocks Redis in one call: how late a stopping loop notices that it is asked to stop.
WAIT_SLICE_SECONDS = 1.0


@functools.cache
def broker():
    """One broker per process: left to itself, django-q2 opens a new Redis connection for every task queued."""
    return get_broker()


def enqueue(func: str, *args, name: str) -> None:
    async_task(func, *args, task_name=name, broker=broker())


def wake() -> None:
    """Tells the background loop that there is work: a step due now, or a run ended to settle (one Redis round
    trip, after the commit that made the work). Without Redis it does nothing:
    the loop looks often enough on its own. A Redis hiccup only costs the loop's idle wait, never the caller."""
    if not settings.REDIS_URL:
        return
    try:
        broker().connection.pipeline(transaction=False).lpush(WAKE_KEY, 1).ltrim(WAKE_KEY, 0, 0).execute()
    except Exception:
        logger.warning("Could not wake the run dispatcher; due runs wait for its next look", exc_info=True)


def wait_for_work(timeout: float, stopping: threading.Event) -> None:
    """Returns when woken, when `timeout` seconds have passed or soon after `stopping` is set."""
    if not settings.REDIS_URL:
        stopping.wait(timeout)
        return
    remaining = timeout
    while remaining > 0 and not stopping.is_set():
        chunk = min(remaining, WAIT_SLICE_SECONDS)
        try:
            if broker().connection.blpop([WAKE_KEY], timeout=chunk):
                return
        except Exception:
            logger.warning("Could not wait for work on Redis; looking again in %.1f s", remaining, exc_info=True)
            stopping.wait(remaining)
            return
        remaining -= chunk
