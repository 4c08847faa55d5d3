"""The provider emulators, exercised over real loopback HTTP the way the adapters use them."""

import json
import time
import tracemalloc
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from providers.emulators import server

PDL_KEY = "test-pdl-key"
APIFY_TOKEN = "test-apify-token"
TWEETS = "/v2/acts/apidojo~tweet-scraper/runs"


@pytest.fixture(scope="module")
def emulators():
    with server.start(pdl_key=PDL_KEY, apify_token=APIFY_TOKEN) as running:
        yield running


@pytest.fixture
def pdl(emulators):
    def enrich(method="GET", key=PDL_KEY, **params):
        url = f"{emulators.url}/pdl/v5/person/enrich"
        if method == "POST":
            return requests.post(url, json=params, headers={"X-Api-Key": key}, timeout=5)
        return requests.get(url, params=params, headers={"X-Api-Key": key}, timeout=5)

    return enrich


@pytest.fixture
def apify(emulators):
    def call(method, path, token=APIFY_TOKEN, **kwargs):
        headers = {"Authorization": f"Bearer {token}"}
        return requests.request(method, f"{emulators.url}/apify{path}", headers=headers, timeout=5, **kwargs)

    return call


def start_tweets(apify, *terms, max_items=3, **params):
    response = apify("POST", TWEETS, json={"searchTerms": list(terms), "maxItems": max_items}, params=params)
    assert response.status_code == 201
    return response.json()["data"]


# PDL


def test_it_answers_a_pdl_match_with_the_person_and_one_credit(pdl):
    response = pdl(email="jane@acme.com")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["x-call-credits-spent"] == "1"
    assert response.headers["x-call-credits-type"] == "enrich"
    assert response.headers["x-ratelimit-remaining"] == "{'minute': 99}"
    body = response.json()
    assert body["status"] == 200 and 1 <= body["likelihood"] <= 10
    assert body["data"]["work_email"] == "jane@acme.com"
    assert {
        "id",
        "full_name",
        "first_name",
        "last_name",
        "linkedin_url",
        "job_title",
        "job_company_name",
        "emails",
        "location_name",
    } <= body["data"].keys()


def test_it_answers_the_same_pdl_record_for_the_same_input(pdl):
    assert pdl(email="jane@acme.com").json() == pdl(email="jane@acme.com").json()
    assert pdl(email="jane@acme.com").json() != pdl(email="john@acme.com").json()


def test_it_uses_a_given_name(pdl):
    data = pdl(name="Sean Thorne", company="People Data Labs").json()["data"]
    assert (data["full_name"], data["job_company_name"]) == ("sean thorne", "people data labs")


def test_it_accepts_pdl_parameters_as_a_post_json_body(pdl):
    response = pdl("POST", profile="linkedin.com/in/someone")
    assert response.status_code == 200
    assert response.json() == pdl(profile="linkedin.com/in/someone").json()


def test_it_accepts_the_pdl_key_as_a_parameter(emulators):
    url = f"{emulators.url}/pdl/v5/person/enrich"
    response = requests.get(url, params={"api_key": PDL_KEY, "email": "jane@acme.com"}, timeout=5)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "email, status, error_type",
    [
        ("nomatch@example.com", 404, "not_found"),
        ("ratelimited@example.com", 429, "rate_limit_error"),
        ("error@example.com", 500, "api_error"),
        ("nocredits@example.com", 402, "payment_required"),
    ],
)
def test_it_answers_each_magic_pdl_email_with_its_error_and_no_credit(pdl, email, status, error_type):
    response = pdl(email=email)
    assert response.status_code == status
    assert response.json()["status"] == status
    assert response.json()["error"]["type"] == error_type
    assert response.headers["x-call-credits-spent"] == "0"


def test_it_answers_404_for_no_match_with_pdls_message(pdl):
    error = pdl(email="nomatch@example.com").json()["error"]
    assert error["message"] == "No records were found matching your request"


def test_it_reports_no_remaining_rate_limit_on_a_pdl_429(pdl):
    assert pdl(email="ratelimited@example.com").headers["x-ratelimit-remaining"] == "{'minute': 0}"


def test_it_refuses_a_wrong_pdl_key(pdl):
    response = pdl(key="wrong", email="jane@acme.com")
    assert response.status_code == 401
    assert response.json() == {
        "status": 401,
        "error": {"type": "authentication_error", "message": "Invalid or missing API key"},
    }


def test_it_refuses_a_pdl_request_without_identifying_parameters(pdl):
    response = pdl(name="Sean Thorne")
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "email" in response.json()["error"]["message"]


def test_it_answers_404_for_an_unknown_pdl_path(emulators):
    response = requests.get(f"{emulators.url}/pdl/v5/nothing", headers={"X-Api-Key": PDL_KEY}, timeout=5)
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found"


def test_it_answers_405_for_a_wrong_pdl_method(emulators):
    response = requests.delete(f"{emulators.url}/pdl/v5/person/enrich", headers={"X-Api-Key": PDL_KEY}, timeout=5)
    assert response.status_code == 405


# PDL: person search, person identify, company enrichment


def pdl_call(emulators, method, path, key=PDL_KEY, **params):
    url = f"{emulators.url}/pdl/v5{path}"
    if method == "POST":
        return requests.post(url, json=params, headers={"X-Api-Key": key}, timeout=5)
    return requests.get(url, params=params, headers={"X-Api-Key": key}, timeout=5)


ENGINEERS = "SELECT * FROM person WHERE job_company_name='people data labs' AND job_title_role='engineering'"


def test_it_answers_a_person_search_with_a_page_its_total_and_a_credit_a_record(emulators):
    response = pdl_call(emulators, "POST", "/person/search", sql=ENGINEERS, size=3)
    assert response.status_code == 200
    assert (response.headers["x-call-credits-spent"], response.headers["x-call-credits-type"]) == ("3", "search")
    body = response.json()
    assert body["status"] == 200 and len(body["data"]) == 3 and body["total"] >= 3 and body["scroll_token"]
    assert {"id", "full_name", "job_title", "job_company_name", "work_email"} <= body["data"][0].keys()


def test_it_answers_one_record_when_a_search_gives_no_size(emulators):
    assert len(pdl_call(emulators, "POST", "/person/search", sql=ENGINEERS).json()["data"]) == 1


def test_it_pages_a_person_search_by_its_scroll_token(emulators):
    first = pdl_call(emulators, "POST", "/person/search", sql=ENGINEERS, size=2).json()
    second = pdl_call(
        emulators, "POST", "/person/search", sql=ENGINEERS, size=2, scroll_token=first["scroll_token"]
    ).json()
    assert second["total"] == first["total"]
    assert not {p["id"] for p in first["data"]} & {p["id"] for p in second["data"]}


def test_it_shows_a_searchs_conditions_in_the_records_it_answers(emulators):
    sql = pdl_call(emulators, "POST", "/person/search", sql=ENGINEERS, size=5).json()["data"]
    query = {"query": {"bool": {"must": [{"term": {"location_country": "germany"}}]}}}
    elastic = pdl_call(emulators, "POST", "/person/search", query=query, size=5).json()["data"]
    assert {person["job_company_name"] for person in sql} == {"people data labs"}
    assert {person["location_country"] for person in elastic} == {"germany"}


def test_it_takes_a_search_query_as_json_text_in_a_get(emulators):
    query = {"query": {"term": {"job_title": "founder"}}}
    response = pdl_call(emulators, "GET", "/person/search", query=json.dumps(query), size="2")
    assert response.status_code == 200 and len(response.json()["data"]) == 2


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"sql": ENGINEERS, "query": {"query": {"match_all": {}}}},
        {"sql": ENGINEERS, "size": 101},
        {"sql": ENGINEERS, "scroll_token": "nope"},
    ],
)
def test_it_refuses_a_search_without_exactly_one_query_or_with_a_bad_size_or_token(emulators, params):
    response = pdl_call(emulators, "POST", "/person/search", **params)
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"
    assert response.headers["x-call-credits-spent"] == "0"


def test_it_answers_a_magic_email_anywhere_in_a_search(emulators):
    response = pdl_call(
        emulators, "POST", "/person/search", sql="SELECT * FROM person WHERE work_email='nomatch@example.com'"
    )
    assert response.status_code == 404 and response.headers["x-call-credits-spent"] == "0"


def test_it_answers_person_identify_with_matches_best_first(emulators):
    response = pdl_call(emulators, "GET", "/person/identify", name="Sean Thorne", company="People Data Labs")
    assert response.status_code == 200
    assert response.headers["x-call-credits-type"] == "person_identify"
    matches = response.json()["matches"]
    assert 1 <= len(matches) <= 20 and all(5 < match["match_score"] < 100 for match in matches)
    assert [m["match_score"] for m in matches] == sorted((m["match_score"] for m in matches), reverse=True)
    assert matches[0]["matched_on"] == ["company", "name"]
    assert (matches[0]["data"]["full_name"], matches[0]["data"]["job_company_name"]) == (
        "sean thorne",
        "people data labs",
    )


def test_it_spends_an_identify_credit_match_or_not(emulators):
    match = pdl_call(emulators, "GET", "/person/identify", email="sean@peopledatalabs.com")
    miss = pdl_call(emulators, "GET", "/person/identify", email="nomatch@example.com")
    assert (match.status_code, miss.status_code) == (200, 404)
    assert match.headers["x-call-credits-spent"] == miss.headers["x-call-credits-spent"] == "1"


def test_it_refuses_an_identify_without_anything_to_identify_by(emulators):
    response = pdl_call(emulators, "GET", "/person/identify", country="germany")
    assert response.status_code == 400 and response.headers["x-call-credits-spent"] == "0"


def test_it_answers_a_company_flat_with_a_credit(emulators):
    response = pdl_call(emulators, "GET", "/company/enrich", website="https://www.peopledatalabs.com/")
    assert response.status_code == 200
    assert (response.headers["x-call-credits-spent"], response.headers["x-call-credits-type"]) == (
        "1",
        "enrich_company",
    )
    body = response.json()
    assert "data" not in body and body["status"] == 200 and 1 <= body["likelihood"] <= 10
    assert body["website"] == "peopledatalabs.com"
    assert {"id", "name", "size", "employee_count", "industry", "founded", "location", "linkedin_url"} <= body.keys()
    assert body == pdl_call(emulators, "POST", "/company/enrich", website="https://www.peopledatalabs.com/").json()


def test_it_uses_a_given_company_name_and_place(emulators):
    body = pdl_call(emulators, "GET", "/company/enrich", name="People Data Labs", locality="San Francisco").json()
    assert (body["name"], body["location"]["locality"]) == ("people data labs", "san francisco")


def test_it_refuses_a_company_enrich_without_an_identifier(emulators):
    response = pdl_call(emulators, "GET", "/company/enrich", locality="san francisco")
    assert response.status_code == 400 and "website" in response.json()["error"]["message"]


# Apify


def test_it_starts_an_apify_run_in_an_envelope(apify):
    response = apify("POST", TWEETS, json={"searchTerms": ["django"]})
    assert response.status_code == 201
    run = response.json()["data"]
    assert run["status"] == "RUNNING" and run["finishedAt"] is None and run["usageTotalUsd"] == 0
    assert run["actId"] == "apidojo~tweet-scraper" and len(run["id"]) == 17
    assert {"startedAt", "defaultDatasetId", "defaultKeyValueStoreId", "stats", "options", "usage"} <= run.keys()


def test_it_accepts_a_slash_in_the_actor_id_percent_encoded(apify):
    response = apify("POST", "/v2/acts/apidojo%2Ftweet-scraper/runs", json={"searchTerms": ["django"]})
    assert response.status_code == 201


def test_it_answers_running_on_the_first_status_check_and_succeeded_on_the_second(apify):
    run = start_tweets(apify, "django", max_items=5)
    first = apify("GET", f"/v2/actor-runs/{run['id']}").json()["data"]
    second = apify("GET", f"/v2/actor-runs/{run['id']}").json()["data"]
    assert first["status"] == "RUNNING"
    assert second["status"] == "SUCCEEDED" and second["finishedAt"] is not None
    assert second["usageTotalUsd"] == pytest.approx(0.0004 + 5 * 0.00025)


def test_it_finishes_a_run_at_once_with_wait_for_finish(apify):
    assert start_tweets(apify, "django", waitForFinish=60)["status"] == "SUCCEEDED"
    run = start_tweets(apify, "django")
    checked = apify("GET", f"/v2/actor-runs/{run['id']}", params={"waitForFinish": 5}).json()["data"]
    assert checked["status"] == "SUCCEEDED"


def test_it_fills_the_dataset_with_max_items_and_pagination_headers(apify):
    run = start_tweets(apify, "django", "python", max_items=7, waitForFinish=1)
    params = {"format": "json", "clean": "true"}
    response = apify("GET", f"/v2/datasets/{run['defaultDatasetId']}/items", params=params)
    assert response.status_code == 200
    items = response.json()
    assert len(items) == 7
    fields = {"id", "url", "text", "author", "createdAt", "likeCount", "retweetCount", "replyCount", "lang"}
    assert fields <= items[0].keys()
    assert response.headers["X-Apify-Pagination-Offset"] == "0"
    assert response.headers["X-Apify-Pagination-Count"] == "7"
    assert response.headers["X-Apify-Pagination-Total"] == "7"


def test_it_pages_dataset_items_by_offset_and_limit(apify):
    run = start_tweets(apify, "django", max_items=7, waitForFinish=1)
    path = f"/v2/datasets/{run['defaultDatasetId']}/items"
    everything = apify("GET", path).json()
    page = apify("GET", path, params={"offset": 5, "limit": 3})
    assert page.json() == everything[5:7]
    assert (page.headers["X-Apify-Pagination-Offset"], page.headers["X-Apify-Pagination-Limit"]) == ("5", "3")
    assert (page.headers["X-Apify-Pagination-Count"], page.headers["X-Apify-Pagination-Total"]) == ("2", "7")


def test_it_derives_the_same_items_from_the_same_input(apify):
    first, second = (start_tweets(apify, "django", waitForFinish=1) for _ in range(2))
    items = [apify("GET", f"/v2/datasets/{run['defaultDatasetId']}/items").json() for run in (first, second)]
    assert items[0] == items[1]


def test_it_caps_max_items_at_1000(apify):
    run = start_tweets(apify, "django", max_items=5000, waitForFinish=1)
    assert len(apify("GET", f"/v2/datasets/{run['defaultDatasetId']}/items").json()) == 1000


def test_it_fails_a_run_on_the_fail_magic_input(apify):
    run = start_tweets(apify, "emulator:fail", waitForFinish=1)
    assert (run["status"], run["statusMessage"]) == ("FAILED", "The actor failed (emulated)")


def test_it_times_out_a_run_on_the_timeout_magic_input(apify):
    assert start_tweets(apify, "emulator:timeout", waitForFinish=1)["status"] == "TIMED-OUT"


def test_it_refuses_the_bad_input_magic_input(apify):
    response = apify("POST", TWEETS, json={"searchTerms": ["emulator:bad-input"]})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid-input"


def test_it_refuses_an_input_that_is_not_a_json_object(apify):
    response = apify("POST", TWEETS, json=["django"])
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid-input"


def test_it_rate_limits_the_rate_limit_magic_input(apify):
    response = apify("POST", TWEETS, json={"searchTerms": ["emulator:rate-limit"]})
    assert response.status_code == 429
    assert response.json()["error"]["type"] == "rate-limit-exceeded"


def test_it_keeps_a_slow_run_running_until_aborted(apify):
    run = start_tweets(apify, "emulator:slow", waitForFinish=60)
    for _ in range(3):
        checked = apify("GET", f"/v2/actor-runs/{run['id']}", params={"waitForFinish": 60}).json()["data"]
        assert checked["status"] == "RUNNING"
    response = apify("POST", f"/v2/actor-runs/{run['id']}/abort")
    assert response.status_code == 200
    assert response.json()["data"]["status"] == "ABORTED" and response.json()["data"]["finishedAt"] is not None
    assert apify("GET", f"/v2/actor-runs/{run['id']}").json()["data"]["status"] == "ABORTED"


def test_it_leaves_a_finished_run_alone_on_abort(apify):
    run = start_tweets(apify, "django", waitForFinish=1)
    assert apify("POST", f"/v2/actor-runs/{run['id']}/abort").json()["data"]["status"] == "SUCCEEDED"


def test_it_succeeds_with_an_empty_dataset_on_the_empty_magic_input(apify):
    run = start_tweets(apify, "emulator:empty", waitForFinish=1)
    assert run["status"] == "SUCCEEDED"
    assert apify("GET", f"/v2/datasets/{run['defaultDatasetId']}/items").json() == []


def test_it_refuses_a_wrong_apify_token(apify):
    response = apify("POST", TWEETS, token="wrong", json={"searchTerms": ["django"]})
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "type": "user-or-token-not-found",
            "message": "User was not found or authentication token is not valid",
        }
    }


def test_it_accepts_the_apify_token_as_a_query_parameter(emulators):
    response = requests.post(
        f"{emulators.url}/apify{TWEETS}", params={"token": APIFY_TOKEN}, json={"searchTerms": ["django"]}, timeout=5
    )
    assert response.status_code == 201


def test_it_answers_404_for_an_unknown_actor(apify):
    response = apify("POST", "/v2/acts/nobody~nothing/runs", json={})
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "record-not-found"


def test_it_answers_404_for_an_unknown_run_and_dataset(apify):
    assert apify("GET", "/v2/actor-runs/nope").status_code == 404
    assert apify("POST", "/v2/actor-runs/nope/abort").status_code == 404
    assert apify("GET", "/v2/datasets/nope/items").status_code == 404


def test_it_answers_405_for_a_wrong_apify_method(apify):
    response = apify("DELETE", TWEETS)
    assert response.status_code == 405
    assert response.json()["error"]["type"] == "method-not-allowed"


def test_it_answers_404_outside_both_prefixes(emulators):
    assert requests.get(f"{emulators.url}/elsewhere", timeout=5).status_code == 404


# Apify: timed runs (emulator:duration-<ms>)


def test_a_timed_run_answers_running_to_every_status_check_until_its_time_is_up(apify):
    run = start_tweets(apify, "django", "emulator:duration-1500", waitForFinish=0)
    checks = [apify("GET", f"/v2/actor-runs/{run['id']}").json()["data"]["status"] for _ in range(3)]
    assert run["status"] == "RUNNING" and checks == ["RUNNING"] * 3


def test_wait_for_finish_holds_a_timed_run_until_its_time_is_up(apify):
    began = time.monotonic()
    run = start_tweets(apify, "django", "emulator:duration-600", max_items=5)
    checked = apify("GET", f"/v2/actor-runs/{run['id']}", params={"waitForFinish": 4}).json()["data"]
    assert time.monotonic() - began >= 0.6  # SUCCEEDED, so it did not wait out its 4 s either
    assert checked["status"] == "SUCCEEDED" and checked["usageTotalUsd"] == pytest.approx(0.0004 + 5 * 0.00025)
    assert len(apify("GET", f"/v2/datasets/{run['defaultDatasetId']}/items").json()) == 5


def test_wait_for_finish_on_a_timed_run_gives_up_after_its_seconds(apify):
    began = time.monotonic()
    run = start_tweets(apify, "django", "emulator:duration-60000", waitForFinish=1)
    assert run["status"] == "RUNNING" and time.monotonic() - began >= 1


def test_a_waiting_status_check_does_not_hold_up_other_requests(apify):
    run = start_tweets(apify, "django", "emulator:duration-60000")
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(apify, "GET", f"/v2/actor-runs/{run['id']}", params={"waitForFinish": 30})
        time.sleep(0.2)  # lets the status check start waiting (were it late, the test would prove nothing)
        assert start_tweets(apify, "python")["status"] == "RUNNING"
        assert not waiting.done()  # the start was answered while the check still waited
        apify("POST", f"/v2/actor-runs/{run['id']}/abort")
        assert waiting.result().json()["data"]["status"] == "ABORTED"


def test_an_abort_ends_the_wait_of_a_status_check_on_a_timed_run(apify):
    run = start_tweets(apify, "django", "emulator:duration-60000")
    began = time.monotonic()
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(apify, "GET", f"/v2/actor-runs/{run['id']}", params={"waitForFinish": 30})
        time.sleep(0.2)  # lets the status check start waiting
        assert apify("POST", f"/v2/actor-runs/{run['id']}/abort").json()["data"]["status"] == "ABORTED"
        assert waiting.result().json()["data"]["status"] == "ABORTED"
    assert time.monotonic() - began < 20  # woken by the abort, long before its 30 s wait ran out


def test_a_timed_run_with_the_fail_magic_fails_when_its_time_is_up(apify):
    run = start_tweets(apify, "emulator:fail", "emulator:duration-300")
    assert run["status"] == "RUNNING"
    assert apify("GET", f"/v2/actor-runs/{run['id']}", params={"waitForFinish": 4}).json()["data"]["status"] == "FAILED"


# Apify: generated datasets (emulator:items-<count>x<bytes>)


def test_it_generates_count_items_of_about_the_given_size_whatever_max_items_says(apify):
    run = start_tweets(apify, "emulator:items-50x2000", max_items=3, waitForFinish=1)
    assert run["usageTotalUsd"] == pytest.approx(0.0004 + 50 * 0.00025)
    response = apify("GET", f"/v2/datasets/{run['defaultDatasetId']}/items")
    assert response.status_code == 200
    items = response.json()
    assert [item["index"] for item in items] == list(range(50))
    assert all(abs(len(json.dumps(item, separators=(",", ":"))) - 2000) <= 40 for item in items)
    assert response.headers["X-Apify-Pagination-Total"] == "50"


def test_it_pages_a_generated_dataset_by_offset_and_limit(apify):
    run = start_tweets(apify, "emulator:items-50x300", waitForFinish=1)
    path = f"/v2/datasets/{run['defaultDatasetId']}/items"
    page = apify("GET", path, params={"offset": 45, "limit": 10})
    assert page.json() == apify("GET", path).json()[45:50]
    assert (page.headers["X-Apify-Pagination-Offset"], page.headers["X-Apify-Pagination-Limit"]) == ("45", "10")
    assert (page.headers["X-Apify-Pagination-Count"], page.headers["X-Apify-Pagination-Total"]) == ("5", "50")


def test_it_generates_the_same_items_from_the_same_input(apify):
    first, second = (start_tweets(apify, "emulator:items-20x500", waitForFinish=1) for _ in range(2))
    items = [apify("GET", f"/v2/datasets/{run['defaultDatasetId']}/items").json() for run in (first, second)]
    assert items[0] == items[1]


def test_it_streams_a_50_mb_generated_dataset_without_holding_it_in_memory(apify):
    run = start_tweets(apify, "emulator:items-10000x5000", waitForFinish=1)
    tracemalloc.start()
    try:
        response = apify("GET", f"/v2/datasets/{run['defaultDatasetId']}/items", stream=True)
        received = sum(len(chunk) for chunk in response.iter_content(65536))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 200
    assert abs(received - 50_000_000) < 50_000_000 * 0.03
    assert peak < 5_000_000


# Apify: the run list for benchmarks (GET /emulator/runs)


def test_it_lists_every_started_run_in_start_order(apify):
    term = f"listed-{uuid.uuid4()}"
    started = [start_tweets(apify, term) for _ in range(2)]
    apify("POST", TWEETS, json={"searchTerms": [term, "emulator:rate-limit"]})
    response = apify("GET", "/emulator/runs")
    assert response.status_code == 200
    listed = [run for run in response.json()["data"] if term in json.dumps(run["input"])]
    assert [run["id"] for run in listed] == [run["id"] for run in started]
    assert listed[0] == {
        "id": started[0]["id"],
        "actId": "apidojo~tweet-scraper",
        "status": "RUNNING",
        "startedAt": started[0]["startedAt"],
        "input": {"searchTerms": [term], "maxItems": 3},
    }


def test_it_refuses_a_wrong_apify_token_on_the_run_list(apify):
    response = apify("GET", "/emulator/runs", token="wrong")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "user-or-token-not-found"


# Apify: listing an actor's runs and reading their input


def test_it_lists_an_actors_runs_since_a_time_oldest_first_with_their_storages(apify):
    first, second = start_tweets(apify, "list-1"), start_tweets(apify, "list-2")
    listed = apify("GET", TWEETS, params={"startedAfter": first["startedAt"]}).json()["data"]
    ids = [item["id"] for item in listed["items"]]
    assert ids.index(first["id"]) < ids.index(second["id"])
    item = listed["items"][ids.index(second["id"])]
    assert item["defaultKeyValueStoreId"] == second["defaultKeyValueStoreId"] and item["status"] == "RUNNING"
    newest = apify("GET", TWEETS, params={"desc": 1, "limit": 1}).json()["data"]
    assert [item["id"] for item in newest["items"]] == [second["id"]] and newest["total"] >= 2


def test_it_answers_the_input_a_run_was_started_with(apify):
    run = start_tweets(apify, "input-back", max_items=2)
    record = apify("GET", f"/v2/actor-runs/{run['id']}/key-value-store/records/INPUT")
    assert record.status_code == 200 and record.json() == {"searchTerms": ["input-back"], "maxItems": 2}
    assert apify("GET", f"/v2/actor-runs/{run['id']}/key-value-store/records/OUTPUT").status_code == 404


def test_it_refuses_a_start_time_that_is_not_a_date(apify):
    response = apify("GET", TWEETS, params={"startedAfter": "yesterday"})
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid-input"


# Apify: the other actors


def actor_items(apify, actor, actor_input):
    run = apify("POST", f"/v2/acts/{actor}/runs", json=actor_input, params={"waitForFinish": 1}).json()["data"]
    assert run["status"] == "SUCCEEDED"
    return apify("GET", f"/v2/datasets/{run['defaultDatasetId']}/items").json()


def test_the_tweet_scraper_reads_the_tweets_of_twitter_handles(apify):
    items = actor_items(apify, "apidojo~tweet-scraper", {"twitterHandles": ["nasa"], "maxItems": 2})
    assert [item["author"]["userName"] for item in items] == ["nasa", "nasa"]


def test_the_website_crawler_answers_pages_up_to_max_crawl_pages(apify):
    items = actor_items(
        apify,
        "apify~website-content-crawler",
        {"startUrls": [{"url": "https://docs.example.com/guide"}], "maxCrawlPages": 2},
    )
    assert len(items) == 2 and items[0]["url"] == "https://docs.example.com/guide"
    assert items[1]["url"].startswith("https://docs.example.com/guide/") and items[1]["crawl"]["depth"] == 1
    assert {"url", "crawl", "metadata", "text", "markdown"} <= items[0].keys()
    assert items[0]["markdown"].startswith(f"# {items[0]['metadata']['title']}")


def test_the_website_crawler_reads_only_the_start_urls_at_depth_0_and_markdown_only_when_asked(apify):
    start = ["https://a.example.com/", "https://b.example.com/"]
    items = actor_items(
        apify,
        "apify~website-content-crawler",
        {"startUrls": start, "maxCrawlDepth": 0, "saveMarkdown": False, "saveHtml": True},
    )
    assert [item["url"] for item in items] == start
    assert all("markdown" not in item and item["html"].startswith("<h1>") for item in items)


def test_the_places_scraper_answers_max_places_for_each_search(apify):
    items = actor_items(
        apify,
        "compass~crawler-google-places",
        {
            "searchStringsArray": ["bakery", "florist"],
            "locationQuery": "Prague, Czechia",
            "maxCrawledPlacesPerSearch": 3,
        },
    )
    assert [(item["searchString"], item["rank"]) for item in items] == [
        ("bakery", 1),
        ("bakery", 2),
        ("bakery", 3),
        ("florist", 1),
        ("florist", 2),
        ("florist", 3),
    ]
    assert {(item["city"], item["countryCode"]) for item in items} == {("Prague", "CZ")}
    assert {
        "title",
        "address",
        "phone",
        "website",
        "location",
        "totalScore",
        "reviewsCount",
        "placeId",
        "url",
    } <= items[0].keys()


def test_the_instagram_scraper_answers_results_limit_posts_for_each_url(apify):
    urls = ["https://www.instagram.com/natgeo/", "https://www.instagram.com/nasa/"]
    items = actor_items(apify, "apify~instagram-scraper", {"directUrls": urls, "resultsLimit": 2})
    assert [item["ownerUsername"] for item in items] == ["natgeo", "natgeo", "nasa", "nasa"]
    assert {"id", "type", "shortCode", "caption", "url", "likesCount", "commentsCount", "timestamp"} <= items[0].keys()


@pytest.mark.parametrize(
    "kind, fields",
    [
        ("details", {"username", "followersCount", "postsCount", "biography"}),
        ("comments", {"id", "text", "ownerUsername", "postUrl"}),
    ],
)
def test_the_instagram_scraper_answers_profiles_or_comments_by_results_type(apify, kind, fields):
    items = actor_items(
        apify,
        "apify~instagram-scraper",
        {"directUrls": ["https://www.instagram.com/natgeo/"], "resultsType": kind, "resultsLimit": 3},
    )
    assert len(items) == (1 if kind == "details" else 3) and fields <= items[0].keys()


@pytest.mark.parametrize(
    "actor, actor_input",
    [
        ("apidojo~tweet-scraper", {"maxItems": 5}),
        ("apify~website-content-crawler", {"startUrls": ["not a url"]}),
        ("compass~crawler-google-places", {"locationQuery": "Prague"}),
        ("apify~instagram-scraper", {"resultsLimit": 5}),
        ("apify~instagram-scraper", {"directUrls": ["https://www.instagram.com/nasa/"], "resultsType": "stories"}),
    ],
)
def test_each_actor_refuses_an_input_without_what_it_reads(apify, actor, actor_input):
    response = apify("POST", f"/v2/acts/{actor}/runs", json=actor_input)
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid-input"


@pytest.mark.parametrize(
    "actor, actor_input",
    [
        ("apify~website-content-crawler", {"startUrls": ["https://example.com/emulator:fail"]}),
        ("compass~crawler-google-places", {"searchStringsArray": ["emulator:fail"]}),
        ("apify~instagram-scraper", {"directUrls": ["https://www.instagram.com/emulator:fail/"]}),
    ],
)
def test_the_magic_inputs_work_for_every_actor(apify, actor, actor_input):
    run = apify("POST", f"/v2/acts/{actor}/runs", json=actor_input, params={"waitForFinish": 1}).json()["data"]
    assert run["status"] == "FAILED"


def test_every_actor_answers_the_same_items_for_the_same_input(apify):
    places = {"searchStringsArray": ["bakery"], "maxCrawledPlacesPerSearch": 2}
    assert actor_items(apify, "compass~crawler-google-places", places) == actor_items(
        apify, "compass~crawler-google-places", places
    )
