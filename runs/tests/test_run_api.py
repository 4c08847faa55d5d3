import json

import pytest

from billing.controls import spend_control_set
from billing.models import KeyDailyCost
from providers.models import Endpoint
from runs.api import RunAcceptedSerializer, RunListItemSerializer, RunSerializer, RunStartedSerializer
from runs.models import Run
from runs.services import runs_dispatch

pytestmark = pytest.mark.django_db


def post_run(client, key, body, **headers):
    return client.post(
        "/v1/run", data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}", **headers
    )


def get(client, key, url):
    return client.get(url, HTTP_AUTHORIZATION=f"Bearer {key}")


PDL_MATCH = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}}
TWEETS = {"provider": "apify", "endpoint": "/apidojo/tweet-scraper", "input": {"searchTerms": ["AI"], "maxItems": 10}}


def test_a_sync_pdl_match_completes_at_once_and_is_charged(client, alice_key):
    response = post_run(client, alice_key, PDL_MATCH)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "COMPLETED"
    assert body["providerResponse"] == {"httpStatus": 200}
    assert body["output"]["work_email"] == "sean@example.com"
    assert body["resultCount"] == 1
    assert body["price"] == {"type": "PER_CALL", "amount": 0.003, "currency": "USD"}
    assert body["billing"]["calculatedCost"] == {"value": 3000, "unit": "MICRO_DOLLAR", "currency": "USD"}
    assert body["billing"]["reportedCost"]["value"] == 3000
    assert body["cost"] == {"value": 0.003, "currency": "USD"}
    assert body["createdAt"].endswith("Z") and body["completedAt"].endswith("Z")
    run = Run.objects.get(pk=body["runId"])
    assert run.reported_cost_micros == 3000 and run.input == PDL_MATCH["input"]


def test_a_pdl_no_match_is_completed_with_the_providers_404_and_not_charged(client, alice_key):
    response = post_run(client, alice_key, {**PDL_MATCH, "input": {"email": "nomatch@example.com"}})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "COMPLETED"
    assert body["providerResponse"]["httpStatus"] == 404
    assert body["providerResponse"]["error"]["error"]["type"] == "not_found"
    assert body["output"] is None and body["resultCount"] is None
    assert body["billing"]["calculatedCost"]["value"] == 3000
    assert body["billing"]["reportedCost"]["value"] == 0
    assert Run.objects.get(pk=body["runId"]).reported_cost_micros == 0


@pytest.mark.parametrize(
    "email, http_status", [("ratelimited@example.com", 429), ("error@example.com", 500), ("nocredits@example.com", 402)]
)
def test_other_pdl_errors_are_passed_through_uncharged(client, alice_key, email, http_status):
    body = post_run(client, alice_key, {**PDL_MATCH, "input": {"email": email}}).json()
    assert (body["status"], body["providerResponse"]["httpStatus"]) == ("COMPLETED", http_status)
    assert body["billing"]["reportedCost"]["value"] == 0


def test_pdl_credits_become_the_actual_cost_at_the_operators_rate(client, alice_key):
    from providers.models import Endpoint

    Endpoint.objects.filter(path="/person/enrich").update(credit_cost_micros=2800)
    body = post_run(client, alice_key, PDL_MATCH).json()
    assert body["billing"]["actualCost"]["value"] == 2800


def test_an_unreachable_provider_fails_the_run_without_a_charge(client, alice_key, settings):
    settings.PDL_API_BASE_URL = "http://127.0.0.1:9"
    response = post_run(client, alice_key, PDL_MATCH)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "FAILED"
    assert body["providerResponse"] is None
    assert body["error"]["source"] == "platform" and "could not be reached" in body["error"]["message"]
    assert body["billing"]["reportedCost"]["value"] == 0


def test_an_async_apify_run_is_accepted_then_completes_with_its_dataset(
    client, alice_key, task_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_run(client, alice_key, TWEETS)
    assert response.status_code == 202
    accepted = response.json()
    assert set(accepted) == {"runId", "provider", "endpoint", "status", "price", "createdAt", "hints"}
    follow = {"next": f"monid runs get -r {accepted['runId']} -w"}
    assert (accepted["status"], accepted["hints"]) == ("RUNNING", follow)
    running = get(client, alice_key, f"/v1/runs/{accepted['runId']}").json()
    assert (running["status"], running["hints"]) == ("RUNNING", follow)
    assert runs_dispatch() == 1  # its first step is due at once

    assert task_queue.run() == 3  # the start, a check that finds it running, one that finds it done and collects

    body = get(client, alice_key, f"/v1/runs/{accepted['runId']}").json()
    assert (body["status"], body["hints"]) == ("COMPLETED", None)
    assert body["providerResponse"] == {"httpStatus": 200}
    assert len(body["output"]) == 10 and body["resultCount"] == 10
    assert body["billing"]["reportedCost"]["value"] == 4000  # ten tweets at $0.0004
    assert body["billing"]["actualCost"]["value"] == 2900  # the emulator's usageTotalUsd: 0.0004 + 10 x 0.00025
    assert Run.objects.get(pk=accepted["runId"]).provider_run_id


@pytest.mark.parametrize(
    "term, http_status, error_type",
    [
        ("emulator:fail", 500, "run-failed"),
        ("emulator:timeout", 504, "run-timed-out"),
        ("emulator:bad-input", 400, "invalid-input"),
    ],
)
def test_apify_failures_complete_with_the_providers_status_and_no_charge(
    client, alice_key, task_queue, django_capture_on_commit_callbacks, term, http_status, error_type
):
    with django_capture_on_commit_callbacks(execute=True):
        run_id = post_run(client, alice_key, {**TWEETS, "input": {"searchTerms": [term]}}).json()["runId"]
    task_queue.run()
    body = get(client, alice_key, f"/v1/runs/{run_id}").json()
    assert (body["status"], body["providerResponse"]["httpStatus"]) == ("COMPLETED", http_status)
    assert body["providerResponse"]["error"]["error" if term == "emulator:bad-input" else "type"] is not None
    assert error_type in json.dumps(body["providerResponse"]["error"])
    assert body["output"] is None and body["billing"]["reportedCost"]["value"] == 0


def test_a_finished_run_is_never_finished_twice(client, alice_key, task_queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run_id = post_run(client, alice_key, TWEETS).json()["runId"]
    task_queue.run()
    from runs.tasks import advance_runs

    advance_runs(run_id)
    assert KeyDailyCost.objects.get().run_count == 1


def test_test_mode_runs_reach_the_sandbox_and_cost_nothing(client, alice_test_key, settings):
    settings.PDL_API_BASE_URL = "http://127.0.0.1:9"  # the live provider is unreachable; the sandbox is not
    body = post_run(client, alice_test_key, PDL_MATCH).json()
    assert (body["status"], body["testMode"]) == ("COMPLETED", True)
    assert body["billing"]["reportedCost"]["value"] == 0 and body["billing"]["calculatedCost"]["value"] == 3000


def test_a_live_run_on_an_unconfigured_provider_is_refused_and_creates_nothing(client, alice_key, settings):
    settings.PDL_API_KEY = ""
    response = post_run(client, alice_key, PDL_MATCH)
    assert response.status_code == 503
    assert "PDL_API_KEY" in response.json()["message"]
    assert not Run.objects.exists()


def test_the_composite_input_form_is_accepted(client, alice_key):
    body = post_run(client, alice_key, {**PDL_MATCH, "input": {"queryParams": {"email": "sean@example.com"}}}).json()
    assert body["providerResponse"]["httpStatus"] == 200
    assert body["input"] == {"queryParams": {"email": "sean@example.com"}}


def test_a_run_without_input_runs_with_an_empty_one(client, alice_key):
    Endpoint.objects.filter(path="/person/enrich").update(input_schema={"type": "object"})
    response = post_run(client, alice_key, {"provider": "pdl", "endpoint": "/person/enrich"})
    assert response.status_code == 200
    assert response.json()["input"] == {}
    assert Run.objects.get().input == {}


def test_a_bug_during_a_sync_run_fails_it_cleanly(client, alice_key, monkeypatch):
    from providers.engine.http import HttpProtocol

    monkeypatch.setattr(HttpProtocol, "call", lambda self, **kwargs: 1 / 0)
    response = post_run(client, alice_key, PDL_MATCH)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "FAILED" and "internal error" in body["error"]["message"]
    assert "ZeroDivisionError" not in response.content.decode()
    assert body["billing"]["reportedCost"]["value"] == 0


def test_a_bug_while_following_an_async_run_fails_it_instead_of_leaving_it_running(
    client, alice_key, task_queue, django_capture_on_commit_callbacks, monkeypatch
):
    from providers.engine.apify import ApifyActorProtocol

    monkeypatch.setattr(ApifyActorProtocol, "collect", lambda self, progress, **kwargs: 1 / 0)
    with django_capture_on_commit_callbacks(execute=True):
        run_id = post_run(client, alice_key, TWEETS).json()["runId"]
    task_queue.run()
    body = get(client, alice_key, f"/v1/runs/{run_id}").json()
    assert body["status"] == "FAILED" and body["error"]["source"] == "platform"


def test_an_unreachable_async_provider_fails_the_run(
    client, alice_key, task_queue, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks(execute=True):
        run_id = post_run(client, alice_key, TWEETS).json()["runId"]
    settings.APIFY_API_BASE_URL = "http://127.0.0.1:9"
    task_queue.run()
    body = get(client, alice_key, f"/v1/runs/{run_id}").json()
    assert body["status"] == "FAILED" and "could not be reached" in body["error"]["message"]
    assert body["providerResponse"] is None and body["billing"]["reportedCost"]["value"] == 0


def test_each_run_answer_has_exactly_its_schemas_fields_in_their_order(client, alice_key, task_queue, settings):
    """The run serializers write their answers by hand (runs/api.py): held here to the fields the OpenAPI document
    is made from, for runs in every state."""
    post_run(client, alice_key, PDL_MATCH)  # COMPLETED, 2xx
    post_run(client, alice_key, {**PDL_MATCH, "input": {"email": "nomatch@example.com"}})  # a provider error
    post_run(client, alice_key, TWEETS)  # RUNNING
    task_queue.run()  # … then COMPLETED with a dataset
    post_run(client, alice_key, TWEETS)  # RUNNING, with its hold
    settings.PDL_API_BASE_URL = "http://127.0.0.1:9"
    post_run(client, alice_key, PDL_MATCH)  # FAILED
    spend_control_set(workspace=Run.objects.first().workspace, kind="RUN_CAP", limit_micros=0)
    post_run(client, alice_key, PDL_MATCH)  # BLOCKED, with its controls
    runs = list(Run.objects.select_related("endpoint__provider"))
    assert {run.status for run in runs} == {"COMPLETED", "RUNNING", "FAILED", "BLOCKED"}
    for serializer in (RunAcceptedSerializer, RunStartedSerializer, RunListItemSerializer, RunSerializer):
        for run in runs:
            assert list(serializer(run).data) == list(serializer().fields), (serializer.__name__, run.status)
