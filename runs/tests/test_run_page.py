"""The run page: its output as a collapsible tree and a download, its timeline, and its stop button."""

import datetime
import json
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.controls import spend_control_set
from runs.models import Run, RunEvent
from runs.services import runs_dispatch, runs_reconcile

pytestmark = pytest.mark.django_db

PERSON = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}}
TWEETS = {"provider": "apify", "endpoint": "/apidojo/tweet-scraper", "input": {"searchTerms": ["AI"]}}
SLOW = {"provider": "apify", "endpoint": "/apidojo/tweet-scraper", "input": {"searchTerms": ["emulator:slow"]}}


def post_run(key, body):
    """A run made through the real API, as a customer's program would make it; its id."""
    response = Client().post(
        "/v1/run", data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    assert response.status_code in (200, 202), response.content
    return response.json()["runId"]


def logged_in(client, user):
    client.force_login(user)
    return client


def kinds(run_id):
    return list(RunEvent.objects.filter(run_id=run_id).order_by("id").values_list("kind", flat=True))


@pytest.fixture
def slow_run(alice_key, task_queue):
    """An async run started at Apify, which never ends there, followed by a worker: RUNNING and stoppable."""
    run_id = post_run(alice_key, SLOW)
    task_queue.run(checks=1)
    assert Run.objects.get(pk=run_id).status == "RUNNING"
    return run_id


def test_the_output_is_a_collapsible_tree_with_the_result_count_and_a_download_link(client, alice, alice_key):
    run_id = post_run(alice_key, PERSON)

    response = logged_in(client, alice).get(f"/runs/{run_id}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert '<div class="json-tree"><details open><summary>' in body
    assert (
        '<span class="j-key">&quot;work_email&quot;</span>: <span class="j-str">&quot;sean@example.com&quot;</span>'
    ) in body
    assert "<strong>1 result</strong>" in body
    assert f'<a href="/runs/{run_id}/output.json" download>Download the full JSON</a>' in body


def test_a_big_output_shows_its_first_items_and_says_how_many_are_left_for_the_download(client, alice, alice_key):
    run_id = post_run(alice_key, PERSON)
    Run.objects.filter(pk=run_id).update(output=[{"n": n, "text": "x" * 5000} for n in range(2000)], result_count=2000)

    response = logged_in(client, alice).get(f"/runs/{run_id}/")

    assert response.status_code == 200
    body = response.content.decode()
    shown, total, hidden = map(
        int,
        re.search(
            r"Showing the first (\d+) of (\d+) items; the other (\d+) are in the "
            r"download",
            body,
        ).groups(),
    )
    assert total == 2000 and shown + hidden == 2000 and 0 < shown < 100
    assert f"… {hidden:,} more items not shown" in body
    assert len(body) < 300_000


def test_the_download_is_the_whole_output_as_an_attachment(client, alice, alice_key):
    run_id = post_run(alice_key, PERSON)
    output = [{"n": n, "text": "é" * 5000} for n in range(2000)]  # 10 MB, far more than the page shows
    Run.objects.filter(pk=run_id).update(output=output, result_count=2000)

    response = logged_in(client, alice).get(f"/runs/{run_id}/output.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="monid-run-{run_id}-output.json"'
    assert json.loads(response.content) == output == Run.objects.get(pk=run_id).output


def test_a_run_without_output_has_no_download(client, alice, alice_key):
    run_id = post_run(alice_key, {**PERSON, "input": {"email": "nomatch@example.com"}})

    page = logged_in(client, alice).get(f"/runs/{run_id}/")
    download = client.get(f"/runs/{run_id}/output.json")

    assert page.status_code == 200 and b"output.json" not in page.content
    assert download.status_code == 404


def test_markup_in_a_providers_error_body_and_in_the_runs_input_is_escaped(client, alice, alice_key):
    run_id = post_run(alice_key, PERSON)
    Run.objects.filter(pk=run_id).update(
        provider_http_status=400,
        output=None,
        provider_error={"error": "<script>alert('error')</script>"},
        input={"email": "<img src=x onerror=alert('input')>"},
    )

    body = logged_in(client, alice).get(f"/runs/{run_id}/").content.decode()

    assert "<script>alert" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(&#x27;error&#x27;)&lt;/script&gt;" in body
    assert "&lt;img src=x onerror=alert(&#x27;input&#x27;)&gt;" in body


def test_markup_in_a_providers_output_is_escaped(client, alice, alice_key):
    run_id = post_run(alice_key, PERSON)
    Run.objects.filter(pk=run_id).update(
        output=[
            {
                "<script>alert('key')</script>": "<script>alert('value')</script>",
                "nested": ["<img src=x onerror=alert(1)>"],
            }
        ]
    )

    response = logged_in(client, alice).get(f"/runs/{run_id}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "<script>alert" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(&#x27;value&#x27;)&lt;/script&gt;" in body
    assert "&lt;script&gt;alert(&#x27;key&#x27;)&lt;/script&gt;" in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body


def test_a_sync_runs_timeline_reads_created_started_ended(client, alice, alice_key):
    run_id = post_run(alice_key, PERSON)

    response = logged_in(client, alice).get(f"/runs/{run_id}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert re.findall(r'<tr class="event-(\w+)">', body) == ["created", "started", "ended"]
    assert "COMPLETED, provider HTTP 200, 1 result" in body
    assert kinds(run_id) == ["created", "started", "ended"]


def test_an_async_runs_timeline_reads_created_started_checked_collected_ended_in_order(
    client, alice, alice_key, task_queue
):
    run_id = post_run(alice_key, TWEETS)
    task_queue.run()
    run = Run.objects.get(pk=run_id)

    response = logged_in(client, alice).get(f"/runs/{run_id}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert re.findall(r'<tr class="event-(\w+)">', body) == [
        "created",
        "started",
        "checked",
        "checked",
        "collected",
        "ended",
    ]
    assert f'provider\'s run id <span class="mono">{run.provider_run_id}</span>' in body
    assert 'provider says <span class="mono">RUNNING</span>' in body
    assert 'provider says <span class="mono">SUCCEEDED</span>' in body
    assert kinds(run_id) == ["created", "started", "checked", "checked", "collected", "ended"]
    assert list(RunEvent.objects.filter(run_id=run_id).values_list("detail", flat=True))[-1] == (
        f"COMPLETED, provider HTTP 200, {run.result_count} results"
    )


def test_the_timeline_shows_utc_times_and_the_time_between_steps(client, alice, alice_key):
    run_id = post_run(alice_key, PERSON)
    created = datetime.datetime(2026, 3, 1, 12, 0, 0, tzinfo=datetime.UTC)
    for event, seconds in zip(RunEvent.objects.filter(run_id=run_id).order_by("id"), [0, 2.5, 95]):
        RunEvent.objects.filter(pk=event.pk).update(at=created + datetime.timedelta(seconds=seconds))

    response = logged_in(client, alice).get(f"/runs/{run_id}/")

    body = response.content.decode()
    assert "2026-03-01 12:00:00.000 UTC" in body and "2026-03-01 12:00:02.500 UTC" in body
    assert '<td class="num">+2.50 s</td><td class="num">2.50 s</td>' in re.sub(r">\s+<", "><", body)
    assert '<td class="num">+1 min 32 s</td><td class="num">1 min 35 s</td>' in re.sub(r">\s+<", "><", body)


def test_a_run_resumed_by_the_reconciler_says_so_in_its_timeline(client, alice, alice_key, task_queue):
    run_id = post_run(alice_key, TWEETS)
    assert runs_dispatch() == 1
    task_queue.purge()  # the task is lost with the worker that took it
    Run.objects.filter(pk=run_id).update(heartbeat_at=timezone.now() - datetime.timedelta(minutes=3))
    assert runs_reconcile()["resumed"] == 1
    task_queue.run()

    response = logged_in(client, alice).get(f"/runs/{run_id}/")

    assert "Resumed by the reconciler" in response.content.decode()
    assert kinds(run_id)[:3] == ["created", "resumed", "started"]
    assert kinds(run_id)[-1] == "ended"


def test_a_blocked_run_records_its_creation_and_end(alice, alice_key):
    spend_control_set(workspace=alice.workspaces.get(), kind="RUN_CAP", limit_micros=0, status="ACTIVE")

    run_id = post_run(alice_key, PERSON)

    assert Run.objects.get(pk=run_id).status == "BLOCKED"
    assert kinds(run_id) == ["created", "ended"]


def test_the_stop_button_shows_on_a_running_async_run(client, alice, slow_run):
    response = logged_in(client, alice).get(f"/runs/{slow_run}/")

    assert response.status_code == 200
    assert f'<form class="stop" method="post" action="/runs/{slow_run}/stop/">' in response.content.decode()
    assert b'name="csrfmiddlewaretoken"' in response.content


def test_the_stop_button_does_not_show_on_an_ended_run(client, alice, alice_key, task_queue):
    run_id = post_run(alice_key, TWEETS)
    task_queue.run()

    response = logged_in(client, alice).get(f"/runs/{run_id}/")

    assert response.status_code == 200
    assert b"Stop this run" not in response.content


def test_stopping_a_run_from_its_page_ends_it_stopped(
    client, alice, slow_run, task_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in(client, alice).post(f"/runs/{slow_run}/stop/")
    stopping = Run.objects.get(pk=slow_run).status
    task_queue.run()
    page = client.get(f"/runs/{slow_run}/")

    assert response.status_code == 302 and response["Location"] == f"/runs/{slow_run}/"
    assert stopping == "STOPPING"
    assert Run.objects.get(pk=slow_run).status == "STOPPED"
    assert "Stop asked" in page.content.decode() and b"Stop this run" not in page.content
    assert kinds(slow_run)[-2:] == ["stop_asked", "ended"]


def test_the_page_says_stopping_is_underway(client, alice, slow_run):
    response = logged_in(client, alice).post(f"/runs/{slow_run}/stop/", follow=True)

    assert response.status_code == 200
    assert b"Stopping: the run is being aborted at the provider" in response.content


def test_stopping_a_run_that_has_ended_says_why_it_cannot(client, alice, alice_key, task_queue):
    run_id = post_run(alice_key, TWEETS)
    task_queue.run()

    response = logged_in(client, alice).post(f"/runs/{run_id}/stop/", follow=True)

    assert response.status_code == 200
    assert '<li class="error">' in response.content.decode()
    assert b"is COMPLETED; only a READY or RUNNING run can be stopped." in response.content
    assert Run.objects.get(pk=run_id).status == "COMPLETED"


def test_stopping_is_a_post(client, alice, slow_run):
    response = logged_in(client, alice).get(f"/runs/{slow_run}/stop/")

    assert response.status_code == 405
    assert Run.objects.get(pk=slow_run).status == "RUNNING"


def test_stopping_without_the_csrf_token_is_refused(alice, slow_run):
    browser = logged_in(Client(enforce_csrf_checks=True), alice)

    response = browser.post(f"/runs/{slow_run}/stop/")

    assert response.status_code == 403
    assert Run.objects.get(pk=slow_run).status == "RUNNING"


def test_stopping_with_the_pages_csrf_token_works(alice, slow_run):
    browser = logged_in(Client(enforce_csrf_checks=True), alice)
    page = browser.get(f"/runs/{slow_run}/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]

    response = browser.post(f"/runs/{slow_run}/stop/", {"csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert Run.objects.get(pk=slow_run).status == "STOPPING"


def test_an_operator_can_stop_any_workspaces_run(client, operator, slow_run):
    response = logged_in(client, operator).post(f"/runs/{slow_run}/stop/")

    assert response.status_code == 302
    assert Run.objects.get(pk=slow_run).status == "STOPPING"


@pytest.mark.parametrize("method, path", [("get", ""), ("get", "output.json"), ("post", "stop/")])
def test_another_workspaces_run_is_404_on_its_page_download_and_stop(client, bob, slow_run, method, path):
    response = getattr(logged_in(client, bob), method)(f"/runs/{slow_run}/{path}")

    assert response.status_code == 404
    assert slow_run.encode() not in response.content
    assert Run.objects.get(pk=slow_run).status == "RUNNING"


@pytest.mark.parametrize("method, path", [("get", "output.json"), ("post", "stop/")])
def test_visitors_who_are_not_logged_in_are_sent_to_the_login_page(client, slow_run, method, path):
    response = getattr(client, method)(f"/runs/{slow_run}/{path}")

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next=/runs/{slow_run}/{path}"


def test_the_page_makes_the_same_number_of_queries_however_long_the_timeline(client, alice, slow_run):
    logged_in(client, alice)
    with CaptureQueriesContext(connection) as short:
        client.get(f"/runs/{slow_run}/")
    RunEvent.objects.bulk_create(
        RunEvent(run_id=slow_run, at=timezone.now(), kind="checked", detail=f"S{n % 2}") for n in range(200)
    )
    with CaptureQueriesContext(connection) as long:
        response = client.get(f"/runs/{slow_run}/")

    assert response.status_code == 200
    assert len(short) == len(long) <= 6
