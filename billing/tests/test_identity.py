"""Identity: GET /v1/auth/whoami names the member who made the key and its workspace, and GET /v1/auth/workspaces
lists the key's workspace; every way of making a key records who made it."""

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from billing.accounts import workspace_get_or_create
from billing.api_keys import api_key_create
from billing.management.commands import demo_setup
from billing.models import ApiKey

pytestmark = pytest.mark.django_db


def get(client, url, key):
    return client.get(url, HTTP_AUTHORIZATION=f"Bearer {key}")


def member(username, workspace):
    user = get_user_model().objects.create_user(username, email=f"{username}@example.com")
    workspace.members.add(user)
    return user


def test_whoami_names_the_member_who_made_the_key_and_its_workspace(client, alice, alice_key):
    alice.email = "alice@example.com"
    alice.save()
    response = get(client, "/v1/auth/whoami", alice_key)
    assert response.status_code == 200
    assert response.json() == {
        "user": {"userId": "alice", "username": "alice", "email": "alice@example.com"},
        "workspace": {"workspaceId": "acme", "name": "Acme", "slug": "acme"},
    }


def test_whoami_answers_a_test_key_and_a_key_with_any_scope(client, alice, alice_test_key):
    catalog_only = api_key_create(
        workspace=alice.workspaces.get(), label="browser", scopes=["catalog"], created_by=alice
    )[1]
    for key in (alice_test_key, catalog_only):
        response = get(client, "/v1/auth/whoami", key)
        assert response.status_code == 200
        assert (response.json()["user"]["userId"], response.json()["workspace"]["slug"]) == ("alice", "acme")


def test_whoami_names_the_maker_even_when_another_member_came_first(client, alice):
    workspace = alice.workspaces.get()
    zoe = member("zoe", workspace)
    key = api_key_create(workspace=workspace, label="zoe's", created_by=zoe)[1]
    assert get(client, "/v1/auth/whoami", key).json()["user"] == {
        "userId": "zoe",
        "username": "zoe",
        "email": "zoe@example.com",
    }


def test_a_key_whose_maker_is_unknown_or_deleted_is_the_first_members(client, alice):
    workspace = alice.workspaces.get()
    zoe = member("zoe", workspace)
    unknown = api_key_create(workspace=workspace, label="unknown")[1]
    orphan = api_key_create(workspace=workspace, label="orphan", created_by=zoe)[1]
    assert get(client, "/v1/auth/whoami", orphan).json()["user"]["username"] == "zoe"  # the key is cached now
    zoe.delete()
    assert ApiKey.objects.get(label="orphan").created_by is None
    for key in (unknown, orphan):
        assert get(client, "/v1/auth/whoami", key).json()["user"]["username"] == "alice"


def test_a_workspace_without_members_has_a_user_of_nulls_which_monids_cli_can_show(client, db):
    key = api_key_create(workspace=workspace_get_or_create(slug="empty"), label="ops")[1]
    response = get(client, "/v1/auth/whoami", key)
    assert response.status_code == 200
    assert response.json() == {
        "user": {"userId": None, "username": None, "email": None},
        "workspace": {"workspaceId": "empty", "name": "empty", "slug": "empty"},
    }


def test_another_workspaces_key_names_only_its_own(client, alice_key, bob_key):
    body = get(client, "/v1/auth/whoami", bob_key).json()
    assert (body["user"]["username"], body["workspace"]["slug"]) == ("bob", "globex")
    assert "acme" not in json.dumps(body) and "alice" not in json.dumps(body)


def test_workspaces_lists_the_keys_workspace_alone_even_when_its_maker_has_more(client, alice, alice_key, bob):
    bob.workspaces.get().members.add(alice)
    response = get(client, "/v1/auth/workspaces", alice_key)
    assert response.status_code == 200
    assert response.json() == {"workspaces": [{"workspaceId": "acme", "name": "Acme", "slug": "acme"}]}


def test_workspaces_answers_a_test_key(client, alice_test_key):
    response = get(client, "/v1/auth/workspaces", alice_test_key)
    assert response.status_code == 200 and [w["slug"] for w in response.json()["workspaces"]] == ["acme"]


def test_the_keys_page_records_who_made_the_key(client, alice):
    zoe = member("zoe", alice.workspaces.get())
    client.force_login(zoe)
    client.post("/keys/", {"label": "zoe's", "mode": "live"})
    assert ApiKey.objects.get(label="zoe's").created_by == zoe


def test_a_key_made_with_the_api_is_the_creating_keys_makers(client, alice, alice_key):
    zoe = member("zoe", alice.workspaces.get())
    zoes_key = api_key_create(workspace=alice.workspaces.get(), label="zoe's", scopes=ApiKey.SCOPES, created_by=zoe)[1]
    response = client.post(
        "/v1/api-keys",
        data=json.dumps({"label": "made by zoe's key"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {zoes_key}",
    )
    assert response.status_code == 201
    assert ApiKey.objects.get(label="made by zoe's key").created_by == zoe


def create_key(*options):
    call_command("create_api_key", "--workspace", "acme", *options, stdout=io.StringIO(), stderr=io.StringIO())


def test_the_command_makes_a_key_for_the_member_named_or_else_the_first(alice):
    member("zoe", alice.workspaces.get())
    create_key("--label", "for zoe", "--user", "zoe")
    create_key("--label", "for nobody named")
    assert ApiKey.objects.get(label="for zoe").created_by.username == "zoe"
    assert ApiKey.objects.get(label="for nobody named").created_by == alice


def test_the_command_refuses_a_user_who_is_not_a_member(alice, bob):
    with pytest.raises(CommandError, match="'bob' is not a member of the workspace 'acme'"):
        create_key("--label", "k", "--user", "bob")
    assert not ApiKey.objects.filter(label="k").exists()


def test_the_command_makes_a_key_of_no_one_in_a_workspace_without_members(db):
    call_command("create_api_key", "--workspace", "newco", "--label", "k", stdout=io.StringIO(), stderr=io.StringIO())
    assert ApiKey.objects.get(label="k").created_by is None


def test_the_demo_key_is_the_demo_customers(settings, tmp_path, monkeypatch):
    settings.DEBUG = True
    monkeypatch.setattr(demo_setup, "KEY_FILE", tmp_path / "demo_key")
    call_command("demo_setup", stdout=io.StringIO())
    assert ApiKey.objects.get(label="demo").created_by.username == "demo"


@pytest.mark.django_db(transaction=True)
def test_the_migration_credits_each_earlier_key_to_its_workspaces_first_member(alice):
    executor = MigrationExecutor(connection)
    executor.migrate([("billing", "0010_apikey_expiry_limit_last_use")])
    old = executor.loader.project_state([("billing", "0010_apikey_expiry_limit_last_use")]).apps
    users = get_user_model().objects
    first, second = users.create_user("first"), users.create_user("second")
    shared = workspace_get_or_create(slug="shared")
    shared.members.add(second)  # joined first, but the lowest id is the first member
    shared.members.add(first)
    empty = workspace_get_or_create(slug="empty")
    keys = old.get_model("billing", "ApiKey").objects
    for workspace, label in ((alice.workspaces.get(), "acme-old"), (shared, "shared-old"), (empty, "empty-old")):
        keys.create(workspace_id=workspace.pk, label=label, prefix=label, key_hash=label)
    MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    assert {key.label: key.created_by for key in ApiKey.objects.all()} == {
        "acme-old": alice,
        "shared-old": first,
        "empty-old": None,
    }
