"""Reads and checks a connector folder: `provider.yaml`, `endpoints/<name>.yaml` and `fixtures/<name>/<case>.json`.

YAML (PyYAML's safe loader) because reviewers read and comment these files: it has comments and multi-line
text, which JSON lacks, and its safe loader builds nothing but plain values. Path expressions (an output's
shape, an estimate's count) are JMESPath: one specified language with a conformance suite, maintained for
the AWS CLI, so a connector file never carries code. Every file is checked against a schema of its own here,
and then for what a schema cannot say (the input schema is valid JSON Schema, each expression compiles, each
example validates, the fixtures a test mode needs exist), so a bad file fails with its path and field named.
"""

import copy
import functools
import json
from dataclasses import dataclass
from pathlib import Path

import jmespath
import yaml
from jmespath.exceptions import JMESPathError
from jsonschema import Draft202012Validator, SchemaError

from ..models import INPUT_MAX_BYTES, INPUT_MAX_BYTES_CEILING, INPUT_MAX_BYTES_FLOOR

BUNDLED = Path(__file__).resolve().parent.parent / "connectors"
PROTOCOLS = {"http": "sync", "apify-actor": "async"}
PRICE_TYPES = ["FREE", "PER_CALL", "PER_RESULT", "CREDITS"]
PER_UNIT_MODELS = ("PER_RESULT", "CREDITS")
# Each endpoint needs these fixture cases: test mode answers `happy`, and provider errors must replay too.
REQUIRED_CASES = ("happy", "provider-error")

_text = {"type": "string", "minLength": 1}
_note = {"type": "string", "pattern": r"\S", "not": {"pattern": r"[\n\r]"}}  # the catalog keeps notes one a line
_url = {"type": "string", "pattern": "^https?://"}
_micros = {"type": "integer", "minimum": 0}
_expression = {"type": "string", "minLength": 1, "maxLength": 1000}
_cap = {
    "oneOf": [
        {"const": "none"},
        {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["in", "name", "value"],
                "properties": {
                    "in": {"enum": ["query", "body"]},
                    "name": _text,
                    "value": {"enum": ["units", "hold_usd"]},
                },
            },
        },
    ]
}


def _request(properties: dict) -> dict:
    """A request to the provider: a method and a path under its base URL, and these properties besides. An endpoint
    says how to build its requests, a fixture records the ones made, so each adds its own."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["method", "path"],
        "properties": {
            "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
            "path": {"type": "string", "pattern": "^/"},
            **properties,
        },
    }


PROVIDER_FILE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["slug", "name", "summary", "description", "docs_url", "protocol", "base_url", "auth", "credential"],
    "properties": {
        "slug": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,49}$"},
        "name": _text,
        "summary": _text,
        "description": _text,
        "docs_url": _url,
        "home_url": _url,
        "categories": {"type": "array", "items": _text, "maxItems": 10},
        "protocol": {"enum": list(PROTOCOLS)},
        "base_url": _url,
        "auth": {
            "type": "object",
            "additionalProperties": False,
            "required": ["scheme"],
            "properties": {"scheme": {"enum": ["header", "bearer", "query"]}, "name": _text},
            "if": {"properties": {"scheme": {"enum": ["header", "query"]}}},
            "then": {"required": ["name"]},
        },
        "credential": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]*$"},
        "timeouts": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "connect_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 60},
                "read_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 600},
            },
        },
        "actual_cost": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "maxProperties": 1,
            "properties": {"credits_header": _text, "credits": _expression, "usd": _expression},
        },
        "usage": {"type": "object", "additionalProperties": False, "properties": {"provider_cap": _cap}},
    },
}

ENDPOINT_FILE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path", "name", "description", "tags", "docs_url", "usage", "input_schema"],
    "properties": {
        "path": {"type": "string", "pattern": "^/[A-Za-z0-9_~./-]*$", "maxLength": 200},
        "name": _text,
        "description": _text,
        "tags": {"type": "array", "items": _text, "maxItems": 20},
        "docs_url": _url,
        "notes": {"type": "array", "items": _note},
        "deadline_seconds": {"type": "integer", "minimum": 1, "maximum": 86400},
        "max_input_bytes": {"type": "integer", "minimum": INPUT_MAX_BYTES_FLOOR, "maximum": INPUT_MAX_BYTES_CEILING},
        "request": _request(
            {
                "params": {"enum": ["query", "body"]},
                "in": {"type": "object", "additionalProperties": {"enum": ["path", "query", "body"]}},
                "fixed": {"type": "object", "minProperties": 1},
            }
        ),
        "usage": {
            "type": "object",
            "additionalProperties": False,
            "required": ["model"],
            "properties": {
                "model": {"enum": PRICE_TYPES},
                "price_micros": _micros,
                "flat_fee_micros": _micros,
                "unit": _text,
                "evidence": {
                    "oneOf": [
                        {"const": "results"},
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "minProperties": 1,
                            "maxProperties": 1,
                            "properties": {"header": _text, "path": _expression},
                        },
                    ]
                },
                "estimate": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["factors", "maximum"],
                    "properties": {
                        "factors": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["default"],
                                "oneOf": [{"required": ["field"]}, {"required": ["of"]}],
                                "properties": {
                                    "field": _text,
                                    "of": _expression,
                                    "default": {"type": "integer", "minimum": 0},
                                    "per": {"type": "integer", "minimum": 2},
                                },
                            },
                        },
                        "maximum": {"type": "integer", "minimum": 1},
                    },
                },
                "provider_cap": _cap,
                "provider_cap_note": _text,
            },
            "allOf": [
                {
                    "if": {"properties": {"model": {"enum": ["PER_RESULT", "CREDITS"]}}},
                    "then": {"required": ["estimate", "price_micros"]},
                },
                {"if": {"properties": {"model": {"const": "PER_CALL"}}}, "then": {"required": ["price_micros"]}},
                {
                    "if": {"properties": {"provider_cap": {"const": "none"}}, "required": ["provider_cap"]},
                    "then": {"required": ["provider_cap_note"]},
                },
            ],
        },
        "output": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"path": _expression, "omit": {"type": "array", "items": _text}, "results": _expression},
        },
        "input_schema": {"type": "object"},
    },
}

_exchange = {
    "type": "object",
    "additionalProperties": False,
    "required": ["request", "response"],
    "properties": {
        "request": _request({"query": {"type": "object", "additionalProperties": {"type": "string"}}, "body": {}}),
        "response": {
            "type": "object",
            "additionalProperties": False,
            "required": ["status"],
            "properties": {
                "status": {"type": "integer", "minimum": 100, "maximum": 599},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                "body": {},
            },
        },
    },
}

FIXTURE_FILE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["description", "input", "calls", "expect"],
    "properties": {
        "description": _text,
        "input": {"type": "object"},
        "calls": {"type": "array", "minItems": 1, "items": _exchange},
        "expect": {
            "type": "object",
            "additionalProperties": False,
            "required": ["httpStatus"],
            "properties": {
                "httpStatus": {"type": ["integer", "null"]},
                "resultCount": {"type": ["integer", "null"]},
                "billedUnits": {"type": ["integer", "null"]},
                "actualCostMicros": {"type": "integer"},
            },
        },
    },
}


class ConnectorError(Exception):
    """A connector file that cannot be used, with the file and the field at fault."""

    def __init__(self, path: Path | str, field: str, message: str):
        super().__init__(f"{path}: {field}: {message}")
        self.where, self.field = str(path), field


@dataclass(frozen=True)
class Connector:
    """A provider and its endpoints as the catalog's rows take them (the models' field names)."""

    folder: Path
    provider: dict
    endpoints: list[dict]


def connectors_load(root: Path = BUNDLED) -> list[Connector]:
    """Every connector folder under `root`, by slug."""
    folders = sorted(folder for folder in Path(root).iterdir() if (folder / "provider.yaml").is_file())
    if not folders:
        raise ConnectorError(root, "provider.yaml", "no connector folder here")
    return [connector_load(folder) for folder in folders]


def connector_load(folder: Path) -> Connector:
    """One connector folder, checked whole. Checking every file takes long (a second for the bundled catalog), so
    a folder is checked once per process and version of its files (their paths, sizes and modification times);
    each caller gets a copy of its own."""
    folder = Path(folder).resolve()
    files = tuple(
        (str(path), path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    )
    return copy.deepcopy(_connector_checked(folder, files))


@functools.lru_cache(maxsize=64)
def _connector_checked(folder: Path, files: tuple) -> Connector:
    provider_file = folder / "provider.yaml"
    spec = checked(provider_file, _yaml(provider_file), PROVIDER_FILE)
    if spec["slug"] != folder.name:
        raise ConnectorError(provider_file, "slug", f"{spec['slug']!r} is not the folder's name {folder.name!r}")
    _expressions(provider_file, "actual_cost", [spec.get("actual_cost", {}).get(key) for key in ("credits", "usd")])
    provider = {
        "slug": spec["slug"],
        "name": spec["name"],
        "summary": spec["summary"],
        "description": spec["description"],
        "doc_url": spec["docs_url"],
        "home_url": spec.get("home_url", ""),
        "categories": spec.get("categories", []),
        "protocol": spec["protocol"],
        "mode": PROTOCOLS[spec["protocol"]],
        "base_url": spec["base_url"],
        "auth": spec["auth"],
        "credential_name": spec["credential"],
        "timeouts": spec.get("timeouts", {}),
        "actual_cost": spec.get("actual_cost", {}),
    }
    files = sorted((folder / "endpoints").glob("*.yaml"))
    if not files:
        raise ConnectorError(folder / "endpoints", "endpoints", "a provider needs at least one endpoint file")
    endpoints = [_endpoint(file, spec) for file in files]
    paths = [endpoint["path"] for endpoint in endpoints]
    if len(set(paths)) != len(paths):
        raise ConnectorError(folder / "endpoints", "path", "two endpoint files name the same path")
    unknown = {case.parent.name for case in (folder / "fixtures").glob("*/*.json")} - {file.stem for file in files}
    if unknown:
        raise ConnectorError(folder / "fixtures", "fixtures", f"no endpoint file for {', '.join(sorted(unknown))}")
    return Connector(folder=folder, provider=provider, endpoints=endpoints)


def _endpoint(file: Path, provider: dict) -> dict:
    spec = checked(file, _yaml(file), ENDPOINT_FILE)
    endpoint_check(spec, protocol=provider["protocol"], provider_usage=provider.get("usage", {}), where=file)
    request, usage, output = spec.get("request"), spec["usage"], spec.get("output", {})
    estimate = usage.get("estimate", {})
    validator = Draft202012Validator(spec["input_schema"], format_checker=Draft202012Validator.FORMAT_CHECKER)
    for i, example in enumerate(spec["input_schema"].get("examples", [])):
        error = next(iter(validator.iter_errors(example)), None)
        if error is not None:
            raise ConnectorError(file, f"input_schema.examples.{i}", error.message[:300])
    if not spec["input_schema"].get("examples"):
        raise ConnectorError(file, "input_schema.examples", "at least one example input, which must make a run")
    fixtures = {
        case.stem: checked(case, _json(case), FIXTURE_FILE)
        for case in sorted((file.parent.parent / "fixtures" / file.stem).glob("*.json"))
    }
    missing = [case for case in REQUIRED_CASES if case not in fixtures]
    if missing:
        raise ConnectorError(
            file.parent.parent / "fixtures" / file.stem,
            "fixtures",
            f"missing {', '.join(f'{case}.json' for case in missing)}",
        )
    for name, fixture in fixtures.items():
        error = next(iter(validator.iter_errors(fixture["input"])), None)
        if error is not None:
            raise ConnectorError(
                file.parent.parent / "fixtures" / file.stem / f"{name}.json", "input", error.message[:300]
            )
    cap = usage.get("provider_cap", provider.get("usage", {}).get("provider_cap", "none"))
    return {
        "path": spec["path"],
        "name": spec["name"],
        "description": spec["description"],
        "tags": spec["tags"],
        "doc_url": spec["docs_url"],
        "notes": "\n".join(spec.get("notes", [])),
        "method": (request or {}).get("method", "POST"),
        "deadline_seconds": spec.get("deadline_seconds", 600),
        "input_schema": spec["input_schema"],
        "max_input_bytes": spec.get("max_input_bytes", INPUT_MAX_BYTES),
        "price_type": usage["model"],
        "price_micros": usage.get("price_micros", 0),
        "flat_fee_micros": usage.get("flat_fee_micros", 0),
        "request": request or {},
        "output": output,
        "usage": {
            "unit": usage.get("unit", "result"),
            "evidence": usage.get("evidence", "results"),
            "estimate": estimate or None,
            "provider_cap": cap,
            "provider_cap_note": usage.get("provider_cap_note", ""),
        },
        "fixtures": fixtures,
    }


def endpoint_check(spec: dict, *, protocol: str, provider_usage: dict, where) -> None:
    """What a schema cannot say about an endpoint's declarations (a file's, or an operator's in the admin): its
    input schema is JSON Schema of an object that says whether it takes fields it does not name, its request fits
    its protocol, its expressions compile, its estimate reads real input fields, and a per-unit price caps the
    provider or says why it need not."""
    try:
        Draft202012Validator.check_schema(spec["input_schema"])
    except SchemaError as exc:
        raise ConnectorError(where, f"input_schema.{'.'.join(map(str, exc.path))}", exc.message) from None
    if spec["input_schema"].get("type") != "object":
        raise ConnectorError(where, "input_schema.type", 'must be "object": a run\'s input is an object')
    _closed_check(spec["input_schema"], protocol=protocol, where=where)
    request = spec.get("request")
    if protocol == "http" and not request:
        raise ConnectorError(where, "request", "an http endpoint says how it is called (method and path)")
    if protocol != "http" and request:
        raise ConnectorError(
            where, "request", f"a {protocol} endpoint is called as its protocol says: it has no request"
        )
    if (
        request
        and request["method"] == "GET"
        and (request.get("params") == "body" or "body" in request.get("in", {}).values())
    ):
        raise ConnectorError(where, "request.params", "a GET request has no body")
    usage, output = spec["usage"], spec.get("output", {})
    estimate = usage.get("estimate") or {}
    _expressions(where, "usage.estimate.factors", [factor.get("of") for factor in estimate.get("factors", [])])
    _expressions(
        where, "usage.evidence", [usage["evidence"].get("path")] if isinstance(usage.get("evidence"), dict) else []
    )
    _expressions(where, "output", [output.get("path"), output.get("results")])
    properties = spec["input_schema"].get("properties", {})
    for factor in estimate.get("factors", []):
        if "field" in factor and factor["field"] not in properties:
            raise ConnectorError(where, "usage.estimate.factors", f"{factor['field']!r} is not an input property")
    caps = usage.get("provider_cap", provider_usage.get("provider_cap"))
    bounds = {factor["field"] for factor in estimate.get("factors", []) if "field" in factor} | {
        cap["name"] for cap in (caps if isinstance(caps, list) else [])
    }
    clash = sorted(bounds & set((request or {}).get("fixed", {})))
    if clash:
        raise ConnectorError(
            where,
            "request.fixed",
            f"{', '.join(clash)}: an estimate field or a provider cap is set by the run's estimate, never fixed",
        )
    if "provider_cap" not in usage and "provider_cap" not in provider_usage and usage["model"] in PER_UNIT_MODELS:
        raise ConnectorError(
            where,
            "usage.provider_cap",
            'a per-unit price needs a cap on what the provider may bill, or "none" with a provider_cap_note saying why',
        )


def _closed_check(schema: dict, *, protocol: str, where) -> None:
    """An http endpoint's schema refuses parameters it does not name: the engine sends every parameter on to the
    provider, where an unchecked one could change what the call does or what it bills. An Apify actor ignores
    input fields it does not know, and its run is capped at the platform whatever the input says, so its schema
    may stay open to pass the actor's other options through; it must say so, never leave it unsaid."""
    closed = schema.get("additionalProperties")
    if protocol == "http" and closed is not False:
        raise ConnectorError(
            where,
            "input_schema.additionalProperties",
            "must be false for an http endpoint: a "
            "parameter the schema does not name would "
            "reach the provider unchecked",
        )
    if "additionalProperties" not in schema:
        raise ConnectorError(
            where,
            "input_schema.additionalProperties",
            "say whether fields the schema does not "
            "name are refused (false) or passed to the "
            "actor (true): see docs/connectors.md",
        )


def _yaml(path: Path):
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConnectorError(path, "(file)", f"not readable YAML: {exc}") from None


def _json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConnectorError(path, "(file)", f"not readable JSON: {exc}") from None


def checked(path: Path | str, value, schema: dict):
    error = next(iter(sorted(Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.path))), None)
    if error is not None:
        raise ConnectorError(path, ".".join(map(str, error.path)) or "(top level)", error.message[:300])
    return value


def _expressions(path: Path, field: str, expressions) -> None:
    for expression in expressions:
        if expression is None:
            continue
        try:
            jmespath.compile(expression)
        except JMESPathError as exc:
            raise ConnectorError(path, field, f"{expression!r} is not a JMESPath expression: {exc}") from None
