import datetime

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from .keys import hash_key
from .models import ApiKey, Invitation, KeyDailyCost, LedgerEntry, OAuthClient, Wallet, Workspace


def workspace_for_user(user) -> Workspace | None:
    return user.workspaces.order_by("id").first() if user.is_authenticated else None


def workspace_of_user_or_404(user, slug: str | None = None) -> Workspace:
    """The workspace a page acts in: the user's own, or for an operator the one `slug` names. Anything else (no
    workspace, or a customer naming one) is a 404, as if it did not exist."""
    if slug is None:
        workspace = workspace_for_user(user)
    else:
        workspace = Workspace.objects.filter(slug=slug).first() if user.is_staff else None
    if workspace is None:
        raise Http404("No such workspace.")
    return workspace


def workspace_first_member(*, workspace: Workspace):
    """The member with the lowest id (most often the one who made the workspace), or None when it has none."""
    return workspace.members.order_by("id").first()


def api_key_user(*, api_key: ApiKey):
    """Who a key acts for: the member who made it, else (the creator deleted, or never known) the workspace's
    first member; None only in a workspace without members."""
    # Looked up by id, not through api_key.created_by: a key from the cache may name a user deleted since.
    creator = get_user_model().objects.filter(pk=api_key.created_by_id).first() if api_key.created_by_id else None
    return creator or workspace_first_member(workspace=api_key.workspace)


def api_keys_for_workspace(*, workspace: Workspace):
    return workspace.api_keys.order_by("revoked_at", "-created_at")


# What a row of the cost summary is, for each way of grouping it: its columns, as names for the rollup's fields.
COST_GROUPS = {
    "key": {
        "workspace": F("api_key__workspace__slug"),
        "key": F("api_key__label"),
        "revoked_at": F("api_key__revoked_at"),
    },
    "workspace": {"workspace": F("api_key__workspace__slug")},
    "provider": {"provider_slug": F("provider")},
    "endpoint": {"provider_slug": F("provider"), "path": F("endpoint")},
}


def _cost_sums() -> dict:
    """Runs by status and summed costs (micro-dollars) of a set of rollup rows, as database aggregates."""

    def total(expression, **extra):
        return Coalesce(Sum(expression, **extra), Value(0))

    return {
        **{status.lower(): total("run_count", filter=Q(status=status)) for status in KeyDailyCost.STATUSES},
        "runs": total("run_count"),
        "calculated_micros": total("calculated_cost_micros"),
        "actual_micros": total("actual_cost_micros"),
        "reported_micros": total("reported_cost_micros"),
        "margin_micros": total(F("reported_cost_micros") - F("actual_cost_micros")),
    }


def _rollup_rows(*, mode: str, start: datetime.date | None, end: datetime.date | None, workspace: Workspace | None):
    rows = KeyDailyCost.objects.filter(api_key__mode=mode)
    if workspace is not None:
        rows = rows.filter(api_key__workspace=workspace)
    if start:
        rows = rows.filter(day__gte=start)
    if end:
        rows = rows.filter(day__lte=end)
    return rows


def cost_summary_by(
    *,
    group: str,
    mode: str,
    start: datetime.date | None = None,
    end: datetime.date | None = None,
    workspace: Workspace | None = None,
) -> tuple[list[dict], dict]:
    """Runs by status and summed costs over the UTC days [start, end] of live or test keys (of one workspace, or
    all), one row per key, workspace, provider or endpoint (`group`), largest reported first; and the totals row.
    Read from the daily rollup, each in one query: a month is a few thousand rollup rows, however many runs it had."""
    rows = _rollup_rows(mode=mode, start=start, end=end, workspace=workspace)
    columns = COST_GROUPS[group]
    grouped = (
        rows.values(**columns)
        .annotate(**_cost_sums())
        .order_by("-reported_micros", *(name for name in columns if name != "revoked_at"))
    )
    return list(grouped), rows.aggregate(**_cost_sums())


def cost_daily_series(
    *,
    mode: str,
    start: datetime.date | None = None,
    end: datetime.date | None = None,
    workspace: Workspace | None = None,
) -> list[dict]:
    """The same sums per UTC day, oldest first, for the days in [start, end] on which runs ended; one query."""
    rows = _rollup_rows(mode=mode, start=start, end=end, workspace=workspace)
    return list(rows.values("day").annotate(**_cost_sums()).order_by("day"))


def wallet_available_and_held(*, workspace: Workspace) -> tuple[int, int]:
    """What the workspace can still spend (its balance less what is held for runs in flight), and what is held."""
    wallet = Wallet.objects.filter(workspace=workspace).first()
    return (wallet.balance_micros - wallet.held_micros, wallet.held_micros) if wallet else (0, 0)


def workspaces_with_wallets():
    """Every workspace with what it can spend and what is held (as the balance route counts them)."""
    held = Coalesce(F("wallet__held_micros"), Value(0))
    return Workspace.objects.order_by("slug").annotate(
        available_micros=Coalesce(F("wallet__balance_micros"), Value(0)) - held,
        held_micros=held,
        member_count=Count("members", distinct=True),
    )


def ledger_newest(*, workspace: Workspace, limit: int = 100):
    return LedgerEntry.objects.filter(workspace=workspace).select_related("created_by").order_by("-id")[:limit]


def workspace_members(*, workspace: Workspace):
    return workspace.members.order_by("username")


def invitations_pending(*, workspace: Workspace):
    """Invitations not yet accepted nor expired, newest first, with who sent them."""
    return (
        workspace.invitations.filter(accepted_at__isnull=True, expires_at__gt=timezone.now())
        .select_related("invited_by")
        .order_by("-created_at")
    )


def invitation_for_token(*, token: str) -> Invitation | None:
    """The invitation whose link carries `token`, found by its HMAC as API keys are; None for an unknown one."""
    return Invitation.objects.select_related("workspace", "invited_by").filter(token_hash=hash_key(token)).first()


def oauth_client_get(*, client_id: str) -> OAuthClient | None:
    return OAuthClient.objects.filter(client_id=client_id).first()
