import csv
import datetime
import io
import json
import re

import pytest
from django.test import Client

from billing.models import ApiKey, KeyDailyCost
from billing.services import api_key_create

pytestmark = pytest.mark.django_db

FULL_KEY = re.compile(r"monid_(live|test)_[A-Za-z0-9]{32}")


def logged_in(client, user):
    client.force_login(user)
    return client


def api_run(key, email):
    response = Client().post("/v1/run", data=json.dumps({"provider": "pdl", "endpoint": "/person/enrich",
                                                          "input": {"email": email}}),
                             content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200, response.content


def test_a_customer_sees_their_keys_by_label_and_prefix_only(client, alice, alice_key, bob_key):
    response = logged_in(client, alice).get("/keys/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "alice-live" in body and f"{alice_key[:17]}…" in body
    assert alice_key not in body
    assert "bob-live" not in body


def test_creating_a_key_shows_it_once_and_never_again(client, alice):
    logged_in(client, alice)

    created = client.post("/keys/", {"label": "crawler", "mode": "test"})
    shown = client.get("/keys/")
    reloaded = client.get("/keys/")

    assert created.status_code == 302 and created["Location"] == "/keys/"
    key = FULL_KEY.search(shown.content.decode())[0]
    assert key.startswith("monid_test_")
    assert f'value="{key}" readonly' in shown.content.decode()
    assert shown["Cache-Control"].startswith("max-age=0")
    assert reloaded.status_code == 200
    assert FULL_KEY.search(reloaded.content.decode()) is None
    api_key = ApiKey.objects.get(label="crawler")
    assert api_key.mode == "test" and key.startswith(api_key.prefix)
    assert key not in {api_key.key_hash, api_key.prefix, api_key.label}
    assert "billing.new_key" not in client.session


def test_a_new_key_works_on_the_api(client, alice):
    logged_in(client, alice).post("/keys/", {"label": "crawler", "mode": "live"})
    key = FULL_KEY.search(client.get("/keys/").content.decode())[0]

    response = Client().get("/v1/runs", HTTP_AUTHORIZATION=f"Bearer {key}")

    assert response.status_code == 200


def test_a_duplicate_label_shows_a_form_error(client, alice, alice_key):
    response = logged_in(client, alice).post("/keys/", {"label": "alice-live", "mode": "live"})

    assert response.status_code == 409
    assert b"already has a key labelled" in response.content
    assert ApiKey.objects.filter(label="alice-live").count() == 1


def test_an_empty_label_shows_a_form_error(client, alice):
    response = logged_in(client, alice).post("/keys/", {"label": "   ", "mode": "live"})

    assert response.status_code == 400
    assert b"This field is required." in response.content
    assert not ApiKey.objects.exists()


def test_an_unknown_mode_shows_a_form_error(client, alice):
    response = logged_in(client, alice).post("/keys/", {"label": "crawler", "mode": "free"})

    assert response.status_code == 400
    assert b"Select a valid choice" in response.content
    assert not ApiKey.objects.exists()


def test_key_forms_carry_csrf_tokens(client, alice, alice_key):
    keys = logged_in(client, alice).get("/keys/")
    revoke = client.get("/keys/alice-live/revoke/")

    assert b'name="csrfmiddlewaretoken"' in keys.content
    assert b'name="csrfmiddlewaretoken"' in revoke.content


def test_a_post_without_a_csrf_token_is_refused(alice, alice_key):
    client = logged_in(Client(enforce_csrf_checks=True), alice)

    created = client.post("/keys/", {"label": "crawler", "mode": "live"})
    revoked = client.post("/keys/alice-live/revoke/")

    assert created.status_code == 403 and revoked.status_code == 403
    assert not ApiKey.objects.filter(label="crawler").exists()
    assert ApiKey.objects.get(label="alice-live").revoked_at is None


def test_revoke_asks_for_confirmation_and_changes_nothing_on_get(client, alice, alice_key):
    response = logged_in(client, alice).get("/keys/alice-live/revoke/")

    assert response.status_code == 200
    assert b"Revoke this key" in response.content
    assert ApiKey.objects.get(label="alice-live").revoked_at is None


def test_revoking_by_post_revokes_the_key_and_says_so(client, alice, alice_key):
    response = logged_in(client, alice).post("/keys/alice-live/revoke/", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [("/keys/", 302)]
    assert "The key “alice-live” is revoked" in response.content.decode()
    assert ApiKey.objects.get(label="alice-live").revoked_at is not None
    assert Client().get("/v1/runs", HTTP_AUTHORIZATION=f"Bearer {alice_key}").status_code == 401


def test_revoking_another_workspaces_key_is_404(client, alice, bob_key):
    logged_in(client, alice)

    seen = client.get("/keys/bob-live/revoke/")
    posted = client.post("/keys/bob-live/revoke/")

    assert seen.status_code == 404 and posted.status_code == 404
    assert ApiKey.objects.get(label="bob-live").revoked_at is None


def test_labels_with_spaces_and_slashes_work_in_revoke_links(client, alice):
    api_key_create(workspace=alice.workspaces.get(), label="nightly job/eu #2", mode="live")

    page = logged_in(client, alice).get("/keys/")
    response = client.post("/keys/nightly%20job/eu%20%232/revoke/")

    assert 'href="/keys/nightly%20job/eu%20%232/revoke/"' in page.content.decode()
    assert response.status_code == 302
    assert ApiKey.objects.get(label="nightly job/eu #2").revoked_at is not None


def test_an_operator_without_a_workspace_is_told_where_keys_live(client, operator):
    response = logged_in(client, operator).get("/keys/")

    assert response.status_code == 200
    assert b"not a member of one" in response.content
    assert logged_in(client, operator).get("/keys/anything/revoke/").status_code == 404


def test_the_costs_page_sums_each_key_and_totals_them(client, operator, alice_key, alice_test_key, bob_key):
    for key, email in [(alice_key, "sean@example.com"), (alice_key, "sean@example.com"),
                       (alice_key, "nomatch@example.com"), (alice_test_key, "sean@example.com"),
                       (bob_key, "sean@example.com")]:
        api_run(key, email)

    response = logged_in(client, operator).get("/costs/")

    assert response.status_code == 200
    rows = _table(response.content.decode())
    assert rows["alice-live"] == {"workspace": "acme", "key": "alice-live", "runs": "3", "calculated": "$0.009000",
                                  "actual": "$0.000000", "reported": "$0.006000", "margin": "$0.006000"}
    assert rows["alice-test"]["runs"] == "1" and rows["alice-test"]["reported"] == "$0.000000"
    assert rows["bob-live"]["reported"] == "$0.003000"
    assert rows["Total"]["runs"] == "5" and rows["Total"]["reported"] == "$0.009000"


def test_the_costs_page_counts_only_the_chosen_days(client, operator, alice_key):
    api_key = ApiKey.objects.get(label="alice-live")
    for day, reported in [(datetime.date(2025, 1, 31), 1000), (datetime.date(2025, 2, 1), 20_000),
                          (datetime.date(2025, 2, 28), 300_000), (datetime.date(2025, 3, 1), 4_000_000)]:
        KeyDailyCost.objects.create(api_key=api_key, day=day, run_count=1, reported_cost_micros=reported,
                                    actual_cost_micros=reported // 2)

    response = logged_in(client, operator).get("/costs/", {"start": "2025-02-01", "end": "2025-02-28"})

    assert response.status_code == 200
    rows = _table(response.content.decode())
    assert rows["alice-live"]["runs"] == "2" and rows["alice-live"]["reported"] == "$0.320000"
    assert rows["alice-live"]["margin"] == "$0.160000"
    assert rows["Total"]["reported"] == "$0.320000"


@pytest.mark.parametrize("query", [{"start": "yesterday"}, {"end": "2025-02-30"},
                                   {"start": "2025-03-01", "end": "2025-02-01"}])
def test_bad_dates_on_the_costs_page_are_form_errors(client, operator, query):
    response = logged_in(client, operator).get("/costs/", query)

    assert response.status_code == 400
    assert b'class="error"' in response.content


def test_the_costs_page_is_404_for_customers(client, alice):
    response = logged_in(client, alice).get("/costs/")

    assert response.status_code == 404


def test_the_costs_table_downloads_as_csv(client, operator, alice_key):
    api_run(alice_key, "sean@example.com")
    api_key_create(workspace=ApiKey.objects.get(label="alice-live").workspace, label="=HYPERLINK(1)", mode="test")

    response = logged_in(client, operator).get("/costs/", {"format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["workspace", "key", "mode", "runs", "calculated_usd", "actual_usd", "reported_usd", "margin_usd"]
    assert ["acme", "alice-live", "live", "1", "0.003000", "0.000000", "0.003000", "0.003000"] in rows
    assert ["acme", "'=HYPERLINK(1)", "test", "0", "0.000000", "0.000000", "0.000000", "0.000000"] in rows
    assert rows[-1] == ["TOTAL", "", "", "1", "0.003000", "0.000000", "0.003000", "0.003000"]


def _table(html):
    """The costs table as {key label: {column: cell text}}, the totals row under "Total"."""
    columns = ["workspace", "key", "mode", "runs", "calculated", "actual", "reported", "margin"]
    rows = {}
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)[1:]:
        cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)]
        if cells[0] == "Total":
            cells = ["", "Total", "", *cells[1:]]
        row = dict(zip(columns, cells))
        row.pop("mode")
        rows[row["key"]] = row
    return rows
