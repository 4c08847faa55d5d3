"""People Data Labs v5: synchronous, one HTTP call per run."""

import json

from .base import Adapter, ProviderAnswer


class PdlAdapter(Adapter):
    name = "People Data Labs"

    def headers(self):
        return {"X-Api-Key": self.credential, "Accept": "application/json"}

    def call(self, *, path: str, params: dict, credit_cost_micros: int, timeout_seconds: float) -> ProviderAnswer:
        """Sends the run's input as query parameters to GET /v5<path>; any answer the provider gives is final."""
        query = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        # Not retried: whatever PDL answers (a 404, a 429) is the customer's answer, passed through.
        response, body = self.fetch("GET", f"/v5{path}", params=query, read_timeout=timeout_seconds)
        credits = _credits_spent(response)
        actual = credits * credit_cost_micros
        if 200 <= response.status_code < 300:
            data = body.get("data") if isinstance(body, dict) else body
            count = len(data) if isinstance(data, list) else (1 if data is not None else None)
            return ProviderAnswer(http_status=response.status_code, output=data, result_count=count,
                                  actual_cost_micros=actual)
        return ProviderAnswer(http_status=response.status_code, error=body, actual_cost_micros=actual)


def _credits_spent(response) -> int:
    try:
        return max(0, int(response.headers.get("x-call-credits-spent", "0")))
    except ValueError:
        return 0
