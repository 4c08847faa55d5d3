import re

from ulid import ULID

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """Tags every request with an id (the client's own when it sent a sane one) and echoes it in x-request-id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        sent = request.headers.get("x-request-id", "")
        request.request_id = sent if _SANE_REQUEST_ID.match(sent) else str(ULID())
        response = self.get_response(request)
        response["x-request-id"] = request.request_id
        return response
