"""API key format and hashing: keys are shown once and stored only as a prefix and an HMAC."""

import hashlib
import hmac
import secrets
import string

from django.conf import settings

KEY_PREFIXES = {"live": "monid_live_", "test": "monid_test_"}
_ALPHABET = string.ascii_letters + string.digits
_SECRET_LENGTH = 32  # 32 base62 characters are about 190 bits of randomness
_SHOWN_PREFIX_EXTRA = 6


def generate_key(mode: str) -> str:
    return KEY_PREFIXES[mode] + "".join(secrets.choice(_ALPHABET) for _ in range(_SECRET_LENGTH))


def hash_key(key: str) -> str:
    # Keyed, so a leaked table of hashes cannot be checked against guesses without the server's secret.
    return hmac.new(settings.SECRET_KEY.encode(), key.encode(), hashlib.sha256).hexdigest()


def shown_prefix(key: str) -> str:
    mode_prefix = next(p for p in KEY_PREFIXES.values() if key.startswith(p))
    return key[: len(mode_prefix) + _SHOWN_PREFIX_EXTRA]


def looks_like_key(key: str) -> bool:
    return (
        any(key.startswith(p) for p in KEY_PREFIXES.values())
        and len(key) == len("monid_live_") + _SECRET_LENGTH
        and all(c in _ALPHABET for c in key[len("monid_live_") :])
    )
