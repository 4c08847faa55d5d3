"""Provider health per endpoint: seeded run histories -> states and figures, sampling, and what agents see."""

import datetime
import io
import json

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import Schedule
from ulid import ULID

from billing.models import ApiKey
from providers.models import Endpoint, EndpointHealthSample
from runs.health import endpoint_health_compute, endpoint_health_sample
from runs.models import Run
from runs.tasks import sample_endpoint_health

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2025, 3, 10, 12, 30, tzinfo=datetime.UTC)
MINUTE = datetime.timedelta(minutes=1)
PDL = ("pdl", "/person/enrich")  # deadline 30 s: slow when its p95 passes 15 s
TWEETS = ("apify", "/apidojo/tweet-scraper")  # deadline 900 s


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def ended_runs(
    count=1, *, endpoint=PDL, status="COMPLETED", http=200, lasted=1.0, ended=MINUTE, key="alice-live", started=True
):
    """Runs built directly, each made `lasted` seconds before it ended, `ended` before NOW."""
    api_key = ApiKey.objects.get(label=key)
    completed = NOW - ended
    created = completed - datetime.timedelta(seconds=lasted)
    with time_machine.travel(created, tick=False):  # created_at is stamped as the row is inserted
        return Run.objects.bulk_create(
            Run(
                id=str(ULID.from_datetime(created)),
                workspace=api_key.workspace,
                api_key=api_key,
                endpoint=Endpoint.objects.get(provider__slug=endpoint[0], path=endpoint[1]),
                is_test=api_key.is_test,
                input={},
                status=status,
                provider_http_status=http,
                price_type="PER_CALL",
                price_micros=3000,
                started_at=created if started else None,
                completed_at=completed,
            )
            for _ in range(count)
        )


def sampled(endpoint=PDL):
    """The endpoint's health now (not stored), or None when it had no counted run."""
    return next(
        (
            sample
            for sample in endpoint_health_compute(now=timezone.now())
            if (sample.endpoint.provider.slug, sample.endpoint.path) == endpoint
        ),
        None,
    )


def post(client, url, body, key):
    return client.post(url, data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")


def inspected(client, key, endpoint=PDL):
    response = post(client, "/v1/inspect", {"provider": endpoint[0], "endpoint": endpoint[1]}, key)
    assert response.status_code == 200
    return response.json().get("metrics")


def metrics(status, p50, p95):
    return {"status": status, "runTimeMs": {"p50": p50, "p95": p95}}


# States and figures


def test_an_endpoint_whose_runs_all_succeed_is_healthy_with_its_nearest_rank_median_and_p95(alice_key):
    for n in range(1, 21):
        ended_runs(lasted=n / 2)

    sample = sampled()

    assert (sample.state, sample.counted, sample.successes) == ("healthy", 20, 20)
    assert (sample.median_ms, sample.p95_ms) == (5_000, 9_500)  # the 10th and the 19th shortest of 20


@pytest.mark.parametrize(
    "failures, state", [(1, "healthy"), (2, "degraded"), (10, "degraded"), (11, "outage"), (20, "outage")]
)
def test_the_success_rate_decides_between_healthy_degraded_and_outage(alice_key, failures, state):
    ended_runs(20 - failures)
    ended_runs(failures, http=500)

    sample = sampled()

    assert (sample.state, sample.counted, sample.successes) == (state, 20, 20 - failures)


@pytest.mark.parametrize("slow, state", [(1, "healthy"), (2, "degraded")])
def test_a_p95_duration_past_half_the_deadline_is_degraded(alice_key, slow, state):
    ended_runs(20 - slow, lasted=1)
    ended_runs(slow, lasted=16)  # PDL's deadline is 30 s

    sample = sampled()

    assert sample.state == state and sample.successes == 20
    assert sample.p95_ms == (16_000 if slow == 2 else 1_000)


@pytest.mark.parametrize(
    "http, state",
    [
        (404, "healthy"),
        (400, "healthy"),
        (402, "healthy"),
        (429, "outage"),
        (500, "outage"),
        (503, "outage"),
        (None, "healthy"),
    ],
)
def test_only_a_5xx_or_429_answer_fails_the_provider_other_4xx_are_the_clients_business(alice_key, http, state):
    ended_runs(10, http=http)

    assert sampled().state == state


@pytest.mark.parametrize("status", ["FAILED", "TIME_OUT"])
def test_our_run_failing_or_timing_out_fails_the_provider(alice_key, status):
    ended_runs(10, status=status, http=None)

    sample = sampled()

    assert (sample.state, sample.counted, sample.successes) == ("outage", 10, 0)


def test_stopped_and_blocked_runs_do_not_count_at_all(alice_key):
    ended_runs(5)
    ended_runs(20, status="STOPPED", http=None)
    ended_runs(20, status="BLOCKED", http=None)

    sample = sampled()

    assert (sample.state, sample.counted, sample.successes) == ("healthy", 5, 5)


def test_runs_in_flight_do_not_count(alice_key):
    ended_runs(5)
    Run.objects.filter(pk__in=[run.pk for run in ended_runs(20, http=None)]).update(status="RUNNING", completed_at=None)
    assert sampled().counted == 5


def test_test_mode_runs_never_count_they_reach_the_emulators_not_the_provider(alice_key, alice_test_key):
    ended_runs(20, http=500, key="alice-test")
    assert sampled() is None

    ended_runs(5)
    assert (sampled().state, sampled().counted) == ("healthy", 5)


def test_runs_that_ended_before_the_window_do_not_count(alice_key, settings):
    ended_runs(20, http=500, ended=16 * MINUTE)
    ended_runs(5, ended=14 * MINUTE)
    assert (sampled().state, sampled().counted) == ("healthy", 5)

    settings.MONID_HEALTH_WINDOW_MINUTES = 20
    assert (sampled().state, sampled().counted) == ("outage", 25)


def test_a_run_made_long_before_the_window_counts_when_it_ends_in_it(alice_key):
    ended_runs(5, endpoint=TWEETS, status="TIME_OUT", http=None, lasted=20 * 60)  # its deadline is 15 minutes

    sample = sampled(TWEETS)

    assert (sample.state, sample.counted, sample.median_ms) == ("outage", 5, 20 * 60 * 1000)


def test_a_run_never_started_lasted_from_its_creation(alice_key):
    ended_runs(5, status="FAILED", http=None, lasted=2.5, started=False)
    assert sampled().median_ms == 2500


def test_below_the_minimum_of_runs_the_state_is_unknown_whatever_they_say(alice_key, client):
    ended_runs(4, http=500)

    [sample] = endpoint_health_sample()

    assert (sample.state, sample.counted, sample.successes) == ("unknown", 4, 0)
    assert inspected(client, alice_key) is None


# Sampling


def test_each_sampling_stores_one_sample_per_endpoint_with_counted_runs(alice_key):
    ended_runs(5)
    ended_runs(5, endpoint=TWEETS, http=429)

    assert sample_endpoint_health() == 2

    assert sorted(EndpointHealthSample.objects.values_list("endpoint__path", "at", "state")) == [
        ("/apidojo/tweet-scraper", NOW, "outage"),
        ("/person/enrich", NOW, "healthy"),
    ]


def test_sampling_forgets_samples_older_than_a_week(alice_key, frozen):
    ended_runs(5)
    sample_endpoint_health()
    frozen.shift(datetime.timedelta(days=7))
    sample_endpoint_health()  # no run is left in its window: it stores nothing
    frozen.shift(MINUTE)

    sample_endpoint_health()

    assert not EndpointHealthSample.objects.exists()


def test_a_migration_schedules_the_sampling_every_minute_once(db):
    schedule = Schedule.objects.get(func="runs.tasks.sample_endpoint_health")
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == ("I", 1, -1)


def test_the_command_samples_stores_and_prints_the_table(alice_key):
    ended_runs(18)
    ended_runs(2, http=503, lasted=3)
    out = io.StringIO()

    call_command("provider_health", stdout=out)

    table = out.getvalue().splitlines()
    assert table[1].split() == ["endpoint", "state", "runs", "success", "median", "p95"]
    assert table[2].split() == ["pdl", "/person/enrich", "degraded", "20", "90.0%", "1000", "ms", "3000", "ms"]
    assert EndpointHealthSample.objects.get().state == "degraded"


def test_the_command_says_so_when_no_endpoint_had_a_run(db):
    out = io.StringIO()
    call_command("provider_health", stdout=out)
    assert "every endpoint is unknown" in out.getvalue()


# What agents see


def test_inspect_shows_the_newest_samplings_state_median_and_p95(client, alice_key, frozen):
    ended_runs(20, http=500)
    sample_endpoint_health()
    frozen.shift(MINUTE)
    ended_runs(20, lasted=0.5)  # half the window's runs now succeed: degraded
    sample_endpoint_health()

    assert inspected(client, alice_key) == metrics("degraded", 500, 1000)  # the 20th and 38th shortest of 40


def test_discover_shows_health_and_no_metrics_for_an_endpoint_without_a_sample(client, alice_key):
    ended_runs(5, lasted=0.25)
    sample_endpoint_health()

    response = post(client, "/v1/discover", {"query": "enrich a person by email", "limit": 10}, alice_key)

    assert response.status_code == 200
    health = {result["endpoint"]: result.get("metrics") for result in response.json()["results"]}
    assert health.pop("/person/enrich") == metrics("healthy", 250, 250)
    assert health and set(health.values()) == {None}


def test_once_its_runs_have_left_the_window_an_endpoint_is_stable_as_it_last_was(client, alice_key, frozen):
    ended_runs(5)
    sample_endpoint_health()
    frozen.shift(16 * MINUTE)

    [sample] = endpoint_health_sample()

    assert (sample.state, sample.counted, sample.median_ms) == ("unknown", 0, None)
    assert inspected(client, alice_key) == metrics("stable", 1000, 1000)


def test_an_endpoint_missing_from_the_newest_sampling_is_judged_by_its_last_known_state(client, alice_key):
    for endpoint, at in ((PDL, NOW - MINUTE), (TWEETS, NOW)):
        EndpointHealthSample.objects.create(
            endpoint=Endpoint.objects.get(path=endpoint[1]),
            at=at,
            state="outage",
            counted=5,
            successes=0,
            median_ms=700,
            p95_ms=900,
        )

    assert inspected(client, alice_key) == metrics("degraded", 700, 900)  # no live signal; errors of late
    assert inspected(client, alice_key, TWEETS) == metrics("outage", 700, 900)


def test_a_sampling_two_windows_old_is_stale_and_no_longer_a_live_signal(client, alice_key, frozen):
    ended_runs(5)
    sample_endpoint_health()
    frozen.shift(29 * MINUTE)  # no sampling since: no cluster is running
    assert inspected(client, alice_key) == metrics("healthy", 1000, 1000)

    frozen.shift(2 * MINUTE)

    assert inspected(client, alice_key) == metrics("stable", 1000, 1000)


def test_a_day_old_sampling_says_nothing(client, alice_key, frozen):
    ended_runs(5)
    sample_endpoint_health()
    frozen.shift(24 * 60 * MINUTE + MINUTE)

    assert inspected(client, alice_key) is None


def test_discover_reads_health_in_two_queries_however_many_results(client, alice_key):
    for endpoint in Endpoint.objects.select_related("provider"):
        ended_runs(5, endpoint=(endpoint.provider.slug, endpoint.path))
    sample_endpoint_health()

    with CaptureQueriesContext(connection) as queries:
        response = post(
            client, "/v1/discover", {"query": "person company website data scraper", "limit": 50}, alice_key
        )

    assert response.status_code == 200 and response.json()["count"] >= 5
    assert {result["metrics"]["status"] for result in response.json()["results"]} == {"healthy"}
    # How many endpoints are in outage (to fill the page past them), then the results' health.
    assert sum("providers_endpointhealthsample" in query["sql"] for query in queries) == 2


def test_the_openapi_document_describes_the_metrics(client):
    schemas = client.get("/v1/openapi.json").json()["components"]["schemas"]
    for name in ("DiscoverResult", "EndpointDetail"):
        assert schemas[name]["properties"]["metrics"] == {"$ref": "#/components/schemas/Metrics"}
        assert "metrics" not in schemas[name]["required"]
    assert "#/components/schemas/MetricsStatusEnum" in json.dumps(schemas["Metrics"]["properties"]["status"])
    assert set(schemas["MetricsStatusEnum"]["enum"]) == {"healthy", "stable", "degraded", "outage"}
    assert schemas["RunTime"]["properties"]["p95"]["type"] == "integer"
