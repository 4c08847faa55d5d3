import csv
import datetime
import io
import re

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from billing.api_keys import api_key_create
from billing.models import ApiKey
from billing.tests.helpers import RUN_COUNTS, rollup
from runs.tests.api import person_enriched

pytestmark = pytest.mark.django_db

FULL_KEY = re.compile(r"monid_(live|test)_[A-Za-z0-9]{32}")


def logged_in(client, user):
    client.force_login(user)
    return client


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
    assert all(key not in str(session.get_decoded()) for session in Session.objects.all())  # nor in the store


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


def test_the_costs_page_sums_each_live_key_and_totals_them(client, operator, alice_key, alice_test_key, bob_key):
    for key, email in [
        (alice_key, "sean@example.com"),
        (alice_key, "sean@example.com"),
        (alice_key, "nomatch@example.com"),
        (alice_test_key, "sean@example.com"),
        (bob_key, "sean@example.com"),
    ]:
        person_enriched(Client(), key, email)

    response = logged_in(client, operator).get("/costs/")

    assert response.status_code == 200
    rows = _table(response.content.decode(), "key")
    assert rows["alice-live"] == {
        "workspace": "acme",
        "key": "alice-live",
        "completed": "3",
        "failed": "0",
        "blocked": "0",
        "stopped": "0",
        "time out": "0",
        "runs": "3",
        "calculated": "$0.009000",
        "actual": "$0.000000",
        "reported": "$0.006000",
        "margin": "$0.006000",
    }
    assert rows["bob-live"]["reported"] == "$0.003000"
    assert "alice-test" not in rows
    assert rows["Total"]["runs"] == "4" and rows["Total"]["reported"] == "$0.009000"


def test_the_costs_page_shows_test_keys_apart(client, operator, alice_key, alice_test_key):
    person_enriched(Client(), alice_key, "sean@example.com")
    person_enriched(Client(), alice_test_key, "sean@example.com")

    response = logged_in(client, operator).get("/costs/", {"mode": "test"})

    assert response.status_code == 200
    rows = _table(response.content.decode(), "key")
    assert set(rows) == {"alice-test", "Total"}
    assert (rows["alice-test"]["runs"], rows["alice-test"]["calculated"], rows["alice-test"]["reported"]) == (
        "1",
        "$0.003000",
        "$0.000000",
    )


@pytest.mark.parametrize(
    "group, first, expected",
    [
        ("workspace", "workspace", {"acme": "2", "globex": "1"}),
        ("provider", "provider", {"pdl": "2", "apify": "1"}),
        ("endpoint", "endpoint", {"/person/enrich": "2", "/apidojo/tweet-scraper": "1"}),
    ],
)
def test_the_costs_page_groups_by_workspace_provider_or_endpoint(
    client, operator, alice_key, bob_key, group, first, expected
):
    rollup("alice-live", provider="pdl", endpoint="/person/enrich")
    rollup("alice-live", provider="apify", endpoint="/apidojo/tweet-scraper")
    rollup("bob-live", provider="pdl", endpoint="/person/enrich")

    response = logged_in(client, operator).get("/costs/", {"group": group})

    assert response.status_code == 200
    rows = _table(response.content.decode(), first)
    assert {name: row["runs"] for name, row in rows.items() if name != "Total"} == expected
    assert rows["Total"]["runs"] == "3"


def test_the_costs_page_shows_a_negative_margin_in_red_with_a_minus(client, operator, alice_key):
    rollup("alice-live", status="FAILED", actual=2500, reported=0)

    response = logged_in(client, operator).get("/costs/")

    assert response.status_code == 200
    rows = _table(response.content.decode(), "key")
    assert rows["alice-live"]["failed"] == "1" and rows["alice-live"]["margin"] == "-$0.002500"
    assert '<td class="num negative">-$0.002500</td>' in response.content.decode()


def test_the_costs_page_counts_only_the_chosen_days(client, operator, alice_key):
    for day, reported in [
        (datetime.date(2025, 1, 31), 1000),
        (datetime.date(2025, 2, 1), 20_000),
        (datetime.date(2025, 2, 28), 300_000),
        (datetime.date(2025, 3, 1), 4_000_000),
    ]:
        rollup("alice-live", day=day, reported=reported, actual=reported // 2)

    response = logged_in(client, operator).get("/costs/", {"start": "2025-02-01", "end": "2025-02-28"})

    assert response.status_code == 200
    rows = _table(response.content.decode(), "key")
    assert rows["alice-live"]["runs"] == "2" and rows["alice-live"]["reported"] == "$0.320000"
    assert rows["alice-live"]["margin"] == "$0.160000"
    assert rows["Total"]["reported"] == "$0.320000"


def test_days_without_runs_say_so(client, operator, alice_key):
    rollup("alice-live", day=datetime.date(2025, 2, 10))

    response = logged_in(client, operator).get("/costs/", {"start": "2025-03-01"})

    assert response.status_code == 200
    assert b"No live runs ended in these days." in response.content


@pytest.mark.parametrize(
    "query",
    [
        {"start": "yesterday"},
        {"end": "2025-02-30"},
        {"start": "2025-03-01", "end": "2025-02-01"},
        {"group": "label"},
        {"mode": "both"},
    ],
)
def test_bad_filters_on_the_costs_page_are_form_errors(client, operator, query):
    response = logged_in(client, operator).get("/costs/", query)

    assert response.status_code == 400
    assert b'class="error"' in response.content


def test_the_costs_page_is_404_for_customers(client, alice):
    response = logged_in(client, alice).get("/costs/")

    assert response.status_code == 404


def test_the_costs_table_downloads_as_csv(client, operator, alice_key, bob_key):
    person_enriched(Client(), alice_key, "sean@example.com")
    rollup("bob-live", day=datetime.date(2025, 2, 10), status="TIME_OUT", actual=1_234_567)

    page = logged_in(client, operator).get("/costs/", {"start": "2025-01-01"})
    response = client.get("/costs/", {"start": "2025-01-01", "format": "csv"})

    assert 'href="?start=2025-01-01&amp;format=csv"' in page.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="monid-costs-live-by-key-2025-01-01-to-today.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["workspace", "key", *RUN_COUNTS, "calculated_usd", "actual_usd", "reported_usd", "margin_usd"],
        ["acme", "alice-live", "1", "0", "0", "0", "0", "1", "0.003000", "0.000000", "0.003000", "0.003000"],
        ["globex", "bob-live", "0", "0", "0", "0", "1", "1", "0.000000", "1.234567", "0.000000", "-1.234567"],
        ["TOTAL", "", "1", "0", "0", "0", "1", "2", "0.003000", "1.234567", "0.003000", "-1.231567"],
    ]


def test_the_costs_csv_by_endpoint_names_provider_and_endpoint(client, operator, alice_key):
    rollup("alice-live", provider="apify", endpoint="/apidojo/tweet-scraper", reported=3000)

    response = logged_in(client, operator).get("/costs/", {"group": "endpoint", "format": "csv"})

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["provider", "endpoint", "completed"]
    assert rows[1:] == [
        [
            "apify",
            "/apidojo/tweet-scraper",
            "1",
            "0",
            "0",
            "0",
            "0",
            "1",
            "0.003000",
            "0.000000",
            "0.003000",
            "0.003000",
        ],
        ["TOTAL", "", "1", "0", "0", "0", "0", "1", "0.003000", "0.000000", "0.003000", "0.003000"],
    ]


def test_a_label_that_looks_like_a_formula_is_defused_in_the_csv(client, operator, alice, alice_key):
    api_key_create(workspace=alice.workspaces.get(), label="=HYPERLINK(1)", mode="live")
    rollup("=HYPERLINK(1)")

    response = logged_in(client, operator).get("/costs/", {"format": "csv"})

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert ["acme", "'=HYPERLINK(1)"] in [row[:2] for row in rows]


def _table(html, first):
    """The costs table as {value of the `first` column: {column heading, lowercased: cell text}}, the totals row
    under "Total"."""
    html = re.search(r"<table.*?</table>", html, re.S)[0]  # the first table; the chart's daily figures follow
    headings = [
        re.sub(r"<[^>]+>", "", cell).strip(" ▲▼").lower()  # the arrow marks the column sorted by
        for cell in re.findall(r"<th[^>]*>(.*?)</th>", re.search(r"<thead>(.*?)</thead>", html, re.S)[1])
    ]
    rows = {}
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)[1:]:
        cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)]
        if cells[0] == "Total":  # one cell spans the grouping's columns
            cells = [*["Total"] * (len(headings) - len(cells) + 1), *cells[1:]]
        row = dict(zip(headings, cells))
        rows[row[first]] = row
    return rows
