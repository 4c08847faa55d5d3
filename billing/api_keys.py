"""API keys' lifecycle and their authentication: creating, changing and revoking a workspace's keys, and finding
the key a request presents, through the shared cache. (Their format and hashing are in keys.py.)"""

import datetime
from collections.abc import Callable, Iterable

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from monid_site.errors import ApplicationError

from .controls import MAX_LIMIT_MICROS
from .keys import generate_key, hash_key, shown_prefix
from .models import ApiKey, Workspace

LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)
# An active key is kept in the shared cache (Redis, or the database's cache table) this long, so that requests
# verify it without a query; revoking it replaces the entry with a tombstone at once, for every process. The
# tombstone outlives by far any request that read the key before it was revoked and caches it only now: such a
# request adds its entry only where there is none, so it can never cover the tombstone.
KEY_CACHE_SECONDS = LAST_USED_RESOLUTION.total_seconds()
KEY_TOMBSTONE_SECONDS = 3600
_REVOKED = "revoked"


def api_key_create(
    *,
    workspace: Workspace,
    label: str,
    mode: str = ApiKey.Mode.LIVE,
    scopes: Iterable[str] = ApiKey.DEFAULT_SCOPES,
    expires_at: datetime.datetime | None = None,
    spend_limit_micros: int | None = None,
    spend_period: str = "",
    created_by=None,
) -> tuple[ApiKey, str]:
    """Returns the key row and the full key, which exists nowhere else after this call. `created_by` is the
    member who made it, whom GET /v1/auth/whoami names."""
    label = _clean_label(label)
    lifecycle = {"expires_at": _clean_expiry(expires_at), **_clean_spend_limit(spend_limit_micros, spend_period)}
    if mode not in ApiKey.Mode.values:
        raise ApplicationError(400, f"A key's mode is 'live' or 'test', not {mode!r}.")
    scopes = set(scopes)
    unknown = sorted(scopes - set(ApiKey.SCOPES))
    if unknown or not scopes:
        wrong = f", not {', '.join(map(repr, unknown))}." if unknown else "; give one at least."
        raise ApplicationError(400, f"A key's scopes are some of {', '.join(ApiKey.SCOPES)}{wrong}")
    if mode == ApiKey.Mode.TEST and "manage" in scopes:
        raise ApplicationError(
            400,
            "A test key cannot have the manage scope: keys, spend controls and the wallet "
            "are managed with live keys or in the dashboard.",
        )
    key = generate_key(mode)
    try:
        with transaction.atomic():
            api_key = ApiKey.objects.create(
                workspace=workspace,
                label=label,
                mode=mode,
                prefix=shown_prefix(key),
                key_hash=hash_key(key),
                scopes=" ".join(scope for scope in ApiKey.SCOPES if scope in scopes),
                created_by=created_by,
                **lifecycle,
            )
    except IntegrityError:
        raise _label_taken(label) from None
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


def _clean_expiry(expires_at: datetime.datetime | None) -> datetime.datetime | None:
    if expires_at is not None and expires_at <= timezone.now():
        raise ApplicationError(400, "expiresAt: a key's expiry must be in the future; to stop a key now, revoke it.")
    return expires_at


def _clean_spend_limit(spend_limit_micros: int | None, spend_period: str) -> dict:
    """A key's spend limit as its two columns: both empty, or an amount per period."""
    if spend_limit_micros is None:
        return {"spend_limit_micros": None, "spend_period": ""}
    if not 0 <= spend_limit_micros <= MAX_LIMIT_MICROS:
        raise ApplicationError(400, f"spendLimit: a limit is from $0 to ${MAX_LIMIT_MICROS // 10**6:,}.")
    if spend_period not in ApiKey.SPEND_PERIODS:
        raise ApplicationError(
            400, f"spendLimit: a key's limit is per {', '.join(ApiKey.SPEND_PERIODS)}, not {spend_period!r}."
        )
    return {"spend_limit_micros": spend_limit_micros, "spend_period": spend_period}


def api_key_update(*, api_key: ApiKey, **changes) -> ApiKey:
    """Changes what `changes` names of a key's label, expiry (`expires_at`) and spend limit (`spend_limit_micros`
    with `spend_period`; None for no limit). The shared cache gets the changed key at once, so every process
    applies it from the next request: a request that read the key before the change adds its copy only where
    there is none."""
    fields = {}
    if "label" in changes:
        fields["label"] = _clean_label(changes["label"])
    if "expires_at" in changes:
        fields["expires_at"] = _clean_expiry(changes["expires_at"])
    if "spend_limit_micros" in changes:
        fields.update(_clean_spend_limit(changes["spend_limit_micros"], changes.get("spend_period", "")))
    try:
        with transaction.atomic():
            ApiKey.objects.filter(pk=api_key.pk).update(**fields)
    except IntegrityError:
        raise _label_taken(fields["label"]) from None
    for name, value in fields.items():
        setattr(api_key, name, value)
    fresh = ApiKey.objects.select_related("workspace").filter(pk=api_key.pk, revoked_at__isnull=True).first()
    if fresh is not None:
        cache.set(_key_cache_key(fresh.key_hash), fresh, timeout=KEY_CACHE_SECONDS)
    return api_key


def api_key_revoke(*, api_key: ApiKey) -> None:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_keys_tombstone(key_hashes=[api_key.key_hash])


def api_keys_tombstone(*, key_hashes: list[str]) -> None:
    """Refuses the keys in every process from now on, whatever the cache held of them."""
    # Now, not on commit: should the caller's transaction roll back, the keys only stay refused (fails safe).
    cache.set_many({_key_cache_key(key_hash): _REVOKED for key_hash in key_hashes}, timeout=KEY_TOMBSTONE_SECONDS)


def api_key_authenticate(
    *, key: str, origin: Callable[[], tuple[str | None, str]] = lambda: (None, "")
) -> ApiKey | None:
    """The unrevoked key matching `key` (perhaps expired: the caller says so): from the cache when it was used
    in the last minute, else from the database, recording its last use and `origin()`'s address and user agent
    (so at most once a minute per key; `origin` is a callable so that a cached key's request never works them
    out)."""
    key_hash = hash_key(key)
    cached = cache.get(_key_cache_key(key_hash))
    if cached is not None:
        return None if cached == _REVOKED else cached
    api_key = ApiKey.objects.select_related("workspace").filter(key_hash=key_hash, revoked_at__isnull=True).first()
    if api_key is None:
        return None  # not cached: guesses must not fill the cache
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ip, user_agent = origin()
        used = {
            "last_used_at": now,
            "last_used_ip": ip,
            "last_used_user_agent": user_agent[: ApiKey._meta.get_field("last_used_user_agent").max_length],
        }
        ApiKey.objects.filter(pk=api_key.pk).update(**used)
        for name, value in used.items():
            setattr(api_key, name, value)
    cache.add(_key_cache_key(key_hash), api_key, timeout=KEY_CACHE_SECONDS)
    return api_key


def _key_cache_key(key_hash: str) -> str:
    return f"monid:apikey:{key_hash}"
