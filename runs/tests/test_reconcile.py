"""No run is lost, run twice or charged twice when tasks are lost or workers die: leases and the reconciler."""

import datetime
import threading

import pytest
from django.utils import timezone
from django_q.models import Schedule

from billing.models import KeyDailyCost
from runs import services
from runs.models import Run
from runs.services import runs_advance, runs_dispatch, runs_reconcile
from runs.tests.api import post_run

pytestmark = pytest.mark.django_db

TWEETS = {"provider": "apify", "endpoint": "/apidojo/tweet-scraper", "input": {"searchTerms": ["AI"]}}


def age(run_id, minutes):
    """Moves a run's clock readings into the past, as if that much time had gone by with no step running."""
    ago = datetime.timedelta(minutes=minutes)
    run = Run.objects.get(pk=run_id)
    Run.objects.filter(pk=run_id).update(
        created_at=run.created_at - ago,
        heartbeat_at=run.heartbeat_at and run.heartbeat_at - ago,
        lease_until=run.lease_until and run.lease_until - ago,
    )


def test_a_migration_schedules_the_reconciler_once(db):
    schedules = Schedule.objects.filter(func="runs.tasks.reconcile_runs")
    assert schedules.count() == 1 and schedules.get().minutes == 1


def test_a_new_run_whose_first_task_was_lost_is_resumed(client, alice_key, task_queue):
    run_id = post_run(client, alice_key, TWEETS).json()["runId"]
    assert runs_dispatch() == 1
    task_queue.purge()  # the task dies with the worker that took it
    assert runs_reconcile() == {"resumed": 0, "failed": 0}  # too soon to call it stalled
    age(run_id, 3)
    assert runs_reconcile() == {"resumed": 1, "failed": 0}
    assert runs_reconcile() == {"resumed": 0, "failed": 0}  # due again: not resumed twice
    task_queue.run()
    assert Run.objects.get(pk=run_id).status == "COMPLETED"


def started(client, key, task_queue, capture):
    """A run started at Apify by its first step, waiting for its first status check."""
    with capture(execute=True):
        run_id = post_run(client, key, TWEETS).json()["runId"]
    task_queue.run_one()
    run = Run.objects.get(pk=run_id)
    assert run.status == "RUNNING" and run.provider_run_id and run.next_step_at
    return run


def test_a_step_frees_its_worker_and_books_the_next_check(
    client, alice_key, task_queue, django_capture_on_commit_callbacks
):
    run = started(client, alice_key, task_queue, django_capture_on_commit_callbacks)
    assert run.lease_until is None and run.next_step_at > timezone.now() and task_queue.size() == 0
    assert run.worker  # host:pid of the worker that took the step


def test_the_dispatcher_hands_out_due_checks_once(client, alice_key, task_queue, django_capture_on_commit_callbacks):
    run = started(client, alice_key, task_queue, django_capture_on_commit_callbacks)
    assert runs_dispatch() == 0  # not due yet
    Run.objects.filter(pk=run.pk).update(next_step_at=timezone.now())
    assert runs_dispatch() == 1 and runs_dispatch() == 0 and task_queue.size() == 1
    task_queue.run_one()  # the emulator's run ends on its second check: this one sees it RUNNING
    assert Run.objects.get(pk=run.pk).next_step_at is not None
    task_queue.run()
    assert Run.objects.get(pk=run.pk).status == "COMPLETED"


def test_a_run_whose_worker_died_mid_step_resumes_with_the_same_provider_run_once_its_lease_lapses(
    client, alice_key, task_queue, django_capture_on_commit_callbacks
):
    run = started(client, alice_key, task_queue, django_capture_on_commit_callbacks)
    Run.objects.filter(pk=run.pk).update(
        next_step_at=None, heartbeat_at=timezone.now(), lease_until=timezone.now() + services.LEASE
    )  # a check took it, then died
    assert runs_reconcile()["resumed"] == 0  # the lease still stands
    age(run.pk, 2)  # longer than the lease: a live worker would have renewed it
    assert runs_reconcile()["resumed"] == 1
    task_queue.run()
    finished = Run.objects.get(pk=run.pk)
    assert (finished.status, finished.provider_run_id) == ("COMPLETED", run.provider_run_id)
    assert KeyDailyCost.objects.get().run_count == 1


def test_a_dispatched_check_lost_by_the_broker_is_resumed(
    client, alice_key, task_queue, django_capture_on_commit_callbacks
):
    run = started(client, alice_key, task_queue, django_capture_on_commit_callbacks)
    Run.objects.filter(pk=run.pk).update(next_step_at=timezone.now())
    runs_dispatch()
    task_queue.purge()
    assert runs_reconcile()["resumed"] == 0  # it may still be waiting in the queue
    age(run.pk, 3)
    assert runs_reconcile()["resumed"] == 1
    task_queue.run()
    assert Run.objects.get(pk=run.pk).status == "COMPLETED"


def test_two_workers_never_take_the_same_step(client, alice_key):
    run_id = post_run(client, alice_key, TWEETS).json()["runId"]
    Run.objects.filter(pk=run_id).update(lease_until=timezone.now() + datetime.timedelta(minutes=5))
    runs_advance(run_ids=[run_id])  # a second worker arrives while the first holds the step
    run = Run.objects.get(pk=run_id)
    assert (run.status, run.provider_run_id) == ("RUNNING", "")  # it did not start the actor again


def lease_renewed_while_held(monkeypatch) -> bool:
    """Takes a new async run's lease as a worker would, holds it with the heartbeat beating every 10 ms, and says
    whether the heartbeat renewed it within five seconds."""
    from billing.models import ApiKey
    from providers.models import Endpoint

    run = services.run_create(
        api_key=ApiKey.objects.get(label="alice-live"),
        raw_input=TWEETS["input"],
        endpoint=Endpoint.objects.get(path=TWEETS["endpoint"]),
    )
    monkeypatch.setattr(services, "HEARTBEAT_SECONDS", 0.01)
    taken = timezone.now() + services.LEASE
    Run.objects.filter(pk=run.pk).update(lease_until=taken, worker="here:1")
    with services._Heartbeat().holding([run.pk], "here:1"):
        for _ in range(500):
            if Run.objects.get(pk=run.pk).lease_until > taken:
                return True
            threading.Event().wait(0.01)
    return False


@pytest.mark.django_db(transaction=True)
def test_a_step_keeps_its_lease_alive_while_it_runs(alice_key, monkeypatch):
    assert lease_renewed_while_held(monkeypatch)


@pytest.mark.django_db(transaction=True)
def test_the_leases_are_renewed_again_after_the_database_failed_a_renewal(alice_key, monkeypatch):
    """A locked or restarting database fails a beat (here the first two); the thread lives on and the next
    beat renews the lease."""
    from django.db import DatabaseError
    from django.db.models import QuerySet

    failures, update = [], QuerySet.update

    def failing_twice(queryset, **fields):
        if threading.current_thread().name == "run leases" and len(failures) < 2:
            failures.append(fields)
            raise DatabaseError("database is locked")
        return update(queryset, **fields)

    monkeypatch.setattr(QuerySet, "update", failing_twice)
    assert lease_renewed_while_held(monkeypatch) and len(failures) == 2


def test_a_sync_run_whose_request_died_fails_uncharged(alice, alice_key):
    from billing.models import ApiKey
    from providers.models import Endpoint
    from runs.services import run_create

    run = run_create(
        api_key=ApiKey.objects.get(label="alice-live"),
        raw_input={"email": "sean@example.com"},
        endpoint=Endpoint.objects.get(path="/person/enrich"),
    )
    Run.objects.filter(pk=run.pk).update(status="RUNNING")  # the process serving its request died here
    age(run.pk, 0.25)
    assert runs_reconcile()["failed"] == 0  # its request may still be running (deadline 30 s, plus the stall)
    age(run.pk, 10)
    assert runs_reconcile()["failed"] == 1
    run.refresh_from_db()
    assert run.status == "FAILED" and run.reported_cost_micros == 0 and "lost" in run.error_message


def interrupted_start(client, key, task_queue, tweets, *, reached_apify):
    """A run whose first step died during its start: after Apify accepted it (`reached_apify`), or before."""
    terms = [f"interrupted-{reached_apify}-{timezone.now().timestamp()}"]
    run_id = post_run(client, key, {**TWEETS, "input": {"searchTerms": terms}}).json()["runId"]
    assert runs_dispatch() == 1
    task_queue.purge()  # the step that took it died...
    Run.objects.filter(pk=run_id).update(steps=1, worker="gone:1")
    if reached_apify:  # ...after Apify started the actor, before the run id was stored
        run = Run.objects.get(pk=run_id)
        tweets.start(params={"searchTerms": terms}, units=run.estimated_units, hold=run.held_micros)
    Run.objects.filter(pk=run_id).update(next_step_at=timezone.now())
    return run_id, terms


def starts_of(apify_started, terms):
    return [
        run_id
        for run_id, sent in apify_started(timezone.now() - datetime.timedelta(minutes=5))
        if sent["searchTerms"] == terms
    ]


def test_a_start_interrupted_after_apify_accepted_it_adopts_that_run_instead_of_starting_another(
    client, alice_key, task_queue, tweets, apify_started
):
    run_id, terms = interrupted_start(client, alice_key, task_queue, tweets, reached_apify=True)
    left_behind = starts_of(apify_started, terms)
    task_queue.run()
    run = Run.objects.get(pk=run_id)
    assert (run.status, run.provider_run_id) == ("COMPLETED", left_behind[0])
    assert len(starts_of(apify_started, terms)) == 1


def test_a_start_interrupted_before_apify_got_it_starts_the_actor_once(
    client, alice_key, task_queue, tweets, apify_started
):
    run_id, terms = interrupted_start(client, alice_key, task_queue, tweets, reached_apify=False)
    task_queue.run()
    run = Run.objects.get(pk=run_id)
    assert run.status == "COMPLETED" and starts_of(apify_started, terms) == [run.provider_run_id]


def test_a_provider_run_another_run_recorded_is_never_adopted(client, alice_key, task_queue, emulators):
    terms = ["the same input, twice"]
    first = post_run(client, alice_key, {**TWEETS, "input": {"searchTerms": terms}}).json()["runId"]
    task_queue.run()
    second = post_run(client, alice_key, {**TWEETS, "input": {"searchTerms": terms}}).json()["runId"]
    Run.objects.filter(pk=second).update(steps=1, worker="gone:1")  # as if a step had died before starting it
    task_queue.run()
    runs = Run.objects.filter(pk__in=[first, second])
    assert {run.status for run in runs} == {"COMPLETED"} and len({run.provider_run_id for run in runs}) == 2
