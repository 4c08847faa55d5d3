"""Every /v1 route refuses a missing, wrong, revoked or expired key with 401, and hides another workspace's
objects."""

import datetime
import json

import pytest
from django.utils import timezone

from billing.api_keys import api_key_create, api_key_revoke
from billing.controls import spend_control_set
from billing.models import ApiKey, SpendControl
from runs.models import Run

pytestmark = pytest.mark.django_db

RUN_BODY = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}}
ROUTES = [
    ("post", "/v1/run", RUN_BODY),
    ("get", "/v1/runs", None),
    ("get", "/v1/runs/{run_id}", None),
    ("post", "/v1/runs/{run_id}/stop", None),
    ("get", "/v1/api-keys", None),
    ("post", "/v1/api-keys", {"label": "new"}),
    ("patch", "/v1/api-keys/alice-live", {"label": "renamed"}),
    ("patch", "/v1/api-keys/alice-live", {"spendLimit": None, "expiresAt": None}),
    ("delete", "/v1/api-keys/alice-live", None),
    ("get", "/v1/wallet/balance", None),
    ("get", "/v1/controls/workspace/budgets", None),
    ("get", "/v1/controls/workspace/budgets/{budget_id}", None),
    ("patch", "/v1/controls/workspace/budgets/{budget_id}", {"status": "PAUSED"}),
    ("get", "/v1/controls/workspace/run-caps", None),
    ("get", "/v1/endpoints", None),
    ("post", "/v1/discover", {"query": "twitter"}),
    ("post", "/v1/inspect", {"provider": "pdl", "endpoint": "/person/enrich"}),
    ("get", "/v1/auth/whoami", None),
    ("get", "/v1/auth/workspaces", None),
    ("get", "/v1/resources", None),
    ("get", "/v1/resources/res_1", None),
    ("get", "/v1/resources/res_1/events", None),
    ("get", "/v1/resources/res_1/external/console", None),
    ("post", "/v1/resources/res_1/release", None),
]
OWNED = [route for route in ROUTES if "{" in route[1] or "alice-live" in route[1]]


@pytest.fixture
def alice_run(client, alice_key):
    return client.post(
        "/v1/run", data=json.dumps(RUN_BODY), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {alice_key}"
    ).json()["runId"]


@pytest.fixture
def budget_id(alice):
    return spend_control_set(
        workspace=alice.workspaces.get(), kind=SpendControl.Kind.BUDGET, period="DAY", limit_micros=10**9
    ).pk


@pytest.fixture
def revoked_key(alice):
    api_key, key = api_key_create(workspace=alice.workspaces.get(), label="old")
    api_key_revoke(api_key=api_key)
    return key


@pytest.fixture
def expired_key(alice):
    """A key with every scope that expired a second ago (the service refuses to make one: it went by meanwhile)."""
    api_key, key = api_key_create(
        workspace=alice.workspaces.get(),
        label="expired",
        scopes=ApiKey.SCOPES,
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    ApiKey.objects.filter(pk=api_key.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    return key


def request(client, method, url, body, authorization):
    kwargs = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return getattr(client, method)(url, **kwargs)


def state_of():
    """What a refused request must leave as it was: runs, keys, controls."""
    keys = ApiKey.objects.order_by("pk").values_list("label", "revoked_at", "expires_at", "spend_limit_micros")
    return (
        list(Run.objects.order_by("pk").values_list("id", "status")),
        list(keys),
        list(SpendControl.objects.order_by("pk").values_list("id", "status", "limit_micros")),
    )


@pytest.mark.parametrize("method, url, body", ROUTES)
@pytest.mark.parametrize("who", ["no key", "wrong key", "revoked key", "expired key", "not a bearer"])
def test_every_route_refuses_a_bad_key(client, alice_run, budget_id, revoked_key, expired_key, method, url, body, who):
    authorization = {
        "no key": None,
        "wrong key": "Bearer monid_live_" + "x" * 32,
        "revoked key": f"Bearer {revoked_key}",
        "expired key": f"Bearer {expired_key}",
        "not a bearer": "Token abc",
    }[who]
    before = state_of()
    response = request(client, method, url.format(run_id=alice_run, budget_id=budget_id), body, authorization)
    assert response.status_code == 401
    assert response.json()["code"] == 401 and response.json()["message"]
    assert ("expired at" in response.json()["message"]) == (who == "expired key")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert state_of() == before


@pytest.mark.parametrize("method, url, body", OWNED)
def test_every_route_hides_another_workspaces_objects(
    client, alice_run, budget_id, alice_key, bob_key, method, url, body
):
    before = state_of()
    response = request(client, method, url.format(run_id=alice_run, budget_id=budget_id), body, f"Bearer {bob_key}")
    assert (response.status_code, response.json()["code"]) == (404, 404)
    assert state_of() == before
    # The victim's key still works, under its own label.
    assert (
        request(client, "get", "/v1/api-keys", None, f"Bearer {alice_key}").json()["items"][0]["label"] == "alice-live"
    )


def test_an_unexpected_error_is_a_500_that_names_the_request_id_and_logs_the_details(
    client, alice_key, monkeypatch, caplog
):
    from runs import api

    def broken(**kwargs):
        raise RuntimeError("the secret internals")

    monkeypatch.setattr(api, "run_get_for_key", broken)
    client.raise_request_exception = False
    response = client.get(
        "/v1/runs/01HXYZ1234567890ABCDEFGHJK", HTTP_AUTHORIZATION=f"Bearer {alice_key}", HTTP_X_REQUEST_ID="req-500"
    )
    assert response.status_code == 500
    body = response.json()
    assert body == {"code": 500, "message": body["message"]} and "req-500" in body["message"]
    assert "secret internals" not in response.content.decode()
    assert "the secret internals" in caplog.text and "req-500" in caplog.text
