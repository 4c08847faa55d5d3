"""A key's lifecycle: made by a manage key over the API (shown once), an expiry after which it gets 401, a spend
limit of its own, and where it was last used from, on the keys page."""

import datetime
import json

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import CommandError
from django.test import Client
from django.utils import timezone

from billing.api_keys import api_key_authenticate, api_key_create
from billing.keys import hash_key
from billing.models import ApiKey
from billing.tests.helpers import create_api_key

pytestmark = pytest.mark.django_db


def call(client, method, url, key, body=None, **headers):
    kwargs = {"HTTP_AUTHORIZATION": f"Bearer {key}", **headers}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return getattr(client, method)(url, **kwargs)


def later(**delta) -> str:
    return (timezone.now() + datetime.timedelta(**delta)).isoformat()


# Creating keys over the API


def test_a_manage_key_creates_a_key_shown_once_that_works_at_once(client, alice_key):
    response = call(client, "post", "/v1/api-keys", alice_key, {"label": "crawler"})
    assert response.status_code == 201 and response["Cache-Control"] == "no-store"
    body = response.json()
    key = body.pop("key")
    assert key.startswith(body["keyPrefix"]) and len(key) == len("monid_live_") + 32
    assert (body["label"], body["mode"], body["scopes"], body["expiresAt"], body["spendLimit"]) == (
        "crawler",
        "live",
        ["runs", "catalog"],
        None,
        None,
    )
    stored = ApiKey.objects.get(label="crawler")
    assert stored.key_hash == hash_key(key) and key not in str(list(ApiKey.objects.values()))
    assert call(client, "get", "/v1/runs", key).status_code == 200
    assert call(client, "get", "/v1/api-keys", key).status_code == 403  # no manage scope unless asked for
    assert key not in call(client, "get", "/v1/api-keys", alice_key).content.decode()


def test_a_key_is_created_with_its_mode_scopes_expiry_and_limit(client, alice_key):
    expiry = later(days=30)
    body = call(
        client,
        "post",
        "/v1/api-keys",
        alice_key,
        {
            "label": "ops",
            "mode": "live",
            "scopes": ["runs", "manage"],
            "expiresAt": expiry,
            "spendLimit": {"limitAmount": {"currency": "USD", "value": 25, "unit": "DOLLAR"}, "period": "WEEK"},
        },
    ).json()
    assert body["scopes"] == ["runs", "manage"]
    assert body["expiresAt"].startswith(expiry[:19])
    assert body["spendLimit"] == {"limitAmount": 25.0, "currency": "USD", "period": "WEEK"}
    stored = ApiKey.objects.get(label="ops")
    assert (stored.spend_limit_micros, stored.spend_period) == (25_000_000, "WEEK")


@pytest.mark.parametrize(
    "body, status, words",
    [
        ({}, 400, ["label"]),
        ({"label": "t", "mode": "test", "scopes": ["runs", "manage"]}, 400, ["test key cannot have the manage"]),
        ({"label": "t", "scopes": []}, 400, ["scopes"]),
        ({"label": "t", "scopes": ["admin"]}, 400, ["scopes"]),
        ({"label": "t", "secret": "x"}, 400, ["unknown field", "secret"]),
        ({"label": "t", "expiresAt": "2020-01-01T00:00:00Z"}, 400, ["expiresAt", "future"]),
        ({"label": "t", "expiresAt": "soon"}, 400, ["expiresAt"]),
        (
            {
                "label": "t",
                "spendLimit": {"limitAmount": {"currency": "USD", "value": 5, "unit": "DOLLAR"}, "period": "HOUR"},
            },
            400,
            ["period"],
        ),
        (
            {
                "label": "t",
                "spendLimit": {"limitAmount": {"currency": "USD", "value": -1, "unit": "DOLLAR"}, "period": "DAY"},
            },
            400,
            ["value"],
        ),
        (
            {
                "label": "t",
                "spendLimit": {"limitAmount": {"currency": "USD", "value": 10**15, "unit": "DOLLAR"}, "period": "DAY"},
            },
            400,
            ["spendLimit", "$1,000,000,000"],
        ),
        ({"label": "alice-live"}, 409, ["already has a key labelled"]),
    ],
)
def test_a_bad_creation_is_refused_and_makes_no_key(client, alice_key, body, status, words):
    response = call(client, "post", "/v1/api-keys", alice_key, body)
    assert (response.status_code, response.json()["code"]) == (status, status)
    for word in words:
        assert word in response.json()["message"]
    assert list(ApiKey.objects.values_list("label", flat=True)) == ["alice-live"]


def test_a_key_without_the_manage_scope_cannot_create_keys(client, alice, alice_test_key):
    _, runner = api_key_create(workspace=alice.workspaces.get(), label="runner")
    for key in (runner, alice_test_key):
        response = call(client, "post", "/v1/api-keys", key, {"label": "escalated", "scopes": ["manage"]})
        assert response.status_code == 403 and "'manage' scope" in response.json()["message"]
    assert not ApiKey.objects.filter(label="escalated").exists()


# Changing a key's expiry and limit


def test_a_key_gets_and_loses_an_expiry_and_a_limit(client, alice_key, alice_test_key):
    url = "/v1/api-keys/alice-test"
    body = call(
        client,
        "patch",
        url,
        alice_key,
        {
            "expiresAt": later(days=1),
            "spendLimit": {"limitAmount": {"currency": "USD", "value": 150, "unit": "CENT"}, "period": "MONTH"},
        },
    ).json()
    assert body["spendLimit"] == {"limitAmount": 1.5, "currency": "USD", "period": "MONTH"} and body["expiresAt"]
    assert body["label"] == "alice-test"  # what was not sent stays
    body = call(client, "patch", url, alice_key, {"spendLimit": None}).json()
    assert body["spendLimit"] is None and body["expiresAt"]  # the expiry stays
    body = call(client, "patch", url, alice_key, {"expiresAt": None}).json()
    assert body["expiresAt"] is None
    assert ApiKey.objects.filter(label="alice-test", expires_at=None, spend_limit_micros=None, spend_period="").exists()


def test_an_expiry_set_in_the_past_is_refused(client, alice_key, alice_test_key):
    response = call(client, "patch", "/v1/api-keys/alice-test", alice_key, {"expiresAt": later(seconds=-1)})
    assert response.status_code == 400 and "revoke it" in response.json()["message"]
    assert ApiKey.objects.get(label="alice-test").expires_at is None


# Expiry


def test_a_key_stops_working_when_it_expires_even_from_the_cache(client, alice, alice_key):
    _, key = api_key_create(
        workspace=alice.workspaces.get(), label="short", expires_at=timezone.now() + datetime.timedelta(hours=1)
    )
    assert call(client, "get", "/v1/runs", key).status_code == 200  # now it is in the shared cache
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=1, seconds=1), tick=False):
        response = call(client, "get", "/v1/runs", key)
    assert response.status_code == 401
    assert "This API key expired at" in response.json()["message"] and response["WWW-Authenticate"]


def test_extending_an_expired_key_lets_it_work_again_at_once(client, alice, alice_key):
    api_key, key = api_key_create(
        workspace=alice.workspaces.get(), label="short", expires_at=timezone.now() + datetime.timedelta(hours=1)
    )
    call(client, "get", "/v1/runs", key)
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=2), tick=False):
        assert call(client, "get", "/v1/runs", key).status_code == 401
        call(client, "patch", "/v1/api-keys/short", alice_key, {"expiresAt": later(days=1)})
        assert call(client, "get", "/v1/runs", key).status_code == 200


# Where a key was last used from


def test_a_key_records_its_last_address_and_user_agent_and_the_keys_page_shows_them(client, alice, alice_key):
    call(Client(), "get", "/v1/runs", alice_key, REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="crawler/2.1 (+ops)")
    api_key = ApiKey.objects.get(label="alice-live")
    assert (api_key.last_used_ip, api_key.last_used_user_agent) == ("203.0.113.9", "crawler/2.1 (+ops)")
    client.force_login(alice)
    page = client.get("/keys/").content.decode()
    assert "203.0.113.9" in page and "crawler/2.1 (+ops)" in page
    assert call(client, "get", "/v1/api-keys", alice_key).json()["items"][0]["lastUsedIp"] == "203.0.113.9"


def test_a_forged_forwarded_address_or_a_huge_user_agent_is_kept_harmlessly(alice, catalog, settings):
    settings.MONID_TRUSTED_PROXIES = 1
    _, key = api_key_create(workspace=alice.workspaces.get(), label="forwarded")
    response = call(Client(), "get", "/v1/runs", key, HTTP_X_FORWARDED_FOR="not an address", HTTP_USER_AGENT="x" * 5000)
    assert response.status_code == 200
    api_key = ApiKey.objects.get(label="forwarded")
    assert (api_key.last_used_ip, len(api_key.last_used_user_agent)) == (None, 200)


def test_the_last_use_is_recorded_at_most_once_a_minute_and_a_cached_key_never_reads_its_origin(alice, catalog):
    _, key = api_key_create(workspace=alice.workspaces.get(), label="busy")
    api_key_authenticate(key=key, origin=lambda: ("198.51.100.1", "first"))
    assert api_key_authenticate(key=key, origin=lambda: 1 / 0).label == "busy"
    cache.clear()  # past the cache, within the minute: found in the database, its last use not written again
    api_key_authenticate(key=key, origin=lambda: ("198.51.100.2", "second"))
    assert ApiKey.objects.get(label="busy").last_used_user_agent == "first"


# The dashboard


def test_a_key_is_created_in_the_dashboard_with_an_expiry_and_a_limit(client, alice, catalog):
    client.force_login(alice)
    response = client.post(
        "/keys/",
        {
            "label": "agent",
            "mode": "live",
            "expires_on": "2099-01-31",
            "spend_limit_usd": "12.50",
            "spend_period": "WEEK",
        },
        follow=True,
    )
    assert response.status_code == 200
    api_key = ApiKey.objects.get(label="agent")
    assert api_key.expires_at == datetime.datetime(2099, 1, 31, tzinfo=datetime.UTC)
    assert (api_key.spend_limit_micros, api_key.spend_period) == (12_500_000, "WEEK")
    page = response.content.decode()
    assert "2099-01-31 00:00:00 UTC" in page and "$12.500000 a week" in page


def test_a_key_without_a_limit_has_no_period(client, alice, catalog):
    client.force_login(alice)
    client.post("/keys/", {"label": "agent", "mode": "live", "spend_period": "WEEK"})
    assert ApiKey.objects.filter(label="agent", spend_limit_micros=None, spend_period="", expires_at=None).exists()


def test_the_edit_page_changes_the_limit_and_expiry_and_shows_them_first(client, alice, alice_key):
    client.force_login(alice)
    client.post(
        "/keys/alice-live/edit/",
        {"label": "alice-live", "expires_on": "2099-06-01", "spend_limit_usd": "3", "spend_period": "DAY"},
    )
    api_key = ApiKey.objects.get(label="alice-live")
    assert (api_key.spend_limit_micros, api_key.spend_period, api_key.expires_at.date().isoformat()) == (
        3_000_000,
        "DAY",
        "2099-06-01",
    )
    form = client.get("/keys/alice-live/edit/").content.decode()
    assert 'value="2099-06-01"' in form and 'value="3"' in form
    client.post("/keys/alice-live/edit/", {"label": "alice-live", "expires_on": "", "spend_limit_usd": ""})
    assert ApiKey.objects.filter(label="alice-live", expires_at=None, spend_limit_micros=None).exists()


def test_an_expiry_in_the_past_is_a_form_error(client, alice, alice_key):
    client.force_login(alice)
    response = client.post("/keys/alice-live/edit/", {"label": "alice-live", "expires_on": "2001-01-01"})
    assert response.status_code == 400 and "must be in the future" in response.content.decode()
    assert ApiKey.objects.get(label="alice-live").expires_at is None


def test_an_expired_key_is_marked_on_the_keys_page(client, alice, alice_key):
    ApiKey.objects.filter(label="alice-live").update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    client.force_login(alice)
    assert '<span class="badge bad">expired</span>' in client.get("/keys/").content.decode()


def test_the_command_makes_a_key_with_an_expiry_and_a_limit(alice, catalog):
    key = create_api_key(
        "--label", "batch", "--expires-at", "2099-01-31", "--spend-limit-usd", "7.5", "--period", "DAY"
    )
    api_key = ApiKey.objects.get(label="batch")
    assert hash_key(key) == api_key.key_hash
    assert (api_key.expires_at, api_key.spend_limit_micros, api_key.spend_period) == (
        datetime.datetime(2099, 1, 31, tzinfo=datetime.UTC),
        7_500_000,
        "DAY",
    )
    with pytest.raises(CommandError, match="future"):
        create_api_key("--label", "old", "--expires-at", "2001-01-01")
