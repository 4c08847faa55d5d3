"""Every /v1 route refuses a missing, wrong or revoked key with 401, and hides another workspace's objects."""

import json

import pytest

from billing.services import api_key_create, api_key_revoke
from runs.models import Run

pytestmark = pytest.mark.django_db

RUN_BODY = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}}
ROUTES = [
    ("post", "/v1/run", RUN_BODY),
    ("get", "/v1/runs", None),
    ("get", "/v1/runs/{run_id}", None),
    ("post", "/v1/runs/{run_id}/stop", None),
    ("get", "/v1/api-keys", None),
    ("patch", "/v1/api-keys/alice-live", {"label": "renamed"}),
    ("delete", "/v1/api-keys/alice-live", None),
    ("get", "/v1/wallet/balance", None),
]


@pytest.fixture
def alice_run(client, alice_key):
    return client.post("/v1/run", data=json.dumps(RUN_BODY), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {alice_key}").json()["runId"]


@pytest.fixture
def revoked_key(alice):
    api_key, key = api_key_create(workspace=alice.workspaces.get(), label="old")
    api_key_revoke(api_key=api_key)
    return key


def request(client, method, url, body, authorization):
    kwargs = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return getattr(client, method)(url, **kwargs)


@pytest.mark.parametrize("method, url, body", ROUTES)
@pytest.mark.parametrize("who", ["no key", "wrong key", "revoked key", "not a bearer"])
def test_every_route_refuses_a_bad_key(client, alice_run, revoked_key, method, url, body, who):
    authorization = {"no key": None, "wrong key": "Bearer monid_live_" + "x" * 32,
                     "revoked key": f"Bearer {revoked_key}", "not a bearer": "Token abc"}[who]
    runs_before = Run.objects.count()
    response = request(client, method, url.format(run_id=alice_run), body, authorization)
    assert response.status_code == 401
    assert response.json()["code"] == 401 and response.json()["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert Run.objects.count() == runs_before


@pytest.mark.parametrize("method, url, body", [r for r in ROUTES if "{run_id}" in r[1] or "alice-live" in r[1]])
def test_every_route_hides_another_workspaces_objects(client, alice_run, bob_key, method, url, body):
    response = request(client, method, url.format(run_id=alice_run), body, f"Bearer {bob_key}")
    assert (response.status_code, response.json()["code"]) == (404, 404)
    assert Run.objects.get(pk=alice_run).status == "COMPLETED"


def test_an_unexpected_error_is_a_500_that_names_the_request_id_and_logs_the_details(client, alice_key, monkeypatch,
                                                                                       caplog):
    from runs import api

    def broken(**kwargs):
        raise RuntimeError("the secret internals")

    monkeypatch.setattr(api, "run_get_for_key", broken)
    client.raise_request_exception = False
    response = client.get("/v1/runs/01HXYZ1234567890ABCDEFGHJK", HTTP_AUTHORIZATION=f"Bearer {alice_key}",
                          HTTP_X_REQUEST_ID="req-500")
    assert response.status_code == 500
    body = response.json()
    assert body == {"code": 500, "message": body["message"]} and "req-500" in body["message"]
    assert "secret internals" not in response.content.decode()
    assert "the secret internals" in caplog.text and "req-500" in caplog.text
