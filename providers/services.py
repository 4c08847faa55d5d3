import datetime
from collections.abc import Iterable
from pathlib import Path

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from monid_site.errors import ApplicationError

from .credentials import (
    CredentialUnreadable,
    credential_encrypt,
    credential_rotate,
    credential_source,
    credentials_cache_clear,
    credentials_key_problem,
)
from .engine.loader import BUNDLED, PROTOCOLS, connector_load, connectors_load
from .models import CatalogChange, Endpoint, EndpointHealthSample, Provider, ProviderCredential
from .queries import endpoint_cache_clear

CatalogEntry = Provider | Endpoint
# How long a health sample is kept: the history providers.health shows is a day of it.
HEALTH_SAMPLES_KEPT = datetime.timedelta(days=7)


# What an operator owns of a row the connector files also describe: its prices and its switch. A new load of the
# files replaces everything else (they are the reviewed source), and never these.
OPERATOR_FIELDS = {"price_type", "price_micros", "flat_fee_micros", "credit_cost_micros", "enabled"}


def catalog_seed() -> tuple[int, int]:
    """Loads the bundled connectors (providers/connectors/); returns how many providers and endpoints they hold."""
    return catalog_import(folder=BUNDLED)


@transaction.atomic
def catalog_import(*, folder: Path) -> tuple[int, int]:
    """Loads every connector under `folder` (or the one `folder` is): creates what is missing and brings the
    rows that exist up to their files, keeping operators' prices and switches. Every file is checked before
    anything is written, so a bad one changes nothing (ConnectorError names it)."""
    folder = Path(folder)
    connectors = [connector_load(folder)] if (folder / "provider.yaml").is_file() else connectors_load(folder)
    endpoints = 0
    for connector in connectors:
        provider = _catalog_upsert(Provider, {"slug": connector.provider["slug"]}, connector.provider)
        for spec in connector.endpoints:
            _catalog_upsert(Endpoint, {"provider": provider, "path": spec["path"]}, spec)
        endpoints += len(connector.endpoints)
    _catalog_changed()
    return len(connectors), endpoints


def _catalog_upsert(model, key: dict, spec: dict):
    fields = {name: value for name, value in spec.items() if name not in key}
    entry, created = model.objects.get_or_create(**key, defaults=fields)
    if not created:
        changed = [
            name for name, value in fields.items() if name not in OPERATOR_FIELDS and getattr(entry, name) != value
        ]
        for name in changed:
            setattr(entry, name, spec[name])
        if changed:
            entry.save(update_fields=changed)
    return entry


def _catalog_changed() -> None:
    """This process forgets the endpoints it kept (see endpoint_get_enabled) now, and again once the change is
    committed, lest a request in between keep what it is replacing."""
    endpoint_cache_clear()
    transaction.on_commit(endpoint_cache_clear)


def catalog_subject(entry: CatalogEntry) -> str:
    """How the history names a provider or endpoint: "provider apify", "endpoint apify /apidojo/tweet-scraper"."""
    return f"{entry._meta.model_name} {entry}"


def catalog_snapshot(entry: CatalogEntry) -> dict:
    """Every field of a provider or endpoint as a JSON value; an endpoint's provider by its slug."""
    return {
        field.name: str(getattr(entry, field.name)) if field.is_relation else field.value_from_object(entry)
        for field in entry._meta.concrete_fields
        if not field.primary_key
    }


@transaction.atomic
def catalog_save(*, user: AbstractBaseUser | None, entry: CatalogEntry) -> CatalogChange | None:
    """Saves an operator's new or edited provider or endpoint and records what changed with it."""
    if isinstance(entry, Provider):
        entry.mode = PROTOCOLS[entry.protocol]  # the runs core tells sync from async by it
    if entry.pk is None:
        entry.save()
        return catalog_change_record(user=user, action=CatalogChange.Action.CREATED, entry=entry, before={})
    # Locked, so that of two operators saving the same row at once, the second records the first's values as before.
    before = catalog_snapshot(type(entry).objects.select_for_update().get(pk=entry.pk))
    changed = [name for name, value in catalog_snapshot(entry).items() if before[name] != value]
    if not changed:
        return None
    entry.save(update_fields=changed)
    return catalog_change_record(user=user, action=CatalogChange.Action.CHANGED, entry=entry, before=before)


@transaction.atomic
def catalog_delete(*, user: AbstractBaseUser | None, entries: Iterable[CatalogEntry]) -> None:
    """Deletes providers or endpoints an operator chose, recording each with the values it had."""
    for entry in entries:
        # As stored, not as a form may have edited it in memory before it was marked for deletion.
        stored = type(entry).objects.select_for_update().get(pk=entry.pk)
        before = catalog_snapshot(stored)
        stored.delete()
        catalog_change_record(user=user, action=CatalogChange.Action.DELETED, entry=stored, before=before)


def catalog_change_record(
    *, user: AbstractBaseUser | None, action: str, entry: CatalogEntry, before: dict
) -> CatalogChange | None:
    """Records each field whose value differs from `before` as [before, after] (None on the side that does not
    exist: before a creation, after a deletion); nothing when no field does."""
    after = {} if action == CatalogChange.Action.DELETED else catalog_snapshot(entry)
    changes = {
        name: [before.get(name), after.get(name)] for name in {**before, **after} if before.get(name) != after.get(name)
    }
    if not changes:
        return None
    _catalog_changed()
    return CatalogChange.objects.create(changed_by=user, action=action, subject=catalog_subject(entry), changes=changes)


CREDENTIAL_MAX_LENGTH = 4096


def provider_credential_checked(secret: str) -> str:
    """The credential as it would be stored (without surrounding blanks), or ApplicationError saying why it
    cannot be."""
    secret = secret.strip()
    if not secret or len(secret) > CREDENTIAL_MAX_LENGTH or not secret.isprintable():
        # Sent in a header or a URL: a line break or a control character would break or smuggle a request.
        raise ApplicationError(
            400, f"A credential is one line of at most {CREDENTIAL_MAX_LENGTH} printable characters."
        )
    problem = credentials_key_problem()
    if problem:
        raise ApplicationError(
            503, f"This server cannot store credentials: {problem}. Set it in the environment of every Monid process."
        )
    return secret


@transaction.atomic
def provider_credential_set(*, user: AbstractBaseUser | None, provider: Provider, secret: str) -> None:
    """Stores the credential an operator typed, encrypted; from now on live runs send it instead of the
    environment variable. The catalog's history records that it changed, never its value."""
    ciphertext = credential_encrypt(provider_credential_checked(secret))
    before = credential_source(provider)
    ProviderCredential.objects.update_or_create(
        provider=provider, defaults={"ciphertext": ciphertext, "set_at": timezone.now(), "set_by": user}
    )
    _credential_changed(user=user, provider=provider, before=before)


@transaction.atomic
def provider_credential_clear(*, user: AbstractBaseUser | None, provider: Provider) -> None:
    """Forgets the credential set in the dashboard: live runs go back to the environment variable, if any."""
    before = credential_source(provider)
    if ProviderCredential.objects.filter(provider=provider).delete()[0]:
        _credential_changed(user=user, provider=provider, before=before)


def _credential_changed(*, user: AbstractBaseUser | None, provider: Provider, before: str) -> None:
    credentials_cache_clear()
    transaction.on_commit(credentials_cache_clear)
    CatalogChange.objects.create(
        changed_by=user,
        action=CatalogChange.Action.CHANGED,
        subject=catalog_subject(provider),
        changes={"credential": [before, credential_source(provider)]},
    )


@transaction.atomic
def provider_credentials_rotate() -> int:
    """Encrypts every dashboard credential again with the newest of MONID_CREDENTIALS_KEY's keys, so that the
    older ones can be dropped; returns how many. All or none: CredentialUnreadable names those no key reads."""
    stored = list(ProviderCredential.objects.select_for_update().select_related("provider"))
    unreadable = []
    for row in stored:
        try:
            row.ciphertext = credential_rotate(row.ciphertext)
        except CredentialUnreadable as exc:
            unreadable.append(f"{row.provider.slug}: {exc}")
    if unreadable:
        raise CredentialUnreadable("; ".join(unreadable) + ". Nothing was changed.")
    ProviderCredential.objects.bulk_update(stored, ["ciphertext"])
    credentials_cache_clear()
    return len(stored)


@transaction.atomic
def endpoint_health_samples_record(*, samples: list[EndpointHealthSample], now: datetime.datetime) -> None:
    """Stores one sampling of endpoints' health (computed by runs.health, which reads the runs) and forgets the
    samples older than HEALTH_SAMPLES_KEPT."""
    EndpointHealthSample.objects.bulk_create(samples)
    EndpointHealthSample.objects.filter(at__lt=now - HEALTH_SAMPLES_KEPT).delete()
