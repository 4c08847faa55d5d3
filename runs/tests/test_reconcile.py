"""No run is lost, run twice or charged twice when tasks are lost or workers die: leases and the reconciler."""

import datetime
import json

import pytest
from django.utils import timezone
from django_q.models import Schedule

from billing.models import KeyDailyCost
from runs.models import Run
from runs.services import run_advance, runs_reconcile

pytestmark = pytest.mark.django_db

TWEETS = {"provider": "apify", "endpoint": "/apidojo/tweet-scraper", "input": {"searchTerms": ["AI"]}}


def post(client, key, body):
    return client.post("/v1/run", data=json.dumps(body), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {key}")


def age(run_id, minutes):
    """Moves a run's clock readings into the past, as if that much time had gone by with no step running."""
    ago = datetime.timedelta(minutes=minutes)
    run = Run.objects.get(pk=run_id)
    Run.objects.filter(pk=run_id).update(
        created_at=run.created_at - ago,
        heartbeat_at=run.heartbeat_at and run.heartbeat_at - ago,
        lease_until=run.lease_until and run.lease_until - ago)


def test_a_migration_schedules_the_reconciler_once(db):
    schedules = Schedule.objects.filter(func="runs.tasks.reconcile_runs")
    assert schedules.count() == 1 and schedules.get().minutes == 1


def test_a_run_whose_task_was_lost_is_resumed(client, alice_key, task_queue):
    run_id = post(client, alice_key, TWEETS).json()["runId"]  # no on_commit here: its task is never queued
    assert task_queue.size() == 0
    assert runs_reconcile() == {"resumed": 0, "failed": 0}  # too soon to call it stalled
    age(run_id, 3)
    assert runs_reconcile() == {"resumed": 1, "failed": 0}
    assert runs_reconcile() == {"resumed": 0, "failed": 0}  # marked seen: not queued twice
    task_queue.run()
    assert Run.objects.get(pk=run_id).status == "COMPLETED"


def test_a_run_whose_worker_died_mid_follow_resumes_with_the_same_provider_run(
        client, alice_key, task_queue, django_capture_on_commit_callbacks, monkeypatch):
    from runs import services
    monkeypatch.setattr(services, "FOLLOW_SECONDS_PER_TASK", 0)
    with django_capture_on_commit_callbacks(execute=True):
        run_id = post(client, alice_key, TWEETS).json()["runId"]
    task_queue.run_one()  # started at Apify; the follow-up step it queued dies with its worker:
    task_queue.purge()
    started = Run.objects.get(pk=run_id)
    assert started.status == "RUNNING" and started.provider_run_id
    age(run_id, 3)
    assert runs_reconcile()["resumed"] == 1
    task_queue.run()
    run = Run.objects.get(pk=run_id)
    assert (run.status, run.provider_run_id) == ("COMPLETED", started.provider_run_id)
    assert KeyDailyCost.objects.get().run_count == 1


def test_a_worker_killed_while_holding_the_lease_is_replaced_once_the_lease_expires(client, alice_key, task_queue):
    run_id = post(client, alice_key, TWEETS).json()["runId"]
    Run.objects.filter(pk=run_id).update(lease_until=timezone.now() + datetime.timedelta(minutes=5),
                                         heartbeat_at=timezone.now())
    age(run_id, 3)
    assert runs_reconcile()["resumed"] == 0  # the lease still stands
    age(run_id, 5)
    assert runs_reconcile()["resumed"] == 1
    task_queue.run()
    assert Run.objects.get(pk=run_id).status == "COMPLETED"


def test_two_workers_never_take_the_same_step(client, alice_key):
    run_id = post(client, alice_key, TWEETS).json()["runId"]
    Run.objects.filter(pk=run_id).update(lease_until=timezone.now() + datetime.timedelta(minutes=5))
    run_advance(run_id=run_id)  # a second worker arrives while the first holds the step
    run = Run.objects.get(pk=run_id)
    assert (run.status, run.provider_run_id) == ("RUNNING", "")  # it did not start the actor again


def test_a_step_releases_its_lease_when_it_hands_over(client, alice_key, task_queue,
                                                     django_capture_on_commit_callbacks, monkeypatch):
    from runs import services
    monkeypatch.setattr(services, "FOLLOW_SECONDS_PER_TASK", 0)
    with django_capture_on_commit_callbacks(execute=True):
        run_id = post(client, alice_key, TWEETS).json()["runId"]
    task_queue.run_one()
    run = Run.objects.get(pk=run_id)
    assert run.lease_until is None and run.heartbeat_at is not None and task_queue.size() == 1


def test_a_sync_run_whose_request_died_fails_uncharged(alice, alice_key):
    from billing.models import ApiKey
    from providers.models import Endpoint
    from runs.services import run_create
    run = run_create(api_key=ApiKey.objects.get(label="alice-live"), raw_input={"email": "sean@example.com"},
                     endpoint=Endpoint.objects.get(path="/person/enrich"))
    Run.objects.filter(pk=run.pk).update(status="RUNNING")  # the process serving its request died here
    age(run.pk, 0.25)
    assert runs_reconcile()["failed"] == 0  # its request may still be running (deadline 30 s, plus the stall)
    age(run.pk, 10)
    assert runs_reconcile()["failed"] == 1
    run.refresh_from_db()
    assert run.status == "FAILED" and run.reported_cost_micros == 0 and "lost" in run.error_message
