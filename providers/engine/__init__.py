"""One engine for every connector: the runs core asks for an endpoint's protocol and speaks only its neutral
interface (call; or start, check, collect, stop and find_left_behind), whatever the provider.

A live run reaches the provider over HTTP with the credential the operator configured (in the dashboard or the
environment: providers.credentials); a test-mode run is answered by the same protocol from the endpoint's
recorded fixtures, inside the process.
"""

from ..credentials import CredentialUnreadable, credential_of, deploy_setting
from .answers import ProviderAnswer, ProviderProgress
from .apify import ApifyActorProtocol
from .http import HttpProtocol
from .transport import FixtureTransport, HttpTransport, ProviderTimeout, ProviderUnavailable

__all__ = [
    "ProviderAnswer",
    "ProviderProgress",
    "ProviderTimeout",
    "ProviderUnavailable",
    "fixture_case",
    "protocol_for",
    "unavailable_reason",
]

PROTOCOLS = {"http": HttpProtocol, "apify-actor": ApifyActorProtocol}


def base_url_of(provider) -> str:
    """The provider's base URL, unless `<SLUG>_API_BASE_URL` points it elsewhere (a proxy, an emulator)."""
    return deploy_setting(f"{provider.slug.upper().replace('-', '_')}_API_BASE_URL") or provider.base_url


def unavailable_reason(endpoint, *, sandbox: bool) -> str | None:
    """Why runs of this endpoint cannot go ahead in this mode, or None: a test-mode run needs the endpoint's
    recorded happy case, a live one its provider's credential."""
    provider = endpoint.provider
    if sandbox:
        return (
            None
            if "happy" in endpoint.fixtures
            else (
                f"{provider.slug} {endpoint.path} has no recorded answers, so test mode cannot run it; use a live key."
            )
        )
    try:
        if credential_of(provider):
            return None
    except CredentialUnreadable as exc:
        return str(exc)
    setting = provider.credential_name or "its credential"
    return (
        f"Provider {provider.slug!r} is not configured on this server ({setting} is unset). Use a "
        "monid_test_ key, or ask the operator to configure it."
    )


def fixture_case(endpoint, params: dict) -> str:
    """The fixture case a test-mode run replays: the most specific case whose recorded input the run's input
    contains, else `happy`."""
    cases = sorted(
        ((name, case["input"]) for name, case in endpoint.fixtures.items() if name != "happy"),
        key=lambda named: -len(named[1]),
    )
    return next(
        (
            name
            for name, recorded in cases
            if recorded and all(params.get(key) == value for key, value in recorded.items())
        ),
        "happy",
    )


def protocol_for(endpoint, *, sandbox: bool, params: dict | None = None):
    """The endpoint's protocol over its transport: the provider's API, or in test mode the fixture case that
    the run's input selects."""
    provider = endpoint.provider
    if sandbox:
        case = endpoint.fixtures[fixture_case(endpoint, params or {})]
        transport = FixtureTransport(name=provider.name, calls=case["calls"])
    else:
        try:
            credential = credential_of(provider)
        except CredentialUnreadable as exc:
            raise ProviderUnavailable(str(exc), retryable=False) from None
        timeouts = provider.timeouts or {}
        transport = HttpTransport(
            slug=provider.slug,
            name=provider.name,
            base_url=base_url_of(provider),
            auth=provider.auth,
            credential=credential,
            connect_timeout=timeouts.get("connect_seconds", 5),
            read_timeout=timeouts.get("read_seconds"),
        )
    return PROTOCOLS[provider.protocol](endpoint=endpoint, transport=transport)
