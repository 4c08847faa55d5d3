"""Prometheus metrics at /metrics: the token, the counters that real runs and requests move, the gauges read from
the database, and counts added up across the processes of a real deployment (multiprocess mode)."""

import datetime
import json
import subprocess
import sys

import pytest
import requests
import time_machine
from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from bench.harness import Deployment, database_url, deployment_env, free_port, isolated_redis, wait_until
from billing.controls import spend_control_set
from billing.models import ApiKey, Wallet
from runs.models import Run, RunEvent
from runs.services import runs_dispatch, runs_settle_all
from runs.tasks import reconcile_runs

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-of-the-tests"
PDL_MATCH = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}}
TWEETS = {"provider": "apify", "endpoint": "/apidojo/tweet-scraper", "input": {"searchTerms": ["AI"], "maxItems": 10}}


@pytest.fixture(autouse=True)
def metrics_on(settings):
    settings.MONID_METRICS_TOKEN = TOKEN


def post_run(client, key, body):
    return client.post(
        "/v1/run", data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


def parse(text: str) -> dict:
    """{(sample name, {label: value} as a frozenset): value} of a scrape, without the creation times that only a
    single process's counters have (in multiprocess mode there are none)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


def scrape(client) -> dict:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    return parse(response.content.decode())


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def changed(before: dict, after: dict, prefix: str) -> dict:
    """The samples named `prefix`… that moved between two scrapes, and by how much."""
    return {
        key: after[key] - before.get(key, 0.0)
        for key in after
        if key[0].startswith(prefix) and after[key] != before.get(key, 0.0)
    }


def labels(**pairs):
    return frozenset(pairs.items())


def test_metrics_are_off_until_a_token_is_set(client, settings):
    settings.MONID_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize("authorization", [None, "Bearer not-the-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
def test_a_scrape_without_the_token_is_refused(client, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = client.get("/metrics", **headers)
    assert response.status_code == 401
    assert response.json() == {"code": 401, "message": response.json()["message"]}
    assert b"monid_" not in response.content


def test_a_scrape_is_prometheus_text_or_openmetrics_as_asked(client):
    plain = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert plain["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    openmetrics = client.get(
        "/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", HTTP_ACCEPT="application/openmetrics-text; version=1.0.0"
    )
    assert openmetrics["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert openmetrics.content.decode().endswith("# EOF\n")


def test_a_sync_run_counts_its_request_its_end_its_costs_and_its_provider_call(client, alice_key):
    before = scrape(client)
    response = post_run(client, alice_key, PDL_MATCH)
    runs_settle_all()  # a run is counted once, when it is settled
    after = scrape(client)

    assert response.status_code == 200
    run = Run.objects.get(pk=response.json()["runId"])
    run_labels = dict(provider="pdl", endpoint="/person/enrich", mode="live")
    provider = dict(provider="pdl", operation="GET /v5/person/enrich", outcome="2xx")
    assert changed(before, after, "monid_runs_ended") == {
        ("monid_runs_ended_total", labels(**run_labels, status="COMPLETED", http_class="2xx")): 1
    }
    assert run.reported_cost_micros == 3000
    for cost in ("calculated", "actual", "reported"):
        assert value(after, "monid_run_cost_micros_total", **run_labels, cost=cost) - value(
            before, "monid_run_cost_micros_total", **run_labels, cost=cost
        ) == getattr(run, f"{cost}_cost_micros")
    assert (
        value(after, "monid_provider_request_duration_seconds_count", **provider)
        - value(before, "monid_provider_request_duration_seconds_count", **provider)
        == 1
    )
    assert (
        value(after, "monid_http_requests_total", route="v1/run", method="POST", status="200")
        - value(before, "monid_http_requests_total", route="v1/run", method="POST", status="200")
        == 1
    )


def test_a_providers_5xx_counts_by_its_class_on_the_run_and_on_the_call(client, alice_key):
    before = scrape(client)
    body = post_run(client, alice_key, {**PDL_MATCH, "input": {"email": "error@example.com"}}).json()
    runs_settle_all()
    after = scrape(client)

    assert body["providerResponse"]["httpStatus"] == 500
    assert changed(before, after, "monid_runs_ended") == {
        (
            "monid_runs_ended_total",
            labels(provider="pdl", endpoint="/person/enrich", mode="live", status="COMPLETED", http_class="5xx"),
        ): 1
    }
    assert {
        key: delta for key, delta in changed(before, after, "monid_provider_request_duration_seconds_count").items()
    } == {
        (
            "monid_provider_request_duration_seconds_count",
            labels(provider="pdl", operation="GET /v5/person/enrich", outcome="5xx"),
        ): 1
    }


def test_a_run_a_spend_control_blocked_counts_as_ended_blocked_without_a_provider_status(client, alice_key):
    spend_control_set(workspace=ApiKey.objects.get(label="alice-live").workspace, kind="RUN_CAP", limit_micros=0)
    before = scrape(client)
    assert post_run(client, alice_key, PDL_MATCH).json()["status"] == "BLOCKED"
    runs_settle_all()
    after = scrape(client)
    assert changed(before, after, "monid_runs_ended") == {
        (
            "monid_runs_ended_total",
            labels(provider="pdl", endpoint="/person/enrich", mode="live", status="BLOCKED", http_class="none"),
        ): 1
    }
    assert not changed(before, after, "monid_provider_request")


def test_an_async_run_counts_each_provider_call_by_operation_never_by_id(client, alice_key, task_queue):
    before = scrape(client)
    run_id = post_run(client, alice_key, TWEETS).json()["runId"]
    task_queue.run()
    after = scrape(client)

    run = Run.objects.get(pk=run_id)
    assert (run.status, run.provider_http_status) == ("COMPLETED", 200)
    assert changed(before, after, "monid_runs_ended") == {
        (
            "monid_runs_ended_total",
            labels(
                provider="apify", endpoint="/apidojo/tweet-scraper", mode="live", status="COMPLETED", http_class="2xx"
            ),
        ): 1
    }
    checks = RunEvent.objects.filter(run_id=run_id, kind="checked").count()
    assert checks >= 1
    calls = {
        dict(key[1])["operation"]: delta
        for key, delta in changed(before, after, "monid_provider_request_duration_seconds_count").items()
    }
    assert calls == {"POST /v2/acts/{id}/runs": 1, "GET /v2/actor-runs/{id}": checks, "GET /v2/datasets/{id}/items": 1}
    assert not [key for key in after if run.provider_run_id in str(key) or run_id in str(key)]


def test_requests_count_by_url_pattern_and_status_never_by_path(client, alice_key):
    before = scrape(client)
    assert client.get("/v1/no-such-route").status_code == 404
    assert client.get("/no/such/page/").status_code == 404
    unknown_run = "01HXYZ1234567890ABCDEFGHJK"
    assert client.get(f"/v1/runs/{unknown_run}", HTTP_AUTHORIZATION=f"Bearer {alice_key}").status_code == 404
    after = scrape(client)

    assert changed(before, after, "monid_http_requests_total") == {
        ("monid_http_requests_total", labels(route="^v1(/|$)", method="GET", status="404")): 1,
        ("monid_http_requests_total", labels(route="unrouted", method="GET", status="404")): 1,
        ("monid_http_requests_total", labels(route="v1/runs/<str:run_id>", method="GET", status="404")): 1,
        # the scrape before this one, counted once it was answered
        ("monid_http_requests_total", labels(route="metrics", method="GET", status="200")): 1,
    }
    assert unknown_run not in str(after)


def test_a_made_up_method_is_counted_as_other(client):
    before = scrape(client)
    client.generic("BREW", "/v1/endpoints")
    after = scrape(client)
    assert (
        value(after, "monid_http_requests_total", route="v1/endpoints", method="other", status="401")
        - value(before, "monid_http_requests_total", route="v1/endpoints", method="other", status="401")
        == 1
    )


def test_the_reconcilers_task_counts_the_runs_it_resumed(client, alice_key, task_queue):
    run_id = post_run(client, alice_key, TWEETS).json()["runId"]
    assert runs_dispatch() == 1
    task_queue.purge()  # the task died with its worker
    Run.objects.filter(pk=run_id).update(heartbeat_at=timezone.now() - datetime.timedelta(minutes=3))
    before = scrape(client)
    assert reconcile_runs()["resumed"] == 1
    after = scrape(client)
    assert changed(before, after, "monid_reconciler") == {("monid_reconciler_runs_total", labels(action="resumed")): 1}


def test_the_gauges_are_read_from_the_runs_the_queue_and_the_wallets(client, alice_key, bob_key, task_queue):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        first = post_run(client, alice_key, TWEETS).json()["runId"]
        clock.shift(10)
        post_run(client, bob_key, TWEETS)
        post_run(client, alice_key, PDL_MATCH)  # ended at once: not in flight, and not yet settled
        clock.shift(5)
        unsettled = scrape(client)
        runs_settle_all()  # its hold given back
        clock.shift(27)
        waiting = scrape(client)
        assert runs_dispatch() == 2  # both, in one task
        clock.shift(8)
        queued = scrape(client)
        assert value(queued, "monid_queue_tasks") == 1 == task_queue.size()

    wallets = Wallet.objects.aggregate(balance=Sum("balance_micros"), held=Sum("held_micros"))
    assert Run.objects.get(pk=first).held_micros > 0 and wallets["held"] == 2 * Run.objects.get(pk=first).held_micros
    for samples in (waiting, queued):
        assert value(samples, "monid_runs_in_flight") == 2 == Run.objects.exclude(status__in=Run.TERMINAL).count()
        assert value(samples, "monid_wallets_balance_micros") == wallets["balance"]
        assert value(samples, "monid_wallets_held_micros") == wallets["held"]
        assert value(samples, "monid_queue_up") == 1
    assert (value(unsettled, "monid_runs_to_settle"), value(unsettled, "monid_settlement_lag_seconds")) == (1, 5)
    assert (value(waiting, "monid_runs_to_settle"), value(waiting, "monid_settlement_lag_seconds")) == (0, 0)
    assert (value(waiting, "monid_runs_due"), value(waiting, "monid_runs_due_oldest_seconds")) == (2, 42)
    assert (value(waiting, "monid_queue_tasks"), value(waiting, "monid_queue_oldest_task_age_seconds")) == (0, 0)
    assert (value(queued, "monid_runs_due"), value(queued, "monid_runs_due_oldest_seconds")) == (0, 0)
    assert value(queued, "monid_queue_oldest_task_age_seconds") == 8


@pytest.mark.django_db(transaction=True)
def test_a_deployments_processes_add_up_their_counts_and_gunicorn_clears_out_those_of_dead_ones(
    tmp_path, emulators, settings, alice_key
):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    left_behind = metrics_dir / f"counter_{int(dead.stdout)}.db"  # a process of the last start, gone since
    left_behind.write_bytes(b"")
    env = deployment_env(
        database_url=database_url(connection.settings_dict),
        redis_url=isolated_redis(settings.REDIS_URL),
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        MONID_METRICS_TOKEN=TOKEN,
    )
    with Deployment(env, tmp_path) as deployment:
        deployment.use_emulators(emulators.url)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        deployment.start(
            "web",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "monid_site.wsgi",
                "--config",
                "monid_site/gunicorn_conf.py",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
            ],
        )
        deployment.manage("worker", "qcluster")  # which dispatches the runs too
        wait_until(lambda: _answers(f"{url}/v1/no-such-route"), what="the web server")
        assert not left_behind.exists()

        response = requests.post(
            f"{url}/v1/run", json=TWEETS, headers={"Authorization": f"Bearer {alice_key}"}, timeout=30
        )
        assert response.status_code == 202
        run = Run.objects.filter(pk=response.json()["runId"])
        wait_until(lambda: run.filter(status__in=Run.TERMINAL).exists(), seconds=60, what="the run to end")
        for _ in range(20):  # gunicorn's two workers share these
            assert requests.get(f"{url}/v1/endpoints", timeout=10).status_code == 401
        samples = parse(requests.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).text)

    # The run ended in a qcluster worker, its request was answered by gunicorn: one scrape of one process has both.
    assert (
        value(
            samples,
            "monid_runs_ended_total",
            provider="apify",
            endpoint="/apidojo/tweet-scraper",
            mode="live",
            status="COMPLETED",
            http_class="2xx",
        )
        == 1
    )
    assert (
        value(
            samples,
            "monid_provider_request_duration_seconds_count",
            provider="apify",
            operation="POST /v2/acts/{id}/runs",
            outcome="2xx",
        )
        == 1
    )
    assert value(samples, "monid_http_requests_total", route="v1/run", method="POST", status="202") == 1
    assert value(samples, "monid_http_requests_total", route="v1/endpoints", method="GET", status="401") == 20
    assert len({path.stem.rpartition("_")[2] for path in metrics_dir.glob("*.db")}) >= 2  # a file per process


def _answers(url: str) -> bool:
    """Whether the server answers yet; its first answer may be slow on a busy machine."""
    try:
        return requests.get(url, timeout=30).status_code > 0
    except requests.ConnectionError:
        return False
