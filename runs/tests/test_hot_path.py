"""What keeps a synchronous run fast (issue 9) without loosening anything: keys verified from the shared cache and
refused at once when revoked, in every process; a fixed number of queries per run; schemas compiled once per
version; catalog edits seen by the next run."""

import json
import os
import re
import subprocess
import sys

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.harness import BASE_DIR, database_url
from billing.api_keys import api_key_create, api_key_revoke
from providers.models import Endpoint
from providers.services import catalog_save
from runs import services

TRANSACTION = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "SET"}  # statements that move no data
PDL_MATCH = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}}


def post_run(client, key, body, **headers):
    return client.post(
        "/v1/run", data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}", **headers
    )


@pytest.mark.django_db
def test_a_key_used_a_moment_ago_is_verified_without_reading_its_row(client, alice_key):
    assert post_run(client, alice_key, PDL_MATCH).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert post_run(client, alice_key, PDL_MATCH).status_code == 200
    assert not [query["sql"] for query in queries if "billing_apikey" in query["sql"]]


@pytest.mark.django_db
def test_a_sync_run_takes_as_many_queries_whatever_it_returns(client, alice_key):
    """No query per result: a search answering 25 people costs what an enrichment answering one does, with or
    without an Idempotency-Key."""
    search = {
        "provider": "pdl",
        "endpoint": "/person/search",
        "input": {"sql": "SELECT * FROM person WHERE job_title='engineer'", "size": 25},
    }
    post_run(client, alice_key, PDL_MATCH)  # the key, the endpoints and the rollup rows exist from here on
    post_run(client, alice_key, search)
    counts = []
    for body, headers in ((PDL_MATCH, {}), (search, {}), (search, {"HTTP_IDEMPOTENCY_KEY": "once"})):
        with CaptureQueriesContext(connection) as queries:
            response = post_run(client, alice_key, body, **headers)
        assert response.status_code == 200 and response.json()["providerResponse"]["httpStatus"] == 200
        counts.append(len([query for query in queries if query["sql"].split()[0].upper() not in TRANSACTION]))
    assert response.json()["resultCount"] == 25
    # The Idempotency-Key adds its claim's INSERT, and the UPDATE pointing it at the run, and nothing else.
    assert counts[0] == counts[1] and counts[2] == counts[1] + 2, counts


@pytest.mark.django_db
def test_a_live_sync_run_writes_its_run_and_hold_then_its_end_and_reads_no_control_where_there_is_none(
    client, alice_key
):
    post_run(client, alice_key, PDL_MATCH)  # the key and the endpoint are kept from here on
    with CaptureQueriesContext(connection) as queries:
        assert post_run(client, alice_key, PDL_MATCH).json()["status"] == "COMPLETED"
    data = [
        re.match(r'(\w+)\s+(?:INTO\s+)?"?(\w+)', query["sql"]).groups()
        for query in queries
        if query["sql"].split()[0].upper() not in TRANSACTION
    ]
    # The rate limit's window row is its own (in Redis, where there is one): see billing/ratelimit.py.
    ours = [
        (verb.upper(), table)
        for verb, table in data
        if table.startswith(("runs_", "billing_")) and table != "billing_requestwindow"
    ]
    assert ours == [
        ("INSERT", "runs_run"),
        ("INSERT", "billing_ledgerentry"),
        ("UPDATE", "billing_wallet"),
        ("UPDATE", "runs_run"),
        ("INSERT", "runs_runevent"),
    ], ours


@pytest.mark.django_db
def test_a_schema_is_compiled_once_and_an_edited_one_applies_to_the_next_run(client, alice_key, operator):
    services._schema_validator.cache_clear()
    for email in ("a@example.com", "b@example.com", "c@example.com"):
        assert post_run(client, alice_key, {**PDL_MATCH, "input": {"email": email}}).status_code == 200
    assert services._schema_validator.cache_info().misses == 1

    endpoint = Endpoint.objects.get(path="/person/enrich")
    endpoint.input_schema = {**endpoint.input_schema, "required": ["email", "company"]}
    catalog_save(user=operator, entry=endpoint)
    response = post_run(client, alice_key, PDL_MATCH)
    assert response.status_code == 400 and "'company' is a required property" in response.json()["message"]
    assert services._schema_validator.cache_info().misses == 2


@pytest.mark.django_db
def test_an_endpoint_disabled_in_the_catalog_is_refused_by_the_very_next_run(client, alice_key, operator):
    assert post_run(client, alice_key, PDL_MATCH).status_code == 200
    endpoint = Endpoint.objects.get(path="/person/enrich")
    endpoint.enabled = False
    catalog_save(user=operator, entry=endpoint)
    response = post_run(client, alice_key, PDL_MATCH)
    assert response.status_code == 404 and "no enabled endpoint '/person/enrich'" in response.json()["message"]


@pytest.mark.django_db(transaction=True)
def test_a_revoked_key_is_refused_at_once_by_another_process_that_had_it_cached(alice, catalog):
    api_key, key = api_key_create(workspace=alice.workspaces.get(), label="agent", mode="test")

    def verified_in_another_process() -> bool:
        script = (
            "import os; from billing.api_keys import api_key_authenticate as verify; "
            "print('verified' if verify(key=os.environ['MONID_TEST_KEY']) else 'refused')"
        )
        env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict), "MONID_TEST_KEY": key}
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", script],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.split()[-1] == "verified"

    assert verified_in_another_process()  # and now kept in the shared cache for a minute
    api_key_revoke(api_key=api_key)
    assert not verified_in_another_process()
