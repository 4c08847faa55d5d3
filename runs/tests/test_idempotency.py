import json
import threading

import pytest
import requests
import time_machine
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from billing.api_keys import api_key_create
from billing.models import ApiKey, KeyDailyCost
from runs.models import IdempotencyKey, Run
from runs.services import idempotency_claim, runs_settle_all

pytestmark = pytest.mark.django_db

PDL = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}}
TWEETS = {"provider": "apify", "endpoint": "/apidojo/tweet-scraper", "input": {"searchTerms": ["AI"]}}


def post(client, key, body, idempotency_key):
    return client.post(
        "/v1/run",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_IDEMPOTENCY_KEY=idempotency_key,
    )


def test_a_retried_sync_run_returns_the_original_without_a_second_run_or_charge(client, alice_key):
    first = post(client, alice_key, PDL, "retry-1")
    again = post(client, alice_key, PDL, "retry-1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert runs_settle_all() == Run.objects.count() == 1 and KeyDailyCost.objects.get().run_count == 1


def test_a_retried_async_run_returns_the_same_run_id_and_queues_nothing_new(
    client, alice_key, task_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, alice_key, TWEETS, "retry-2")
        again = post(client, alice_key, TWEETS, "retry-2")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["runId"] == first.json()["runId"]
    assert Run.objects.count() == 1 and task_queue.run_one() == 1  # one run, started once


def test_the_same_key_with_another_body_is_a_422(client, alice_key):
    post(client, alice_key, PDL, "retry-3")
    response = post(client, alice_key, {**PDL, "input": {"email": "other@example.com"}}, "retry-3")
    assert (response.status_code, response.json()["code"]) == (422, 422)
    assert "different request body" in response.json()["message"]
    assert Run.objects.count() == 1


def test_the_same_key_while_the_first_request_is_in_flight_is_a_409(client, alice_key):
    assert idempotency_claim(api_key=ApiKey.objects.get(label="alice-live"), key="retry-4", body=PDL) is None
    response = post(client, alice_key, PDL, "retry-4")
    assert (response.status_code, response.json()["code"]) == (409, 409)
    assert not Run.objects.exists()


def test_a_request_refused_before_its_run_existed_frees_its_key(client, alice_key):
    assert post(client, alice_key, {**PDL, "input": {"email": 5}}, "retry-5").status_code == 400
    assert post(client, alice_key, PDL, "retry-5").status_code == 200
    assert Run.objects.count() == 1


def test_keys_expire_after_24_hours(client, alice_key):
    with time_machine.travel("2026-11-01 10:00Z"):
        first = post(client, alice_key, PDL, "retry-6").json()["runId"]
    with time_machine.travel("2026-11-02 10:01Z"):
        second = post(client, alice_key, PDL, "retry-6").json()["runId"]
    assert first != second and Run.objects.count() == 2


def test_keys_belong_to_one_workspace(client, alice_key, bob_key):
    mine = post(client, alice_key, PDL, "shared-name").json()["runId"]
    theirs = post(client, bob_key, PDL, "shared-name").json()["runId"]
    assert mine != theirs and IdempotencyKey.objects.count() == 2


def test_a_key_reused_by_a_live_key_never_returns_a_test_keys_run(client, alice_key, alice_test_key):
    test_run = post(client, alice_test_key, PDL, "same-name").json()
    live_run = post(client, alice_key, PDL, "same-name").json()
    assert (test_run["testMode"], live_run["testMode"]) == (True, False) and live_run["runId"] != test_run["runId"]
    assert Run.objects.get(pk=live_run["runId"]).reported_cost_micros > 0
    # Each key still gets its own run back on a retry.
    assert post(client, alice_test_key, PDL, "same-name").json()["runId"] == test_run["runId"]
    assert post(client, alice_key, PDL, "same-name").json()["runId"] == live_run["runId"]


def test_two_live_keys_of_one_workspace_keep_their_own_keys(client, alice, alice_key):
    other = api_key_create(workspace=alice.workspaces.get(), label="alice-other", mode="live")[1]
    first = post(client, alice_key, PDL, "shared-name").json()["runId"]
    second = post(client, other, PDL, "shared-name").json()["runId"]
    assert first != second and Run.objects.get(pk=second).api_key.label == "alice-other"


@pytest.mark.parametrize("value", ["", "x" * 256, "line\u0007bell"])
def test_a_malformed_key_is_a_400(client, alice_key, value):
    response = post(client, alice_key, PDL, value)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["message"]
    assert not Run.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_twenty_identical_requests_at_once_make_exactly_one_run(live_server, alice_key):
    """Real concurrency: twenty threads against the threaded live server, released together."""
    start = threading.Barrier(20)
    answers = []

    def send():
        start.wait()
        response = requests.post(
            f"{live_server.url}/v1/run",
            json=TWEETS,
            timeout=60,
            headers={"Authorization": f"Bearer {alice_key}", "Idempotency-Key": "burst"},
        )
        answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Run.objects.count() == 1
    assert {status for status, _ in answers} <= {202, 409} and len(answers) == 20
    assert {body["runId"] for status, body in answers if status == 202} == {Run.objects.get().id}


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_each_claim_its_runs_key_and_drops_those_that_made_no_run(client, alice_key):
    run_id = post(client, alice_key, PDL, "made-a-run").json()["runId"]
    request_hash = IdempotencyKey.objects.get().request_hash
    IdempotencyKey.objects.all().delete()
    workspace_id = Run.objects.get(pk=run_id).workspace_id
    executor = MigrationExecutor(connection)
    executor.migrate([("runs", "0015_connectors")])
    old = MigrationExecutor(connection).loader.project_state([("runs", "0015_connectors")]).apps
    claims = old.get_model("runs", "IdempotencyKey").objects
    claims.create(workspace_id=workspace_id, key="made-a-run", request_hash=request_hash, run_id=run_id)
    claims.create(workspace_id=workspace_id, key="in-flight", request_hash="b")
    MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    [claim] = IdempotencyKey.objects.all()
    assert (claim.key, claim.api_key.label, claim.run_id) == ("made-a-run", "alice-live", run_id)
    assert post(client, alice_key, PDL, "made-a-run").json()["runId"] == run_id
