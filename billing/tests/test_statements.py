"""The hand-written statements do what the ORM does for the same change, on SQLite and on PostgreSQL."""

import pytest
from django.db.models import F

from billing.accounts import workspace_get_or_create
from billing.models import Wallet
from billing.statements import wallet_hold_take

pytestmark = pytest.mark.django_db


def wallets(balance, held, controls_active=False):
    """Two wallets alike: one for the hand-written statement, one for the ORM."""
    return [
        Wallet.objects.create(
            workspace=workspace_get_or_create(slug=slug),
            balance_micros=balance,
            held_micros=held,
            controls_active=controls_active,
        ).workspace_id
        for slug in ("by-hand", "by-orm")
    ]


def orm_hold(workspace_id, amount):
    moved = Wallet.objects.filter(workspace_id=workspace_id, balance_micros__gte=F("held_micros") + amount).update(
        held_micros=F("held_micros") + amount
    )
    wallet = Wallet.objects.get(workspace_id=workspace_id)
    return (wallet.controls_active, wallet.held_micros - amount) if moved else None


@pytest.mark.parametrize(
    "balance, held, amount, controls_active",
    [
        (10_000, 0, 3_000, False),  # covered
        (10_000, 7_000, 3_000, True),  # covered exactly, with controls
        (10_000, 7_001, 3_000, False),  # a micro-dollar short
        (0, 0, 1, True),  # nothing to spend
    ],
)
def test_the_hold_moves_the_wallet_and_answers_as_the_orm_would(balance, held, amount, controls_active):
    by_hand, by_orm = wallets(balance, held, controls_active)
    assert wallet_hold_take(workspace_id=by_hand, amount_micros=amount) == orm_hold(by_orm, amount)
    rows = Wallet.objects.filter(workspace_id__in=[by_hand, by_orm]).values_list("balance_micros", "held_micros")
    assert len(set(rows)) == 1


def test_a_workspace_without_a_wallet_holds_nothing():
    assert wallet_hold_take(workspace_id=workspace_get_or_create(slug="new").pk, amount_micros=1) is None
