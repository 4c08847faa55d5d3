"""Control-plane calls retry with capped, jittered exponential backoff; customer-facing answers are never retried."""

import datetime
import socket
import struct
import threading
from email.utils import format_datetime

import pytest

from providers.engine import ProviderUnavailable
from providers.engine import transport as base


@pytest.fixture
def apify(tweets, db):
    return tweets


def start(apify, *terms, max_items=3):
    return apify.start(params={"searchTerms": ["AI", *terms], "maxItems": max_items}, units=max_items, hold=10**6)


def test_backoff_grows_exponentially_under_a_cap_with_full_jitter():
    for attempt in range(8):
        draws = [base.backoff_seconds(attempt, None) for _ in range(200)]
        ceiling = min(base.BACKOFF_CAP_SECONDS, base.BACKOFF_BASE_SECONDS * 2**attempt)
        assert all(0 <= d <= ceiling for d in draws)
        assert max(draws) > ceiling / 2  # jitter spreads over the whole range, not a fixed delay
    assert base.backoff_seconds(10, None) <= base.BACKOFF_CAP_SECONDS


def test_retry_after_in_seconds_or_as_a_date_wins_within_a_cap():
    assert base.backoff_seconds(0, "3") == 3
    assert base.backoff_seconds(0, "3600") == base.RETRY_AFTER_CAP_SECONDS
    in_ten = format_datetime(datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=10), usegmt=True)
    assert 8 <= base.backoff_seconds(0, in_ten) <= 10
    assert 0 <= base.backoff_seconds(0, "soon") <= base.BACKOFF_BASE_SECONDS


@pytest.mark.parametrize("fault", ["503", "429bare", "garbage"])
def test_a_status_check_rides_out_a_short_burst_of_faults(apify, backoff_waits, fault):
    run = start(apify, f"emulator:status-{fault}x3")
    assert apify.check(run_id=run.run_id, wait_seconds=1).detail == "SUCCEEDED"
    assert len(backoff_waits) == 3


def test_a_429_with_retry_after_waits_as_long_as_apify_asks(apify, backoff_waits):
    run = start(apify, "emulator:status-429x2")
    assert apify.check(run_id=run.run_id, wait_seconds=1).detail == "SUCCEEDED"
    assert backoff_waits == [1.0, 1.0]


def test_a_status_check_gives_up_after_its_attempts(apify, backoff_waits):
    run = start(apify, "emulator:status-503x99")
    with pytest.raises(ProviderUnavailable) as caught:
        apify.check(run_id=run.run_id, wait_seconds=1)
    assert "503" in str(caught.value) and caught.value.retryable
    assert len(backoff_waits) == base.RETRY_ATTEMPTS - 1


@pytest.mark.parametrize("fault", ["503", "429", "garbage"])
def test_reading_a_dataset_rides_out_faults(apify, backoff_waits, fault):
    run = apify.check(run_id=start(apify, f"emulator:dataset-{fault}x2", max_items=5).run_id, wait_seconds=1)
    assert len(apify.collect(run, max_bytes=10**6).output) == 5
    assert len(backoff_waits) == 2


def test_a_refused_start_is_not_retried(apify, backoff_waits):
    answer = apify.start(params={"searchTerms": ["emulator:rate-limit"]}, units=10, hold=10**6)
    assert answer.http_status == 429 and backoff_waits == []


def test_a_pdl_error_is_the_customers_answer_and_not_retried(db, protocol, backoff_waits):
    answer = protocol("pdl", "/person/enrich").call(
        params={"email": "error@example.com"}, units=1, hold=0, timeout_seconds=10
    )
    assert answer.http_status == 500 and backoff_waits == []


def test_a_connection_refused_during_a_status_check_is_retried_then_reported(db, protocol, settings, backoff_waits):
    settings.APIFY_API_BASE_URL = "http://127.0.0.1:9"
    with pytest.raises(ProviderUnavailable, match="could not be reached"):
        protocol("apify", "/apidojo/tweet-scraper").check(run_id="anything", wait_seconds=1)
    assert len(backoff_waits) == base.RETRY_ATTEMPTS - 1


@pytest.fixture
def resetting_server():
    """Accepts each connection and resets it at once (RST, not a clean close), like a provider's crashing proxy."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # the listener was closed: the test is over
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def test_a_connection_reset_during_a_status_check_is_retried_then_reported(
    db, resetting_server, protocol, settings, backoff_waits
):
    settings.APIFY_API_BASE_URL = resetting_server
    with pytest.raises(ProviderUnavailable, match="could not be reached") as caught:
        protocol("apify", "/apidojo/tweet-scraper").check(run_id="anything")
    assert caught.value.retryable and len(backoff_waits) == base.RETRY_ATTEMPTS - 1
