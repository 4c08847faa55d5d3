import datetime
import json

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.forms.models import model_to_dict

from providers.models import CatalogChange, Endpoint, Provider
from runs.models import Run

pytestmark = pytest.mark.django_db

PDL_MATCH = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}}


def enrich():
    return Endpoint.objects.select_related("provider").get(path="/person/enrich")


def change_url(entry):
    return f"/admin/providers/{entry._meta.model_name}/{entry.pk}/change/"


def form_of(endpoint, **changes):
    """A provider's or endpoint's change form as a browser posts it, with these fields changed."""
    data = {**model_to_dict(endpoint), **changes}
    return {name: json.dumps(value) if isinstance(value, (dict, list)) else value for name, value in data.items()}


def list_edit(client, model, enabled):
    """Saves the changelist's `enabled` boxes, as an operator ticking them and pressing Save."""
    data = {
        "form-TOTAL_FORMS": len(enabled),
        "form-INITIAL_FORMS": len(enabled),
        "form-MIN_NUM_FORMS": 0,
        "form-MAX_NUM_FORMS": 1000,
        "_save": "Save",
    }
    for i, (entry, on) in enumerate(enabled.items()):
        data[f"form-{i}-id"] = entry.pk
        data[f"form-{i}-enabled"] = on
    return client.post(f"/admin/providers/{model._meta.model_name}/", data)


def test_a_price_change_records_who_when_and_what(admin_client, admin_user, catalog):
    endpoint = enrich()
    with time_machine.travel(datetime.datetime(2026, 3, 2, 9, 30, tzinfo=datetime.UTC), tick=False):
        response = admin_client.post(change_url(endpoint), form_of(endpoint, price_micros=4500))
    assert response.status_code == 302
    change = CatalogChange.objects.get()
    assert (change.changed_by, change.action, change.subject) == (admin_user, "changed", "endpoint pdl /person/enrich")
    assert change.at == datetime.datetime(2026, 3, 2, 9, 30, tzinfo=datetime.UTC)
    assert change.changes == {"price_micros": [3000, 4500]}
    assert enrich().price_micros == 4500


def test_a_schema_edit_records_the_whole_schema_before_and_after(admin_client, catalog):
    endpoint = enrich()
    schema = {
        "type": "object",
        "properties": {"email": {"type": "string"}},
        "required": ["email"],
        "additionalProperties": False,
    }
    response = admin_client.post(change_url(endpoint), form_of(endpoint, input_schema=schema))
    assert response.status_code == 302
    assert CatalogChange.objects.get().changes == {"input_schema": [endpoint.input_schema, schema]}
    assert enrich().input_schema == schema


def test_saving_an_unchanged_endpoint_records_nothing(admin_client, catalog):
    endpoint = enrich()
    assert admin_client.post(change_url(endpoint), form_of(endpoint)).status_code == 302
    assert not CatalogChange.objects.exists()


def test_disabling_and_enabling_endpoints_in_the_list_is_recorded(admin_client, admin_user, catalog):
    endpoint = enrich()
    assert list_edit(admin_client, Endpoint, {endpoint: False}).status_code == 302
    assert list_edit(admin_client, Endpoint, {endpoint: True}).status_code == 302
    assert not Endpoint.objects.filter(enabled=False).exists()
    enabled, disabled = CatalogChange.objects.all()  # newest first
    assert (disabled.action, disabled.subject, disabled.changes) == (
        "changed",
        "endpoint pdl /person/enrich",
        {"enabled": [True, False]},
    )
    assert (enabled.changed_by, enabled.changes) == (admin_user, {"enabled": [False, True]})


def test_disabling_a_provider_in_the_list_records_that_provider_only(admin_client, catalog):
    apify, pdl = Provider.objects.filter(slug__in=["apify", "pdl"]).order_by("slug")
    assert list_edit(admin_client, Provider, {apify: True, pdl: False}).status_code == 302
    assert list(Provider.objects.filter(enabled=False)) == [pdl]
    assert list(CatalogChange.objects.values_list("subject", "changes")) == [
        ("provider pdl", {"enabled": [True, False]})
    ]


def test_an_endpoint_edited_on_its_providers_page_is_recorded(admin_client, catalog):
    endpoint = enrich()
    provider = endpoint.provider
    data = {
        **form_of(provider),
        "endpoints-TOTAL_FORMS": 1,
        "endpoints-INITIAL_FORMS": 1,
        "endpoints-MIN_NUM_FORMS": 0,
        "endpoints-MAX_NUM_FORMS": 1000,
        "endpoints-0-id": endpoint.pk,
        "endpoints-0-provider": provider.pk,
        "endpoints-0-path": endpoint.path,
        "endpoints-0-price_type": "PER_CALL",
        "endpoints-0-price_micros": 3500,
        "endpoints-0-flat_fee_micros": 0,
        "endpoints-0-enabled": True,
    }
    assert admin_client.post(change_url(provider), data).status_code == 302
    assert list(CatalogChange.objects.values_list("subject", "changes")) == [
        ("endpoint pdl /person/enrich", {"price_micros": [3000, 3500]})
    ]


def test_adding_an_endpoint_records_each_of_its_values(admin_client, admin_user, catalog):
    pdl = Provider.objects.get(slug="pdl")
    data = form_of(
        enrich(),
        path="/person/added-by-hand",
        name="Added by hand",
        tags=["person"],
        input_schema={"type": "object", "additionalProperties": False},
        price_micros=10_000,
    )
    assert admin_client.post("/admin/providers/endpoint/add/", data).status_code == 302
    change = CatalogChange.objects.get()
    assert (change.changed_by, change.action, change.subject) == (
        admin_user,
        "created",
        "endpoint pdl /person/added-by-hand",
    )
    assert change.changes["provider"] == [None, "pdl"]
    assert change.changes["price_micros"] == [None, 10_000]
    assert change.changes["tags"] == [None, ["person"]]
    assert Endpoint.objects.filter(provider=pdl, path="/person/added-by-hand").exists()


def test_a_deleted_endpoint_is_recorded_under_a_readable_subject_with_what_it_was(admin_client, admin_user, catalog):
    endpoint = enrich()
    response = admin_client.post(f"/admin/providers/endpoint/{endpoint.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Endpoint.objects.filter(pk=endpoint.pk).exists()
    change = CatalogChange.objects.get()
    assert (change.changed_by, change.action, change.subject) == (admin_user, "deleted", "endpoint pdl /person/enrich")
    assert change.changes["price_micros"] == [3000, None]
    assert change.changes["input_schema"] == [endpoint.input_schema, None]
    assert str(change).endswith("deleted endpoint pdl /person/enrich")


def test_endpoints_deleted_together_from_the_list_are_each_recorded(admin_client, catalog):
    chosen = list(Endpoint.objects.filter(path__in=["/person/enrich", "/apidojo/tweet-scraper"]))
    response = admin_client.post(
        "/admin/providers/endpoint/",
        {"action": "delete_selected", "post": "yes", "_selected_action": [endpoint.pk for endpoint in chosen]},
    )
    assert response.status_code == 302
    assert not Endpoint.objects.filter(pk__in=[endpoint.pk for endpoint in chosen]).exists()
    assert sorted(CatalogChange.objects.values_list("action", "subject")) == [
        ("deleted", "endpoint apify /apidojo/tweet-scraper"),
        ("deleted", "endpoint pdl /person/enrich"),
    ]


@pytest.mark.parametrize(
    "field, value, error",
    [
        ("input_schema", {"type": "nonsense"}, "Not a valid JSON Schema (Draft 2020-12)"),
        (
            "input_schema",
            {"type": "object", "properties": {"email": {"minLength": -1}}},
            "Not a valid JSON Schema (Draft 2020-12) (at $.properties.email.minLength)",
        ),
        ("input_schema", {"type": "array", "items": {"type": "string"}}, 'must say "type": "object"'),
        ("input_schema", {"properties": {"email": {"type": "string"}}}, 'must say "type": "object"'),
        ("input_schema", "{not json", "Enter a valid JSON."),
        ("input_schema", {"type": "object"}, "input_schema.additionalProperties: must be false for an http endpoint"),
        ("max_input_bytes", 100, "greater than or equal to 1024"),
        ("max_input_bytes", 2**21, "less than or equal to 1048576"),
        ("tags", {"person": True}, "Tags are a JSON list of words"),
        ("tags", ["person", 7], "Each tag is a word or two of at most 30 characters, not 7."),
        ("tags", ["x" * 31], "Each tag is a word or two of at most 30 characters"),
        ("tags", ["tag"] * 21, "At most 20 tags, not 21."),
        ("price_micros", -1, "A price cannot be negative."),
        ("flat_fee_micros", -5, "A price cannot be negative."),
        ("credit_cost_micros", -5, "A price cannot be negative."),
        ("price_micros", "0.5", "Enter a whole number."),
        ("doc_url", "not a url", "Enter a valid URL."),
        ("doc_url", "ftp://docs.example.com/", "Enter the http:// or https:// address of a web page."),
    ],
)
def test_a_bad_value_is_refused_with_an_error_and_changes_and_records_nothing(
    admin_client, catalog, field, value, error
):
    endpoint = enrich()
    response = admin_client.post(change_url(endpoint), form_of(endpoint, **{"price_micros": 4500, field: value}))
    assert response.status_code == 200
    assert error in " ".join(response.context["adminform"].form.errors[field])
    assert model_to_dict(enrich()) == model_to_dict(endpoint)
    assert not CatalogChange.objects.exists()


def test_the_price_help_text_says_what_the_price_is_in_dollars(admin_client, catalog):
    response = admin_client.get(change_url(enrich()))
    assert response.status_code == 200
    assert "1,000,000 micro-dollars = $1" in response.text and "Now 3,000 = $0.003000." in response.text


def test_a_price_change_applies_to_new_runs_only(client, admin_client, alice_key, catalog):
    first = client.post(
        "/v1/run", data=json.dumps(PDL_MATCH), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {alice_key}"
    ).json()
    endpoint = enrich()
    assert admin_client.post(change_url(endpoint), form_of(endpoint, price_micros=4500)).status_code == 302
    second = client.post(
        "/v1/run", data=json.dumps(PDL_MATCH), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {alice_key}"
    ).json()
    assert (
        client.get(f"/v1/runs/{first['runId']}", HTTP_AUTHORIZATION=f"Bearer {alice_key}").json()["price"]["amount"]
        == 0.003
    )
    assert second["price"]["amount"] == 0.0045 and second["billing"]["reportedCost"]["value"] == 4500
    old, new = Run.objects.get(pk=first["runId"]), Run.objects.get(pk=second["runId"])
    assert (old.price_micros, old.calculated_cost_micros, old.reported_cost_micros) == (3000, 3000, 3000)
    assert (new.price_micros, new.calculated_cost_micros, new.reported_cost_micros) == (4500, 4500, 4500)


def test_an_endpoints_page_shows_its_history_and_links_to_the_rest(admin_client, catalog):
    endpoint = enrich()
    admin_client.post(change_url(endpoint), form_of(endpoint, price_micros=4500))
    list_edit(admin_client, Endpoint, {Endpoint.objects.get(path="/apidojo/tweet-scraper"): False})
    response = admin_client.get(change_url(endpoint))
    assert response.status_code == 200
    assert "price_micros: 3000 → 4500" in response.text and "endpoint apify" not in response.text
    assert "/admin/providers/catalogchange/?subject=endpoint+pdl+%2Fperson%2Fenrich" in response.text


def test_a_providers_page_shows_its_own_and_its_endpoints_history(admin_client, catalog):
    endpoint = enrich()
    list_edit(admin_client, Provider, {endpoint.provider: False})
    admin_client.post(change_url(endpoint), form_of(endpoint, price_micros=4500))
    response = admin_client.get(change_url(endpoint.provider))
    assert response.status_code == 200
    assert "enabled: true → false" in response.text and "price_micros: 3000 → 4500" in response.text


def test_the_history_lists_filters_by_action_and_subject_and_searches(admin_client, catalog):
    endpoint = enrich()
    admin_client.post(change_url(endpoint), form_of(endpoint, price_micros=4500))
    list_edit(admin_client, Provider, {Provider.objects.get(slug="apify"): False})
    for query, shown, hidden in [
        ("", ["endpoint pdl /person/enrich", "provider apify"], []),
        ("?action__exact=changed&q=apify", ["provider apify"], ["endpoint pdl"]),
        ("?subject=endpoint+pdl+%2Fperson%2Fenrich", ["endpoint pdl"], ["provider apify"]),
    ]:
        response = admin_client.get(f"/admin/providers/catalogchange/{query}")
        assert response.status_code == 200
        assert all(text in response.text for text in shown) and not any(text in response.text for text in hidden)


def test_the_history_is_read_only_even_for_a_superuser(admin_client, catalog):
    endpoint = enrich()
    admin_client.post(change_url(endpoint), form_of(endpoint, price_micros=4500))
    change = CatalogChange.objects.get()
    assert admin_client.get("/admin/providers/catalogchange/add/").status_code == 403
    assert admin_client.post(change_url(change), {"subject": "rewritten", "action": "created"}).status_code == 403
    assert admin_client.post(f"/admin/providers/catalogchange/{change.pk}/delete/", {"post": "yes"}).status_code == 403
    response = admin_client.get(change_url(change))
    assert response.status_code == 200
    assert "<th>price_micros</th><td><pre>3000</pre></td><td><pre>4500</pre></td>" in response.text
    assert 'name="_save"' not in response.text
    assert CatalogChange.objects.get() == change and change.subject == "endpoint pdl /person/enrich"


@pytest.mark.parametrize(
    "url",
    [
        "/admin/providers/endpoint/",
        "/admin/providers/provider/",
        "/admin/providers/catalogchange/",
        "/admin/providers/endpoint/add/",
    ],
)
def test_a_customer_cannot_reach_the_catalog_admin_or_its_history(client, alice, catalog, url):
    client.force_login(alice)
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_a_customers_post_to_the_admin_changes_and_records_nothing(client, alice, catalog):
    client.force_login(alice)
    endpoint = enrich()
    response = client.post(change_url(endpoint), form_of(endpoint, price_micros=1))
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert enrich().price_micros == 3000
    assert not CatalogChange.objects.exists()


def test_a_deleted_operator_leaves_their_changes_in_the_history(admin_client, admin_user, catalog):
    endpoint = enrich()
    admin_client.post(change_url(endpoint), form_of(endpoint, price_micros=4500))
    get_user_model().objects.filter(pk=admin_user.pk).delete()
    change = CatalogChange.objects.get()
    assert change.changed_by is None and change.changes == {"price_micros": [3000, 4500]}


ACTOR_USAGE = {
    "unit": "post",
    "estimate": {"factors": [{"field": "maxItems", "default": 5}], "maximum": 100},
    "provider_cap": [
        {"in": "query", "name": "maxItems", "value": "units"},
        {"in": "query", "name": "maxTotalChargeUsd", "value": "hold_usd"},
    ],
}


def test_an_operator_adds_an_apify_actor_without_code_and_a_live_run_is_held_by_its_usage_model(
    admin_client, catalog, client, alice_key
):
    apify = Provider.objects.get(slug="apify")
    data = form_of(
        Endpoint.objects.get(path="/apidojo/tweet-scraper"),
        path="/apidojo/tweet-scraper-v2",
        name="Tweets again",
        price_type="PER_RESULT",
        price_micros=500,
        flat_fee_micros=0,
        usage=ACTOR_USAGE,
        fixtures={},
        output={},
    )
    assert admin_client.post("/admin/providers/endpoint/add/", data).status_code == 302
    added = Endpoint.objects.get(provider=apify, path="/apidojo/tweet-scraper-v2")
    assert added.usage["evidence"] == "results" and added.usage["estimate"]["maximum"] == 100
    response = client.post(
        "/v1/run",
        data=json.dumps({"provider": "apify", "endpoint": added.path, "input": {"searchTerms": ["added by hand"]}}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {alice_key}",
    )
    assert response.status_code == 202
    assert Run.objects.get(pk=response.json()["runId"]).held_micros == 5 * 500


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("usage", {"unit": "post"}, "'estimate' is a required property"),
        (
            "usage",
            {**ACTOR_USAGE, "estimate": {"factors": [{"field": "nonesuch", "default": 1}], "maximum": 9}},
            "'nonesuch' is not an input property",
        ),
        (
            "usage",
            {**ACTOR_USAGE, "estimate": {"factors": [{"of": "length(", "default": 1}], "maximum": 9}},
            "is not a JMESPath expression",
        ),
        ("output", {"path": "[["}, "is not a JMESPath expression"),
    ],
)
def test_the_admin_refuses_a_usage_model_or_output_a_run_could_not_follow(admin_client, catalog, field, value, message):
    data = form_of(
        Endpoint.objects.get(path="/apidojo/tweet-scraper"),
        path="/someone/actor",
        price_type="PER_RESULT",
        price_micros=500,
        **{"usage": ACTOR_USAGE, "output": {}, field: value},
    )
    response = admin_client.post("/admin/providers/endpoint/add/", data)
    assert response.status_code == 200 and message in " ".join(response.context["adminform"].form.errors[field])
    assert not Endpoint.objects.filter(path="/someone/actor").exists()
