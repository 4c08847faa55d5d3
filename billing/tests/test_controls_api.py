"""The spend-control routes: budgets and run caps are listed, read and changed in Monid's shapes, one workspace
never sees another's, and a bad change is a 400 that changes nothing."""

import json

import pytest
import time_machine

from billing.controls import spend_control_set
from billing.models import SpendControl, Workspace

pytestmark = pytest.mark.django_db

BUDGETS, RUN_CAPS = "/v1/controls/workspace/budgets", "/v1/controls/workspace/run-caps"


def get(client, key, url):
    return client.get(url, HTTP_AUTHORIZATION=f"Bearer {key}")


def patch(client, key, url, body):
    return client.patch(url, data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.fixture
def day_budget(alice_key):
    return spend_control_set(
        workspace=Workspace.objects.get(slug="acme"), kind="BUDGET", period="DAY", limit_micros=5_000_000
    )


@pytest.fixture
def cap(alice_key):
    return spend_control_set(workspace=Workspace.objects.get(slug="acme"), kind="RUN_CAP", limit_micros=250_000)


def test_budgets_are_listed_with_what_they_spent_and_what_is_held(client, alice_key, day_budget):
    with time_machine.travel("2026-11-29 15:00:00Z", tick=False):
        response = get(client, alice_key, BUDGETS)
    assert response.status_code == 200
    assert response.json() == {
        "cursor": None,
        "items": [
            {
                "budgetControlId": day_budget.pk,
                "workspaceId": "acme",
                "period": "DAY",
                "limitAmount": 5.0,
                "spentAmount": 0.0,
                "heldAmount": 0.0,
                "availableAmount": 5.0,
                "currency": "USD",
                "windowStart": "2026-11-29T00:00:00.000Z",
                "status": "ACTIVE",
                "createdAt": response.json()["items"][0]["createdAt"],
                "updatedAt": response.json()["items"][0]["updatedAt"],
            }
        ],
    }


def test_a_budget_shows_a_run_in_flight_as_held(client, alice_key, day_budget, tweets_per_call):
    client.post(
        "/v1/run",
        data=json.dumps(
            {"provider": "apify", "endpoint": "/apidojo/tweet-scraper", "input": {"searchTerms": ["held"]}}
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {alice_key}",
    )
    body = get(client, alice_key, f"{BUDGETS}/{day_budget.pk}").json()
    assert (body["heldAmount"], body["availableAmount"]) == (0.003, 4.997)


def test_run_caps_are_listed_in_their_own_shape(client, alice_key, cap):
    body = get(client, alice_key, RUN_CAPS).json()
    assert [(item["runCapControlId"], item["limitAmount"], item["status"]) for item in body["items"]] == [
        (cap.pk, 0.25, "ACTIVE")
    ]
    assert "period" not in body["items"][0]


def test_lists_page_with_a_cursor(client, alice_key):
    workspace = Workspace.objects.get(slug="acme")
    made = [
        spend_control_set(workspace=workspace, kind="BUDGET", period=p, limit_micros=1).pk
        for p in ("HOUR", "DAY", "WEEK")
    ]
    first = get(client, alice_key, f"{BUDGETS}?limit=2").json()
    rest = get(client, alice_key, f"{BUDGETS}?limit=2&cursor={first['cursor']}").json()
    assert [item["budgetControlId"] for item in first["items"] + rest["items"]] == made[::-1]
    assert rest["cursor"] is None


@pytest.mark.parametrize(
    "unit, value, micros", [("DOLLAR", 12, 12_000_000), ("CENT", 150, 1_500_000), ("MICRO_DOLLAR", 7, 7)]
)
def test_a_budget_limit_is_changed_in_any_unit(client, alice_key, day_budget, unit, value, micros):
    response = patch(
        client,
        alice_key,
        f"{BUDGETS}/{day_budget.pk}",
        {"limitAmount": {"currency": "USD", "value": value, "unit": unit}},
    )
    assert response.status_code == 200 and response.json()["limitAmount"] == micros / 1_000_000
    day_budget.refresh_from_db()
    assert (day_budget.limit_micros, day_budget.status) == (micros, "ACTIVE")


def test_a_run_cap_is_paused_and_resumed(client, alice_key, cap):
    assert patch(client, alice_key, f"{RUN_CAPS}/{cap.pk}", {"status": "PAUSED"}).json()["status"] == "PAUSED"
    assert SpendControl.objects.get().status == "PAUSED"
    assert patch(client, alice_key, f"{RUN_CAPS}/{cap.pk}", {"status": "ACTIVE"}).json()["status"] == "ACTIVE"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"status": "OFF"},
        {"limitAmount": 5},
        {"limitAmount": {"currency": "EUR", "value": 1, "unit": "DOLLAR"}},
        {"limitAmount": {"currency": "USD", "value": -1, "unit": "DOLLAR"}},
        {"limitAmount": {"currency": "USD", "value": 1.5, "unit": "DOLLAR"}},
        {"limitAmount": {"currency": "USD", "value": 1, "unit": "EURO"}},
        {"limitAmount": {"currency": "USD", "value": 10**12, "unit": "DOLLAR"}},
        {"limitAmount": {"currency": "USD", "value": 1, "unit": "DOLLAR", "extra": 1}},
        {"status": "PAUSED", "period": "WEEK"},
    ],
)
def test_a_bad_change_is_a_400_that_changes_nothing(client, alice_key, day_budget, body):
    response = patch(client, alice_key, f"{BUDGETS}/{day_budget.pk}", body)
    assert response.status_code == 400 and response.json()["code"] == 400 and response.json()["message"]
    day_budget.refresh_from_db()
    assert (day_budget.limit_micros, day_budget.status, day_budget.period) == (5_000_000, "ACTIVE", "DAY")


def test_a_budget_is_not_a_run_cap(client, alice_key, day_budget):
    assert get(client, alice_key, f"{RUN_CAPS}/{day_budget.pk}").status_code == 404


def test_another_workspaces_controls_are_unknown(client, bob_key, day_budget, cap):
    assert get(client, bob_key, BUDGETS).json()["items"] == []
    assert get(client, bob_key, RUN_CAPS).json()["items"] == []
    for url in (f"{BUDGETS}/{day_budget.pk}", f"{RUN_CAPS}/{cap.pk}"):
        assert get(client, bob_key, url).status_code == 404
        assert patch(client, bob_key, url, {"status": "PAUSED"}).status_code == 404
    assert set(SpendControl.objects.values_list("status", flat=True)) == {"ACTIVE"}


@pytest.mark.parametrize("url", [BUDGETS, RUN_CAPS, f"{BUDGETS}/01JC2Z0A9V8Q4R6T8Y0B2D4F6H"])
def test_a_bad_key_is_a_401(client, url):
    response = get(client, "monid_live_nope", url)
    assert response.status_code == 401 and response.json()["code"] == 401
