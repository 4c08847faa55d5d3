"""Money: the ledger and the wallet it moves, runs' holds and their settlement, operators' credits, and each key's
daily cost rollup."""

import datetime
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F

from monid_site.errors import ApplicationError
from monid_site.money import micros_text
from monid_site.sql import instances_insert

from .controls import budget_spend_record
from .costs import Costs
from .models import KeyDailyCost, LedgerEntry, Wallet, Workspace
from .statements import wallet_hold_take


@dataclass(frozen=True)
class Settlement:
    """What settling one ended run needs to know of it (billing does not import runs)."""

    workspace_id: int
    api_key_id: int
    run_id: str
    provider: str
    endpoint: str
    status: str
    ended_at: datetime.datetime
    held_micros: int
    costs: Costs


def settlements_record(settlements: list[Settlement]) -> None:
    """Settles a batch of ended runs, in the settler's transaction: their holds released and their charges taken
    (one ledger INSERT for the batch, one wallet UPDATE and one pass over the budgets per workspace), and their
    costs added to their keys' daily rollup (one UPDATE per group of runs alike).

    Wallet rows are updated in workspace order and rollup rows in key order, so two settlers (several workers on
    PostgreSQL, each with its own runs) never wait on each other in a cycle.
    """
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(workspace_id=s.workspace_id, kind=kind, amount_micros=amount, run_id=s.run_id)
            for s in settlements
            for kind, amount in (
                (LedgerEntry.Kind.RELEASE, s.held_micros),
                (LedgerEntry.Kind.CHARGE, s.costs.reported_micros),
            )
            if amount
        ]
    )
    by_workspace = {}
    for s in settlements:
        by_workspace.setdefault(s.workspace_id, []).append(s)
    for workspace_id, runs in sorted(by_workspace.items()):
        released, charged = sum(s.held_micros for s in runs), sum(s.costs.reported_micros for s in runs)
        if released or charged:
            Wallet.objects.filter(workspace_id=workspace_id).update(
                balance_micros=F("balance_micros") - charged, held_micros=F("held_micros") - released
            )
        if charged:  # after the wallet's row: see budget_spend_record
            budget_spend_record(
                workspace_id=workspace_id,
                charges=[(s.ended_at, s.costs.reported_micros) for s in runs if s.costs.reported_micros],
            )
    groups: dict[tuple, list[int]] = {}
    for s in settlements:
        sums = groups.setdefault((s.api_key_id, s.ended_at.date(), s.provider, s.endpoint, s.status), [0, 0, 0, 0])
        for i, amount in enumerate((1, s.costs.calculated_micros, s.costs.actual_micros, s.costs.reported_micros)):
            sums[i] += amount
    for group, sums in sorted(groups.items()):
        _key_costs_add(dict(zip(("api_key_id", "day", "provider", "endpoint", "status"), group)), *sums)


def _key_costs_add(group: dict, runs: int, calculated: int, actual: int, reported: int) -> None:
    """F() keeps concurrent settlers from losing each other's updates."""
    increments = {
        "run_count": F("run_count") + runs,
        "calculated_cost_micros": F("calculated_cost_micros") + calculated,
        "actual_cost_micros": F("actual_cost_micros") + actual,
        "reported_cost_micros": F("reported_cost_micros") + reported,
    }
    rollup = KeyDailyCost.objects.filter(**group)
    if not rollup.update(**increments):  # the group's first run of the day
        KeyDailyCost.objects.get_or_create(**group)
        rollup.update(**increments)


ROLLUP_BATCH = 2000


@transaction.atomic
def key_daily_costs_replace(*, groups: Iterable[dict], rollup_model=KeyDailyCost) -> int:
    """Replaces every daily cost rollup row with `groups` (each a row's fields), in batches; returns how many it
    wrote. `rollup_model` is KeyDailyCost, or its historical model when a migration rebuilds the rollup."""
    rollup_model.objects.all().delete()
    written, groups = 0, iter(groups)
    while batch := [rollup_model(**group) for group in itertools.islice(groups, ROLLUP_BATCH)]:
        written += len(rollup_model.objects.bulk_create(batch))
    return written


MAX_CREDIT_MICROS = 10**15  # $1,000,000,000: far above any real top-up, far below the column's limit
# How each kind of ledger entry moves a wallet's (balance, held).
LEDGER_EFFECTS = {
    LedgerEntry.Kind.CREDIT: (1, 0),
    LedgerEntry.Kind.REFUND: (1, 0),
    LedgerEntry.Kind.CHARGE: (-1, 0),
    LedgerEntry.Kind.HOLD: (0, 1),
    LedgerEntry.Kind.RELEASE: (0, -1),
}


@transaction.atomic
def ledger_append(
    *, workspace_id: int, kind: str, amount_micros: int, run_id: str = "", note: str = "", created_by=None
) -> LedgerEntry:
    """Appends one entry and moves the wallet's sums by it in the same transaction, so they always agree."""
    balance, held = LEDGER_EFFECTS[kind]
    moved = {
        "balance_micros": F("balance_micros") + balance * amount_micros,
        "held_micros": F("held_micros") + held * amount_micros,
    }
    if not Wallet.objects.filter(workspace_id=workspace_id).update(**moved):  # the workspace's first entry
        Wallet.objects.get_or_create(workspace_id=workspace_id)
        Wallet.objects.filter(workspace_id=workspace_id).update(**moved)
    return LedgerEntry.objects.create(
        workspace_id=workspace_id,
        kind=kind,
        amount_micros=amount_micros,
        run_id=run_id,
        note=note,
        created_by=created_by,
    )


def wallet_credit(*, workspace: Workspace, amount_micros: int, note: str, created_by=None) -> LedgerEntry:
    """An operator's top-up of a workspace's wallet."""
    if not 0 < amount_micros <= MAX_CREDIT_MICROS:
        raise ApplicationError(400, f"A credit must be more than $0 and at most ${MAX_CREDIT_MICROS // 10**6:,}.")
    if not note.strip():
        raise ApplicationError(400, "Say why the wallet is credited: a credit needs a note.")
    return ledger_append(
        workspace_id=workspace.pk,
        kind=LedgerEntry.Kind.CREDIT,
        amount_micros=amount_micros,
        note=note.strip(),
        created_by=created_by,
    )


@transaction.atomic(savepoint=False)  # a refusal rolls back the caller's transaction too: no run, no hold
def wallet_hold(*, workspace_id: int, amount_micros: int, run_id: str) -> tuple[bool, int]:
    """Sets a run's estimated price aside, or refuses it with a 402 that names the shortfall. Returns whether the
    workspace has an active spend control and what the wallet held before this run, for spend_controls_check.

    One conditional UPDATE decides (statements.wallet_hold_take), and the row lock it takes means two runs
    admitted at once can never both spend the same money. The entry first and the wallet's row last: the row
    stays locked from that UPDATE until the commit, and every run of the workspace waits for it.
    """
    instances_insert(
        [LedgerEntry(workspace_id=workspace_id, kind=LedgerEntry.Kind.HOLD, amount_micros=amount_micros, run_id=run_id)]
    )
    taken = wallet_hold_take(workspace_id=workspace_id, amount_micros=amount_micros)
    if taken is None:
        wallet = Wallet.objects.filter(workspace_id=workspace_id).first()
        available = max(0, wallet.balance_micros - wallet.held_micros) if wallet else 0
        raise ApplicationError(
            402,
            f"The wallet cannot cover this run: it needs {micros_text(amount_micros)} and "
            f"{micros_text(available)} is available, {micros_text(amount_micros - available)} "
            "short. Ask an operator to credit the workspace's wallet, or use a monid_test_ key.",
        )
    return taken
