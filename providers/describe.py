"""What inspect and discover tell an agent beyond an endpoint's catalog row, in the shapes Monid's CLI reads: the
input split by where each parameter goes, what a per-unit price counts and holds, and the command to run next."""

import json
import shlex
from decimal import Decimal

from .engine.http import parameter_place
from .engine.usage import PER_UNIT
from .models import Endpoint

PARTS = {"path": "pathParams", "query": "queryParams", "body": "body"}
RUN_FLAGS = {"pathParams": "--path", "queryParams": "--query", "body": "-i"}  # monid run's options for each part


def _part(endpoint: Endpoint, name: str) -> str:
    """Which part of the input a parameter belongs to: an http endpoint places it as its request says, an Apify
    actor takes its whole input as a JSON body."""
    return PARTS[parameter_place(endpoint.request, name) if endpoint.request else "body"]


def endpoint_input(endpoint: Endpoint) -> dict:
    """{pathParams, queryParams, body}: each a JSON Schema of an object with the input schema's parameters that go
    there (a part with none is left out), and bodyType "json" with a body. POST /v1/run takes either this form or
    the flat one, so an agent may follow it or not."""
    schema, parts = endpoint.input_schema, {}
    required = schema.get("required", [])
    for name, parameter in schema.get("properties", {}).items():
        part = parts.setdefault(_part(endpoint, name), {"type": "object", "properties": {}})
        part["properties"][name] = parameter
        if name in required:
            part.setdefault("required", []).append(name)
    if "body" in parts:
        parts["bodyType"] = "json"
    return {key: parts[key] for key in ("pathParams", "queryParams", "body", "bodyType") if key in parts}


def _dollars(micros: int) -> str:
    return f"${Decimal(micros).scaleb(-6):f}".rstrip("0").rstrip(".")


def price_notes(endpoint: Endpoint) -> list[str]:
    """What a per-unit price alone does not say (docs/connectors.md, "How the money works"): what one unit is and
    how it is counted, the flat fee, and the hold a run's input sets, which it is never charged past."""
    if endpoint.price_type not in PER_UNIT:
        return []
    usage = endpoint.usage
    counted = " returned" if usage.get("evidence", "results") == "results" else ", as the provider's answer counts it"
    notes = [f"Charged per {usage.get('unit', 'result')}{counted}: {_dollars(endpoint.price_micros)} each."]
    if endpoint.flat_fee_micros:
        notes.append(f"Plus {_dollars(endpoint.flat_fee_micros)} once per run, even one that returns nothing.")
    estimate = usage.get("estimate")
    if estimate:
        factors = estimate["factors"]
        fields = [f"{factor['field']} ({factor['default']} if not given)" for factor in factors if "field" in factor]
        if fields and len(fields) < len(factors):
            fields.append("the rest of the input")
        source = f", worked out from {' and '.join(fields)}" if fields else ""
        notes.append(
            f"Each run is first held for the most units its input can bill (at most {estimate['maximum']:,})"
            f"{source}; it is never charged more than that hold."
        )
    return notes


def inspect_command(endpoint: Endpoint) -> str:
    return f"monid inspect -p {shlex.quote(endpoint.provider.slug)} -e {shlex.quote(endpoint.path)}"


def run_command(endpoint: Endpoint) -> str:
    """A run of the input schema's first example, each part of it behind its own option; -w for an async provider,
    whose run the CLI would otherwise leave running."""
    example, parts = (endpoint.input_schema.get("examples") or [{}])[0], {}
    # A connector file's examples are checked inputs; one an operator typed in the admin may be anything.
    for name, value in example.items() if isinstance(example, dict) else []:
        parts.setdefault(_part(endpoint, name), {})[name] = value
    command = f"monid run -p {shlex.quote(endpoint.provider.slug)} -e {shlex.quote(endpoint.path)}"
    for part, flag in RUN_FLAGS.items():
        if part in parts:  # keys sorted: PostgreSQL's jsonb keeps no order, and the hint is the same on both
            command += f" {flag} {shlex.quote(json.dumps(parts[part], sort_keys=True))}"
    return command + " -w" if endpoint.provider.is_async else command
