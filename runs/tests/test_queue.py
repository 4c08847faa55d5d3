"""The database broker's doorbell (runs.queue.RungOrmBroker): a task queued on this machine wakes an idle pusher
at once, instead of after its poll."""

import os
import select
import threading

import pytest
from django.db import transaction

from bench.harness import wait_until
from runs import queue

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_task_queued_rings_an_idle_pusher_at_once(settings):
    settings.MONID_QUEUE_POLL_SECONDS = 60
    broker = queue.RungOrmBroker(list_key=f"rung-{os.getpid()}")
    folder = queue._sockets_folder("pusher")
    idle = threading.Thread(target=broker.dequeue, daemon=True)  # finds nothing: waits for a ring, or 60 s
    idle.start()
    wait_until(lambda: os.path.exists(os.path.join(folder, str(os.getpid()))), what="the pusher to listen")

    task_id = broker.enqueue("a task")

    idle.join(timeout=5)
    assert not idle.is_alive()
    assert broker.dequeue() == [(task_id, "a task")]


def test_a_task_queued_in_a_transaction_rings_once_it_is_committed():
    broker = queue.RungOrmBroker(list_key=f"rung-{os.getpid()}")
    bell, path = queue._socket_bound("pusher", f"{os.getpid()}-test")
    try:
        with transaction.atomic():
            broker.enqueue("a task")
            assert not select.select([bell], [], [], 0.1)[0]  # a pusher rung now would find nothing yet
        assert select.select([bell], [], [], 1)[0]
    finally:
        bell.close()
        os.unlink(path)
