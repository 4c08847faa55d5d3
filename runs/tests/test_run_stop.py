import json

import pytest
import requests
from django.apps import apps as django_apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from conftest import APIFY_TOKEN
from providers.models import Endpoint
from runs.models import Run
from runs.services import runs_settle_all

pytestmark = pytest.mark.django_db

SLOW = {"provider": "apify", "endpoint": "/apidojo/tweet-scraper", "input": {"searchTerms": ["emulator:slow"]}}


def post_run(client, key, body):
    return client.post(
        "/v1/run", data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


def stop(client, key, run_id):
    return client.post(f"/v1/runs/{run_id}/stop", HTTP_AUTHORIZATION=f"Bearer {key}")


def provider_status(emulators, provider_run_id):
    return requests.get(
        f"{emulators.url}/apify/v2/actor-runs/{provider_run_id}",
        timeout=10,
        headers={"Authorization": f"Bearer {APIFY_TOKEN}"},
    ).json()["data"]["status"]


@pytest.fixture
def started_slow_run(client, alice_key, task_queue, django_capture_on_commit_callbacks):
    """An async run that the worker started at Apify and is following when the test takes over."""
    with django_capture_on_commit_callbacks(execute=True):
        run_id = post_run(client, alice_key, SLOW).json()["runId"]
    dequeued = task_queue.run_one()
    assert dequeued == 1
    return Run.objects.get(pk=run_id)


def test_stopping_a_running_run_aborts_it_at_apify_and_charges_nothing(
    client, alice_key, task_queue, django_capture_on_commit_callbacks, emulators, started_slow_run
):
    run = started_slow_run
    assert run.status == "RUNNING" and run.provider_run_id
    with django_capture_on_commit_callbacks(execute=True):
        response = stop(client, alice_key, run.id)
    assert response.status_code == 202
    assert response.json()["runId"] == run.id and response.json()["status"] == "STOPPING"
    assert response.json()["message"]
    task_queue.run()
    body = client.get(f"/v1/runs/{run.id}", HTTP_AUTHORIZATION=f"Bearer {alice_key}").json()
    assert body["status"] == "STOPPED" and body["stoppable"] is False
    assert body["billing"]["reportedCost"]["value"] == 0 and body["output"] is None
    assert provider_status(emulators, run.provider_run_id) == "ABORTED"


def test_a_run_stopped_before_it_started_never_reaches_the_provider(
    client, alice_key, task_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run_id = post_run(client, alice_key, SLOW).json()["runId"]
        assert stop(client, alice_key, run_id).status_code == 202
    task_queue.run()
    run = Run.objects.get(pk=run_id)
    assert (run.status, run.provider_run_id, run.reported_cost_micros) == ("STOPPED", "", 0)


def test_a_terminal_run_cannot_be_stopped(client, alice_key, task_queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run_id = post_run(client, alice_key, {**SLOW, "input": {"searchTerms": ["AI"]}}).json()["runId"]
    task_queue.run()
    response = stop(client, alice_key, run_id)
    assert (response.status_code, response.json()["code"]) == (409, 409)
    assert "COMPLETED" in response.json()["message"]


def test_a_sync_run_cannot_be_stopped(client, alice_key):
    run_id = post_run(
        client, alice_key, {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}}
    ).json()["runId"]
    response = stop(client, alice_key, run_id)
    assert response.status_code == 409 and "synchronous" in response.json()["message"]
    assert Run.objects.get(pk=run_id).status == "COMPLETED"


def test_another_workspaces_run_cannot_be_stopped(client, alice_key, bob_key, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run_id = post_run(client, alice_key, SLOW).json()["runId"]
    assert stop(client, bob_key, run_id).status_code == 404
    assert stop(client, alice_key, "01HXYZ1234567890ABCDEFGHJK").status_code == 404
    assert Run.objects.get(pk=run_id).status == "RUNNING"


def test_an_async_run_past_its_deadline_times_out_and_is_aborted_at_apify(
    client, alice_key, task_queue, django_capture_on_commit_callbacks, emulators, started_slow_run
):
    run = started_slow_run
    Endpoint.objects.filter(pk=run.endpoint_id).update(deadline_seconds=0)
    task_queue.run()
    run.refresh_from_db()
    assert run.status == "TIME_OUT" and run.reported_cost_micros == 0
    assert "deadline" in run.error_message
    assert provider_status(emulators, run.provider_run_id) == "ABORTED"
    body = client.get(f"/v1/runs/{run.id}", HTTP_AUTHORIZATION=f"Bearer {alice_key}").json()
    assert body["error"]["source"] == "platform" and body["cost"] == {"value": 0.0, "currency": "USD"}


def test_a_sync_run_past_its_deadline_times_out(client, alice_key, settings, silent_server):
    settings.PDL_API_BASE_URL = silent_server
    Endpoint.objects.filter(path="/person/enrich").update(deadline_seconds=1)
    response = post_run(
        client, alice_key, {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "TIME_OUT" and "1 s deadline" in body["error"]["message"]
    assert body["billing"]["reportedCost"]["value"] == 0


@pytest.mark.django_db(transaction=True)
def test_the_migration_to_time_out_rewrites_runs_that_timed_out_and_back(client, alice_key, settings, silent_server):
    settings.PDL_API_BASE_URL = silent_server
    Endpoint.objects.filter(path="/person/enrich").update(deadline_seconds=1)
    run_id = post_run(
        client, alice_key, {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}}
    ).json()["runId"]
    runs_settle_all()  # its rollup row

    def stored(apps):
        return (
            apps.get_model("runs", "Run").objects.get(pk=run_id).status,
            apps.get_model("runs", "RunEvent").objects.get(run_id=run_id, kind="ended").detail,
            apps.get_model("billing", "KeyDailyCost").objects.get().status,
        )

    # Backwards first: the run, its "ended" event and its rollup row are left as they were stored before.
    MigrationExecutor(connection).migrate([("runs", "0018_run_key_in_flight")])
    assert stored(MigrationExecutor(connection).loader.project_state([("runs", "0018_run_key_in_flight")]).apps) == (
        "TIMED_OUT",
        "TIMED_OUT",
        "TIMED_OUT",
    )
    MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    assert stored(django_apps) == ("TIME_OUT", "TIME_OUT", "TIME_OUT")
    assert client.get(f"/v1/runs/{run_id}", HTTP_AUTHORIZATION=f"Bearer {alice_key}").json()["status"] == "TIME_OUT"
