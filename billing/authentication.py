"""Bearer API keys for the /v1 API."""

import ipaddress
import time

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from monid_site import logs
from monid_site.throttle import client_address

from .api_keys import api_key_authenticate
from .keys import looks_like_key
from .models import ApiKey
from .ratelimit import requests_counted


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = request.headers.get("Authorization", "")
        if not header:
            return None
        scheme, _, key = header.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise exceptions.AuthenticationFailed(
                "The Authorization header must be 'Bearer <api key>', e.g. 'Bearer monid_live_…'."
            )
        api_key = None
        if looks_like_key(key):
            api_key = api_key_authenticate(
                key=key, origin=lambda: (_ip_or_none(client_address(request)), request.headers.get("User-Agent", ""))
            )
        if api_key is None:
            raise exceptions.AuthenticationFailed(
                "This API key is not valid or has been revoked. Create a new one in the dashboard."
            )
        if api_key.is_expired:
            raise exceptions.AuthenticationFailed(
                f"This API key expired at {api_key.expires_at:%Y-%m-%dT%H:%M:%SZ}. Create a new one in the dashboard, "
                "or have its expiry extended there or with PATCH /v1/api-keys/<label>."
            )
        logs.context_add(workspace=api_key.workspace_id)  # the request's log lines name its workspace from here on
        return (None, api_key)

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


def _ip_or_none(address: str) -> str | None:
    """The address if it is one (a forwarded header may hold anything), for the key's last-used address."""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


SCOPE_USES = {
    "runs": "making, reading and stopping runs",
    "catalog": "discovering and inspecting endpoints",
    "manage": "managing keys, spend controls and the wallet",
}


class HasApiKey(permissions.BasePermission):
    """Without a key DRF answers 401 (NotAuthenticated), which the error handler words for people; a key without
    the scope the view names (its `scope`: one of ApiKey.SCOPES, or None for any key) gets a 403 naming it."""

    def has_permission(self, request, view):
        if not isinstance(request.auth, ApiKey):
            return False
        if view.scope is not None and view.scope not in request.auth.scope_list:
            raise exceptions.PermissionDenied(
                f"This API key lacks the '{view.scope}' scope, which {SCOPE_USES[view.scope]} needs. Use a key that "
                "has it" + (", a live one" if view.scope == "manage" else "") + ", or create one in the dashboard."
            )
        return True


class ApiKeyRateThrottle(throttling.BaseThrottle):
    """A fixed one-minute window per key."""

    def allow_request(self, request, view):
        if not isinstance(request.auth, ApiKey):
            return True
        now = time.time()
        self.retry_after = 60 - int(now % 60)
        counted = requests_counted(api_key_id=request.auth.pk, minute=int(now // 60))
        return counted <= settings.MONID_RATE_LIMIT_PER_MINUTE

    def wait(self):
        return self.retry_after


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI document describes ApiKeyAuthentication."""

    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "monid_live_… or monid_test_…"}
