import threading

import pytest
import requests
import time_machine

pytestmark = pytest.mark.django_db


def get(client, key):
    return client.get("/v1/runs", HTTP_AUTHORIZATION=f"Bearer {key}")


def test_a_key_over_its_limit_gets_429_with_retry_after(client, alice_key, settings):
    settings.MONID_RATE_LIMIT_PER_MINUTE = 3
    with time_machine.travel("2026-11-29 12:00:15Z", tick=False):
        assert [get(client, alice_key).status_code for _ in range(3)] == [200, 200, 200]
        response = get(client, alice_key)
    assert response.status_code == 429
    assert response.json()["code"] == 429 and "3 requests" in response.json()["message"]
    assert response["Retry-After"] == "45"


def test_the_limit_is_per_key(client, alice_key, bob_key, settings):
    settings.MONID_RATE_LIMIT_PER_MINUTE = 1
    with time_machine.travel("2026-11-29 12:00:15Z", tick=False):
        assert get(client, alice_key).status_code == 200
        assert get(client, alice_key).status_code == 429
        assert get(client, bob_key).status_code == 200


def test_the_limit_resets_with_the_next_minute(client, alice_key, settings):
    settings.MONID_RATE_LIMIT_PER_MINUTE = 1
    with time_machine.travel("2026-11-29 12:00:59Z", tick=False):
        assert get(client, alice_key).status_code == 200
        assert get(client, alice_key).status_code == 429
    with time_machine.travel("2026-11-29 12:01:00Z", tick=False):
        assert get(client, alice_key).status_code == 200


def test_requests_without_a_valid_key_are_refused_before_they_count(client, settings):
    settings.MONID_RATE_LIMIT_PER_MINUTE = 1
    assert [client.get("/v1/runs").status_code for _ in range(3)] == [401, 401, 401]


@pytest.mark.django_db(transaction=True)
def test_requests_at_once_are_counted_exactly(live_server, alice_key, settings):
    """Thirty threads released together against the threaded live server, with room for ten: exactly ten get in,
    whichever store counts (one atomic increment, never a read then a write)."""
    settings.MONID_RATE_LIMIT_PER_MINUTE = 10
    start, statuses = threading.Barrier(30), []

    def send():
        start.wait()
        statuses.append(
            requests.get(
                f"{live_server.url}/v1/runs", timeout=60, headers={"Authorization": f"Bearer {alice_key}"}
            ).status_code
        )

    threads = [threading.Thread(target=send) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # All within one minute's window, unless the clock turned a minute meanwhile: then each window has its ten.
    assert statuses.count(200) in (10, 20) and statuses.count(429) == 30 - statuses.count(200), statuses
