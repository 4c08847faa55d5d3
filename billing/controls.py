"""Spend controls: a workspace's budgets (a limit per hour, day, week or month) and its per-run cap, and each
key's own spend limit (per UTC day, week or month).

A live run is checked against every ACTIVE control before it is admitted. A budget counts what was charged in
its current window plus everything held for runs in flight, so the charges that land in one window can never
add up to more than its limit: a run's charge never exceeds its hold, and every hold was counted when each
later run was admitted. Settlement keeps each budget's charged-in-window sum on its own row, in the
transaction that charges the run, so admission reads a few small rows and never sums the ledger.

A key's limit counts what its runs were charged in the window (its daily cost rollup, which the settling
transaction moves) plus the holds of its runs in flight, read under the same wallet lock: no settlement of the
workspace can commit in between, and the key's admissions take turns.
"""

import calendar
import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from monid_site.errors import ApplicationError
from monid_site.money import micros_text

from .models import ApiKey, KeyDailyCost, LedgerEntry, SpendControl, Wallet, Workspace

MAX_LIMIT_MICROS = 10**15  # $1,000,000,000, as for credits
PERIOD_LENGTH = {
    "HOUR": datetime.timedelta(hours=1),
    "DAY": datetime.timedelta(days=1),
    "WEEK": datetime.timedelta(weeks=1),
}


def window_start(period: str, now: datetime.datetime) -> datetime.datetime:
    """The start of the window `now` falls in: the hour, the UTC day, the week from Monday, the month."""
    now = now.astimezone(datetime.UTC)
    if period == SpendControl.Period.HOUR:
        return now.replace(minute=0, second=0, microsecond=0)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == SpendControl.Period.DAY:
        return day
    if period == SpendControl.Period.WEEK:
        return day - datetime.timedelta(days=day.weekday())
    return day.replace(day=1)


def window_end(period: str, start: datetime.datetime) -> datetime.datetime:
    if period == SpendControl.Period.MONTH:
        return start + datetime.timedelta(days=calendar.monthrange(start.year, start.month)[1])
    return start + PERIOD_LENGTH[period]


@dataclass(frozen=True)
class ControlState:
    """A control as it stands at one instant, in micro-dollars; what the API, the pages and a BLOCKED run show."""

    control: SpendControl
    required_micros: int | None = None  # what the run being admitted needs; None outside admission
    spent_micros: int = 0
    held_micros: int = 0
    window_start: datetime.datetime | None = None

    @property
    def available_micros(self) -> int:
        return max(0, self.control.limit_micros - self.spent_micros - self.held_micros)

    @property
    def blocks(self) -> bool:
        if self.required_micros is None or self.control.status != SpendControl.Status.ACTIVE:
            return False
        if self.control.kind == SpendControl.Kind.RUN_CAP:
            return self.required_micros > self.control.limit_micros
        return self.spent_micros + self.held_micros + self.required_micros > self.control.limit_micros

    def reason(self) -> str:
        need, control = micros_text(self.required_micros or 0), self.control
        if control.kind == SpendControl.Kind.RUN_CAP:
            return (
                f"This run may cost up to {need}, more than the workspace's per-run cap of "
                f"{micros_text(control.limit_micros)}. Ask for fewer results, or raise or pause the run cap "
                "in the dashboard."
            )
        return (
            f"This run may cost up to {need}, and the workspace's {control.period} budget of "
            f"{micros_text(control.limit_micros)} has {micros_text(self.available_micros)} left "
            f"({micros_text(self.spent_micros)} spent, {micros_text(self.held_micros)} held for runs in flight) "
            f"until {window_end(control.period, self.window_start):%Y-%m-%dT%H:%M:%SZ}. Raise or pause the "
            "budget in the dashboard, or wait for the next window."
        )

    def snapshot(self) -> dict:
        """Stored on a BLOCKED run as it is: integers only, turned into dollars where it is shown."""
        control = self.control
        state = {
            "controlId": control.pk,
            "controlType": control.kind,
            "blocked": self.blocks,
            "requiredMicros": self.required_micros,
            "limitMicros": control.limit_micros,
        }
        if control.kind == SpendControl.Kind.BUDGET:
            state.update(
                period=control.period,
                spentMicros=self.spent_micros,
                heldMicros=self.held_micros,
                availableMicros=self.available_micros,
                windowStart=self.window_start.isoformat(),
            )
        return state


@dataclass(frozen=True)
class KeyLimitState:
    """A key's spend limit at the admission of one of its runs, in micro-dollars."""

    api_key: ApiKey
    required_micros: int
    spent_micros: int
    held_micros: int
    window_start: datetime.datetime

    @property
    def available_micros(self) -> int:
        return max(0, self.api_key.spend_limit_micros - self.spent_micros - self.held_micros)

    @property
    def blocks(self) -> bool:
        return self.spent_micros + self.held_micros + self.required_micros > self.api_key.spend_limit_micros

    def reason(self) -> str:
        key = self.api_key
        return (
            f"This run may cost up to {micros_text(self.required_micros)}, and the {key.spend_period} spend "
            f"limit of the key “{key.label}”, {micros_text(key.spend_limit_micros)}, has "
            f"{micros_text(self.available_micros)} left ({micros_text(self.spent_micros)} spent, "
            f"{micros_text(self.held_micros)} held for its runs in flight) until "
            f"{window_end(key.spend_period, self.window_start):%Y-%m-%dT%H:%M:%SZ}. Raise the key's limit in "
            "the dashboard or with PATCH /v1/api-keys/<label>, or wait for the next window."
        )

    def snapshot(self) -> dict:
        key = self.api_key
        return {
            "controlId": key.prefix,
            "controlType": "KEY_LIMIT",
            "apiKeyLabel": key.label,
            "blocked": self.blocks,
            "requiredMicros": self.required_micros,
            "limitMicros": key.spend_limit_micros,
            "period": key.spend_period,
            "spentMicros": self.spent_micros,
            "heldMicros": self.held_micros,
            "availableMicros": self.available_micros,
            "windowStart": self.window_start.isoformat(),
        }


def control_states(
    controls, *, held_micros: int, now: datetime.datetime, required_micros: int | None = None
) -> list[ControlState]:
    """Each control's state: a budget counts its window's charges (none once the window has moved on) and the
    workspace's holds; a run cap has neither."""
    states = []
    for control in controls:
        if control.kind == SpendControl.Kind.RUN_CAP:
            states.append(ControlState(control, required_micros))
            continue
        start = window_start(control.period, now)
        spent = control.spent_micros if control.window_start == start else 0
        states.append(ControlState(control, required_micros, spent, held_micros, start))
    return states


def spend_controls_check(
    *, api_key: ApiKey, amount_micros: int, controls_active: bool, held_micros: int, key_held_micros: Callable[[], int]
) -> list[ControlState | KeyLimitState] | None:
    """The states of the workspace's ACTIVE controls (read only when `controls_active`) and of the key's limit
    when one of them forbids a run of `amount_micros`, else None. `held_micros` is what the wallet held before
    this run; `key_held_micros` sums the holds of the key's other runs not yet settled (runs knows them).

    Called in the admission's transaction after wallet_hold, whose UPDATE locked the wallet row: admissions and
    settlements of the workspace then take turns, so two runs can never both fit into the same room.
    """
    now = timezone.now()
    controls = (
        (
            SpendControl.objects.filter(workspace_id=api_key.workspace_id, status=SpendControl.Status.ACTIVE).order_by(
                "kind", "period"
            )
        )
        if controls_active
        else []
    )
    states = control_states(controls, held_micros=held_micros, now=now, required_micros=amount_micros)
    if api_key.spend_limit_micros is not None:
        states.append(_key_limit_state(api_key, amount_micros, key_held_micros(), now))
    return states if any(state.blocks for state in states) else None


def _key_limit_state(api_key: ApiKey, amount_micros: int, held_micros: int, now) -> KeyLimitState:
    start = window_start(api_key.spend_period, now)
    spent = (
        KeyDailyCost.objects.filter(api_key=api_key, day__gte=start.date()).aggregate(
            total=Sum("reported_cost_micros")
        )["total"]
        or 0
    )
    return KeyLimitState(api_key, amount_micros, spent, held_micros, start)


def budget_spend_record(*, workspace_id: int, charges: list[tuple[datetime.datetime, int]]) -> None:
    """Adds charges, each (when its run ended, micro-dollars), to every budget of the workspace (paused ones too,
    so resuming one finds it right). A charge counts in the window its run ended in: a budget still on an earlier
    window moves on to the newest window charged, which starts with that window's charges; charges of a window
    that has already ended no longer count.

    In the settler's transaction, after the wallet's row: every writer of a budget's spend holds that row's lock
    first (see spend_control_set), so what is read here cannot change before it is written.
    """
    for budget in SpendControl.objects.filter(workspace_id=workspace_id, kind=SpendControl.Kind.BUDGET):
        by_window = {}
        for ended_at, micros in charges:
            start = window_start(budget.period, ended_at)
            by_window[start] = by_window.get(start, 0) + micros
        newest = max(by_window)
        if budget.window_start and budget.window_start > newest:
            continue
        spent = F("spent_micros") + by_window[newest] if budget.window_start == newest else by_window[newest]
        SpendControl.objects.filter(pk=budget.pk).update(spent_micros=spent, window_start=newest)


def _clean_limit(limit_micros: int) -> int:
    if not 0 <= limit_micros <= MAX_LIMIT_MICROS:
        raise ApplicationError(400, f"limitAmount: a limit is from $0 to ${MAX_LIMIT_MICROS // 10**6:,}.")
    return limit_micros


@transaction.atomic
def spend_control_set(
    *, workspace: Workspace, kind: str, period: str = "", limit_micros: int, status: str = SpendControl.Status.ACTIVE
) -> SpendControl:
    """Creates the workspace's budget for `period` (or its run cap), or changes the one it has.

    A new budget starts from what the ledger already charged in its window. The wallet row is locked while
    the ledger is summed, and settlement moves budgets only after the wallet row: a run settling meanwhile
    either is in the sum or waits and then finds the new budget, never neither.
    """
    if kind == SpendControl.Kind.BUDGET and period not in SpendControl.Period.values:
        raise ApplicationError(400, f"A budget's period is one of {', '.join(SpendControl.Period.values)}.")
    if kind == SpendControl.Kind.RUN_CAP:
        period = ""
    fields = {"limit_micros": _clean_limit(limit_micros), "status": status}
    control = SpendControl.objects.filter(workspace=workspace, kind=kind, period=period).first()
    if control is not None:
        return spend_control_update(control=control, **fields)
    spent, start = 0, None
    if kind == SpendControl.Kind.BUDGET:
        list(Wallet.objects.select_for_update().filter(workspace=workspace))
        start = window_start(period, timezone.now())
        spent = (
            LedgerEntry.objects.filter(
                workspace=workspace, kind=LedgerEntry.Kind.CHARGE, created_at__gte=start
            ).aggregate(total=Sum("amount_micros"))["total"]
            or 0
        )
    control = SpendControl.objects.create(
        workspace=workspace, kind=kind, period=period, window_start=start, spent_micros=spent, **fields
    )
    _controls_active_keep(workspace.pk)
    return control


@transaction.atomic
def spend_control_update(
    *, control: SpendControl, limit_micros: int | None = None, status: str | None = None
) -> SpendControl:
    """Changes a control's limit or status; what it has counted so far stays."""
    update_fields = ["updated_at"]
    if limit_micros is not None:
        control.limit_micros = _clean_limit(limit_micros)
        update_fields.append("limit_micros")
    if status is not None:
        if status not in SpendControl.Status.values:
            raise ApplicationError(400, "status: a control is ACTIVE or PAUSED.")
        control.status = status
        update_fields.append("status")
    control.save(update_fields=update_fields)
    _controls_active_keep(control.workspace_id)
    return control


def _controls_active_keep(workspace_id: int) -> None:
    """Sets the wallet's flag that admission reads (see statements.wallet_hold_take) to whether the workspace
    has an ACTIVE control, making a wallet row to carry it where none was yet. Under that row's lock, taken by
    this UPDATE: an admission either went before the change, or waits and reads the flag as it now stands."""
    Wallet.objects.get_or_create(workspace_id=workspace_id)
    Wallet.objects.filter(workspace_id=workspace_id).update(
        controls_active=SpendControl.objects.filter(
            workspace_id=workspace_id, status=SpendControl.Status.ACTIVE
        ).exists()
    )


def spend_control_states(*, workspace: Workspace, controls) -> list[ControlState]:
    """Controls of one workspace as they stand now, with the wallet's holds read once for all of them."""
    wallet = Wallet.objects.filter(workspace=workspace).first()
    return control_states(controls, held_micros=wallet.held_micros if wallet else 0, now=timezone.now())


def spend_control_get_for_workspace(*, workspace: Workspace, kind: str, control_id: str) -> SpendControl:
    """Another workspace's control is as unknown as one that never was."""
    control = SpendControl.objects.filter(workspace=workspace, kind=kind, pk=control_id).first()
    if control is None:
        name = "budget" if kind == SpendControl.Kind.BUDGET else "run cap"
        raise ApplicationError(404, f"No {name} with id {control_id!r} in this workspace.")
    return control
