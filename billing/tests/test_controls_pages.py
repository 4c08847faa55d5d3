"""Customers set, pause and resume their budgets and run cap in the dashboard, and see their wallet."""

import pytest

from billing.models import LedgerEntry, SpendControl

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def test_a_customer_sets_a_budget_and_sees_it_with_its_window(alice_client):
    response = alice_client.post(
        "/controls/", {"form": "budget", "budget-period": "WEEK", "budget-limit_usd": "12.5", "budget-status": "ACTIVE"}
    )
    assert response.status_code == 302 and response["Location"] == "/controls/"
    budget = SpendControl.objects.get()
    assert (budget.workspace.slug, budget.kind, budget.period, budget.limit_micros) == (
        "acme",
        "BUDGET",
        "WEEK",
        12_500_000,
    )
    page = alice_client.get("/controls/").content.decode()
    assert "Week" in page and "$12.500000" in page and "Saved the week budget" in page


def test_setting_a_period_again_changes_its_budget(alice_client):
    for limit in ("1", "2"):
        alice_client.post(
            "/controls/",
            {"form": "budget", "budget-period": "DAY", "budget-limit_usd": limit, "budget-status": "ACTIVE"},
        )
    assert list(SpendControl.objects.values_list("limit_micros", flat=True)) == [2_000_000]


def test_a_customer_sets_the_run_cap_then_pauses_and_resumes_it(alice_client):
    alice_client.post("/controls/", {"form": "run_cap", "run_cap-limit_usd": "0.25", "run_cap-status": "ACTIVE"})
    cap = SpendControl.objects.get(kind="RUN_CAP")
    assert cap.limit_micros == 250_000
    assert alice_client.post(f"/controls/{cap.pk}/status/", {"status": "PAUSED"}).status_code == 302
    cap.refresh_from_db()
    assert cap.status == "PAUSED"
    assert "Resume" in alice_client.get("/controls/").content.decode()


@pytest.mark.parametrize(
    "form",
    [
        {"form": "budget", "budget-period": "YEAR", "budget-limit_usd": "1", "budget-status": "ACTIVE"},
        {"form": "budget", "budget-period": "DAY", "budget-limit_usd": "-1", "budget-status": "ACTIVE"},
        {"form": "budget", "budget-period": "DAY", "budget-limit_usd": "0.0000001", "budget-status": "ACTIVE"},
        {"form": "run_cap", "run_cap-limit_usd": "2000000000", "run_cap-status": "ACTIVE"},
        {"form": "run_cap", "run_cap-limit_usd": "1", "run_cap-status": "SOMETIMES"},
    ],
)
def test_a_bad_control_is_refused_with_a_reason_and_saves_nothing(alice_client, form):
    response = alice_client.post("/controls/", form)
    assert response.status_code == 400 and 'class="error"' in response.content.decode()
    assert not SpendControl.objects.exists()


def test_nobody_changes_another_workspaces_control(client, alice, bob):
    client.force_login(alice)
    client.post("/controls/", {"form": "run_cap", "run_cap-limit_usd": "1", "run_cap-status": "ACTIVE"})
    cap = SpendControl.objects.get()
    client.force_login(bob)
    assert client.post(f"/controls/{cap.pk}/status/", {"status": "PAUSED"}).status_code == 404
    assert "$1.000000" not in client.get("/controls/").content.decode()
    cap.refresh_from_db()
    assert cap.status == "ACTIVE"


def test_the_controls_page_needs_a_login(client):
    response = client.get("/controls/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_customer_sees_their_wallet_and_its_ledger_but_no_credit_form(client, alice, alice_key, bob, bob_key):
    client.force_login(alice)
    page = client.get("/wallet/").content.decode()
    assert "$100.000000" in page and "test funds" in page and "Credit this wallet" not in page
    assert LedgerEntry.objects.filter(workspace__slug="globex").exists()
    assert page.count("test funds") == 1  # bob's credit is not on alice's page


def test_a_blocked_runs_page_says_which_control_blocked_it(client, alice, alice_key):
    client.force_login(alice)
    client.post("/controls/", {"form": "run_cap", "run_cap-limit_usd": "0.001", "run_cap-status": "ACTIVE"})
    run_id = client.post(
        "/v1/run",
        data={"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {alice_key}",
    ).json()["runId"]
    page = client.get(f"/runs/{run_id}/").content.decode()
    assert "Blocked by a spend control" in page and "per-run cap of $0.001000" in page and "run cap" in page
    assert "Monid error" not in page
