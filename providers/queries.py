import time

from django.db.models import Count, Max, Q

from monid_site.errors import ApplicationError

from .health import OUTAGE, Health, endpoints_health, endpoints_in_outage_count
from .models import INPUT_MAX_BYTES, Endpoint, Provider
from .search import endpoints_search

# Each process keeps the enabled endpoints it looked up for a few seconds: the lookup is on every run's path and
# the catalog changes rarely. An edit through providers.services clears this process's copies at once; other
# processes see it within ENDPOINT_CACHE_SECONDS.
ENDPOINT_CACHE_SECONDS = 5.0
_endpoints: dict[tuple[str, str], tuple[float, Endpoint]] = {}
_largest_input: dict[str, tuple[float, int]] = {}  # likewise, the one value endpoints_largest_input answers


def endpoint_get_enabled(*, provider: str, path: str) -> Endpoint:
    """The enabled endpoint a client named, or a 404 that says what was not found. The instance may be shared
    with other requests of this process: read it, never change it."""
    now = time.monotonic()
    kept = _endpoints.get((provider, path))
    if kept is not None and now - kept[0] < ENDPOINT_CACHE_SECONDS:
        return kept[1]
    endpoints = Endpoint.objects.select_related("provider").filter(enabled=True, provider__enabled=True)
    # A URL may carry a NUL character, which PostgreSQL cannot even compare; no endpoint has one.
    endpoint = None if "\x00" in provider + path else endpoints.filter(provider__slug=provider, path=path).first()
    if endpoint is None:  # not kept: made-up names must not fill the memory
        raise ApplicationError(
            404,
            f"There is no enabled endpoint {path!r} on provider {provider!r}. "
            "Check the provider slug and the endpoint path (it starts with '/').",
        )
    _endpoints[(provider, path)] = (now, endpoint)
    return endpoint


def endpoints_largest_input() -> int:
    """The largest input, in bytes, that any enabled endpoint takes (see Endpoint.max_input_bytes); kept by each
    process for a few seconds, as endpoints are, since every run request asks."""
    now = time.monotonic()
    kept = _largest_input.get("bytes")
    if kept is not None and now - kept[0] < ENDPOINT_CACHE_SECONDS:
        return kept[1]
    largest = endpoints_enabled().order_by().aggregate(largest=Max("max_input_bytes"))["largest"] or INPUT_MAX_BYTES
    _largest_input["bytes"] = (now, largest)
    return largest


def endpoint_cache_clear() -> None:
    """Forgets this process's copies: called by whatever changes the catalog."""
    _endpoints.clear()
    _largest_input.clear()


def endpoints_enabled():
    """The catalog as clients see it: enabled endpoints of enabled providers, in (provider, path) order."""
    return (
        Endpoint.objects.filter(enabled=True, provider__enabled=True)
        .select_related("provider")
        .order_by("provider__slug", "path")
    )


def providers_listed():
    """Enabled providers with at least one enabled endpoint, each with `endpoint_count`, by slug."""
    return (
        Provider.objects.filter(enabled=True)
        .annotate(endpoint_count=Count("endpoints", filter=Q(endpoints__enabled=True)))
        .filter(endpoint_count__gt=0)
        .order_by("slug")
    )


def provider_get_listed(*, slug: str) -> Provider:
    """A provider the public catalog lists, or a 404."""
    provider = None if "\x00" in slug else providers_listed().filter(slug=slug).first()
    if provider is None:
        raise ApplicationError(
            404, f"There is no provider {slug!r} with enabled endpoints. GET /public/v1/providers lists them."
        )
    return provider


def catalog_counts() -> dict:
    """How many endpoints and providers the catalog lists, in one query."""
    return endpoints_enabled().order_by().aggregate(endpoints=Count("id"), providers=Count("provider", distinct=True))


def endpoints_discover(
    query: str, *, limit: int, min_score: float = 0.0, include_unavailable: bool = False
) -> tuple[list[Endpoint], dict[int, Health]]:
    """Discover's answer: the endpoints that best match a query and score at least `min_score`, at most `limit`
    of them, best first, with their Health. One in outage is left out and the page filled from the next matches;
    with `include_unavailable` it keeps its place in the page the ranking gives, moved last."""
    found = [
        endpoint
        for endpoint in endpoints_search(query, limit + endpoints_in_outage_count())
        if endpoint.score >= min_score
    ]
    health = endpoints_health(found)
    down = {endpoint.pk for endpoint in found if health[endpoint.pk].status == OUTAGE}
    if include_unavailable:
        return sorted(found[:limit], key=lambda endpoint: endpoint.pk in down), health
    return [endpoint for endpoint in found if endpoint.pk not in down][:limit], health
