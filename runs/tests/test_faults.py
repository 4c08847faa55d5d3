"""How provider faults end a run: one test per row of the fault table (docs/operations.md,
"How provider faults end a run") not covered elsewhere."""

import json

import pytest

from providers.engine import apify as apify_module
from providers.engine import transport as base
from runs.models import Run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tweets_per_call")]


@pytest.fixture
def run_tweets(client, alice_key, task_queue, django_capture_on_commit_callbacks):
    """Starts an async run with these search terms and lets the worker take it as far as it goes."""

    def run(*terms, max_items=10):
        body = {
            "provider": "apify",
            "endpoint": "/apidojo/tweet-scraper",
            "input": {"searchTerms": ["AI", *terms], "maxItems": max_items},
        }
        with django_capture_on_commit_callbacks(execute=True):
            run_id = client.post(
                "/v1/run",
                data=json.dumps(body),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {alice_key}",
            ).json()["runId"]
        task_queue.run()
        return Run.objects.get(pk=run_id)

    return run


@pytest.mark.parametrize(
    "fault",
    [
        "status-503x3",
        "status-429x2",
        "status-429barex2",
        "status-garbagex2",
        "dataset-503x2",
        "dataset-429x2",
        "dataset-garbagex2",
    ],
)
def test_a_burst_of_control_plane_faults_is_retried_and_the_run_completes(run_tweets, fault):
    run = run_tweets(f"emulator:{fault}")
    assert (run.status, run.provider_http_status, run.result_count) == ("COMPLETED", 200, 10)
    assert run.reported_cost_micros == run.price_micros


@pytest.mark.parametrize("fault", ["status-503x99", "status-garbagex99", "dataset-503x99"])
def test_a_control_plane_that_keeps_failing_fails_the_run_without_a_charge(run_tweets, fault):
    run = run_tweets(f"emulator:{fault}")
    assert run.status == "FAILED" and run.provider_http_status is None
    assert run.reported_cost_micros == 0 and run.error_message


def test_an_empty_dataset_completes_with_no_results(run_tweets):
    run = run_tweets("emulator:empty")
    assert (run.status, run.provider_http_status, run.output, run.result_count) == ("COMPLETED", 200, [], 0)


def test_a_dataset_far_larger_than_a_page_is_read_whole(run_tweets, monkeypatch):
    monkeypatch.setattr(apify_module, "DATASET_PAGE_SIZE", 100)
    run = run_tweets(max_items=1000)
    assert (run.status, run.result_count, len(run.output)) == ("COMPLETED", 1000, 1000)
    assert len({item["id"] for item in run.output}) == 1000


def test_a_dataset_larger_than_the_output_cap_keeps_and_bills_what_fits(run_tweets, settings, client, alice_key):
    whole = run_tweets(max_items=40).output
    settings.MONID_OUTPUT_MAX_BYTES = len(json.dumps(whole[:25], ensure_ascii=False, separators=(",", ":")).encode())
    run = run_tweets(max_items=40)
    assert (run.status, run.provider_http_status, run.result_count, run.output) == ("COMPLETED", 200, 25, whole[:25])
    assert run.calculated_cost_micros == run.reported_cost_micros == run.price_micros  # PER_CALL: one call
    body = client.get(f"/v1/runs/{run.id}", HTTP_AUTHORIZATION=f"Bearer {alice_key}").json()
    assert (body["outputTruncated"], body["resultCount"], len(body["output"])) == (True, 25, 25)


def test_a_status_check_that_keeps_hanging_fails_the_run(
    client, alice_key, task_queue, settings, silent_server, django_capture_on_commit_callbacks, monkeypatch
):
    body = {"provider": "apify", "endpoint": "/apidojo/tweet-scraper", "input": {"searchTerms": ["emulator:slow"]}}
    with django_capture_on_commit_callbacks(execute=True):
        run_id = client.post(
            "/v1/run", data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {alice_key}"
        ).json()["runId"]
    task_queue.run_one()  # started at Apify; its next step is a status check
    assert Run.objects.get(pk=run_id).status == "RUNNING"
    settings.APIFY_API_BASE_URL = silent_server
    monkeypatch.setattr(apify_module, "STATUS_READ_MARGIN_SECONDS", 1)
    monkeypatch.setattr(base, "RETRY_ATTEMPTS", 2)
    task_queue.run()
    run = Run.objects.get(pk=run_id)
    assert run.status == "FAILED" and "did not answer" in run.error_message
