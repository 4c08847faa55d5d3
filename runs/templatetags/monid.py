"""Display filters for the pages: money, JSON, dates and the colour of a status."""

import datetime
import json

from django import template

from billing.costs import micros_text

register = template.Library()

NOTHING = "—"
STATUS_CLASSES = {
    "COMPLETED": "ok",
    "READY": "busy", "RUNNING": "busy", "STOPPING": "busy",
    "STOPPED": "muted",
    "FAILED": "bad", "TIMED_OUT": "bad", "BLOCKED": "bad",
}


@register.filter
def dollars(micros):
    """Integer micro-dollars as "$0.003000"; integer arithmetic only, so no float ever rounds a price."""
    if micros is None or micros == "":
        return NOTHING
    return micros_text(int(micros))


@register.filter
def pretty_json(value):
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


@register.filter
def status_class(status):
    return STATUS_CLASSES.get(status, "muted")


@register.filter
def http_class(http_status):
    """2xx ok, 3xx muted, 4xx warn (the caller's request), 5xx bad (the provider's fault)."""
    if not http_status:
        return "muted"
    return {2: "ok", 3: "muted", 4: "warn"}.get(int(http_status) // 100, "bad")


@register.filter
def utc(value):
    """Every date on every page in one shape, in UTC whatever the server's zone."""
    if not value:
        return NOTHING
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return value.isoformat()
