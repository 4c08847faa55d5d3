import io
import json

import pytest
from django.core.management import call_command
from jsonschema import Draft202012Validator

from providers.admin import EndpointForm
from providers.engine.loader import connectors_load
from providers.models import Endpoint, Provider
from runs.models import Run

pytestmark = pytest.mark.django_db

CONNECTORS = connectors_load()
PROVIDERS = [connector.provider for connector in CONNECTORS]
ENDPOINTS = [
    {**spec, "provider": connector.provider["slug"]} for connector in CONNECTORS for spec in connector.endpoints
]


def _catalog_rows():
    return list(Provider.objects.order_by("pk").values()), list(Endpoint.objects.order_by("pk").values())


def test_seed_catalog_is_idempotent_and_keeps_operators_changes():
    call_command("seed_catalog", stdout=io.StringIO())
    Endpoint.objects.filter(path="/person/enrich").update(price_micros=5000, enabled=False)
    before = _catalog_rows()
    call_command("seed_catalog", stdout=io.StringIO())
    assert _catalog_rows() == before
    assert Provider.objects.count() == len(PROVIDERS) and Endpoint.objects.count() == len(ENDPOINTS)
    enrich = Endpoint.objects.get(path="/person/enrich")
    assert (enrich.price_micros, enrich.enabled) == (5000, False)


def test_seeding_brings_rows_up_to_their_files_but_keeps_prices_and_switches(catalog):
    Endpoint.objects.filter(path="/person/enrich").update(
        name="Find a person", method="POST", tags=["mine"], notes="", price_micros=4000, enabled=False
    )
    call_command("seed_catalog", stdout=io.StringIO())
    enrich = Endpoint.objects.get(path="/person/enrich")
    assert (enrich.name, enrich.method, enrich.price_micros, enrich.enabled) == (
        "Person enrichment",
        "GET",
        4000,
        False,
    )
    assert enrich.notes.startswith("Answers the single best match") and "email" in enrich.tags


def test_the_endpoints_clients_already_use_keep_their_paths_modes_and_prices(catalog):
    seeded = {(e.provider.slug, e.path): e for e in Endpoint.objects.select_related("provider")}
    assert (
        seeded["pdl", "/person/enrich"].provider.mode,
        seeded["pdl", "/person/enrich"].price_type,
        seeded["pdl", "/person/enrich"].price_micros,
    ) == ("sync", "PER_CALL", 3000)
    assert seeded["apify", "/apidojo/tweet-scraper"].provider.mode == "async"
    assert set(seeded) == {(spec["provider"], spec["path"]) for spec in ENDPOINTS}


@pytest.mark.parametrize("spec", ENDPOINTS, ids=[spec["path"] for spec in ENDPOINTS])
def test_every_seeded_schema_is_valid_json_schema_and_its_examples_match_it(spec):
    schema = spec["input_schema"]
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema" and schema["type"] == "object"
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert schema["examples"]
    for example in schema["examples"]:
        assert not list(validator.iter_errors(example)), example
    for name, field in schema["properties"].items():
        assert field.get("description"), f"{name} says nothing to an agent"
        for example in field.get("examples", []):
            assert not list(Draft202012Validator(field).iter_errors(example)), (name, example)


@pytest.mark.parametrize("spec", ENDPOINTS, ids=[spec["path"] for spec in ENDPOINTS])
def test_every_seeded_endpoint_says_what_an_agent_chooses_it_by(spec):
    assert spec["name"] and len(spec["description"]) >= 60 and spec["notes"]
    assert spec["method"] in ("GET", "POST") and spec["doc_url"].startswith("https://")
    assert {"happy", "provider-error"} <= set(spec["fixtures"])
    assert 3 <= len(spec["tags"]) <= 20 and all(tag == tag.lower() and len(tag) <= 30 for tag in spec["tags"])
    provider = next(p for p in PROVIDERS if p["slug"] == spec["provider"])
    assert provider["description"] and provider["doc_url"].startswith("https://")


def test_the_admin_refuses_an_input_schema_that_is_not_json_schema(catalog):
    endpoint = Endpoint.objects.get(path="/person/enrich")
    data = {
        "provider": endpoint.provider_id,
        "path": endpoint.path,
        "description": "",
        "price_type": "PER_CALL",
        "price_micros": 3000,
        "flat_fee_micros": 0,
        "credit_cost_micros": 0,
        "deadline_seconds": 30,
        "enabled": True,
        "input_schema": '{"type": "nonsense"}',
    }
    form = EndpointForm(data=data, instance=endpoint)
    assert not form.is_valid()
    assert "Not a valid JSON Schema" in form.errors["input_schema"][0]


def test_an_operator_edits_prices_in_the_admin(client, operator, catalog):
    operator.is_superuser = True
    operator.save()
    client.force_login(operator)
    endpoint = Endpoint.objects.get(path="/person/enrich")
    url = f"/admin/providers/endpoint/{endpoint.pk}/change/"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "provider": endpoint.provider_id,
            "path": endpoint.path,
            "description": endpoint.description,
            "method": "POST",
            "input_schema": json.dumps(endpoint.input_schema),
            "price_type": "PER_CALL",
            "price_micros": 4500,
            "flat_fee_micros": 0,
            "credit_cost_micros": 2800,
            "deadline_seconds": 30,
            "max_input_bytes": 65536,
            "enabled": "on",
            "request": json.dumps(endpoint.request),
            "usage": json.dumps(endpoint.usage),
            "output": "{}",
            "fixtures": json.dumps(endpoint.fixtures),
        },
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.price_micros, endpoint.credit_cost_micros) == (4500, 2800)


EXAMPLES = [
    (spec["provider"], spec["path"], example) for spec in ENDPOINTS for example in spec["input_schema"]["examples"]
]


def post_run(client, key, body):
    return client.post(
        "/v1/run", data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


@pytest.mark.parametrize(
    "provider, path, example", EXAMPLES, ids=[f"{p}{path}-{i}" for i, (p, path, _) in enumerate(EXAMPLES)]
)
def test_every_example_runs_end_to_end_with_a_test_key(client, alice_test_key, task_queue, provider, path, example):
    response = post_run(client, alice_test_key, {"provider": provider, "endpoint": path, "input": example})
    endpoint = Endpoint.objects.select_related("provider").get(provider__slug=provider, path=path)
    if endpoint.provider.is_async:
        assert response.status_code == 202 and response.json()["status"] == "RUNNING"
        task_queue.run()
        response = client.get(f"/v1/runs/{response.json()['runId']}", HTTP_AUTHORIZATION=f"Bearer {alice_test_key}")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["providerResponse"]) == ("COMPLETED", {"httpStatus": 200})
    assert body["output"] and body["resultCount"] >= 1
    if endpoint.provider.is_async:
        assert isinstance(body["output"], list) and body["resultCount"] == len(body["output"])
        assert all(isinstance(item, dict) for item in body["output"])
        assert body["resultCount"] <= Run.objects.get(pk=body["runId"]).estimated_units


def test_a_live_per_result_run_is_held_for_its_limit_and_charged_per_result(client, alice_key, task_queue):
    places = {
        "provider": "apify",
        "endpoint": "/compass/crawler-google-places",
        "input": {"searchStringsArray": ["bakery"], "locationQuery": "Prague, Czechia", "maxCrawledPlacesPerSearch": 4},
    }
    run_id = post_run(client, alice_key, places).json()["runId"]
    assert Run.objects.get(pk=run_id).held_micros == 10_000 + 4 * 5_000
    task_queue.run()
    run = Run.objects.get(pk=run_id)
    assert (run.status, run.result_count, run.reported_cost_micros) == ("COMPLETED", 4, 30_000)
