"""Each refusal of the API comes back as its own typed error, carrying the server's status and message."""

import pytest
import time_machine
from billing.models import ApiKey
from runs.models import Run
from runs.services import idempotency_claim

from monid import (
    AuthenticationError,
    BadRequest,
    Conflict,
    Monid,
    MonidError,
    NotFound,
    PaymentRequired,
    RateLimited,
    RunTimeout,
    credentials,
)

from .conftest import PDL_MATCH, SLOW_TWEETS

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_bad_key_is_an_authentication_error(connect, catalog):
    with pytest.raises(AuthenticationError) as error:
        connect("monid_test_not-a-real-key").balance()
    assert error.value.status == 401 and error.value.message and error.value.request_id


def test_a_live_key_with_an_empty_wallet_is_payment_required(connect, empty_wallet_key):
    with pytest.raises(PaymentRequired) as error:
        connect(empty_wallet_key).run(*PDL_MATCH)
    assert error.value.status == 402 and "$" in error.value.message
    assert not Run.objects.exists()


def test_an_unknown_endpoint_is_not_found(monid):
    with pytest.raises(NotFound) as error:
        monid.inspect("pdl", "/person/nope")
    assert error.value.status == 404 and "/person/nope" in error.value.message


def test_an_unknown_run_is_not_found(monid):
    with pytest.raises(NotFound) as error:
        monid.get_run("01JABCDEFGHJKMNPQRSTVWXYZ0")
    assert error.value.status == 404


def test_an_input_that_fails_the_schema_is_a_bad_request_with_each_failing_path(monid):
    with pytest.raises(BadRequest) as error:
        monid.run("apify", "/apidojo/tweet-scraper", {"searchTerms": "AI", "maxItems": 5000})
    assert error.value.status == 400
    assert {detail["path"] for detail in error.value.details} == {"input.maxItems", "input.searchTerms"}
    assert "input.maxItems" in str(error.value)


def test_stopping_a_run_that_has_ended_is_a_conflict(monid):
    run = monid.run(*PDL_MATCH)
    with pytest.raises(Conflict) as error:
        monid.stop_run(run.id)
    assert error.value.status == 409


def test_an_idempotency_key_reused_with_another_body_is_a_conflict(monid):
    monid.run(*PDL_MATCH, idempotency_key="mine-1")
    with pytest.raises(Conflict) as error:
        monid.run("pdl", "/person/enrich", {"email": "other@example.com"}, idempotency_key="mine-1")
    assert error.value.status == 422 and Run.objects.count() == 1


def test_an_idempotency_key_still_in_flight_elsewhere_is_a_conflict_at_once(monid, fake_time):
    provider, endpoint, params = PDL_MATCH
    idempotency_claim(
        api_key=ApiKey.objects.get(label="alice-test"),
        key="mine-2",  # the same request, made
        # elsewhere, unanswered
        body={"provider": provider, "endpoint": endpoint, "input": params},
    )
    with pytest.raises(Conflict) as error:
        monid.run(*PDL_MATCH, idempotency_key="mine-2")
    assert error.value.status == 409 and fake_time.sleeps == [] and not Run.objects.exists()


def test_a_key_over_its_rate_limit_is_rate_limited_with_retry_after(connect, alice_test_key, settings):
    settings.MONID_RATE_LIMIT_PER_MINUTE = 1
    client = connect(alice_test_key, max_retries=0)
    with time_machine.travel("2026-11-02 10:00:15Z", tick=False):
        client.balance()
        with pytest.raises(RateLimited) as error:
            client.balance()
    assert error.value.status == 429 and error.value.retry_after == 45


def test_waiting_longer_than_the_timeout_raises_run_timeout_with_the_run(monid, fake_time, task_queue):
    fake_time.on_sleep = lambda count: count == 1 and task_queue.run()  # started at the provider, never ending
    with pytest.raises(RunTimeout) as error:
        monid.run(*SLOW_TWEETS, timeout=30)
    assert error.value.run_id == error.value.run.id and error.value.run.status == "RUNNING"
    assert sum(fake_time.sleeps) == 30 and max(fake_time.sleeps) <= 10
    assert Run.objects.get(pk=error.value.run_id).status == "RUNNING"  # it goes on on the server


def test_every_error_is_a_monid_error():
    assert all(
        issubclass(kind, MonidError)
        for kind in (AuthenticationError, BadRequest, Conflict, NotFound, PaymentRequired, RateLimited, RunTimeout)
    )


def test_a_client_without_a_key_refuses_to_start(monkeypatch):
    monkeypatch.delenv("MONID_API_KEY", raising=False)
    with pytest.raises(ValueError, match="MONID_API_KEY"):
        Monid()


def test_a_client_without_a_key_takes_the_active_key_of_monid_keys(monkeypatch, live_server, alice_test_key):
    monkeypatch.delenv("MONID_API_KEY", raising=False)
    credentials.key_add(key=alice_test_key, label="alice")
    with Monid(base_url=live_server.url) as client:
        assert client.whoami().workspace.slug == "acme"
