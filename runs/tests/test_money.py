"""Every money path of a run: a hold at admission (or a 402), then, once the run has ended, the settler gives the
hold back and charges what it cost, exactly once; test mode never touches the wallet."""

import datetime

import pytest
from django.db.models import Sum
from django.utils import timezone

from billing.api_keys import api_key_create
from billing.models import ApiKey, KeyDailyCost, LedgerEntry, Wallet
from billing.services import wallet_credit
from monid_site.errors import ApplicationError
from providers.models import Endpoint
from runs import services
from runs.models import Run
from runs.services import run_finish, run_stop, runs_reconcile, runs_settle_all
from runs.tests.api import a_hundred_tweet_searches_at_once, post_run

pytestmark = pytest.mark.django_db

PDL_MATCH = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}}
TWEETS = {"provider": "apify", "endpoint": "/apidojo/tweet-scraper", "input": {"searchTerms": ["AI"], "maxItems": 5}}
FUNDS = 100_000_000  # conftest credits each live key's workspace with $100


def ledger(run_id):
    return sorted(LedgerEntry.objects.filter(run_id=run_id).values_list("kind", "amount_micros"))


def wallet():
    """The acme wallet, checked against its own ledger every time it is read."""
    found = Wallet.objects.get(workspace__slug="acme")
    entries = LedgerEntry.objects.filter(workspace=found.workspace)
    sums = {
        kind: entries.filter(kind=kind).aggregate(s=Sum("amount_micros"))["s"] or 0 for kind in LedgerEntry.Kind.values
    }
    assert found.balance_micros == sums["credit"] + sums["refund"] - sums["charge"]
    assert found.held_micros == sums["hold"] - sums["release"]
    return found


def test_a_sync_run_is_held_then_charged_what_it_cost_by_the_settler(client, alice_key):
    body = post_run(client, alice_key, PDL_MATCH).json()
    price = body["billing"]["reportedCost"]["value"]
    # Ended, not yet settled: its hold still stands, so nothing it could cost can be spent elsewhere meanwhile.
    assert ledger(body["runId"]) == [("hold", price)]
    assert (wallet().balance_micros, wallet().held_micros) == (FUNDS, price)
    assert runs_settle_all() == 1
    assert ledger(body["runId"]) == [("charge", price), ("hold", price), ("release", price)]
    assert (wallet().balance_micros, wallet().held_micros) == (FUNDS - price, 0)
    assert Run.objects.get(pk=body["runId"]).settled_at is not None and runs_settle_all() == 0


def test_a_provider_error_gives_the_hold_back_and_charges_nothing(client, alice_key):
    body = post_run(client, alice_key, {**PDL_MATCH, "input": {"email": "nomatch@example.com"}}).json()
    assert body["providerResponse"]["httpStatus"] == 404
    price = Run.objects.get(pk=body["runId"]).price_micros
    runs_settle_all()
    assert ledger(body["runId"]) == [("hold", price), ("release", price)]
    assert (wallet().balance_micros, wallet().held_micros) == (FUNDS, 0)


def test_a_run_the_wallet_cannot_cover_is_refused_with_402_and_leaves_nothing(client, alice, catalog):
    workspace = alice.workspaces.get()
    wallet_credit(workspace=workspace, amount_micros=1_000, note="a tenth of a cent")
    key = api_key_create(workspace=workspace, label="poor", mode="live")[1]
    response = post_run(client, key, PDL_MATCH)
    assert response.status_code == 402
    assert response.json() == {"code": 402, "message": response.json()["message"]}
    assert "$0.003000" in response.json()["message"] and "$0.002000 short" in response.json()["message"]
    assert not Run.objects.exists() and not LedgerEntry.objects.exclude(kind="credit").exists()


def test_an_async_run_holds_while_in_flight_and_shows_it_in_the_balance(client, alice_key, task_queue):
    run_id = post_run(client, alice_key, TWEETS).json()["runId"]
    held = Run.objects.get(pk=run_id).held_micros
    balance = client.get("/v1/wallet/balance", HTTP_AUTHORIZATION=f"Bearer {alice_key}").json()
    assert held > 0 and balance["held"]["value"] == held / 1e6 and balance["balance"]["value"] == (FUNDS - held) / 1e6
    task_queue.run()
    run = Run.objects.get(pk=run_id)
    assert run.status == "COMPLETED" and ledger(run_id) == sorted(
        [("hold", held), ("release", held), ("charge", run.reported_cost_micros)]
    )
    assert wallet().held_micros == 0


def test_a_stopped_run_gives_its_hold_back_uncharged(client, alice_key, task_queue):
    run_id = post_run(client, alice_key, {**TWEETS, "input": {"searchTerms": ["emulator:slow"]}}).json()["runId"]
    task_queue.run_one()
    run_stop(run=Run.objects.get(pk=run_id))
    task_queue.run()
    run = Run.objects.get(pk=run_id)
    assert run.status == "STOPPED" and ledger(run_id) == [("hold", run.held_micros), ("release", run.held_micros)]


def test_a_run_past_its_deadline_gives_its_hold_back_uncharged(client, alice_key, task_queue):
    Endpoint.objects.filter(path=TWEETS["endpoint"]).update(deadline_seconds=0)
    run_id = post_run(client, alice_key, TWEETS).json()["runId"]
    task_queue.run()
    run = Run.objects.get(pk=run_id)
    assert run.status == "TIME_OUT" and ledger(run_id) == [("hold", run.held_micros), ("release", run.held_micros)]


def test_a_run_finished_twice_is_settled_once(client, alice_key):
    run_id = post_run(client, alice_key, PDL_MATCH).json()["runId"]
    run_finish(run=Run.objects.get(pk=run_id), status="FAILED", error_message="a late second finisher")
    assert runs_settle_all() == 1
    run_finish(run=Run.objects.get(pk=run_id), status="FAILED", error_message="a finisher after the settlement")
    assert runs_settle_all() == 0
    assert len(ledger(run_id)) == 3 and wallet().held_micros == 0 and KeyDailyCost.objects.get().run_count == 1


def test_test_mode_runs_never_touch_the_wallet(client, alice_test_key, task_queue):
    post_run(client, alice_test_key, PDL_MATCH)
    post_run(client, alice_test_key, TWEETS)
    task_queue.run()
    assert not LedgerEntry.objects.exists()


@pytest.fixture
def per_result(catalog):
    """The tweet scraper priced per result: $0.001 a run plus $0.0001 a tweet, held for maxItems or 3."""
    endpoint = Endpoint.objects.get(path=TWEETS["endpoint"])
    usage = {**endpoint.usage, "estimate": {"factors": [{"field": "maxItems", "default": 3}], "maximum": 1000}}
    Endpoint.objects.filter(pk=endpoint.pk).update(
        price_type="PER_RESULT", flat_fee_micros=1_000, price_micros=100, usage=usage
    )


def test_a_per_result_run_is_held_for_the_results_it_asks_for_and_charged_for_those_it_gets(
    client, alice_key, task_queue, per_result
):
    run_id = post_run(client, alice_key, TWEETS).json()["runId"]
    task_queue.run()
    run = Run.objects.get(pk=run_id)
    assert (run.held_micros, run.result_count, run.reported_cost_micros) == (1_500, 5, 1_500)


def test_a_per_result_run_without_a_limit_asks_the_provider_for_only_the_results_its_hold_covers(
    client, alice_key, task_queue, per_result
):
    run_id = post_run(client, alice_key, {**TWEETS, "input": {"searchTerms": ["AI"]}}).json()["runId"]  # the actor: 10
    task_queue.run()
    run = Run.objects.get(pk=run_id)
    assert (run.held_micros, run.result_count, len(run.output), run.output_truncated) == (1_300, 3, 3, False)
    assert run.reported_cost_micros == 1_300 and ledger(run_id) == [
        ("charge", 1_300),
        ("hold", 1_300),
        ("release", 1_300),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_hundred_runs_at_once_against_a_wallet_for_ten_admit_exactly_ten(alice, tweets_per_call):
    workspace = alice.workspaces.get()
    endpoint = Endpoint.objects.get(path=TWEETS["endpoint"])
    wallet_credit(workspace=workspace, amount_micros=10 * endpoint.price_micros, note="ten runs")
    api_key_create(workspace=workspace, label="racer", mode="live")
    api_key = ApiKey.objects.get(label="racer")

    outcomes = a_hundred_tweet_searches_at_once(api_key)
    refused = [o for o in outcomes if isinstance(o, ApplicationError)]
    assert {o.status_code for o in refused} == {402}
    assert len(outcomes) - len(refused) == Run.objects.count() == 10
    assert (wallet().balance_micros, wallet().held_micros) == (10 * endpoint.price_micros,) * 2


class ProcessDied(BaseException):
    """Raised where a process could be killed: not an Exception, so no handler of ours catches it, and the
    open transaction is rolled back as the database would roll back a dead connection's."""


def die_after(function):
    def dying(*args, **kwargs):
        function(*args, **kwargs)
        raise ProcessDied

    return dying


def past_lease(run_id):
    """As if the dead worker's lease had run out."""
    Run.objects.filter(pk=run_id).update(lease_until=timezone.now() - datetime.timedelta(seconds=1))


def test_a_crash_of_the_settler_charges_nothing_and_the_next_settlement_settles_once(client, alice_key, monkeypatch):
    run_id = post_run(client, alice_key, PDL_MATCH).json()["runId"]
    held = Run.objects.get(pk=run_id).held_micros
    monkeypatch.setattr(services, "settlements_record", die_after(services.settlements_record))
    with pytest.raises(ProcessDied):
        runs_settle_all()
    monkeypatch.undo()
    assert Run.objects.get(pk=run_id).settled_at is None and ledger(run_id) == [("hold", held)]
    assert wallet().held_micros == held and not KeyDailyCost.objects.exists()
    assert runs_settle_all() == 1
    run = Run.objects.get(pk=run_id)
    assert ledger(run_id) == sorted([("hold", held), ("release", held), ("charge", run.reported_cost_micros)])
    assert (wallet().balance_micros, wallet().held_micros) == (FUNDS - run.reported_cost_micros, 0)
    assert KeyDailyCost.objects.get().run_count == 1


def test_a_crash_while_an_async_run_ends_leaves_it_to_the_reconciler_and_it_settles_once(
    client, alice_key, task_queue, monkeypatch
):
    run_id = post_run(client, alice_key, TWEETS).json()["runId"]
    held = Run.objects.get(pk=run_id).held_micros
    monkeypatch.setattr(services, "_ended_detail", die_after(services._ended_detail))  # in the ending transaction
    with pytest.raises(ProcessDied):
        task_queue.run()
    assert Run.objects.get(pk=run_id).status == "RUNNING" and ledger(run_id) == [("hold", held)]
    monkeypatch.undo()
    task_queue.purge()  # the dead worker's task died with it
    past_lease(run_id)
    assert runs_reconcile()["resumed"] == 1
    task_queue.run()
    run = Run.objects.get(pk=run_id)
    assert run.status == "COMPLETED" and ledger(run_id) == sorted(
        [("hold", held), ("release", held), ("charge", run.reported_cost_micros)]
    )
    assert (wallet().balance_micros, wallet().held_micros) == (FUNDS - run.reported_cost_micros, 0)
    assert KeyDailyCost.objects.get().run_count == 1


def test_a_crash_while_a_sync_run_ends_leaves_it_to_the_reconciler_which_gives_the_hold_back(
    client, alice_key, monkeypatch
):
    monkeypatch.setattr(services, "_ended_detail", die_after(services._ended_detail))  # in the ending transaction
    with pytest.raises(ProcessDied):
        post_run(client, alice_key, PDL_MATCH)
    monkeypatch.undo()
    run = Run.objects.get()
    assert run.status == "RUNNING" and ledger(run.pk) == [("hold", run.held_micros)]
    Run.objects.filter(pk=run.pk).update(created_at=run.created_at - datetime.timedelta(minutes=10))
    assert runs_reconcile()["failed"] == 1
    runs_settle_all()
    run.refresh_from_db()
    assert run.status == "FAILED" and ledger(run.pk) == [("hold", run.held_micros), ("release", run.held_micros)]
    assert (wallet().balance_micros, wallet().held_micros) == (FUNDS, 0)
