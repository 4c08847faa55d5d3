import datetime

from django.db.models import Count, F, Q, Sum, Value
from django.db.models.functions import Coalesce

from .models import ApiKey, KeyDailyCost, LedgerEntry, Wallet, Workspace


def workspace_for_user(user) -> Workspace | None:
    return user.workspaces.order_by("id").first() if user.is_authenticated else None


def api_keys_for_workspace(*, workspace: Workspace):
    return workspace.api_keys.order_by("revoked_at", "-created_at")


def cost_summary_by_key(*, start: datetime.date | None = None, end: datetime.date | None = None):
    """Each key with its run count and summed costs over [start, end], from the daily rollup, largest reported first."""
    in_range = Q()
    if start:
        in_range &= Q(daily_costs__day__gte=start)
    if end:
        in_range &= Q(daily_costs__day__lte=end)

    def total(field):
        return Coalesce(Sum(f"daily_costs__{field}", filter=in_range), Value(0))

    return (
        ApiKey.objects.select_related("workspace")
        .annotate(
            run_count=total("run_count"),
            calculated_micros=total("calculated_cost_micros"),
            actual_micros=total("actual_cost_micros"),
            reported_micros=total("reported_cost_micros"),
        )
        .annotate(margin_micros=F("reported_micros") - F("actual_micros"))
        .order_by("-reported_micros", "workspace__slug", "label")
    )


def cost_totals(*, start: datetime.date | None = None, end: datetime.date | None = None) -> dict:
    """The column totals of cost_summary_by_key over the same days, summed by the database in one query."""
    rows = KeyDailyCost.objects.all()
    if start:
        rows = rows.filter(day__gte=start)
    if end:
        rows = rows.filter(day__lte=end)
    totals = rows.aggregate(
        run_count=Coalesce(Sum("run_count"), Value(0)),
        calculated_micros=Coalesce(Sum("calculated_cost_micros"), Value(0)),
        actual_micros=Coalesce(Sum("actual_cost_micros"), Value(0)),
        reported_micros=Coalesce(Sum("reported_cost_micros"), Value(0)),
    )
    totals["margin_micros"] = totals["reported_micros"] - totals["actual_micros"]
    return totals


def api_key_page(*, workspace: Workspace, limit: int, after: list | None):
    """Active keys newest first, keyset on (created, label), which is unique in a workspace and no database id."""
    keys = workspace.api_keys.filter(revoked_at__isnull=True)
    if after:
        created, label = datetime.datetime.fromisoformat(after[0]), after[1]
        keys = keys.filter(Q(created_at__lt=created) | Q(created_at=created, label__gt=label))
    page = list(keys.order_by("-created_at", "label")[: limit + 1])
    last = page[limit - 1] if len(page) > limit else None
    return page[:limit], ([last.created_at.isoformat(), last.label] if last else None)


def wallet_available_and_held(*, workspace: Workspace) -> tuple[int, int]:
    """What the workspace can still spend (its balance less what is held for runs in flight), and what is held."""
    wallet = Wallet.objects.filter(workspace=workspace).first()
    return (wallet.balance_micros - wallet.held_micros, wallet.held_micros) if wallet else (0, 0)


def workspaces_with_wallets():
    """Every workspace with what it can spend and what is held (as the balance route counts them)."""
    held = Coalesce(F("wallet__held_micros"), Value(0))
    return (Workspace.objects.order_by("slug")
            .annotate(available_micros=Coalesce(F("wallet__balance_micros"), Value(0)) - held, held_micros=held,
                      member_count=Count("members", distinct=True)))


def ledger_newest(*, workspace: Workspace, limit: int = 100):
    return (LedgerEntry.objects.filter(workspace=workspace).select_related("created_by")
            .order_by("-id")[:limit])
