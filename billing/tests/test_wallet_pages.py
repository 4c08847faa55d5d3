"""Operators see every workspace's wallet and ledger, and credit a wallet with a note; customers see neither."""

import pytest
from django.test import Client

from billing.models import LedgerEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


def test_operators_see_each_workspace_with_what_it_can_spend(operator_client, alice, bob):
    operator_client.post("/workspaces/acme/", {"amount_usd": "7.5", "note": "trial"})
    response = operator_client.get("/workspaces/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "acme" in page and "globex" in page and "$7.500000" in page


def test_an_operator_credits_a_wallet_with_a_note_that_stays_on_the_ledger(operator_client, operator, alice):
    response = operator_client.post("/workspaces/acme/", {"amount_usd": "25.000001", "note": "invoice 42"})
    assert response.status_code == 302 and response["Location"] == "/workspaces/acme/"
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount_micros, entry.note, entry.created_by) == (
        "credit",
        25_000_001,
        "invoice 42",
        operator,
    )
    page = operator_client.get("/workspaces/acme/").content.decode()
    assert "$25.000001" in page and "invoice 42" in page and "olivia" in page


@pytest.mark.parametrize(
    "form",
    [
        {"amount_usd": "0", "note": "x"},
        {"amount_usd": "-3", "note": "x"},
        {"amount_usd": "1.0000001", "note": "x"},
        {"amount_usd": "abc", "note": "x"},
        {"amount_usd": "5", "note": ""},
        {"amount_usd": "5", "note": "   "},
        {"amount_usd": "5000000000", "note": "too much"},
    ],
)
def test_a_bad_credit_is_refused_with_a_reason_and_writes_nothing(operator_client, alice, form):
    response = operator_client.post("/workspaces/acme/", form)
    assert response.status_code == 400
    assert 'class="error"' in response.content.decode()
    assert not LedgerEntry.objects.exists()


def test_customers_and_strangers_never_see_a_wallet_page(client, alice, bob):
    client.force_login(alice)
    assert client.get("/workspaces/").status_code == 404
    assert client.get("/workspaces/acme/").status_code == 404
    assert client.post("/workspaces/acme/", {"amount_usd": "5", "note": "self-service"}).status_code == 404
    assert not LedgerEntry.objects.exists()
    client.logout()
    assert client.get("/workspaces/acme/").status_code == 302  # to the sign-in page


def test_a_credit_without_the_csrf_token_is_refused(operator, alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    assert client.post("/workspaces/acme/", {"amount_usd": "5", "note": "x"}).status_code == 403
    assert not LedgerEntry.objects.exists()


def test_an_unknown_workspace_is_a_404(operator_client):
    assert operator_client.get("/workspaces/nope/").status_code == 404
