"""Catalog and discovery: GET /v1/endpoints, POST /v1/discover and /v1/inspect, and the keyless /public/v1 registry."""

import datetime
import json
import shlex

import pytest
import yaml
from django.db import connection
from django.utils import timezone

from providers.engine.loader import BUNDLED
from providers.models import Endpoint, EndpointHealthSample, Provider
from providers.search import endpoints_search

pytestmark = pytest.mark.django_db


def get(client, url, key=None):
    return client.get(url, **({"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}))


def post(client, url, body, key):
    return client.post(url, data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")


def discover(client, key, query, **more):
    return post(client, "/v1/discover", {"query": query, **more}, key)


def inspect(client, key, provider, path):
    response = post(client, "/v1/inspect", {"provider": provider, "endpoint": path}, key)
    assert response.status_code == 200
    return response.json()


def sampled(path, state, *, ago=datetime.timedelta(0), median_ms=700, p95_ms=900):
    """A health sample of the endpoint, as runs.health stores them, `ago` before now."""
    EndpointHealthSample.objects.create(
        endpoint=Endpoint.objects.get(path=path),
        at=timezone.now() - ago,
        state=state,
        counted=20,
        successes=20 if state == "healthy" else 0,
        median_ms=median_ms,
        p95_ms=p95_ms,
    )


def enabled_catalog():
    return Endpoint.objects.filter(enabled=True, provider__enabled=True)


def walk(client, url, key=None):
    """Every item of a cursor-paginated list, three at a time, and the pages' bodies."""
    items, pages, cursor = [], [], ""
    while True:
        page = get(client, f"{url}?limit=3&cursor={cursor}", key)
        assert page.status_code == 200
        pages.append(page.json())
        items += page.json()["items"]
        cursor = page.json()["cursor"]
        if cursor is None:
            return items, pages


@pytest.fixture
def hidden(catalog):
    """One disabled endpoint, and a disabled provider whose endpoint is itself enabled: neither may show."""
    Endpoint.objects.filter(path="/person/identify").update(enabled=False)
    ghost = Provider.objects.create(slug="ghost", name="Ghost Data", mode="sync", enabled=False)
    Endpoint.objects.create(
        provider=ghost,
        path="/tweets/identify",
        name="Tweet identify",
        tags=["twitter"],
        description="Twitter posts and people, identified.",
        price_micros=1,
    )


# GET /v1/endpoints


def test_the_catalog_lists_each_endpoint_with_its_provider_and_price(client, alice_key):
    response = get(client, "/v1/endpoints?limit=100", alice_key)
    assert response.status_code == 200
    body = response.json()
    enrich = Endpoint.objects.select_related("provider").get(path="/person/enrich")
    assert body["items"][[item["endpoint"] for item in body["items"]].index("/person/enrich")] == {
        "provider": "pdl",
        "providerDisplayName": enrich.provider.name,
        "providerDisplayDescription": enrich.provider.description,
        "endpoint": "/person/enrich",
        "displayName": enrich.name,
        "displayDescription": enrich.description,
        "price": {"type": "PER_CALL", "amount": 0.003, "currency": "USD"},
        "tags": enrich.tags,
    }
    assert body["cursor"] is None and body["total"] == Endpoint.objects.count() == len(body["items"])


def test_the_catalog_pages_by_provider_and_path_with_the_total_on_every_page(client, alice_key):
    items, pages = walk(client, "/v1/endpoints", alice_key)
    assert [(item["provider"], item["endpoint"]) for item in items] == sorted(
        enabled_catalog().values_list("provider__slug", "path")
    )
    assert {page["total"] for page in pages} == {len(items)}
    assert all(page["items"] for page in pages)  # never a cursor to an empty page


def test_the_catalog_hides_disabled_endpoints_and_the_endpoints_of_disabled_providers(client, alice_key, hidden):
    body = get(client, "/v1/endpoints?limit=100", alice_key).json()
    shown = {(item["provider"], item["endpoint"]) for item in body["items"]}
    assert ("pdl", "/person/identify") not in shown and ("ghost", "/tweets/identify") not in shown
    assert body["total"] == len(shown) == enabled_catalog().count()


def test_an_endpoint_without_a_name_shows_its_path_as_its_name(client, alice_key):
    Endpoint.objects.filter(path="/person/enrich").update(name="")
    items = get(client, "/v1/endpoints?limit=100", alice_key).json()["items"]
    assert next(item for item in items if item["endpoint"] == "/person/enrich")["displayName"] == "/person/enrich"


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "limit=", "cursor=forged"])
def test_a_bad_page_request_is_a_400(client, alice_key, query):
    response = get(client, f"/v1/endpoints?{query}", alice_key)
    assert response.status_code == 400 and response.json()["code"] == 400


def test_a_cursor_of_another_list_is_refused(client, alice_key):
    cursor = get(client, "/public/v1/providers?limit=1").json()["cursor"]
    assert get(client, f"/v1/endpoints?cursor={cursor}", alice_key).status_code == 400


# POST /v1/discover


@pytest.mark.parametrize(
    "query, provider, path",
    [
        ("twitter posts", "apify", "/apidojo/tweet-scraper"),
        ("enrich a person by email", "pdl", "/person/enrich"),
        ("company data", "pdl", "/company/enrich"),
        ("places on google maps with opening hours", "apify", "/compass/crawler-google-places"),
        ("crawl a website", "tavily", "/crawl"),
        ("instagram posts", "apify", "/apify/instagram-scraper"),
    ],
)
def test_discover_puts_the_obviously_right_endpoint_first(client, alice_key, query, provider, path):
    response = discover(client, alice_key, query)
    assert response.status_code == 200
    first = response.json()["results"][0]
    assert (first["provider"], first["endpoint"]) == (provider, path)


def test_discover_answers_each_result_with_its_price_and_a_score_best_first(client, alice_key):
    response = discover(client, alice_key, "twitter posts", limit=2)
    assert response.status_code == 200
    body = response.json()
    tweets = Endpoint.objects.select_related("provider").get(path="/apidojo/tweet-scraper")
    first = body["results"][0]
    assert first == {
        "provider": "apify",
        "providerName": tweets.provider.name,
        "endpoint": "/apidojo/tweet-scraper",
        "name": tweets.name,
        "description": tweets.description,
        "price": {"type": "PER_RESULT", "amount": 0.0004, "currency": "USD", "flatFee": 0.0},
        "tags": tweets.tags,
        "score": first["score"],
    }
    scores = [result["score"] for result in body["results"]]
    assert scores == sorted(scores, reverse=True) and all(0 < score <= 1 for score in scores)
    assert (body["query"], body["count"]) == ("twitter posts", len(body["results"])) and body["count"] <= 2


def test_discover_gives_five_results_unless_asked_for_another_number(client, alice_key):
    assert discover(client, alice_key, "person company website data scraper").json()["count"] == 5
    assert discover(client, alice_key, "person company website data scraper", limit=1).json()["count"] == 1


def test_a_min_score_leaves_out_the_results_below_it(client, alice_key):
    every = discover(client, alice_key, "twitter posts", limit=50).json()["results"]
    kept = discover(client, alice_key, "twitter posts", limit=50, minScore=0.5).json()
    assert 0 < kept["count"] < len(every)
    assert kept["results"] == [result for result in every if result["score"] >= 0.5]


def test_an_endpoint_in_outage_is_left_out_and_the_next_match_takes_its_place(client, alice_key):
    before = [result["endpoint"] for result in discover(client, alice_key, "twitter posts", limit=3).json()["results"]]
    sampled("/apidojo/tweet-scraper", "outage")
    body = discover(client, alice_key, "twitter posts", limit=3).json()
    after = [result["endpoint"] for result in body["results"]]
    assert before[0] == "/apidojo/tweet-scraper" and body["count"] == 3
    assert after[:2] == before[1:] and "/apidojo/tweet-scraper" not in after


def test_asked_for_an_endpoint_in_outage_is_included_last(client, alice_key):
    before = [result["endpoint"] for result in discover(client, alice_key, "twitter posts", limit=3).json()["results"]]
    sampled("/apidojo/tweet-scraper", "outage")
    results = discover(client, alice_key, "twitter posts", limit=3, includeUnavailable=True).json()["results"]
    assert [result["endpoint"] for result in results] == before[1:] + before[:1]
    assert results[-1]["metrics"] == {"status": "outage", "runTimeMs": {"p50": 700, "p95": 900}}


@pytest.mark.parametrize(
    "state, ago, status",
    [
        ("healthy", datetime.timedelta(0), "healthy"),
        ("degraded", datetime.timedelta(0), "degraded"),
        ("healthy", datetime.timedelta(hours=3), "stable"),  # no live signal, a clean recent history
        ("outage", datetime.timedelta(hours=3), "degraded"),  # no live signal, errors of late
    ],
)
def test_discover_and_inspect_give_health_in_monids_words(client, alice_key, state, ago, status):
    sampled("/person/enrich", state, ago=ago, median_ms=250, p95_ms=1200)
    [result] = discover(client, alice_key, "enrich a person by email", limit=1).json()["results"]
    metrics = {"status": status, "runTimeMs": {"p50": 250, "p95": 1200}}
    assert result["metrics"] == inspect(client, alice_key, "pdl", "/person/enrich")["metrics"] == metrics


def test_a_live_unknown_gives_way_to_the_last_known_state_of_the_day(client, alice_key):
    sampled("/person/enrich", "healthy", ago=datetime.timedelta(minutes=5))
    sampled("/person/enrich", "unknown", median_ms=None, p95_ms=None)  # too few runs in the window
    assert inspect(client, alice_key, "pdl", "/person/enrich")["metrics"]["status"] == "stable"


def test_nothing_known_of_an_endpoint_gives_no_metrics(client, alice_key):
    sampled("/person/enrich", "healthy", ago=datetime.timedelta(hours=25))  # older than the day looked back on
    assert "metrics" not in inspect(client, alice_key, "pdl", "/person/enrich")


def test_discover_hints_inspecting_its_best_result_and_nothing_without_one(client, alice_key):
    assert discover(client, alice_key, "twitter posts").json()["hints"] == {
        "next": "monid inspect -p apify -e /apidojo/tweet-scraper"
    }
    assert "hints" not in discover(client, alice_key, "a the of").json()


@pytest.mark.parametrize(
    "query, path",
    [
        ("tweeting", "/apidojo/tweet-scraper"),  # stemmed
        ("instag", "/apify/instagram-scraper"),  # the start of a word
        ("TWITTER", "/apidojo/tweet-scraper"),
        ("google-maps", "/compass/crawler-google-places"),
    ],
)
def test_discover_matches_stems_and_partial_words_whatever_their_case(client, alice_key, query, path):
    assert path in [result["endpoint"] for result in discover(client, alice_key, query).json()["results"]]


def test_an_exact_word_ranks_above_a_word_that_merely_begins_with_it(alice_key):
    pdl = Provider.objects.get(slug="pdl")
    Endpoint.objects.create(provider=pdl, path="/x/one", name="Quux", description="", price_micros=1)
    Endpoint.objects.create(provider=pdl, path="/x/two", name="Quuxes galore", description="", price_micros=1)
    Endpoint.objects.create(provider=pdl, path="/x/three", name="Quuxotic", description="", price_micros=1)
    assert [endpoint.path for endpoint in endpoints_search("quux", 5)][-1] == "/x/three"


def test_discover_never_shows_disabled_endpoints_or_providers(client, alice_key, hidden):
    results = discover(client, alice_key, "identify twitter", limit=50).json()["results"]
    shown = {result["endpoint"] for result in results}
    assert shown and not shown & {"/person/identify", "/tweets/identify"}


HOSTILE = [
    '"',
    "'",
    "AND",
    "OR NOT",
    "*",
    "NEAR(",
    "NEAR(a b",
    "((",
    ")",
    "name: x",
    "{name path}: x",
    ":*",
    "a:*",
    "!&|<->",
    "\\",
    "-",
    "^x",
    "émigré naïve",
    "日本語の検索",
    "🙂 twitter",
    "x" * 1000,
    "a " * 500,
    "%s %%s",
    "very",
    "'; DROP TABLE providers_endpoint; --",
    "\u200b",
    "twitter\u0301",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_no_query_can_break_discover(client, alice_key, query):
    response = discover(client, alice_key, query)
    assert response.status_code in (200, 400)  # 400: blank once trimmed
    if response.status_code == 200:
        assert response.json()["count"] == len(response.json()["results"])
    assert Endpoint.objects.exists()


@pytest.mark.parametrize("query", [q[:200] for q in HOSTILE if q.strip()])
def test_no_query_can_break_the_public_search(client, query):
    response = client.get("/public/v1/search", {"q": query})
    assert response.status_code == 200


def test_words_that_say_nothing_find_nothing(client, alice_key):
    body = discover(client, alice_key, "a the of").json()
    assert (body["results"], body["count"]) == ([], 0)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"query": ""},
        {"query": "   "},
        {"query": "x" * 1001},
        {"query": 42},
        {"query": ["twitter"]},
        {"query": "twitter", "limit": 0},
        {"query": "twitter", "limit": 51},
        {"query": "twitter", "limit": "5"},
        {"query": "twitter", "limit": 2.5},
        {"query": "twitter", "limit": True},
        {"query": "twitter", "minScore": -0.1},
        {"query": "twitter", "minScore": 1.5},
        {"query": "twitter", "minScore": "0.5"},
        {"query": "twitter", "minScore": True},
        {"query": "twitter", "includeUnavailable": "true"},
        {"query": "twitter", "includeUnavailable": 1},
        {"query": "twitter", "includeUnavailable": None},
        {"query": "twitter", "min_score": 0.5},
    ],
)
def test_discover_refuses_a_bad_body_with_a_400(client, alice_key, body):
    response = post(client, "/v1/discover", body, alice_key)
    assert response.status_code == 400
    assert response.json()["code"] == 400 and response.json()["message"]


def test_discover_refuses_a_body_that_is_not_json(client, alice_key):
    response = client.post(
        "/v1/discover", data="twitter", content_type="text/plain", HTTP_AUTHORIZATION=f"Bearer {alice_key}"
    )
    assert response.status_code == 415


# POST /v1/inspect


def test_inspect_tells_everything_needed_to_call_an_endpoint(client, alice_key):
    body = inspect(client, alice_key, "pdl", "/person/enrich")
    enrich = Endpoint.objects.select_related("provider").get(path="/person/enrich")
    assert body == {
        "provider": "pdl",
        "providerName": enrich.provider.name,
        "endpoint": "/person/enrich",
        "name": enrich.name,
        "description": enrich.description,
        "summary": enrich.input_schema["description"],
        "price": {"type": "PER_CALL", "amount": 0.003, "currency": "USD"},
        "method": "GET",
        "docUrl": enrich.doc_url,
        "notes": body["notes"],
        "tags": enrich.tags,
        "input": {"queryParams": {"type": "object", "properties": enrich.input_schema["properties"]}},
        "inputSchema": enrich.input_schema,
        "hints": {"next": """monid run -p pdl -e /person/enrich --query '{"email": "sean@peopledatalabs.com"}'"""},
    }


def test_inspect_gives_the_notes_as_a_list_one_note_each_as_the_connector_file_has_them(client, alice_key):
    notes = inspect(client, alice_key, "pdl", "/person/enrich")["notes"]
    assert notes == yaml.safe_load((BUNDLED / "pdl/endpoints/person-enrich.yaml").read_text())["notes"]
    assert len(notes) == 5 and notes[0].startswith("Answers the single best match")


def test_notes_an_operator_wrote_one_a_line_are_one_note_a_line(client, alice_key):
    Endpoint.objects.filter(path="/person/enrich").update(notes="First, this.\n\n  Then that.  \n")
    assert inspect(client, alice_key, "pdl", "/person/enrich")["notes"] == ["First, this.", "Then that."]


def test_inspect_places_an_actors_whole_input_in_a_json_body(client, alice_key):
    body = inspect(client, alice_key, "apify", "/apidojo/tweet-scraper")
    schema = Endpoint.objects.get(path="/apidojo/tweet-scraper").input_schema
    assert body["input"] == {"body": {"type": "object", "properties": schema["properties"]}, "bodyType": "json"}


def test_inspect_places_each_parameter_where_the_request_sends_it(client, alice_key):
    Endpoint.objects.create(
        provider=Provider.objects.get(slug="pdl"),
        path="/users/lookup",
        name="User lookup",
        price_micros=1,
        request={"method": "POST", "path": "/v1/users/{id}", "params": "query", "in": {"verbose": "body"}},
        input_schema={
            "type": "object",
            "required": ["id", "fields"],
            "examples": [{"id": "u'1", "verbose": True}],
            "properties": {"id": {"type": "string"}, "fields": {"type": "string"}, "verbose": {"type": "boolean"}},
        },
    )
    body = inspect(client, alice_key, "pdl", "/users/lookup")
    assert body["input"] == {
        "pathParams": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
        "queryParams": {"type": "object", "properties": {"fields": {"type": "string"}}, "required": ["fields"]},
        "body": {"type": "object", "properties": {"verbose": {"type": "boolean"}}},
        "bodyType": "json",
    }
    command = shlex.split(body["hints"]["next"])
    assert command[:6] == ["monid", "run", "-p", "pdl", "-e", "/users/lookup"]
    assert dict(zip(command[6::2], map(json.loads, command[7::2]))) == {
        "--path": {"id": "u'1"},
        "-i": {"verbose": True},
    }


def test_an_endpoint_without_parameters_has_an_empty_input(client, alice_key):
    Endpoint.objects.filter(path="/person/enrich").update(input_schema={"type": "object"})
    body = inspect(client, alice_key, "pdl", "/person/enrich")
    assert (body["input"], body["hints"]["next"]) == ({}, "monid run -p pdl -e /person/enrich")


def test_an_example_an_operator_typed_that_is_not_an_object_hints_a_run_without_input(client, alice_key):
    Endpoint.objects.filter(path="/person/enrich").update(input_schema={"type": "object", "examples": ["sean"]})
    assert inspect(client, alice_key, "pdl", "/person/enrich")["hints"]["next"] == "monid run -p pdl -e /person/enrich"


def test_inspect_hints_a_run_of_the_first_example_waiting_for_an_async_provider(client, alice_key):
    hint = inspect(client, alice_key, "apify", "/apidojo/tweet-scraper")["hints"]["next"]
    assert hint == """monid run -p apify -e /apidojo/tweet-scraper -i '{"maxItems": 10, "searchTerms": ["AI"]}' -w"""


def test_the_summary_is_what_to_give_else_the_endpoints_title(client, alice_key):
    Endpoint.objects.filter(path="/person/enrich").update(input_schema={"type": "object"})
    assert inspect(client, alice_key, "pdl", "/person/enrich")["summary"] == "Person enrichment"


def test_a_per_result_price_explains_what_it_counts_its_fee_and_its_hold(client, alice_key):
    price = inspect(client, alice_key, "apify", "/compass/crawler-google-places")["price"]
    assert price == {
        "type": "PER_RESULT",
        "amount": 0.005,
        "currency": "USD",
        "flatFee": 0.01,
        "notes": [
            "Charged per place returned: $0.005 each.",
            "Plus $0.01 once per run, even one that returns nothing.",
            "Each run is first held for the most units its input can bill (at most 5,000), worked out from "
            "maxCrawledPlacesPerSearch (50 if not given) and the rest of the input; it is never charged more than that "
            "hold.",
        ],
    }


def test_a_price_in_credits_says_they_are_counted_from_the_answer(client, alice_key):
    notes = inspect(client, alice_key, "serper", "/search")["price"]["notes"]
    assert notes == [
        "Charged per credit, as the provider's answer counts it: $0.001 each.",
        "Each run is first held for the most units its input can bill (at most 10); it is never "
        "charged more than that hold.",
    ]


def test_inspect_shows_a_per_result_price_with_its_flat_fee(client, alice_key):
    Endpoint.objects.filter(path="/apidojo/tweet-scraper").update(
        price_type="PER_RESULT", price_micros=400, flat_fee_micros=20_000
    )
    price = inspect(client, alice_key, "apify", "/apidojo/tweet-scraper")["price"]
    assert (price["type"], price["amount"], price["currency"], price["flatFee"]) == ("PER_RESULT", 0.0004, "USD", 0.02)
    assert "Plus $0.02 once per run, even one that returns nothing." in price["notes"]


def test_inspect_falls_back_to_the_providers_documentation(client, alice_key):
    Endpoint.objects.filter(path="/person/enrich").update(doc_url="")
    Provider.objects.filter(slug="pdl").update(doc_url="https://docs.example.com/")
    body = post(client, "/v1/inspect", {"provider": "pdl", "endpoint": "/person/enrich"}, alice_key).json()
    assert body["docUrl"] == "https://docs.example.com/"


@pytest.mark.parametrize(
    "provider, path",
    [
        ("pdl", "/person/nobody"),
        ("nobody", "/person/enrich"),
        ("pdl", "person/enrich"),
        ("pdl", "/person/identify"),
        ("ghost", "/tweets/identify"),
    ],
)
def test_inspect_answers_404_for_an_unknown_or_disabled_endpoint(client, alice_key, hidden, provider, path):
    response = post(client, "/v1/inspect", {"provider": provider, "endpoint": path}, alice_key)
    assert response.status_code == 404
    assert response.json()["code"] == 404 and path in response.json()["message"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"provider": "pdl"},
        {"provider": "pdl", "endpoint": 1},
        {"provider": "pdl", "endpoint": "/person/enrich", "input": {}},
    ],
)
def test_inspect_refuses_a_bad_body_with_a_400(client, alice_key, body):
    response = post(client, "/v1/inspect", body, alice_key)
    assert (response.status_code, response.json()["code"]) == (400, 400)


# Keys

V1_ROUTES = [
    ("get", "/v1/endpoints", None),
    ("post", "/v1/discover", {"query": "twitter"}),
    ("post", "/v1/inspect", {"provider": "pdl", "endpoint": "/person/enrich"}),
]


@pytest.mark.parametrize("method, url, body", V1_ROUTES)
@pytest.mark.parametrize("authorization", [None, "Bearer monid_live_" + "x" * 32, "Token abc"])
def test_the_v1_catalog_routes_refuse_a_bad_key(client, catalog, method, url, body, authorization):
    kwargs = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    response = getattr(client, method)(url, **kwargs)
    assert response.status_code == 401
    assert response.json()["code"] == 401 and response["WWW-Authenticate"].startswith("Bearer")


def test_a_test_key_sees_the_same_catalog(client, alice_test_key):
    first = discover(client, alice_test_key, "twitter posts").json()["results"][0]
    assert first["endpoint"] == "/apidojo/tweet-scraper"


# /public/v1


def test_the_stats_count_what_the_catalog_lists(client, hidden):
    Provider.objects.create(slug="empty", name="Empty", mode="sync")  # enabled, but with nothing to call
    response = client.get("/public/v1/stats")
    assert response.status_code == 200
    assert response.json() == {
        "endpointCount": enabled_catalog().count(),
        "providerCount": enabled_catalog().values("provider").distinct().count(),
    }


def test_the_public_routes_need_no_key_and_ignore_a_bad_one(client, catalog):
    for url in [
        "/public/v1/stats",
        "/public/v1/providers",
        "/public/v1/providers/pdl/endpoints",
        "/public/v1/providers/apify/endpoints/apidojo/tweet-scraper",
        "/public/v1/search?q=twitter",
    ]:
        assert client.get(url).status_code == 200, url
        assert client.get(url, HTTP_AUTHORIZATION="Bearer monid_live_wrong").status_code == 200, url


def test_public_answers_may_be_cached_for_a_minute_but_errors_may_not(client, catalog):
    response = client.get("/public/v1/providers")
    assert "public" in response["Cache-Control"] and "max-age=60" in response["Cache-Control"]
    assert not client.get("/public/v1/providers/nobody/endpoints").has_header("Cache-Control")


def test_the_public_providers_list_gives_each_its_count_of_enabled_endpoints(client, hidden):
    Provider.objects.create(slug="empty", name="Empty", mode="sync")
    items, _ = walk(client, "/public/v1/providers")
    pdl = Provider.objects.get(slug="pdl")
    assert [item["provider"] for item in items] == sorted(
        set(enabled_catalog().values_list("provider__slug", flat=True))
    )
    assert next(item for item in items if item["provider"] == "pdl") == {
        "provider": "pdl",
        "displayName": pdl.name,
        "displayDescription": pdl.description,
        "docUrl": pdl.doc_url,
        "endpointCount": enabled_catalog().filter(provider=pdl).count(),
    }


def test_the_public_providers_list_pages_one_at_a_time(client, catalog):
    slugs = sorted(set(Endpoint.objects.values_list("provider__slug", flat=True)))
    first = client.get("/public/v1/providers?limit=1").json()
    second = client.get(f"/public/v1/providers?limit=1&cursor={first['cursor']}").json()
    assert [first["items"][0]["provider"], second["items"][0]["provider"]] == slugs[:2] and second["cursor"]


def test_a_providers_endpoints_are_listed_by_path_with_their_total(client, hidden):
    items, pages = walk(client, "/public/v1/providers/pdl/endpoints")
    expected = sorted(enabled_catalog().filter(provider__slug="pdl").values_list("path", flat=True))
    assert [item["endpoint"] for item in items] == expected and "/person/identify" not in expected
    assert {page["total"] for page in pages} == {len(expected)}
    assert {item["provider"] for item in items} == {"pdl"}


def test_a_cursor_of_one_providers_endpoints_is_refused_by_another(client, catalog):
    cursor = client.get("/public/v1/providers/pdl/endpoints?limit=1").json()["cursor"]
    assert client.get(f"/public/v1/providers/apify/endpoints?cursor={cursor}").status_code == 400


@pytest.mark.parametrize("provider", ["nobody", "ghost", "empty", "pdl%00"])
def test_the_endpoints_of_an_unknown_disabled_or_empty_provider_are_a_404(client, hidden, provider):
    Provider.objects.create(slug="empty", name="Empty", mode="sync")
    response = client.get(f"/public/v1/providers/{provider}/endpoints")
    assert (response.status_code, response.json()["code"]) == (404, 404)


def test_one_endpoints_card_is_found_by_its_path_slashes_and_all(client, catalog):
    response = client.get("/public/v1/providers/apify/endpoints/apidojo/tweet-scraper")
    assert response.status_code == 200
    body = response.json()
    assert (body["provider"], body["endpoint"], body["price"]["amount"]) == ("apify", "/apidojo/tweet-scraper", 0.0004)
    assert set(body) == {
        "provider",
        "providerDisplayName",
        "providerDisplayDescription",
        "endpoint",
        "displayName",
        "displayDescription",
        "price",
        "tags",
    }


@pytest.mark.parametrize(
    "url",
    [
        "/public/v1/providers/pdl/endpoints/person/identify",
        "/public/v1/providers/ghost/endpoints/tweets/identify",
        "/public/v1/providers/pdl/endpoints/person/nobody",
        "/public/v1/providers/pdl/endpoints/person/enrich%00",
    ],
)
def test_an_unknown_or_disabled_endpoints_card_is_a_404(client, hidden, url):
    response = client.get(url)
    assert (response.status_code, response.json()["code"]) == (404, 404)


def test_the_public_search_ranks_like_discover(client, catalog):
    response = client.get("/public/v1/search", {"q": "enrich a person by email", "limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert (body["query"], body["count"], len(body["items"])) == ("enrich a person by email", 2, 2)
    assert body["items"][0]["endpoint"] == "/person/enrich" and 0 < body["items"][0]["score"] <= 1
    assert body["items"][0]["displayName"] == Endpoint.objects.get(path="/person/enrich").name


def test_the_public_search_never_shows_what_is_disabled(client, hidden):
    shown = {item["endpoint"] for item in client.get("/public/v1/search?q=identify+twitter&limit=20").json()["items"]}
    assert shown and not shown & {"/person/identify", "/tweets/identify"}


@pytest.mark.parametrize(
    "query",
    ["", "?q=", "?q=" + "x" * 201, "?q=twitter%00", "?q=twitter&limit=0", "?q=twitter&limit=21", "?q=twitter&limit="],
)
def test_the_public_search_refuses_a_missing_empty_or_too_long_query(client, catalog, query):
    response = client.get(f"/public/v1/search{query}")
    assert (response.status_code, response.json()["code"]) == (400, 400)


@pytest.mark.parametrize(
    "method, url",
    [
        ("get", "/public/v1/nothing"),
        ("get", "/public/v1"),
        ("get", "/public/v1/providers/pdl"),
        ("post", "/public/v1/stats"),
    ],
)
def test_unknown_public_routes_and_methods_answer_in_the_error_shape(client, catalog, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == (405 if method == "post" else 404)
    assert response.json()["code"] == response.status_code and response.json()["message"]


# The index


def test_the_search_follows_every_change_to_an_endpoint(catalog):
    enrich = Endpoint.objects.get(path="/person/enrich")
    enrich.description, enrich.tags = "Zebras, catalogued.", ["okapi"]
    enrich.save()
    assert [endpoint.path for endpoint in endpoints_search("zebra okapi", 5)] == ["/person/enrich"]
    enrich.description = "Giraffes."
    enrich.save(update_fields=["description"])
    assert [endpoint.path for endpoint in endpoints_search("zebra", 5)] == []
    enrich.delete()
    assert [endpoint.path for endpoint in endpoints_search("giraffe okapi", 5)] == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan")
def test_postgresql_searches_through_the_gin_index(catalog):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT id FROM providers_endpoint WHERE search_vector @@ to_tsquery('twitter')")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "providers_endpoint_search" in plan
