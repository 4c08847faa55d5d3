"""The runs list at /runs/: filters, lookup by run id, keyset pages that keep the filters, and live rows."""

import datetime
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from ulid import ULID

from billing.models import ApiKey
from providers.models import Endpoint
from runs.models import Run

pytestmark = pytest.mark.django_db

PDL = ("pdl", "/person/enrich")
APIFY = ("apify", "/apidojo/tweet-scraper")
FEB_1 = datetime.datetime(2025, 2, 1, tzinfo=datetime.UTC)
MS = datetime.timedelta(milliseconds=1)


def logged_in(client, user):
    client.force_login(user)
    return client


def api_run(client, key, body):
    response = client.post(
        "/v1/run", data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    assert response.status_code in (200, 202), response.content
    return Run.objects.get(pk=response.json()["runId"])


def pdl_run(client, key, email="sean@example.com"):
    """A sync run made through the real API; its provider answer depends on the email (see the emulators)."""
    return api_run(client, key, {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": email}})


def apify_run(client, key):
    """An async run made through the real API: in flight until a worker takes its steps."""
    return api_run(
        client,
        key,
        {"provider": "apify", "endpoint": "/apidojo/tweet-scraper", "input": {"searchTerms": ["AI"], "maxItems": 2}},
    )


def stored_runs(label, count=1, *, workspace=None, endpoint=PDL, status="COMPLETED", http=200, at=None):
    """Runs built directly, oldest first, each a millisecond after the one before (from `at`, else now)."""
    api_key = ApiKey.objects.get(label=label, **({"workspace__slug": workspace} if workspace else {}))
    endpoint = Endpoint.objects.get(provider__slug=endpoint[0], path=endpoint[1])
    at = at or datetime.datetime.now(datetime.UTC)
    return Run.objects.bulk_create(
        Run(
            id=str(ULID.from_datetime(at + n * MS)),
            workspace=api_key.workspace,
            api_key=api_key,
            endpoint=endpoint,
            is_test=api_key.is_test,
            input={"n": n},
            status=status,
            provider_http_status=http,
            price_type="PER_CALL",
            price_micros=3000,
        )
        for n in range(count)
    )


def listed(response):
    """The run ids the page lists, in order."""
    return re.findall(r'<tr data-run-id="([0-9A-Z]{26})"', response.content.decode())


def ids(runs):
    return sorted((run.id for run in runs), reverse=True)


def assert_lists_only(response, shown, hidden):
    """A filter's whole effect: the page lists exactly `shown`, newest first, and none of `hidden`."""
    assert response.status_code == 200
    assert listed(response) == ids(shown)
    assert not set(listed(response)) & set(ids(hidden))


def test_an_operator_filters_by_workspace(client, operator, alice_key, bob_key):
    alices, bobs = stored_runs("alice-live", 2), stored_runs("bob-live", 2)

    response = logged_in(client, operator).get("/runs/", {"workspace": "globex"})

    assert_lists_only(response, bobs, alices)


def test_a_customer_has_no_workspace_filter_and_naming_another_workspace_changes_nothing(
    client, alice, alice_key, bob_key
):
    alices, _ = stored_runs("alice-live", 2), stored_runs("bob-live", 2)

    response = logged_in(client, alice).get("/runs/", {"workspace": "globex"})

    assert response.status_code == 200
    assert 'name="workspace"' not in response.content.decode()
    assert listed(response) == ids(alices)


def test_the_key_filter_shows_only_that_keys_runs(client, alice, alice_key, alice_test_key):
    live, test = stored_runs("alice-live", 2), stored_runs("alice-test", 2)

    response = logged_in(client, alice).get("/runs/", {"key": "alice-test"})

    assert_lists_only(response, test, live)


def test_the_key_field_suggests_only_the_customers_own_labels(client, alice, alice_key, bob_key):
    response = logged_in(client, alice).get("/runs/")

    assert '<option value="alice-live">' in response.content.decode()
    assert "bob-live" not in response.content.decode()


def test_a_customer_filtering_by_another_workspaces_key_is_told_there_is_no_such_key(client, alice, alice_key, bob_key):
    bobs = stored_runs("bob-live", 2)

    response = logged_in(client, alice).get("/runs/", {"key": "bob-live"})

    assert response.status_code == 400
    assert "There is no key labelled “bob-live” in acme." in response.content.decode()
    assert not set(ids(bobs)) & set(re.findall(r"[0-9A-Z]{26}", response.content.decode()))


def test_an_operator_filters_by_a_key_label_that_only_one_workspace_has(client, operator, alice_key, bob_key):
    alices, bobs = stored_runs("alice-live"), stored_runs("bob-live")

    response = logged_in(client, operator).get("/runs/", {"key": "bob-live"})

    assert_lists_only(response, bobs, alices)


def test_an_operator_names_the_workspace_of_a_label_that_several_workspaces_have(client, operator, alice_key, bob_key):
    ApiKey.objects.filter(label="bob-live").update(label="alice-live")
    alices, bobs = stored_runs("alice-live", workspace="acme"), stored_runs("alice-live", workspace="globex")

    everywhere = logged_in(client, operator).get("/runs/", {"key": "alice-live"})
    in_globex = client.get("/runs/", {"key": "alice-live", "workspace": "globex"})

    assert everywhere.status_code == 400
    assert "Several workspaces have a key labelled “alice-live”" in everywhere.content.decode()
    assert_lists_only(in_globex, bobs, alices)


@pytest.mark.parametrize(
    "query, shown, hidden",
    [({"provider": "apify"}, APIFY, PDL), ({"endpoint": "/person/enrich"}, PDL, APIFY)],
    ids=["provider", "endpoint"],
)
def test_the_provider_or_endpoint_filter_shows_only_its_runs(client, alice, alice_key, query, shown, hidden):
    runs = {endpoint: stored_runs("alice-live", 2, endpoint=endpoint) for endpoint in (PDL, APIFY)}

    response = logged_in(client, alice).get("/runs/", query)

    assert_lists_only(response, runs[shown], runs[hidden])


def test_an_endpoint_of_another_provider_matches_nothing(client, alice, alice_key):
    stored_runs("alice-live", 2, endpoint=PDL)

    response = logged_in(client, alice).get("/runs/", {"provider": "apify", "endpoint": "/person/enrich"})

    assert response.status_code == 200
    assert listed(response) == []
    assert "No runs match these filters." in response.content.decode()


def test_the_status_filter_shows_only_runs_in_that_status(client, alice, alice_key):
    failed, _ = stored_runs("alice-live", 2, status="FAILED", http=None), stored_runs("alice-live", 2)

    response = logged_in(client, alice).get("/runs/", {"status": "FAILED"})

    assert response.status_code == 200
    assert listed(response) == ids(failed)


@pytest.mark.parametrize(
    "http_class, http_statuses",
    [("2xx", {200, 204}), ("3xx", {302}), ("4xx", {404, 429}), ("5xx", {500, 504}), ("none", {None})],
)
def test_the_http_filter_shows_only_runs_whose_provider_answered_in_that_class(
    client, alice, alice_key, http_class, http_statuses
):
    by_status = {http: stored_runs("alice-live", 1, http=http) for http in (200, 204, 302, 404, 429, 500, 504, None)}

    response = logged_in(client, alice).get("/runs/", {"http": http_class})

    assert response.status_code == 200
    assert listed(response) == ids(run for http in http_statuses for run in by_status[http])


def test_the_http_filter_reads_what_the_provider_really_answered(client, alice, alice_key):
    match, no_match = pdl_run(client, alice_key), pdl_run(client, alice_key, "nomatch@example.com")

    response = logged_in(client, alice).get("/runs/", {"http": "4xx"})

    assert response.status_code == 200
    assert listed(response) == [no_match.id]
    assert '<span class="badge warn">404</span>' in response.content.decode()
    assert match.id not in response.content.decode()


@pytest.mark.parametrize("mode, label", [("live", "alice-live"), ("test", "alice-test")])
def test_the_mode_filter_shows_live_or_test_runs(client, alice, alice_key, alice_test_key, mode, label):
    runs = {"alice-live": stored_runs("alice-live", 2), "alice-test": stored_runs("alice-test", 2)}

    response = logged_in(client, alice).get("/runs/", {"mode": mode})

    assert response.status_code == 200
    assert listed(response) == ids(runs[label])


def test_filters_combine(client, operator, alice_key, alice_test_key, bob_key):
    wanted = stored_runs("alice-live", 2, endpoint=APIFY, status="FAILED", http=None)
    stored_runs("alice-test", 1, endpoint=APIFY, status="FAILED", http=None)  # test mode
    stored_runs("alice-live", 1, endpoint=PDL, status="FAILED", http=None)  # another endpoint
    stored_runs("alice-live", 1, endpoint=APIFY, status="COMPLETED", http=None)  # another status
    stored_runs("alice-live", 1, endpoint=APIFY, status="FAILED", http=500)  # another HTTP class
    stored_runs("bob-live", 1, endpoint=APIFY, status="FAILED", http=None)  # another workspace

    response = logged_in(client, operator).get(
        "/runs/",
        {
            "workspace": "acme",
            "key": "alice-live",
            "provider": "apify",
            "endpoint": "/apidojo/tweet-scraper",
            "status": "FAILED",
            "http": "none",
            "mode": "live",
        },
    )

    assert response.status_code == 200
    assert listed(response) == ids(wanted)


def test_the_form_shows_the_filters_it_applied(client, alice, alice_key):
    response = logged_in(client, alice).get("/runs/", {"status": "FAILED", "start": "2025-02-01"})

    body = response.content.decode()
    assert '<option value="FAILED" selected>' in body
    assert 'value="2025-02-01"' in body
    assert 'href="/runs/">Clear filters</a>' in body


def test_a_date_range_includes_the_first_and_last_millisecond_of_its_days(client, alice, alice_key):
    (before,) = stored_runs("alice-live", at=FEB_1 - MS)
    (first,) = stored_runs("alice-live", at=FEB_1)
    (last,) = stored_runs("alice-live", at=FEB_1 + datetime.timedelta(days=2) - MS)
    (after,) = stored_runs("alice-live", at=FEB_1 + datetime.timedelta(days=2))

    response = logged_in(client, alice).get("/runs/", {"start": "2025-02-01", "end": "2025-02-02"})

    assert response.status_code == 200
    assert listed(response) == [last.id, first.id]


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"start": "2025-02-02"}, ["after"]),
        ({"end": "2025-02-01"}, ["first"]),
        ({"start": "2025-02-01", "end": "2025-02-01"}, ["first"]),
    ],
)
def test_either_end_of_a_date_range_may_be_left_open(client, alice, alice_key, params, expected):
    runs = {
        "first": stored_runs("alice-live", at=FEB_1)[0],
        "after": stored_runs("alice-live", at=FEB_1 + datetime.timedelta(days=1))[0],
    }

    response = logged_in(client, alice).get("/runs/", params)

    assert listed(response) == [runs[name].id for name in expected]


def test_a_date_range_is_a_range_of_run_ids_not_a_scan_of_created_at(client, alice, alice_key):
    logged_in(client, alice)

    with CaptureQueriesContext(connection) as queries:
        client.get("/runs/", {"start": "2025-02-01", "end": "2025-02-01"})

    runs_query = next(query["sql"] for query in queries if 'FROM "runs_run"' in query["sql"])
    where = runs_query.split("WHERE", 1)[1]
    feb_1, feb_2 = (str(ULID.from_datetime(day))[:10] + "0" * 16 for day in (FEB_1, FEB_1 + datetime.timedelta(days=1)))
    assert f""""runs_run"."id" >= '{feb_1}'""" in where and f""""runs_run"."id" < '{feb_2}'""" in where
    assert "created_at" not in where


def test_pages_of_filtered_runs_keep_the_filters(client, alice, alice_key):
    failed = ids(stored_runs("alice-live", 53, status="FAILED", http=None))
    stored_runs("alice-live", 5)  # newer, and not FAILED

    first = logged_in(client, alice).get("/runs/", {"status": "FAILED"})
    older = re.search(r'href="(/runs/\?status=FAILED&amp;before=[0-9A-Z]{26})">Older runs', first.content.decode())
    second = client.get(older[1].replace("&amp;", "&"))
    newest = re.search(r'href="(/runs/\?status=FAILED)">Newest runs', second.content.decode())

    assert first.status_code == 200 and second.status_code == 200
    assert listed(first) == failed[:50]
    assert listed(second) == failed[50:]
    assert "Older runs" not in second.content.decode()
    assert newest is not None


def test_a_page_past_the_last_filtered_run_says_there_are_no_older_runs(client, alice, alice_key):
    (oldest,) = stored_runs("alice-live", status="FAILED", http=None)

    response = logged_in(client, alice).get("/runs/", {"status": "FAILED", "before": oldest.id})

    assert response.status_code == 200
    assert "No older runs." in response.content.decode()
    assert 'href="/runs/?status=FAILED">Back to the newest runs' in response.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"status": "DONE"},
        {"http": "6xx"},
        {"mode": "both"},
        {"provider": "acme"},
        {"endpoint": "/nope"},
        {"start": "2025-13-01"},
        {"end": "yesterday"},
        {"start": "2025-02-02", "end": "2025-02-01"},
        {"key": "x" * 101},
        {"before": "nonsense"},
    ],
)
def test_a_bad_filter_value_is_a_400_page_with_the_forms_errors(client, alice, alice_key, params):
    response = logged_in(client, alice).get("/runs/", params)

    assert response.status_code == 400
    assert '<p class="error">' in response.content.decode()
    assert '<form class="filters" method="get" action="/runs/">' in response.content.decode()


def test_an_operator_naming_an_unknown_workspace_gets_a_400(client, operator):
    response = logged_in(client, operator).get("/runs/", {"workspace": "nowhere"})

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_looking_up_an_own_run_by_id_opens_its_page(client, alice, alice_key):
    run = pdl_run(client, alice_key)

    response = logged_in(client, alice).get("/runs/", {"run": f" {run.id.lower()} "})

    assert response.status_code == 302
    assert response["Location"] == f"/runs/{run.id}/"


def test_looking_up_another_workspaces_run_is_no_such_run_for_a_customer(client, alice, bob_key):
    theirs = pdl_run(client, bob_key)

    response = logged_in(client, alice).get("/runs/", {"run": theirs.id})

    assert response.status_code == 404
    assert f"No such run: there is no run “{theirs.id}” in your workspace." in response.content.decode()
    assert "<table" not in response.content.decode()


def test_an_operator_looks_up_any_workspaces_run(client, operator, bob_key):
    theirs = pdl_run(client, bob_key)

    response = logged_in(client, operator).get("/runs/", {"run": theirs.id})

    assert response.status_code == 302
    assert response["Location"] == f"/runs/{theirs.id}/"


@pytest.mark.parametrize("text", ["01ARZ3NDEKTSV4RRFFQ69G5FAV", "not a run id", "é" * 26])
def test_looking_up_an_unknown_run_id_says_there_is_no_such_run(client, alice, alice_key, text):
    response = logged_in(client, alice).get("/runs/", {"run": text})

    assert response.status_code == 404
    assert "No such run" in response.content.decode()


def test_only_runs_in_flight_are_marked_for_the_live_refresh_script(client, alice, alice_key, task_queue):
    running, done = apify_run(client, alice_key), pdl_run(client, alice_key)

    response = logged_in(client, alice).get("/runs/")

    body = response.content.decode()
    assert f'<tr data-run-id="{running.id}" data-in-flight>' in body
    assert f'<tr data-run-id="{done.id}">' in body
    assert '<table class="runs" data-live-url="/runs/live/">' in body
    assert '<script src="/static/runs-live.js" defer></script>' in body
    assert "<script>" not in body


def test_the_live_endpoint_gives_a_run_in_flight_its_row_until_it_ends(client, alice, alice_key, task_queue):
    run = apify_run(client, alice_key)
    logged_in(client, alice)

    running = client.get("/runs/live/", {"ids": run.id})
    task_queue.run()
    ended = client.get("/runs/live/", {"ids": run.id})

    assert running.status_code == 200 and ended.status_code == 200
    assert f'<tr data-run-id="{run.id}" data-in-flight>' in running.content.decode()
    assert "RUNNING" in running.content.decode()
    assert f'<tr data-run-id="{run.id}">' in ended.content.decode()
    assert '<span class="badge ok">COMPLETED</span>' in ended.content.decode()
    assert '<span class="badge ok">200</span>' in ended.content.decode()
    assert ended["Cache-Control"].startswith("max-age=0")


def test_the_live_endpoint_leaves_out_another_workspaces_runs(client, alice, alice_key, bob_key, task_queue):
    mine, theirs = apify_run(client, alice_key), apify_run(client, bob_key)

    response = logged_in(client, alice).get("/runs/live/", {"ids": f"{mine.id},{theirs.id}"})

    assert response.status_code == 200
    assert mine.id in response.content.decode()
    assert theirs.id not in response.content.decode()


def test_the_live_endpoint_gives_an_operator_any_workspaces_row(client, operator, bob_key, task_queue):
    theirs = apify_run(client, bob_key)

    response = logged_in(client, operator).get("/runs/live/", {"ids": theirs.id})

    assert response.status_code == 200
    assert f'<tr data-run-id="{theirs.id}" data-in-flight>' in response.content.decode()
    assert "<td>globex</td>" in response.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"ids": ""},
        {"ids": "nonsense"},
        {"ids": "01ARZ3NDEKTSV4RRFFQ69G5FAV,x"},
        {"ids": ",".join(["01ARZ3NDEKTSV4RRFFQ69G5FAV"] * 51)},
    ],
)
def test_the_live_endpoint_refuses_bad_ids_with_a_400(client, alice, params):
    response = logged_in(client, alice).get("/runs/live/", params)

    assert response.status_code == 400
    assert '<p class="error">' in response.content.decode()


def test_the_live_endpoint_needs_a_login(client):
    response = client.get("/runs/live/", {"ids": "01ARZ3NDEKTSV4RRFFQ69G5FAV"})

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize(
    "user, params",
    [
        ("operator", {}),
        ("operator", {"workspace": "acme", "status": "COMPLETED"}),
        ("alice", {}),
        ("alice", {"key": "alice-live", "mode": "live"}),
    ],
)
def test_a_page_makes_as_many_queries_for_50_rows_as_for_5(client, request, alice_key, user, params):
    logged_in(client, request.getfixturevalue(user))
    stored_runs("alice-live", 5)
    with CaptureQueriesContext(connection) as five:
        assert len(listed(client.get("/runs/", params))) == 5
    stored_runs("alice-live", 45)
    with CaptureQueriesContext(connection) as fifty:
        assert len(listed(client.get("/runs/", params))) == 50

    assert len(five) == len(fifty)


def test_the_live_endpoint_makes_as_many_queries_for_50_runs_as_for_5(client, operator, alice_key):
    runs = ids(stored_runs("alice-live", 50, status="RUNNING", http=None))
    logged_in(client, operator)

    with CaptureQueriesContext(connection) as five:
        client.get("/runs/live/", {"ids": ",".join(runs[:5])})
    with CaptureQueriesContext(connection) as fifty:
        client.get("/runs/live/", {"ids": ",".join(runs)})

    assert len(five) == len(fifty)
