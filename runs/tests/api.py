"""What many tests do: post a run through the API as a client would."""

import json

from runs.services import runs_settle_all


def post_run(client, key, body):
    return client.post("/v1/run", data=json.dumps(body), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {key}")


def person_enriched(client, key, email="sean@example.com"):
    """A PDL person enrichment (a match, unless the address is nomatch@…) that the settler has then settled, so
    its costs are in its key's rollup."""
    response = post_run(client, key, {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": email}})
    assert response.status_code == 200, response.content
    runs_settle_all()
    return response
