"""The `http` protocol: one synchronous JSON request and response, for any REST provider.

An endpoint file says where each input parameter goes (the path, the query string or the JSON body), which
part of a 2xx body is the run's output, and how its results and billed units are counted.
"""

import json
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from urllib.parse import quote

import jmespath

from . import usage
from .answers import ProviderAnswer
from .transport import ProviderUnavailable


class HttpProtocol:
    is_async = False

    def __init__(self, *, endpoint, transport):
        self.endpoint, self.transport = endpoint, transport

    def call(self, *, params: dict, units: int, hold: int, timeout_seconds: float) -> ProviderAnswer:
        """Sends the run's input as the endpoint places it; any answer the provider gives is final."""
        endpoint = self.endpoint
        params, caps = usage.provider_input(
            usage=endpoint.usage, params=params, units=units, hold=hold, fixed=endpoint.request.get("fixed")
        )
        path, query, body = request_parts(endpoint.request, params)
        query.update(caps)  # after the input's own: a cap always wins
        # Not retried: whatever the provider answers (a 404, a 429) is the customer's answer, passed through.
        reply = self.transport.request(
            endpoint.request["method"], path, params=query, json=body, read_timeout=timeout_seconds
        )
        actual = actual_cost_micros(endpoint, reply)
        if not 200 <= reply.status < 300:
            return ProviderAnswer(http_status=reply.status, error=reply.body, actual_cost_micros=actual)
        output = output_of(endpoint.output, reply.body)
        results = result_count(endpoint.output, output)
        return ProviderAnswer(
            http_status=reply.status,
            output=output,
            result_count=results,
            billed_units=evidence(endpoint.usage, reply, results),
            actual_cost_micros=actual,
        )


def request_parts(request: dict, params: dict) -> tuple[str, dict, dict | None]:
    """The provider path with its {placeholders} filled, the query parameters and the JSON body (None when the
    request has none)."""
    path, query, body = request["path"], {}, {}
    for name, value in params.items():
        where = parameter_place(request, name)
        if where == "path":
            path = path.replace("{" + name + "}", quote(_text(value), safe=""))
        elif where == "query":
            query[name] = _text(value)
        else:
            body[name] = value
    if "{" in path:
        raise ProviderUnavailable(f"The endpoint's path {request['path']} lacks a parameter", retryable=False)
    return path, query, body if body or _default_place(request) == "body" else None


def parameter_place(request: dict, name: str) -> str:
    """Where a request puts an input parameter: "path" (its {name} is in the path), "query" or "body"."""
    return request.get("in", {}).get(name, "path" if "{" + name + "}" in request["path"] else _default_place(request))


def _default_place(request: dict) -> str:
    return request.get("params", "query" if request["method"] == "GET" else "body")


def _text(value) -> str:
    """A parameter as URL text: strings as they are, an integral float as its integer, the rest as JSON text
    (`true`, `5`, `["a"]`)."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value)


def output_of(output: dict, body):
    """The run's output: the part of the body the endpoint's `output.path` selects, less its `omit` keys."""
    value = jmespath.search(output["path"], body) if output.get("path") else body
    if output.get("omit") and isinstance(value, dict):
        value = {key: item for key, item in value.items() if key not in output["omit"]}
    return value


def result_count(output: dict, value) -> int | None:
    """How many results an output holds: its `output.results` expression, else a list's length, one object, or
    nothing for anything else."""
    if output.get("results"):
        return usage.count_of(jmespath.search(output["results"], value))
    if isinstance(value, list):
        return len(value)
    return 1 if isinstance(value, dict) else None


def evidence(spec: dict, reply, results: int | None) -> int | None:
    """The billed units an answer shows: its results, a header the provider counts them in, or a body field."""
    source = spec.get("evidence", "results")
    if source == "results":
        return results
    if "header" in source:
        return _whole(reply.headers.get(source["header"].lower()))
    return usage.count_of(jmespath.search(source["path"], reply.body))


def actual_cost_micros(endpoint, reply) -> int:
    """What the provider says the call cost us: credits (from a header or the body) at the endpoint's price of a
    credit, or dollars from the body; 0 when the provider does not say."""
    source = endpoint.provider.actual_cost or {}
    if "credits_header" in source:
        return (_whole(reply.headers.get(source["credits_header"].lower())) or 0) * endpoint.credit_cost_micros
    if "credits" in source:
        return (usage.count_of(jmespath.search(source["credits"], reply.body)) or 0) * endpoint.credit_cost_micros
    if "usd" in source:
        return usd_to_micros(jmespath.search(source["usd"], reply.body))
    return 0


def usd_to_micros(amount) -> int:
    """A provider's dollars (a JSON number) as integer micro-dollars, rounded half up; 0 for anything else."""
    if isinstance(amount, bool) or not isinstance(amount, (int, float, str)):
        return 0
    try:
        return max(0, int((Decimal(str(amount)) * 1_000_000).quantize(Decimal(1), rounding=ROUND_HALF_UP)))
    except (InvalidOperation, ValueError):
        return 0


def _whole(text) -> int | None:
    try:
        return max(0, int(text))
    except (TypeError, ValueError):
        return None
