"""The probes: /healthz (the process answers) and /readyz (database, cache, broker and a live worker)."""

import pytest
from django.db import OperationalError, connection
from django_q.signing import SignedPackage
from django_q.status import Stat, Status

from runs.queue import broker

pytestmark = pytest.mark.django_db

CLOSED_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: a cache that is down


@pytest.fixture
def worker_reporting():
    """A qcluster's report in the broker's cache, as a running `manage.py qcluster` leaves every few seconds."""
    status = Status(pid=4242, cluster_id="cluster-one")
    status.workers, status.status = [1, 2], "Idle"
    broker().set_stat(Stat.get_key("cluster-one"), SignedPackage.dumps(status, True), 600)


def test_healthz_answers_ok_without_a_key_or_a_session(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]
    assert "Set-Cookie" not in response and "Cookie" not in response.get("Vary", "")


def test_readyz_answers_ok_with_each_part_when_a_worker_reports(client, worker_reporting):
    response = client.get("/readyz")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok", "workers": "ok"},
    }
    assert "no-store" in response["Cache-Control"]


def test_readyz_answers_503_naming_the_workers_when_none_reports(client):
    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["code"] == 503
    assert body["message"] == (
        "Not ready: workers: no worker (manage.py qcluster) has reported in the last few seconds."
    )
    assert body["checks"]["database"] == "ok" and body["checks"]["workers"] != "ok"


def test_readyz_answers_503_naming_the_cache_when_it_is_down(client, settings, worker_reporting):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CLOSED_REDIS}}

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert "cache: did not answer (ConnectionError)" in body["message"]
    assert body["checks"]["cache"] == "did not answer (ConnectionError)" and body["checks"]["database"] == "ok"
    assert "6379" not in response.content.decode() and ":1/" not in response.content.decode()


def test_readyz_costs_a_handful_of_queries(client, worker_reporting, django_assert_max_num_queries):
    # SELECT 1; with the ORM broker, the cache table also serves the cache's read and the clusters' reports, which
    # django-q2 reads and writes back (a few statements, with a savepoint): the same however big the tables grow
    with django_assert_max_num_queries(10):
        assert client.get("/readyz").status_code == 200


def test_healthz_and_readyz_are_answered_over_plain_http_when_https_is_enforced(client, settings, worker_reporting):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    redirected = client.get("/login/")
    assert redirected.status_code == 301 and redirected["Location"] == "https://testserver/login/"


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_the_probes_take_only_get_and_head(client, path):
    assert client.post(path).status_code == 405


def test_readyz_answers_503_naming_the_database_when_it_fails(client, worker_reporting):
    def database_gone(execute, sql, params, many, context):
        if sql == "SELECT 1":
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(database_gone):
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "did not answer (OperationalError)"
    assert "server closed" not in response.content.decode()
