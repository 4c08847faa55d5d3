"""A key's own spend limit at admission: a live run that could take the key's charges in its window past the
limit ends BLOCKED, never reaches a provider and is never charged; other keys of the workspace go on."""

import datetime

import pytest
import time_machine

from billing.api_keys import api_key_create, api_key_update
from billing.models import ApiKey, KeyDailyCost, LedgerEntry, Wallet
from billing.services import wallet_credit
from runs.models import Run
from runs.services import runs_settle_all
from runs.tests.api import PDL_MATCH, PRICE, TWEETS, a_hundred_tweet_searches_at_once, post_run, post_settled, usd

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tweets_per_call")]


def limit(micros, period="DAY", label="alice-live"):
    return api_key_update(api_key=ApiKey.objects.get(label=label), spend_limit_micros=micros, spend_period=period)


def test_a_key_over_its_limit_is_blocked_with_its_snapshot_and_is_not_charged(client, alice_key):
    limit(2 * PRICE)
    statuses = [post_settled(client, alice_key, PDL_MATCH).json() for _ in range(3)]
    assert [body["status"] for body in statuses] == ["COMPLETED", "COMPLETED", "BLOCKED"]
    blocked = statuses[2]
    assert (
        "DAY spend limit of the key “alice-live”, $0.006000, has $0.000000 left ($0.006000 spent" in blocked["reason"]
    )
    assert blocked["controls"] == [
        {
            "controlId": ApiKey.objects.get(label="alice-live").prefix,
            "requiredAmount": usd(0.003),
            "snapshot": {
                "type": "API_KEY_LIMIT",
                "apiKeyLabel": "alice-live",
                "period": "DAY",
                "windowStart": blocked["controls"][0]["snapshot"]["windowStart"],
                "limitAmount": usd(0.006),
                "availableAmount": usd(0.0),
                "heldAmount": usd(0.0),
                "spentAmount": usd(0.006),
            },
        }
    ]
    assert blocked["billing"]["reportedCost"]["value"] == 0 and blocked["providerResponse"] is None
    assert not LedgerEntry.objects.filter(run_id=blocked["runId"]).exists()
    assert Wallet.objects.get().balance_micros == 100_000_000 - 2 * PRICE


def test_another_key_of_the_workspace_is_not_held_back(client, alice, alice_key):
    limit(0)
    _, other = api_key_create(workspace=alice.workspaces.get(), label="other")
    assert post_settled(client, alice_key, PDL_MATCH).json()["status"] == "BLOCKED"
    assert post_settled(client, other, PDL_MATCH).json()["status"] == "COMPLETED"


def test_the_holds_of_the_keys_runs_in_flight_count(client, alice, alice_key):
    limit(2 * PRICE)
    _, other = api_key_create(workspace=alice.workspaces.get(), label="other")
    assert post_settled(client, other, TWEETS).json()["status"] == "RUNNING"  # another key's hold: not this key's
    statuses = [post_settled(client, alice_key, TWEETS).json()["status"] for _ in range(3)]
    assert statuses == ["RUNNING", "RUNNING", "BLOCKED"]
    snapshot = Run.objects.get(status="BLOCKED").controls[0]
    assert (snapshot["heldMicros"], snapshot["spentMicros"]) == (2 * PRICE, 0)


def test_the_holds_of_the_keys_ended_runs_count_until_they_are_settled(client, alice_key):
    limit(2 * PRICE)
    assert [post_run(client, alice_key, PDL_MATCH).json()["status"] for _ in range(3)] == [
        "COMPLETED",
        "COMPLETED",
        "BLOCKED",
    ]  # not yet settled: their holds stand in for their charges
    assert (Run.objects.get(status="BLOCKED").controls[0]["heldMicros"], runs_settle_all()) == (2 * PRICE, 3)
    assert post_run(client, alice_key, PDL_MATCH).json()["controls"][0]["snapshot"]["spentAmount"] == usd(0.006)


def test_a_test_key_is_never_held_back(client, alice, alice_test_key):
    limit(0, label="alice-test")
    assert post_settled(client, alice_test_key, PDL_MATCH).json()["status"] == "COMPLETED"


def test_removing_the_limit_lets_runs_through_at_once(client, alice_key):
    limit(0)
    assert post_settled(client, alice_key, PDL_MATCH).json()["status"] == "BLOCKED"
    limit(None, period="")
    assert post_settled(client, alice_key, PDL_MATCH).json()["status"] == "COMPLETED"


@pytest.mark.parametrize(
    "period, counted", [("DAY", [PRICE]), ("WEEK", [PRICE, 2 * PRICE]), ("MONTH", [PRICE, 2 * PRICE, 4 * PRICE])]
)
def test_only_what_the_window_charged_counts(client, alice_key, period, counted):
    """On Wednesday 2026-12-09, what was charged that day, on Monday, on Sunday 6 December and on 30 November
    counts in the windows that hold those days (the UTC day, the week from Monday, the month), and nowhere else."""
    key = ApiKey.objects.get(label="alice-live")
    for day, amount in (
        ("2026-12-09", PRICE),
        ("2026-12-07", 2 * PRICE),
        ("2026-12-06", 4 * PRICE),
        ("2026-11-30", 8 * PRICE),
    ):
        KeyDailyCost.objects.create(
            api_key=key,
            day=datetime.date.fromisoformat(day),
            provider="pdl",
            endpoint="/person/enrich",
            status="COMPLETED",
            run_count=1,
            reported_cost_micros=amount,
        )
    with time_machine.travel("2026-12-09 12:00:00Z", tick=False):
        limit(sum(counted) + PRICE, period=period)
        assert post_settled(client, alice_key, PDL_MATCH).json()["status"] == "COMPLETED"
        blocked = post_settled(client, alice_key, PDL_MATCH).json()
    assert blocked["status"] == "BLOCKED"
    assert blocked["controls"][0]["snapshot"]["spentAmount"]["value"] * 10**6 == pytest.approx(sum(counted) + PRICE)


def test_the_run_page_names_the_keys_limit_that_blocked_it(client, alice, alice_key):
    limit(0)
    run_id = post_settled(client, alice_key, PDL_MATCH).json()["runId"]
    client.force_login(alice)
    page = client.get(f"/runs/{run_id}/").content.decode()
    assert "day limit of the key “alice-live”" in page and "Blocked by a spend control" in page


@pytest.mark.django_db(transaction=True)
def test_a_hundred_runs_at_once_against_a_key_limit_for_ten_admit_exactly_ten(alice, catalog):
    workspace = alice.workspaces.get()
    wallet_credit(workspace=workspace, amount_micros=100 * PRICE, note="a hundred runs")
    api_key = api_key_create(workspace=workspace, label="racer", spend_limit_micros=10 * PRICE, spend_period="MONTH")[0]

    statuses = [run.status for run in a_hundred_tweet_searches_at_once(api_key)]
    assert (statuses.count("RUNNING"), statuses.count("BLOCKED")) == (10, 90)
    assert Wallet.objects.get(workspace=workspace).held_micros == 10 * PRICE
