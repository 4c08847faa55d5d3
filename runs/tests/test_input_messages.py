"""An input that fails its endpoint's schema is told where and why in a few words: a large array, object or string
is described by its kind and size, never repeated, and the failures are those jsonschema finds."""

import json

import pytest
from jsonschema import Draft202012Validator

from billing.models import KeyDailyCost
from providers.models import Endpoint
from runs.inputs import ShortMessagesValidator
from runs.models import Run
from runs.tests.api import post_run

pytestmark = pytest.mark.django_db

TWEETS = {"provider": "apify", "endpoint": "/apidojo/tweet-scraper"}
ENRICH = {"provider": "pdl", "endpoint": "/person/enrich"}


def details(response) -> list[str]:
    assert response.status_code == 400, response.content[:500]
    return [detail["message"] for detail in response.json()["details"]]


def test_a_long_array_is_described_by_its_length_not_repeated(client, alice_key):
    terms = [f"needle-{i}" for i in range(3000)]
    response = post_run(client, alice_key, {**TWEETS, "input": {"searchTerms": terms}})
    assert details(response) == ["an array of 3,000 items is too long (at most 100 items)"]
    assert b"needle" not in response.content and len(response.content) < 500


def test_an_object_where_a_string_belongs_is_described_not_repeated(client, alice_key):
    email = {f"needle-{i}": "needle" for i in range(2000)}
    response = post_run(client, alice_key, {**ENRICH, "input": {"email": email}})
    assert details(response) == ["an object with 2,000 properties is not of type 'string'"]
    assert b"needle" not in response.content


def test_a_long_string_is_shown_by_its_start_and_length(client, alice_key):
    response = post_run(client, alice_key, {**TWEETS, "input": {"searchTerms": ["AI"], "sort": "needle" * 5000}})
    [message] = details(response)
    assert message == f"{('needle' * 7)[:40]!r}… (30,000 characters) is not one of 'Latest', 'Top'"


def test_a_large_enum_is_shown_by_its_first_values_and_count(client, alice_key):
    endpoint = Endpoint.objects.get(path="/person/enrich")
    choices = [f"choice-{i}" for i in range(1000)]
    endpoint.input_schema = {
        **endpoint.input_schema,
        "properties": {
            **endpoint.input_schema["properties"],
            "pretty": {"enum": choices, "description": "One of many"},
        },
    }
    endpoint.save(update_fields=["input_schema"])
    response = post_run(client, alice_key, {**ENRICH, "input": {"email": "sean@example.com", "pretty": "none"}})
    [message] = details(response)
    assert message.startswith("'none' is not one of 'choice-0', 'choice-1',") and message.endswith(", … (1,000 in all)")
    assert "choice-10'" not in message and len(message) < 300


def test_unexpected_properties_are_named_a_few_at_a_time(client, alice_key):
    extras = {f"extra-{i:04}": 1 for i in range(3000)}
    response = post_run(client, alice_key, {**ENRICH, "input": {"email": "sean@example.com", **extras}})
    [message] = details(response)
    assert message == (
        "Additional properties are not allowed ('extra-0000', 'extra-0001', 'extra-0002', 'extra-0003', "
        "'extra-0004', 'extra-0005', 'extra-0006', 'extra-0007', 'extra-0008', 'extra-0009', … "
        "(3,000 in all) were unexpected)"
    )


def test_an_input_failing_everywhere_is_refused_with_twenty_short_failures(client, alice_key):
    body = {**TWEETS, "input": {"searchTerms": [""] * 20_000, "maxItems": 5, "sort": "x" * 3_000}}
    response = post_run(client, alice_key, body)
    assert response.status_code == 400
    error = response.json()
    assert "(and more: the first 20 are listed)" in error["message"]
    assert len(error["details"]) == 20 and len(response.content) < 20 * 200
    assert all(len(detail["message"]) <= 300 and len(detail["path"]) <= 300 for detail in error["details"])
    assert not Run.objects.exists() and not KeyDailyCost.objects.exists()


# Every keyword whose jsonschema message would repeat the value, failing and passing: the short messages must
# come from the same decisions.
KEYWORD_CASES = [
    ({"type": "string"}, [1, 2]),
    ({"type": ["string", "null"]}, {"a": 1}),
    ({"type": "integer"}, True),
    ({"enum": ["a", "b"]}, "c"),
    ({"enum": [1, True]}, 1.0),
    ({"enum": [[1]]}, [True]),
    ({"maxItems": 2}, [1, 2, 3]),
    ({"minItems": 1}, []),
    ({"maxLength": 3}, "abcd"),
    ({"minLength": 1}, ""),
    ({"maxProperties": 1}, {"a": 1, "b": 2}),
    ({"minProperties": 1}, {}),
    ({"maxLength": 3}, "abc"),
    ({"pattern": "^a"}, "ba"),
    ({"pattern": "^a"}, 5),
    ({"format": "email"}, "sean"),
    ({"format": "date"}, 5),
    ({"format": "date"}, "2024-13-01"),
    ({"uniqueItems": True}, [1, 1]),
    ({"uniqueItems": True}, [1, True]),
    ({"additionalProperties": False, "properties": {"a": {}}}, {"a": 1, "b": 2, "c": 3}),
    ({"additionalProperties": False, "patternProperties": {"^x": {}}}, {"xa": 1, "b": 2}),
    ({"additionalProperties": {"type": "string"}}, {"b": 2}),
    ({"unevaluatedProperties": False, "properties": {"a": {}}}, {"a": 1, "b": 2}),
    ({"unevaluatedProperties": {"type": "string"}, "properties": {"a": {}}}, {"a": 1, "b": 2, "c": "x"}),
    ({"unevaluatedItems": False, "prefixItems": [{}]}, [1, 2, 3]),
    ({"unevaluatedItems": {"type": "string"}, "prefixItems": [{}]}, [1, 2, "x"]),
    ({"items": False, "prefixItems": [{}]}, [1, 2]),
    ({"items": {"type": "string"}}, [1, "a", 2]),
    ({"contains": {"type": "string"}}, [1, 2]),
    ({"contains": {"type": "string"}, "minContains": 2}, [1, "a"]),
    ({"contains": {"type": "string"}, "maxContains": 1}, ["a", "b"]),
    ({"contains": {"type": "string"}, "minContains": 0}, [1]),
    ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, [1]),
    ({"anyOf": [{"type": "string"}]}, "a"),
    ({"oneOf": [{"type": "string"}, {"type": "integer"}]}, []),
    ({"oneOf": [{"type": "number"}, {"type": "integer"}]}, 1),
    ({"oneOf": [{"type": "number"}, {"type": "integer"}]}, 1.5),
    ({"not": {"type": "array"}}, [1]),
]


@pytest.mark.parametrize("schema, instance", KEYWORD_CASES)
def test_the_short_messages_fail_exactly_what_jsonschema_fails(schema, instance):
    def failures(validator_class):
        validator = validator_class(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        return sorted(
            (list(error.path), error.validator, repr(error.validator_value))
            for error in validator.iter_errors(instance)
        )

    assert failures(ShortMessagesValidator) == failures(Draft202012Validator)


@pytest.mark.parametrize("schema", list({json.dumps(schema): schema for schema, _ in KEYWORD_CASES}.values()))
def test_no_message_repeats_an_array_or_an_object(schema):
    for value in (["needle"] * 1000, {f"k{i}": "needle" for i in range(1000)}):
        for error in ShortMessagesValidator(schema).iter_errors(value):
            assert "needle" not in error.message and len(error.message) < 200, error.message
