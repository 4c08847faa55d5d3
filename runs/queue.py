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
from collections.abc import Callable, Iterator
from typing import NamedTuple

from django.conf import settings
from django.db import connection
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
    """Tells the background loops that there is work: a step due now, or a run ended to settle, after the commit
    that made it. A failure only costs a loop's idle wait, never the caller."""
    try:
        if settings.REDIS_URL:
            broker().connection.pipeline(transaction=False).lpush(WAKE_KEY, 1).ltrim(WAKE_KEY, 0, 0).execute()
        else:
            _sockets_ring()
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
        yield Doorbell(_redis_wait, rings_on_work=True)
        return
    folder = _sockets_folder()
    path = os.path.join(folder, f"{os.getpid()}-{threading.get_ident()}")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as bell:
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            bell.bind(path)
        except OSError:
            logger.exception("Cannot listen for wakes at %s; the dispatcher looks for work on its own", path)
            yield Doorbell(lambda timeout, stopping: stopping.wait(timeout), rings_on_work=False)
            return
        try:
            yield Doorbell(functools.partial(_socket_wait, bell), rings_on_work=connection.vendor == "sqlite")
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)


def _redis_wait(timeout: float, stopping: threading.Event) -> None:
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


def _socket_wait(bell: socket.socket, timeout: float, stopping: threading.Event) -> None:
    remaining = timeout
    while remaining > 0 and not stopping.is_set():
        chunk = min(remaining, WAIT_SLICE_SECONDS)
        if select.select([bell], [], [], chunk)[0]:
            with contextlib.suppress(BlockingIOError):
                while True:  # a thousand rings cost one wake-up
                    bell.recv(16, socket.MSG_DONTWAIT)
            return
        remaining -= chunk


def _sockets_folder() -> str:
    deployment = f"{connection.settings_dict['NAME']}|{settings.Q_CLUSTER['name']}"
    return os.path.join(tempfile.gettempdir(), f"monid-wake-{hashlib.sha256(deployment.encode()).hexdigest()[:16]}")


def _sockets_ring() -> None:
    folder = _sockets_folder()
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return  # no loop has listened here yet
    for name in names:
        path = os.path.join(folder, name)
        try:
            _ringer().sendto(b"!", path)
        except BlockingIOError:
            pass  # its queue is full: it is rung already
        except (ConnectionRefusedError, FileNotFoundError):
            with contextlib.suppress(OSError):
                os.unlink(path)  # its loop died without taking its socket away


@functools.cache
def _ringer() -> socket.socket:
    ringer = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ringer.setblocking(False)
    return ringer
