"""Throttles for the account pages that take a password or send mail (log in, sign up, password reset), and for
OAuth client registration: so many POSTs per client address, and per account named in the form, in a window;
counted in the shared cache (Redis, or the database's cache table), so every process and machine counts together.
Past a limit the page answers 429 with Retry-After, before any password is checked or mail sent.

Counts are kept under hashes of the address and the account, so the cache holds no email address or username.
"""

import functools
import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render

# kind -> (window in seconds, POSTs per client address, POSTs per account) in each window
THROTTLES = {
    "login": (900, 30, 10),
    "sign-up": (3600, 10, 3),
    "password-reset": (3600, 10, 3),
    "oauth-register": (3600, 20, None),  # MCP hosts registering themselves (billing.oauth): no account to count
}


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, or behind MONID_TRUSTED_PROXIES proxies that each append the address
    they got to X-Forwarded-For, the entry the outermost of them appended (anything left of it the client may
    have forged)."""
    hops = settings.MONID_TRUSTED_PROXIES
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    return forwarded[-hops] if hops and len(forwarded) >= hops else request.META.get("REMOTE_ADDR", "")


def cache_incremented(name: str, *, timeout: int) -> int:
    """Adds one to a count in the shared cache, made with this timeout when new; returns the count."""
    cache.add(name, 0, timeout=timeout)
    try:
        return cache.incr(name)
    except ValueError:  # expired between the two calls
        cache.set(name, 1, timeout=timeout)
        return 1


def _counted(kind: str, who: str, window: int) -> tuple[int, int]:
    """One more attempt by `who` in the current window: how many so far, and the seconds until the window ends."""
    now = time.time()
    name = f"monid:throttle:{kind}:{hashlib.sha256(who.encode()).hexdigest()}:{int(now // window)}"
    return cache_incremented(name, timeout=window + 60), math.ceil(window - now % window)


def attempt_wait(kind: str, *, request, account: str) -> int | None:
    """Counts a POST of this kind; the seconds to wait when it is over a limit, else None."""
    window, per_address, per_account = THROTTLES[kind]
    waits = []
    for who, limit in (
        (f"address:{client_address(request)}", per_address),
        (f"account:{account.strip().lower()}", per_account if account.strip() else None),
    ):
        if limit is not None:
            count, wait = _counted(kind, who, window)
            if count > limit:
                waits.append(wait)
    return max(waits, default=None)


def throttled(kind: str, *, account_field: str):
    """A page view whose POSTs are throttled as THROTTLES[kind] says, the account read from `account_field`."""

    def wrap(view):
        @functools.wraps(view)
        def guarded(request, *args, **kwargs):
            if request.method == "POST":
                wait = attempt_wait(kind, request=request, account=request.POST.get(account_field, ""))
                if wait:
                    response = render(
                        request, "registration/throttled.html", {"minutes": math.ceil(wait / 60)}, status=429
                    )
                    response["Retry-After"] = str(wait)
                    return response
            return view(request, *args, **kwargs)

        return guarded

    return wrap
