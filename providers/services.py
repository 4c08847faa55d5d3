from collections.abc import Iterable

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from .catalog import ENDPOINTS, PROVIDERS
from .models import CatalogChange, Endpoint, Provider
from .queries import endpoint_cache_clear

CatalogEntry = Provider | Endpoint


@transaction.atomic
def catalog_seed() -> tuple[int, int]:
    """Creates what is missing from the default catalog; rows that exist keep whatever operators made of them,
    and only gain the details (migration 0004's fields) they have left blank."""
    providers = {}
    for spec in PROVIDERS:
        provider, created = Provider.objects.get_or_create(
            slug=spec["slug"], defaults={k: v for k, v in spec.items() if k != "slug"})
        if not created:
            _catalog_fill(provider, spec, [name for name in ("description", "doc_url") if not getattr(provider, name)])
        providers[spec["slug"]] = provider
    _catalog_changed()
    for spec in ENDPOINTS:
        fields = {k: v for k, v in spec.items() if k not in ("provider", "path")}
        endpoint, created = Endpoint.objects.get_or_create(provider=providers[spec["provider"]], path=spec["path"],
                                                           defaults=fields)
        if not created:
            blank = [name for name in ("name", "doc_url", "notes", "tags") if not getattr(endpoint, name)]
            # A row without a name never had its details: its method is the migration's default, not a choice.
            _catalog_fill(endpoint, spec, blank + ["method"] * ("name" in blank))
    return len(PROVIDERS), len(ENDPOINTS)


def _catalog_fill(entry: CatalogEntry, spec: dict, fields: list[str]) -> None:
    """Sets these fields of a seeded row to the default catalog's values."""
    for name in fields:
        setattr(entry, name, spec[name])
    if fields:
        entry.save(update_fields=fields)


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
    return {field.name: str(getattr(entry, field.name)) if field.is_relation else field.value_from_object(entry)
            for field in entry._meta.concrete_fields if not field.primary_key}


@transaction.atomic
def catalog_save(*, user: AbstractBaseUser | None, entry: CatalogEntry) -> CatalogChange | None:
    """Saves an operator's new or edited provider or endpoint and records what changed with it."""
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


def catalog_change_record(*, user: AbstractBaseUser | None, action: str, entry: CatalogEntry,
                          before: dict) -> CatalogChange | None:
    """Records each field whose value differs from `before` as [before, after] (None on the side that does not
    exist: before a creation, after a deletion); nothing when no field does."""
    after = {} if action == CatalogChange.Action.DELETED else catalog_snapshot(entry)
    changes = {name: [before.get(name), after.get(name)] for name in {**before, **after}
               if before.get(name) != after.get(name)}
    if not changes:
        return None
    _catalog_changed()
    return CatalogChange.objects.create(changed_by=user, action=action, subject=catalog_subject(entry),
                                        changes=changes)
