import json

import pytest

from billing.api_keys import api_key_revoke
from billing.models import KeyDailyCost
from runs.models import Run

pytestmark = pytest.mark.django_db

GOOD = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}}


def post_raw(client, key, data, content_type="application/json"):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return client.post("/v1/run", data=data, content_type=content_type, **headers)


def assert_error(response, status, *words):
    assert response.status_code == status
    body = response.json()
    assert body["code"] == status
    for word in words:
        assert word in body["message"]
    assert response["x-request-id"]
    assert not Run.objects.exists() and not KeyDailyCost.objects.exists()
    return body


def test_it_refuses_a_request_without_a_key(client, catalog):
    assert_error(post_raw(client, None, json.dumps(GOOD)), 401, "Missing API key")


@pytest.mark.parametrize("header", ["Bearer monid_live_nope", "Basic abc", "Bearer ", "monid_live_x"])
def test_it_refuses_a_malformed_or_unknown_key(client, catalog, header):
    response = client.post("/v1/run", data=json.dumps(GOOD), content_type="application/json", HTTP_AUTHORIZATION=header)
    assert_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_refuses_a_revoked_key(client, alice_key, alice):
    api_key_revoke(api_key=alice.workspaces.get().api_keys.get())
    assert_error(post_raw(client, alice_key, json.dumps(GOOD)), 401, "revoked")


def test_it_explains_a_body_that_is_not_json(client, alice_key):
    assert_error(post_raw(client, alice_key, "{not json"), 400, "not valid JSON")


def test_it_asks_for_json_when_the_content_type_is_something_else(client, alice_key):
    assert_error(
        post_raw(client, alice_key, "provider=pdl", content_type="application/x-www-form-urlencoded"),
        415,
        "application/json",
    )


@pytest.mark.parametrize(
    "body, words",
    [
        ({"endpoint": "/person/enrich", "input": {}}, ["provider", "required"]),
        ({"provider": "pdl", "input": {}}, ["endpoint", "required"]),
        ({**GOOD, "input": ["email"]}, ["input"]),
        ({**GOOD, "input": "email=sean@example.com"}, ["input"]),
        ({**GOOD, "provider": 7}, ["provider"]),
        ({**GOOD, "extra": 1}, ["extra"]),
        ([GOOD], ["body"]),
    ],
)
def test_it_names_the_field_that_is_missing_or_wrong(client, alice_key, body, words):
    assert_error(post_raw(client, alice_key, json.dumps(body)), 400, *words)


def test_a_missing_input_is_checked_as_an_empty_one_and_the_fields_it_needs_are_named(client, alice_key):
    body = {"provider": "jina", "endpoint": "/read"}
    assert_error(post_raw(client, alice_key, json.dumps(body)), 400, "input", "'url'")


def test_it_validates_input_against_the_endpoint_schema_and_lists_every_failure(client, alice_key):
    body = {"provider": "apify", "endpoint": "/apidojo/tweet-scraper", "input": {"searchTerms": "AI", "maxItems": 5000}}
    error = assert_error(post_raw(client, alice_key, json.dumps(body)), 400, "input")
    assert {d["path"] for d in error["details"]} == {"input.maxItems", "input.searchTerms"}


def test_it_rejects_a_composite_input_whose_parts_are_not_objects(client, alice_key):
    body = {**GOOD, "input": {"body": "x"}}
    assert_error(post_raw(client, alice_key, json.dumps(body)), 400, "input.body")


@pytest.mark.parametrize(
    "provider, endpoint", [("pdl", "/person/nope"), ("nope", "/person/enrich"), ("pdl", "person/enrich")]
)
def test_it_answers_404_for_an_unknown_provider_or_endpoint(client, alice_key, provider, endpoint):
    body = {**GOOD, "provider": provider, "endpoint": endpoint}
    assert_error(post_raw(client, alice_key, json.dumps(body)), 404, repr(endpoint))


def test_a_disabled_endpoint_is_unknown(client, alice_key):
    from providers.models import Endpoint

    Endpoint.objects.filter(path="/person/enrich").update(enabled=False)
    assert_error(post_raw(client, alice_key, json.dumps(GOOD)), 404)


def test_unknown_routes_and_methods_answer_in_the_error_shape(client, alice_key):
    assert_error(client.get("/v1/nothing-here", HTTP_AUTHORIZATION=f"Bearer {alice_key}"), 404, "/v1/nothing-here")
    assert_error(client.get("/v1/run", HTTP_AUTHORIZATION=f"Bearer {alice_key}"), 405, "GET")


def test_it_echoes_a_sane_request_id_and_replaces_an_insane_one(client, alice_key):
    sane = client.get("/v1/runs", HTTP_AUTHORIZATION=f"Bearer {alice_key}", HTTP_X_REQUEST_ID="trace-42")
    assert sane["x-request-id"] == "trace-42"
    insane = client.get("/v1/runs", HTTP_AUTHORIZATION=f"Bearer {alice_key}", HTTP_X_REQUEST_ID="<script>" * 30)
    assert insane["x-request-id"] != "<script>" * 30 and len(insane["x-request-id"]) == 26


@pytest.mark.parametrize(
    "data, words",
    [
        (
            '{"provider": "pdl", "endpoint": "/person/enrich", "input": {"x": ' + "[" * 50_000 + "]" * 50_000 + "}}",
            ["nested too deeply"],
        ),
        (
            '{"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "a\\ud800@example.com"}}',
            ["surrogate"],
        ),
        ('{"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "a\\u0000@example.com"}}', ["NUL"]),
        ('{"provider": "pdl", "endpoint": "/person/enrich", "input": {"min_likelihood": 1e400}}', ["too large"]),
        ('{"provider": "pdl", "endpoint": "/person/enrich", "input": {"min_likelihood": NaN}}', ["NaN"]),
        ('{"provider": "pdl", "endpoint": "/person/enrich", "input": {}} trailing', ["Extra data"]),
    ],
)
def test_json_that_nothing_downstream_could_store_is_a_400(client, alice_key, data, words):
    assert_error(post_raw(client, alice_key, data), 400, *words)


def test_escaped_surrogate_pairs_and_large_finite_numbers_are_taken(client, alice_test_key):
    data = (
        '{"provider": "apify", "endpoint": "/apidojo/tweet-scraper", '
        '"input": {"searchTerms": ["\\ud83d\\ude00 \\uD83D\\uDE00"], "maxItems": 10, "score": 1.5e308}}'
    )
    response = post_raw(client, alice_test_key, data)
    assert response.status_code == 202
    assert Run.objects.get().input["searchTerms"] == ["\U0001f600 \U0001f600"]


def test_a_body_over_the_size_limit_is_a_413(client, alice_key):
    body = json.dumps({**GOOD, "input": {"name": "x" * 3_000_000}})
    assert_error(post_raw(client, alice_key, body), 413, "MiB")


def test_an_email_that_is_not_an_email_fails_the_schema(client, alice_key):
    error = assert_error(post_raw(client, alice_key, json.dumps({**GOOD, "input": {"email": "sean"}})), 400)
    assert error["details"][0]["path"] == "input.email"
