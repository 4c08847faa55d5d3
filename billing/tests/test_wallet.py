"""The wallet: a ledger only ever appended to, its sums on one row, the balance route and the credit command."""

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from billing.models import LedgerEntry, Wallet
from billing.services import ledger_append

pytestmark = pytest.mark.django_db


def balance(client, key):
    return client.get("/v1/wallet/balance", HTTP_AUTHORIZATION=f"Bearer {key}")


def test_a_new_workspace_has_nothing_to_spend(client, alice_test_key):
    response = balance(client, alice_test_key)
    assert response.status_code == 200
    assert response.json() == {"balance": {"value": 0.0, "currency": "USD"}, "held": {"value": 0.0, "currency": "USD"}}


def test_a_credit_from_the_command_line_shows_in_the_balance_and_the_ledger(client, alice, alice_test_key, capsys):
    call_command("wallet_credit", "--workspace", "acme", "--amount-usd", "12.345678", "--note", "first top-up")
    assert "12.345678" in capsys.readouterr().out
    assert balance(client, alice_test_key).json()["balance"] == {"value": 12.345678, "currency": "USD"}
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount_micros, entry.note) == ("credit", 12_345_678, "first top-up")


def test_holds_are_not_spendable_and_the_ledger_sums_to_the_wallet(client, alice, alice_test_key):
    workspace = alice.workspaces.get()
    for kind, micros in [
        ("credit", 10_000_000),
        ("hold", 3_000_000),
        ("release", 1_000_000),
        ("charge", 500_000),
        ("refund", 200_000),
    ]:
        ledger_append(workspace_id=workspace.pk, kind=kind, amount_micros=micros, run_id="01JZ0000000000000000000000")
    assert balance(client, alice_test_key).json() == {
        "balance": {"value": 7.7, "currency": "USD"},
        "held": {"value": 2.0, "currency": "USD"},
    }
    sums = {
        kind: LedgerEntry.objects.filter(kind=kind).aggregate(s=Sum("amount_micros"))["s"] or 0
        for kind in LedgerEntry.Kind.values
    }
    wallet = Wallet.objects.get()
    assert wallet.balance_micros == sums["credit"] + sums["refund"] - sums["charge"]
    assert wallet.held_micros == sums["hold"] - sums["release"]


def test_another_workspaces_credit_is_not_yours(client, alice_test_key, bob):
    call_command("wallet_credit", "--workspace", "globex", "--amount-usd", "50")
    assert balance(client, alice_test_key).json()["balance"]["value"] == 0.0


@pytest.mark.parametrize(
    "amount, message",
    [
        ("0", "more than"),
        ("-5", "more than"),
        ("abc", "number"),
        ("0.0000001", "micro-dollars"),
        ("NaN", "micro-dollars"),
        ("1e12", "at most"),
    ],
)
def test_the_credit_command_refuses_a_bad_amount_and_writes_nothing(alice, amount, message):
    with pytest.raises(CommandError, match=message):
        call_command("wallet_credit", "--workspace", "acme", f"--amount-usd={amount}")
    assert not LedgerEntry.objects.exists()


def test_the_credit_command_refuses_an_unknown_workspace(db):
    with pytest.raises(CommandError, match="no workspace 'nope'"):
        call_command("wallet_credit", "--workspace", "nope", "--amount-usd", "5")
