"""The client's own retries: after a lost answer, a 5xx or a 429 it tries again, and a retried run never runs
twice because every try of one call carries the same Idempotency-Key."""

import socket

import pytest
import time_machine
from runs.models import Run

from monid import APIConnectionError, RateLimited

from .conftest import PDL_MATCH, SLOW_TWEETS

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_run_whose_answer_was_lost_is_retried_and_runs_once(connect, alice_key, flaky_proxy, fake_time):
    flaky_proxy.plan = ["drop"]
    run = connect(alice_key, base_url=flaky_proxy.url).run(*PDL_MATCH)
    assert run.ok and fake_time.sleeps == [0.5]
    keys = [seen["idempotency_key"] for seen in flaky_proxy.seen]
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0]
    assert list(Run.objects.values_list("pk", flat=True)) == [run.id]
    assert Run.objects.get().reported_cost_micros == 3000  # charged once


def test_each_call_gets_a_fresh_idempotency_key(connect, alice_test_key, flaky_proxy):
    client = connect(alice_test_key, base_url=flaky_proxy.url)
    first, second = client.run(*PDL_MATCH), client.run(*PDL_MATCH)
    assert first.id != second.id and flaky_proxy.seen[0]["idempotency_key"] != flaky_proxy.seen[1]["idempotency_key"]


def test_a_5xx_is_retried_after_a_short_backoff(connect, alice_test_key, flaky_proxy, fake_time):
    flaky_proxy.plan = ["503", "503"]
    assert connect(alice_test_key, base_url=flaky_proxy.url).balance().currency == "USD"
    assert fake_time.sleeps == [0.5, 1.0] and len(flaky_proxy.seen) == 3


def test_a_429_is_retried_after_the_servers_retry_after_then_raised(connect, alice_test_key, settings, fake_time):
    settings.MONID_RATE_LIMIT_PER_MINUTE = 1
    client = connect(alice_test_key, max_retries=2)
    with time_machine.travel("2026-11-02 10:00:40Z", tick=False):
        client.balance()
        with pytest.raises(RateLimited):
            client.balance()
    assert fake_time.sleeps == [20.0, 20.0]


def test_a_server_that_cannot_be_reached_is_a_connection_error_after_the_retries(connect, alice_test_key, fake_time):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]
    with pytest.raises(APIConnectionError) as error:
        connect(alice_test_key, base_url=f"http://127.0.0.1:{closed_port}").balance()
    assert error.value.status is None and fake_time.sleeps == [0.5, 1.0, 2.0]


def test_a_stop_whose_answer_was_lost_is_not_sent_again(monid, flaky_proxy, task_queue, connect, alice_test_key):
    run = monid.run(*SLOW_TWEETS, wait=False)
    flaky_proxy.plan = ["drop"]
    with pytest.raises(APIConnectionError):
        connect(alice_test_key, base_url=flaky_proxy.url).stop_run(run.id)
    assert len(flaky_proxy.seen) == 1 and Run.objects.get(pk=run.id).status == "STOPPING"
