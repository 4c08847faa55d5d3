"""Usage models bound the bill: a run's hold covers the most it can be charged, the provider is told not to bill
past it, and whatever the provider answers, the charge never exceeds the hold."""

import json

import pytest

from providers.engine import protocol_for
from providers.engine.loader import connectors_load
from providers.engine.replay import protocol_answer
from providers.engine.transport import FixtureTransport, Reply
from providers.engine.usage import count_of, units_estimate, units_price_micros
from providers.models import Endpoint
from runs.models import Run

pytestmark = pytest.mark.django_db


def post(client, key, provider, endpoint, input_):
    return client.post(
        "/v1/run",
        data=json.dumps({"provider": provider, "endpoint": endpoint, "input": input_}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def test_an_integral_float_is_the_same_integer_as_an_int():
    assert count_of(1000.0) == count_of(1000) == 1000
    assert (count_of(2.5), count_of(True), count_of(None), count_of(["a", "b"])) == (3, None, None, 2)


@pytest.mark.parametrize("limit", [1000, 1000.0])
def test_max_items_of_1000_is_held_and_capped_for_1000_tweets_whether_int_or_float(
    client, alice_key, limit, task_queue, apify_started
):
    response = post(client, alice_key, "apify", "/apidojo/tweet-scraper", {"searchTerms": ["AI"], "maxItems": limit})
    run = Run.objects.get(pk=response.json()["runId"])
    assert (run.estimated_units, run.held_micros) == (1000, 1000 * 400)
    task_queue.run()
    run.refresh_from_db()
    assert (run.status, run.result_count, run.billed_units) == ("COMPLETED", 1000, 1000)
    assert run.reported_cost_micros == run.held_micros == 400_000


def test_google_maps_is_held_for_each_search_times_its_limit(client, alice_key, task_queue):
    places = {
        "searchStringsArray": ["bakery", "cafe", "bar"],
        "locationQuery": "Prague, Czechia",
        "maxCrawledPlacesPerSearch": 4,
    }
    run_id = post(client, alice_key, "apify", "/compass/crawler-google-places", places).json()["runId"]
    assert Run.objects.get(pk=run_id).held_micros == 10_000 + 3 * 4 * 5_000
    task_queue.run()
    run = Run.objects.get(pk=run_id)
    assert (run.result_count, run.reported_cost_micros) == (12, 10_000 + 12 * 5_000)


def test_instagram_is_held_for_each_url_times_its_limit(client, alice_key):
    urls = ["https://www.instagram.com/natgeo/", "https://www.instagram.com/nasa/"]
    run_id = post(
        client, alice_key, "apify", "/apify/instagram-scraper", {"directUrls": urls, "resultsLimit": 7}
    ).json()["runId"]
    assert Run.objects.get(pk=run_id).held_micros == 5_000 + 2 * 7 * 3_000


def test_a_pdl_person_search_is_held_and_charged_per_record(client, alice_key, emulators):
    body = post(
        client,
        alice_key,
        "pdl",
        "/person/search",
        {"sql": "SELECT * FROM person WHERE job_title_role='engineering'", "size": 7},
    ).json()
    run = Run.objects.get(pk=body["runId"])
    assert (run.estimated_units, run.held_micros, run.result_count) == (7, 7 * 10_000, 7)
    assert run.reported_cost_micros == 7 * 10_000 and len(body["output"]["data"]) == 7


def largest_input(endpoint) -> dict:
    """The endpoint's first example with every list at its schema's longest and every estimate field at its
    schema's largest: the most an allowed input can ask for."""
    schema, params = endpoint.input_schema, dict(endpoint.input_schema["examples"][0])
    for name, value in list(params.items()):
        prop = schema["properties"].get(name, {})
        if isinstance(value, list) and value and "maxItems" in prop and not prop.get("uniqueItems"):
            params[name] = [value[0]] * prop["maxItems"]
    for factor in (endpoint.usage.get("estimate") or {}).get("factors", []):
        prop = schema["properties"].get(factor.get("field"), {})
        if "maximum" in prop:
            params[factor["field"]] = prop["maximum"]
    return params


class GreedyProvider:
    """A provider that answers as many results as it is allowed, and ten times more when nothing caps it."""

    def __init__(self, endpoint, units):
        self.endpoint, self.units, self.requests = endpoint, units, []

    def request(self, method, path, *, params=None, json=None, **_):
        if not self.requests:  # the call, or the actor's start: what it may do is set here
            caps = self.endpoint.usage.get("provider_cap")
            capped = [cap for cap in caps if cap["value"] == "units"] if isinstance(caps, list) else []
            self.allowed = min(
                (int((params if cap["in"] == "query" else json)[cap["name"]]) for cap in capped),
                default=self.units * 10,
            )
        self.requests.append({"query": params or {}, "body": json})
        allowed = self.allowed
        items = [{"n": i} for i in range(allowed)]
        body = (
            {"data": {"id": "greedy", "status": "SUCCEEDED", "defaultDatasetId": "d", "usageTotalUsd": 0}}
            if "/runs" in path or "/actor-runs/" in path
            else items
            if "/datasets/" in path
            else {"status": 200, "data": items, "total": allowed, "matches": items}
        )
        return Reply(
            status=200,
            headers={"x-apify-pagination-total": str(len(items)), "x-call-credits-spent": str(allowed)},
            body=body,
            size=100,
        )


@pytest.mark.parametrize(
    "path",
    [
        spec
        for spec in [
            "/person/enrich",
            "/person/search",
            "/person/identify",
            "/company/enrich",
            "/apidojo/tweet-scraper",
            "/apify/website-content-crawler",
            "/compass/crawler-google-places",
            "/apify/instagram-scraper",
        ]
    ],
)
def test_every_endpoints_largest_input_is_refused_or_held_for_all_it_can_be_charged(
    client, alice_key, catalog, path, monkeypatch
):
    endpoint = Endpoint.objects.select_related("provider").get(path=path)
    params = largest_input(endpoint)
    response = post(client, alice_key, endpoint.provider.slug, path, params)
    if response.status_code == 400:
        assert "at most" in response.json()["message"] and not Run.objects.exists()
        return
    run = Run.objects.get(pk=response.json()["runId"])
    greedy = GreedyProvider(endpoint, run.estimated_units)
    protocol = protocol_for(endpoint, sandbox=False)
    protocol.transport = greedy
    answer = protocol_answer(
        protocol, params=params, units=run.estimated_units, hold=run.held_micros, price_type=endpoint.price_type
    )
    billed = answer.billed_units if endpoint.price_type in ("PER_RESULT", "CREDITS") else None
    charge = units_price_micros(
        price_type=run.price_type,
        price_micros=run.price_micros,
        flat_fee_micros=run.flat_fee_micros,
        units=min(billed or 0, run.estimated_units),
    )
    assert charge <= run.held_micros
    caps = endpoint.usage["provider_cap"]
    if caps == "none":
        assert endpoint.usage["provider_cap_note"] and endpoint.price_type == "PER_CALL" or billed is None
    else:  # the provider was told the units and the dollars it may bill, never more than the hold covers
        sent = greedy.requests[0]
        for cap in caps:
            value = (sent["query"] if cap["in"] == "query" else sent["body"])[cap["name"]]
            limit = run.estimated_units if cap["value"] == "units" else run.held_micros / 1_000_000
            assert float(value) <= limit


def test_a_live_runs_charge_never_exceeds_its_hold_on_the_emulators(client, alice_key, task_queue):
    inputs = [
        ("apify", "/apify/website-content-crawler", {"startUrls": ["https://docs.apify.com/"], "maxCrawlPages": 3}),
        ("apify", "/apidojo/tweet-scraper", {"searchTerms": ["AI", "ML"]}),
        ("pdl", "/person/search", {"sql": "SELECT * FROM person WHERE job_title_role='sales'", "size": 2}),
        ("pdl", "/person/enrich", {"email": "sean@example.com"}),
    ]
    for provider, path, input_ in inputs:
        assert post(client, alice_key, provider, path, input_).status_code in (200, 202)
    task_queue.run()
    runs = list(Run.objects.all())
    assert len(runs) == 4 and {run.status for run in runs} == {"COMPLETED"}
    assert all(0 < run.reported_cost_micros <= run.held_micros for run in runs)


class Recorded(FixtureTransport):
    """The happy case replayed, keeping the requests the engine sent."""

    def request(self, method, path, **kwargs):
        self.sent = getattr(self, "sent", []) + [kwargs]
        return super().request(method, path, **kwargs)


ALL = [(connector.provider["slug"], spec["path"]) for connector in connectors_load() for spec in connector.endpoints]


@pytest.mark.parametrize("provider, path", ALL, ids=[f"{p}{path}" for p, path in ALL])
def test_for_every_catalog_endpoint_the_largest_input_is_refused_or_capped_within_its_hold(
    client, alice_key, catalog, provider, path
):
    endpoint = Endpoint.objects.select_related("provider").get(provider__slug=provider, path=path)
    params = largest_input(endpoint)
    response = post(client, alice_key, provider, path, params)
    if response.status_code == 400:
        assert "at most" in response.json()["message"] and not Run.objects.exists()
        return
    assert response.status_code in (200, 202, 503), response.content  # 503: no live credential here
    units = units_estimate(usage=endpoint.usage, price_type=endpoint.price_type, params=params, subject=path)
    hold = units_price_micros(
        price_type=endpoint.price_type,
        price_micros=endpoint.price_micros,
        flat_fee_micros=endpoint.flat_fee_micros,
        units=units,
    )
    protocol = protocol_for(endpoint, sandbox=True)
    protocol.transport = transport = Recorded(name=provider, calls=endpoint.fixtures["happy"]["calls"])
    answer = protocol_answer(protocol, params=params, units=units, hold=hold, price_type=endpoint.price_type)
    if endpoint.price_type in ("PER_RESULT", "CREDITS"):
        charged = units_price_micros(
            price_type=endpoint.price_type,
            price_micros=endpoint.price_micros,
            flat_fee_micros=endpoint.flat_fee_micros,
            units=min(answer.billed_units or 0, units),
        )
        assert charged <= hold
    caps = endpoint.usage["provider_cap"]
    if caps == "none":
        assert endpoint.usage["provider_cap_note"] or endpoint.price_type in ("FREE", "PER_CALL")
        return
    first = transport.sent[0]
    for cap in caps:
        value = (first["params"] if cap["in"] == "query" else first["json"])[cap["name"]]
        assert float(value) <= (units if cap["value"] == "units" else hold / 1_000_000)
