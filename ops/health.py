"""Probes for a load balancer or an orchestrator: /healthz (the process answers) and /readyz (it can do its work).
Unauthenticated, so they name what failed in plain words but never a host, an error's text or a secret."""

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from monid_site.errors import error_body
from runs.queue import broker

from .queries import clusters_reporting


@never_cache
@require_safe
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request):
    """200 when the database, the cache, the broker and at least one worker answer; else 503 naming each that
    did not. With the ORM broker the database is the broker and the cache, so its cache table stands for both."""
    checks = {
        "database": _answers(_database),
        "cache": _answers(_cache),
        "broker": _answers(broker().ping),
        "workers": _workers(),
    }
    failing = {part: state for part, state in checks.items() if state != "ok"}
    if not failing:
        return JsonResponse({"status": "ok", "checks": checks})
    message = "Not ready: " + "; ".join(f"{part}: {state}" for part, state in failing.items()) + "."
    return JsonResponse({**error_body(503, message), "checks": checks}, status=503)


def _answers(check) -> str:
    try:
        check()
    except Exception as exc:  # whatever the failure, the probe answers, and says which part it was
        return f"did not answer ({type(exc).__name__})"
    return "ok"


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache():
    cache.get("monid:readyz")  # one key read: the cache table (ORM broker) or a round trip to Redis


def _workers() -> str:
    clusters = clusters_reporting(now=timezone.now())
    if clusters is None:
        return "their reports could not be read"
    return "ok" if clusters else "no worker (manage.py qcluster) has reported in the last few seconds"
