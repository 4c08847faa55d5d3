"""The django-q2 queue that async runs' steps go through, and the doorbell of the background loop
(runs/background.py), which hands due steps to it.

The doorbell is a Redis list where Redis is the broker. Without Redis each loop listens on a Unix datagram
socket of its own, in a folder that every process of the deployment on this machine finds from its database
and queue names, and wake() rings every socket there. That reaches every loop on SQLite, whose deployments are
one machine; on PostgreSQL without Redis, loops on other machines look for work on their own."""

import contextlib
import functools
import hashlib
import logging
import os
import select
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django_q.brokers import get_broker, orm
from django_q.conf import Conf
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
    """Tells the background loops that there is work: a step due now, or a run ended to settle, after the commit
    that made it. A failure only costs a loop's idle wait, never the caller."""
    try:
        if settings.REDIS_URL:
            broker().connection.pipeline(transaction=False).lpush(WAKE_KEY, 1).ltrim(WAKE_KEY, 0, 0).execute()
        else:
            _sockets_ring("loop")
    except Exception:
        logger.warning("Could not wake the run dispatcher; due runs wait for its next look", exc_info=True)


class Doorbell(NamedTuple):
    # Returns when woken, when `timeout` seconds have passed or soon after `stopping` is set.
    wait: Callable[[float, threading.Event], None]
    # Whether every wake() reaches it, so that its loop, idle, need not look for work on its own.
    rings_on_work: bool


@contextlib.contextmanager
def doorbell() -> Iterator[Doorbell]:
    """One background loop's doorbell, for as long as the loop runs."""
    if settings.REDIS_URL:
        yield Doorbell(functools.partial(_sliced, _redis_rung), rings_on_work=True)
        return
    bell, path = _socket_bound("loop", f"{os.getpid()}-{threading.get_ident()}")
    if bell is None:
        yield Doorbell(lambda timeout, stopping: stopping.wait(timeout), rings_on_work=False)
        return
    try:
        rung = functools.partial(_socket_rung, bell)
        yield Doorbell(functools.partial(_sliced, rung), rings_on_work=connection.vendor == "sqlite")
    finally:
        bell.close()
        with contextlib.suppress(OSError):
            os.unlink(path)


class RungOrmBroker(orm.ORM):
    """django-q2's ORM broker with a doorbell, for deployments without Redis: a task queued rings the pushers of
    this machine's qclusters once it is committed, and a pusher with nothing to take waits for a ring, or
    MONID_QUEUE_POLL_MS at most, where the ORM broker would sleep that out. So a queued task starts at once, and
    an idle pusher queries seldom. Q_CLUSTER's own `poll` is 0 with it (see settings)."""

    def enqueue(self, task):
        task_id = super().enqueue(task)
        transaction.on_commit(functools.partial(_sockets_ring, "pusher"), using=Conf.ORM)
        return task_id

    def dequeue(self):
        tasks = super().dequeue()
        if not tasks:
            bell = _pusher_bell()
            if bell is None:
                time.sleep(settings.MONID_QUEUE_POLL_SECONDS)
            else:
                _socket_rung(bell, settings.MONID_QUEUE_POLL_SECONDS)
        return tasks


@functools.cache
def _pusher_bell() -> socket.socket | None:
    """The pusher's socket, for the life of its process; once it has ended, the next ring takes its file away."""
    return _socket_bound("pusher", str(os.getpid()))[0]


def _socket_bound(purpose: str, name: str) -> tuple[socket.socket | None, str]:
    folder = _sockets_folder(purpose)
    path = os.path.join(folder, name)
    bell = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # an ended process's, whose pid (and thread) were the same as ours
        bell.bind(path)
    except OSError:
        bell.close()
        logger.exception("Cannot listen for wakes at %s; looking for work on a timer instead", path)
        return None, path
    return bell, path


def _sliced(rung: Callable[[float], bool], timeout: float, stopping: threading.Event) -> None:
    """Waits for `rung(seconds)` to say it was rung, in slices of WAIT_SLICE_SECONDS, so a loop asked to stop
    notices soon."""
    remaining = timeout
    while remaining > 0 and not stopping.is_set():
        chunk = min(remaining, WAIT_SLICE_SECONDS)
        if rung(chunk):
            return
        remaining -= chunk


def _redis_rung(seconds: float) -> bool:
    try:
        return bool(broker().connection.blpop([WAKE_KEY], timeout=seconds))
    except Exception:
        logger.warning("Could not wait for work on Redis; looking again in %.1f s", seconds, exc_info=True)
        time.sleep(seconds)
        return False


def _socket_rung(bell: socket.socket, seconds: float) -> bool:
    if not select.select([bell], [], [], seconds)[0]:
        return False
    with contextlib.suppress(BlockingIOError):
        while True:  # a thousand rings cost one wake-up
            bell.recv(16, socket.MSG_DONTWAIT)
    return True


def _sockets_folder(purpose: str) -> str:
    """Where the sockets of one purpose ("loop", "pusher") of this deployment are, on this machine."""
    return _folder(purpose, connection.settings_dict["NAME"], settings.Q_CLUSTER["name"])


@functools.cache
def _folder(purpose: str, database: str, queue_name: str) -> str:
    # Kept: every run's end rings, and the digest need not be worked out again each time.
    digest = hashlib.sha256(f"{database}|{queue_name}".encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"monid-{purpose}-{digest}")


def _sockets_ring(purpose: str) -> None:
    """Rings every socket of `purpose`; a failure costs a wait its ring, and is never the caller's."""
    folder = _sockets_folder(purpose)
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return  # nothing has listened here yet
    except OSError:
        logger.warning("Could not read %s to ring its sockets", folder, exc_info=True)
        return
    for name in names:
        path = os.path.join(folder, name)
        try:
            _ringer().sendto(b"!", path)
        except BlockingIOError:
            pass  # its queue is full: it is rung already
        except (ConnectionRefusedError, FileNotFoundError):
            with contextlib.suppress(OSError):
                os.unlink(path)  # its process died without taking its socket away
        except OSError:
            logger.warning("Could not ring %s", path, exc_info=True)


@functools.cache
def _ringer() -> socket.socket:
    ringer = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ringer.setblocking(False)
    return ringer
