import functools
import re

from django.conf import settings
from ulid import ULID

from . import logs

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """Tags every request with an id (the client's own when it sent a sane one) and echoes it in x-request-id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        sent = request.headers.get("x-request-id", "")
        request.request_id = sent if _SANE_REQUEST_ID.match(sent) else str(ULID())
        response = logs.request_served(request, self.get_response)  # logged and counted with its id
        response["x-request-id"] = request.request_id
        return response


class ContentSecurityPolicyMiddleware:
    """Pages take scripts, styles and images from this server only and never run inline script, so a provider's
    or a customer's text that escaped escaping still could not execute. A view may set its own policy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.MONID_CONTENT_SECURITY_POLICY)
        return response


def content_security_policy(policy: str):
    """A view's own policy, for a page whose third-party code needs more than the default allows."""

    def decorate(view):
        @functools.wraps(view)
        def with_policy(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            response["Content-Security-Policy"] = policy
            return response

        return with_policy

    return decorate
