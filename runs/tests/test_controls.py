"""Spend controls at admission: a live run that would break an active budget or the run cap ends BLOCKED, is
never sent to a provider and is never charged; everything else is admitted as before."""

import json

import pytest
import time_machine

from billing.api_keys import api_key_create
from billing.controls import spend_control_set, spend_control_update
from billing.models import ApiKey, LedgerEntry, SpendControl, Wallet
from billing.services import wallet_credit
from runs.models import Run
from runs.services import runs_settle_all
from runs.tests.api import PDL_MATCH, PRICE, TWEETS, a_hundred_tweet_searches_at_once, post_run, post_settled, usd

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tweets_per_call")]


def acme():
    return ApiKey.objects.get(label="alice-live").workspace


def budget(period="DAY", limit=10 * PRICE, status="ACTIVE"):
    return spend_control_set(workspace=acme(), kind="BUDGET", period=period, limit_micros=limit, status=status)


def run_cap(limit, status="ACTIVE"):
    return spend_control_set(workspace=acme(), kind="RUN_CAP", limit_micros=limit, status=status)


def test_a_sync_run_over_the_run_cap_is_blocked_with_200_and_the_cap_snapshot(client, alice_key):
    cap = run_cap(PRICE - 1)
    response = post_settled(client, alice_key, PDL_MATCH)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "BLOCKED" and "per-run cap of $0.002999" in body["reason"]
    assert body["error"] == {"source": "platform", "message": body["reason"]}
    assert body["controls"] == [
        {
            "controlId": cap.pk,
            "requiredAmount": usd(0.003),
            "snapshot": {"type": "WORKSPACE_RUN_CAP", "limitAmount": usd(0.002999)},
        }
    ]
    assert body["providerResponse"] is None and body["startedAt"] is None and body["completedAt"]


def test_a_blocked_run_is_not_charged_and_holds_nothing(client, alice_key):
    run_cap(0)
    body = post_settled(client, alice_key, PDL_MATCH).json()
    assert body["billing"]["reportedCost"]["value"] == 0 and body["cost"] == {"value": 0.0, "currency": "USD"}
    assert not LedgerEntry.objects.filter(run_id=body["runId"]).exists()
    wallet = Wallet.objects.get(workspace=acme())
    assert (wallet.balance_micros, wallet.held_micros) == (100_000_000, 0)


def test_an_async_run_that_is_blocked_answers_200_and_never_reaches_apify(client, alice_key, task_queue, apify_started):
    run_cap(0)
    response = post_settled(client, alice_key, TWEETS)
    assert response.status_code == 200 and response.json()["status"] == "BLOCKED"
    assert task_queue.run() == 0
    run = Run.objects.get(pk=response.json()["runId"])
    assert (run.status, run.provider_run_id, run.next_step_at) == ("BLOCKED", "", None)
    assert not [r for r in apify_started(run.created_at) if r[1]["searchTerms"] == TWEETS["input"]["searchTerms"]]


def test_a_run_within_the_cap_and_the_budget_is_admitted(client, alice_key):
    run_cap(PRICE)
    budget(limit=PRICE)
    assert post_settled(client, alice_key, PDL_MATCH).json()["status"] == "COMPLETED"


def test_a_budget_blocks_the_run_that_would_take_it_past_its_limit(client, alice_key):
    day = budget(limit=2 * PRICE)
    assert [post_settled(client, alice_key, PDL_MATCH).json()["status"] for _ in range(3)] == [
        "COMPLETED",
        "COMPLETED",
        "BLOCKED",
    ]
    blocked = Run.objects.get(status="BLOCKED")
    [snapshot] = blocked.controls
    assert snapshot == {
        "controlId": day.pk,
        "controlType": "BUDGET",
        "blocked": True,
        "requiredMicros": PRICE,
        "limitMicros": 2 * PRICE,
        "period": "DAY",
        "spentMicros": 2 * PRICE,
        "heldMicros": 0,
        "availableMicros": 0,
        "windowStart": day.window_start.isoformat(),
    }
    assert "DAY budget of $0.006000 has $0.000000 left ($0.006000 spent" in blocked.error_message


def test_a_blocked_run_shows_a_budget_in_monids_shape_in_dollars(client, alice_key):
    with time_machine.travel("2026-11-29 13:45:10Z", tick=False):
        day = budget(limit=2 * PRICE)
        body = [post_settled(client, alice_key, PDL_MATCH).json() for _ in range(3)][2]
    assert body["status"] == "BLOCKED" and "DAY budget" in body["reason"]
    assert body["controls"] == [
        {
            "controlId": day.pk,
            "requiredAmount": usd(0.003),
            "snapshot": {
                "type": "WORKSPACE_BUDGET",
                "period": "DAY",
                "windowStart": "2026-11-29T00:00:00.000Z",
                "limitAmount": usd(0.006),
                "availableAmount": usd(0.0),
                "heldAmount": usd(0.0),
                "spentAmount": usd(0.006),
            },
        }
    ]


def test_a_provider_error_spends_nothing_from_the_budget(client, alice_key):
    budget(limit=PRICE)
    no_match = {**PDL_MATCH, "input": {"email": "nomatch@example.com"}}
    assert post_settled(client, alice_key, no_match).json()["providerResponse"]["httpStatus"] == 404
    assert post_settled(client, alice_key, PDL_MATCH).json()["status"] == "COMPLETED"


def test_runs_in_flight_count_against_a_budget_through_their_holds(client, alice_key):
    budget(limit=2 * PRICE)
    statuses = [post_settled(client, alice_key, TWEETS).json()["status"] for _ in range(3)]
    assert statuses == ["RUNNING", "RUNNING", "BLOCKED"]
    assert Run.objects.get(status="BLOCKED").controls[0]["heldMicros"] == 2 * PRICE


def test_a_paused_budget_or_cap_blocks_nothing(client, alice_key):
    budget(limit=0, status="PAUSED")
    run_cap(0, status="PAUSED")
    assert post_settled(client, alice_key, PDL_MATCH).json()["status"] == "COMPLETED"


def test_a_paused_budget_keeps_counting_so_it_is_right_when_resumed(client, alice_key):
    day = budget(limit=PRICE, status="PAUSED")
    post_settled(client, alice_key, PDL_MATCH)
    budget(limit=PRICE, status="ACTIVE")
    assert post_settled(client, alice_key, PDL_MATCH).json()["status"] == "BLOCKED"
    day.refresh_from_db()
    assert day.spent_micros == PRICE


def test_a_new_budget_counts_what_its_window_already_spent(client, alice_key):
    post_settled(client, alice_key, PDL_MATCH)
    assert budget(limit=PRICE).spent_micros == PRICE
    assert post_settled(client, alice_key, PDL_MATCH).json()["status"] == "BLOCKED"


def test_a_budget_starts_afresh_when_its_window_turns(client, alice_key):
    with time_machine.travel("2026-11-29 23:59:00Z", tick=False):
        budget(limit=PRICE)
        assert post_settled(client, alice_key, PDL_MATCH).json()["status"] == "COMPLETED"
        assert post_settled(client, alice_key, PDL_MATCH).json()["status"] == "BLOCKED"
    with time_machine.travel("2026-11-30 00:00:01Z", tick=False):
        assert post_settled(client, alice_key, PDL_MATCH).json()["status"] == "COMPLETED"
        day = SpendControl.objects.get()
        assert (day.window_start.isoformat(), day.spent_micros) == ("2026-11-30T00:00:00+00:00", PRICE)


@pytest.mark.parametrize(
    "now, period, start",
    [
        ("2026-11-29 13:45:10Z", "HOUR", "2026-11-29T13:00:00+00:00"),
        ("2026-11-29 13:45:10Z", "WEEK", "2026-11-23T00:00:00+00:00"),  # the Monday before
        ("2026-11-29 13:45:10Z", "MONTH", "2026-11-01T00:00:00+00:00"),
    ],
)
def test_each_period_has_its_own_window(client, alice_key, now, period, start):
    with time_machine.travel(now, tick=False):
        budget(period=period, limit=0)
        run_id = post_settled(client, alice_key, PDL_MATCH).json()["runId"]
        assert Run.objects.get(pk=run_id).controls[0]["windowStart"] == start


def test_the_run_lists_the_controls_that_blocked_it_and_keeps_the_others_for_its_page(client, alice_key):
    cap = run_cap(0)
    budget(limit=10 * PRICE)
    body = post_settled(client, alice_key, PDL_MATCH).json()
    assert "per-run cap" in body["reason"]
    assert [(c["controlId"], c["snapshot"]["type"]) for c in body["controls"]] == [(cap.pk, "WORKSPACE_RUN_CAP")]
    stored = Run.objects.get(pk=body["runId"]).controls
    assert [(c["controlType"], c["blocked"]) for c in stored] == [("BUDGET", False), ("RUN_CAP", True)]


def test_every_control_that_blocked_the_run_is_listed(client, alice_key):
    run_cap(0)
    budget(limit=0)
    body = post_settled(client, alice_key, PDL_MATCH).json()
    assert sorted(c["snapshot"]["type"] for c in body["controls"]) == ["WORKSPACE_BUDGET", "WORKSPACE_RUN_CAP"]


def test_a_budget_counts_the_holds_of_ended_runs_until_they_are_settled(client, alice_key):
    budget(limit=2 * PRICE)
    assert [post_run(client, alice_key, PDL_MATCH).json()["status"] for _ in range(3)] == [
        "COMPLETED",
        "COMPLETED",
        "BLOCKED",
    ]
    assert Run.objects.get(status="BLOCKED").controls[0]["heldMicros"] == 2 * PRICE
    runs_settle_all()
    assert SpendControl.objects.get(kind="BUDGET").spent_micros == 2 * PRICE and Wallet.objects.get().held_micros == 0


def test_the_wallet_knows_whether_a_control_is_active_so_admission_reads_the_controls_only_then(client, alice_key):
    assert not Wallet.objects.get().controls_active
    control = budget(limit=0)
    assert Wallet.objects.get().controls_active
    assert post_settled(client, alice_key, PDL_MATCH).json()["status"] == "BLOCKED"
    spend_control_update(control=control, status="PAUSED")
    assert not Wallet.objects.get().controls_active
    assert post_settled(client, alice_key, PDL_MATCH).json()["status"] == "COMPLETED"


def test_a_control_set_before_the_wallet_had_a_row_is_enforced_once_it_is_funded(client, bob):
    workspace = bob.workspaces.get()
    spend_control_set(workspace=workspace, kind="RUN_CAP", limit_micros=0)
    wallet_credit(workspace=workspace, amount_micros=10 * PRICE, note="funds")
    key = api_key_create(workspace=workspace, label="bob-late", mode="live")[1]
    assert post_settled(client, key, PDL_MATCH).json()["status"] == "BLOCKED"


def test_test_keys_are_never_blocked(client, alice_test_key, alice_key):
    run_cap(0)
    budget(limit=0)
    assert post_settled(client, alice_test_key, PDL_MATCH).json()["status"] == "COMPLETED"


def test_a_blocked_run_is_counted_on_its_key_and_listed(client, alice_key):
    run_cap(0)
    run_id = post_settled(client, alice_key, PDL_MATCH).json()["runId"]
    listed = client.get("/v1/runs?status=BLOCKED", HTTP_AUTHORIZATION=f"Bearer {alice_key}").json()["items"]
    assert [item["runId"] for item in listed] == [run_id] and listed[0]["reason"]
    got = client.get(f"/v1/runs/{run_id}", HTTP_AUTHORIZATION=f"Bearer {alice_key}").json()
    assert got["status"] == "BLOCKED" and got["controls"][0]["snapshot"]["type"] == "WORKSPACE_RUN_CAP"


def test_a_blocked_run_replays_under_its_idempotency_key(client, alice_key):
    run_cap(0)
    first, again = (
        client.post(
            "/v1/run",
            data=json.dumps(TWEETS),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {alice_key}",
            HTTP_IDEMPOTENCY_KEY="once",
        )
        for _ in range(2)
    )
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["runId"] == again.json()["runId"] and Run.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_hundred_runs_at_once_against_a_budget_for_ten_admit_exactly_ten(alice, catalog):
    workspace = alice.workspaces.get()
    wallet_credit(workspace=workspace, amount_micros=100 * PRICE, note="a hundred runs")
    spend_control_set(workspace=workspace, kind="BUDGET", period="MONTH", limit_micros=10 * PRICE)
    api_key = api_key_create(workspace=workspace, label="racer", mode="live")[0]

    statuses = [run.status for run in a_hundred_tweet_searches_at_once(api_key)]
    assert (statuses.count("RUNNING"), statuses.count("BLOCKED")) == (10, 90)
    assert Wallet.objects.get(workspace=workspace).held_micros == 10 * PRICE


@pytest.fixture
def counting_pdl(settings, emulators):
    """PDL behind a loopback proxy that counts the calls it passes on."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import requests

    calls = []

    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self):
            calls.append(self.path)
            upstream = requests.get(f"{emulators.url}/pdl{self.path}", headers=dict(self.headers), timeout=10)
            self.send_response(upstream.status_code)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(upstream.content)

        do_POST = do_GET

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.PDL_API_BASE_URL = f"http://127.0.0.1:{server.server_address[1]}"
    yield calls
    server.shutdown()


def test_a_blocked_sync_run_never_calls_pdl(client, alice_key, counting_pdl):
    assert post_settled(client, alice_key, PDL_MATCH).json()["status"] == "COMPLETED" and len(counting_pdl) == 1
    run_cap(0)
    assert post_settled(client, alice_key, PDL_MATCH).json()["status"] == "BLOCKED"
    assert len(counting_pdl) == 1
