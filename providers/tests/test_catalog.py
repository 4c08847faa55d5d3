import io
import json

import pytest
from django.core.management import call_command
from jsonschema import Draft202012Validator

from providers.admin import EndpointForm
from providers.models import Endpoint, Provider

pytestmark = pytest.mark.django_db


def test_seed_catalog_is_idempotent_and_keeps_operators_changes():
    call_command("seed_catalog", stdout=io.StringIO())
    Endpoint.objects.filter(path="/person/enrich").update(price_micros=5000, enabled=False)
    call_command("seed_catalog", stdout=io.StringIO())
    assert Provider.objects.count() == 2 and Endpoint.objects.count() == 2
    enrich = Endpoint.objects.get(path="/person/enrich")
    assert (enrich.price_micros, enrich.enabled) == (5000, False)


def test_the_seed_endpoints_cost_three_tenths_of_a_cent_a_call_and_have_valid_schemas(catalog):
    for endpoint in Endpoint.objects.select_related("provider"):
        assert (endpoint.price_type, endpoint.price_micros) == ("PER_CALL", 3000)
        Draft202012Validator.check_schema(endpoint.input_schema)
    assert {(e.provider.slug, e.path, e.provider.mode) for e in Endpoint.objects.select_related("provider")} == {
        ("pdl", "/person/enrich", "sync"), ("apify", "/apidojo/tweet-scraper", "async")}


def test_the_admin_refuses_an_input_schema_that_is_not_json_schema(catalog):
    endpoint = Endpoint.objects.get(path="/person/enrich")
    data = {"provider": endpoint.provider_id, "path": endpoint.path, "description": "", "price_type": "PER_CALL",
            "price_micros": 3000, "flat_fee_micros": 0, "credit_cost_micros": 0, "deadline_seconds": 30, "enabled": True,
            "input_schema": '{"type": "nonsense"}'}
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
    response = client.post(url, {
        "provider": endpoint.provider_id, "path": endpoint.path, "description": endpoint.description,
        "input_schema": json.dumps(endpoint.input_schema), "price_type": "PER_CALL", "price_micros": 4500,
        "flat_fee_micros": 0, "credit_cost_micros": 2800, "deadline_seconds": 30, "enabled": "on",
        "result_limit_field": "", "default_result_estimate": 100})
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.price_micros, endpoint.credit_cost_micros) == (4500, 2800)
