from django.db import transaction

from .catalog import ENDPOINTS, PROVIDERS
from .models import Endpoint, Provider


@transaction.atomic
def catalog_seed() -> tuple[int, int]:
    """Creates what is missing from the default catalog; rows that exist keep whatever operators made of them."""
    providers = {}
    for spec in PROVIDERS:
        providers[spec["slug"]], _ = Provider.objects.get_or_create(
            slug=spec["slug"], defaults={"name": spec["name"], "mode": spec["mode"]})
    for spec in ENDPOINTS:
        fields = {k: v for k, v in spec.items() if k not in ("provider", "path")}
        Endpoint.objects.get_or_create(provider=providers[spec["provider"]], path=spec["path"], defaults=fields)
    return len(PROVIDERS), len(ENDPOINTS)
