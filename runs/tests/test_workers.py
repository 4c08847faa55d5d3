"""Real qcluster processes on this configuration's broker (Redis when REDIS_URL is set, else the database):
several share the runs, a 50 MB dataset stays within bounds, and SIGKILLed workers lose, repeat and
double-charge nothing. The processes use the suite's database and its emulators."""

import re

import pytest
import requests
from django.db import connection

from bench.crash import CLUSTERS, FAST_RECOVERY, crash_scenario, start_workers
from bench.harness import Deployment, database_url, deployment_env, isolated_redis, rss_peak_mb, wait_until
from runs.models import Run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def deployment(tmp_path, emulators, settings, tweets_per_call):
    # Priced per call: no hold caps the results read, so the byte cap is what bounds them.
    env = deployment_env(
        database_url=database_url(connection.settings_dict),
        redis_url=isolated_redis(settings.REDIS_URL),
        **FAST_RECOVERY,
    )
    with Deployment(env, tmp_path) as running:
        running.use_emulators(emulators.url)
        yield running


def post(url, key, *terms):
    body = {
        "provider": "apify",
        "endpoint": "/apidojo/tweet-scraper",
        "input": {"searchTerms": list(terms), "maxItems": 3},
    }
    response = requests.post(f"{url}/v1/run", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert response.status_code == 202
    return response.json()["runId"]


def steps_taken(deployment, name) -> set[str]:
    """The runs whose steps a cluster's workers took, as its log names them (the first run of each task)."""
    return set(re.findall(r"processing run (\w+)", (deployment.log_dir / f"{name}.log").read_text()))


def test_several_qclusters_share_the_runs_and_a_50_mb_dataset_stays_far_below_300_mb(deployment, alice_key):
    url = deployment.web(workers=1, threads=4)
    start_workers(deployment)
    # Each cluster starts a sentinel, which starts a monitor, a pusher and two workers: runs posted before both
    # clusters are up could all go to the first, on a busy machine.
    wait_until(lambda: all(len(deployment.descendants(name)) >= 5 for name in CLUSTERS), what="both clusters")
    run_ids = [post(url, alice_key, f"share-{i}", "emulator:duration-1500") for i in range(40)]
    big_id = post(url, alice_key, "big", "emulator:items-10000x5000")  # 10,000 items of 5 kB: 50 MB
    ours = Run.objects.filter(pk__in=[*run_ids, big_id])
    wait_until(lambda: not ours.exclude(status__in=Run.TERMINAL).exists(), seconds=120, what="every run to end")

    runs = Run.objects.filter(pk__in=run_ids)
    assert {(run.status, run.provider_http_status, run.result_count) for run in runs} == {("COMPLETED", 200, 3)}
    # Each cluster took steps of these runs. (Which one took a run's last step is a coin toss per task: a few
    # tasks carry the last steps of all 40, so both clusters may not appear among them.)
    assert all(set(run_ids) & steps_taken(deployment, name) for name in CLUSTERS)

    big = Run.objects.get(pk=big_id)
    assert (big.status, big.provider_http_status, big.output_truncated) == ("COMPLETED", 200, True)
    assert 0 < big.result_count == len(big.output) < 10_000
    assert big.calculated_cost_micros == big.reported_cost_micros == big.price_micros  # PER_CALL
    assert rss_peak_mb(int(big.worker.rsplit(":", 1)[1])) < 300


def test_sigkilled_workers_and_clusters_lose_no_run_and_start_or_charge_none_twice(deployment, alice_key, emulators):
    url = deployment.web(workers=1, threads=4)
    start_workers(deployment)
    result = crash_scenario(
        deployment,
        monid_url=url,
        emulators_url=emulators.url,
        key=alice_key,
        runs=30,
        rate=10,
        run_ms=1500,
        kill_every=1.0,
        log=lambda line: None,
    )
    assert sum(result["kills"].values()) >= 3
    assert (result["lost"], result["started twice"], result["charged twice"]) == (0, 0, 0)
    assert result["statuses"] == {"COMPLETED": 30}
    runs_charged, rolled_up = result["charged micros, runs vs rollup"]
    assert runs_charged == rolled_up == result["charged micros in the ledger"] == 30 * Run.objects.first().price_micros
    assert result["held micros never released"] == 0
