"""`manage.py devserver` (what `make run` serves) end to end: gunicorn and a real django-q2 worker, which dispatches
the runs itself."""

import os
import signal
import subprocess
import sys

import pytest
import requests
from django.conf import settings

from bench.harness import free_port, wait_until
from conftest import catalog_examples


@pytest.fixture
def devserver(tmp_path):
    web = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'monid.sqlite3'}",
        "REDIS_URL": "",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    }
    manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
    for command in (["migrate", "-v0"], ["seed_catalog"]):
        subprocess.run([*manage, *command], env=env, check=True, capture_output=True)
    key = subprocess.run(
        [*manage, "create_api_key", "--workspace", "smoke", "--label", "smoke", "--mode", "test"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()[-1]
    process = subprocess.Popen(
        [*manage, "devserver", f"127.0.0.1:{web}"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{web}"

    def serving():
        try:
            return requests.get(f"{base}/login/", timeout=2).status_code == 200
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or its first request loads Django
            return False

    try:
        wait_until(serving)
        yield process, base, key
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # it stops its children; SIGKILL would leave them running
            process.wait(timeout=60)


def test_the_dev_server_runs_an_async_run_to_completion_and_stops_on_ctrl_c(devserver):
    process, base, key = devserver
    headers = {"Authorization": f"Bearer {key}"}
    accepted = requests.post(
        f"{base}/v1/run",
        headers=headers,
        timeout=10,
        json={
            "provider": "apify",
            "endpoint": "/apidojo/tweet-scraper",
            "input": {"searchTerms": ["AI"], "maxItems": 10},
        },
    )
    assert accepted.status_code == 202

    def completed():
        run = requests.get(f"{base}/v1/runs/{accepted.json()['runId']}", headers=headers, timeout=10).json()
        return run if run["status"] == "COMPLETED" else None

    run = wait_until(completed, seconds=180)  # generous: a loaded CI machine runs the worker slowly
    assert len(run["output"]) == 10 and run["providerResponse"]["httpStatus"] == 200

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/login/", timeout=2)


def test_with_only_web_and_worker_a_test_key_runs_every_catalog_endpoint(devserver):
    _, base, key = devserver
    headers = {"Authorization": f"Bearer {key}"}
    accepted = {}
    for provider, path, example in catalog_examples():
        response = requests.post(
            f"{base}/v1/run",
            headers=headers,
            timeout=30,
            json={"provider": provider, "endpoint": path, "input": example},
        )
        assert response.status_code in (200, 202), (path, response.text)
        accepted[path] = response.json()["runId"]

    def ended(run_id):
        run = requests.get(f"{base}/v1/runs/{run_id}", headers=headers, timeout=10).json()
        return run if run["status"] not in ("READY", "RUNNING") else None

    for path, run_id in accepted.items():
        run = wait_until(lambda run_id=run_id: ended(run_id), seconds=180)
        assert (run["status"], run["providerResponse"]) == ("COMPLETED", {"httpStatus": 200}), (path, run)
