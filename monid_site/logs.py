"""Structured logs: one JSON object per line (MONID_LOG_FORMAT=json, the default when DJANGO_DEBUG is off) with the
time, level, logger and message, the ids of what was being worked on (request, run, workspace, provider) and the
exception's traceback if any; and one access line per request.

Never logged: API keys, Authorization headers, provider credentials, run inputs or outputs. The code logs ids,
statuses and counts only; RedactSecrets is the guard behind that, on every handler, for what a library or an
exception's text might still carry.

Our own formatter rather than python-json-logger: it writes an allow-list of fields, so an `extra=` of some
library's call never reaches the log, in twenty lines.
"""

import contextlib
import contextvars
import datetime
import json
import logging
import re
import time

from django.conf import settings

from . import metrics

# What is being worked on in this thread (a request, a run's step); reset when that ends. Never mutated: replaced.
_context = contextvars.ContextVar("monid_log_context", default={})  # noqa: B039 (never mutated)
# The access line's own fields, besides the context's.
ACCESS_FIELDS = ("method", "route", "status", "duration_ms")
CREDENTIAL_SETTINGS = (
    "SECRET_KEY",
    "APIFY_TOKEN",
    "PDL_API_KEY",
    "EMAIL_HOST_PASSWORD",
    "MONID_METRICS_TOKEN",
    "MONID_CREDENTIALS_KEY",
)
# Provider credentials this process has sent (from the environment or the dashboard), by provider: blanked too.
_credentials_in_use: dict[str, str] = {}
REDACTED = "[redacted]"
_SECRET_SHAPES = [
    (re.compile(r"\bmonid_(live|test)_[A-Za-z0-9]+"), rf"monid_\1_{REDACTED}"),
    (re.compile(r"""(authorization['"]?\s*[:=]\s*['"]?)[^'"\n]+""", re.IGNORECASE), rf"\1{REDACTED}"),
    (re.compile(r"\b(bearer\s+)[^\s'\",]+", re.IGNORECASE), rf"\1{REDACTED}"),
    (
        re.compile(
            r"""((?:x-api-key|api[_-]?key|token|password|secret)['"]?\s*[:=]\s*['"]?)[^\s'"&,}]+""", re.IGNORECASE
        ),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"(://[^/\s:@]+:)[^/\s@]+@"), rf"\1{REDACTED}@"),
]
access_logger = logging.getLogger("monid.access")


@contextlib.contextmanager
def context(**fields):
    """Log lines written inside carry these fields (request_id, run_id, workspace, provider)."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def context_add(**fields) -> None:
    """Adds fields until the enclosing `context` ends: a request's, once its API key or its run is known."""
    _context.set({**_context.get(), **fields})


def run_context(run):
    return context(run_id=run.pk, workspace=run.workspace_id, provider=run.endpoint.provider.slug)


def request_served(request, get_response):
    """Answers the request with its id in the log context, then writes its access line and counts it."""
    began = time.perf_counter()
    with context(request_id=request.request_id):
        response = get_response(request)
        seconds = time.perf_counter() - began
        metrics.request_observed(request, response, seconds)
        fields = {
            "method": request.method,
            "route": metrics.route_of(request),
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 1),
        }
        access_logger.info("%(method)s %(route)s %(status)s %(duration_ms)s ms", fields, extra=fields)
    return response


def secret_in_use(name: str, value: str) -> None:
    """From now on `value` is blanked wherever it appears in a log line of this process."""
    _credentials_in_use[name] = value


def redact(text: str) -> str:
    """The text without anything shaped like a key or a credential, nor the values of the configured secrets and
    of the provider credentials in use."""
    for value in [*(getattr(settings, name, "") for name in CREDENTIAL_SETTINGS), *_credentials_in_use.values()]:
        for part in value.split(",") if value else ():  # MONID_CREDENTIALS_KEY may list several keys
            if len(part) >= 8:  # a short one would blank ordinary words
                text = text.replace(part, REDACTED)
    for shape, replacement in _SECRET_SHAPES:
        text = shape.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Redacts the message and the traceback of every record a handler writes, whatever the formatter."""

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:
            return True  # a bad format string: the handler reports it as any logging error
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message, the context's ids, an access line's
    fields, and the exception's traceback (`exception`) if any. Nothing else of the record."""

    def format(self, record):
        line = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_context.get(),
        }
        line.update((field, getattr(record, field)) for field in ACCESS_FIELDS if hasattr(record, field))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)
