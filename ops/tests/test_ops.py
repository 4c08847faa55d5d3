"""The operators' queue health page: tasks queued in the broker, failed tasks, runs in flight, clusters alive."""

import datetime
import json
import re
import uuid

import pytest
import time_machine
from django.utils import timezone
from django_q.models import Failure, Schedule
from django_q.signing import SignedPackage
from django_q.status import Stat, Status

from runs import queue
from runs.services import runs_dispatch, runs_settle_all
from runs.tests.api import post_run

pytestmark = pytest.mark.django_db

PDL_MATCH = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}}
TWEETS = {"provider": "apify", "endpoint": "/apidojo/tweet-scraper", "input": {"searchTerms": ["AI"], "maxItems": 10}}


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


def post_async_run(client, key):
    response = client.post(
        "/v1/run", data=json.dumps(TWEETS), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    assert response.status_code == 202, response.content


def page_of(client):
    response = client.get("/ops/queue/")
    assert response.status_code == 200
    return response.content.decode()


def figure(page, name):
    """The number shown in the <dd class="name"> of the page."""
    return int(re.search(rf'<dd class="{name}">(\d+)', page).group(1))


def failure(*, error, name="run 01JXXXXXXXXXXXXXXXXXXXXXXX", args=(), stopped=None):
    stopped = stopped or timezone.now()
    return Failure.objects.create(
        id=uuid.uuid4().hex,
        name=name,
        func="runs.tasks.advance_runs",
        args=args,
        kwargs={},
        result=error,
        started=stopped - datetime.timedelta(seconds=1),
        stopped=stopped,
        success=False,
    )


def test_a_run_posted_and_dispatched_but_not_executed_shows_as_a_queued_task(client, operator, alice_key, task_queue):
    post_async_run(client, alice_key)
    assert runs_dispatch() == 1
    client.force_login(operator)

    page = page_of(client)

    assert figure(page, "queued") == 1 == task_queue.size()
    assert figure(page, "in-flight") == 1 and figure(page, "due") == 0


def test_ended_runs_not_yet_settled_show_with_the_settlers_lag_until_it_catches_up(client, operator, alice_key):
    with time_machine.travel("2025-02-10 12:00:00Z", tick=False):
        for _ in range(2):
            assert post_run(client, alice_key, PDL_MATCH).status_code == 200
    client.force_login(operator)
    with time_machine.travel("2025-02-10 12:00:07Z", tick=False):
        page = page_of(client)
        assert figure(page, "to-settle") == 2 and '<dd class="settlement-lag">7.0 s' in page
        assert runs_settle_all() == 2
        page = page_of(client)
    assert figure(page, "to-settle") == 0 and '<dd class="settlement-lag">0.0 s' in page


def test_an_empty_queue_shows_no_tasks(operator_client, task_queue):
    assert figure(page_of(operator_client), "queued") == 0


def test_a_run_not_yet_dispatched_shows_as_due_with_how_long_it_has_waited(client, operator, alice_key, task_queue):
    with time_machine.travel("2025-02-10 12:00:00Z", tick=False):
        post_async_run(client, alice_key)
    client.force_login(operator)

    with time_machine.travel("2025-02-10 12:00:42Z", tick=False):
        page = page_of(client)

    assert figure(page, "due") == 1 and figure(page, "queued") == 0
    assert "the oldest due for 42.0 s" in page


def test_failed_tasks_are_listed_newest_first_with_function_when_and_the_errors_first_line(operator_client):
    failure(
        error='ValueError: first : Traceback (most recent call last):\n  File "runs/services.py", line 9',
        name="run older",
        stopped=timezone.now() - datetime.timedelta(minutes=5),
    )
    failure(error="KeyError: 'status' : Traceback (most recent call last):\n  File \"x.py\"", name="run newer")

    page = page_of(operator_client)

    assert page.count('<tr class="failure">') == 2
    assert page.index("run newer") < page.index("run older")
    assert "runs.tasks.advance_runs" in page and "KeyError: &#x27;status&#x27;</td>" in page
    assert "Traceback" not in page and "line 9" not in page


def test_only_the_newest_twenty_failures_are_listed(operator_client):
    now = timezone.now()
    for n in range(25):
        failure(error=f"boom {n}", name=f"task {n}", stopped=now - datetime.timedelta(seconds=n))

    page = page_of(operator_client)

    assert page.count('<tr class="failure">') == 20 and "The newest 20 of 25" in page
    assert "boom 0</td>" in page and "boom 20</td>" not in page


def test_a_failed_tasks_arguments_and_any_key_or_token_in_its_error_are_never_shown(operator_client, settings):
    settings.APIFY_TOKEN = "apify-secret-token-123"
    failure(
        error="HTTPError: 401 for https://api.apify.com/v2/acts?token=hunter2 with apify-secret-token-123 "
        "and monid_live_abcdefghijklmnop",
        args=("monid_test_argument_secret",),
    )

    page = page_of(operator_client)

    assert "HTTPError: 401 for https://api.apify.com/v2/acts?token=[redacted]" in page
    for secret in ("hunter2", "apify-secret-token-123", "abcdefghijklmnop", "monid_test_argument_secret"):
        assert secret not in page


def test_without_a_cluster_running_it_says_none_has_reported(operator_client):
    assert "No cluster has reported in the last few seconds" in page_of(operator_client)


def test_a_cluster_that_reported_is_listed_with_the_age_of_its_report(operator_client):
    with time_machine.travel("2025-02-10 12:00:00Z", tick=False):
        status = Status(pid=4242, cluster_id="cluster-one")
        status.workers, status.status = [1, 2, 3, 4], "Idle"
        queue.broker().set_stat(Stat.get_key("cluster-one"), SignedPackage.dumps(status, True), 30)

    with time_machine.travel("2025-02-10 12:00:01.5Z", tick=False):
        page = page_of(operator_client)

    assert '<td class="mono">cluster-one</td><td>Idle</td>' in page
    assert '<td class="num">4</td>' in page and "1.5 s ago" in page


def test_the_page_still_answers_when_the_broker_does_not(operator_client, monkeypatch):
    class DownBroker:
        list_key = "monid"

        def info(self):
            raise ConnectionError("refused")

    monkeypatch.setattr(queue, "broker", DownBroker)

    page = page_of(operator_client)

    assert "The broker did not answer (ConnectionError)" in page
    assert "The clusters' reports could not be read." in page


def test_a_reconciler_schedule_no_cluster_has_taken_for_minutes_is_flagged_overdue(operator_client):
    assert (
        Schedule.objects.filter(func="runs.tasks.reconcile_runs").update(
            next_run=timezone.now() - datetime.timedelta(minutes=5)
        )
        == 1
    )

    assert '<strong class="note">overdue</strong>' in page_of(operator_client)


def test_a_reconciler_schedule_just_due_is_not_overdue(operator_client):
    Schedule.objects.filter(func="runs.tasks.reconcile_runs").update(
        next_run=timezone.now() - datetime.timedelta(seconds=20)
    )

    page = page_of(operator_client)

    assert "The reconciler's schedule" in page and "overdue" not in page


def test_successful_tasks_are_said_not_to_be_kept(operator_client):
    assert "Not kept" in page_of(operator_client)


def test_the_operator_nav_links_to_the_queue_and_the_catalog(operator_client):
    page = page_of(operator_client)

    assert '<a href="/ops/queue/" aria-current="page">Queue</a>' in page
    assert '<a href="/admin/providers/provider/">Catalog</a>' in page


def test_customers_get_a_404(client, alice):
    client.force_login(alice)

    assert client.get("/ops/queue/").status_code == 404


def test_strangers_are_sent_to_sign_in(client):
    response = client.get("/ops/queue/")

    assert response.status_code == 302 and response["Location"].startswith("/login/")
