"""Which credential a provider's live runs send: the one an operator set in the dashboard (the provider's page
in the catalog admin), encrypted at rest, else the environment variable the provider names.

Encryption is Fernet, from the `cryptography` package: one vetted recipe (AES-128-CBC with HMAC-SHA256) rather
than primitives put together here. Its keys come from MONID_CREDENTIALS_KEY, comma-separated, newest first: a
credential is encrypted with the first and read with any, so a key is rotated by putting a new one first and
running `manage.py credentials_rotate`. The plaintext exists only in the memory of the processes that send it:
never stored, never shown back, never logged (monid_site.logs blanks every credential this process has used).

Each process keeps the stored ciphertexts for CACHE_SECONDS, read in one query, since runs ask on every call:
a change applies in the process that made it at once, and in every other within that time.
"""

import functools
import os
import time

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from monid_site import logs

from .models import Provider, ProviderCredential

CACHE_SECONDS = 5.0
KEY_HINT = 'make one with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
_kept: tuple[float, dict[int, ProviderCredential]] | None = None  # (when read, provider id -> its stored row)


class CredentialUnreadable(Exception):
    """A credential stored in the dashboard cannot be decrypted with the keys this process has."""


def deploy_setting(name: str) -> str:
    """A deploy-time value: from settings when they define it, else from the environment."""
    return getattr(settings, name, None) or os.environ.get(name, "")


def credentials_key_problem() -> str | None:
    """Why this server cannot store a credential (MONID_CREDENTIALS_KEY unset or malformed), or None."""
    try:
        _keys()
    except CredentialUnreadable as exc:
        return str(exc)
    return None


@functools.lru_cache(maxsize=4)
def _fernet(keys: str) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.strip()) for key in keys.split(",") if key.strip()])
    except ValueError as exc:  # not 32 bytes of URL-safe base64
        raise CredentialUnreadable(
            f"MONID_CREDENTIALS_KEY holds something that is not a Fernet key; {KEY_HINT}"
        ) from exc


def _keys() -> MultiFernet:
    keys = deploy_setting("MONID_CREDENTIALS_KEY")
    if not keys:
        raise CredentialUnreadable(f"MONID_CREDENTIALS_KEY is unset; {KEY_HINT}")
    return _fernet(keys)


def credential_encrypt(secret: str) -> str:
    return _keys().encrypt(secret.encode()).decode()


@functools.lru_cache(maxsize=64)
def _decrypt(ciphertext: str, keys: str) -> str:
    """Cached by ciphertext and keys: a run's call should not pay for an HMAC and AES each time."""
    return _fernet(keys).decrypt(ciphertext.encode()).decode()


def credential_decrypt(ciphertext: str) -> str:
    _keys()  # says what is wrong with the setting, if anything is
    try:
        return _decrypt(ciphertext, deploy_setting("MONID_CREDENTIALS_KEY"))
    except InvalidToken:
        raise CredentialUnreadable("it was encrypted with a key MONID_CREDENTIALS_KEY no longer holds") from None


def credential_rotate(ciphertext: str) -> str:
    """The same credential encrypted with the newest key."""
    try:
        return _keys().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise CredentialUnreadable("it was encrypted with a key MONID_CREDENTIALS_KEY no longer holds") from None


def stored_credential(provider: Provider) -> ProviderCredential | None:
    """The provider's row of dashboard credentials, as this process last read them."""
    global _kept
    now = time.monotonic()
    if _kept is None or now - _kept[0] >= CACHE_SECONDS:
        _kept = (now, {row.provider_id: row for row in ProviderCredential.objects.select_related("set_by")})
    return _kept[1].get(provider.pk)


def credentials_cache_clear() -> None:
    global _kept
    _kept = None


def credential_of(provider: Provider) -> str:
    """The credential a live run of this provider sends, "" when there is none; CredentialUnreadable when the
    dashboard holds one that cannot be decrypted, which is never silently replaced by the environment's."""
    stored = stored_credential(provider)
    if stored is not None:
        try:
            value = credential_decrypt(stored.ciphertext)
        except CredentialUnreadable as exc:
            raise CredentialUnreadable(
                f"The credential of provider {provider.slug!r} set in the dashboard cannot be read: {exc}. An "
                "operator has to set it again on the provider's page in the catalog admin, or restore the key."
            ) from None
    else:
        value = deploy_setting(provider.credential_name) if provider.credential_name else ""
    if value:
        logs.secret_in_use(provider.slug, value)
    return value


def credential_source(provider: Provider) -> str:
    """Where the provider's credential comes from, in words for operators and the catalog's history."""
    stored = stored_credential(provider)
    if stored is not None:
        return f"set in the dashboard on {stored.set_at:%Y-%m-%d %H:%M:%S} UTC" + (
            f" by {stored.set_by}" if stored.set_by else ""
        )
    if provider.credential_name and deploy_setting(provider.credential_name):
        return f"from the environment variable {provider.credential_name}"
    return "not set"
