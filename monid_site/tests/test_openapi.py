"""The OpenAPI document is generated from the code, and a schema-driven fuzz run holds the API to it."""

import pytest
import schemathesis
from django.core import signals as signal
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from monid_site.wsgi import application

schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", application)


def test_the_document_lists_every_route_with_its_error_statuses(client):
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert set(document["paths"]) == {
        "/v1/run",
        "/v1/runs",
        "/v1/runs/{run_id}",
        "/v1/runs/{run_id}/stop",
        "/v1/api-keys",
        "/v1/api-keys/{label}",
        "/v1/wallet/balance",
        "/v1/controls/workspace/budgets",
        "/v1/controls/workspace/budgets/{control_id}",
        "/v1/controls/workspace/run-caps",
        "/v1/controls/workspace/run-caps/{control_id}",
        "/v1/endpoints",
        "/v1/discover",
        "/v1/inspect",
        "/v1/auth/whoami",
        "/v1/auth/workspaces",
        "/v1/resources",
        "/v1/resources/{resource_id}",
        "/v1/resources/{resource_id}/events",
        "/v1/resources/{resource_id}/external/{kind}",
        "/v1/resources/{resource_id}/release",
        "/public/v1/stats",
        "/public/v1/providers",
        "/public/v1/providers/{provider}/endpoints",
        "/public/v1/providers/{provider}/endpoints/{endpoint}",
        "/public/v1/search",
    }
    create = document["paths"]["/v1/run"]["post"]
    assert {"200", "202", "400", "401", "402", "404", "415", "429", "500"} <= set(create["responses"])
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert "security" not in document["paths"]["/public/v1/search"]["get"]
    assert document["paths"]["/v1/discover"]["post"]["security"] == [{"apiKey": []}]


def test_the_docs_page_is_served_from_our_own_static_files(client):
    response = client.get("/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/v1/openapi.json" in page
    assert "cdn" not in page.lower() and "https://" not in page


@pytest.fixture
def connection_kept_across_requests():
    """Django closes the database connection after each WSGI request, and with it the test's transaction;
    its own test client disconnects that signal, and so do we while schemathesis calls the app in-process."""
    signal.request_started.disconnect(close_old_connections)
    signal.request_finished.disconnect(close_old_connections)
    yield
    signal.request_started.connect(close_old_connections)
    signal.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@pytest.mark.django_db
def test_no_request_makes_the_api_fail_or_answer_off_schema(case, alice_key, connection_kept_across_requests):
    # Every other built-in check runs (no 5xx, documented statuses and shapes, invalid data refused, auth not
    # ignored). "Schema-valid data is accepted" cannot hold: a cursor is only valid if we signed it, and a run's
    # input is checked against its endpoint's own JSON Schema, which no single OpenAPI document can carry.
    # A key is added to every case but one whose headers were made invalid on purpose (its Authorization left
    # out, say), which must be refused as sent.
    headers = {} if case.meta.is_negative_at(ParameterLocation.HEADER) else {"Authorization": f"Bearer {alice_key}"}
    case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])
