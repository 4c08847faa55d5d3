"""What a run's input may be: each endpoint's bound on its size, a bound on its nesting, and a body too large for
any endpoint refused unread; none of them makes a run or charges anything."""

import json
import shutil

import pytest
import yaml

from billing.models import KeyDailyCost
from monid_site.parsers import JsonParser
from providers.engine.loader import BUNDLED
from providers.models import Endpoint
from providers.services import catalog_import
from runs.inputs import input_text
from runs.models import Run
from runs.tests.api import post_run

pytestmark = pytest.mark.django_db

TWEETS = {"provider": "apify", "endpoint": "/apidojo/tweet-scraper"}
ENRICH = {"provider": "pdl", "endpoint": "/person/enrich"}
BOUND = 64 * 1024


def refused(response, status, *words):
    """The error body of a refusal that made no run and charged nothing."""
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert body["code"] == status
    for word in words:
        assert word in body["message"]
    assert not Run.objects.exists() and not KeyDailyCost.objects.exists()
    return body


def balance(client, key):
    return client.get("/v1/wallet/balance", HTTP_AUTHORIZATION=f"Bearer {key}").json()


def padded(size: int) -> dict:
    """A valid tweet scraper input whose compact JSON is exactly `size` bytes (its schema takes other fields)."""
    base = {"searchTerms": ["AI"], "maxItems": 5, "padding": ""}
    return {**base, "padding": "x" * (size - len(input_text(base)))}


def test_an_input_exactly_at_its_endpoints_bound_is_accepted(client, alice_test_key):
    body = {**TWEETS, "input": padded(BOUND)}
    assert len(input_text(body["input"]).encode()) == BOUND
    response = post_run(client, alice_test_key, body)
    assert response.status_code == 202
    assert Run.objects.get().input == body["input"]


def test_an_input_one_byte_over_its_endpoints_bound_is_a_413_naming_the_bound(client, alice_key):
    before = balance(client, alice_key)
    error = refused(post_run(client, alice_key, {**TWEETS, "input": padded(BOUND + 1)}), 413)
    assert error["message"] == (
        "input is 65,537 bytes (64 KiB) as compact JSON; apify /apidojo/tweet-scraper takes at "
        "most 65,536 bytes (64 KiB). Send a smaller input, or split it over several runs."
    )
    assert balance(client, alice_key) == before


def test_the_size_is_the_compact_json_whatever_spacing_the_client_used(client, alice_test_key):
    spaced = json.dumps({**TWEETS, "input": padded(BOUND)}, indent=4)
    assert len(spaced) > BOUND
    response = client.post(
        "/v1/run", data=spaced, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {alice_test_key}"
    )
    assert response.status_code == 202


def test_the_composite_form_is_bounded_too(client, alice_key):
    body = {**ENRICH, "input": {"queryParams": {"email": "sean@example.com"}, "body": {"name": "x" * BOUND}}}
    refused(post_run(client, alice_key, body), 413, "pdl /person/enrich takes at most 65,536 bytes")


def nested(depth: int):
    value = "AI"
    for _ in range(depth - 1):
        value = [value]
    return {"searchTerms": ["AI"], "nested": value}  # the input object itself is the first level


def test_an_input_nested_deeper_than_32_is_refused_before_its_schema_is_read(client, alice_key):
    before = balance(client, alice_key)
    refused(post_run(client, alice_key, {**TWEETS, "input": nested(33)}), 400, "more than 32 deep")
    assert balance(client, alice_key) == before


def test_an_input_nested_exactly_32_deep_is_accepted(client, alice_test_key):
    assert post_run(client, alice_test_key, {**TWEETS, "input": nested(32)}).status_code == 202


def test_a_composite_input_is_bounded_in_depth_too(client, alice_key):
    body = {**ENRICH, "input": {"queryParams": {"email": "sean@example.com"}, "body": {"x": nested(32)}}}
    refused(post_run(client, alice_key, body), 400, "more than 32 deep")


def test_a_body_too_large_for_any_endpoint_is_refused_unread(client, alice_key, monkeypatch):
    monkeypatch.setattr(JsonParser, "parse", lambda *args: pytest.fail("the body was parsed"))
    data = json.dumps({**TWEETS, "input": {"searchTerms": [""] * 600_000}})
    response = client.post(
        "/v1/run", data=data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {alice_key}"
    )
    refused(
        response,
        413,
        f"The request body is {len(data):,} bytes (2.29 MiB); no endpoint takes an input over "
        "65,536 bytes (64 KiB) as compact JSON, so a body over 135,168 bytes (132 KiB) is not read",
    )


def test_the_largest_bound_in_the_catalog_sets_what_body_is_read(client, alice_test_key):
    Endpoint.objects.filter(path="/apidojo/tweet-scraper").update(max_input_bytes=1024 * 1024)
    big = {**TWEETS, "input": padded(200_000)}
    assert post_run(client, alice_test_key, big).status_code == 202
    too_big_for_enrich = {**ENRICH, "input": {"email": "sean@example.com", "name": "x" * 200_000}}
    response = post_run(client, alice_test_key, too_big_for_enrich)
    assert response.status_code == 413 and "pdl /person/enrich takes at most 65,536 bytes" in response.json()["message"]


def test_an_endpoint_file_may_set_its_own_bound(client, alice_test_key, tmp_path):
    folder = shutil.copytree(BUNDLED / "pdl", tmp_path / "pdl")
    file = folder / "endpoints" / "person-enrich.yaml"
    file.write_text(yaml.safe_dump({**yaml.safe_load(file.read_text()), "max_input_bytes": 2048}))
    catalog_import(folder=folder)
    assert Endpoint.objects.get(path="/person/enrich").max_input_bytes == 2048
    body = {**ENRICH, "input": {"email": "sean@example.com", "name": "x" * 2100}}
    response = post_run(client, alice_test_key, body)
    assert response.status_code == 413 and "takes at most 2,048 bytes (2 KiB)" in response.json()["message"]
    assert Endpoint.objects.get(path="/person/search").max_input_bytes == BOUND

    catalog_import(folder=BUNDLED / "pdl")  # the override taken out of the file: the default again
    assert Endpoint.objects.get(path="/person/enrich").max_input_bytes == BOUND
