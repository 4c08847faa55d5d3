"""People Data Labs v5: synchronous, one HTTP call per run."""

import json

from .base import Adapter, ProviderAnswer

# A search's query is a nested object, so the searches take a JSON body, as PDL's own clients send them; the
# enrichment and identification endpoints take query parameters.
JSON_BODY_PATHS = ("/person/search", "/company/search")


class PdlAdapter(Adapter):
    name = "People Data Labs"
    slug = "pdl"

    def headers(self):
        return {"X-Api-Key": self.credential, "Accept": "application/json"}

    def call(self, *, path: str, params: dict, credit_cost_micros: int, timeout_seconds: float) -> ProviderAnswer:
        """Sends the run's input to /v5<path> (a search as POST JSON, anything else as GET query parameters); any
        answer the provider gives is final."""
        # Not retried: whatever PDL answers (a 404, a 429) is the customer's answer, passed through.
        if path in JSON_BODY_PATHS:
            response, body = self.fetch("POST", f"/v5{path}", json=params, read_timeout=timeout_seconds)
        else:
            query = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
            response, body = self.fetch("GET", f"/v5{path}", params=query, read_timeout=timeout_seconds)
        credits = _credits_spent(response)
        actual = credits * credit_cost_micros
        if 200 <= response.status_code < 300:
            output, count = _output(body)
            return ProviderAnswer(http_status=response.status_code, output=output, result_count=count,
                                  actual_cost_micros=actual)
        return ProviderAnswer(http_status=response.status_code, error=body, actual_cost_micros=actual)


def _output(body) -> tuple[object, int | None]:
    """What of a 2xx body is the run's output, and how many records it holds: an identification's `matches`; a
    search's page of `data` with the `total` and `scroll_token` needed to ask for the next one; an enrichment's
    `data`; or a company, which PDL answers flat beside `status`."""
    if not isinstance(body, dict):
        return body, len(body) if isinstance(body, list) else None
    if isinstance(body.get("matches"), list):
        return body["matches"], len(body["matches"])
    if isinstance(body.get("data"), list):
        return {key: body.get(key) for key in ("data", "total", "scroll_token")}, len(body["data"])
    if "data" in body:
        return body["data"], 1 if body["data"] is not None else None
    return {key: value for key, value in body.items() if key != "status"}, 1


def _credits_spent(response) -> int:
    try:
        return max(0, int(response.headers.get("x-call-credits-spent", "0")))
    except ValueError:
        return 0
