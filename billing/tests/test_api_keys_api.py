import json

import pytest

from billing.api_keys import api_key_create
from billing.models import ApiKey

pytestmark = pytest.mark.django_db


def call(client, method, url, key, body=None):
    kwargs = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return getattr(client, method)(url, **kwargs)


def test_it_lists_the_workspaces_active_keys_without_their_secrets(client, alice, alice_key, alice_test_key, bob_key):
    response = call(client, "get", "/v1/api-keys", alice_key)
    assert response.status_code == 200
    items = response.json()["items"]
    assert [(i["label"], i["mode"]) for i in items] == [("alice-test", "test"), ("alice-live", "live")]
    assert set(items[0]) == {
        "label",
        "keyPrefix",
        "mode",
        "scopes",
        "expiresAt",
        "spendLimit",
        "createdAt",
        "lastUsedAt",
        "lastUsedIp",
        "lastUsedUserAgent",
    }
    assert (items[0]["scopes"], items[1]["scopes"]) == (["runs", "catalog"], ["runs", "catalog", "manage"])
    assert alice_test_key.startswith(items[0]["keyPrefix"]) and alice_test_key not in response.content.decode()
    assert items[1]["lastUsedAt"] is not None  # this very request used it
    assert response.json()["cursor"] is None


def test_the_key_list_is_paginated_by_cursor(client, alice, alice_key):
    workspace = alice.workspaces.get()
    for i in range(4):
        api_key_create(workspace=workspace, label=f"k{i}")
    first = call(client, "get", "/v1/api-keys?limit=2", alice_key).json()
    second = call(client, "get", f"/v1/api-keys?limit=2&cursor={first['cursor']}", alice_key).json()
    third = call(client, "get", f"/v1/api-keys?limit=2&cursor={second['cursor']}", alice_key).json()
    labels = [i["label"] for page in (first, second, third) for i in page["items"]]
    assert sorted(labels) == ["alice-live", "k0", "k1", "k2", "k3"] and len(set(labels)) == 5
    assert third["cursor"] is None


def test_a_cursor_from_another_list_is_refused(client, alice_key):
    call(
        client,
        "post",
        "/v1/run",
        alice_key,
        {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "a@example.com"}},
    )
    call(
        client,
        "post",
        "/v1/run",
        alice_key,
        {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "b@example.com"}},
    )
    runs_cursor = call(client, "get", "/v1/runs?limit=1", alice_key).json()["cursor"]
    response = call(client, "get", f"/v1/api-keys?cursor={runs_cursor}", alice_key)
    assert (response.status_code, response.json()["code"]) == (400, 400)


def test_it_renames_a_key(client, alice_key):
    response = call(client, "patch", "/v1/api-keys/alice-live", alice_key, {"label": "production agent"})
    assert response.status_code == 200
    assert response.json()["label"] == "production agent"
    assert ApiKey.objects.filter(label="production agent").exists()
    assert call(client, "get", "/v1/runs", alice_key).status_code == 200  # the key itself still works


def test_a_label_with_a_slash_or_space_is_addressable(client, alice, alice_key):
    api_key_create(workspace=alice.workspaces.get(), label="team/a b")
    response = call(client, "patch", "/v1/api-keys/team%2Fa%20b", alice_key, {"label": "team-ab"})
    assert (response.status_code, response.json()["label"]) == (200, "team-ab")


@pytest.mark.parametrize(
    "body, status, words",
    [
        ({"label": ""}, 400, ["label"]),
        ({"label": 5}, 400, ["label"]),
        ({}, 400, ["label", "expiresAt", "spendLimit"]),
        ({"label": "x", "mode": "test"}, 400, ["mode"]),
        ({"label": "alice-test"}, 409, ["already"]),
        ({"label": "x" * 101}, 400, ["label"]),
    ],
)
def test_a_bad_rename_is_refused_and_changes_nothing(client, alice_key, alice_test_key, body, status, words):
    response = call(client, "patch", "/v1/api-keys/alice-live", alice_key, body)
    assert response.status_code == status
    for word in words:
        assert word in response.json()["message"]
    assert ApiKey.objects.filter(label="alice-live").exists()


def test_deleting_a_key_revokes_it_for_the_very_next_request(client, alice_key):
    response = call(client, "delete", "/v1/api-keys/alice-live", alice_key)
    assert response.status_code == 204 and response.content == b""
    assert ApiKey.objects.get(label="alice-live").revoked_at is not None
    assert call(client, "get", "/v1/runs", alice_key).status_code == 401


def test_a_revoked_key_is_gone_from_the_list_and_cannot_be_renamed(client, alice_key, alice_test_key):
    call(client, "delete", "/v1/api-keys/alice-test", alice_key)
    assert [i["label"] for i in call(client, "get", "/v1/api-keys", alice_key).json()["items"]] == ["alice-live"]
    assert call(client, "patch", "/v1/api-keys/alice-test", alice_key, {"label": "again"}).status_code == 404
    assert call(client, "delete", "/v1/api-keys/alice-test", alice_key).status_code == 404


def test_another_workspaces_key_is_not_found(client, alice_key, bob_key):
    assert call(client, "patch", "/v1/api-keys/bob-live", alice_key, {"label": "mine"}).status_code == 404
    assert call(client, "delete", "/v1/api-keys/bob-live", alice_key).status_code == 404
    assert ApiKey.objects.get(label="bob-live").revoked_at is None
