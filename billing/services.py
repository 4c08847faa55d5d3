import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from monid_site.errors import ApplicationError

from .costs import Costs
from .keys import generate_key, hash_key, shown_prefix
from .models import ApiKey, KeyDailyCost, Workspace

LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


def workspace_get_or_create(*, slug: str, name: str = "") -> Workspace:
    """Workspaces are addressed by slug in commands and URLs, so creating one twice must be harmless."""
    slug = slugify(slug)
    if not slug:
        raise ApplicationError(400, "A workspace slug needs at least one letter or digit.")
    workspace, _ = Workspace.objects.get_or_create(slug=slug, defaults={"name": name or slug})
    return workspace


def api_key_create(*, workspace: Workspace, label: str, mode: str = ApiKey.Mode.LIVE) -> tuple[ApiKey, str]:
    """Returns the key row and the full key, which exists nowhere else after this call."""
    label = _clean_label(label)
    if mode not in ApiKey.Mode.values:
        raise ApplicationError(400, f"A key's mode is 'live' or 'test', not {mode!r}.")
    key = generate_key(mode)
    try:
        with transaction.atomic():
            api_key = ApiKey.objects.create(
                workspace=workspace, label=label, mode=mode, prefix=shown_prefix(key), key_hash=hash_key(key)
            )
    except IntegrityError:
        raise _label_taken(label)
    return api_key, key


def _label_taken(label: str) -> ApplicationError:
    return ApplicationError(409, f"This workspace already has a key labelled {label!r}; choose another label.")


def _clean_label(label: str) -> str:
    label = label.strip()
    if not label or len(label) > 100:
        raise ApplicationError(400, "label: a key label must be 1 to 100 characters.")
    if not label.isprintable():
        raise ApplicationError(400, "label: a key label may not contain line breaks or other control characters.")
    return label


def api_key_revoke(*, api_key: ApiKey) -> None:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_key_authenticate(*, key: str) -> ApiKey | None:
    """The active key matching `key`, with last use recorded at most once a minute to spare the database writes."""
    api_key = (
        ApiKey.objects.select_related("workspace")
        .filter(key_hash=hash_key(key), revoked_at__isnull=True)
        .first()
    )
    if api_key is not None:
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now
    return api_key


def key_cost_record(*, api_key_id: int, day: datetime.date, costs: Costs) -> None:
    """Adds one settled run to its key's daily rollup; F() keeps concurrent settlements from losing updates."""
    increments = {
        "run_count": F("run_count") + 1,
        "calculated_cost_micros": F("calculated_cost_micros") + costs.calculated_micros,
        "actual_cost_micros": F("actual_cost_micros") + costs.actual_micros,
        "reported_cost_micros": F("reported_cost_micros") + costs.reported_micros,
    }
    rollup = KeyDailyCost.objects.filter(api_key_id=api_key_id, day=day)
    if not rollup.update(**increments):  # the key's first run of the day
        KeyDailyCost.objects.get_or_create(api_key_id=api_key_id, day=day)
        rollup.update(**increments)


def api_key_rename(*, api_key: ApiKey, label: str) -> ApiKey:
    label = _clean_label(label)
    try:
        with transaction.atomic():
            ApiKey.objects.filter(pk=api_key.pk).update(label=label)
    except IntegrityError:
        raise _label_taken(label)
    api_key.label = label
    return api_key
