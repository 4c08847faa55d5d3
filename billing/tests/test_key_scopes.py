"""Key scopes and modes: a key does only what its scopes allow and sees only runs of its own mode, so a test key
handed to an agent can never revoke the owner's keys or loosen the workspace's spend controls."""

import json

import pytest
from django.core.management import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import URLPattern, URLResolver, get_resolver

from billing.api_keys import api_key_create
from billing.authentication import HasApiKey
from billing.controls import spend_control_set
from billing.keys import hash_key
from billing.models import ApiKey, SpendControl
from billing.tests.helpers import create_api_key
from monid_site.errors import ApplicationError
from runs.models import Run

pytestmark = pytest.mark.django_db

PDL = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}}


def call(client, key, method, url, body=None):
    kwargs = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return getattr(client, method)(url, **kwargs)


def key_of(alice, label, **options):
    return api_key_create(workspace=alice.workspaces.get(), label=label, **options)[1]


def test_a_test_key_cannot_revoke_the_live_key_which_still_works_and_keeps_its_label(client, alice_key, alice_test_key):
    response = call(client, alice_test_key, "delete", "/v1/api-keys/alice-live")
    assert (response.status_code, response.json()["code"]) == (403, 403)
    assert response.json()["message"].startswith(
        "This API key lacks the 'manage' scope, which managing keys, spend controls and the wallet needs."
    )
    victim = ApiKey.objects.get(key_hash=hash_key(alice_key))
    assert (victim.label, victim.revoked_at) == ("alice-live", None)
    assert call(client, alice_key, "post", "/v1/run", PDL).status_code == 200
    assert call(client, alice_test_key, "patch", "/v1/api-keys/alice-live", {"label": "pwned"}).status_code == 403
    assert ApiKey.objects.get(key_hash=hash_key(alice_key)).label == "alice-live"


def test_a_test_key_cannot_loosen_a_budget(client, alice, alice_key, alice_test_key):
    budget = spend_control_set(workspace=alice.workspaces.get(), kind="BUDGET", period="DAY", limit_micros=5_000_000)
    url = f"/v1/controls/workspace/budgets/{budget.pk}"
    body = {"status": "PAUSED", "limitAmount": {"currency": "USD", "value": 1_000_000_000, "unit": "DOLLAR"}}
    response = call(client, alice_test_key, "patch", url, body)
    assert response.status_code == 403 and "'manage' scope" in response.json()["message"]
    assert call(client, alice_test_key, "get", url).status_code == 403
    budget.refresh_from_db()
    assert (budget.status, budget.limit_micros) == (SpendControl.Status.ACTIVE, 5_000_000)
    assert call(client, alice_key, "get", url).status_code == 200


def test_new_keys_run_and_use_the_catalog_but_manage_nothing_unless_given(client, alice, alice_key):
    agent = key_of(alice, "agent")
    assert ApiKey.objects.get(label="agent").scope_list == ["runs", "catalog"]
    assert call(client, agent, "post", "/v1/run", PDL).status_code == 200
    assert call(client, agent, "post", "/v1/discover", {"query": "person by email"}).status_code == 200
    assert call(client, agent, "get", "/v1/wallet/balance").status_code == 200
    assert call(client, agent, "get", "/v1/api-keys").status_code == 403
    assert call(client, agent, "get", "/v1/controls/workspace/run-caps").status_code == 403
    admin = key_of(alice, "admin", scopes=["runs", "catalog", "manage"])
    assert call(client, admin, "get", "/v1/api-keys").status_code == 200


def test_a_missing_scope_is_a_403_naming_it(client, alice):
    runner, browser = key_of(alice, "runner", scopes=["runs"]), key_of(alice, "browser", scopes=["catalog"])
    response = call(client, runner, "post", "/v1/inspect", {"provider": "pdl", "endpoint": "/person/enrich"})
    assert (
        response.status_code == 403
        and "'catalog' scope, which discovering and inspecting endpoints needs" in response.json()["message"]
    )
    response = call(client, browser, "post", "/v1/run", PDL)
    assert response.status_code == 403 and "'runs' scope" in response.json()["message"]
    assert call(client, browser, "get", "/v1/runs").status_code == 403 and not Run.objects.exists()


def test_identity_answers_a_key_of_any_scope_and_resources_need_runs(client, alice):
    for scope in ApiKey.SCOPES:
        key = key_of(alice, scope, scopes=[scope])
        assert call(client, key, "get", "/v1/auth/whoami").status_code == 200
        assert call(client, key, "get", "/v1/auth/workspaces").status_code == 200
        assert call(client, key, "get", "/v1/resources").status_code == (200 if scope == "runs" else 403)


def test_a_test_key_never_has_manage(alice, client):
    with pytest.raises(ApplicationError, match="A test key cannot have the manage scope"):
        key_of(alice, "t", mode="test", scopes=["runs", "manage"])
    with pytest.raises(ApplicationError, match="not 'admin'"):
        key_of(alice, "t", scopes=["admin"])
    with pytest.raises(CommandError, match="A test key cannot have the manage scope"):
        create_api_key("--label", "t", "--mode", "test", "--scope", "manage")
    assert not ApiKey.objects.filter(label="t").exists()


def test_the_command_gives_manage_only_when_asked(alice):
    key = create_api_key("--label", "ops", "--scope", "runs", "--scope", "manage")
    create_api_key("--label", "plain")
    assert ApiKey.objects.get(label="ops").scope_list == ["runs", "manage"]
    assert ApiKey.objects.get(label="plain").scope_list == ["runs", "catalog"]
    assert ApiKey.objects.get(key_hash=hash_key(key)).label == "ops"


def test_the_keys_page_gives_manage_when_ticked_and_refuses_it_for_a_test_key(client, alice):
    client.force_login(alice)
    client.post("/keys/", {"label": "ops", "mode": "live", "manage": "on"})
    client.post("/keys/", {"label": "agent", "mode": "live"})
    response = client.post("/keys/", {"label": "sandbox", "mode": "test", "manage": "on"})
    assert response.status_code == 400 and "A test key cannot have the manage scope" in response.content.decode()
    assert {key.label: key.scopes for key in ApiKey.objects.all()} == {
        "ops": "runs catalog manage",
        "agent": "runs catalog",
    }
    assert "runs catalog manage" in client.get("/keys/").content.decode()


def test_a_key_sees_only_runs_of_its_own_mode(client, alice_key, alice_test_key, tweets_per_call):
    live = call(client, alice_key, "post", "/v1/run", PDL).json()["runId"]
    test = call(client, alice_test_key, "post", "/v1/run", PDL).json()["runId"]
    assert call(client, alice_test_key, "get", f"/v1/runs/{live}").status_code == 404
    assert call(client, alice_key, "get", f"/v1/runs/{test}").status_code == 404
    assert [run["runId"] for run in call(client, alice_test_key, "get", "/v1/runs").json()["items"]] == [test]
    assert [run["runId"] for run in call(client, alice_key, "get", "/v1/runs").json()["items"]] == [live]
    slow = call(
        client,
        alice_key,
        "post",
        "/v1/run",
        {"provider": "apify", "endpoint": "/apidojo/tweet-scraper", "input": {"searchTerms": ["emulator:slow"]}},
    ).json()["runId"]
    assert call(client, alice_test_key, "post", f"/v1/runs/{slow}/stop").status_code == 404
    assert Run.objects.get(pk=slow).status == Run.Status.RUNNING


def _views(resolver=None):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern)
        elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "cls"):
            yield pattern.callback.cls


def test_every_route_behind_a_key_names_the_scope_it_needs():
    guarded = [view for view in _views() if HasApiKey in view.permission_classes]
    assert len(guarded) >= 17
    for view in guarded:
        assert getattr(view, "scope", "none named") in (*ApiKey.SCOPES, None), view


@pytest.mark.django_db(transaction=True)
def test_keys_made_before_scopes_keep_what_they_could_do(alice):
    workspace = alice.workspaces.get()
    executor = MigrationExecutor(connection)
    executor.migrate([("billing", "0008_request_window")])
    old = executor.loader.project_state([("billing", "0008_request_window")]).apps.get_model("billing", "ApiKey")
    for label, mode in (("old-live", "live"), ("old-test", "test")):
        old.objects.create(workspace_id=workspace.pk, label=label, mode=mode, prefix=label, key_hash=label)
    MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    assert {key.label: key.scope_list for key in ApiKey.objects.all()} == {
        "old-live": ["runs", "catalog", "manage"],
        "old-test": ["runs", "catalog"],
    }
