"""The dispatcher's loop (runs/background.py): it hands a new run out within a second, sleeps when idle, and
runs in exactly one worker of a real qcluster, which another worker takes over when that one dies."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from django.conf import settings
from django.db import connection

from bench.harness import wait_until
from runs import background, queue
from runs.models import Run

pytestmark = pytest.mark.django_db(transaction=True)

TWEETS = {"provider": "apify", "endpoint": "/apidojo/tweet-scraper", "input": {"searchTerms": ["AI"], "maxItems": 3}}


@pytest.fixture
def dispatching():
    """The loop in a thread with its own database connection, as in a qcluster's worker; yields how many
    times it has come round (counted by an extra job that does nothing)."""
    rounds, stopping = [], threading.Event()

    def count() -> int:
        rounds.append(time.monotonic())
        return 0

    def run():
        try:
            background.loop(stopping, jobs=[*background.JOBS, count])
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield rounds
    stopping.set()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_a_new_async_run_is_handed_to_a_worker_within_a_second(client, alice_test_key, task_queue, dispatching):
    wait_until(lambda: dispatching, what="the first round")
    time.sleep(1)  # idle for a while: backed off (no Redis), or waiting for the reconciler's turn (Redis)
    response = client.post(
        "/v1/run", TWEETS, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {alice_test_key}"
    )
    assert response.status_code == 202
    run = Run.objects.filter(pk=response.json()["runId"])

    wait_until(
        lambda: run.filter(next_step_at__isnull=True).exists(),
        seconds=1,
        interval=0.02,
        what="the run to be dispatched",
    )
    assert task_queue.size() == 1


def test_idle_it_does_not_spin(catalog, dispatching):
    time.sleep(0.5)

    assert 1 <= len(dispatching) <= 6  # busy it comes round 25 times in that time; idle, it backs off


def test_a_wake_ends_its_idle_wait_at_once(catalog, dispatching):
    # On Redis, a list the loop blocks on; on SQLite, a socket of the loop's own (a wait of 10 s otherwise).
    wait_until(lambda: dispatching, what="the first round")
    time.sleep(0.5)
    rounds = len(dispatching)

    queue.wake()

    wait_until(lambda: len(dispatching) > rounds, seconds=1, interval=0.02, what="the loop to wake")


@pytest.mark.skipif(bool(settings.REDIS_URL), reason="Redis is the doorbell here, not sockets")
def test_a_wake_takes_away_the_socket_of_a_loop_that_died(dispatching):
    wait_until(lambda: dispatching, what="the first round")
    folder = queue._sockets_folder("loop")
    (live,) = os.listdir(folder)
    dead = os.path.join(folder, "12345-1")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as bell:
        bell.bind(dead)  # closed unlinked, as by a SIGKILL

    queue.wake()

    assert os.listdir(folder) == [live]


def test_a_qcluster_dispatches_in_one_worker_which_another_takes_over_when_it_dies(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'monid.sqlite3'}",
        "REDIS_URL": "",
        "MONID_WORKERS": "3",
        "MONID_QUEUE": f"dispatcher-{os.getpid()}",
    }
    manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, capture_output=True)
    log = tmp_path / "qcluster.log"
    with open(log, "wb") as out:
        cluster = subprocess.Popen(
            [*manage, "qcluster"], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:

        def dispatching_pids():
            return [
                int(line.rsplit(" ", 1)[1])
                for line in log.read_text().splitlines()
                if "Dispatching due runs in worker" in line
            ]

        (first,) = wait_until(dispatching_pids, seconds=60, what="a worker to dispatch")
        time.sleep(1)  # the other workers are up by now, and wait their turn
        assert dispatching_pids() == [first]

        os.kill(first, signal.SIGKILL)

        pids = wait_until(
            lambda: len(dispatching_pids()) == 2 and dispatching_pids(), seconds=30, what="another worker to take over"
        )
        assert pids[1] != first
    finally:
        # Not a graceful stop: a worker killed while waiting for a task may take the task queue's lock with it,
        # and the others then never hear that they are to stop (multiprocessing's, whatever the dispatcher does).
        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait()
