import io
import random
import string
from collections import Counter

import pytest
from django.core.management import call_command

from billing.accounts import workspace_get_or_create
from billing.api_keys import api_key_authenticate, api_key_create, api_key_revoke
from billing.keys import generate_key, hash_key, looks_like_key
from billing.models import ApiKey, Workspace
from monid_site.errors import ApplicationError

pytestmark = pytest.mark.django_db


def test_keys_come_from_the_operating_systems_randomness_not_a_seedable_generator():
    random.seed(7)
    first = [generate_key("live") for _ in range(3)]
    random.seed(7)
    assert [generate_key("live") for _ in range(3)] != first


def test_every_character_of_a_key_is_drawn_uniformly_from_62():
    """A counter, a clock or a short seed shows as characters that repeat or positions that barely change: each
    position's chi-square over 62 symbols (61 degrees of freedom: 61 expected, about 11 either way) stays far
    below what any of those give, and 4,000 keys are all different."""
    secrets = [generate_key("test").removeprefix("monid_test_") for _ in range(4000)]
    assert len(set(secrets)) == len(secrets) and {len(secret) for secret in secrets} == {32}
    alphabet = string.ascii_letters + string.digits
    expected = len(secrets) / len(alphabet)
    for position in range(32):
        counts = Counter(secret[position] for secret in secrets)
        assert set(counts) <= set(alphabet)
        chi_square = sum((counts.get(symbol, 0) - expected) ** 2 / expected for symbol in alphabet)
        assert chi_square < 140, (position, chi_square)


def test_a_key_is_shown_once_and_only_its_prefix_and_hash_are_stored():
    workspace = workspace_get_or_create(slug="acme")
    api_key, key = api_key_create(workspace=workspace, label="ci", mode="test")
    assert key.startswith("monid_test_") and looks_like_key(key)
    row = ApiKey.objects.get(pk=api_key.pk)
    assert key.startswith(row.prefix) and len(row.prefix) < len(key) - 20
    assert row.key_hash == hash_key(key) and key not in row.key_hash
    assert not ApiKey.objects.filter(key_hash=key).exists()


def test_keys_carry_at_least_128_bits_of_randomness():
    workspace = workspace_get_or_create(slug="acme")
    keys = {api_key_create(workspace=workspace, label=f"k{i}")[1] for i in range(50)}
    assert len(keys) == 50
    secret = next(iter(keys)).removeprefix("monid_live_")
    assert len(secret) * 5.95 >= 128  # base62: log2(62) ~ 5.95 bits a character


def test_a_label_is_unique_within_a_workspace_but_not_across_workspaces():
    acme, globex = workspace_get_or_create(slug="acme"), workspace_get_or_create(slug="globex")
    api_key_create(workspace=acme, label="prod")
    api_key_create(workspace=globex, label="prod")
    with pytest.raises(ApplicationError) as caught:
        api_key_create(workspace=acme, label="prod")
    assert caught.value.status_code == 409


def test_a_revoked_key_no_longer_authenticates():
    api_key, key = api_key_create(workspace=workspace_get_or_create(slug="acme"), label="x")
    assert api_key_authenticate(key=key) == api_key
    api_key_revoke(api_key=api_key)
    assert api_key_authenticate(key=key) is None


def test_authentication_records_when_a_key_was_last_used():
    api_key, key = api_key_create(workspace=workspace_get_or_create(slug="acme"), label="x")
    assert api_key.last_used_at is None
    api_key_authenticate(key=key)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at is not None


def test_the_command_creates_the_workspace_and_prints_the_key_alone_on_the_last_line():
    out = io.StringIO()
    call_command(
        "create_api_key", "--workspace", "newco", "--label", "agent", "--mode", "test", stdout=out, stderr=io.StringIO()
    )
    key = out.getvalue().splitlines()[-1]
    assert looks_like_key(key) and key.startswith("monid_test_")
    assert ApiKey.objects.get(key_hash=hash_key(key)).workspace.slug == "newco"


def test_the_command_refuses_a_duplicate_label_with_a_clear_message():
    call_command(
        "create_api_key", "--workspace", "newco", "--label", "agent", stdout=io.StringIO(), stderr=io.StringIO()
    )
    with pytest.raises(Exception, match="already has a key labelled 'agent'"):
        call_command(
            "create_api_key", "--workspace", "newco", "--label", "agent", stdout=io.StringIO(), stderr=io.StringIO()
        )


def test_a_deleted_workspaces_keys_are_refused_at_once_not_served_from_the_cache(client, admin_client):
    workspace = workspace_get_or_create(slug="gone", name="Gone")
    _, key = api_key_create(workspace=workspace, label="doomed", mode="test")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert client.get("/v1/wallet/balance", **auth).status_code == 200  # and now kept in the shared cache
    response = admin_client.post(f"/admin/billing/workspace/{workspace.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not Workspace.objects.filter(slug="gone").exists()
    response = client.get("/v1/wallet/balance", **auth)
    assert (response.status_code, response.json()["code"]) == (401, 401)
