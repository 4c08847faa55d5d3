"""Adapters by provider slug, pointed at the real provider for live keys and at the emulators for test keys."""

from django.conf import settings

from .apify import ApifyAdapter
from .base import ProviderAnswer, ProviderTimeout, ProviderUnavailable  # noqa: F401  (the names runs imports)
from .pdl import PdlAdapter

SANDBOX_CREDENTIALS = {"apify": "sandbox-apify-token", "pdl": "sandbox-pdl-key"}


def _live(slug):
    return {
        "apify": (settings.APIFY_API_BASE_URL, settings.APIFY_TOKEN, "APIFY_TOKEN"),
        "pdl": (settings.PDL_API_BASE_URL, settings.PDL_API_KEY, "PDL_API_KEY"),
    }[slug]


def credential_setting(slug: str) -> str:
    return _live(slug)[2]


def is_configured(slug: str, *, sandbox: bool) -> bool:
    return slug in SANDBOX_CREDENTIALS and (sandbox or bool(_live(slug)[1]))


def adapter_for(slug: str, *, sandbox: bool):
    cls = {"apify": ApifyAdapter, "pdl": PdlAdapter}[slug]
    if sandbox:
        return cls(base_url=f"{settings.MONID_SANDBOX_URL}/{slug}", credential=SANDBOX_CREDENTIALS[slug])
    base_url, credential, _ = _live(slug)
    return cls(base_url=base_url, credential=credential)
