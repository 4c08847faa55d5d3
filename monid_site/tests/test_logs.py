"""Structured logs: real requests and real runs write one JSON object per line, with the ids of the request, run,
workspace and provider, and never a key, a credential, a run's input or its output."""

import io
import json
import logging
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.utils import timezone

from conftest import APIFY_TOKEN, PDL_KEY
from monid_site.logs import JsonFormatter, RedactSecrets
from providers.engine import transport as base
from runs.models import Run
from runs.services import runs_dispatch

pytestmark = pytest.mark.django_db

PDL_MATCH = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "input.sentinel@example.com"}}
TWEETS = {
    "provider": "apify",
    "endpoint": "/apidojo/tweet-scraper",
    "input": {"searchTerms": ["input-sentinel-terms"], "maxItems": 3},
}


@pytest.fixture
def log_lines():
    """What the configured console handler writes (the JSON formatter behind the redaction filter), parsed line by
    line: every line must be one JSON object. Returns (lines, the raw text)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactSecrets())
    logging.getLogger().addHandler(handler)

    def lines():
        text = buffer.getvalue()
        return [json.loads(line) for line in text.splitlines()], text

    yield lines
    logging.getLogger().removeHandler(handler)


def post_run(client, key, body, **headers):
    return client.post(
        "/v1/run", data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}", **headers
    )


def strings_in(value) -> set[str]:
    """Every string of a JSON value long enough to be told apart from ordinary words."""
    if isinstance(value, dict):
        return set().union(*map(strings_in, value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*map(strings_in, value)) if value else set()
    return {value} if isinstance(value, str) and len(value) >= 8 else set()


def assert_nothing_secret(text: str, *, keys=(), runs=()):
    secrets = {*keys, settings.APIFY_TOKEN, settings.PDL_API_KEY, APIFY_TOKEN, PDL_KEY}
    for run in runs:
        secrets |= strings_in(run.input) | strings_in(run.output)
    assert text.strip()
    assert not [secret for secret in secrets if secret in text]
    assert "monid_live_" not in text.replace("monid_live_[redacted]", "")
    assert "monid_test_" not in text.replace("monid_test_[redacted]", "")


def test_a_sync_runs_access_line_names_its_request_workspace_run_and_provider(client, alice_key, log_lines):
    response = post_run(client, alice_key, PDL_MATCH, HTTP_X_REQUEST_ID="req-sync-1")
    lines, text = log_lines()

    run = Run.objects.get(pk=response.json()["runId"])
    assert run.output and run.status == "COMPLETED"
    [access] = [line for line in lines if line["logger"] == "monid.access"]
    assert access == {
        "time": access["time"],
        "level": "INFO",
        "logger": "monid.access",
        "message": f"POST v1/run 200 {access['duration_ms']} ms",
        "request_id": "req-sync-1",
        "workspace": run.workspace_id,
        "run_id": run.id,
        "provider": "pdl",
        "method": "POST",
        "route": "v1/run",
        "status": 200,
        "duration_ms": access["duration_ms"],
    }
    assert access["time"].endswith("Z") and access["time"][:10] == timezone.now().date().isoformat()
    assert_nothing_secret(text, keys=[alice_key], runs=[run])


def test_a_providers_error_is_logged_as_its_status_never_its_body(client, alice_key, log_lines):
    body = post_run(client, alice_key, {**PDL_MATCH, "input": {"email": "error@example.com"}}).json()
    lines, text = log_lines()

    assert body["providerResponse"]["httpStatus"] == 500
    assert [(line["status"], line["run_id"]) for line in lines if line["logger"] == "monid.access"] == [
        (200, body["runId"])
    ]
    assert body["providerResponse"]["error"]["error"]["message"] not in text
    assert_nothing_secret(text, keys=[alice_key])


def test_a_workers_step_logs_with_its_run_workspace_and_provider(client, alice_key, task_queue, tweets, log_lines):
    """A start that an earlier step left behind at Apify is adopted, and the step says so."""
    run_id = post_run(client, alice_key, TWEETS).json()["runId"]
    assert runs_dispatch() == 1
    task_queue.purge()  # the step that took it died after Apify had started the actor
    Run.objects.filter(pk=run_id).update(steps=1, worker="gone:1", next_step_at=timezone.now())
    run = Run.objects.get(pk=run_id)
    tweets.start(params=TWEETS["input"], units=run.estimated_units, hold=run.held_micros)
    task_queue.run()
    lines, text = log_lines()

    run = Run.objects.get(pk=run_id)
    assert run.status == "COMPLETED" and run.output
    [adopted] = [line for line in lines if "adopted" in line["message"]]
    assert adopted == {
        "time": adopted["time"],
        "level": "INFO",
        "logger": "monid.runs",
        "message": f"Run {run_id} adopted provider run {run.provider_run_id}, which an interrupted start left behind",
        "run_id": run_id,
        "workspace": run.workspace_id,
        "provider": "apify",
    }
    assert_nothing_secret(text, keys=[alice_key], runs=[run])


@pytest.fixture
def leaky_bug(monkeypatch, alice_key):
    """A fault in the HTTP library whose error quotes everything it was given: the URL, the headers with the
    provider's credential, and (as a bug might) the customer's key."""

    def request(method, url, headers=None, **kwargs):
        raise RuntimeError(
            f"could not send {method} {url} with headers {headers!r} for key {alice_key}; "
            f"Authorization: Bearer {settings.APIFY_TOKEN}; x-api-key={settings.PDL_API_KEY}"
        )

    monkeypatch.setattr(base._session, "request", request)


def test_a_sync_run_that_fails_logs_its_traceback_without_a_secret(client, alice_key, leaky_bug, log_lines):
    response = post_run(client, alice_key, PDL_MATCH, HTTP_X_REQUEST_ID="req-bug-1")
    lines, text = log_lines()

    run = Run.objects.get(pk=response.json()["runId"])
    assert run.status == "FAILED"
    [failure] = [line for line in lines if line["level"] == "ERROR"]
    assert (failure["logger"], failure["message"]) == ("monid.runs", f"Run {run.id} failed unexpectedly")
    assert (failure["request_id"], failure["run_id"], failure["workspace"], failure["provider"]) == (
        "req-bug-1",
        run.id,
        run.workspace_id,
        "pdl",
    )
    assert failure["exception"].startswith("Traceback (most recent call last):")
    assert "RuntimeError: could not send GET" in failure["exception"] and "[redacted]" in failure["exception"]
    assert_nothing_secret(text, keys=[alice_key], runs=[run])


def test_an_async_run_that_fails_logs_its_traceback_without_a_secret(
    client, alice_key, task_queue, leaky_bug, log_lines
):
    run_id = post_run(client, alice_key, TWEETS).json()["runId"]
    task_queue.run()
    lines, text = log_lines()

    run = Run.objects.get(pk=run_id)
    assert run.status == "FAILED"
    [failure] = [line for line in lines if line["level"] == "ERROR"]
    assert (failure["message"], failure["run_id"], failure["workspace"], failure["provider"]) == (
        f"Run {run_id} failed unexpectedly",
        run_id,
        run.workspace_id,
        "apify",
    )
    assert "request_id" not in failure  # a worker's step, not a request
    assert "RuntimeError: could not send POST" in failure["exception"]
    assert_nothing_secret(text, keys=[alice_key], runs=[run])


def django_logs(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", f"import django, logging; django.setup(); {code}"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "monid_site.settings", **env},
    )


def test_production_logs_are_json_lines_by_default_and_redact_keys(tmp_path):
    key = "monid_live_" + "A1b2" * 8
    result = django_logs(
        f"logging.getLogger('monid.runs').warning('refused %s', {key!r})",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="a-production-secret-of-the-tests",
        MONID_LOG_FORMAT="",
    )
    assert result.returncode == 0, result.stderr
    [line] = [json.loads(line) for line in result.stderr.splitlines()]
    assert (line["level"], line["logger"]) == ("WARNING", "monid.runs")
    assert line["message"] == "refused monid_live_[redacted]"


def test_the_dev_server_logs_text_and_a_bad_format_fails_at_start():
    text = django_logs("logging.getLogger('monid').warning('plain')", DJANGO_DEBUG="1", MONID_LOG_FORMAT="")
    assert text.returncode == 0 and text.stderr.rstrip().endswith("WARNING monid plain")
    bad = django_logs("", MONID_LOG_FORMAT="xml")
    assert bad.returncode != 0 and "MONID_LOG_FORMAT must be json or text" in bad.stderr
