"""One error shape for the whole API: {"code": <HTTP status>, "message": "..."} (plus "details" on some 400s)."""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpResponseServerError, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

logger = logging.getLogger("monid")


class ApplicationError(Exception):
    """A broken domain rule; the API answers it as {code, message}, pages show it as a form error."""

    def __init__(self, status_code: int, message: str, details: list | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.details = details


class ErrorSerializer(serializers.Serializer):
    """The one error body of the API (documentation only: error_body builds it)."""

    code = serializers.IntegerField(help_text="The HTTP status")
    message = serializers.CharField(help_text="What went wrong and what to do")
    details = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        help_text='400 only: [{"path": "input.maxItems", "message": "…"}]',
    )


def error_responses(*statuses) -> dict:
    """The documented error statuses of an operation, for extend_schema(responses=…)."""
    return {status_code: ErrorSerializer for status_code in (*statuses, 405, 429, 500)}


def error_body(status_code, message, details=None):
    body = {"code": status_code, "message": message}
    if details:
        body["details"] = details
    return body


def _drf_message(exc):
    if isinstance(exc, exceptions.NotAuthenticated):
        return "Missing API key: send the header 'Authorization: Bearer monid_live_…'."
    if isinstance(exc, exceptions.Throttled):
        return (
            f"This API key made more than {settings.MONID_RATE_LIMIT_PER_MINUTE} requests this minute; "
            f"retry after {exc.wait:.0f} s."
        )
    if isinstance(exc, exceptions.ParseError):
        return f"The request body is not valid JSON: {exc.detail}"
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return "Send the request body as JSON with Content-Type: application/json."
    if isinstance(exc, exceptions.MethodNotAllowed):
        return f"{exc.detail} See the API reference for the methods this route accepts."
    detail = exc.detail
    if isinstance(detail, dict):
        return "; ".join(
            f"{'body' if field == 'non_field_errors' else field}: "
            f"{' '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
            for field, msgs in detail.items()
        )
    if isinstance(detail, list):
        return " ".join(map(str, detail))
    return str(detail)


def api_exception_handler(exc, context):
    """DRF's exception handler, reshaped; anything unexpected becomes a 500 that names the request id."""
    request = context.get("request")
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, RequestDataTooBig):
        limit_mib = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 2**20
        return Response(
            error_body(413, f"The request body is larger than the {limit_mib:g} MiB this API accepts."), status=413
        )
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.status_code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            # The view's own challenge (DRF sets it from get_authenticate_header): /mcp's points at OAuth.
            headers["WWW-Authenticate"] = getattr(exc, "auth_header", None) or 'Bearer realm="api"'
        if isinstance(exc, exceptions.Throttled):
            headers["Retry-After"] = str(int(exc.wait))
        return Response(error_body(exc.status_code, _drf_message(exc)), status=exc.status_code, headers=headers)
    request_id = getattr(request, "request_id", "unknown") if request is not None else "unknown"
    logger.exception("Unhandled error in API request %s", request_id)
    return Response(
        error_body(500, f"Something went wrong on our side. Quote request id {request_id} when you report it."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


@csrf_exempt  # API clients send no CSRF token; an unknown route must still answer 404, not the CSRF 403 page
def api_route_not_found(request, *args, **kwargs):
    return JsonResponse(
        error_body(404, f"There is no API route {request.path}. See the API reference for the routes."), status=404
    )


def server_error(request, *args, **kwargs):
    """Django's last resort; API clients get the JSON shape, people get a plain page."""
    request_id = getattr(request, "request_id", "unknown")
    message = f"Something went wrong on our side. Quote request id {request_id} when you report it."
    if request.path.startswith(("/v1/", "/public/v1/")):
        return JsonResponse(error_body(500, message), status=500)
    return HttpResponseServerError(f"<h1>Server error</h1><p>{message}</p>")
