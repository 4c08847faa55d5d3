"""`manage.py doctor` on this suite's installation (SQLite and the ORM broker, or PostgreSQL and Redis): one line per
check, and exit 1 when any finds a problem."""

import datetime
import io
import json
import re

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from django_q.models import Schedule
from django_q.signing import SignedPackage
from django_q.status import Stat, Status

from providers.models import Provider
from providers.services import provider_credential_set
from runs.queue import broker

pytestmark = pytest.mark.django_db

CHECKS = ["database", "broker", "workers", "schedules", "dispatcher", "providers", "clock", "disk"]


@pytest.fixture
def healthy(catalog):
    """A qcluster reporting and the schedules just taken, as on an installation whose processes all run."""
    status = Status(pid=4242, cluster_id="cluster-one")
    status.workers, status.status = [1, 2, 3, 4], "Idle"
    broker().set_stat(Stat.get_key("cluster-one"), SignedPackage.dumps(status, True), 600)
    Schedule.objects.filter(func__startswith="runs.tasks.").update(next_run=timezone.now())


def doctor(*args) -> tuple[dict, bool]:
    """Each check's line, by check, and whether the command ended with a problem (exit 1)."""
    out = io.StringIO()
    try:
        call_command("doctor", *args, stdout=out)
        failed = False
    except CommandError:
        failed = True
    lines = dict(line.split(maxsplit=1) for line in out.getvalue().splitlines())
    assert list(lines) == CHECKS
    return lines, failed


def test_a_healthy_installation_passes_every_check(healthy):
    lines, failed = doctor("--min-free-gb", "0")

    assert not failed, lines
    assert all(line.startswith(("ok: ", "skipped: ")) for line in lines.values())
    assert lines["database"] == f"ok: {connection.display_name} answers; every migration is applied"
    assert lines["workers"] == "ok: 1 cluster(s) reporting, 4 worker process(es)"
    assert lines["schedules"] == (
        "ok: the reconciler (every minute), provider health (every minute), output pruning (daily): present and on time"
    )


def test_no_worker_reporting_is_a_problem_that_says_to_start_one(catalog):
    lines, failed = doctor("--min-free-gb", "0")

    assert failed
    assert lines["workers"].startswith(
        "PROBLEM: no worker has reported in the last few seconds: start `python manage.py qcluster`"
    )


def test_a_dashboard_credential_counts_and_one_no_key_can_read_is_a_problem(healthy, settings, operator):
    settings.MONID_CREDENTIALS_KEY = Fernet.generate_key().decode()
    settings.PDL_API_KEY = ""
    provider_credential_set(user=operator, provider=Provider.objects.get(slug="pdl"), secret="pdl-in-the-dashboard")
    lines, failed = doctor("--min-free-gb", "0")
    assert "People Data Labs (PDL_API_KEY)" in lines["providers"].partition("test mode only")[0]
    settings.MONID_CREDENTIALS_KEY = Fernet.generate_key().decode()
    lines, failed = doctor("--min-free-gb", "0")
    assert failed and lines["providers"] == (
        "PROBLEM: The credential of provider 'pdl' set in the dashboard cannot be read: it was encrypted with a key "
        "MONID_CREDENTIALS_KEY no longer holds. An operator has to set it again on the provider's page in the "
        "catalog admin, or restore the key."
    )


def test_a_missing_provider_credential_is_named_and_no_credential_is_ever_printed(healthy, settings):
    token = settings.APIFY_TOKEN
    settings.PDL_API_KEY = ""

    lines, failed = doctor("--min-free-gb", "0")

    assert lines["providers"].startswith(
        "ok: credentials set: Apify (APIFY_TOKEN); test mode only until their credential is set: "
    )
    assert "People Data Labs (PDL_API_KEY)" in lines["providers"].partition("test mode only")[2]
    settings.APIFY_TOKEN = ""
    lines, failed = doctor("--min-free-gb", "0")
    assert failed and lines["providers"].startswith("PROBLEM: no switched-on provider has its credential")
    everything = json.dumps(lines)
    assert token not in everything and settings.SECRET_KEY not in everything


def test_an_async_run_left_due_says_the_dispatcher_is_not_running(healthy, client, alice_key):
    now = timezone.now()
    with time_machine.travel(now - datetime.timedelta(minutes=5), tick=False):
        response = client.post(
            "/v1/run",
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {alice_key}",
            data={"provider": "apify", "endpoint": "/apidojo/tweet-scraper", "input": {"searchTerms": ["AI"]}},
        )
    assert response.status_code == 202

    with time_machine.travel(now, tick=False):
        lines, failed = doctor("--min-free-gb", "0")

    assert failed
    assert lines["dispatcher"].startswith(
        "PROBLEM: 1 run(s) have had a step due for over 30 s (the oldest 300 s): "
        "start `python manage.py qcluster`, which dispatches them"
    )


def test_a_schedule_no_cluster_takes_is_overdue(healthy):
    now = timezone.now()
    Schedule.objects.filter(func="runs.tasks.prune_outputs").update(next_run=now - datetime.timedelta(hours=2))

    with time_machine.travel(now, tick=False):
        lines, failed = doctor("--min-free-gb", "0")

    assert failed
    assert lines["schedules"] == (
        "PROBLEM: overdue: output pruning (daily) by 7200 s. No cluster is taking "
        "schedules: is `python manage.py qcluster` running?"
    )


def test_a_deleted_schedule_is_missing(healthy):
    Schedule.objects.filter(func="runs.tasks.reconcile_runs").delete()

    lines, failed = doctor("--min-free-gb", "0")

    assert failed
    assert lines["schedules"] == (
        "PROBLEM: no schedule for the reconciler (every minute), function "
        "runs.tasks.reconcile_runs: add it in the admin (Django Q, Scheduled tasks)."
    )


def test_with_retention_off_the_pruning_schedule_is_not_needed(healthy, settings):
    settings.MONID_OUTPUT_RETENTION_DAYS = 0
    Schedule.objects.filter(func="runs.tasks.prune_outputs").delete()

    lines, failed = doctor("--min-free-gb", "0")

    assert not failed, lines
    assert (
        lines["schedules"] == "ok: the reconciler (every minute), provider health (every minute): present and on time"
    )


def test_a_clock_an_hour_ahead_of_the_servers_is_a_problem(healthy, settings):
    if connection.vendor == "sqlite" and not settings.REDIS_URL:
        pytest.skip("SQLite without Redis: there is no other clock to compare with")

    with time_machine.travel(timezone.now() + datetime.timedelta(hours=1)):
        lines, failed = doctor("--min-free-gb", "0")

    assert failed
    assert re.match(r"PROBLEM: this machine's clock is 3[56]\d\d\.\d s ahead of (the database|Redis)'s", lines["clock"])
    assert "NTP" in lines["clock"]


def test_sqlite_without_redis_says_there_is_no_other_clock(healthy, settings):
    if connection.vendor != "sqlite" or settings.REDIS_URL:
        pytest.skip("only SQLite without Redis shares this machine's clock alone")

    lines, _ = doctor("--min-free-gb", "0")

    assert lines["clock"] == (
        "skipped: the database is a local SQLite file, on this machine's clock, and there is no Redis."
    )


def test_too_little_free_disk_where_the_sqlite_file_lives_is_a_problem(healthy):
    lines, failed = doctor("--min-free-gb", "1000000000")

    if connection.vendor == "sqlite":
        assert failed
        assert lines["disk"].startswith("PROBLEM: only ")
        assert "GB free where the SQLite database lives" in lines["disk"]
    else:
        assert not failed, lines
        assert lines["disk"] == "skipped: PostgreSQL keeps its files on its own server: watch its disk there."
