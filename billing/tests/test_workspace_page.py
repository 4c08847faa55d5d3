"""An operator's page for one workspace: members, API keys, wallet and ledger, spend controls, a link to its runs;
customers never see it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.api_keys import api_key_create, api_key_revoke
from billing.controls import spend_control_set
from billing.models import ApiKey
from billing.services import wallet_credit

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


def page_of(client, slug="acme"):
    response = client.get(f"/workspaces/{slug}/")
    assert response.status_code == 200
    return response.content.decode()


def test_it_shows_each_member_with_email_and_when_they_joined(operator_client, alice):
    alice.email = "alice@acme.example"
    alice.save(update_fields=["email"])

    page = page_of(operator_client)

    assert "<td>alice</td><td>alice@acme.example</td>" in page
    assert f"{alice.date_joined:%Y-%m-%d %H:%M:%S} UTC" in page


def test_it_shows_only_its_own_members(operator_client, alice, bob):
    page = page_of(operator_client)

    assert "<td>alice</td>" in page and "<td>bob</td>" not in page


def test_it_shows_each_key_with_prefix_mode_and_dates(operator_client, alice_key, alice_test_key):
    live = ApiKey.objects.get(label="alice-live")

    page = page_of(operator_client)

    assert "<td>alice-live</td>" in page and "<td>alice-test</td>" in page
    assert f'<td class="mono">{live.prefix}…</td>' in page
    assert '<span class="badge live">live</span>' in page and '<span class="badge muted">test</span>' in page
    assert alice_key not in page  # only the prefix is ever stored, let alone shown


def test_a_revoked_key_shows_when_it_was_revoked(operator_client, alice_key):
    api_key = ApiKey.objects.get(label="alice-live")
    api_key_revoke(api_key=api_key)
    api_key.refresh_from_db()

    page = page_of(operator_client)

    assert '<tr class="revoked">' in page and f"{api_key.revoked_at:%Y-%m-%d %H:%M:%S} UTC" in page


def test_a_key_used_through_the_api_shows_when(client, operator, alice_key):
    assert client.get("/v1/wallet/balance", HTTP_AUTHORIZATION=f"Bearer {alice_key}").status_code == 200
    client.force_login(operator)
    used = ApiKey.objects.get(label="alice-live").last_used_at

    page = page_of(client)

    assert used is not None and f"{used:%Y-%m-%d %H:%M:%S} UTC" in page


def test_it_shows_the_wallet_and_its_ledger(operator_client, alice_key):
    page = page_of(operator_client)

    assert "$100.000000" in page  # available: the fixture's credit
    assert "<td>credit</td>" in page and "test funds" in page


def test_it_shows_the_spend_controls_read_only(operator_client, alice):
    workspace = alice.workspaces.get()
    spend_control_set(workspace=workspace, kind="BUDGET", period="MONTH", limit_micros=50_000_000)
    spend_control_set(workspace=workspace, kind="RUN_CAP", limit_micros=2_000_000, status="PAUSED")

    page = page_of(operator_client)

    assert "<td>Month budget</td>" in page and "$50.000000" in page
    assert "<td>Run cap</td>" in page and "$2.000000" in page and "paused" in page
    assert "/controls/" not in page.split("<main>")[1]  # no form to change them here


def test_it_links_to_the_workspaces_runs(operator_client, alice):
    assert 'href="/runs/?workspace=acme"' in page_of(operator_client)


def test_the_workspace_list_links_to_each_workspace_page(operator_client, alice, bob):
    page = operator_client.get("/workspaces/").content.decode()

    assert 'href="/workspaces/acme/"' in page and 'href="/workspaces/globex/"' in page


def test_it_reads_the_same_number_of_queries_however_many_keys_members_and_entries(
    operator_client, alice_key, alice, django_user_model
):
    workspace = alice.workspaces.get()
    spend_control_set(workspace=workspace, kind="BUDGET", period="DAY", limit_micros=1_000_000)
    with CaptureQueriesContext(connection) as few:
        page_of(operator_client)
    for n in range(5):
        api_key_create(workspace=workspace, label=f"more-{n}", mode="test")
        workspace.members.add(django_user_model.objects.create_user(f"member-{n}"))
        wallet_credit(workspace=workspace, amount_micros=1_000_000, note=f"top-up {n}")
    spend_control_set(workspace=workspace, kind="RUN_CAP", limit_micros=1_000_000)

    with CaptureQueriesContext(connection) as many:
        page = page_of(operator_client)

    assert "more-4" in page and "member-4" in page and "top-up 4" in page
    assert len(many) == len(few)


def test_customers_get_a_404_for_their_own_workspace_and_any_other(client, alice, bob):
    client.force_login(alice)

    assert client.get("/workspaces/acme/").status_code == 404
    assert client.get("/workspaces/globex/").status_code == 404
    assert client.get("/workspaces/acme/wallet/").status_code == 404


def test_the_wallet_pages_old_address_redirects_to_the_workspace_page(operator_client, alice):
    response = operator_client.get("/workspaces/acme/wallet/")

    assert response.status_code == 308 and response["Location"] == "/workspaces/acme/"


def test_a_credit_posted_to_the_old_address_is_redirected_as_a_post(operator_client, alice):
    response = operator_client.post("/workspaces/acme/wallet/", {"amount_usd": "5", "note": "old tab"}, follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[0] == ("/workspaces/acme/", 308)
    assert "old tab" in response.content.decode()


def test_an_unknown_workspaces_old_wallet_address_is_a_404(operator_client):
    assert operator_client.get("/workspaces/nope/wallet/").status_code == 404
